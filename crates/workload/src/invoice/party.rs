//! Sellers and buyers: the roster of taxpayers invoices are drawn between.

use std::collections::HashSet;

use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::names;
use super::regions::{REGIONS, Region};
use super::uscc::{self, Registrant};

/// A seller or buyer as printed on an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    /// Unified social credit code.
    pub tax_id: String,
    pub address: String,
    pub phone: String,
    /// Bank and branch where the account is held.
    pub bank: String,
    pub account: String,
    /// A small-scale taxpayer (小规模纳税人): invoices at the simplified 3% or 1% rates
    /// instead of the standard ones. Not rendered.
    pub small_scale: bool,
}

/// Banks with the length of their corporate account numbers.
const BANKS: &[(&str, usize)] = &[
    ("中国工商银行", 19),
    ("中国建设银行", 20),
    ("中国农业银行", 17),
    ("中国银行", 12),
    ("交通银行", 21),
    ("招商银行", 15),
    ("兴业银行", 18),
    ("中信银行", 19),
    ("上海浦东发展银行", 17),
    ("中国民生银行", 15),
];

const ROADS: &[&str] = &[
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "科技路",
    "创新路",
    "长江路",
    "新华路",
    "和平路",
    "学府路",
    "文化路",
    "高新大道",
    "滨海大道",
    "软件园路",
    "工业路",
    "金融街",
];

/// Give up de-duplicating after this many redraws: only reachable with rosters far larger
/// than the name space, where a repeated name is harmless.
const MAX_REDRAWS: u32 = 64;

/// `count` parties with distinct tax ids (and, in practice, distinct names), from `seed`.
pub(super) fn roster(count: u32, seed: u64) -> Vec<Party> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut tax_ids = HashSet::new();
    let mut names = HashSet::new();
    (0..count)
        .map(|_| {
            let mut party = generate(&mut rng);
            for _ in 0..MAX_REDRAWS {
                if !tax_ids.contains(&party.tax_id) && !names.contains(&party.name) {
                    break;
                }
                party = generate(&mut rng);
            }
            tax_ids.insert(party.tax_id.clone());
            names.insert(party.name.clone());
            party
        })
        .collect()
}

/// One party, its city, division code, address, phone and bank branch all from one region.
pub(super) fn generate<R: Rng + ?Sized>(rng: &mut R) -> Party {
    let region = &REGIONS[rng.random_range(0..REGIONS.len())];
    let (registrant, name) = match rng.random_range(0..100u32) {
        0..3 => (Registrant::Institution, names::institution(rng, region.city)),
        3..5 => (Registrant::Association, names::association(rng, region.city)),
        _ => (Registrant::Company, names::company(rng, region.city)),
    };
    let (bank, account) = bank(rng, region);
    // Most taxpayers by count are small-scale, but by invoice volume about one in seven.
    let small_scale = registrant == Registrant::Company && rng.random_bool(0.15);
    Party {
        name,
        tax_id: uscc::generate_for(rng, registrant, region.code),
        address: address(rng, region),
        phone: phone(rng, region),
        bank,
        account,
        small_scale,
    }
}

/// E.g. 福建省厦门市思明区软件园路88号1203室.
fn address<R: Rng + ?Sized>(rng: &mut R, region: &Region) -> String {
    let road = ROADS[rng.random_range(0..ROADS.len())];
    let number = rng.random_range(1..1000u32);
    let mut address = format!("{}{}{road}{number}号", region.prefix, region.district);
    if rng.random_bool(0.6) {
        let floor = rng.random_range(1..33u32);
        let room = rng.random_range(1..20u32);
        address.push_str(&format!("{floor}{room:02}室"));
    }
    address
}

/// A landline, e.g. 0592-5551234; local numbers never start with 0 or 1.
fn phone<R: Rng + ?Sized>(rng: &mut R, region: &Region) -> String {
    let mut phone = format!("{}-", region.area);
    phone.push(char::from(b'2' + rng.random_range(0..7u8)));
    push_digits(rng, &mut phone, usize::from(region.digits) - 1);
    phone
}

/// A branch of a bank in the party's district and an account number of that bank's length.
fn bank<R: Rng + ?Sized>(rng: &mut R, region: &Region) -> (String, String) {
    let (bank, len) = BANKS[rng.random_range(0..BANKS.len())];
    let branch = if rng.random_bool(0.2) {
        format!("{bank}{}分行营业部", region.city)
    } else {
        // Branches drop the district's suffix: 思明区 → 厦门思明支行, 浦东新区 → 上海浦东支行.
        let district = region.district.trim_end_matches('区').trim_end_matches("新");
        format!("{bank}{}{district}支行", region.city)
    };
    let mut account = String::with_capacity(len);
    account.push(char::from(b'1' + rng.random_range(0..9u8)));
    push_digits(rng, &mut account, len - 1);
    (branch, account)
}

fn push_digits<R: Rng + ?Sized>(rng: &mut R, out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_is_deterministic_and_distinct() {
        let a = roster(2000, 11);
        assert_eq!(a, roster(2000, 11));
        assert_ne!(a, roster(2000, 12));
        let ids: HashSet<_> = a.iter().map(|p| &p.tax_id).collect();
        let names: HashSet<_> = a.iter().map(|p| &p.name).collect();
        assert_eq!(ids.len(), 2000);
        assert_eq!(names.len(), 2000);
    }

    #[test]
    fn fields_agree_with_each_other() {
        for party in roster(500, 3) {
            assert!(uscc::is_valid(&party.tax_id), "{party:?}");
            let region = REGIONS.iter().find(|r| r.code == &party.tax_id[2..8]).unwrap();
            assert!(party.name.starts_with(region.city), "{party:?}");
            assert!(party.address.starts_with(region.prefix), "{party:?}");
            let (area, local) = party.phone.split_once('-').unwrap();
            assert_eq!(area, region.area);
            assert_eq!(local.len(), usize::from(region.digits), "{party:?}");
            assert!(party.bank.contains(region.city), "{party:?}");
            assert!(party.bank.ends_with("支行") || party.bank.ends_with("营业部"), "{party:?}");
            assert!(party.account.len() >= 12 && party.account.bytes().all(|b| b.is_ascii_digit()), "{party:?}");
            let registrant = &party.tax_id[..2];
            assert_eq!(registrant == "91", party.name.ends_with("公司"), "{party:?}");
        }
    }
}
