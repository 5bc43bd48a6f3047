//! `${env.NAME}` in the target URL, op paths, headers, bodies and feeder paths: the run
//! uses the values, and no file of its report, nor its terminal output, shows one.

use std::path::Path;

use crate::runs::serve;
use crate::{einv, stderr, stdout, summary};

const PROFILE: &str = r#"schema = 1
name = "env"
[target]
url = "${env.E2E_TARGET}/${env.E2E_PREFIX}"
connections = 4
request-timeout = "5s"
[load]
[[load.stage]]
kind = "constant"
rate = 50
duration = "1s"
[[op]]
name = "query"
method = "POST"
path = "/nowhere?key=${env.E2E_QUERY}&row=${feeder.rows.value}"
headers = { authorization = "Bearer ${env.E2E_TOKEN}" }
body = "{\"password\": \"${env.E2E_BODY}\"}"
[[feeder]]
name = "rows"
path = "${env.E2E_DATA}/rows.csv"
[slo]
p99 = "2s"
error-rate = 0.5
"#;

/// Every file under `dir`, as text.
pub fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.display().to_string(), String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into()));
        }
    }
    out
}

/// A run whose every request goes to a wrong path (404s): validate, run and a re-render
/// of the report print and write none of the secrets, in any file.
#[test]
fn no_env_value_appears_in_any_report_file_or_on_the_terminal() {
    let (mut server, url) = serve();
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(data.path().join("rows.csv"), "value\none\ntwo\n").unwrap();
    let profile = tmp.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let out = tmp.path().join("report");
    let data_dir = data.path().display().to_string();
    let secrets = [
        ("E2E_TARGET", url.as_str()),
        ("E2E_PREFIX", "pr3fix-secret"),
        ("E2E_QUERY", "qu3ry secret/+"),
        ("E2E_TOKEN", "t0ken-secret"),
        ("E2E_BODY", "b0dy-secret"),
        ("E2E_DATA", data_dir.as_str()),
    ];
    let einv_env = || {
        let mut c = einv();
        c.current_dir(crate::root()).envs(secrets);
        c
    };
    let (p, o) = (profile.to_str().unwrap(), out.to_str().unwrap());
    let validated = einv_env().args(["validate", p]).output().unwrap();
    let ran = einv_env().args(["run", p, "--out", o, "--no-progress"]).output().unwrap();
    let rendered = einv_env().args(["report", o]).output().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(validated.status.code(), Some(0), "{}", stderr(&validated));
    assert_eq!(ran.status.code(), Some(3), "no request succeeded (404s): {}{}", stdout(&ran), stderr(&ran));
    assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));
    let s = summary(&out);
    assert_eq!(s["overall"]["requests"]["sent"], 50, "{s}");
    assert_eq!(s["overall"]["errors"]["http_4xx"], 50, "the requests reached the target: {s}");
    assert!(s["run"]["target"].as_str().unwrap().contains("***"), "{s}");
    // The verdict reads as a user expects: no 0 ms (or 404-only) percentile, a percentage.
    let verdict = stdout(&ran);
    assert!(verdict.contains("FAIL latency p99 not measured: no request succeeded (limit 2000.00 ms)"), "{verdict}");
    assert!(verdict.contains("FAIL error rate 100.00% (limit 50.00%)"), "{verdict}");
    let mut texts = files(&out);
    assert!(texts.len() >= 10, "the report holds its files: {texts:?}");
    for (what, o) in [("validate", &validated), ("run", &ran), ("report", &rendered)] {
        texts.push((format!("{what} stdout"), stdout(o)));
        texts.push((format!("{what} stderr"), stderr(o)));
    }
    for (name, value) in secrets {
        // As a placeholder's value is percent-encoded into a path.
        let encoded = value.replace(' ', "%20").replace('/', "%2F").replace('+', "%2B").replace(':', "%3A");
        for (file, text) in &texts {
            assert!(!text.contains(value) && !text.contains(&encoded), "{file} shows ${{env.{name}}}:\n{text}");
        }
    }
}

/// A variable that is not set is bad input, named with its key and line.
#[test]
fn an_unset_variable_in_the_url_or_a_feeder_path_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let o = einv().current_dir(crate::root()).args(["validate", profile.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(e.contains(":4: target.url") && e.contains("E2E_TARGET is not set"), "{e}");
    assert!(e.contains(":20: feeder[0].path") && e.contains("E2E_DATA is not set"), "{e}");
}
