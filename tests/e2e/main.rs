//! End-to-end tests of the einv-load binary (one test binary, as uv does).
//! Every server they talk to is on 127.0.0.1, started by the test itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_profiles;
mod compare;
mod generate;
mod html;
mod limits;
mod report;
mod runs;
mod serve;
mod shards;
mod simulate;
mod slo;
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

/// Sum of the counts of every interval histogram tagged `tag` in a folder's histograms.hlog.
pub fn hlog_count(dir: &Path, tag: &str) -> u64 {
    let entries = einv_report::read_hlog(&dir.join("histograms.hlog")).unwrap();
    entries.iter().filter(|e| e.tag.as_deref() == Some(tag)).map(|e| e.histogram.len()).sum()
}
