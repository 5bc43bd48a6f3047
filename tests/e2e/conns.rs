//! Many connections: the open-file limit, paced connects (`connect-rate`) and source
//! addresses (`source-addrs`), against the built-in target on 127.0.0.1.

use std::process::{Command, Output};

use crate::{run_profile, stderr, summary};

/// A profile of `rate`/s GETs for 1 s against the built-in target, with `target` lines
/// added to its `[target]` table.
fn profile(target: &str, rate: u32) -> String {
    format!(
        r#"schema = 1
name = "conns"
[target]
url = "builtin"
{target}
[load]
[[load.stage]]
kind = "constant"
rate = {rate}
duration = "1s"
[[op]]
name = "verify"
path = "/api/v1/taxpayers/91350200776049653A"
"#
    )
}

/// `einv-load run p.toml` in a shell whose open-file limits `ulimit` set first.
fn run_with_ulimit(ulimit: &str, text: &str) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("report");
    let o = Command::new("sh")
        .args(["-c", &format!("ulimit {ulimit} && exec \"$0\" \"$@\""), env!("CARGO_BIN_EXE_einv-load")])
        .args(["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-progress"])
        .output()
        .unwrap();
    (dir, o)
}

fn hard_fd_limit() -> u64 {
    let o = Command::new("sh").args(["-c", "ulimit -Hn"]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(u64::MAX)
}

#[test]
fn more_connections_than_the_hard_fd_limit_allows_exit_2_naming_the_fix() {
    let (_dir, o) = run_with_ulimit("-n 256", &profile("connections = 1000", 10));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("target.connections = 1000 needs about 2128 open files, but this process may open 256"), "{e}");
    assert!(e.contains("ulimit -n 2128") && e.contains("LimitNOFILE=2128"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn a_low_soft_fd_limit_is_raised_to_the_hard_one() {
    if hard_fd_limit() < 2128 {
        eprintln!("skipped: the hard open-file limit is below 2128");
        return;
    }
    let (dir, o) = run_with_ulimit("-S -n 256", &profile("connections = 1000", 10));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&dir.path().join("report"));
    assert_eq!(s["overall"]["requests"]["ok"], s["overall"]["requests"]["scheduled"], "{s}");
}

#[test]
fn connections_open_from_the_source_addresses() {
    // A new connection per request: every request dials, from 127.0.0.2 or 127.0.0.3
    // (loopback answers for all of 127/8 on Linux).
    let text = profile("keep-alive = false\nsource-addrs = [\"127.0.0.2\", \"127.0.0.3\"]", 50);
    let (_dir, out, o) = run_profile(&text, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&out);
    let ok = &s["overall"]["requests"]["ok"];
    assert_eq!(ok, &s["overall"]["requests"]["scheduled"], "{s}");
    assert_eq!(&s["connections"]["opened"], ok, "{s}");
}

#[test]
fn connect_rate_paces_new_connections() {
    // 200 requests in 1 s, each on a new connection, but at most 20 connects a second:
    // how many get through is bounded by the run's own length, not by the schedule.
    let text = profile("keep-alive = false\nconnect-rate = 20\nconnections = 200\nrequest-timeout = \"1s\"", 200);
    let (_dir, out, o) = run_profile(&text, &[]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let s = summary(&out);
    let elapsed = s["run"]["duration_s"].as_f64().unwrap() + s["run"]["drain_s"].as_f64().unwrap();
    let opened = s["connections"]["opened"].as_f64().unwrap();
    assert!(opened >= 1.0 && opened <= 20.0 * elapsed + 1.0, "opened {opened} in {elapsed} s: {s}");
    assert!(
        s["overall"]["requests"]["ok"].as_f64().unwrap() < s["overall"]["requests"]["scheduled"].as_f64().unwrap(),
        "{s}"
    );
}

#[test]
fn source_addrs_that_are_no_ip_addresses_exit_2_with_key_and_line() {
    let text = profile("source-addrs = [\n  \"127.0.0.2\",\n  \"localhost\",\n]", 10);
    let (_dir, _out, o) = run_profile(&text, &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("p.toml:7: target.source-addrs[1]: is \"localhost\", not an IP address"), "{e}");
}

#[test]
fn a_connect_rate_out_of_bounds_exits_2_with_key_and_line() {
    for bad in ["0", "-5", "1e-300", "inf"] {
        let (_dir, _out, o) = run_profile(&profile(&format!("connect-rate = {bad}"), 10), &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {e}");
        assert!(e.contains("p.toml:5: target.connect-rate: must be from 0.01 to 1000000 connections/s"), "{bad}: {e}");
        assert!(!e.contains("panicked"), "{bad}: {e}");
    }
}
