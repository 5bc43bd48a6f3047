//! `einv-load simulate --sweep-*`: a grid of predictions, and the smallest pool that passes
//! at each rate; a cell the service cannot keep up with fails whatever its percentiles say.

use std::path::Path;

use crate::{run_in_root, stderr, stdout};

/// sweep.csv as rows of (column name, value) maps.
fn csv_rows(dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines.map(|l| header.iter().cloned().zip(l.split(',').map(String::from)).collect()).collect()
}

#[test]
fn a_sweep_finds_the_smallest_pool_per_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep").display().to_string();
    let args = [
        "simulate",
        "profiles/pool-exhaustion.toml",
        "--duration",
        "20s",
        "--sweep-pool",
        "150,250",
        "--sweep-rate",
        "6000,11000",
        "--out",
        &out,
    ];
    let o = run_in_root(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in ["sweep.csv", "sweep.md", "sweep-p99.svg", "sweep-errors.svg"] {
        assert!(dir.path().join("sweep").join(f).exists(), "{f}");
    }
    let md = std::fs::read_to_string(dir.path().join("sweep/sweep.md")).unwrap();
    // 150 connections x 20 ms = 7,500/s: enough for 6,000/s, not for 11,000/s.
    assert!(md.contains("| 6000 | 150 |"), "{md}");
    assert!(md.contains("| 11000 | 250 |"), "{md}");
    let rows = csv_rows(&dir.path().join("sweep"));
    assert_eq!(rows.len(), 4, "one row per cell");
    for r in &rows {
        // 11,000/s of 150 x 20 ms (7,500/s): the only cell past capacity, and failing.
        let saturated = r["pool_size"] == "150" && r["rate"] == "11000";
        assert_eq!(r["passed"], (!saturated).to_string(), "{r:?}");
        assert_eq!(r["fails"].contains("utilisation"), saturated, "{r:?}");
    }
}

#[test]
fn a_cell_at_capacity_fails_though_its_percentiles_look_good() {
    // 10,000/s on 200 connections x 20 ms is exactly the pool's capacity. In 6 s the
    // backlog has not yet pushed p99 past the 200 ms SLO nor waits to the acquire timeout,
    // but it grows without bound: the cell fails on its utilisation and its waits.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let out_arg = out.display().to_string();
    let args = [
        "simulate",
        "profiles/pool-exhaustion.toml",
        "--duration",
        "6s",
        "--sweep-pool",
        "200",
        "--sweep-rate",
        "10000",
        "--out",
        &out_arg,
    ];
    let o = run_in_root(&args);
    assert_eq!(o.status.code(), Some(1), "no pool of the sweep passes at 10,000/s: {}", stderr(&o));
    let rows = csv_rows(&out);
    let r = &rows[0];
    let p99: f64 = r["p99_ms"].parse().unwrap();
    assert!(p99 < 200.0, "the percentiles look good: {r:?}");
    assert_eq!((r["error_rate"].as_str(), r["slo_passed"].as_str()), ("0.000000", "true"), "{r:?}");
    assert_eq!(r["utilisation"], "1.0000");
    assert!(r["pool_busy"].parse::<f64>().unwrap() > 0.99, "{r:?}");
    assert_eq!((r["stationary"].as_str(), r["passed"].as_str()), ("false", "false"), "{r:?}");
    assert_eq!(r["fails"], "utilisation;not-stationary");
    let md = stdout(&o);
    assert!(md.contains("| 100% | 100% | no | FAIL: utilisation ≥ 100 %, waits still growing |"), "{md}");
    assert!(md.contains("| 10000 | none in the sweep |"), "{md}");
    assert_eq!(std::fs::read_to_string(out.join("sweep.md")).unwrap(), md.split("\nsweep ").next().unwrap());
    let svg = std::fs::read_to_string(out.join("sweep-p99.svg")).unwrap();
    assert!(
        svg.contains("ρ 100% FAIL") && svg.contains("FAIL: utilisation ≥ 100 %, or waits still growing"),
        "{svg:.400}"
    );
}

#[test]
fn a_ramp_through_capacity_is_not_stationary_below_full_utilisation() {
    // 8,000 -> 10,800/s over 9 s: 9,400/s on average (94 % of 200 x 20 ms), but past
    // capacity from 6.4 s on, so the waits of the last third grow; p99 stays under the SLO.
    let profile = std::fs::read_to_string(crate::root().join("profiles/pool-exhaustion.toml")).unwrap();
    let profile = profile.replace("from = 6000", "from = 8000").replace("to = 12000", "to = 10800");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ramp.toml");
    std::fs::write(&file, profile.replace("duration = \"60s\"", "duration = \"9s\"")).unwrap();
    let out = dir.path().join("sweep");
    let (file_arg, out_arg) = (file.display().to_string(), out.display().to_string());
    let o = run_in_root(&["simulate", &file_arg, "--sweep-pool", "200,220", "--out", &out_arg]);
    assert_eq!(o.status.code(), Some(0), "220 connections pass: {}", stderr(&o));
    let rows = csv_rows(&out);
    let (small, large) = (&rows[0], &rows[1]);
    assert_eq!(small["rate"], "9400", "the schedule's mean rate: {small:?}");
    assert_eq!((small["utilisation"].as_str(), small["slo_passed"].as_str()), ("0.9400", "true"), "{small:?}");
    assert_eq!((small["fails"].as_str(), large["fails"].as_str()), ("not-stationary", ""), "{rows:?}");
    assert!(stdout(&o).contains("| 9400 | 220 |"), "{}", stdout(&o));
}
