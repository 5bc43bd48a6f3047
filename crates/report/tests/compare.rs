//! `compare` judges distributions: a 20 % slower tail is a regression, the same run is not,
//! and figures too thin or too small to mean anything are shown but not judged.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use einv_report::{Connections, Finish, Outcome, Phases, Quantile, RunInfo, RunLog, Sample, SloSpec, Stats};

/// A 10-second report folder of `n` requests per second, latencies 5..=45 ms times `scale`,
/// every `fail_every`-th answered 500.
fn folder(dir: &Path, n: u64, scale: f64, fail_every: u64) {
    folder_with_checks(dir, n, scale, fail_every, 0);
}

/// As [`folder`], and every `check_every`-th answer fails its op's checks.
fn folder_with_checks(dir: &Path, n: u64, scale: f64, fail_every: u64, check_every: u64) {
    folder_showing(dir, (n, scale), (fail_every, check_every), &Quantile::DEFAULT);
}

/// As [`folder_with_checks`], its reports showing `percentiles`.
fn folder_showing(dir: &Path, (n, scale): (u64, f64), (fail_every, check_every): (u64, u64), percentiles: &[Quantile]) {
    std::fs::create_dir_all(dir).unwrap();
    let ops = vec!["issue".to_string()];
    let mut log = RunLog::create(dir, &ops, SystemTime::now(), "test").unwrap();
    let mut k = 0u64;
    for second in 0..10 {
        let mut interval = vec![Stats::new()];
        for _ in 0..n {
            k += 1;
            let us = ((5_000 + (k * 7919) % 40_000) as f64 * scale) as u64;
            let status = if fail_every > 0 && k.is_multiple_of(fail_every) { 500 } else { 200 };
            interval[0].record(&Sample {
                latency: Duration::from_micros(us),
                service: Some(Duration::from_micros(us)),
                send_lag: Duration::ZERO,
                outcome: Outcome::Response(status),
                queued: false,
                failed_check: (check_every > 0 && k.is_multiple_of(check_every)).then_some(1),
                tag: None,
                expects_rejection: false,
                phases: Phases::default(),
            });
        }
        log.push(Duration::from_secs(second), Duration::from_secs(1), n as f64, (1, 0), &mut interval).unwrap();
    }
    let run = RunInfo {
        name: "cmp".into(),
        profile: "p.toml".into(),
        seed: 1,
        target: "builtin".into(),
        mode: "open".into(),
        started_at: "2026-11-22T00:00:00Z".into(),
        duration_s: 10.0,
        drain_s: 0.0,
        planned_duration_s: 10.0,
        shard: None,
        start: None,
        threads: None,
    };
    let finish = Finish {
        run,
        scheduled: vec![n * 10],
        target_rate: n as f64,
        slo: SloSpec::default(),
        percentiles: percentiles.to_vec(),
        connections: Connections::default(),
        lag_warning: Duration::from_secs(1),
        interrupted: false,
        tags: Vec::new(),
        checks: Vec::new(),
        errors: None,
        pool: None,
    };
    log.finish(finish).unwrap();
}

fn judge(base: (u64, f64, u64), cur: (u64, f64, u64)) -> einv_report::Comparison {
    let root = tempfile::tempdir().unwrap();
    let (b, c, out) = (root.path().join("b"), root.path().join("c"), root.path().join("out"));
    folder(&b, base.0, base.1, base.2);
    folder(&c, cur.0, cur.1, cur.2);
    std::fs::create_dir(&out).unwrap();
    let compared = einv_report::compare(&b, &c, 0.1).unwrap();
    compared.write(&out).unwrap();
    let cmp = compared.comparison;
    for f in [
        "compare.json",
        "compare.md",
        "compare.html",
        "overlay-spectrum.svg",
        "overlay-spectrum-issue.svg",
        "overlay-timeline.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(html.find("class=\"verdict").unwrap() < html.find("<table").unwrap(), "verdict first");
    assert_eq!(html.matches("<svg").count(), 3, "charts inline");
    cmp
}

#[test]
fn a_twenty_percent_slower_tail_is_a_regression() {
    let cmp = judge((500, 1.0, 0), (500, 1.2, 0));
    assert!(cmp.regression);
    assert!(
        cmp.regressions.iter().any(|r| r.starts_with("overall latency p99:") && r.contains("(+20.")),
        "{:?}",
        cmp.regressions
    );
    assert!(cmp.regressions.iter().any(|r| r.starts_with("issue latency p90:")), "{:?}", cmp.regressions);
}

