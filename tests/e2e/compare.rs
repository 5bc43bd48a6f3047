//! `einv-load compare`: an unchanged rerun passes, and so does a rerun with another seed
//! (a shift within the runs' noise); a 20 % slower tail fails, a starved generator is
//! inconclusive (4), bad input is 2.

use std::path::Path;
use std::time::{Duration, SystemTime};

use einv_report::{HlogWriter, new_histogram, read_interval_log};

use crate::{run_in_root, stderr, stdout};

const PROFILE: &str = r#"schema = 1
name = "cmp"
seed = 5
[target]
url = "builtin"
[target.builtin]
pool-size = 100
issue-hold = { p50 = "15ms", p99 = "60ms" }
query-hold = "5ms"
[load]
arrivals = "poisson"
[[load.stage]]
kind = "constant"
rate = 800
duration = "10s"
[[op]]
name = "issue"
method = "POST"
path = "/api/v1/invoices"
body = { generator = "invoice" }
[[op]]
name = "query"
path = "/api/v1/invoices/x"
"#;

fn simulate(dir: &Path, name: &str) -> String {
    simulate_with(dir, name, &[])
}

fn simulate_with(dir: &Path, name: &str, flags: &[&str]) -> String {
    let out = dir.join(name).display().to_string();
    let profile = dir.join("p.toml").display().to_string();
    let o = run_in_root(&[&["simulate", &profile, "--out", &out], flags].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    out
}

fn compare_json(current: &str, baseline: &str) -> serde_json::Value {
    let path = Path::new(current).join(format!("compare-{baseline}/compare.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A copy of report folder `from` whose every histogram value is `factor` times larger.
fn scaled_copy(from: &Path, to: &Path, factor: f64) {
    std::fs::create_dir(to).unwrap();
    for f in ["summary.json", "timeseries.csv"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    let log = read_interval_log(&from.join("histograms.hlog")).unwrap();
    let start = SystemTime::UNIX_EPOCH + log.start_time.unwrap_or(Duration::ZERO);
    let mut w = HlogWriter::create(&to.join("histograms.hlog"), start, "scaled copy").unwrap();
    for e in &log.entries {
        let mut h = new_histogram();
        for v in e.histogram.iter_recorded() {
            h.record_n((v.value_iterated_to() as f64 * factor) as u64, v.count_at_value()).unwrap();
        }
        w.write(&h, e.start, e.length, e.tag.as_deref()).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn an_unchanged_rerun_passes_and_a_twenty_percent_slower_tail_fails() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.toml"), PROFILE).unwrap();
    let (base, rerun) = (simulate(tmp.path(), "base"), simulate(tmp.path(), "rerun"));

    let o = run_in_root(&["compare", &base, &rerun]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("no regression"), "{}", stdout(&o));
    let folder = Path::new(&rerun).join("compare-base");
    for f in [
        "compare.json",
        "compare.md",
        "compare.html",
        "overlay-spectrum.svg",
        "overlay-spectrum-issue.svg",
        "overlay-timeline.svg",
    ] {
        assert!(folder.join(f).is_file(), "{f} missing");
    }
    let again = run_in_root(&["compare", &base, &rerun]);
    assert_eq!(again.status.code(), Some(2), "a comparison is never overwritten");
    assert!(stderr(&again).contains("already holds a comparison"), "{}", stderr(&again));

    let slow = tmp.path().join("slow");
    scaled_copy(Path::new(&base), &slow, 1.2);
    let slow = slow.display().to_string();
    let o = run_in_root(&["compare", &base, &slow]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(&slow).join("compare-base/compare.json")).unwrap()).unwrap();
    assert_eq!(json["regression"], true);
    let regressions = json["regressions"].to_string();
    assert!(regressions.contains("overall latency p99:"), "{regressions}");
    assert!(stdout(&o).contains("REGRESSION"), "{}", stdout(&o));
    let md = std::fs::read_to_string(Path::new(&slow).join("compare-base/compare.md")).unwrap();
    assert!(md.starts_with("## ❌ einv-load compare: REGRESSION"), "{md}");

    // 20 % is within a 25 % threshold.
    let out = tmp.path().join("lenient").display().to_string();
    let o = run_in_root(&["compare", &base, &slow, "--max-regression", "25%", "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// Another seed is another sample of the same service: its percentiles differ by chance,
/// and each judged one's shift is within its standard error. A service 20 % slower (its
/// holds, at the same seed) is caught, and its p99 shift is significant.
#[test]
fn another_seed_is_noise_and_a_twenty_percent_slower_service_is_a_regression() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.toml"), PROFILE).unwrap();
    let base = simulate(tmp.path(), "base");
    for seed in ["6", "7", "8"] {
        let rerun = simulate_with(tmp.path(), &format!("seed{seed}"), &["--seed", seed]);
        let o = run_in_root(&["compare", &base, &rerun]);
        assert_eq!(o.status.code(), Some(0), "seed {seed}: {}{}", stdout(&o), stderr(&o));
        let json = compare_json(&rerun, "base");
        assert_eq!((json["verdict"].as_str(), &json["regression"]), (Some("no regression"), &false.into()));
        assert!(json["test"].as_str().unwrap().contains("batch means"), "{}", json["test"]);
    }

    let slower = PROFILE.replace(r#"{ p50 = "15ms", p99 = "60ms" }"#, r#"{ p50 = "18ms", p99 = "72ms" }"#);
    std::fs::write(tmp.path().join("p.toml"), slower.replace(r#""5ms""#, r#""6ms""#)).unwrap();
    let slow = simulate(tmp.path(), "slow");
    let o = run_in_root(&["compare", &base, &slow]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let json = compare_json(&slow, "base");
    assert_eq!(json["verdict"], "regression");
    let overall = &json["scopes"][0]["metrics"];
    let p99 = overall.as_array().unwrap().iter().find(|m| m["metric"] == "latency p99").unwrap();
    assert_eq!((&p99["regression"], p99["significance"]["significant"].as_bool()), (&true.into(), Some(true)));
}

/// A side whose generator fell behind with free connections is no verdict on the build:
/// exit 4, whatever its figures say.
#[test]
fn a_starved_generator_makes_the_comparison_inconclusive() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.toml"), PROFILE).unwrap();
    let base = simulate(tmp.path(), "base");
    let starved = tmp.path().join("starved");
    scaled_copy(Path::new(&base), &starved, 1.2);
    let summary = starved.join("summary.json");
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    json["overall"]["send_lag_ms"]["p99"] = 40.0.into();
    std::fs::write(&summary, serde_json::to_vec(&json).unwrap()).unwrap();
    let starved = starved.display().to_string();

    let o = run_in_root(&["compare", &base, &starved]);
    assert_eq!(o.status.code(), Some(4), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("INCONCLUSIVE"), "{}", stdout(&o));
    let json = compare_json(&starved, "base");
    assert_eq!((json["verdict"].as_str(), &json["regression"]), (Some("inconclusive"), &false.into()));
    let why = json["inconclusive"].to_string();
    assert!(why.contains("the current run's generator was starved: send lag p99 40.0 ms"), "{why}");
    let md = std::fs::read_to_string(Path::new(&starved).join("compare-base/compare.md")).unwrap();
    assert!(md.starts_with("## ⚠️ einv-load compare: INCONCLUSIVE"), "{md}");
}

#[test]
fn compare_refuses_bad_input_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing").display().to_string();
    let o = run_in_root(&["compare", &missing, &missing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a report folder"), "{}", stderr(&o));
    assert!(!Path::new(&missing).exists(), "nothing created");
    let o = run_in_root(&["compare", "a", "b", "--max-regression", "ten"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("write e.g. 10% or 0.1"), "{}", stderr(&o));
}
