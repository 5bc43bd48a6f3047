//! Captured requests (from curl or a HAR file) into the ops of one profile: one target
//! origin, one op per method and path weighted by how often it was seen, headers a
//! client of its own must not copy left out, and secrets moved into placeholders.

use std::collections::BTreeSet;

use super::DraftOp;
use super::secrets::{EnvVar, Vault};
use crate::profile::redact;

/// One request as captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Captured {
    pub method: String,
    pub url: String,
    /// Names as written (any case), values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Basic credentials were given apart from the URL (curl -u): the request needs an
    /// `Authorization: Basic` header whose value is not known here.
    pub basic_auth: bool,
}

impl Captured {
    /// A plain `GET url`.
    pub fn get(url: &str) -> Result<Captured, String> {
        split_url(url)?;
        Ok(Captured { method: "GET".into(), url: url.into(), headers: Vec::new(), body: None, basic_auth: false })
    }
}

/// An `http[s]://` URL in parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UrlParts<'a> {
    /// `scheme://host[:port]`, the scheme lowercased.
    pub origin: String,
    /// `user[:password]` before `@`, if any.
    pub userinfo: Option<&'a str>,
    /// Path and query (`/` when the URL has none); a `#fragment` is never sent, so dropped.
    pub path: &'a str,
}

/// Split `url`; the error says why it is not an `http[s]://` URL.
pub(super) fn split_url(url: &str) -> Result<UrlParts<'_>, String> {
    let bad = || format!("{:?} is not an http:// or https:// URL", einv_core::input::clip(&redact(url)));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err(bad());
    }
    let path = path.split('#').next().unwrap_or_default();
    let path = if path.is_empty() { "/" } else { path };
    Ok(UrlParts { origin: format!("{scheme}://{host}"), userinfo, path })
}

/// What the captured requests became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Imported {
    pub url: String,
    pub ops: Vec<DraftOp>,
    pub env: Vec<EnvVar>,
}

/// Headers a load generator sets itself or must not copy: hop-by-hop headers (RFC 9110
/// 7.6.1), the ones einv-load writes from the target and body, and Accept-Encoding,
/// since einv-load does not decompress answers and its checks read them.
const LEFT_OUT: [&str; 12] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
    "expect",
];

/// Turn `captured` into ops against the most frequent origin (the others are dropped,
/// with a note). Err when nothing is left to import.
pub(super) fn ops(captured: Vec<Captured>, notes: &mut Vec<String>) -> Result<Imported, String> {
    let mut origins: Vec<(String, usize)> = Vec::new();
    let mut parsed = Vec::new();
    for c in &captured {
        let Ok(parts) = split_url(&c.url) else { continue };
        match origins.iter_mut().find(|(o, _)| *o == parts.origin) {
            Some((_, n)) => *n += 1,
            None => origins.push((parts.origin.clone(), 1)),
        }
        parsed.push((c, parts));
    }
    if parsed.len() < captured.len() {
        notes.push(format!("left out {} requests whose URL is not http:// or https://", captured.len() - parsed.len()));
    }
    // Most frequent first; ties keep the order first seen (max_by_key would take the last).
    let main = origins.iter().rev().max_by_key(|(_, n)| *n).map(|(o, _)| o.clone()).ok_or("no request to import")?;
    let others: Vec<String> = origins.iter().filter(|(o, _)| *o != main).map(|(o, n)| format!("{o} ({n})")).collect();
    if !others.is_empty() {
        notes.push(format!("a profile has one target: kept {main}, left out requests to {}", others.join(", ")));
    }
    let mut groups: Vec<(&Captured, UrlParts, u32)> = Vec::new();
    for (c, parts) in parsed.into_iter().filter(|(_, p)| p.origin == main) {
        let method = c.method.to_ascii_uppercase();
        let route = |p: &UrlParts| p.path.split('?').next().unwrap_or_default().to_string();
        match groups.iter_mut().find(|(g, p, _)| g.method.eq_ignore_ascii_case(&method) && route(p) == route(&parts)) {
            Some((_, _, n)) => *n = n.saturating_add(1),
            None => groups.push((c, parts, 1)),
        }
    }
    let mut acc = Collected::default();
    let mut ops: Vec<DraftOp> = Vec::new();
    for (c, parts, weight) in groups {
        let mut op = op(c, &parts, weight, &mut acc);
        op.name = unique(&op.name, &ops);
        ops.push(op);
    }
    notes.extend(acc.notes);
    if !acc.dropped.is_empty() {
        let list = acc.dropped.into_iter().collect::<Vec<_>>().join(", ");
        notes.push(format!("left out headers einv-load sets itself or must not copy: {list}"));
    }
    if ops.iter().any(|o| o.headers.iter().any(|(n, _)| n == "cookie")) {
        notes.push("a Cookie header is replayed as captured: a session that expires needs a fresh one".into());
    }
    Ok(Imported { url: main, ops, env: acc.vault.into_vars() })
}

