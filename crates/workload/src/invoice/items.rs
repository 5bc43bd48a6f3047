//! What the lines sell: item names with tax classification codes, grouped by VAT rate.
//!
//! Codes follow the layout of the national goods-and-services tax classification table
//! (19 digits; 1 goods, 2 processing/repair labour, 3 services) and are plausible rather
//! than checked against the official table. Names use the e-fapiao form `*类别*品名`.

use rand::{Rng, RngExt};

use einv_core::money::TaxRate;

/// One sellable item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub name: &'static str,
    /// 19-digit tax classification code (税收分类编码).
    pub tax_code: &'static str,
}

const fn item(tax_code: &'static str, name: &'static str) -> Item {
    Item { name, tax_code }
}

/// 13%: goods, processing and repair labour, leasing of movable property.
const GENERAL: &[Item] = &[
    item("1090511010000000000", "*计算机*笔记本电脑"),
    item("1090511990000000000", "*计算机配套产品*无线键盘鼠标套装"),
    item("1090513020000000000", "*通信设备*企业级路由器"),
    item("1060201070000000000", "*纸制品*A4复印纸"),
    item("1090216010000000000", "*照明装置*LED灯管"),
    item("1040201990000000000", "*服装*工作服"),
    item("1030307010000000000", "*饮料*饮用天然矿泉水"),
    item("1090301990000000000", "*电机*三相异步电动机"),
    item("2010000000000000000", "*加工劳务*来料加工"),
    item("2020000000000000000", "*修理修配劳务*设备维修"),
    item("3040502020000000000", "*经营租赁*设备租赁"),
];

/// 9%: transport, construction, basic telecom, agricultural products, books.
const REDUCED: &[Item] = &[
    item("3010102020000000000", "*运输服务*国内道路货物运输服务"),
    item("3050100000000000000", "*建筑服务*工程施工"),
    item("3030100000000000000", "*基础电信服务*语音通话费"),
    item("1010115010000000000", "*谷物*大米"),
    item("1060601010000000000", "*图书*技术图书"),
];

/// 6%: modern and life services.
const SERVICES: &[Item] = &[
    item("3040201010000000000", "*信息技术服务*软件开发服务"),
    item("3040203000000000000", "*信息技术服务*信息系统运维服务"),
    item("3040603000000000000", "*咨询服务*管理咨询服务"),
    item("3040802000000000000", "*商务辅助服务*企业管理服务"),
    item("3040302000000000000", "*广告服务*广告发布费"),
    item("3030200000000000000", "*增值电信服务*数据流量费"),
    item("3070401000000000000", "*餐饮服务*餐费"),
    item("3070402000000000000", "*住宿服务*住宿费"),
];

/// Exempt (shown as 0%): fresh vegetables and meat in distribution, medical services.
const EXEMPT: &[Item] = &[
    item("1010112010000000000", "*蔬菜*新鲜蔬菜"),
    item("1010402010000000000", "*肉类*鲜猪肉"),
    item("3070202000000000000", "*医疗服务*诊疗费"),
];

/// Every item: the simplified rates apply to anything a small-scale taxpayer sells.
const ALL: [&[Item]; 4] = [GENERAL, REDUCED, SERVICES, EXEMPT];

/// General taxpayers' rates (percent, weight): goods at 13% dominate, then services.
const GENERAL_RATES: [(u8, u32); 4] = [(13, 52), (6, 29), (9, 14), (0, 5)];

/// Small-scale taxpayers: 3%, or 1% under the reduced simplified levy.
const SMALL_SCALE_RATES: [(u8, u32); 2] = [(1, 50), (3, 50)];

/// A line's rate and an item that is actually taxed at that rate, for a seller of this kind.
pub(super) fn pick<R: Rng + ?Sized>(rng: &mut R, small_scale: bool) -> (TaxRate, &'static Item) {
    let rates: &[(u8, u32)] = if small_scale { &SMALL_SCALE_RATES } else { &GENERAL_RATES };
    let mut x = rng.random_range(0..100u32);
    let mut percent = rates[0].0;
    for &(p, w) in rates {
        if x < w {
            percent = p;
            break;
        }
        x -= w;
    }
    let items = match percent {
        13 => GENERAL,
        9 => REDUCED,
        6 => SERVICES,
        0 => EXEMPT,
        _ => ALL[rng.random_range(0..ALL.len())],
    };
    let item = &items[rng.random_range(0..items.len())];
    (TaxRate::new(percent), item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    #[test]
    fn weights_sum_to_100_and_codes_are_19_digits() {
        for rates in [&GENERAL_RATES[..], &SMALL_SCALE_RATES[..]] {
            assert_eq!(rates.iter().map(|&(_, w)| w).sum::<u32>(), 100);
        }
        for item in ALL.iter().flat_map(|items| items.iter()) {
            assert_eq!(item.tax_code.len(), 19, "{item:?}");
            assert!(item.tax_code.bytes().all(|b| b.is_ascii_digit()), "{item:?}");
            assert!(item.name.starts_with('*') && item.name.matches('*').count() == 2, "{item:?}");
        }
    }

    #[test]
    fn rates_follow_weights_and_match_items() {
        let mut rng = Pcg64Mcg::seed_from_u64(8);
        for (small_scale, rates) in [(false, &GENERAL_RATES[..]), (true, &SMALL_SCALE_RATES[..])] {
            let mut counts = [0u32; 101];
            for _ in 0..100_000 {
                let (rate, item) = pick(&mut rng, small_scale);
                counts[usize::from(rate.percent())] += 1;
                let group = match rate.percent() {
                    13 => GENERAL,
                    9 => REDUCED,
                    6 => SERVICES,
                    0 => EXEMPT,
                    _ => continue,
                };
                assert!(group.contains(item), "{item:?} at {}%", rate.percent());
            }
            for &(p, w) in rates {
                let share = f64::from(counts[usize::from(p)]) / 100_000.0;
                assert!((share - f64::from(w) / 100.0).abs() < 0.01, "{p}%: {share}");
            }
            assert_eq!(counts.iter().sum::<u32>(), 100_000);
        }
    }
}
