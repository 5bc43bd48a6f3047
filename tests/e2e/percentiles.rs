//! Any percentile: `[slo]` keys such as `p95` and `"p99.99"`, and `[report] percentiles`,
//! reach summary.json, the text summary, summary.md and junit.xml; report folders written
//! before the list existed (p50/p90/p99/p999 only) still load for `report` and `compare`.

use std::path::Path;

use crate::{root, run_in_root, stderr, stdout, summary};

const PROFILE: &str = r#"schema = 1
name = "pct"
seed = 3
[target]
url = "builtin"
[target.builtin]
pool-size = 50
issue-hold = { p50 = "10ms", p99 = "40ms" }
query-hold = "4ms"
[load]
[[load.stage]]
kind = "constant"
rate = 300
duration = "3s"
[[op]]
name = "issue"
method = "POST"
path = "/api/v1/invoices"
body = { generator = "invoice" }
[[op]]
name = "query"
path = "/api/v1/invoices/x"
[slo]
p95 = "1s"
"p99.99" = "2s"
[slo.ops.issue]
p75 = "1s"
[report]
percentiles = [99.99, 50, 95]
"#;

#[test]
fn percentile_keys_and_the_list_reach_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let profile = profile.display().to_string();
    let o = run_in_root(&["validate", &profile]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = tmp.path().join("sim");
    let o = run_in_root(&["simulate", &profile, "--out", &out.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    let s = summary(&out);
    assert_eq!(s["percentiles"], serde_json::json!([50, 95, 99.99]), "listed in order");
    let l = &s["overall"]["latency_ms"];
    let at = |k: &str| l[k].as_f64().unwrap_or_else(|| panic!("no {k} in {l}"));
    assert!(at("p50") <= at("p95") && at("p95") <= at("p99") && at("p99") <= at("p9999"), "{l}");
    assert!(at("p9999") <= at("max") && at("p90") <= at("p95") && at("p999") <= at("p9999"), "{l}");
    assert!(s["ops"]["issue"]["latency_ms"]["p75"].is_number(), "an op's own limit is summarised");
    let checks: Vec<(String, String, bool)> = s["slo"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["scope"].as_str().unwrap().into(), c["name"].as_str().unwrap().into(), c["passed"] == true))
        .collect();
    let want = [("overall", "latency p95"), ("overall", "latency p99.99"), ("issue", "latency p75")];
    for (scope, name) in want {
        assert!(checks.contains(&(scope.into(), name.into(), true)), "{scope} {name} not passed in {checks:?}");
    }

    let text = stdout(&o);
    let header = text.lines().find(|l| l.starts_with("ms ")).unwrap_or_else(|| panic!("no table in {text}"));
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["ms", "p50", "p95", "p99.99", "max"], "{text}");
    assert!(text.contains("latency p95 ") && text.contains("latency p75 (issue) "), "{text}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| p50 ms | p95 ms | p99.99 ms | max ms |"), "{md}");
    assert!(md.contains("| ✅ | latency p95 | overall |"), "{md}");
    let xml = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(xml.contains("name=\"overall: latency p95 (limit 1000.00 ms)\""), "{xml}");
    assert!(xml.contains("name=\"issue: latency p75 (limit 1000.00 ms)\""), "{xml}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<th>p50</th><th>p95</th><th>p99.99</th><th>max</th>"), "the HTML latency table");
}

/// A copy of the data files of the committed example run (written before percentiles
/// were configurable) into `to`.
fn example_copy(to: &Path) -> String {
    std::fs::create_dir(to).unwrap();
    for f in ["summary.json", "timeseries.csv", "histograms.hlog", "pool.csv"] {
        std::fs::copy(root().join("reports/example").join(f), to.join(f)).unwrap();
    }
    to.display().to_string()
}

#[test]
fn older_summaries_still_load_for_report_and_compare() {
    let tmp = tempfile::tempdir().unwrap();
    let old = example_copy(&tmp.path().join("old"));
    let s = summary(Path::new(&old));
    assert!(s.get("percentiles").is_none(), "the example predates [report] percentiles");
    let keys: std::collections::BTreeSet<&str> =
        s["overall"]["latency_ms"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["count", "max", "mean", "p50", "p90", "p99", "p999"].into(), "the older layout");

    let o = run_in_root(&["report", &old]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = std::fs::read_to_string(Path::new(&old).join("summary.md")).unwrap();
    assert!(md.contains("| p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |"), "the default list: {md}");
    assert!(md.contains("| 15.00 | 254.97 | 276.22 | 304.89 | 423.68 |"), "its own figures: {md}");

    // The same run as a newer version would list it: compared both ways, the list's p95
    // (from the histograms) is shown beside the older run's percentiles.
    let new = example_copy(&tmp.path().join("new"));
    let file = Path::new(&new).join("summary.json");
    let mut json = summary(Path::new(&new));
    json["percentiles"] = serde_json::json!([50, 95, 99.99]);
    std::fs::write(&file, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    for (baseline, current, name) in [(&old, &new, "old"), (&new, &old, "new")] {
        let o = run_in_root(&["compare", baseline, current]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        let path = Path::new(current).join(format!("compare-{name}/compare.json"));
        let cmp: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(cmp["verdict"], "no regression", "{cmp}");
        let metrics = cmp["scopes"][0]["metrics"].as_array().unwrap();
        let names: Vec<&str> = metrics.iter().filter_map(|m| m["metric"].as_str()).collect();
        for q in ["latency p50", "latency p90", "latency p95", "latency p99", "latency p99.9", "latency p99.99"] {
            let m = metrics.iter().find(|m| m["metric"] == q).unwrap_or_else(|| panic!("no {q} in {names:?}"));
            assert_eq!(m["baseline"], m["current"], "{q}: the same histograms");
        }
    }
}
