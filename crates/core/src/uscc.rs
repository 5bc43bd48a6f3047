//! Unified social credit codes (统一社会信用代码, GB 32100-2015): the checks both the
//! generator and the built-in target apply. Layout, 18 characters from [`CHARSET`]:
//! registration authority, organization type, 6-digit administrative division, the
//! GB 11714 organization code (8 body characters + its own check character), then the
//! GB 32100 check character over the first 17.

/// The 31 characters a code may use: digits and capitals without I, O, S, V, Z.
pub const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 32100 weights: 3^(i-1) mod 31 for positions 1..=17.
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// GB 11714 weights for the 8 body characters of the organization code.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Whether `code` is a well-formed code: 18 characters from [`CHARSET`], a correct GB 11714
/// check on positions 9-17 and a correct GB 32100 check character at position 18.
pub fn is_valid(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 18 && org_code_is_valid_bytes(&b[8..17]) && check_char(&b[..17]) == Some(b[17])
}

/// Whether a 9-character GB 11714 organization code (8 body characters + check) is valid.
pub fn org_code_is_valid(code9: &str) -> bool {
    org_code_is_valid_bytes(code9.as_bytes())
}

fn org_code_is_valid_bytes(code9: &[u8]) -> bool {
    code9.len() == 9 && org_check_char(&code9[..8]) == Some(code9[8])
}

/// The GB 32100 check character for the first 17 characters, or `None` if one is outside
/// [`CHARSET`] or the length is wrong.
pub fn check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (&b, w) in first17.iter().zip(WEIGHTS) {
        sum += charset_value(b)? * w;
    }
    Some(CHARSET[((31 - sum % 31) % 31) as usize])
}

/// The GB 11714 check character for 8 body characters, or `None` if one is invalid.
///
/// Body characters must also be in [`CHARSET`] so the whole USCC stays within it, although
/// GB 11714 itself values letters by their place in the full alphabet (A=10 .. Z=35).
pub fn org_check_char(body8: &[u8]) -> Option<u8> {
    if body8.len() != 8 {
        return None;
    }
    let mut sum = 0u32;
    for (&b, w) in body8.iter().zip(ORG_WEIGHTS) {
        charset_value(b)?;
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        c => b'0' + c as u8,
    })
}

/// Index of `b` in [`CHARSET`].
pub fn charset_value(b: u8) -> Option<u32> {
    CHARSET.iter().position(|&c| c == b).map(|i| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_code_passes_and_a_changed_one_fails() {
        assert!(is_valid("91350100M000100Y43"));
        assert!(!is_valid("91350100M000100Y44"), "wrong GB 32100 check character");
        assert!(!is_valid("91350100M000100X43"), "wrong GB 11714 check character");
        assert!(!is_valid("91350100M000100Y4"), "too short");
        assert!(!is_valid("9135010OM000100Y43"), "O is not in the character set");
    }
}
