//! The fuzz corpus (fuzz/corpus/<target>/), every crash the fuzzers found among it, run
//! through the entry points the fuzz targets call: CI checks that each stays fixed without
//! cargo-fuzz, libFuzzer or nightly flags.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

const FUZZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz");

/// Run every file of `fuzz/corpus/<target>` through `entry`; fail naming each that panics.
fn replay(target: &str, entry: impl Fn(&[u8])) {
    let folder = Path::new(FUZZ).join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("the corpus {} cannot be read: {e}", folder.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus {} is empty", folder.display());
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            catch_unwind(AssertUnwindSafe(|| entry(&data))).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs panic (messages above):\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn the_profile_corpus_replays() {
    let fixtures = Path::new(FUZZ).join("fixtures");
    replay("profile", |data| einv_engine::fuzzing::profile(&fixtures, data));
}

#[test]
fn the_trace_corpus_replays() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    replay("trace", |data| einv_workload::fuzzing::trace(dir.path(), data));
}

#[test]
fn the_feeder_corpus_replays() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    replay("feeder", |data| einv_workload::fuzzing::feeder(dir.path(), data));
}
