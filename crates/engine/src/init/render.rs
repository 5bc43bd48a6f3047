//! A [`Draft`] as profile text: the format people write by hand, every key with a comment
//! saying why it is there and what to change, values quoted by the toml crate.

use std::fmt::Write;

use super::{Draft, DraftOp};

/// Comments start in this column, as in profiles/*.toml.
const COMMENT_COLUMN: usize = 28;

/// The profile text of `d`.
pub(super) fn profile(d: &Draft) -> String {
    let mut s = String::new();
    header(&mut s, d);
    let duration = humantime::format_duration(d.duration).to_string();
    line(&mut s, "schema = 1", "the profile format's version");
    line(&mut s, &format!("name = {}", quote(&d.name)), "names the report folders: reports/NAME-<utc-stamp>/");
    line(&mut s, "seed = 1", "the same seed gives the same schedule: runs are reproducible");
    s.push_str("\n[target]\n");
    line(&mut s, &format!("url = {}", quote(&d.url)), "your service; each op's path is appended");
    line(&mut s, "connections = 16", "most connections open at once, opened on demand");
    line(&mut s, "request-timeout = \"5s\"", "a slower answer counts as an error of class \"timeout\"");
    if d.insecure {
        line(&mut s, "tls-insecure = true", "curl -k: certificates are not checked (test rigs only)");
    }
    s.push_str("\n[load]\n");
    line(&mut s, "mode = \"open\"", "open loop: requests follow the schedule, never the answers");
    line(&mut s, "arrivals = \"poisson\"", "random gaps around the rate, as independent users send");
    s.push('\n');
    line(&mut s, "[[load.stage]]", "start small; raise the rate (or add a ramp) once it passes");
    line(&mut s, "kind = \"constant\"", "");
    line(&mut s, &format!("rate = {}", number(d.rate)), "requests/s");
    line(&mut s, &format!("duration = {}", quote(&duration)), "");
    let total: u64 = d.ops.iter().map(|o| u64::from(o.weight)).sum();
    for op in &d.ops {
        s.push('\n');
        op_table(&mut s, op, total);
    }
    s.push('\n');
    line(&mut s, "[slo]", "the run fails (exit 1) when a limit is missed");
    line(&mut s, "p99 = \"500ms\"", "99 % of requests answered within this, from their intended send");
    line(&mut s, "error-rate = 0.01", "at most 1 % errors (4xx/5xx, timeouts, refused connections)");
    s
}

fn header(s: &mut String, d: &Draft) {
    let _ = writeln!(s, "# {} — written by `einv-load init` from {}.", d.name, d.source);
    s.push_str("# The same format as hand-written profiles (README \"Profiles\"): edit anything.\n#\n");
    let file = format!("{}.toml", d.name);
    let _ = writeln!(s, "#   einv-load validate {file}   # check it; sends nothing");
    let _ = writeln!(
        s,
        "#   einv-load run {file}        # {} s at {} requests/s",
        d.duration.as_secs_f64(),
        number(d.rate)
    );
    if !d.env.is_empty() {
        s.push_str("#\n# Secrets were taken out of the captured requests; set these before a run:\n");
        for v in &d.env {
            let _ = writeln!(s, "#   {:<22} {}", v.name, v.holds);
        }
    }
    if !d.notes.is_empty() {
        s.push_str("#\n# From the import:\n");
        for n in &d.notes {
            let _ = writeln!(s, "#   - {n}");
        }
    }
}

fn op_table(s: &mut String, op: &DraftOp, total: u64) {
    let why = if total > u64::from(op.weight) {
        format!("{} of {total} captured requests", op.weight)
    } else {
        "the request to send; add an [[op]] per endpoint".to_string()
    };
    line(s, "[[op]]", &why);
    line(s, &format!("name = {}", quote(&op.name)), "names it in the report");
    line(s, &format!("weight = {}", op.weight), "its share of the mix, against the other ops' weights");
    line(s, &format!("method = {}", quote(&op.method)), "");
    line(s, &format!("path = {}", quote(&op.path)), "appended to target.url; $$ is a literal $");
    if let Some(body) = &op.body {
        line(s, &format!("body = {}", quote(body)), "");
    }
    if !op.headers.is_empty() {
        // A table of its own, not an inline one: browsers send a dozen headers.
        line(s, "[op.headers]", "sent with every request of this op");
        for (name, value) in &op.headers {
            let _ = writeln!(s, "{} = {}", key(name), quote(value));
        }
    }
}

/// `text`, padded to the comment column, then `# comment` (nothing for an empty one).
fn line(s: &mut String, text: &str, comment: &str) {
    if comment.is_empty() {
        let _ = writeln!(s, "{text}");
    } else {
        let _ = writeln!(s, "{text:<w$} # {comment}", w = COMMENT_COLUMN - 1);
    }
}

fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A bare key when TOML allows one, else quoted.
fn key(name: &str) -> String {
    let bare = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare { name.to_string() } else { quote(name) }
}

/// 10 -> "10", 2.5 -> "2.5".
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::init::EnvVar;
    use crate::profile::Plan;

    fn draft(ops: Vec<DraftOp>) -> Draft {
        Draft {
            name: "shop".into(),
            source: "a test".into(),
            url: "http://127.0.0.1:8080".into(),
            insecure: false,
            rate: 2.5,
            duration: Duration::from_secs(90),
            ops,
            env: vec![EnvVar { name: "TARGET_TOKEN".into(), holds: "a token".into() }],
            notes: vec!["left out 3 images".into()],
        }
    }

    #[test]
    fn quoting_survives_any_captured_text() {
        let op = DraftOp {
            name: "post_x".into(),
            weight: 3,
            method: "POST".into(),
            path: "/x?q=\"a b\"".into(),
            headers: vec![("x-odd".into(), "it's \"quoted\" \\ and \u{e9}".into()), ("weird key".into(), "v".into())],
            body: Some("{\n  \"multi\": \"line\\n'''\"\n}".into()),
        };
        let text = profile(&draft(vec![op.clone()]));
        let doc: toml::Table = text.parse().unwrap();
        let parsed = &doc["op"][0];
        assert_eq!(parsed["path"].as_str(), Some(op.path.as_str()));
        assert_eq!(parsed["body"].as_str(), op.body.as_deref());
        assert_eq!(parsed["headers"]["x-odd"].as_str(), Some(op.headers[0].1.as_str()));
        assert_eq!(parsed["headers"]["weird key"].as_str(), Some("v"));
        assert!(text.contains("#   TARGET_TOKEN") && text.contains("#   - left out 3 images"), "{text}");
        assert!(text.contains("rate = 2.5") && text.contains("duration = \"1m 30s\""), "{text}");
    }

    #[test]
    fn ops_with_headers_validate() {
        let op = |name: &str, headers: Vec<(String, String)>| DraftOp {
            name: name.into(),
            weight: 1,
            method: "GET".into(),
            path: "/a".into(),
            headers,
            body: None,
        };
        let d = draft(vec![op("a", vec![("accept".into(), "*/*".into())]), op("b", vec![])]);
        let plan = Plan::parse(&profile(&d), Path::new("shop.toml")).unwrap();
        assert_eq!(plan.ops.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(plan.ops[0].headers.len(), 1);
    }
}