#[test]
fn the_same_run_is_not_a_regression_and_a_faster_one_neither() {
    assert!(!judge((500, 1.0, 0), (500, 1.0, 0)).regression);
    assert!(!judge((500, 1.0, 0), (500, 0.8, 0)).regression);
    assert!(!judge((500, 1.0, 0), (500, 1.05, 0)).regression, "5 % is inside a 10 % threshold");
}

#[test]
fn thin_tails_are_shown_but_not_judged() {
    // 100 requests/s for 10 s: 1,000 samples support p90 (50 above it), not p99 (10).
    let cmp = judge((100, 1.0, 0), (100, 1.5, 0));
    let overall = &cmp.scopes[0];
    let p99 = overall.metrics.iter().find(|m| m.metric == "latency p99").unwrap();
    assert!(!p99.judged && !p99.regression && p99.note.as_deref().unwrap().contains("need 5000"));
    let p90 = overall.metrics.iter().find(|m| m.metric == "latency p90").unwrap();
    assert!(p90.judged && p90.regression);
}

/// A percentile the current run's reports show is compared too, judged by the same rules
/// as any: p95 of a 20 % slower run regresses, p75 (below the tail) is only shown.
#[test]
fn any_percentile_a_run_shows_is_compared() {
    let root = tempfile::tempdir().unwrap();
    let (b, c) = (root.path().join("b"), root.path().join("c"));
    let list = [75.0, 95.0, 99.0].map(|p| Quantile::from_percent(p).unwrap());
    folder(&b, 500, 1.0, 0);
    folder_showing(&c, (500, 1.2), (0, 0), &list);
    let cmp = einv_report::compare(&b, &c, 0.1).unwrap().comparison;
    let names: Vec<&str> = cmp.scopes[0].metrics.iter().map(|m| m.metric.as_str()).take(7).collect();
    assert_eq!(
        names,
        ["latency p50", "latency p75", "latency p90", "latency p95", "latency p99", "latency p99.9", "latency max"]
    );
    let m = |name: &str| cmp.scopes[0].metrics.iter().find(|m| m.metric == name).unwrap();
    assert!(m("latency p95").judged && m("latency p95").regression, "{:?}", m("latency p95"));
    assert!(m("latency p95").significance.is_some());
    assert!(!m("latency p75").judged && m("latency p75").note.as_deref().unwrap().contains("the tail"));
    assert!(cmp.regressions.iter().any(|r| r.starts_with("overall latency p95:")), "{:?}", cmp.regressions);
}

#[test]
fn error_rate_needs_both_a_relative_and_an_absolute_rise() {
    // 0.2 % -> 0.25 %: +25 % relative, but +0.05 pp is under the 0.1 pp floor.
    assert!(!judge((400, 1.0, 500), (400, 1.0, 400)).regression);
    // 0.2 % -> 1 %: a regression.
    let cmp = judge((400, 1.0, 500), (400, 1.0, 100));
    assert!(cmp.regressions.iter().any(|r| r.starts_with("overall error rate")), "{:?}", cmp.regressions);
}

#[test]
fn more_wrong_answers_are_a_regression() {
    let root = tempfile::tempdir().unwrap();
    let (b, c) = (root.path().join("b"), root.path().join("c"));
    // 0.2 % -> 2 % of answers fail their checks; latency and errors unchanged.
    folder_with_checks(&b, 400, 1.0, 0, 500);
    folder_with_checks(&c, 400, 1.0, 0, 50);
    let cmp = einv_report::compare(&b, &c, 0.1).unwrap().comparison;
    assert!(cmp.regressions.iter().any(|r| r.starts_with("overall check failure rate")), "{:?}", cmp.regressions);
    assert!(!einv_report::compare(&b, &b, 0.1).unwrap().comparison.regression);
}

#[test]
fn lower_throughput_is_a_regression() {
    let cmp = judge((500, 1.0, 0), (400, 1.0, 0));
    assert!(cmp.regressions.iter().any(|r| r.starts_with("overall throughput")), "{:?}", cmp.regressions);
}
