//! `einv-load capacity`: the search against the model (deterministic, so exact bounds) and
//! against the built-in target live (bounds that hold on a busy machine).

use std::path::Path;

use crate::{run_in_root, stderr, stdout};

/// Pool 20 x 20 ms constant holds: 1,000 requests/s; p99 < 100 ms.
const POOL: &str = "schema = 1\nname = \"cap\"\n[target]\nurl = \"builtin\"\nrequest-timeout = \"2s\"\n\
    [target.builtin]\npool-size = 20\nacquire-timeout = \"500ms\"\nissue-hold = \"20ms\"\n\
    [[load.stage]]\nkind = \"constant\"\nrate = 10\nduration = \"1s\"\n\
    [[op]]\nname = \"issue\"\nmethod = \"POST\"\npath = \"/api/v1/invoices\"\nbody = { generator = \"invoice\" }\n[slo]\np99 = \"100ms\"\nerror-rate = 0.01\n";

fn capacity(dir: &Path, profile: &str, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let file = dir.join("p.toml");
    std::fs::write(&file, profile).unwrap();
    let out = dir.join(format!("cap{}", extra.len()));
    let (file, out_arg) = (file.display().to_string(), out.display().to_string());
    let mut args = vec!["capacity", file.as_str(), "--out", out_arg.as_str()];
    args.extend_from_slice(extra);
    let o = run_in_root(&args);
    let json = std::fs::read_to_string(out.join("capacity.json"))
        .map_or(serde_json::Value::Null, |t| serde_json::from_str(&t).unwrap());
    (o, json)
}

fn answer(c: &serde_json::Value) -> f64 {
    c["answer"]["rate_per_s"].as_f64().unwrap_or_else(|| panic!("no answer in {c}"))
}

