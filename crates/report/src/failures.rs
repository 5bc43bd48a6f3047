//! The failing exchanges a run keeps to show what went wrong: errors.jsonl, the first
//! few requests per (op, class) that failed, with the start of what the service answered.
//!
//! Bounded: a [`FailureSampler`] keeps at most `cap` exchanges per op and class, each
//! with at most [`BODY_BYTES`] of its body, and once a kind is full a failure costs one
//! atomic load. Successful requests never reach it.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::outcome::ErrorClass;

/// How many failing exchanges are kept per (op, class) unless told otherwise.
pub const DEFAULT_ERROR_SAMPLES: usize = 5;

/// How much of a failing response's body is kept (UTF-8-lossy).
pub const BODY_BYTES: usize = 512;

/// A request line longer than this is cut: a path rendered from data can be long.
const REQUEST_CHARS: usize = 1024;

/// The largest errors.jsonl read back: ops × kinds × cap × ~2 kB.
const ERRORS_CAP: einv_core::input::Cap = einv_core::input::Cap { bytes: 64 << 20, what: "errors.jsonl" };

/// Why a request counts as failed, for the sample: an error of its class, or an answer
/// that failed its op's checks (a status the check accepts, a body it does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Error(ErrorClass),
    Check,
}

impl FailureKind {
    const COUNT: usize = ErrorClass::COUNT + 1;

    /// The name errors.jsonl's `class` holds: the error class, or `check_failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Error(class) => class.as_str(),
            FailureKind::Check => "check_failed",
        }
    }

    fn index(self) -> usize {
        match self {
            FailureKind::Error(class) => ErrorClass::ALL.iter().position(|c| *c == class).unwrap_or(0),
            FailureKind::Check => ErrorClass::COUNT,
        }
    }
}

/// One failing exchange: a line of errors.jsonl.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FailedExchange {
    /// When the request went out (or was given up, when it waited past its deadline for
    /// a connection), seconds from the run's start.
    pub at_s: f64,
    pub op: String,
    /// Method and path, `${env.*}` values masked.
    pub request: String,
    /// The response's status; absent when none came (refused, reset, timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The error class, or `check_failed`.
    pub class: String,
    /// The op's check it failed first, when it failed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// The first [`BODY_BYTES`] of the response body, UTF-8-lossy, secrets masked.
    pub body: String,
}

impl FailedExchange {
    /// `body`'s first [`BODY_BYTES`] bytes as text (bytes that are not UTF-8, and a
    /// character cut at the end, become U+FFFD).
    pub fn body_start(body: &[u8]) -> String {
        String::from_utf8_lossy(&body[..body.len().min(BODY_BYTES)]).into_owned()
    }

    /// `request` cut to a bounded length.
    pub fn request_line(request: String) -> String {
        match request.char_indices().nth(REQUEST_CHARS) {
            Some((end, _)) => format!("{}...", &request[..end]),
            None => request,
        }
    }
}

/// The failing exchanges a run kept, and how many it kept at most per (op, class).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorSample {
    pub cap: usize,
    /// In time order.
    pub exchanges: Vec<FailedExchange>,
}

impl ErrorSample {
    /// Write errors.jsonl into `dir` (atomically); what was not written, if anything.
    pub(crate) fn write(&self, dir: &Path) -> Option<crate::NotWritten> {
        let file = crate::files::ERRORS_JSONL;
        let written = errors_jsonl(&self.exchanges).and_then(|bytes| crate::write_file(&dir.join(file), &bytes));
        written.err().map(|e| crate::NotWritten { file: file.into(), error: e.to_string() })
    }
}

/// Where workers offer their failures; keeps the first `cap` per (op, kind).
#[derive(Debug)]
pub struct FailureSampler {
    cap: usize,
    /// Per (op, kind): offers taken so far (stops counting at `cap`).
    taken: Box<[AtomicUsize]>,
    kept: Mutex<Vec<FailedExchange>>,
}

impl FailureSampler {
    /// A sampler for `ops` operations keeping `cap` exchanges per op and kind (0: none).
    pub fn new(ops: usize, cap: usize) -> Self {
        let taken = (0..ops * FailureKind::COUNT).map(|_| AtomicUsize::new(0)).collect();
        FailureSampler { cap, taken, kept: Mutex::new(Vec::new()) }
    }

    /// How many exchanges it keeps per op and kind.
    pub fn cap(&self) -> usize {
        self.cap
    }

    fn slot(&self, op: usize, kind: FailureKind) -> Option<&AtomicUsize> {
        self.taken.get(op * FailureKind::COUNT + kind.index())
    }

    /// Whether a failure of `op` and `kind` would still be kept (worth reading its body).
    pub fn wants(&self, op: usize, kind: FailureKind) -> bool {
        self.slot(op, kind).is_some_and(|n| n.load(Ordering::Relaxed) < self.cap)
    }

