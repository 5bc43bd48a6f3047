//! `einv-load calibrate`: a model fitted from a run. The runs are simulated (a known
//! service, deterministic, whatever the machine's load): the fit must find that
//! service's pool again; bad input is refused with exit 2 and nothing written.

use crate::{run_in_root, stderr, stdout};

/// A service of 6 slots held 20 ms (lookup) or 40 ms (update), mix 1:1: 200/s at most.
/// `stage` is the load.
fn profile(stage: &str) -> String {
    format!(
        r#"schema = 1
name = "calibrate-e2e"
seed = 3

[target]
url = "http://127.0.0.1:9"
connections = 64

[model.resources.db]
kind = "pool"
size = 6
acquire-timeout = "60s"

[model.ops.lookup]
steps = [{{ use = "db", hold = "20ms" }}]

[model.ops.update]
steps = [{{ use = "db", hold = "40ms" }}]

[load]
mode = "open"

[[load.stage]]
{stage}

[[op]]
name = "lookup"
path = "/lookup/${{index}}"

[[op]]
name = "update"
method = "POST"
path = "/update/${{index}}"
"#
    )
}

/// A ramp from well below the pool's knee (~200/s) to well past it.
const RAMP_PAST_THE_KNEE: &str = r#"kind = "ramp"
from = 40
to = 320
duration = "30s""#;

/// Simulate `stage` into `<tmp>/run`; the profile is `<tmp>/p.toml`.
fn simulated(stage: &str) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("p.toml");
    std::fs::write(&file, profile(stage)).unwrap();
    let run = tmp.path().join("run").display().to_string();
    let o = run_in_root(&["simulate", &file.display().to_string(), "--out", &run]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", stderr(&o));
    (tmp, run)
}

#[test]
fn a_ramp_past_the_knee_gives_back_the_pool_and_the_holds() {
    let (tmp, run) = simulated(RAMP_PAST_THE_KNEE);
    let model = tmp.path().join("model.toml");
    let replay = tmp.path().join("replay").display().to_string();
    let o = run_in_root(&["calibrate", &run, "--out", &model.display().to_string(), "--replay-out", &replay]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let fitted: toml::Table = toml::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(fitted["model"]["resources"]["bottleneck"]["size"].as_integer(), Some(6), "{fitted}");
    let p50 = |op: &str| fitted["model"]["ops"][op]["steps"][0]["hold"]["p50"].as_str().unwrap().to_string();
    assert!(p50("lookup").starts_with("20"), "lookup hold {}", p50("lookup"));
    assert!(p50("update").starts_with("40"), "update hold {}", p50("update"));
    // The replay's table names every op of the mix.
    let table = stdout(&o);
    assert!(table.contains("bottleneck size 6") && table.contains("lookup") && table.contains("update"), "{table}");
    assert!(std::path::Path::new(&replay).join("summary.json").exists());
}

#[test]
fn a_run_without_a_knee_is_refused_and_nothing_is_written() {
    let (tmp, run) = simulated(
        r#"kind = "constant"
rate = 150
duration = "10s""#,
    );
    let model = tmp.path().join("model.toml");
    let o = run_in_root(&["calibrate", &run, "--out", &model.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no ramp past the knee"), "{}", stderr(&o));
    assert!(!model.exists());
}

#[test]
fn a_folder_that_is_not_a_run_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model.toml");
    let o = run_in_root(&["calibrate", &tmp.path().display().to_string(), "--out", &model.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!model.exists());
}

/// A scrape of the service's own hold times: every request of `op` held `ms` (within
/// its 1 ms bucket), `n` of them.
fn scrape(ops: &[(&str, u64, u64)]) -> String {
    let mut t = String::from("# TYPE db_hold_seconds histogram\n");
    for &(op, ms, n) in ops {
        let below = format!("{:.3}", (ms - 1) as f64 / 1000.0);
        let at = format!("{:.3}", ms as f64 / 1000.0);
        let sum = (ms as f64 - 0.5) / 1000.0 * n as f64;
        t.push_str(&format!(
            "db_hold_seconds_bucket{{op=\"{op}\",le=\"{below}\"}} 0\n\
             db_hold_seconds_bucket{{op=\"{op}\",le=\"{at}\"}} {n}\n\
             db_hold_seconds_bucket{{op=\"{op}\",le=\"+Inf\"}} {n}\n\
             db_hold_seconds_sum{{op=\"{op}\"}} {sum}\n\
             db_hold_seconds_count{{op=\"{op}\"}} {n}\n"
        ));
    }
    t
}

#[test]
fn the_services_own_timings_give_the_holds() {
    let (tmp, run) = simulated(RAMP_PAST_THE_KNEE);
    let metrics = tmp.path().join("metrics.txt");
    std::fs::write(&metrics, scrape(&[("lookup", 18, 500), ("update", 36, 500)])).unwrap();
    let model = tmp.path().join("model.toml");
    let replay = tmp.path().join("replay").display().to_string();
    let (m, out) = (metrics.display().to_string(), model.display().to_string());
    let o = run_in_root(&["calibrate", &run, "--service-timings", &m, "--out", &out, "--replay-out", &replay]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let fitted: toml::Table = toml::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let p50 = |op: &str| fitted["model"]["ops"][op]["steps"][0]["hold"]["p50"].as_str().unwrap().to_string();
    assert!(p50("lookup").starts_with("17"), "lookup hold {}", p50("lookup"));
    assert!(p50("update").starts_with("35"), "update hold {}", p50("update"));
    // 200/s past the knee x a mean hold of 26.5 ms: 5.3 slots, where the client saw 6.
    assert_eq!(fitted["model"]["resources"]["bottleneck"]["size"].as_integer(), Some(5), "{fitted}");

    std::fs::write(&metrics, "requests_total 5\n").unwrap();
    std::fs::remove_file(&model).unwrap();
    let replay = tmp.path().join("replay2").display().to_string();
    let o = run_in_root(&["calibrate", &run, "--service-timings", &m, "--out", &out, "--replay-out", &replay]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!model.exists());
}
