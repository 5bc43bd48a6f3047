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
