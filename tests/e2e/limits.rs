//! The service in front of the pool: rate limit (429), worker queue bound (503), slow
//! bodies, and hold times measured by an earlier run. Live runs against the built-in
//! target on 127.0.0.1 and simulations of the same profile count the same things.

use std::path::{Path, PathBuf};

use crate::{run_in_root, stderr, stdout, summary};

/// A profile of payment callbacks at `rate`/s for `secs` s against a built-in target
/// configured by `builtin`, written to `dir/name.toml`.
fn callbacks(dir: &Path, name: &str, rate: u32, secs: u32, builtin: &str) -> String {
    let text = format!(
        r#"schema = 1
name = "{name}"
[target]
url = "builtin"
connections = 32
[target.builtin]
{builtin}
[load]
[[load.stage]]
kind = "constant"
rate = {rate}
duration = "{secs}s"
[[op]]
name = "payment_callback"
method = "POST"
path = "/api/v1/payments/callback"
body = "{{}}"
"#
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `einv-load <cmd> profile --out dir/<cmd>`; the summary.
fn report(cmd: &str, profile: &str, dir: &Path) -> (serde_json::Value, PathBuf) {
    let out = dir.join(cmd);
    let mut args = vec![cmd, profile, "--out", out.to_str().unwrap()];
    if cmd == "run" {
        args.push("--no-progress");
    }
    let o = run_in_root(&args);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{cmd}: {}{}", stdout(&o), stderr(&o));
    (summary(&out), out)
}

fn status(s: &serde_json::Value, code: &str) -> u64 {
    s["overall"]["status"][code].as_u64().unwrap_or(0)
}

#[test]
fn the_rate_limit_answers_429_live_and_simulated_alike() {
    let dir = tempfile::tempdir().unwrap();
    // 300/s offered for 2 s through a 100/s bucket of 10: about 210 pass, 390 refused.
    let p = callbacks(dir.path(), "limited", 300, 2, "rate-limit = { rate = 100, burst = 10 }");
    let (run, _) = report("run", &p, dir.path());
    let (sim, sim_dir) = report("simulate", &p, dir.path());
    let (live, predicted) = (status(&run, "429"), status(&sim, "429"));
    assert!((385..=392).contains(&predicted), "simulated 429s: {predicted}");
    assert!(live.abs_diff(predicted) <= 6, "live 429s {live} vs simulated {predicted}");
    assert_eq!(run["overall"]["errors"]["http_4xx"].as_u64(), Some(live), "429s count as 4xx errors");
    assert_eq!(sim["pool"]["rate_limited"].as_u64(), Some(predicted));
    let csv = std::fs::read_to_string(sim_dir.join("pool.csv")).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",queued,rate_limited,queue_full"), "{csv}");
}

#[test]
fn a_full_worker_queue_answers_503_live_and_simulated_alike() {
    let dir = tempfile::tempdir().unwrap();
    // 2 workers x 50 ms = 40/s of capacity, 2 may wait: at 200/s most are refused.
    let builtin = "workers = 2\nqueue-limit = 2\ncallback-hold = \"50ms\"";
    let p = callbacks(dir.path(), "queue", 200, 2, builtin);
    let (run, _) = report("run", &p, dir.path());
    let (sim, _) = report("simulate", &p, dir.path());
    let (live, predicted) = (status(&run, "503"), status(&sim, "503"));
    assert!(predicted > 280, "simulated 503s: {predicted}");
    assert!(live.abs_diff(predicted) * 10 <= predicted, "live 503s {live} vs simulated {predicted}");
    let ok = run["overall"]["requests"]["ok"].as_u64().unwrap();
    assert!((60..=100).contains(&ok), "2 workers serve ~80 in 2 s, got {ok}");
    assert_eq!(sim["pool"]["queue_full"].as_u64(), Some(predicted));
    // Below capacity nothing is refused.
    let p = callbacks(dir.path(), "queue-light", 20, 2, builtin);
    let (light, _) = report("simulate", &p, &dir.path().join("light"));
    assert_eq!(status(&light, "503"), 0);
}

