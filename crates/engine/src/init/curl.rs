//! A curl command line (as a browser's "Copy as cURL" writes it) into one captured
//! request. Split as a POSIX shell would (shlex); the flags that shape a request are
//! read, the ones that only change curl's own output are ignored, and any other flag is
//! an error naming it, rather than a request that silently differs from the command.

use std::path::Path;

use einv_core::input::{self, Cap};

use super::capture::{Captured, split_url};
use crate::error::Error;

/// A body file named by `-d @FILE` is read whole, up to this.
const BODY_CAP: Cap = Cap { bytes: 4 << 20, what: "a curl body file (-d @FILE)" };

/// The request, and whether certificate checks were turned off (-k).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Curl {
    pub request: Captured,
    pub insecure: bool,
}

/// Flags that take a value.
const WITH_VALUE: [(&str, &str); 15] = [
    ("-X", "--request"),
    ("-H", "--header"),
    ("-d", "--data"),
    ("", "--data-raw"),
    ("", "--data-binary"),
    ("", "--data-ascii"),
    ("", "--json"),
    ("-u", "--user"),
    ("-A", "--user-agent"),
    ("-b", "--cookie"),
    ("-e", "--referer"),
    ("", "--url"),
    ("-o", "--output"),
    ("-m", "--max-time"),
    ("", "--connect-timeout"),
];

/// Flags without a value that change nothing einv-load sends (curl's output, retries of
/// its own), or that are noted.
const SWITCHES: [(&str, &str); 14] = [
    ("-s", "--silent"),
    ("-S", "--show-error"),
    ("-v", "--verbose"),
    ("-i", "--include"),
    ("-f", "--fail"),
    ("-g", "--globoff"),
    ("-k", "--insecure"),
    ("-L", "--location"),
    ("-I", "--head"),
    ("-G", "--get"),
    ("", "--compressed"),
    ("", "--http1.1"),
    ("", "--http2"),
    ("", "--no-progress-meter"),
];

/// What the flags said, before it becomes a request.
#[derive(Debug, Default)]
struct Parsed {
    method: Option<String>,
    url: Option<String>,
    headers: Vec<(String, String)>,
    data: Vec<String>,
    json: bool,
    user: bool,
    head: bool,
    get: bool,
    insecure: bool,
}

/// Parse `cmd`; notes say what was ignored or changed.
pub(super) fn parse(cmd: &str, notes: &mut Vec<String>) -> Result<Curl, Error> {
    let fail = |message: String| Error::Flag { flag: "--from-curl", message };
    // "Copy as cURL" breaks long commands with a backslash at the end of each line.
    let words = shlex::split(&cmd.replace("\\\r\n", " ").replace("\\\n", " "))
        .ok_or_else(|| fail("cannot split the command: an open quote or a trailing backslash".into()))?;
    let mut words = words.into_iter();
    match words.next() {
        Some(w) if w == "curl" || w.ends_with("/curl") => {}
        _ => return Err(fail("expected a command that starts with curl, e.g. 'curl -H ... https://...'".into())),
    }
    let mut p = Parsed::default();
    while let Some(word) = words.next() {
        let (flag, attached) = split_flag(&word);
        let Some(flag) = flag else {
            set_url(&mut p, word).map_err(fail)?;
            continue;
        };
        if let Some((short, long)) = WITH_VALUE.iter().find(|(s, l)| flag == *s || flag == *l) {
            let name = if short.is_empty() { *long } else { *short };
            let value = match attached {
                Some(v) => v,
                None => words.next().ok_or_else(|| fail(format!("curl flag {flag} needs a value")))?,
            };
            value_flag(&mut p, long, value, notes).map_err(|m| fail(format!("{name}: {m}")))?;
        } else if attached.is_none() && SWITCHES.iter().any(|(s, l)| flag == *s || flag == *l) {
            switch(&mut p, flag, notes);
        } else if let Some(cluster) = word.strip_prefix('-').filter(|w| !w.starts_with('-') && w.len() > 1) {
            // -sSk: switches written together.
            for c in cluster.chars() {
                let short = format!("-{c}");
                if !SWITCHES.iter().any(|(s, _)| *s == short) {
                    return Err(fail(unknown(&word)));
                }
                switch(&mut p, &short, notes);
            }
        } else {
            return Err(fail(unknown(&word)));
        }
    }
    request(p).map_err(fail)
}

