//! A finished report folder read back from disk, for `merge` and `compare`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use crate::Error;
use crate::hlog::{KINDS, hlog_start_time, split_tag};
use crate::hlog_sum::sum_hlog;
use crate::runlog::files;
use crate::stats::new_histogram;
use crate::summary::{SCHEMA_VERSION, SUMMARY_CAP, Summary};
use crate::timeseries::{TimeseriesRow, read_timeseries};

/// One op's histograms, in the order of [`KINDS`].
pub(crate) type OpHists = [Histogram<u64>; KINDS.len()];

pub(crate) fn empty_hists() -> OpHists {
    std::array::from_fn(|_| new_histogram())
}

/// The saved data of one report folder.
#[derive(Debug)]
pub(crate) struct Folder {
    pub dir: PathBuf,
    pub summary: Summary,
    /// histograms.hlog's `#[StartTime: ...]`: when the run started, since the Unix epoch.
    /// The histograms themselves are read when needed, one at a time: an hour-long log
    /// decoded whole takes gigabytes.
    pub start_time: Option<std::time::Duration>,
    pub rows: Vec<TimeseriesRow>,
}

/// Whole-run histograms, summed from the interval log.
#[derive(Debug)]
pub(crate) struct Totals {
    /// The untagged (overall latency) histograms.
    pub overall: Histogram<u64>,
    pub ops: BTreeMap<String, OpHists>,
}

/// A problem with an input folder (exit code 2), located by its path.
pub(crate) fn bad(path: &Path, message: impl Into<String>) -> Error {
    // Messages quote tags from the log: a tag can be a line long.
    Error::Input { path: path.into(), message: einv_core::input::clip_message(message.into()) }
}

/// Any error from reading `path` (unreadable, malformed) is the input's fault.
pub(crate) fn unreadable(path: &Path, e: Error) -> Error {
    match e {
        Error::Format { path, message } => Error::Input { path, message },
        Error::Io { path, source } => Error::Input { path, message: format!("cannot read: {source}") },
        Error::Csv { path, source } => Error::Input { path, message: source.to_string() },
        input @ Error::Input { .. } => input,
        other => bad(path, other.to_string()),
    }
}

/// Add `h` into `into`; both must hold the same unit and range.
pub(crate) fn add(into: &mut Histogram<u64>, h: &Histogram<u64>, path: &Path) -> Result<(), Error> {
    into.add(h).map_err(|e| bad(path, format!("a histogram does not fit einv-load's range: {e:?}")))
}

impl Folder {
    /// Read summary.json, histograms.hlog and timeseries.csv of `dir`.
    pub fn load(dir: &Path) -> Result<Folder, Error> {
        if !dir.is_dir() {
            return Err(bad(dir, "not a report folder (no such directory)"));
        }
        for f in [files::SUMMARY, files::HLOG, files::TIMESERIES] {
            // Present but not a regular file: its reader says so.
            if !dir.join(f).exists() {
                let why = if f == files::SUMMARY { " (written last: the run may not have finished)" } else { "" };
                return Err(bad(dir, format!("not a complete report folder: {f} is missing{why}")));
            }
        }
        let path = dir.join(files::SUMMARY);
        let bytes = einv_core::input::read(&path, SUMMARY_CAP).map_err(|e| Error::input(&path, &e))?;
        let summary: Summary = serde_json::from_slice(&bytes).map_err(|e| bad(&path, e.to_string()))?;
        if summary.schema_version != SCHEMA_VERSION {
            let v = summary.schema_version;
            return Err(bad(&path, format!("schema_version {v}, this einv-load reads {SCHEMA_VERSION}")));
        }
        let hlog = dir.join(files::HLOG);
        let start_time = hlog_start_time(&hlog).map_err(|e| unreadable(&hlog, e))?;
        let csv = dir.join(files::TIMESERIES);
        let rows = read_timeseries(&csv).map_err(|e| unreadable(&csv, e))?;
        Ok(Folder { dir: dir.into(), summary, start_time, rows })
    }

    /// The interval log's histograms summed over the run, checked against summary.json so
    /// that a truncated or foreign log is refused instead of silently merged.
    pub fn totals(&self) -> Result<Totals, Error> {
        let path = self.dir.join(files::HLOG);
        let mut totals = Totals { overall: new_histogram(), ops: BTreeMap::new() };
        for name in self.summary.ops.keys() {
            totals.ops.insert(name.clone(), empty_hists());
        }
        for (tag, histogram) in sum_hlog(&path).map_err(|e| unreadable(&path, e))? {
            let Some(tag) = &tag else {
                add(&mut totals.overall, &histogram, &path)?;
                continue;
            };
            let (op, slot) = split_tag(tag).ok_or_else(|| bad(&path, format!("unknown histogram tag {tag:?}")))?;
            let hists = totals
                .ops
                .get_mut(op)
                .ok_or_else(|| bad(&path, format!("tag {tag:?}: op {op:?} is not in summary.json")))?;
            add(&mut hists[slot], &histogram, &path)?;
        }
        let mismatch = |scope: &str, what: &str, log: u64, saved: u64| {
            let message = format!("holds {log} {what} values for {scope} but summary.json counts {saved}");
            bad(&path, message)
        };
        for (name, [latency, service, ..]) in &totals.ops {
            let saved = &self.summary.ops[name];
            if latency.len() != saved.latency_ms.count {
                return Err(mismatch(name, "latency", latency.len(), saved.latency_ms.count));
            }
            if service.len() != saved.service_ms.count {
                return Err(mismatch(name, "service", service.len(), saved.service_ms.count));
            }
        }
        let saved = self.summary.overall.latency_ms.count;
        if totals.overall.len() != saved {
            return Err(mismatch("overall", "latency", totals.overall.len(), saved));
        }
        Ok(totals)
    }

    /// The folder's last path component, for messages and default names.
    pub fn label(&self) -> String {
        self.dir.file_name().map_or_else(|| self.dir.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}
