//! A small YAML emitter for JSON values: Kubernetes manifests a person can read (block
//! style, the profile as a literal block) without a YAML library (serde_yaml is no longer
//! maintained). Any JSON value is written; strings that could read as anything else are
//! double-quoted, in JSON's escapes, which YAML's double-quoted style shares.

use serde_json::Value;

/// `value` as a YAML document (block style), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => list(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        pad(out, indent);
        out.push_str(&string(k));
        out.push(':');
        value(out, v, indent);
    }
}

fn list(out: &mut String, items: &[Value], indent: usize) {
    for v in items {
        // An item that is a block is written one level in, then its first indent becomes
        // the dash: `- name: x` with the rest of its keys under `name`.
        let mut item = String::new();
        match v {
            Value::Object(m) if !m.is_empty() => map(&mut item, m, indent + 2),
            Value::Array(a) if !a.is_empty() => list(&mut item, a, indent + 2),
            other => {
                pad(&mut item, indent + 2);
                item.push_str(&scalar_or_block(other, indent + 2));
            }
        }
        pad(out, indent);
        out.push_str("- ");
        out.push_str(&item[indent + 2..]);
        if !item.ends_with('\n') {
            out.push('\n');
        }
    }
}

/// A map's value after its `key:`.
fn value(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            list(out, a, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar_or_block(other, indent + 2));
        }
    }
}

/// A scalar, or a multi-line string as a literal block indented by `indent`; ends with a
/// newline.
fn scalar_or_block(v: &Value, indent: usize) -> String {
    let Value::String(s) = v else { return format!("{}\n", scalar(v)) };
    // A literal block keeps every character but trailing spaces and tabs and carriage
    // returns (which block indentation would lose or change): those go quoted.
    let literal = s.contains('\n')
        && !s.contains(['\r', '\t'])
        && !s.lines().any(|l| l.ends_with(' '))
        && s.chars().all(|c| c == '\n' || !c.is_control());
    if !literal {
        return format!("{}\n", string(s));
    }
    // `|` keeps one final newline, `|-` none, `|+` all of them.
    let chomp = match s.strip_suffix('\n') {
        None => "-",
        Some(rest) if rest.ends_with('\n') => "+",
        Some(_) => "",
    };
    // A first line that starts with a space would set the block's indentation itself.
    let indicator = if s.starts_with(' ') { "2" } else { "" };
    let mut out = format!("|{indicator}{chomp}\n");
    for line in s.split_inclusive('\n') {
        if line != "\n" {
            pad(&mut out, indent);
        }
        out.push_str(line);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string plain when it can only read as that string, else double-quoted.
fn string(s: &str) -> String {
    let safe_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c));
    let first_ok = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '_');
    // Words YAML 1.1 (PyYAML, older kubectl) reads as booleans or null.
    let word = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"].contains(&s.to_ascii_lowercase().as_str());
    if safe_chars && first_ok && !word { s.to_string() } else { serde_json::to_string(s).unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Maps, lists of maps, lists of scalars, empty ones, quoted look-alikes and a
    /// profile as a literal block, as kubectl's own YAML has them.
    #[test]
    fn a_manifest_reads_as_block_yaml() {
        let doc = json!({
            "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "einv-load"}},
            "data": {"p.toml": "name = \"x\"\n[load]\n  rate = 5\n"},
            "spec": {
                "args": ["run", "--shard", "auto", "1", "yes", "a b"],
                "containers": [{"name": "c", "env": [{"name": "EINV_SHARDS", "value": "3"}]}],
                "empty": {}, "none": [], "n": 3, "t": true, "z": null, "tail": "a\nb"
            }
        });
        // Keys come sorted (serde_json's map), as `kubectl get -o yaml` sorts them.
        let expected = "\
data:
  p.toml: |
    name = \"x\"
    [load]
      rate = 5
kind: ConfigMap
metadata:
  labels:
    app.kubernetes.io/name: einv-load
  name: x
spec:
  args:
    - run
    - \"--shard\"
    - auto
    - \"1\"
    - \"yes\"
    - \"a b\"
  containers:
    - env:
        - name: EINV_SHARDS
          value: \"3\"
      name: c
  empty: {}
  \"n\": 3
  none: []
  t: true
  tail: |-
    a
    b
  z: null
";
        assert_eq!(to_yaml(&doc), expected);
    }

    #[test]
    fn strings_a_literal_block_would_change_are_quoted() {
        assert_eq!(to_yaml(&json!({"a": "x \ny"})), "a: \"x \\ny\"\n");
        assert_eq!(to_yaml(&json!({"a": "x\r\ny"})), "a: \"x\\r\\ny\"\n");
        assert_eq!(to_yaml(&json!({"a": " x\ny\n\n"})), "a: |2+\n   x\n  y\n\n");
        assert_eq!(to_yaml(&json!({"a": "-x", "b": "1.5", "c": "#"})), "a: \"-x\"\nb: \"1.5\"\nc: \"#\"\n");
    }
}
