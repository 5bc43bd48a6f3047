//! End-to-end tests of the einv-load binary (one test binary, as uv does).
//! Every server they talk to is on 127.0.0.1, started by the test itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_profiles;
mod calibrate;
mod capacity;
mod compare;
mod conns;
mod env;
mod errors;
mod full_disk;
mod generate;
mod hostile;
mod html;
mod http2;
mod init;
mod inputs;
mod interrupts;
mod k8s;
mod limits;
mod live;
mod model;
mod netns;
mod nginx;
mod outputs;
mod payloads;
mod percentiles;
mod report;
mod runs;
mod serve;
mod shards;
mod simulate;
mod slo;
mod sweep;
mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn einv() -> Command {
    Command::new(env!("CARGO_BIN_EXE_einv-load"))
}

/// The repository root (profiles/ and tests/ are relative to it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run `einv-load args...` from the repository root.
pub fn run_in_root(args: &[&str]) -> Output {
    einv().current_dir(root()).args(args).output().expect("the einv-load binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// summary.json of a report folder.
pub fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json exists");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// Write the profile text `profile` to a temp folder and `run` it with `extra` flags; the
/// report goes to `<tmp>/report`. The folder lives as long as the returned guard.
pub fn run_profile(profile: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf, Output) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, profile).unwrap();
    let out = dir.path().join("report");
    let (file, out_arg) = (file.display().to_string(), out.display().to_string());
    let mut args = vec!["run", file.as_str(), "--out", out_arg.as_str(), "--no-progress"];
    args.extend_from_slice(extra);
    let o = run_in_root(&args);
    (dir, out, o)
}

/// A run ends within its schedule plus the drain bound (`drain_limit_s`: the request
/// timeout, or 2 s after a stop), judged on the run's own figures.
///
/// Sending ends at the schedule's end or when the last arrival was released, if later;
/// every sent request's send lag is at least how late its release was, so the schedule
/// can only overrun by the run's largest send lag. The drain ends at its limit at the
/// latest, enforced by a timer on the same runtime as the dispatcher's: it can fire late
/// by no more than those wake-ups did, which the send lag measures too. The extra 0.25 s
/// covers the moment from that timer to the run's last clock read (workers recording
/// what was cut); a machine too busy for that delays the dispatcher as well, and the
/// send lag it causes widens the bound.
pub fn assert_ends_in_bound(s: &serde_json::Value, drain_limit_s: f64) {
    let secs = |v: &serde_json::Value| v.as_f64().unwrap_or_else(|| panic!("not a number in {s}"));
    let slack = secs(&s["overall"]["send_lag_ms"]["max"]) / 1000.0 + 0.25;
    let (duration, planned) = (secs(&s["run"]["duration_s"]), secs(&s["run"]["planned_duration_s"]));
    assert!(duration <= planned + slack, "sending took {duration} s of a {planned} s schedule (slack {slack} s)");
    let drain = secs(&s["run"]["drain_s"]);
    assert!(drain <= drain_limit_s + slack, "the drain took {drain} s, limit {drain_limit_s} s (slack {slack} s)");
}

/// Sum of the counts of every interval histogram tagged `tag` in a folder's histograms.hlog.
pub fn hlog_count(dir: &Path, tag: &str) -> u64 {
    let entries = einv_report::read_hlog(&dir.join("histograms.hlog")).unwrap();
    entries.iter().filter(|e| e.tag.as_deref() == Some(tag)).map(|e| e.histogram.len()).sum()
}
