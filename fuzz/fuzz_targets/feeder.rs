//! Arbitrary bytes as a feeder CSV, drawn from in every mode (a bounded number of rows).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tempfile::TempDir;

/// The folder each input is written to, one per fuzzing process.
static DIR: LazyLock<TempDir> = LazyLock::new(|| tempfile::tempdir().expect("a temporary folder"));

fuzz_target!(|data: &[u8]| {
    einv_workload::fuzzing::feeder(DIR.path(), data);
});
