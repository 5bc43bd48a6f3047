//! The protocol-neutral request: what an op sends, as bytes, and the rules a rendered
//! part must meet on any wire (RFC 9110's grammar, not one library's).

use bytes::Bytes;
use einv_workload::requests::Tag;

use crate::profile::Op;

/// An op's request, built once: each request of the op sends it with its [`Parts`] spliced in.
#[derive(Debug, Clone)]
pub struct Request {
    /// An upper-case token (`GET`, `POST`, ...).
    pub method: String,
    /// Path and query, the target's base path included ("/" for an empty one).
    pub path: Bytes,
    /// Lower-case names; `host` first.
    pub headers: Vec<(String, Bytes)>,
    pub body: Bytes,
    /// Names of the headers whose values are rendered per request, in template order.
    pub templated: Vec<String>,
    /// Whether the connection stays open after the answer (HTTP/1.1 keep-alive).
    pub keep_alive: bool,
    base_path: String,
}

/// What one request does not share with its op's `Request`.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    /// The rendered path and query, base path included (valid by [`valid_target`]).
    pub path: Option<Bytes>,
    /// Values of the op's templated headers, in template order (valid by [`valid_value`]).
    pub headers: Vec<Bytes>,
    pub body: Option<Bytes>,
    /// Sent wrong on purpose.
    pub tag: Option<Tag>,
}

impl Request {
    pub fn new(op: &Op, authority: &str, base_path: &str, keep_alive: bool) -> Request {
        let mut headers = Vec::with_capacity(op.headers.len() + 1);
        if valid_value(authority.as_bytes()) {
            headers.push(("host".to_string(), Bytes::copy_from_slice(authority.as_bytes())));
        }
        for (k, v) in &op.headers {
            headers.push((k.clone(), Bytes::copy_from_slice(v.as_bytes())));
        }
        let templated = op.template.iter().flat_map(|t| t.headers.iter()).map(|(name, _)| name.clone()).collect();
        Request {
            method: op.method.clone(),
            path: Bytes::from(joined(base_path.as_bytes(), op.path.as_bytes())),
            headers,
            body: op.body.clone(),
            templated,
            keep_alive,
            base_path: base_path.into(),
        }
    }

    /// `METHOD path` of the request sent with `parts` (unmasked).
    pub fn request_line(&self, parts: Option<&Parts>) -> String {
        let path = parts.and_then(|p| p.path.as_ref()).unwrap_or(&self.path);
        format!("{} {}", self.method, String::from_utf8_lossy(path))
    }

    /// The name of the `i`-th templated header.
    pub fn templated_header(&self, i: usize) -> Option<&str> {
        self.templated.get(i).map(String::as_str)
    }

    /// A rendered path with the base path put in front, if it makes a valid target.
    pub fn target_for(&self, path: &[u8]) -> Option<Bytes> {
        let full = joined(self.base_path.as_bytes(), path);
        valid_target(&full).then(|| Bytes::from(full))
    }
}

/// The target's base path with an op's path after it; both empty, the target URL itself.
fn joined(base: &[u8], path: &[u8]) -> Vec<u8> {
    let full = [base, path].concat();
    if full.is_empty() { b"/".to_vec() } else { full }
}

/// A token (RFC 9110 5.6.2): what method and header names are made of.
pub fn valid_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A field value (RFC 9110 5.5): no control bytes but tab, and obs-text allowed.
pub fn valid_value(s: &[u8]) -> bool {
    s.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// An origin-form request target: an absolute path with an optional query, UTF-8, no
/// spaces, control bytes or fragment, and short enough for any client's limits.
pub fn valid_target(s: &[u8]) -> bool {
    s.first() == Some(&b'/')
        && s.len() < u16::MAX as usize - 1
        && s.iter().all(|&b| b > 0x20 && b != 0x7f && b != b'#')
        && std::str::from_utf8(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules that decide which rendered requests are unsendable.
    #[test]
    fn targets_values_and_tokens_follow_the_http_grammar() {
        assert!(valid_target(b"/api/v1/invoices?no=A%201&x={y}"));
        for bad in [&b"api"[..], b"/a b", b"/a#frag", b"/a\r\n", b"", b"/\xff"] {
            assert!(!valid_target(bad), "{bad:?}");
        }
        assert!(valid_value(b"Bearer abc\t\xe4") && !valid_value(b"a\r\nb") && !valid_value(b"\0"));
        assert!(valid_token(b"x-request-id") && !valid_token(b"x id") && !valid_token(b""));
    }
}
