//! The target URL: `"builtin"`, `"builtin+tls"` or `http[s]://host[:port][/prefix]`,
//! parsed strictly. A URL that is not exactly valid is refused rather than guessed at: a
//! port above 65535 must not become port 80 (another service), and credentials written
//! into the URL must never reach an error message or a log.

use std::net::Ipv6Addr;

use einv_workload::template::{EnvText, expand_env};

use super::{Endpoint, HttpUrl};
use crate::driver::Secrets;

const EXPECTED: &str = "expected \"builtin\", \"builtin+tls\" or \"http[s]://host[:port][/prefix]\"";

/// `"builtin"`, `"builtin+tls"` or an `http[s]://host[:port][/prefix]` URL, whole or in
/// parts from `${env.NAME}`. The error quotes the URL as written, with any credentials in
/// it masked, and never an environment variable's value.
pub(crate) fn endpoint(written: &str) -> Result<Endpoint, String> {
    let quoted = |why: String| format!("{:?}: {why}", redact(written));
    let EnvText { text: url, secrets } = expand_env(written, &|name| std::env::var(name).ok()).map_err(quoted)?;
    if let Some(tls) =
        [("builtin", false), ("builtin+tls", true)].iter().find_map(|(n, tls)| (url == *n).then_some(*tls))
    {
        return Ok(Endpoint::Builtin { tls });
    }
    match http_url(&url) {
        Ok(url) => Ok(Endpoint::Http(HttpUrl { secrets, ..url })),
        Err(why) => Err(quoted(Secrets::new(secrets.iter().map(String::as_str)).mask(&why))),
    }
}

/// Split and check an `http[s]://` URL; the error says what is wrong, without the URL.
fn http_url(url: &str) -> Result<HttpUrl, String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("not a URL; {EXPECTED}"))?;
    let (tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
        "http" => (false, 80),
        "https" => (true, 443),
        _ => return Err("must start with http:// or https:// (or be \"builtin\" or \"builtin+tls\")".into()),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err("credentials in the target URL are not supported (they would be sent to every \
             request's Host and could end up in logs); send them in a header instead, e.g. \
             headers = { authorization = \"Basic ${env.TARGET_AUTH}\" }"
            .into());
    }
    if path.contains('#') {
        return Err("the target URL must not have a fragment (#...): it is never sent".into());
    }
    if path.contains('?') {
        return Err("the target URL must not have a query; put queries in each op's path".into());
    }
    let (host, port) = host_port(authority)?;
    let port = port.unwrap_or(default_port);
    let valid_path = crate::driver::valid_target(path.as_bytes());
    if !path.is_empty() && !valid_path {
        return Err(format!("{path:?} is not a valid URL path (spaces and control characters must be %-encoded)"));
    }
    let (authority, base_path) = (format!("{host}:{port}"), path.trim_end_matches('/').to_string());
    let url = HttpUrl { authority, base_path, tls, secrets: Vec::new() };
    if tls && rustls_pki_types::ServerName::try_from(url.host()).is_err() {
        return Err(format!("{:?} is not a host name TLS can check a certificate against", url.host()));
    }
    Ok(url)
}

/// `host[:port]`, `[v6][:port]`: the host as written and the port, if one is given.
fn host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or("an IPv6 address needs its closing ']'")?;
            addr.parse::<Ipv6Addr>().map_err(|_| format!("[{addr}] is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(format!("unexpected {p:?} after the IPv6 address"))?),
            };
            (&authority[..addr.len() + 2], port)
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if !host.starts_with('[') && !host.chars().all(name_char) {
        return Err(format!("\"{}\" is not a host name or IP address", einv_core::input::clip(host)));
    }
    // DNS limits (RFC 1035): a resolver would refuse the name later, less clearly.
    if !host.starts_with('[') && (host.len() > 253 || host.trim_end_matches('.').split('.').any(|l| l.len() > 63)) {
        let why = "longer than DNS allows (253 characters, 63 a label)";
        return Err(format!("\"{}\" is not a host name: {why}", einv_core::input::clip(host)));
    }
    let port = port.map(port_number).transpose()?;
    Ok((host, port))
}