/// What building ops collects beyond them: the secrets' variables, the headers left out,
/// and notes.
#[derive(Debug, Default)]
struct Collected {
    vault: Vault,
    dropped: BTreeSet<String>,
    notes: BTreeSet<String>,
}

fn op(c: &Captured, parts: &UrlParts, weight: u32, acc: &mut Collected) -> DraftOp {
    let Collected { vault, dropped, notes } = acc;
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in &c.headers {
        let name = name.to_ascii_lowercase();
        if name.starts_with(':') {
            continue; // HTTP/2 pseudo headers (:method, :path ...) are the request line.
        }
        if LEFT_OUT.contains(&name.as_str()) {
            dropped.insert(name);
            continue;
        }
        let value = vault.header(&name, value).unwrap_or_else(|| escape(value));
        match headers.iter_mut().find(|(n, _)| *n == name) {
            // A header sent twice is one field with both values (RFC 9110 5.3).
            Some((_, v)) => *v = format!("{v}{}{value}", if name == "cookie" { "; " } else { ", " }),
            None => headers.push((name, value)),
        }
    }
    if c.basic_auth || parts.userinfo.is_some() {
        if headers.iter().any(|(n, _)| n == "authorization") {
            notes.insert("left out user:password (curl -u or the URL): the request has an Authorization header".into());
        } else {
            headers.push(("authorization".into(), vault.basic_auth()));
            notes
                .insert("user:password (curl -u or the URL) is sent as Authorization: Basic ${env.TARGET_AUTH}".into());
        }
    }
    let body = c.body.as_deref().unwrap_or_default().to_ascii_lowercase();
    if ["password", "passwd", "secret", "token"].iter().any(|w| body.contains(w)) {
        // Bodies are copied as captured: a placeholder cannot know which field is which.
        let route = parts.path.split('?').next().unwrap_or_default();
        notes.insert(format!(
            "the body of {} {route} mentions a password or token: it is written as captured, \
             check it (a value can become ${{env.NAME}})",
            c.method.to_ascii_uppercase()
        ));
    }
    DraftOp {
        name: op_name(&c.method, parts.path),
        weight,
        method: c.method.to_ascii_uppercase(),
        path: vault.query(parts.path),
        headers,
        body: c.body.as_deref().map(escape),
    }
}

/// Text as template text: `$` is written `$$`, so nothing captured becomes a placeholder.
pub(super) fn escape(text: &str) -> String {
    text.replace('$', "$$")
}

/// `get_v1_invoices_query`: the method and the last three segments of the path.
fn op_name(method: &str, path: &str) -> String {
    let route = path.split('?').next().unwrap_or_default();
    let segments: Vec<String> = route
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect())
        .collect();
    let tail = segments[segments.len().saturating_sub(3)..].join("_");
    let tail = if tail.is_empty() { "root".to_string() } else { tail };
    let mut name = format!("{}_{tail}", method.to_ascii_lowercase());
    name.retain(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    name.truncate(60);
    name
}