#[test]
fn the_model_search_answers_just_under_the_pool_capacity_in_few_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (o, c) = capacity(dir.path(), POOL, &["--simulate"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let a = answer(&c);
    assert!((950.0..=1000.0).contains(&a), "answer {a}/s of a 1,000/s pool: {c}");
    let steps = c["steps"].as_array().unwrap();
    assert!(steps.len() <= 8, "{} steps", steps.len());
    assert_eq!(c["answer"]["kind"], "capacity");
    assert_eq!(c["schema"], 1);
    let (lo, hi) = (c["bracket"]["lo_per_s"].as_f64().unwrap(), c["bracket"]["hi_per_s"].as_f64().unwrap());
    assert!(lo == a && hi > a && (hi - lo) / lo <= 0.05, "{}", c["bracket"]);
    // Every step has its own complete report; the boundary fails by the model's use (at
    // 100 % even arrivals and fixed holds keep its queue empty: a knife edge no live
    // service holds), so no limit has failed yet and the one nearest breaks first.
    let out = dir.path().join("cap1");
    for s in steps {
        assert!(out.join(s["folder"].as_str().unwrap()).join("summary.json").exists(), "{s}");
        assert!(s["utilisation"].as_f64().is_some_and(|u| u > 0.9), "{s}");
    }
    let failing: Vec<_> = steps.iter().filter(|s| s["passed"] == false).collect();
    assert!(!failing.is_empty() && failing.iter().all(|s| s["utilisation"].as_f64().unwrap() >= 1.0), "{c}");
    let b = &c["breaks_first"];
    assert_eq!((b["limit"]["name"].as_str(), b["cause"].as_str()), (Some("latency p99"), Some("pool-queue")), "{b}");
    for f in ["index.html", "summary.md", "junit.xml", "capacity.svg"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Sustainable: ") && html.contains("<svg"), "the answer in one sentence, and the chart");
    assert!(stdout(&o).contains("Sustainable: "), "{}", stdout(&o));
    // Far over capacity, a step stops as soon as it is certain to fail.
    let (o, c) = capacity(dir.path(), POOL, &["--simulate", "--min", "1500", "--max", "3000"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(c["answer"]["kind"], "below", "{c}");
    let first = &c["steps"][0];
    assert!(first["passed"] == false && first["early_stop_s"].as_f64().unwrap() < 30.0, "{first}");
}

/// Workers as the bottleneck: 10 workers x (5 ms hold + 5 ms overhead) = 1,000/s, the pool
/// far larger; the 503s of a full worker queue are what breaks first.
#[test]
fn the_model_search_finds_the_workers_capacity_and_the_full_queue() {
    let dir = tempfile::tempdir().unwrap();
    let profile = POOL
        .replace("pool-size = 20", "pool-size = 200\nworkers = 10\nqueue-limit = 20\noverhead = \"5ms\"")
        .replace("issue-hold = \"20ms\"", "issue-hold = \"5ms\"");
    let (o, c) = capacity(dir.path(), &profile, &["--simulate"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let a = answer(&c);
    assert!((950.0..=1000.0).contains(&a), "answer {a}/s: {c}");
    assert!(c["steps"].as_array().unwrap().len() <= 8);
    assert_eq!(c["breaks_first"]["cause"], "worker-queue-full", "{}", c["breaks_first"]);
}

#[test]
fn require_gates_the_exit_code_and_bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (o, c) = capacity(dir.path(), POOL, &["--simulate", "--require", "900"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(c["passed"], true);
    let (o, c) = capacity(dir.path(), POOL, &["--simulate", "--require", "2000", "--step-time", "10s"]);
    assert_eq!(o.status.code(), Some(1), "1,000/s is not 2,000/s: {}", stderr(&o));
    assert_eq!(c["passed"], false);
    let junit = std::fs::read_to_string(dir.path().join("cap5/junit.xml")).unwrap();
    assert!(junit.contains("failures=\"1\"") && junit.contains("capacity at least 2000.0/s"), "{junit}");
    let gated = POOL.replace("[slo]\n", "[slo]\nmin-capacity = 1500\n");
    let (o, c) =
        capacity(dir.path(), &gated, &["--simulate", "--step-time", "5s", "--cool-down", "0s", "--max-steps", "8"]);
    assert_eq!((o.status.code(), c["require_per_s"].as_f64()), (Some(1), Some(1500.0)), "[slo] min-capacity gates too");
    let (o, _) = capacity(dir.path(), POOL, &["--simulate", "--min", "500", "--max", "400"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let no_slo = POOL.split("[slo]").next().unwrap().to_string();
    let (o, _) = capacity(dir.path(), &no_slo, &["--simulate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs [slo] limits"), "{}", stderr(&o));
}

/// Live, against the built-in target: pool 4 x 20 ms = 200/s, short steps. What must hold
/// however busy the machine is: the answer is not above the capacity (a busy machine only
/// makes it lower), the report is complete, and its figures agree with the steps' own
/// reports. How close it comes from below is measured by scripts/capacity-check.sh.
#[test]
fn the_live_search_is_bounded_by_the_true_capacity_and_its_report_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let profile = POOL
        .replace("pool-size = 20", "pool-size = 4")
        .replace("url = \"builtin\"", "url = \"builtin\"\nconnections = 64");
    let args = ["--step-time", "3s", "--cool-down", "500ms", "--max-steps", "6"];
    let (o, c) = capacity(dir.path(), &profile, &args);
    // On a machine busy enough that even the lowest rate tried fails, six steps end with
    // no passing rate: "unknown", exit 3 (seen with both cores loaded). The rest holds.
    let unknown = c["answer"]["kind"] == "unknown";
    assert!(matches!(o.status.code(), Some(0 | 1)) || (unknown && o.status.code() == Some(3)), "{}", stderr(&o));
    assert_eq!(c["simulated"], false);
    let predicted = c["predicted_per_s"].as_f64().expect("the model's answer comes first");
    assert!((190.0..=200.0).contains(&predicted), "{predicted}");
    let steps = c["steps"].as_array().unwrap();
    assert!(!steps.is_empty() && steps.len() <= 6, "{} steps", steps.len());
    let out = dir.path().join(format!("cap{}", args.len()));
    for s in steps {
        let summary = crate::summary(&out.join(s["folder"].as_str().unwrap()));
        let measured = &summary["stages"][1];
        assert_eq!(measured["overall"]["latency_ms"]["p99"], s["p99_ms"], "{s}");
        assert_eq!(summary["slo"]["checks"].as_array().map(Vec::len), Some(2));
        let first_step = steps.iter().position(|t| t["offered_per_s"] == s["offered_per_s"]).unwrap();
        let rate = s["offered_per_s"].as_f64().unwrap();
        assert!((summary["overall"]["rate"]["target_per_s"].as_f64().unwrap() - rate).abs() < 1.0, "step {first_step}");
    }
    if c["answer"]["kind"] == "capacity" {
        let a = answer(&c);
        assert!(a <= 200.0 * 1.05, "answer {a}/s above a 200/s pool: {c}");
        assert_eq!(c["bracket"]["lo_per_s"].as_f64(), Some(a));
    }
    for f in ["index.html", "summary.md", "junit.xml", "capacity.svg", "capacity.json"] {
        assert!(out.join(f).exists(), "{f}");
    }
}
