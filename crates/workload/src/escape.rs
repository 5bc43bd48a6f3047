//! How a placeholder's value is written into the text around it: a body template's
//! [`Format`] decides (JSON string escape, XML escape, percent-encoding), a path's value is
//! percent-encoded, a plain text body takes values as they are.

use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};

use crate::invoice::json;

/// What a body template is written in, which says how its placeholders' values are escaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Values as they are (inline `body = "..."` strings).
    #[default]
    Text,
    /// Values escaped as the inside of a JSON string; `${invoice}` and `${invoice.lines}`,
    /// which are JSON themselves, inserted as they are.
    Json,
    /// `&`, `<`, `>`, `"` and `'` escaped as entities, in every value.
    Xml,
    /// `application/x-www-form-urlencoded`: every value percent-encoded.
    Form,
}

impl Format {
    pub const NAMES: &'static str = "\"json\", \"xml\", \"form\" or \"text\"";

    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "json" => Some(Format::Json),
            "xml" => Some(Format::Xml),
            "form" => Some(Format::Form),
            "text" => Some(Format::Text),
            _ => None,
        }
    }

    /// The format a template file's extension names: `.json`, `.xml`, `.form`, `.txt`.
    pub fn of_file(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "json" => Some(Format::Json),
            "xml" => Some(Format::Xml),
            "form" => Some(Format::Form),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Xml => "xml",
            Format::Form => "form",
        }
    }

    /// The Content-Type a body of this format is sent with when the op sets none.
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Format::Text => None,
            Format::Json => Some("application/json"),
            Format::Xml => Some("application/xml"),
            Format::Form => Some("application/x-www-form-urlencoded"),
        }
    }

    pub(crate) fn escape(self) -> Escape {
        match self {
            Format::Text => Escape::Raw,
            Format::Json => Escape::Json,
            Format::Xml => Escape::Xml,
            Format::Form => Escape::Form,
        }
    }
}

/// How one value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    Raw,
    Json,
    Xml,
    Form,
    Path,
}

impl Escape {
    /// Append `value`, escaped.
    pub(crate) fn put(self, out: &mut Vec<u8>, value: &[u8]) {
        match self {
            Escape::Raw => out.extend_from_slice(value),
            Escape::Json => json::escape(out, value),
            Escape::Xml => xml(out, value),
            Escape::Form => out.extend(percent_encode(value, FORM_VALUE).flat_map(str::bytes)),
            Escape::Path => out.extend(percent_encode(value, PATH_VALUE).flat_map(str::bytes)),
        }
    }

    /// Append a value that is JSON text itself (`${invoice}`, `${invoice.lines}`), which
    /// `write` renders: as it is in a JSON or plain body, escaped in any other.
    pub(crate) fn put_json(self, out: &mut Vec<u8>, scratch: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
        match self {
            Escape::Raw | Escape::Json => write(out),
            _ => {
                scratch.clear();
                write(scratch);
                self.put(out, scratch);
            }
        }
    }
}

/// Everything but RFC 3986's unreserved characters is encoded in a path value.
pub(crate) const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A form value keeps what `application/x-www-form-urlencoded` serializers keep
/// (`*-._`); a space becomes `%20`, which every form decoder reads as a space.
const FORM_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_');

fn xml(out: &mut Vec<u8>, value: &[u8]) {
    // Generated values almost never hold one of these: one scan, then a copy.
    if !value.iter().any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'')) {
        out.extend_from_slice(value);
        return;
    }
    for &b in value {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\'' => out.extend_from_slice(b"&apos;"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(e: Escape, value: &str) -> String {
        let mut out = Vec::new();
        e.put(&mut out, value.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_format_escapes_its_own_way() {
        let v = r#"A&B <"x"> 'y' \ 厦门 a+b=c"#;
        assert_eq!(put(Escape::Raw, v), v);
        assert_eq!(put(Escape::Json, v), r#"A&B <\"x\"> 'y' \\ 厦门 a+b=c"#);
        assert_eq!(put(Escape::Xml, v), r#"A&amp;B &lt;&quot;x&quot;&gt; &apos;y&apos; \ 厦门 a+b=c"#);
        assert_eq!(put(Escape::Form, v), "A%26B%20%3C%22x%22%3E%20%27y%27%20%5C%20%E5%8E%A6%E9%97%A8%20a%2Bb%3Dc");
        assert_eq!(put(Escape::Path, "1/2 ~"), "1%2F2%20~");
    }

    #[test]
    fn json_values_are_inserted_in_json_and_escaped_elsewhere() {
        let put_json = |e: Escape| {
            let (mut out, mut scratch) = (Vec::new(), Vec::new());
            e.put_json(&mut out, &mut scratch, |o| o.extend_from_slice(br#"[{"a":"b&c"}]"#));
            String::from_utf8(out).unwrap()
        };
        assert_eq!(put_json(Escape::Json), r#"[{"a":"b&c"}]"#);
        assert_eq!(put_json(Escape::Xml), "[{&quot;a&quot;:&quot;b&amp;c&quot;}]");
        assert_eq!(put_json(Escape::Form), "%5B%7B%22a%22%3A%22b%26c%22%7D%5D");
    }

    #[test]
    fn formats_come_from_names_and_extensions() {
        assert_eq!(Format::of_file(Path::new("t/issue.xml")), Some(Format::Xml));
        assert_eq!(Format::of_file(Path::new("issue.form")), Some(Format::Form));
        assert_eq!(Format::of_file(Path::new("issue.json")), Some(Format::Json));
        assert_eq!(Format::of_file(Path::new("issue.tpl")), None);
        assert_eq!(Format::of_file(Path::new("issue")), None);
        assert_eq!(Format::parse("form").map(Format::content_type), Some(Some("application/x-www-form-urlencoded")));
    }
}
