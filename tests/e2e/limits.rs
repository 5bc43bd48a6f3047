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
    let predicted = status(&sim, "429");
    assert!((385..=392).contains(&predicted), "simulated 429s: {predicted}");
    assert_eq!(sim["pool"]["rate_limited"].as_u64(), Some(predicted));
    // Live, the bucket passes its burst plus 100/s over the span in which requests reached
    // it. That span is the schedule's 2 s, stretched or squeezed by at most the run's own
    // worst send lag at either end (a busy machine sends late, never early).
    let (live, ok) = (status(&run, "429"), status(&run, "200"));
    let lag_s = run["overall"]["send_lag_ms"]["max"].as_f64().unwrap() / 1000.0;
    let sent = run["overall"]["requests"]["sent"].as_u64().unwrap();
    assert_eq!(live + ok, sent, "every request is passed or refused: {}", run["overall"]);
    let (low, high) = (100.0 * (2.0 - 2.0 * lag_s) - 2.0, 10.0 + 100.0 * (2.0 + 2.0 * lag_s) + 2.0);
    assert!((low..=high).contains(&(ok as f64)), "live passes {ok}, expected {low:.0}..{high:.0} (lag {lag_s} s)");
    assert!(live > 0, "an offered rate 3x the limit is refused in part");
    assert_eq!(run["overall"]["errors"]["http_4xx"].as_u64(), Some(live), "429s count as 4xx errors");
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
    let predicted = status(&sim, "503");
    assert!(predicted > 280, "simulated 503s: {predicted}");
    assert_eq!(sim["pool"]["queue_full"].as_u64(), Some(predicted));
    // Live: a worker holds each request at least 50 ms, so the two serve at most one per
    // 50 ms each over the run and its drain (a busy machine only makes them slower), and
    // an offer five times the capacity overflows the queue however slow the machine is.
    let (live, ok) = (status(&run, "503"), status(&run, "200"));
    let sent = run["overall"]["requests"]["sent"].as_u64().unwrap();
    assert_eq!(live + ok, sent, "every request is served or refused: {}", run["overall"]);
    let span = run["run"]["duration_s"].as_f64().unwrap() + run["run"]["drain_s"].as_f64().unwrap();
    let most = 2.0 * (span / 0.050).ceil() + 2.0;
    assert!(ok >= 2 && ok as f64 <= most, "2 workers served {ok} in {span:.2} s (at most {most})");
    assert!(live * 2 > sent, "most of an offer 5x the capacity is refused: {live} of {sent}");
    // Below capacity nothing is refused.
    let p = callbacks(dir.path(), "queue-light", 20, 2, builtin);
    let (light, _) = report("simulate", &p, &dir.path().join("light"));
    assert_eq!(status(&light, "503"), 0);
}

#[test]
fn slow_bodies_show_in_latency_not_in_time_to_first_byte() {
    let dir = tempfile::tempdir().unwrap();
    // The window is all but the first millisecond of every second (a window ends each
    // period): nearly every 33-byte answer trickles out at 1 KiB/s, in chunks a 10 ms tick
    // apart, so its body takes at least ~30 ms after its head (a fast one: one tick).
    let slow = "callback-hold = \"0s\"\nslow-body = { every = \"1s\", for = \"999ms\", rate = \"1KiB/s\" }";
    let p = callbacks(dir.path(), "slow", 50, 2, slow);
    let (s, _) = report("run", &p, dir.path());
    assert_eq!(s["overall"]["requests"]["ok"], 100, "slow is not broken");
    // A trickled request's latency is at least its time to first byte plus its body's
    // ~30 ms, however busy the machine; with (nearly) all of them trickled, each percentile
    // of latency stays about that far above the same percentile of ttfb. Were the head
    // held back with the body, the two would meet.
    let ms = |clock: &str, p: &str| match clock {
        "ttfb" => s["overall"]["phases"]["ttfb"][p].as_f64().unwrap(),
        _ => s["overall"]["latency_ms"][p].as_f64().unwrap(),
    };
    for p in ["p50", "p90"] {
        let (latency, ttfb) = (ms("latency", p), ms("ttfb", p));
        assert!(latency - ttfb >= 20.0, "{p}: latency {latency} ms vs time to first byte {ttfb} ms");
    }
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
