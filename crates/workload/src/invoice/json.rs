//! Minimal JSON writing for the hot path: no serde, no intermediate strings.

use einv_core::money::Cents;

/// Append `s` as a JSON string literal. Non-ASCII text is kept as UTF-8, which JSON allows.
pub(super) fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape(out, s.as_bytes());
    out.push(b'"');
}

/// Append `bytes` escaped as the inside of a JSON string (no quotes around it).
pub(crate) fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    // Almost nothing needs escaping; a scan without early exit vectorizes.
    if !bytes.iter().fold(false, |acc, &b| acc | (b < 0x20) | (b == b'"') | (b == b'\\')) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Append `"key":` — keys are the crate's own ASCII literals, so they need no escaping.
pub(super) fn key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Append money as a string ("113.97"): decimal strings survive every JSON parser exactly.
pub(super) fn money(out: &mut Vec<u8>, amount: Cents) {
    out.push(b'"');
    amount.write(out);
    out.push(b'"');
}

pub(super) fn uint(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(render("plain"), r#""plain""#);
        assert_eq!(render("厦门华信科技有限公司"), "\"厦门华信科技有限公司\"");
        assert_eq!(render(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(render("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(render("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(render(""), r#""""#);
    }

    #[test]
    fn escaped_strings_parse_back() {
        for s in ["", "x\"y", "\\", "订单\u{8}号\n", "\u{1}\u{2}end", "🧾"] {
            let parsed: String = serde_json::from_str(&render(s)).unwrap();
            assert_eq!(parsed, s);
        }
    }
}
