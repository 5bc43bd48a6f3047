//! The profile's TOML, parsed once with the parser's own spans: the raw structs are
//! deserialized from it, and every problem is located in it by its key path.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A parsed profile: its text and its spanned tables.
#[derive(Debug)]
pub(super) struct Document<'a> {
    src: &'a str,
    root: Spanned<DeTable<'a>>,
}

impl<'a> Document<'a> {
    pub fn parse(src: &'a str) -> Result<Document<'a>, toml::de::Error> {
        Ok(Document { src, root: DeTable::parse(src)? })
    }

    /// A deserializer over the document as it is now.
    pub fn deserializer(&self) -> toml::de::Deserializer<'a> {
        toml::de::Deserializer::from(self.root.clone())
    }

    /// 1-based line of byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        line_of(self.src, offset)
    }

    /// The line of `key` (`load.stage[1].rate`), only if the whole path exists.
    pub fn line_exact(&self, key: &str) -> Option<usize> {
        let (offset, depth) = self.descend(&segments(key));
        (depth == segments(key).len()).then(|| self.line_of(offset))
    }

    /// The line of the deepest part of `key` that exists: a missing key is reported where
    /// the table that lacks it starts (the root table starts at line 1).
    pub fn line(&self, key: &str) -> usize {
        self.line_of(self.descend(&segments(key)).0)
    }

    /// Take `key` out of the document so that deserializing can go on past it. An array
    /// element goes with its whole array: removing one would renumber the rest. False when
    /// there is nothing to remove (the key is missing, or is the root).
    pub fn remove(&mut self, key: &str) -> bool {
        let mut path = segments(key);
        while matches!(path.last(), Some(Seg::Index(_))) {
            path.pop();
        }
        remove_in(self.root.get_mut(), &path)
    }

    /// Follow `path` from the root: (start of the deepest part found, segments matched).
    /// Keys that hold dots (a header `x.y`, a capture name) are matched whole first.
    fn descend(&self, path: &[Seg]) -> (usize, usize) {
        let mut value: &DeValue = &DeValue::Table(DeTable::new());
        let mut table = Some(self.root.get_ref());
        let mut offset = self.root.span().start;
        let mut depth = 0;
        while depth < path.len() {
            let found = match (&path[depth], table) {
                (Seg::Key(_), Some(t)) => longest_key(t, &path[depth..]).and_then(|(key, used)| {
                    let (k, v) = t.get_key_value(key.as_str())?;
                    Some((k.span().start, v.get_ref(), used))
                }),
                (Seg::Index(i), _) => match value {
                    DeValue::Array(a) => a.get(*i).map(|v| (v.span().start, v.get_ref(), 1)),
                    _ => None,
                },
                _ => None,
            };
            let Some((start, next, used)) = found else { break };
            offset = start;
            depth += used;
            value = next;
            table = match next {
                DeValue::Table(t) => Some(t),
                _ => None,
            };
        }
        (offset, depth)
    }
}

fn remove_in(table: &mut DeTable, path: &[Seg]) -> bool {
    let Some((key, used)) = longest_key(table, path) else { return false };
    if used == path.len() {
        return table.remove(key.as_str()).is_some();
    }
    table.get_mut(key.as_str()).is_some_and(|v| remove_below(v.get_mut(), &path[used..]))
}

fn remove_below(value: &mut DeValue, path: &[Seg]) -> bool {
    match (value, path) {
        (DeValue::Array(a), [Seg::Index(i), rest @ ..]) => {
            a.get_mut(*i).is_some_and(|v| remove_below(v.get_mut(), rest))
        }
        (DeValue::Table(t), _) => remove_in(t, path),
        _ => false,
    }
}

/// The key of `t` that matches the most leading key segments of `path` joined by dots,
/// and how many segments it takes.
fn longest_key(t: &DeTable, path: &[Seg]) -> Option<(String, usize)> {
    let keys = path.iter().take_while(|s| matches!(s, Seg::Key(_))).count();
    (1..=keys).rev().find_map(|n| {
        let joined = path[..n].iter().filter_map(Seg::key).collect::<Vec<_>>().join(".");
        t.contains_key(joined.as_str()).then_some((joined, n))
    })
}