#[test]
fn slow_bodies_show_in_latency_not_in_time_to_first_byte() {
    let dir = tempfile::tempdir().unwrap();
    // The window is the last quarter of every 2 s; a 33-byte answer at 1 KiB/s takes ~40 ms.
    let slow = "callback-hold = \"0s\"\nslow-body = { every = \"2s\", for = \"500ms\", rate = \"1KiB/s\" }";
    let p = callbacks(dir.path(), "slow", 50, 4, slow);
    let (s, _) = report("run", &p, dir.path());
    let p90 = s["overall"]["latency_ms"]["p90"].as_f64().unwrap();
    let p50 = s["overall"]["latency_ms"]["p50"].as_f64().unwrap();
    assert!(p90 > 25.0, "latency p90 {p90} ms: a quarter of the answers trickle out");
    assert!(p50 < 10.0, "latency p50 {p50} ms: outside the window answers are quick");
    // The head goes out at once; only the body trickles.
    let ttfb_p90 = s["overall"]["phases"]["ttfb"]["p90"].as_f64().unwrap();
    assert!(ttfb_p90 < 10.0, "time to first byte p90 {ttfb_p90} ms: the head is not slowed");
    assert_eq!(s["overall"]["requests"]["ok"], 200, "slow is not broken");
}

#[test]
fn a_hold_measured_by_a_run_drives_the_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let measured = callbacks(dir.path(), "measured", 100, 3, "callback-hold = { p50 = \"8ms\", p99 = \"20ms\" }");
    let (run, _) = report("run", &measured, dir.path());
    let from = "callback-hold = { from-report = \"run\", op = \"payment_callback\" }";
    let replayed = callbacks(dir.path(), "replayed", 100, 3, from);
    let o = run_in_root(&["validate", &replayed]);
    assert!(stdout(&o).contains("payment_callback measured ("), "{}", stdout(&o));
    let (sim, _) = report("simulate", &replayed, dir.path());
    let op = |s: &serde_json::Value| s["ops"]["payment_callback"]["service_ms"]["p50"].as_f64().unwrap();
    let (live, predicted) = (op(&run), op(&sim));
    assert!((predicted / live - 1.0).abs() < 0.15, "simulated service p50 {predicted} ms vs the run's {live} ms");

    // An op the report does not have is named, with the ones it does.
    let wrong = callbacks(dir.path(), "wrong", 10, 1, "issue-hold = { from-report = \"run\", op = \"issue\" }");
    let o = run_in_root(&["validate", &wrong]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("target.builtin.issue-hold") && err.contains("\"issue\"") && err.contains("payment_callback"),
        "{err}"
    );
}

#[test]
fn bad_serve_flags_for_the_service_exit_2_naming_it() {
    let cases: &[(&[&str], &str)] = &[
        (&["--rate-limit", "0/5"], "--rate-limit"),
        (&["--rate-limit", "100"], "--rate-limit"),
        (&["--slow-body", "5s/1s@fast"], "--slow-body"),
        (&["--slow-body", "1s/5s@1KiB/s"], "--slow-body"),
        (&["--queue-limit", "5"], "queue-limit needs workers"),
        (&["--workers", "0"], "workers must be at least 1"),
        (&["--max-body", "0B"], "--max-body"),
        (&["--max-body", "huge"], "not a size"),
        (&["--header-timeout", "0s"], "header-timeout and idle-timeout must be more than 0"),
        (&["--max-connections", "0"], "max-connections must be at least 1"),
        (&["--ledger-window", "0"], "ledger-window must be from 1"),
    ];
    for (flags, named) in cases {
        let mut child = crate::einv()
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(*flags)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A flag wrongly accepted would serve until killed: give it 10 s.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(named) && !err.contains("panicked"), "{flags:?}: {err}");
    }
}
