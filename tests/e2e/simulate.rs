//! `einv-load simulate`: the pool model predicts the knee, deterministically, in a report
//! folder shaped like a live run's.

use crate::{run_in_root, stderr, summary};

#[test]
fn simulate_predicts_the_pool_exhaustion_knee_deterministically() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut summaries = Vec::new();
    for d in &dirs {
        let out = d.path().join("sim").display().to_string();
        let o = run_in_root(&["simulate", "profiles/pool-exhaustion.toml", "--out", &out]);
        assert_eq!(o.status.code(), Some(1), "the SLO fails past the knee: {}", stderr(&o));
        for f in
            ["summary.json", "timeseries.csv", "histograms.hlog", "latency.hgrm", "pool.csv", "latency-timeline.svg"]
        {
            assert!(d.path().join("sim").join(f).exists(), "{f}");
        }
        summaries.push(summary(&d.path().join("sim")));
    }
    let s = &summaries[0];
    assert_eq!(s["overall"], summaries[1]["overall"], "the same profile and seed give the same prediction");
    // 6,000 -> 12,000/s over 60 s crosses the pool's 10,000/s at 40 s; the backlog then
    // grows with the square of the time since, and waits reach the 250 ms acquire timeout
    // about 7 s later.
    let knee = s["pool"]["first_timeout_s"].as_f64().unwrap();
    assert!((43.0..52.0).contains(&knee), "first pool timeout at {knee} s");
    assert_eq!(s["pool"]["size"], 200);
    assert!(s["overall"]["errors"]["http_5xx"].as_u64().unwrap() > 1000);
    let pool_csv = std::fs::read_to_string(dirs[0].path().join("sim/pool.csv")).unwrap();
    let early: Vec<&str> = pool_csv.lines().nth(5).unwrap().split(',').collect();
    assert_eq!(early[4], "0", "nobody waits at 6,000/s: {pool_csv:.200}");
}

#[test]
fn simulate_refuses_what_it_cannot_model() {
    let o = run_in_root(&["simulate", "profiles/bench-saturate.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("closed loop"), "{}", stderr(&o));
    let o = run_in_root(&["simulate", "profiles/smoke.toml", "--rate", "-1"]);
    assert_eq!(o.status.code(), Some(2));
}
