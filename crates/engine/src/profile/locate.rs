//! Find where a key path sits in the TOML source, so every error can name a line.

use toml_edit::{Document, Item, Table, TableLike, Value};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Render a path as `load.stage[1].rate`.
pub fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if s.is_empty() => s.push_str(k),
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Parse a path as printed by serde_path_to_error (`load.stage[1].rate`).
pub fn parse_path(s: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in s.split('.').filter(|p| !p.is_empty() && *p != "?") {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Seg::Key(rest[..open].to_string()));
            }
            rest = &rest[open..];
            while let Some(close) = rest.find(']') {
                // `get`: a map key may hold a stray `]` (`a[0]]`), leaving no index between.
                if let Some(Ok(i)) = rest.get(1..close).map(str::parse) {
                    out.push(Seg::Index(i));
                }
                rest = &rest[close + 1..];
            }
        } else {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

/// serde_path_to_error's path as segments, taken from its parts rather than its printed
/// form: a map key (a header name, an op in `[slo.ops]`) may hold `.`, `[` or `]`, which a
/// printed path cannot tell from the path's own structure.
pub fn serde_path(path: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    let seg = |s: &Segment| match s {
        Segment::Seq { index } => Some(Seg::Index(*index)),
        Segment::Map { key } => Some(Seg::Key(key.clone())),
        Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
        Segment::Unknown => None,
    };
    path.iter().filter_map(seg).collect()
}

/// 1-based line of byte `offset` in `src`.
pub fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The line of `path` in `src`, only if the whole path exists.
pub fn locate_exact(src: &str, path: &[Seg]) -> Option<usize> {
    let doc = Document::parse(src).ok()?;
    let (_, line, depth) = descend(src, &doc, path);
    if depth == path.len() { line } else { None }
}

/// The line of the deepest part of `path` that exists in `src`. When not even the first
/// key is there (a missing `[[op]]`), the root table, which starts at line 1, is that part.
pub fn locate(src: &str, path: &[Seg]) -> Option<usize> {
    let doc = Document::parse(src).ok()?;
    Some(descend(src, &doc, path).1.unwrap_or(1))
}

/// Keys of the table at `path` whose value appears in `message` quoted the way serde quotes
/// a bad value (`string "fast"`, ``integer `5` ``). serde buffers internally tagged enums
/// (stages), so their errors lose the field name; the value can still point at it.
pub fn fields_quoted_in(src: &str, path: &[Seg], message: &str) -> Vec<String> {
    let Ok(doc) = Document::parse(src) else { return Vec::new() };
    let (node, _, depth) = descend(src, &doc, path);
    let Some(table) = node.table_like().filter(|_| depth == path.len()) else { return Vec::new() };
    let quoted = |item: &Item| item.as_value().and_then(serde_quote).is_some_and(|q| message.contains(&q));
    table.iter().filter(|(_, item)| quoted(item)).map(|(k, _)| k.to_string()).collect()
}

/// How serde's `Unexpected` (and our duration error) print a value; floats are left out
/// because serde prints `5.0` where Rust prints `5`.
fn serde_quote(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(format!("{:?}", s.value())),
        Value::Integer(i) => Some(format!("`{}`", i.value())),
        Value::Boolean(b) => Some(format!("`{}`", b.value())),
        _ => None,
    }
}

/// Follow `path` from the root: (deepest node reached, its line if known, segments matched).
fn descend<'a>(src: &str, doc: &'a Document<&str>, path: &[Seg]) -> (Node<'a>, Option<usize>, usize) {
    let mut node = Node::Table(doc.as_table());
    let mut found = None;
    let mut depth = 0;
    for seg in path {
        let (span, next) = match (seg, node) {
            (Seg::Key(k), n) => {
                let Some((key, item)) = n.table_like().and_then(|t| t.get_key_value(k)) else { break };
                (key.span(), Node::Item(item))
            }
            (Seg::Index(i), Node::Item(Item::ArrayOfTables(a))) => match a.get(*i) {
                Some(t) => (t.span(), Node::Table(t)),
                None => break,
            },
            (Seg::Index(i), n) => match n.value().and_then(Value::as_array).and_then(|a| a.get(*i)) {
                Some(v) => (v.span(), Node::Value(v)),
                None => break,
            },
        };
        found = span.map(|s| s.start).or(found);
        depth += 1;
        node = next;
    }
    (node, found.map(|offset| line_of(src, offset)), depth)
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Item(&'a Item),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn table_like(self) -> Option<&'a dyn TableLike> {
        match self {
            Node::Table(t) => Some(t),
            Node::Item(i) => i.as_table_like(),
            Node::Value(v) => v.as_inline_table().map(|t| t as &dyn TableLike),
        }
    }

    fn value(self) -> Option<&'a Value> {
        match self {
            Node::Item(i) => i.as_value(),
            Node::Value(v) => Some(v),
            Node::Table(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "schema = 1\nname = \"x\"\n\n[load]\nmode = \"open\"\n\n[[load.stage]]\nkind = \"constant\"\nrate = 5\n\n[[load.stage]]\nkind = \"ramp\"\nfrom = 1\nto = -3\n";

    #[test]
    fn finds_keys_in_arrays_of_tables() {
        assert_eq!(locate(SRC, &parse_path("load.stage[1].to")), Some(14));
        assert_eq!(locate(SRC, &parse_path("load.stage[0].rate")), Some(9));
        assert_eq!(locate(SRC, &parse_path("load.mode")), Some(5));
        // A missing leaf falls back to its deepest existing parent.
        assert_eq!(locate(SRC, &parse_path("load.stage[1].missing")), Some(11));
    }

    #[test]
    fn a_missing_top_level_key_falls_back_to_line_1() {
        assert_eq!(locate(SRC, &parse_path("op")), Some(1));
        assert_eq!(locate_exact(SRC, &parse_path("op")), None);
    }

    #[test]
    fn finds_a_field_by_its_quoted_value() {
        let stage = parse_path("load.stage[1]");
        let message = "invalid type: integer `-3`, expected a duration";
        assert_eq!(fields_quoted_in(SRC, &stage, message), vec!["to"]);
        assert_eq!(fields_quoted_in(SRC, &stage, "invalid type: string \"ramp\", expected f64"), vec!["kind"]);
        assert!(fields_quoted_in(SRC, &stage, "invalid type: integer `7`").is_empty());
    }

    /// Map keys (headers, extract, slo.ops) are the user's text, so a path can hold `]`
    /// anywhere: `a[0]]` panicked slicing `rest[1..0]`.
    #[test]
    fn stray_brackets_in_keys_are_no_panic() {
        let key = |k: &str| Seg::Key(k.into());
        assert_eq!(
            parse_path("op[0].headers.a[0]]"),
            [key("op"), Seg::Index(0), key("headers"), key("a"), Seg::Index(0)]
        );
        assert_eq!(parse_path("a]b[é]][1]]"), [key("a]b"), Seg::Index(1)]);
        assert_eq!(parse_path("[[]]"), []);
    }

    #[test]
    fn paths_round_trip() {
        let p = parse_path("load.stage[1].rate");
        assert_eq!(p, vec![Seg::Key("load".into()), Seg::Key("stage".into()), Seg::Index(1), Seg::Key("rate".into())]);
        assert_eq!(path_string(&p), "load.stage[1].rate");
    }
}
