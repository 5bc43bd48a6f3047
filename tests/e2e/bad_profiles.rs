//! Bad input: every profile in tests/bad-profiles/ and every bad flag must exit 2 with a
//! message a user can act on (file, line, key path), never panic, and write nothing.
//!
//! Each corpus file holds exactly one problem and says where, in its first lines:
//! `# expect-key: load.stage[0].rate` (empty for syntax errors) and `# expect-line: 16`.

use std::process::Output;

use crate::{root, run_in_root, stderr};

const CORPUS: &str = "tests/bad-profiles";

/// Where a corpus file says its one problem is.
#[derive(Debug)]
struct Expect {
    key: String,
    line: usize,
}

fn expectation(text: &str) -> Result<Expect, String> {
    let header = |name: &str| {
        let prefix = format!("# expect-{name}:");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).map(str::trim).ok_or(format!("no `{prefix}` line"))
    };
    let key = header("key")?.to_string();
    let line = header("line")?;
    let line = line.parse().map_err(|_| format!("`# expect-line: {line}` is not a line number"))?;
    Ok(Expect { key, line })
}

/// The corpus, as paths relative to the repository root (how a user would type them).
fn corpus() -> Vec<String> {
    let dir = root().join(CORPUS);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .map(|name| format!("{CORPUS}/{name}"))
        .collect();
    files.sort();
    files
}

/// What is wrong with how one command reacted to a bad profile (empty: all good).
fn problems(o: &Output, file: &str, expect: &Expect) -> Vec<String> {
    let err = stderr(o);
    let mut out = Vec::new();
    if o.status.code() != Some(2) {
        out.push(format!("exit code {:?}, want 2", o.status.code()));
    }
    // "stack backtrace" is what a panic prints instead when RUST_BACKTRACE is set.
    if ["panicked", "RUST_BACKTRACE", "stack backtrace"].iter().any(|p| err.contains(p)) {
        out.push("panicked".into());
    }
    let located = format!("{file}:{}:", expect.line);
    let wanted = if expect.key.is_empty() { located } else { format!("{located} {}:", expect.key) };
    if !err.contains(&wanted) {
        out.push(format!("stderr lacks `{wanted}`"));
    }
    // One problem in the file, so one located line: a second one is a duplicate or a knock-on.
    let reported = err.lines().filter(|l| l.trim_start_matches("error: ").starts_with(&format!("{file}:"))).count();
    if reported != 1 {
        out.push(format!("{reported} problems reported, want 1"));
    }
    if !out.is_empty() {
        out.push(format!("stderr was:\n{}", indent(&err)));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("        {l}\n")).collect()
}

/// Run `validate` and `run` on one corpus file; every failure, prefixed with the file.
fn check(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let expect = match expectation(&text) {
        Ok(e) => e,
        Err(message) => return vec![format!("{file}: {message}")],
    };
    let mut failures: Vec<String> = problems(&run_in_root(&["validate", file]), file, &expect)
        .into_iter()
        .map(|p| format!("{file} (validate): {p}"))
        .collect();
    let tmp = tempfile::tempdir().expect("a temp dir");
    let out = tmp.path().join("report");
    let out_arg = out.to_str().expect("a UTF-8 temp path");
    let run = run_in_root(&["run", file, "--out", out_arg, "--no-progress"]);
    failures.extend(problems(&run, file, &expect).into_iter().map(|p| format!("{file} (run): {p}")));
    if out.exists() {
        failures.push(format!("{file} (run): created --out {} on bad input", out.display()));
    }
    failures
}

