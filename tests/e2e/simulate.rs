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

/// A steps schedule through a 20-connection pool of 20 ms holds (1,000/s): each step has
/// its own figures and verdict, the steps below the capacity pass and those above fail,
/// and the knee names the first step over it.
#[test]
fn a_steps_simulation_has_statistics_per_step_and_a_knee() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "schema = 1\nname = \"steps\"\n[target]\nurl = \"builtin\"\nrequest-timeout = \"2s\"\n\
         [target.builtin]\npool-size = 20\nacquire-timeout = \"1s\"\nquery-hold = \"20ms\"\n\
         [[load.stage]]\nkind = \"constant\"\nrate = 200\nduration = \"2s\"\n\
         [[load.stage]]\nkind = \"steps\"\nfrom = 600\nto = 1400\nsteps = 3\nstep = \"4s\"\n\
         [[op]]\nname = \"query\"\npath = \"/q\"\n[slo]\np99 = \"100ms\"\n",
    )
    .unwrap();
    let out = dir.path().join("r");
    let o = run_in_root(&["simulate", &profile.display().to_string(), "--out", &out.display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let s = summary(&out);
    let stages = s["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2);
    assert_eq!((stages[0]["kind"].as_str(), stages[1]["kind"].as_str()), (Some("constant"), Some("steps")));
    let steps = stages[1]["steps"].as_array().unwrap();
    let offered: Vec<f64> = steps.iter().map(|st| st["from_per_s"].as_f64().unwrap()).collect();
    assert_eq!(offered, [600.0, 1000.0, 1400.0]);
    let passed: Vec<bool> = steps.iter().map(|st| st["slo"]["passed"].as_bool().unwrap()).collect();
    assert_eq!(passed, [true, true, false]);
    let sent: u64 = stages.iter().map(|st| st["overall"]["requests"]["sent"].as_u64().unwrap()).sum();
    assert_eq!(sent, s["overall"]["requests"]["sent"].as_u64().unwrap(), "every request in one stage");
    assert_eq!(s["knee"]["offered_per_s"], 1400.0, "{}", s["knee"]);
    assert_eq!(s["knee"]["check"]["name"], "latency p99");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<section id=\"stages\">") && html.contains("2.3 step"), "stage table in the page");
    assert!(std::fs::read_to_string(out.join("summary.md")).unwrap().contains("| 2.3 step | 1400.0/s |"));
}

/// `[model] wire`: what a client sees besides the model's steps is added to every answer,
/// not to the service's capacity (the pool's waits are the same with it or without it),
/// and `validate` says so.
#[test]
fn the_wire_adds_to_every_answer_and_not_to_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for wire in ["", "wire = \"2ms\"\n"] {
        let profile = dir.path().join(format!("p{}.toml", wire.len()));
        std::fs::write(
            &profile,
            format!(
                "schema = 1\nname = \"w\"\n[target]\nurl = \"http://127.0.0.1:9\"\n\
                 [model]\n{wire}[model.resources.db]\nkind = \"pool\"\nsize = 2\n\
                 [model.ops.read]\nsteps = [{{ use = \"db\", hold = \"3ms\" }}]\n\
                 [[load.stage]]\nkind = \"constant\"\nrate = 500\nduration = \"2s\"\n\
                 [[op]]\nname = \"read\"\npath = \"/r\"\n"
            ),
        )
        .unwrap();
        let out = dir.path().join(format!("r{}", wire.len()));
        let o = run_in_root(&["simulate", &profile.display().to_string(), "--out", &out.display().to_string()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = run_in_root(&["validate", &profile.display().to_string()]);
        results.push((summary(&out), crate::stdout(&v)));
    }
    let ((plain, plain_words), (wired, wired_words)) = (&results[0], &results[1]);
    let p50 = |s: &serde_json::Value, k: &str| s["overall"][k]["p50"].as_f64().unwrap();
    // 500/s through 2 connections of 3 ms: most requests wait a little for the pool.
    assert!(p50(plain, "latency_ms") >= 3.0, "{}", plain["overall"]);
    let added = p50(wired, "latency_ms") - p50(plain, "latency_ms");
    assert!((1.99..2.01).contains(&added), "the wire adds 2 ms to the median: {added}");
    assert_eq!(plain["pool"]["acquire_ms"], wired["pool"]["acquire_ms"], "the pool waits the same");
    assert!(!plain_words.contains("wire"), "{plain_words}");
    assert!(wired_words.contains("wire") && wired_words.contains("2ms"), "{wired_words}");
}
