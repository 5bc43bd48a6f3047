//! Seeing failures: a run whose requests all fail says which op and which check failed,
//! how often, and what the service answered (errors.jsonl, index.html, the terminal),
//! with `${env.*}` values masked everywhere.

use std::path::Path;

use crate::env::files;
use crate::runs::serve;
use crate::{einv, stderr, stdout, summary};

/// A wrong path (the built-in target answers 404 `no such route`), a check, and a secret in
/// the path and a header.
const PROFILE: &str = r#"schema = 1
name = "wrong-path"
[target]
url = "builtin"                # the test sends to `einv-load serve` (--target)
connections = 4
request-timeout = "5s"
[load]
[[load.stage]]
kind = "constant"
rate = 40
duration = "1s"
[[op]]
name = "lookup"
path = "/api/v1/no-such-route/${env.E2E_ERR_SECRET}"
headers = { authorization = "Bearer ${env.E2E_ERR_SECRET}" }
check = { status = [200], equals = { "/code" = "0000" } }
"#;

const SECRET: &str = "s3cret-t0ken";

fn errors_jsonl(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("errors.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_run_of_wrong_paths_names_the_op_and_check_and_keeps_the_404_bodies_masked() {
    let (mut server, url) = serve();
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let (out, copy) = (tmp.path().join("report"), tmp.path().join("copy"));
    let (p, o, c) = (profile.to_str().unwrap(), out.to_str().unwrap(), copy.to_str().unwrap());
    let einv_env = || {
        let mut cmd = einv();
        cmd.env("E2E_ERR_SECRET", SECRET);
        cmd
    };
    let args = ["run", p, "--target", &url, "--out", o, "--no-progress", "--error-samples", "3"];
    let ran = einv_env().args(args).output().unwrap();
    let rendered = einv_env().args(["report", o, "--out", c]).output().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(ran.status.code(), Some(3), "no request succeeded: {}{}", stdout(&ran), stderr(&ran));
    assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));

    // summary.json: the op, the check it failed and how often, beside the 404s.
    let s = summary(&out);
    let lookup = &s["ops"]["lookup"];
    assert_eq!(lookup["requests"]["sent"], 40, "{s}");
    assert_eq!(lookup["requests"]["check_failed"], 40, "{s}");
    assert_eq!(lookup["failed_checks"], serde_json::json!({ "status in [200]": 40 }), "{s}");
    assert_eq!(lookup["errors"], serde_json::json!({ "http_4xx": 40 }), "{s}");
    assert_eq!(s["error_samples"], 3);

    // errors.jsonl: the first 3 of the one kind that failed, with what the service said.
    let kept = errors_jsonl(&out);
    assert_eq!(kept.len(), 3, "{kept:?}");
    let mut last = 0.0;
    for e in &kept {
        assert_eq!((&e["op"], &e["class"], &e["status"]), (&"lookup".into(), &"http_4xx".into(), &404.into()), "{e}");
        assert_eq!(e["request"], "GET /api/v1/no-such-route/***", "{e}");
        assert_eq!(e["check"], "status in [200]", "{e}");
        assert_eq!(e["body"], r#"{"code":"E404","msg":"no such route"}"#, "{e}");
        let at = e["at_s"].as_f64().unwrap();
        assert!((last..=s["run"]["duration_s"].as_f64().unwrap()).contains(&at), "in time order, in the run: {e}");
        last = at;
    }

    // The terminal names them too, and shows an answer.
    let text = stdout(&ran);
    assert!(text.contains("failed    lookup: check status in [200] 40, http_4xx 40"), "{text}");
    assert!(
        text.contains(r#"lookup http_4xx at "#) && text.contains(r#"-> 404 {"code":"E404","msg":"no such route"}"#),
        "{text}"
    );

    // index.html shows the table, and a copy made by `report --out` keeps the sample.
    assert_eq!(errors_jsonl(&copy), kept);
    for dir in [&out, &copy] {
        let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(html.contains("Failing exchanges") && html.contains("no such route"), "{}", dir.display());
        assert!(html.contains("<td>lookup</td><td>check status in [200]</td><td>40</td>"), "{}", dir.display());
    }

    // No file of either folder, nor the terminal, shows the secret.
    let mut all = files(&out);
    all.extend(files(&copy));
    assert!(all.len() >= 12, "{:?}", all.iter().map(|(f, _)| f).collect::<Vec<_>>());
    for (what, o) in [("run", &ran), ("report", &rendered)] {
        all.push((format!("{what} stdout"), stdout(o)));
        all.push((format!("{what} stderr"), stderr(o)));
    }
    for (file, text) in &all {
        assert!(!text.contains(SECRET), "{file} shows the secret:\n{text}");
    }
}