fn unknown(word: &str) -> String {
    format!(
        "curl flag {word} is not supported; init reads -X, -H, -d, --data-raw, --data-binary, --json, -u, -b, -A, \
         -e, -G, -I, --url and ignores -s, -S, -v, -i, -f, -k, -L, -o, -m, --compressed (edit the command or the \
         profile)"
    )
}

/// `-XPOST` -> (`-X`, `POST`); `--header` -> (`--header`, none); `https://...` -> no flag.
fn split_flag(word: &str) -> (Option<&str>, Option<String>) {
    if word.starts_with("--") {
        return (Some(word), None);
    }
    if word.len() > 2 && word.starts_with('-') && WITH_VALUE.iter().any(|(s, _)| !s.is_empty() && word.starts_with(s)) {
        return (Some(&word[..2]), Some(word[2..].to_string()));
    }
    if word.starts_with('-') && word.len() > 1 { (Some(word), None) } else { (None, None) }
}

fn set_url(p: &mut Parsed, url: String) -> Result<(), String> {
    if p.url.is_some() {
        return Err("more than one URL: init makes a profile of one request".into());
    }
    // curl assumes http:// for a bare host.
    let url = if url.contains("://") { url } else { format!("http://{url}") };
    split_url(&url)?;
    p.url = Some(url);
    Ok(())
}

fn value_flag(p: &mut Parsed, long: &str, value: String, notes: &mut Vec<String>) -> Result<(), String> {
    match long {
        "--request" => p.method = Some(value),
        "--header" => {
            let (name, v) = value.split_once(':').ok_or(format!("{value:?} is not a header (name: value)"))?;
            p.headers.push((name.trim().to_string(), v.trim().to_string()));
        }
        "--data" | "--data-ascii" => p.data.push(data(&value, true)?),
        "--data-binary" => p.data.push(data(&value, false)?),
        "--data-raw" => p.data.push(value),
        "--json" => {
            p.data.push(data(&value, false)?);
            p.json = true;
        }
        "--user" => p.user = true,
        "--user-agent" => p.headers.push(("user-agent".into(), value)),
        "--cookie" if value.contains('=') => p.headers.push(("cookie".into(), value)),
        "--cookie" => return Err("reading cookies from a file is not supported; pass them as NAME=VALUE".into()),
        "--referer" => p.headers.push(("referer".into(), value)),
        "--url" => set_url(p, value)?,
        "--output" => {}
        _ => notes.push(format!("ignored curl {long} {value}: the profile's target.request-timeout bounds requests")),
    }
    Ok(())
}

/// The body of `-d VALUE`: `@FILE` is read (bounded; `--data` drops its line breaks, as
/// curl does), anything else is the body itself.
fn data(value: &str, strip_newlines: bool) -> Result<String, String> {
    let Some(file) = value.strip_prefix('@') else { return Ok(value.to_string()) };
    if file == "-" {
        return Err("@- (standard input) cannot be read here; put the body in the command or a file".into());
    }
    let text = input::read_to_string(Path::new(file), BODY_CAP).map_err(|e| format!("{file}: {e}"))?;
    Ok(if strip_newlines { text.replace(['\r', '\n'], "") } else { text })
}

fn switch(p: &mut Parsed, flag: &str, notes: &mut Vec<String>) {
    match flag {
        "-k" | "--insecure" => {
            p.insecure = true;
            notes.push("curl -k: the profile sets tls-insecure = true (certificates are not checked)".into());
        }
        "--compressed" => notes.push("ignored --compressed: einv-load asks for answers uncompressed".into()),
        "-L" | "--location" => {
            notes.push("ignored -L: einv-load does not follow redirects (a 3xx is an answer)".into())
        }
        "--http2" => notes.push("ignored --http2: the profile's target decides the protocol".into()),
        "-I" | "--head" => p.head = true,
        "-G" | "--get" => p.get = true,
        _ => {}
    }
}