#[test]
fn every_bad_profile_exits_2_naming_file_line_and_key() {
    let files = corpus();
    assert!(files.len() >= 15, "{CORPUS}/ holds only {} profiles; the corpus should cover at least 15", files.len());
    let mut failures = Vec::new();
    let mut broken = 0;
    for file in &files {
        let f = check(file);
        broken += usize::from(!f.is_empty());
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{broken} of {} bad profiles misbehaved:\n{}", files.len(), failures.join("\n"));
}

/// `run profiles/smoke.toml <flags> --out <missing dir>`: must fail before anything runs.
fn run_smoke_with(flags: &[&str]) -> (Output, bool) {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let out = tmp.path().join("report");
    let mut args = vec!["run", "profiles/smoke.toml", "--no-progress", "--out", out.to_str().expect("UTF-8")];
    args.extend(flags);
    let o = run_in_root(&args);
    (o, out.exists())
}

#[test]
fn bad_flag_values_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["--rate=-5"], "--rate"),
        (&["--rate", "0"], "--rate"),
        (&["--shard", "3/2"], "--shard"),
        (&["--shard", "1"], "--shard"),
        (&["--duration", "10parsecs"], "--duration"),
        (&["--duration", "0s"], "--duration"),
        (&["--connections", "0"], "--connections"),
        (&["--target", "ftp://127.0.0.1:9"], "--target"),
        (&["--target", "https://"], "--target"),
    ];
    let mut failures = Vec::new();
    for (flags, flag) in cases {
        let (o, wrote) = run_smoke_with(flags);
        let err = stderr(&o);
        let mut fail = |what: String| failures.push(format!("{}: {what}\n{}", flags.join(" "), indent(&err)));
        if o.status.code() != Some(2) {
            fail(format!("exit code {:?}, want 2", o.status.code()));
        }
        if !err.contains(flag) {
            fail(format!("stderr does not name {flag}"));
        }
        if err.contains("panicked") || err.contains("stack backtrace") {
            fail("panicked".into());
        }
        if wrote {
            fail("created the --out folder".into());
        }
    }
    assert!(failures.is_empty(), "{} bad flag values misbehaved:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn negative_rate_after_a_space_names_the_flag() {
    let (o, wrote) = run_smoke_with(&["--rate", "-5"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--rate"), "{err}");
    assert!(!wrote);
}

#[test]
fn out_folder_holding_a_report_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let kept = dir.path().join("summary.json");
    std::fs::write(&kept, "{\"earlier\": true}").expect("write a file into the temp dir");
    let out_arg = dir.path().to_str().expect("a UTF-8 temp path");
    let o = run_in_root(&["run", "profiles/smoke.toml", "--no-progress", "--out", out_arg]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("already holds a report") && err.contains(out_arg),
        "the message names the folder and why: {err}"
    );
    assert_eq!(std::fs::read_to_string(&kept).expect("the file is still there"), "{\"earlier\": true}");
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("readable").collect();
    assert_eq!(entries.len(), 1, "nothing else was written into {}", dir.path().display());
}

/// A new user's first profile: one misspelt key, one value of the wrong type, one table
/// that does not exist and two values out of range. All five come out of one `validate`
/// (and one `run`), each with its file, line and key path, in file order.
const FIVE_MISTAKES: &str = r#"schema = 1
name = "five-mistakes"

[target]
url = "builtin"
conections = 8
request-timeout = "0s"

[load]
[[load.stage]]
kind = "constant"
rate = "fast"
duration = "10s"

[[op]]
name = "issue"
method = "POST"
path = "/api/v1/invoices"
weight = -1

[metrics]
p99 = "200ms"
"#;

#[test]
fn every_mistake_of_a_profile_is_reported_in_one_run() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("first.toml");
    std::fs::write(&file, FIVE_MISTAKES).expect("write the profile");
    let file = file.to_str().expect("a UTF-8 temp path").to_string();
    let want = [
        (6, "target.conections", "unknown field `conections`"),
        (7, "target.request-timeout", "must be longer than 0s"),
        (12, "load.stage[0].rate", "invalid type: string \"fast\", expected a number"),
        (19, "op[0].weight", "must be a whole number from 0 to 4294967295, got -1"),
        (21, "metrics", "unknown field `metrics`"),
    ];
    let out = dir.path().join("report");
    let out_arg = out.to_str().expect("a UTF-8 temp path");
    for args in [vec!["validate", file.as_str()], vec!["run", file.as_str(), "--out", out_arg, "--no-progress"]] {
        let o = run_in_root(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        let located: Vec<&str> =
            err.lines().map(|l| l.trim_start_matches("error: ")).filter(|l| l.starts_with(&file)).collect();
        assert_eq!(located.len(), want.len(), "{args:?}: one line per mistake:\n{err}");
        for (line, (at, key, says)) in located.iter().zip(want) {
            let prefix = format!("{file}:{at}: {key}: ");
            assert!(line.starts_with(&prefix) && line.contains(says), "{args:?}: want `{prefix}{says}`, got `{line}`");
        }
        assert!(!out.exists(), "{args:?} wrote {} on bad input", out.display());
    }
}