/// A port as written in a URL: digits only, 1 to 65535.
fn port_number(port: &str) -> Result<u16, String> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {port:?} is not a number from 1 to 65535"));
    }
    match port.parse::<u16>() {
        Ok(0) => Err("port 0 is not a port a service listens on; give the target's port (1 to 65535)".into()),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("port {port} is above 65535")),
    }
}

/// `url` with the credentials of a `user:password@` part replaced by `***`, so that it
/// can be quoted in an error message.
pub(crate) fn redact(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<HttpUrl, String> {
        match endpoint(url)? {
            Endpoint::Http(u) => Ok(u),
            Endpoint::Builtin { .. } => Err("builtin".into()),
        }
    }

    #[test]
    fn valid_urls_split_into_authority_and_base_path() {
        let cases = [
            ("http://127.0.0.1:8080", "127.0.0.1:8080", ""),
            ("http://invoices.example", "invoices.example:80", ""),
            ("https://invoices.example/v2/", "invoices.example:443", "/v2"),
            ("HTTP://localhost:65535/a%20b", "localhost:65535", "/a%20b"),
            ("http://[::1]:9000/api", "[::1]:9000", "/api"),
            ("https://[::1]", "[::1]:443", ""),
        ];
        for (url, authority, base) in cases {
            let u = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((u.authority.as_str(), u.base_path.as_str()), (authority, base), "{url}");
        }
    }

    /// A port above 65535 used to be dropped, and the run went to port 80.
    #[test]
    fn a_port_out_of_range_is_refused_not_replaced() {
        for (url, says) in [
            ("http://127.0.0.1:99999", "above 65535"),
            ("http://127.0.0.1:65536/x", "above 65535"),
            ("http://127.0.0.1:0", "port 0"),
            ("http://127.0.0.1:", "not a number"),
            ("http://127.0.0.1:80x", "not a number"),
            ("http://127.0.0.1:-1", "not a number"),
            ("http://[::1]:99999", "above 65535"),
        ] {
            let e = parse(url).unwrap_err();
            assert!(e.contains(says), "{url}: {e}");
        }
    }

    #[test]
    fn query_fragment_and_malformed_hosts_are_refused() {
        for (url, says) in [
            ("http://h/x?a=1", "query"),
            ("http://h/x#top", "fragment"),
            ("http://h#top", "fragment"),
            ("http://h?a", "query"),
            ("http://:8080", "no host"),
            ("http://", "no host"),
            ("http://a b:80", "not a host name"),
            (
                "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
                "longer than DNS allows",
            ),
            ("http://[::1:80", "closing"),
            ("http://[zz]:80", "not an IPv6"),
            ("http://h/a b", "not a valid URL path"),
            ("ftp://h", "http://"),
            ("not a url", "not a URL"),
        ] {
            let e = parse(url).unwrap_err();
            assert!(e.contains(says), "{url}: {e}");
        }
    }

    /// Credentials in the URL are refused with a way to send them, and never printed.
    #[test]
    fn credentials_are_refused_and_never_quoted() {
        for url in ["http://user:s3cret@h:80/x", "https://s3cret@h", "http://u:s3cret@h:99999", "ftp://u:s3cret@h"] {
            let e = parse(url).unwrap_err();
            assert!(!e.contains("s3cret"), "{url}: {e}");
            assert!(e.contains("***"), "{url}: {e}");
        }
        let e = parse("http://user:s3cret@h:80/x").unwrap_err();
        assert!(e.contains("header") && e.contains("${env."), "says how to send credentials: {e}");
        assert_eq!(redact("http://a:b@h/x@y"), "http://***@h/x@y");
        assert_eq!(redact("http://h/x@y"), "http://h/x@y", "an @ in the path is no credential");
    }
}