fn request(p: Parsed) -> Result<Curl, String> {
    let mut url = p.url.ok_or("the command has no URL")?;
    let mut headers = p.headers;
    let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut body = (!p.data.is_empty()).then(|| p.data.join("&"));
    if p.get
        && let Some(query) = body.take()
    {
        // -G: the data is the query string.
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query);
    }
    if p.json {
        for (name, value) in [("content-type", "application/json"), ("accept", "application/json")] {
            if !has(&headers, name) {
                headers.push((name.into(), value.into()));
            }
        }
    } else if body.is_some() && !has(&headers, "content-type") {
        headers.push(("content-type".into(), "application/x-www-form-urlencoded".into()));
    }
    let default = if p.head {
        "HEAD"
    } else if body.is_some() {
        "POST"
    } else {
        "GET"
    };
    let method = p.method.unwrap_or_else(|| default.into());
    let request = Captured { method, url, headers, body, basic_auth: p.user };
    Ok(Curl { request, insecure: p.insecure })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curl(cmd: &str) -> Result<Curl, String> {
        parse(cmd, &mut Vec::new()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_browser_copy_as_curl_command() {
        let c = curl(
            "curl 'https://api.example.com/v1/invoices?x=1' \\\n  -H 'accept: application/json' \\\n  \
             -H 'authorization: Bearer t0k' \\\n  --data-raw '{\"a\":1}' \\\n  --compressed",
        )
        .unwrap();
        let r = c.request;
        assert_eq!((r.method.as_str(), r.url.as_str()), ("POST", "https://api.example.com/v1/invoices?x=1"));
        assert_eq!(r.body.as_deref(), Some("{\"a\":1}"));
        assert_eq!(r.headers[1], ("authorization".into(), "Bearer t0k".into()));
        assert!(r.headers.iter().any(|(n, v)| n == "content-type" && v.contains("urlencoded")));
    }

    #[test]
    fn flags_attached_clustered_and_json() {
        let c = curl("curl -sSk -XPUT -Hx-a:1 --json '{}' -u u:p http://h:8/a").unwrap();
        assert!(c.insecure);
        let r = c.request;
        assert_eq!(r.method, "PUT");
        assert!(r.basic_auth);
        assert_eq!(r.headers[0], ("x-a".into(), "1".into()));
        assert!(r.headers.contains(&("content-type".into(), "application/json".into())));
        assert_eq!(curl("curl -G -d q=1 -d r=2 h/s").unwrap().request.url, "http://h/s?q=1&r=2");
        assert_eq!(curl("curl -I http://h/").unwrap().request.method, "HEAD");
    }

    #[test]
    fn unknown_flags_and_bad_commands_are_named() {
        let e = curl("curl --proxy http://p:1 http://h/").unwrap_err();
        assert!(e.starts_with("--from-curl: curl flag --proxy is not supported"), "{e}");
        assert!(curl("curl -sZ http://h/").unwrap_err().contains("flag -sZ"));
        assert!(curl("wget http://h/").unwrap_err().contains("starts with curl"));
        assert!(curl("curl 'http://h/").unwrap_err().contains("open quote"));
        assert!(curl("curl -H").unwrap_err().contains("-H needs a value"));
        assert!(curl("curl -s").unwrap_err().contains("no URL"));
        assert!(curl("curl ftp://h/x").unwrap_err().contains("http://"));
        assert!(curl("curl -d @- http://h/").unwrap_err().contains("standard input"));
    }

    #[test]
    fn body_files_are_read_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("b.json");
        std::fs::write(&f, "{\n\"a\": 1\n}\n").unwrap();
        let cmd = |flag: &str| format!("curl {flag} @{} http://h/", f.display());
        assert_eq!(curl(&cmd("-d")).unwrap().request.body.as_deref(), Some("{\"a\": 1}"));
        assert_eq!(curl(&cmd("--data-binary")).unwrap().request.body.as_deref(), Some("{\n\"a\": 1\n}\n"));
        let e = curl(&format!("curl -d @{} http://h/", dir.path().display())).unwrap_err();
        assert!(e.contains("expected a regular file"), "{e}");
    }
}
