//! A HAR 1.2 file (`log.entries[].request`) into captured requests. A browser session
//! holds far more than the API calls a load test wants: the page's images, stylesheets,
//! scripts and fonts, CORS preflights, data: URLs. Those are left out, with a note.

use std::path::Path;

use einv_core::input::{self, Cap};
use serde::Deserialize;

use super::capture::Captured;
use crate::error::Error;

/// A HAR holds the responses' bodies too: a long session is tens of MiB.
const HAR_CAP: Cap = Cap { bytes: 256 << 20, what: "a HAR file" };

#[derive(Debug, Deserialize)]
struct Har {
    log: Log,
}

#[derive(Debug, Deserialize)]
struct Log {
    entries: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    request: Request,
    response: Option<Response>,
    /// Chromium's DevTools: "document", "xhr", "fetch", "image", "stylesheet", ...
    #[serde(rename = "_resourceType")]
    resource_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Request {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(rename = "postData")]
    post_data: Option<PostData>,
    /// -1 when unknown.
    #[serde(rename = "bodySize")]
    body_size: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Header {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
struct PostData {
    #[serde(rename = "mimeType")]
    mime_type: Option<String>,
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Response {
    content: Option<Content>,
}

#[derive(Debug, Deserialize)]
struct Content {
    #[serde(rename = "mimeType")]
    mime_type: Option<String>,
}

const STATIC_TYPES: [&str; 7] = ["image", "stylesheet", "script", "font", "media", "manifest", "texttrack"];
const STATIC_MIME: [&str; 7] = ["image/", "font/", "audio/", "video/", "text/css", "javascript", "application/font"];
const STATIC_EXT: [&str; 17] = [
    "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "css", "js", "mjs", "map", "woff", "woff2", "ttf",
    "otf", "eot",
];

/// Read `path` (bounded) and keep the requests a load test replays.
pub(super) fn read(path: &Path, notes: &mut Vec<String>) -> Result<Vec<Captured>, Error> {
    let text = input::read_to_string(path, HAR_CAP).map_err(|error| Error::Input { path: path.into(), error })?;
    parse(&text, notes).map_err(|m| Error::Flag { flag: "--from-har", message: format!("{}: {m}", path.display()) })
}

fn parse(text: &str, notes: &mut Vec<String>) -> Result<Vec<Captured>, String> {
    let har: Har = serde_json::from_str(text).map_err(|e| format!("not a HAR file (log.entries[].request): {e}"))?;
    let total = har.log.entries.len();
    let (mut assets, mut preflights, mut other, mut unsaved) = (0, 0, 0, 0);
    let mut kept = Vec::new();
    for e in har.log.entries {
        let scheme = e.request.url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("http" | "https")) {
            other += 1;
        } else if e.request.method.eq_ignore_ascii_case("OPTIONS") {
            preflights += 1;
        } else if is_static(&e) {
            assets += 1;
        } else {
            let text = e.request.post_data.as_ref().and_then(|p| p.text.as_deref()).unwrap_or_default();
            unsaved += usize::from(text.is_empty() && e.request.body_size.is_some_and(|n| n > 0));
            kept.push(captured(e));
        }
    }
    if unsaved > 0 {
        // Playwright's recordHar with content "omit" leaves request bodies out as well.
        notes.push(format!("{unsaved} requests had a body the HAR did not save: their ops send an empty one"));
    }
    let left_out = [
        (assets, "static assets (images, stylesheets, scripts, fonts): the API is what is under load"),
        (preflights, "OPTIONS requests (CORS preflights a browser sends on its own)"),
        (other, "requests that are not http:// or https:// (data:, blob:, ws:)"),
    ];
    for (n, what) in left_out.into_iter().filter(|(n, _)| *n > 0) {
        notes.push(format!("left out {n} of {total} {what}"));
    }
    if kept.is_empty() {
        return Err(format!("none of its {total} requests is an API call to import (every one was left out)"));
    }
    Ok(kept)
}

fn is_static(e: &Entry) -> bool {
    if let Some(t) = &e.resource_type {
        return STATIC_TYPES.contains(&t.to_ascii_lowercase().as_str());
    }
    let mime = e.response.as_ref().and_then(|r| r.content.as_ref()).and_then(|c| c.mime_type.as_deref());
    if mime.is_some_and(|m| STATIC_MIME.iter().any(|s| m.to_ascii_lowercase().contains(s))) {
        return true;
    }
    let path = e.request.url.split(['?', '#']).next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    last.rsplit_once('.').is_some_and(|(_, ext)| STATIC_EXT.contains(&ext.to_ascii_lowercase().as_str()))
}

fn captured(e: Entry) -> Captured {
    let r = e.request;
    let mut headers: Vec<(String, String)> = r.headers.into_iter().map(|h| (h.name, h.value)).collect();
    let (mut body, mut mime) = (None, None);
    if let Some(p) = r.post_data {
        body = p.text;
        mime = p.mime_type.filter(|m| !m.is_empty());
    }
    if let Some(mime) = mime.filter(|_| !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"))) {
        headers.push(("content-type".into(), mime));
    }
    Captured { method: r.method, url: r.url, headers, body, basic_auth: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, url: &str, kind: Option<&str>, mime: &str) -> serde_json::Value {
        serde_json::json!({
            "request": { "method": method, "url": url, "headers": [{ "name": ":path", "value": "/" }],
                         "postData": { "mimeType": "application/json", "text": "{}" }, "bodySize": 2 },
            "response": { "status": 200, "content": { "mimeType": mime, "size": 1 } },
            "_resourceType": kind,
        })
    }

    #[test]
    fn static_assets_preflights_and_data_urls_are_left_out() {
        let entries = vec![
            entry("GET", "http://h/", Some("document"), "text/html"),
            entry("GET", "http://h/app.js", Some("script"), "text/javascript"),
            entry("GET", "http://h/logo.png?v=2", None, ""),
            entry("GET", "http://h/style", None, "text/css; charset=utf-8"),
            entry("OPTIONS", "http://h/api", Some("preflight"), ""),
            entry("GET", "data:image/png;base64,AAAA", None, ""),
            entry("POST", "http://h/api", Some("fetch"), "application/json"),
        ];
        let text = serde_json::json!({ "log": { "version": "1.2", "entries": entries } }).to_string();
        let mut notes = Vec::new();
        let kept = parse(&text, &mut notes).unwrap();
        assert_eq!(kept.iter().map(|c| c.url.as_str()).collect::<Vec<_>>(), ["http://h/", "http://h/api"]);
        assert!(kept[1].headers.contains(&("content-type".into(), "application/json".into())));
        assert_eq!(kept[1].body.as_deref(), Some("{}"));
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].starts_with("left out 3 of 7 static assets"), "{notes:?}");
    }

    #[test]
    fn not_a_har_is_an_error_with_its_place() {
        let e = parse("{\"log\": {}}", &mut Vec::new()).unwrap_err();
        assert!(e.contains("not a HAR file") && e.contains("entries"), "{e}");
        let unsaved = r#"{"log":{"entries":[{"request":{"method":"POST","url":"http://h/a","bodySize":5,
            "postData":{"mimeType":"text/plain","text":""}}}]}}"#;
        let mut notes = Vec::new();
        parse(unsaved, &mut notes).unwrap();
        assert!(notes[0].contains("1 requests had a body the HAR did not save"), "{notes:?}");
        let only_assets = r#"{"log":{"entries":[{"request":{"method":"GET","url":"http://h/a.css"}}]}}"#;
        assert!(parse(only_assets, &mut Vec::new()).unwrap_err().contains("none of its 1 requests"));
    }
}