/// 1-based line of byte `offset` in `src`.
pub(super) fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

impl Seg {
    fn key(&self) -> Option<&str> {
        match self {
            Seg::Key(k) => Some(k),
            Seg::Index(_) => None,
        }
    }
}

/// `load.stage[1].rate` as segments; `?` (serde_path_to_error's unknown step) and the
/// root's `.` are dropped.
fn segments(key: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in key.split('.').filter(|p| !p.is_empty() && *p != "?") {
        let (name, rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        // A map key is the user's text and may hold brackets (`"a[0]]"`): only a run of
        // well-formed `[N]` after the name is read as indices, else the part is one key.
        match indices(rest) {
            Some(indices) => {
                if !name.is_empty() {
                    out.push(Seg::Key(name.to_string()));
                }
                out.extend(indices.into_iter().map(Seg::Index));
            }
            None => out.push(Seg::Key(part.to_string())),
        }
    }
    out
}

/// `[1][2]` as indices; `None` unless the whole text is such a run (`""` is none).
fn indices(mut rest: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (i, after) = rest.strip_prefix('[')?.split_once(']')?;
        out.push(i.parse().ok()?);
        rest = after;
    }
    Some(out)
}

/// A key path as serde_path_to_error prints it (`load.stage[1].rate`; the root is `.`), in
/// the form profile errors use (`""` for the root).
pub(super) fn key_path(printed: &str) -> String {
    let mut s = String::new();
    for seg in segments(printed) {
        match seg {
            Seg::Key(k) if s.is_empty() => s.push_str(&k),
            Seg::Key(k) => {
                s.push('.');
                s.push_str(&k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "schema = 1\nname = \"x\"\n\n[load]\nmode = \"open\"\n\n[[load.stage]]\nkind = \"constant\"\nrate = 5\n\n[[load.stage]]\nkind = \"ramp\"\nfrom = 1\nto = -3\n\n[[op]]\nname = \"a\"\nheaders = { \"x.trace\" = \"1\" }\n";

    #[test]
    fn finds_keys_in_arrays_of_tables() {
        let doc = Document::parse(SRC).unwrap();
        assert_eq!(doc.line_exact("load.stage[1].to"), Some(14));
        assert_eq!(doc.line_exact("load.stage[0].rate"), Some(9));
        assert_eq!(doc.line_exact("load.mode"), Some(5));
        assert_eq!(doc.line_exact("op[0].headers.x.trace"), Some(18), "a key holding a dot");
        // A missing leaf is reported where its table starts.
        assert_eq!(doc.line_exact("load.stage[1].missing"), None);
        assert_eq!(doc.line("load.stage[1].missing"), 11);
        assert_eq!(doc.line("feeder"), 1, "the root table starts at line 1");
    }

    #[test]
    fn removes_keys_and_whole_arrays() {
        let mut doc = Document::parse(SRC).unwrap();
        assert!(doc.remove("load.stage[1].to"));
        assert!(doc.line_exact("load.stage[1].to").is_none() && doc.line_exact("load.stage[1].from").is_some());
        assert!(!doc.remove("load.stage[1].to"), "already gone");
        assert!(doc.remove("load.stage[0]"));
        assert!(doc.line_exact("load.stage").is_none() && doc.line_exact("load.mode").is_some());
        assert!(!doc.remove(""), "the root stays");
    }

    #[test]
    fn paths_print_as_profile_keys() {
        assert_eq!(key_path("load.stage[1].rate"), "load.stage[1].rate");
        assert_eq!(key_path("."), "");
        assert_eq!(key_path("target.?.url"), "target.url");
        assert_eq!(key_path("op[0].headers.a[0]]"), "op[0].headers.a[0]]", "a key with brackets is its own text");
    }
}
