//! A finished report folder read back from disk, for `merge` and `compare`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use crate::Error;
use crate::histograms::{Histograms, Timing, new_histogram};
use crate::hlog::{hlog_start_time, parse_tag};
use crate::hlog_sum::sum_hlog;
use crate::runlog::files;
use crate::summary::{SCHEMA_VERSION, SUMMARY_CAP, Summary};
use crate::timeseries::{TimeseriesRow, read_timeseries};

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
    pub ops: BTreeMap<String, Histograms>,
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
        let summary = read_summary(dir)?;
        let hlog = dir.join(files::HLOG);
        let start_time = hlog_start_time(&hlog).map_err(|e| unreadable(&hlog, e))?;
        let csv = dir.join(files::TIMESERIES);
        let rows = read_timeseries(&csv).map_err(|e| unreadable(&csv, e))?;
        Ok(Folder { dir: dir.into(), summary, start_time, rows })
    }

    /// The interval log's histograms summed over the run, checked against summary.json
    /// ([`check_totals`]).
    pub fn totals(&self) -> Result<Totals, Error> {
        let path = self.dir.join(files::HLOG);
        let mut totals = Totals { overall: new_histogram(), ops: BTreeMap::new() };
        for name in self.summary.ops.keys() {
            totals.ops.insert(name.clone(), Histograms::new());
        }
        for (tag, histogram) in sum_hlog(&path).map_err(|e| unreadable(&path, e))? {
            let Some(tag) = &tag else {
                add(&mut totals.overall, &histogram, &path)?;
                continue;
            };
            let (op, t) = parse_tag(tag).ok_or_else(|| bad(&path, format!("unknown histogram tag {tag:?}")))?;
            add(&mut totals.ops.entry(op.to_string()).or_default()[t], &histogram, &path)?;
        }
        let counts =
            totals.ops.iter().map(|(name, h)| (name.as_str(), [h[Timing::Latency].len(), h[Timing::Service].len()]));
        check_totals(&path, &self.summary, totals.overall.len(), counts)?;
        Ok(totals)
    }

    /// The folder's last path component, for messages and default names.
    pub fn label(&self) -> String {
        self.dir.file_name().map_or_else(|| self.dir.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}

/// summary.json of the report folder `dir`, with the checks every reader of a folder
/// applies (`merge`, `compare`, `report`): the folder is finished (summary.json, written
/// last, is there), its schema is this einv-load's, and its data files are all there.
pub(crate) fn read_summary(dir: &Path) -> Result<Summary, Error> {
    if !dir.is_dir() {
        return Err(bad(dir, "not a report folder (no such directory)"));
    }
    let path = dir.join(files::SUMMARY);
    // Present but not a regular file (a FIFO, a device): the capped reader says so.
    if !path.exists() {
        // Other report files without summary.json: a run that never finished writing.
        let started = files::ALL.iter().any(|f| dir.join(f).exists()) || crate::temp_path(&path).exists();
        if !started {
            return Err(Error::NotReport { path: dir.into() });
        }
        let message =
            "not a complete report folder: summary.json is missing (written last: the run may not have finished)";
        return Err(bad(dir, message));
    }
    let bytes = einv_core::input::read(&path, SUMMARY_CAP).map_err(|e| Error::input(&path, &e))?;
    let summary: Summary = serde_json::from_slice(&bytes).map_err(|e| bad(&path, e.to_string()))?;
    if summary.schema_version != SCHEMA_VERSION {
        let v = summary.schema_version;
        return Err(bad(&path, format!("schema_version {v}, this einv-load reads {SCHEMA_VERSION}")));
    }
    if let Some(lost) = summary.not_written.iter().find(|n| files::is_data(&n.file)) {
        let message = format!("not a complete report folder: {} was not written ({})", lost.file, lost.error);
        return Err(bad(dir, message));
    }
    for f in [files::HLOG, files::TIMESERIES] {
        // Present but not a regular file: its reader says so.
        if !dir.join(f).exists() {
            return Err(bad(dir, format!("not a complete report folder: {f} is missing")));
        }
    }
    Ok(summary)
}

/// The interval log's sums (per op: latency and service counts; and the overall latency
/// count) checked against summary.json, so that an empty, truncated, duplicated or
/// foreign log is refused instead of rendered or merged. Ops of the summary that the log
/// never mentions must have counted nothing.
pub(crate) fn check_totals<'a>(
    path: &Path,
    summary: &Summary,
    overall: u64,
    ops: impl IntoIterator<Item = (&'a str, [u64; 2])>,
) -> Result<(), Error> {
    let mut logged: BTreeMap<&str, [u64; 2]> = ops.into_iter().collect();
    let mismatch = |scope: &str, what: &str, log: u64, saved: u64| {
        let message = format!("holds {log} {what} values for {scope} but summary.json counts {saved}");
        bad(path, message)
    };
    for (name, saved) in &summary.ops {
        let [latency, service] = logged.remove(name.as_str()).unwrap_or_default();
        if latency != saved.latency_ms.count {
            return Err(mismatch(name, "latency", latency, saved.latency_ms.count));
        }
        if service != saved.service_ms.count {
            return Err(mismatch(name, "service", service, saved.service_ms.count));
        }
    }
    if let Some(op) = logged.keys().next() {
        return Err(bad(path, format!("op {op:?} is in the log but not in summary.json")));
    }
    let saved = summary.overall.latency_ms.count;
    if overall != saved {
        return Err(mismatch("overall", "latency", overall, saved));
    }
    Ok(())
}
