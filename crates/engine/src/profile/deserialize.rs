//! TOML text → raw structs, with every unknown key and wrong type found in one go.
//!
//! serde stops at the first error. Each one is recorded with its key path and line, that
//! key is taken out of the document, and deserializing starts again, up to
//! [`MAX_ROUNDS`] times: a profile with six mistakes gets six messages in one run.

use std::path::Path;

use super::document::{Document, key_path, line_of};
use super::raw::RawProfile;
use crate::error::ProfileError;

/// Problems reported from deserializing one profile at most; more are found once these
/// are fixed.
const MAX_ROUNDS: usize = 100;

/// What deserializing found.
#[derive(Debug)]
pub(super) struct Deserialized<'a> {
    pub doc: Document<'a>,
    /// `None` when a problem left nothing that could be deserialized.
    pub raw: Option<RawProfile>,
    pub errors: Vec<ProfileError>,
    /// Tables that hold an unknown key: most often a misspelt one, so a key missing from
    /// the same table is that typo again, not a second problem.
    pub typo_tables: Vec<String>,
}

/// Parse and deserialize `src`; a syntax error is the only problem then reported.
pub(super) fn deserialize<'a>(src: &'a str, file: &Path) -> Result<Deserialized<'a>, ProfileError> {
    let mut doc = Document::parse(src).map_err(|e| {
        let line = e.span().map(|s| line_of(src, s.start));
        ProfileError::new(file, line, "", plain_words(e.message().trim()))
    })?;
    let (mut errors, mut typo_tables) = (Vec::new(), Vec::new());
    for _ in 0..MAX_ROUNDS {
        let e = match serde_path_to_error::deserialize::<_, RawProfile>(doc.deserializer()) {
            Ok(raw) => return Ok(Deserialized { doc, raw: Some(raw), errors, typo_tables }),
            Err(e) => e,
        };
        let at = key_path(&e.path().to_string());
        let e = e.into_inner();
        let message = plain_words(e.message().trim());
        let (key, kind) = field_key(&at, &message);
        let table = parent(&key).to_string();
        if kind != Kind::Missing || !typo_tables.contains(&table) {
            // A key that is in the file is where the user looks; else the parser's span
            // (a missing key's span is the table that lacks it).
            let line = doc.line_exact(&key).or_else(|| e.span().map(|s| doc.line_of(s.start)));
            errors.push(ProfileError::new(file, line, &key, message));
        }
        if kind == Kind::Unknown {
            typo_tables.push(table.clone());
        }
        // A missing key cannot be taken out: the table that lacks it goes instead.
        let removed = if kind == Kind::Missing { doc.remove(&table) } else { doc.remove(&key) };
        if !removed {
            break;
        }
    }
    Ok(Deserialized { doc, raw: None, errors, typo_tables })
}

/// The table `key` is in (`""` for the root).
pub(super) fn parent(key: &str) -> &str {
    key.rfind(['.', '[']).map_or("", |at| &key[..at])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Missing,
    Value,
}

/// The key path down to the field a serde error is about, and what kind of error it is.
/// serde names a missing field only in its message; serde_path_to_error's path already
/// ends with an unknown one.
fn field_key(at: &str, message: &str) -> (String, Kind) {
    let named = |prefix: &str| message.strip_prefix(prefix).and_then(|m| m.split('`').next()).map(str::to_string);
    let (field, kind) = match (named("unknown field `"), named("missing field `")) {
        (Some(f), _) => (f, Kind::Unknown),
        (None, Some(f)) => (f, Kind::Missing),
        (None, None) => return (at.to_string(), Kind::Value),
    };
    let key = match () {
        _ if at == field || at.ends_with(&format!(".{field}")) => at.to_string(),
        _ if at.is_empty() => field,
        _ => format!("{at}.{field}"),
    };
    (key, kind)
}

/// serde speaks in Rust types ("expected i64", "expected struct RawTarget", "untagged
/// enum RawHold"); a profile author thinks in TOML values.
fn plain_words(message: &str) -> String {
    let mut out = message.to_string();
    for (untagged, expected) in [
        (
            "RawHold",
            r#"expected a duration ("20ms"), { exponential = "20ms" }, { p50 = "15ms", p99 = "80ms" } or { from-report = "DIR", op = "NAME" }"#,
        ),
        ("RawDist", "expected a number, { min = N, max = N } or { p50 = N, p99 = N }"),
        (
            "RawBody",
            r#"expected a string, { generator = "invoice" } or { file = "templates/NAME.json" } (with format = "json", "xml", "form" or "text" if the extension does not say)"#,
        ),
    ] {
        if out == format!("data did not match any variant of untagged enum {untagged}") {
            return expected.to_string();
        }
    }
    while let Some(at) = out.find("struct Raw") {
        let end = out[at + 7..].find(|c: char| !c.is_ascii_alphanumeric()).map_or(out.len(), |i| at + 7 + i);
        out.replace_range(at..end, "a table");
    }
    for (rust, toml) in [
        ("expected i64", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected u64", "expected a whole number >= 0"),
        ("expected u32", "expected a whole number >= 0"),
        ("expected u16", "expected a whole number from 0 to 65535"),
    ] {
        out = out.replace(rust, toml);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<String> {
        let d = deserialize(src, Path::new("p.toml")).unwrap_or_else(|e| Deserialized {
            doc: Document::parse("").unwrap(),
            raw: None,
            errors: vec![e],
            typo_tables: Vec::new(),
        });
        let mut errors = d.errors;
        errors.sort_by_key(|e| e.line);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_unknown_key_and_wrong_type_is_found_at_once() {
        let src = "schema = 1\nnam = \"x\"\n[target]\nurl = 5\nconnections = \"many\"\n[targte]\n[load]\n\
                   [[load.stage]]\nkind = \"constant\"\nrate = \"fast\"\n";
        assert_eq!(
            errors(src),
            [
                "p.toml:2: nam: unknown field `nam`, expected one of `schema`, `name`, `description`, `seed`, \
                 `target`, `model`, `load`, `op`, `slo`, `report`, `workload`, `feeder`, `shards`",
                "p.toml:4: target.url: invalid type: integer `5`, expected a string",
                "p.toml:5: target.connections: invalid type: string \"many\", expected an integer",
                "p.toml:6: targte: unknown field `targte`, expected one of `schema`, `name`, `description`, \
                 `seed`, `target`, `model`, `load`, `op`, `slo`, `report`, `workload`, `feeder`, `shards`",
                "p.toml:10: load.stage[0].rate: invalid type: string \"fast\", expected a number",
            ]
        );
    }

    #[test]
    fn a_key_missing_from_a_table_with_a_typo_is_that_typo() {
        let src = "[target.builtin]\nstall = { every = \"5s\", fro = \"1s\" }\nrate-limit = { rate = 5 }\n";
        let e = errors(src);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("p.toml:2: target.builtin.stall.fro: unknown field `fro`"), "{e:?}");
        assert_eq!(e[1], "p.toml:3: target.builtin.rate-limit.burst: missing field `burst`");
    }

    #[test]
    fn syntax_errors_have_a_line_and_no_key() {
        let e = errors("schema = 1\nname = \"x\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("p.toml:2: "), "{e:?}");
    }
}
