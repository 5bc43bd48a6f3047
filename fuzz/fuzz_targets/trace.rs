//! Arbitrary bytes as a trace CSV, read through `TraceReader` to the end or the first error.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tempfile::TempDir;

/// The folder each input is written to, one per fuzzing process.
static DIR: LazyLock<TempDir> = LazyLock::new(|| tempfile::tempdir().expect("a temporary folder"));

fuzz_target!(|data: &[u8]| {
    einv_workload::fuzzing::trace(DIR.path(), data);
});