/// `name`, or `name_2`, `name_3` ... if an op already has it.
fn unique(name: &str, ops: &[DraftOp]) -> String {
    let taken = |n: &str| ops.iter().any(|o| o.name == n);
    (1..).map(|i| if i == 1 { name.to_string() } else { format!("{name}_{i}") }).find(|n| !taken(n)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, url: &str, headers: &[(&str, &str)]) -> Captured {
        let headers = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        Captured { method: method.into(), url: url.into(), headers, body: None, basic_auth: false }
    }

    #[test]
    fn urls_split_into_origin_credentials_and_path() {
        let p = split_url("HTTPS://u:pw@api.example.com:8443/v1/x?a=1#frag").unwrap();
        assert_eq!(
            p,
            UrlParts { origin: "https://api.example.com:8443".into(), userinfo: Some("u:pw"), path: "/v1/x?a=1" }
        );
        assert_eq!(split_url("http://h").unwrap().path, "/");
        let e = split_url("ftp://u:secret@h/x").unwrap_err();
        assert!(!e.contains("secret") && e.contains("http://"), "{e}");
    }

    #[test]
    fn the_most_frequent_origin_wins_and_endpoints_are_weighted() {
        let captured = vec![
            req("GET", "http://cdn:1/x", &[]),
            req("GET", "http://api:2/v1/items?page=1", &[]),
            req("get", "http://api:2/v1/items?page=2", &[]),
            req("POST", "http://api:2/v1/items", &[]),
        ];
        let mut notes = Vec::new();
        let i = ops(captured, &mut notes).unwrap();
        assert_eq!(i.url, "http://api:2");
        let got: Vec<_> = i.ops.iter().map(|o| (o.name.as_str(), o.method.as_str(), o.weight)).collect();
        assert_eq!(got, [("get_v1_items", "GET", 2), ("post_v1_items", "POST", 1)]);
        assert_eq!(i.ops[0].path, "/v1/items?page=1", "the first request stands for its endpoint");
        assert!(notes.iter().any(|n| n.contains("http://cdn:1 (1)")), "{notes:?}");
    }

    #[test]
    fn pseudo_and_hop_by_hop_headers_are_left_out_and_dollars_escaped() {
        let h = [(":path", "/x"), ("Connection", "keep-alive"), ("Host", "h"), ("X-Price", "$5"), ("Accept", "a")];
        let mut notes = Vec::new();
        let i = ops(vec![req("GET", "http://h/x", &h)], &mut notes).unwrap();
        assert_eq!(i.ops[0].headers, [("x-price".to_string(), "$$5".to_string()), ("accept".into(), "a".into())]);
        assert!(notes.iter().any(|n| n.contains("connection, host")), "{notes:?}");
    }

    #[test]
    fn credentials_in_the_url_become_a_basic_header_placeholder() {
        let mut notes = Vec::new();
        let i = ops(vec![req("GET", "http://alice:pw@h:8/x", &[])], &mut notes).unwrap();
        assert_eq!(i.url, "http://h:8");
        assert_eq!(i.ops[0].headers, [("authorization".to_string(), "Basic ${env.TARGET_AUTH}".to_string())]);
        assert_eq!(i.env[0].name, "TARGET_AUTH");
    }

    #[test]
    fn a_body_that_may_hold_a_secret_is_pointed_out() {
        let mut login = req("POST", "http://h/login", &[]);
        login.body = Some(r#"{"user":"a","password":"pw"}"#.into());
        let mut notes = Vec::new();
        ops(vec![login], &mut notes).unwrap();
        assert!(notes.iter().any(|n| n.contains("body of POST /login mentions a password")), "{notes:?}");
    }

    #[test]
    fn op_names_are_valid_and_unique() {
        assert_eq!(op_name("GET", "/"), "get_root");
        assert_eq!(op_name("DELETE", "/a/b/c/d.json?x"), "delete_b_c_d_json");
        let ops = ops(vec![req("GET", "http://h/a/b", &[]), req("GET", "http://h/a_b", &[])], &mut Vec::new());
        let names: Vec<_> = ops.unwrap().ops.into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["get_a_b", "get_a_b_2"]);
    }
}
