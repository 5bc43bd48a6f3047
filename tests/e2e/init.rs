//! `einv-load init`: a blank profile, one from a curl command and one from a real
//! browser's HAR (tests/fixtures/browser.har, recorded by scripts/record-har.sh) each
//! pass `validate` and run against a `serve` started here on 127.0.0.1; secrets never
//! reach the file; bad input is exit 2 with nothing written.

use std::path::Path;
use std::process::{Command, Output};

use crate::serve::{Served, start};
use crate::{einv, root, stderr, stdout, summary};

/// The secrets the commands below carry; none may be written to a profile.
const SECRETS: [&str; 6] = [
    "hunter2",
    "sekret-token",
    "sekret-key",
    "demo-secret-token-9c1e",
    "demo-api-key-77b0",
    "demo-session-cookie-4f2a",
];

/// Values for the placeholders init writes (what a user exports before a run).
const ENV: [(&str, &str); 4] =
    [("TARGET_TOKEN", "t"), ("TARGET_X_API_KEY", "k"), ("TARGET_COOKIE", "sid=1"), ("TARGET_AUTH", "dTpw")];

fn in_dir(dir: &Path, args: &[&str]) -> Output {
    let mut c = einv();
    c.current_dir(dir).args(args);
    with_env(&mut c).output().unwrap()
}

fn with_env(c: &mut Command) -> &mut Command {
    for (k, v) in ENV {
        c.env(k, v);
    }
    c
}

fn serve() -> (Served, u16) {
    start({
        let mut c = einv();
        c.args(["serve", "--addr", "127.0.0.1:0"]);
        c
    })
}

/// `validate` the profile, then run it for 2 s at 20 requests/s against `port`: every
/// scheduled request is sent and answered 2xx (the verdict may still be an SLO's: a
/// busy machine can miss the p99 limit).
fn validates_and_runs(dir: &Path, file: &str, port: u16) -> serde_json::Value {
    let o = in_dir(dir, &["validate", file]);
    assert_eq!(o.status.code(), Some(0), "validate: {}{}", stdout(&o), stderr(&o));
    let target = format!("http://127.0.0.1:{port}");
    let args =
        ["run", file, "--target", &target, "--rate", "20", "--duration", "2s", "--out", "report", "--no-progress"];
    let o = in_dir(dir, &args);
    assert!(matches!(o.status.code(), Some(0 | 1)), "run: {}{}", stdout(&o), stderr(&o));
    let s = summary(&dir.join("report"));
    let r = &s["overall"]["requests"];
    assert!(r["sent"].as_u64().unwrap() > 0 && r["sent"] == r["scheduled"], "{r}");
    assert_eq!((r["ok"].as_u64(), r["errors"].as_u64()), (r["sent"].as_u64(), Some(0)), "{r}");
    s
}

fn assert_no_secrets(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} written: {text}");
    }
}

#[test]
fn a_blank_profile_validates_runs_and_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let o = in_dir(dir.path(), &["init", "shop", "--url", "http://127.0.0.1:8080/healthz"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("shop.toml")).unwrap();
    assert!(text.contains("schema = 1") && text.contains("[slo]") && text.contains("p99 = "), "{text}");
    assert!(stderr(&o).contains("wrote shop.toml: 1 op against http://127.0.0.1:8080"), "{}", stderr(&o));
    let (_served, port) = serve();
    let s = validates_and_runs(dir.path(), "shop.toml", port);
    assert!(s["ops"]["get_healthz"].is_object(), "{}", s["ops"]);

    let again = in_dir(dir.path(), &["init", "shop", "--rate", "99"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(dir.path().join("shop.toml")).unwrap(), text, "left as it was");
    let forced = in_dir(dir.path(), &["init", "shop", "--rate", "99", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert!(std::fs::read_to_string(dir.path().join("shop.toml")).unwrap().contains("rate = 99"));
}

#[test]
fn a_curl_command_keeps_its_secrets_out_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let curl = "curl -X POST 'http://bob:hunter2@127.0.0.1:9/api/v1/payments/callback?page=1' \\\n \
                -H 'Authorization: Bearer sekret-token' -H 'X-Api-Key: sekret-key' \\\n \
                --json '{\"order_no\":\"A-1\",\"price\":\"$5\"}' --compressed";
    let o = in_dir(dir.path(), &["init", "api", "--from-curl", curl, "--out", "-"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (text, err) = (stdout(&o), stderr(&o));
    assert_no_secrets(&text);
    assert_no_secrets(&err);
    assert!(text.contains("authorization = \"Bearer ${env.TARGET_TOKEN}\""), "{text}");
    assert!(text.contains("url = \"http://127.0.0.1:9\""), "credentials left out of the URL: {text}");
    assert!(text.contains(r#""price":"$$5""#), "a literal $ stays literal: {text}");
    assert!(err.contains("TARGET_TOKEN") && err.contains("TARGET_X_API_KEY"), "{err}");
    assert!(err.contains("left out user:password") && err.contains("--compressed"), "{err}");
    std::fs::write(dir.path().join("api.toml"), &text).unwrap();

    let mut unset = einv();
    unset.current_dir(dir.path()).args(["validate", "api.toml"]).env_remove("TARGET_TOKEN");
    let o = unset.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("TARGET_TOKEN is not set"), "{}", stderr(&o));
    let (_served, port) = serve();
    validates_and_runs(dir.path(), "api.toml", port);
}

#[test]
fn a_real_browser_har_imports_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let har = root().join("tests/fixtures/browser.har");
    let o = in_dir(dir.path(), &["init", "web", "--from-har", &har.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("web.toml")).unwrap();
    let err = stderr(&o);
    assert_no_secrets(&text);
    assert_no_secrets(&err);
    assert!(err.contains("left out 4 of 12 static assets"), "{err}");
    assert!(err.contains("left out requests to http://127.0.0.1:") && err.contains("(1)"), "{err}");
    for var in ["TARGET_TOKEN", "TARGET_X_API_KEY", "TARGET_COOKIE"] {
        assert!(err.contains(var) && text.contains(&format!("${{env.{var}}}")), "{var}: {err}");
    }
    let doc: toml::Table = text.parse().unwrap();
    let ops: Vec<(&str, i64)> = doc["op"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["path"].as_str().unwrap(), o["weight"].as_integer().unwrap()))
        .collect();
    let expected = [
        ("/", 1),
        ("/api/v1/taxpayers/91350100M000100Y43", 3),
        ("/api/v1/taxpayers/91350100M000100Y44", 1),
        ("/api/v1/payments/callback", 2),
    ];
    assert_eq!(ops, expected, "one op per endpoint, weighted by how often the page called it");
    assert!(text.contains(r#"body = '{"order_no":"WEB-0","amount":"113.00","status":"paid"}'"#), "{text}");
    let (_served, port) = serve();
    validates_and_runs(dir.path(), "web.toml", port);
}

#[test]
fn bad_input_is_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let not_har = dir.path().join("x.har");
    std::fs::write(&not_har, "{\"log\": {\"pages\": []}}").unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["init", "x", "--from-curl", "curl --proxy http://p:1 http://h/"], "curl flag --proxy is not supported"),
        (&["init", "x", "--from-curl", "curl 'http://h/"], "open quote"),
        (&["init", "x", "--from-har", "x.har"], "not a HAR file"),
        (&["init", "x", "--from-har", "missing.har"], "missing.har: cannot open"),
        (&["init", "x", "--url", "http://127.0.0.1:70000/"], "65535"),
    ];
    for (args, says) in cases {
        let o = in_dir(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert!(!dir.path().join("x.toml").exists(), "{args:?} wrote a file");
    }
}
