//! Entry points for the fuzz targets in `fuzz/` and for the test that replays their
//! corpus: bytes in, read the way a run reads a user's file. Errors are the expected answer
//! to most inputs; a panic, a hang, an allocation past the fuzzer's bound or a broken
//! promise below (asserted) is a finding.
//!
//! The bytes are written to a file and read through the public readers, not through an
//! in-memory shortcut, so the fuzzer also exercises the file handling a run relies on:
//! [`einv_core::input::open`], the bounded reader under csv, and the seek a Circular or
//! Random feeder makes when it wraps.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::feeder::{FeedMode, Feeder};
use crate::trace::TraceReader;

/// Rows asked of each feeder: enough to wrap a small file several times.
const FEEDER_ROWS: usize = 256;

/// `data` as the trace file `dir/trace.csv`, read to its end or its first error.
///
/// Asserts what the trace format promises of the entries it hands out: indexes count up
/// from 0, lines rise, `at` never decreases, every op is non-empty; and that a reader stops
/// after its first error.
pub fn trace(dir: &Path, data: &[u8]) {
    let path = write(dir, "trace.csv", data);
    let Ok(mut reader) = TraceReader::open(&path, 1.0) else { return };
    // The header is line 1, so data starts at line 2 at the earliest.
    let (mut index, mut line, mut at) = (0, 1, Duration::ZERO);
    for entry in reader.by_ref() {
        let Ok(e) = entry else { break };
        assert_eq!(e.index, index, "indexes count data rows from 0");
        assert!(e.line > line, "line {} after line {line}: lines rise", e.line);
        assert!(e.at >= at, "offset {:?} after {at:?}: offsets never decrease", e.at);
        assert!(!e.op.is_empty(), "an empty op is an error, not an entry");
        (index, line, at) = (index + 1, e.line, e.at);
    }
    assert!(reader.next().is_none(), "the reader stops at the end or at its first error");
}

/// `data` as the feeder file `dir/feeder.csv`, drawn from in every [`FeedMode`].
///
/// Asserts that the modes agree on one file: Sequential gives its rows in order, each with
/// one field per column; Circular gives the same rows over and over; Random draws only
/// those rows; a bad row stops every mode with the same error, and a file without rows
/// fails the two modes that never run out.
pub fn feeder(dir: &Path, data: &[u8]) {
    let path = write(dir, "feeder.csv", data);
    let Ok(mut sequential) = Feeder::open(&path, FeedMode::Sequential, 0) else { return };
    let width = sequential.columns().len();
    let mut rows = Vec::new();
    let end = loop {
        match sequential.next_row() {
            Ok(Some(_)) if rows.len() == FEEDER_ROWS => return, // the wrap is beyond the draws
            Ok(Some(row)) => rows.push(row.to_vec()),
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    assert!(rows.iter().all(|r| r.len() == width), "every row has one field per column");
    for mode in [FeedMode::Circular, FeedMode::Random] {
        let mut feeder = Feeder::open(&path, mode, 7).expect("the file opened in Sequential mode");
        // Circular hands out the good rows first; Random fills its window before it draws.
        let fails_at = if mode == FeedMode::Circular { rows.len() } else { 0 };
        for k in 0..FEEDER_ROWS {
            let row = match feeder.next_row() {
                Ok(row) => row.unwrap_or_else(|| panic!("{mode:?} never runs out")),
                Err(e) => {
                    let e = e.to_string();
                    assert_eq!(k, fails_at, "{mode:?} fails where Sequential did: {e}");
                    match &end {
                        Some(expected) => assert_eq!(&e, expected, "{mode:?} fails as Sequential did"),
                        None => assert!(rows.is_empty() && e.contains("no data rows"), "{mode:?}: {e}"),
                    }
                    break;
                }
            };
            let expected = k < fails_at || (end.is_none() && !rows.is_empty());
            assert!(expected, "{mode:?} gives row {k}, where Sequential found no more good rows");
            match mode {
                FeedMode::Circular => assert_eq!(row, rows[k % rows.len()], "circular row {k}"),
                _ => assert!(rows.iter().any(|r| r == row), "a random draw is a row of the file"),
            }
        }
    }
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap_or_else(|e| panic!("cannot write the fuzz input {}: {e}", path.display()));
    path
}