    /// Keep the exchange `make` describes, if its (op, kind) is not full yet; `make` runs
    /// only then. Returns whether it was kept.
    pub fn offer(&self, op: usize, kind: FailureKind, make: impl FnOnce() -> FailedExchange) -> bool {
        let Some(n) = self.slot(op, kind) else { return false };
        // Checked first so that a full kind is never counted on: the counter stays ≤ cap
        // plus the workers racing for its last place.
        if n.load(Ordering::Relaxed) >= self.cap || n.fetch_add(1, Ordering::Relaxed) >= self.cap {
            return false;
        }
        let exchange = make();
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).push(exchange);
        true
    }

    /// Everything kept, in time order.
    pub fn take(&self) -> ErrorSample {
        let kept = std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()));
        ErrorSample { cap: self.cap, exchanges: first_per_kind(kept, self.cap) }
    }
}

/// The first `cap` exchanges per (op, class) of `all`, in time order (what a merge keeps of
/// its shards' samples).
pub fn first_per_kind(mut all: Vec<FailedExchange>, cap: usize) -> Vec<FailedExchange> {
    all.sort_by(|a, b| a.at_s.total_cmp(&b.at_s).then_with(|| a.op.cmp(&b.op)));
    let mut seen: std::collections::BTreeMap<(String, String), usize> = Default::default();
    all.retain(|e| {
        let n = seen.entry((e.op.clone(), e.class.clone())).or_default();
        *n += 1;
        *n <= cap
    });
    all
}

/// errors.jsonl's bytes: one JSON object a line.
pub fn errors_jsonl(sample: &[FailedExchange]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for e in sample {
        serde_json::to_writer(&mut out, e)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Read errors.jsonl at `path`; a line that is not a failing exchange is bad input,
/// named by its line number.
pub fn read_errors_jsonl(path: &Path) -> Result<Vec<FailedExchange>, Error> {
    let text = einv_core::input::read_to_string(path, ERRORS_CAP).map_err(|e| Error::input(path, &e))?;
    let lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    lines
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| crate::folder::bad(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(at_s: f64, op: &str, class: &str) -> FailedExchange {
        FailedExchange {
            at_s,
            op: op.into(),
            request: "GET /x".into(),
            status: Some(404),
            class: class.into(),
            check: None,
            body: "no".into(),
        }
    }

    #[test]
    fn the_sampler_keeps_the_first_cap_of_each_op_and_kind_only() {
        let s = FailureSampler::new(2, 3);
        let four = FailureKind::Error(ErrorClass::Http4xx);
        let mut made = 0;
        for i in 0..100u32 {
            s.offer(i as usize % 2, four, || {
                made += 1;
                exchange(f64::from(i), if i % 2 == 0 { "a" } else { "b" }, "http_4xx")
            });
        }
        assert!(s.offer(0, FailureKind::Check, || exchange(0.5, "a", "check_failed")));
        assert!(!s.wants(0, four) && s.wants(0, FailureKind::Error(ErrorClass::Timeout)));
        assert!(!s.wants(7, four), "an op it does not know is never kept");
        assert_eq!(made, 6, "the exchange is described only when kept");
        let kept = s.take().exchanges;
        let at: Vec<(f64, &str)> = kept.iter().map(|e| (e.at_s, e.op.as_str())).collect();
        assert_eq!(at, [(0.0, "a"), (0.5, "a"), (1.0, "b"), (2.0, "a"), (3.0, "b"), (4.0, "a"), (5.0, "b")]);
    }

    #[test]
    fn a_merge_keeps_the_earliest_of_its_shards() {
        let shards = vec![exchange(3.0, "a", "timeout"), exchange(1.0, "a", "timeout"), exchange(2.0, "a", "timeout")];
        let kept = first_per_kind(shards, 2);
        assert_eq!(kept.iter().map(|e| e.at_s).collect::<Vec<_>>(), [1.0, 2.0]);
    }

    #[test]
    fn errors_jsonl_reads_back_and_a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("errors.jsonl");
        let sample =
            vec![exchange(1.0, "a", "http_4xx"), FailedExchange { status: None, ..exchange(2.0, "b", "reset") }];
        std::fs::write(&path, errors_jsonl(&sample).unwrap()).unwrap();
        assert_eq!(read_errors_jsonl(&path).unwrap(), sample);
        std::fs::write(&path, b"{\"at_s\":1}\n").unwrap();
        let e = read_errors_jsonl(&path).unwrap_err();
        assert!(e.is_bad_input() && e.to_string().contains("errors.jsonl: line 1: missing field"), "{e}");
    }

    #[test]
    fn a_body_is_cut_and_read_lossily() {
        let body = "é".repeat(400);
        let start = FailedExchange::body_start(body.as_bytes());
        assert_eq!(start.chars().filter(|c| *c == 'é').count(), BODY_BYTES / 2);
        assert_eq!(FailedExchange::body_start(b"\xff{}"), "\u{fffd}{}");
    }
}
