//! Unified social credit codes (统一社会信用代码, GB 32100-2015), the tax id on every invoice.
//!
//! Layout, 18 characters from [`CHARSET`]:
//! `9` `1` `350200` `MA2XXXXX` `X` `C` = registration authority, organization type,
//! administrative division, GB 11714 organization code (8 body characters + its own check
//! character), then the GB 32100 check character over the first 17.

use rand::{Rng, RngExt};

use super::regions::REGIONS;
pub use einv_core::uscc::{CHARSET, charset_value, check_char, is_valid, org_check_char, org_code_is_valid};

/// Registration authority and organization type (positions 1 and 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrant {
    /// `91`: a company registered with market regulation (industry & commerce).
    Company,
    /// `12`: a public institution (事业单位) registered with the staffing office.
    Institution,
    /// `51`: a social organization (社会团体) registered with civil affairs.
    Association,
}

impl Registrant {
    fn prefix(self) -> [u8; 2] {
        match self {
            Self::Company => *b"91",
            Self::Institution => *b"12",
            Self::Association => *b"51",
        }
    }
}

/// A random valid code, mostly companies (`91`), sometimes institutions or associations.
pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> String {
    let registrant = match rng.random_range(0..20u32) {
        0 => Registrant::Institution,
        1 => Registrant::Association,
        _ => Registrant::Company,
    };
    let division = REGIONS[rng.random_range(0..REGIONS.len())].code;
    generate_for(rng, registrant, division)
}

/// A random valid code for this registrant and 6-digit division code. Non-digits in
/// `division` are skipped and missing digits become '0', so the result is always valid.
pub fn generate_for<R: Rng + ?Sized>(rng: &mut R, registrant: Registrant, division: &str) -> String {
    let mut code = [b'0'; 18];
    code[..2].copy_from_slice(&registrant.prefix());
    for (slot, &b) in code[2..8].iter_mut().zip(division.as_bytes().iter().filter(|b| b.is_ascii_digit())) {
        *slot = b;
    }
    let body = &mut code[8..16];
    // Codes issued since 2015 without a legacy organization code start with "MA"; older
    // ones carry the legacy all-digit code. Both shapes appear on real invoices.
    if rng.random_range(0..5u32) < 2 {
        body[..2].copy_from_slice(b"MA");
        for b in &mut body[2..] {
            *b = CHARSET[rng.random_range(0..CHARSET.len())];
        }
    } else {
        for b in body.iter_mut() {
            *b = b'0' + rng.random_range(0..10u8);
        }
    }
    // Both checks succeed here: every character was taken from CHARSET.
    code[16] = org_check_char(&code[8..16]).unwrap_or(b'0');
    code[17] = check_char(&code[..17]).unwrap_or(b'0');
    code.iter().map(|&b| char::from(b)).collect()
}

/// `code` with its final check character replaced by a different one from [`CHARSET`]: still
/// 18 characters from the set, so only the checksum betrays it.
pub(super) fn with_bad_check_char<R: Rng + ?Sized>(code: &str, rng: &mut R) -> String {
    let mut bytes: Vec<u8> = code.bytes().collect();
    if let Some(last) = bytes.last_mut() {
        let current = charset_value(*last).unwrap_or(0) as usize;
        // Skip over the current character so the replacement always differs.
        *last = CHARSET[(current + 1 + rng.random_range(0..CHARSET.len() - 1)) % CHARSET.len()];
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    /// Codes that are publicly cited as valid. The first is the example used in the brief; by
    /// hand, GB 11714: M=22,Y=34 → 3·22+5·1+2·34 = 139, 139 mod 11 = 7, check 11−7 = '4';
    /// GB 32100: Σ = 1640, 1640 mod 31 = 28, check 31−28 = 3 → '3'. The second is the code of
    /// Shenzhen Tencent Computer Systems Co., Ltd. (legacy organization code 71526726-X).
    const KNOWN: [&str; 2] = ["91350100M000100Y43", "9144030071526726XG"];

    #[test]
    fn known_codes_are_valid() {
        for code in KNOWN {
            assert!(is_valid(code), "{code}");
            assert!(org_code_is_valid(&code[8..17]), "{code}");
        }
        assert_eq!(org_check_char(b"M000100Y"), Some(b'4'));
        assert_eq!(check_char(b"91350100M000100Y4"), Some(b'3'));
    }

    #[test]
    fn every_single_character_substitution_fails() {
        for code in KNOWN {
            for pos in 0..18 {
                for &c in CHARSET.iter().chain(b"IOSVZa-") {
                    let mut bad = code.as_bytes().to_vec();
                    if bad[pos] == c {
                        continue;
                    }
                    bad[pos] = c;
                    let bad = String::from_utf8(bad).unwrap();
                    assert!(!is_valid(&bad), "{bad} (from {code}) passed");
                }
            }
        }
    }

    #[test]
    fn organization_check_is_enforced() {
        // Corrupt the GB 11714 check char, then repair the GB 32100 check char: only the
        // embedded check can catch it.
        let mut bad = KNOWN[0].as_bytes().to_vec();
        bad[16] = b'5';
        bad[17] = check_char(&bad[..17]).unwrap();
        assert!(!is_valid(std::str::from_utf8(&bad).unwrap()));
    }

    #[test]
    fn wrong_length_and_foreign_characters_fail() {
        assert!(!is_valid(""));
        assert!(!is_valid(&KNOWN[0][..17]));
        assert!(!is_valid(&format!("{}3", KNOWN[0])));
        assert!(!is_valid("91350100m000100y43"));
        assert!(!org_code_is_valid("M000100Y"));
        assert!(!is_valid("91350100M000100Y4３"));
    }

    #[test]
    fn generated_codes_are_valid_and_shaped() {
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        for _ in 0..10_000 {
            let code = generate(&mut rng);
            assert!(is_valid(&code), "{code}");
            assert!(["91", "12", "51"].contains(&&code[..2]), "{code}");
            assert!(REGIONS.iter().any(|r| r.code == &code[2..8]), "{code}");
        }
    }

    #[test]
    fn bad_check_char_differs_and_fails() {
        let mut rng = Pcg64Mcg::seed_from_u64(4);
        for _ in 0..1000 {
            let bad = with_bad_check_char(KNOWN[0], &mut rng);
            assert_eq!(bad.len(), 18);
            assert_eq!(bad[..17], KNOWN[0][..17]);
            assert!(CHARSET.contains(&bad.as_bytes()[17]));
            assert!(!is_valid(&bad), "{bad}");
        }
    }
}
