//! A report folder: the files it holds ([`files`]), and the one reader of a finished
//! folder, used by `report`, `merge` and `compare` alike. [`Folder::open`] reads what is
//! small (summary.json, timeseries.csv, the log's start time) with every check a reader
//! applies; the histograms are summed from histograms.hlog only when asked for
//! ([`Folder::totals`]): `merge` takes one folder's at a time. And the one step that
//! completes a folder whose data files are written ([`complete`]): `run`, `simulate` and
//! `merge` end with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::Error;
use crate::failures::{FailedExchange, read_errors_jsonl};
use crate::histograms::{Histograms, Timing};
use crate::hlog::{hlog_start_time, parse_tag};
use crate::hlog_sum::{sum_hlog, sum_hlog_windows};
use crate::pool::{POOL_CSV, PoolRow, read_pool_csv};
use crate::render::render_folder;
use crate::summary::{SCHEMA_VERSION, SUMMARY_CAP, Summary};
use crate::timeseries::{TimeseriesRow, read_timeseries};
use crate::write::{NotWritten, Reserved};

/// The most points a per-op latency timeline has: enough to see a ramp break, few enough
/// to read in a small panel.
pub const OP_WINDOWS: usize = 120;

/// A point of an op's latency timeline: (window end in s from the run's start, p50 ms,
/// p99 ms).
pub type OpPoint = (f64, f64, f64);

/// The names of the files in a report folder.
pub mod files {
    pub const SUMMARY: &str = "summary.json";
    pub const TIMESERIES: &str = "timeseries.csv";
    pub const HLOG: &str = "histograms.hlog";
    pub const LATENCY_HGRM: &str = "latency.hgrm";
    pub const SERVICE_HGRM: &str = "service.hgrm";
    pub const SPECTRUM_SVG: &str = "latency-spectrum.svg";
    pub const TIMELINE_SVG: &str = "latency-timeline.svg";
    pub const SPECTRUM_OPS_SVG: &str = "latency-spectrum-ops.svg";
    pub const ERRORS_SVG: &str = "errors-timeline.svg";
    pub const CONNECTIONS_SVG: &str = "connections-timeline.svg";
    pub const POOL_SVG: &str = "pool-timeline.svg";
    pub const OPS_TIMELINE_SVG: &str = "latency-timeline-ops.svg";
    pub const INDEX_HTML: &str = "index.html";
    pub const SUMMARY_MD: &str = "summary.md";
    pub const JUNIT_XML: &str = "junit.xml";
    /// The failing exchanges kept (live runs): data, but optional as pool.csv is.
    pub const ERRORS_JSONL: &str = "errors.jsonl";
    /// The files made from the data files (summary.json, timeseries.csv, histograms.hlog,
    /// pool.csv): what `einv-load report` rewrites.
    pub const DERIVED: [&str; 12] = [
        LATENCY_HGRM,
        SERVICE_HGRM,
        SPECTRUM_SVG,
        TIMELINE_SVG,
        OPS_TIMELINE_SVG,
        SPECTRUM_OPS_SVG,
        ERRORS_SVG,
        CONNECTIONS_SVG,
        POOL_SVG,
        INDEX_HTML,
        SUMMARY_MD,
        JUNIT_XML,
    ];
    /// The data files a run writes besides pool.csv (which only a simulation has).
    const DATA: [&str; 3] = [SUMMARY, TIMESERIES, HLOG];

    /// Whether `file` holds data (what every other file is rendered from): a report
    /// missing one cannot be rendered again or merged.
    pub fn is_data(file: &str) -> bool {
        DATA.contains(&file) || file == crate::POOL_CSV || file == ERRORS_JSONL
    }

    /// Whether `dir` holds a report, finished or being written, or a comparison.
    pub fn holds_report(dir: &std::path::Path) -> bool {
        let summary = dir.join(SUMMARY);
        summary.exists() || crate::temp_path(&summary).exists() || dir.join(crate::compare::COMPARE_JSON).exists()
    }
    /// Every file a report folder may hold: the data files, then the derived ones.
    pub const ALL: [&str; DATA.len() + DERIVED.len()] = {
        let mut all = [""; DATA.len() + DERIVED.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = if i < DATA.len() { DATA[i] } else { DERIVED[i - DATA.len()] };
            i += 1;
        }
        all
    };
}

/// A finished report folder read back, but for its histograms.
#[derive(Debug, Clone)]
pub struct Folder {
    pub dir: PathBuf,
    /// summary.json.
    pub summary: Summary,
    /// timeseries.csv, one row per interval.
    pub timeseries: Vec<TimeseriesRow>,
    /// histograms.hlog's `#[StartTime: ...]`: when the run started, since the Unix epoch.
    pub start_time: Option<Duration>,
    /// errors.jsonl: the failing exchanges kept (empty when the folder has none).
    pub errors: Vec<FailedExchange>,
}

/// Whole-run histograms (microseconds), summed from an interval log.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// The whole run: the latency is the log's untagged intervals (what the run saw);
    /// every other timing is the sum of the ops'.
    pub overall: Histograms,
    /// Per op, the sum of its intervals.
    pub ops: BTreeMap<String, Histograms>,
}

/// A report folder with its histograms and pool gauges: what every derived file is
/// rendered from, whether read back (`einv-load report`) or just written (a run's end).
#[derive(Debug, Clone)]
pub struct Saved {
    pub folder: Folder,
    pub totals: Totals,
    /// pool.csv (simulated runs only).
    pub pool: Option<Vec<PoolRow>>,
}

impl Folder {
    /// Read the report folder `dir`, with the checks every reader applies: the folder is
    /// finished (summary.json, written last, is there), of this schema, with its data
    /// files. A problem is the input's ([`Error::is_bad_input`]) and names the file; a
    /// folder holding no report file at all is [`Error::NotReport`].
    pub fn open(dir: &Path) -> Result<Folder, Error> {
        let summary = read_summary(dir)?;
        let hlog = dir.join(files::HLOG);
        let start_time = hlog_start_time(&hlog).map_err(|e| unreadable(&hlog, e))?;
        let csv = dir.join(files::TIMESERIES);
        let timeseries = read_timeseries(&csv).map_err(|e| unreadable(&csv, e))?;
        let jsonl = dir.join(files::ERRORS_JSONL);
        let errors =
            if jsonl.exists() { read_errors_jsonl(&jsonl).map_err(|e| unreadable(&jsonl, e))? } else { Vec::new() };
        Ok(Folder { dir: dir.into(), summary, start_time, timeseries, errors })
    }

    /// The interval log's histograms summed over the run, checked against summary.json:
    /// each op's latency and service counts and the overall latency count must match, so
    /// an empty, cut, doubled or foreign log is refused. Every op of the summary is
    /// there, empty if it never ran.
    pub fn totals(&self) -> Result<Totals, Error> {
        let path = self.dir.join(files::HLOG);
        let mut totals = Totals::read(&path)?;
        for name in self.summary.ops.keys() {
            totals.ops.entry(name.clone()).or_default();
        }
        let counts =
            totals.ops.iter().map(|(name, h)| (name.as_str(), [h[Timing::Latency].len(), h[Timing::Service].len()]));
        check_totals(&path, &self.summary, totals.overall[Timing::Latency].len(), counts)?;
        Ok(totals)
    }

    /// Each op's latency p50 and p99 (ms) over at most `OP_WINDOWS` (120) windows of whole
    /// seconds, each point at its window's end (s from the run's start): the per-op
    /// timelines. Read in one pass holding one histogram per op, however long the run.
    pub fn op_timelines(&self) -> Result<BTreeMap<String, Vec<OpPoint>>, Error> {
        let span = self.summary.run.duration_s + self.summary.run.drain_s;
        let width = (span / OP_WINDOWS as f64).ceil().max(1.0);
        let mut out: BTreeMap<String, Vec<OpPoint>> = BTreeMap::new();
        self.op_windows(Timing::Latency, width, |op, window, h| {
            if !h.is_empty() {
                let ms = |q| crate::histograms::us_to_ms(h.value_at_quantile(q));
                out.entry(op.to_string()).or_default().push(((window + 1) as f64 * width, ms(0.5), ms(0.99)));
            }
        })?;
        Ok(out)
    }

    /// Each op's `timing` histograms summed per window of `width` seconds (window `k`
    /// starts at `k * width`), handed to `done(op, k, sum)` as each window closes: one
    /// pass over histograms.hlog holding one histogram per op, however long the run.
    pub fn op_windows(
        &self,
        timing: Timing,
        width: f64,
        mut done: impl FnMut(&str, u64, &Histogram<u64>),
    ) -> Result<(), Error> {
        let path = self.dir.join(files::HLOG);
        let key = |tag: Option<&str>, start: Duration| match tag.map(parse_tag) {
            Some(Some((op, t))) if t == timing => Some((op.to_string(), (start.as_secs_f64() / width) as u64)),
            _ => None,
        };
        sum_hlog_windows(&path, key, |op: &String, window, h| done(op, window, h)).map_err(|e| unreadable(&path, e))
    }

    /// Each op's `timing` histogram summed over the intervals whose start `keep` accepts
    /// (the others are skipped undecoded): an op's figures over a chosen part of the run.
    pub fn op_sums(
        &self,
        timing: Timing,
        mut keep: impl FnMut(Duration) -> bool,
    ) -> Result<BTreeMap<String, Histogram<u64>>, Error> {
        let path = self.dir.join(files::HLOG);
        let key = |tag: Option<&str>, start: Duration| match tag.map(parse_tag) {
            Some(Some((op, t))) if t == timing && keep(start) => Some(op.to_string()),
            _ => None,
        };
        crate::hlog_sum::sum_hlog_by(&path, key).map_err(|e| unreadable(&path, e))
    }

    /// pool.csv, if the folder has one (a simulated run's).
    pub fn pool(&self) -> Result<Option<Vec<PoolRow>>, Error> {
        let path = self.dir.join(POOL_CSV);
        if !path.exists() {
            return Ok(None);
        }
        read_pool_csv(&path).map(Some).map_err(|e| unreadable(&path, e))
    }

    /// The folder's last path component, for messages and default names.
    pub fn label(&self) -> String {
        self.dir.file_name().map_or_else(|| self.dir.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}

impl Totals {
    /// The totals of a run from its ops' histograms: the overall ones are their sums.
    pub fn of<'a>(ops: impl IntoIterator<Item = (&'a str, &'a Histograms)>) -> Totals {
        let mut totals = Totals::default();
        for (name, h) in ops {
            totals.overall.merge(h);
            totals.ops.insert(name.to_string(), h.clone());
        }
        totals
    }

    /// Sum the interval log at `path` per op and timing (tags `<op>:<timing>`); the
    /// untagged intervals are the overall latency. An unknown tag is refused.
    pub fn read(path: &Path) -> Result<Totals, Error> {
        let mut totals = Totals::default();
        for (tag, histogram) in sum_hlog(path).map_err(|e| unreadable(path, e))? {
            let Some(tag) = tag else {
                totals.overall[Timing::Latency] = histogram;
                continue;
            };
            let (op, t) = parse_tag(&tag).ok_or_else(|| bad(path, format!("unknown histogram tag {tag:?}")))?;
            if t != Timing::Latency {
                // Summed histograms are all auto-sized and in range: add() cannot fail.
                let _ = totals.overall[t].add(&histogram);
            }
            // A tag is summed once: this is its whole-run histogram.
            totals.ops.entry(op.to_string()).or_default()[t] = histogram;
        }
        Ok(totals)
    }
}

impl Saved {
    /// Read the report folder `dir` whole (see [`Folder::open`]), its histograms checked
    /// against its summary ([`Folder::totals`]).
    pub fn load(dir: &Path) -> Result<Saved, Error> {
        let folder = Folder::open(dir)?;
        let totals = folder.totals()?;
        let pool = folder.pool()?;
        Ok(Saved { folder, totals, pool })
    }
}

/// The space reserved for summary.json in `dir`, before a run's (or a merge's) large
/// files: a six-op run's summary takes about 15 kB (each op's percentiles, statuses and
/// checks); this leaves room for many more statuses, checks and warnings.
pub(crate) fn reserve_summary(dir: &Path, ops: usize) -> Result<Reserved, Error> {
    Reserved::new(&dir.join(files::SUMMARY), 64 * 1024 + 16 * 1024 * ops as u64)
}

/// Complete the report folder of `saved`, whose data files are written (`not_written`
/// lists those that could not be): render every derived file, then write summary.json
/// into its `reserved` space, last: its presence means the folder is finished, and its
/// `not_written` says which files are missing. Files that cannot be written (a full
/// disk) are listed there and in the warnings, not an error: the summary is the result,
/// and the caller prints it whatever happened to the files. The data is safe on disk
/// whatever happens here: a failed render is a warning, and `einv-load report DIR` can
/// try again.
pub(crate) fn complete(reserved: Reserved, saved: Saved, mut not_written: Vec<NotWritten>) -> Result<Summary, Error> {
    let mut warning = None;
    match render_folder(&saved.folder.dir, &saved) {
        Ok(rendered) => not_written.extend(rendered.not_written),
        Err(e) => warning = Some(format!("report files not all written: {e}")),
    }
    let mut summary = saved.folder.summary;
    summary.warnings.extend(warning);
    if !not_written.is_empty() {
        let files: Vec<&str> = not_written.iter().map(|n| n.file.as_str()).collect();
        let error = &not_written[0].error;
        summary.warnings.push(format!("not written: {} ({error})", files.join(", ")));
    }
    summary.not_written = not_written;
    if let Err(e) = reserved.fill(&serde_json::to_vec_pretty(&summary)?) {
        summary.warnings.push(format!("not written: {} ({e})", files::SUMMARY));
        summary.not_written.push(NotWritten { file: files::SUMMARY.into(), error: e.to_string() });
    }
    Ok(summary)
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
        input @ (Error::Input { .. } | Error::NotReport { .. }) => input,
        other => bad(path, other.to_string()),
    }
}

/// Add `h` into `into`; both must hold the same unit and range.
pub(crate) fn add(into: &mut Histogram<u64>, h: &Histogram<u64>, path: &Path) -> Result<(), Error> {
    if !crate::histograms::in_range(h) {
        return Err(bad(path, crate::histograms::out_of_range(h.max())));
    }
    into.add(h).map_err(|e| bad(path, format!("a histogram does not fit einv-load's range: {e:?}")))
}

/// summary.json of the report folder `dir`, with the checks every reader of a folder
/// applies: the folder is finished (summary.json, written last, is there), its schema is
/// this einv-load's, and its data files are all there.
fn read_summary(dir: &Path) -> Result<Summary, Error> {
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
fn check_totals<'a>(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_summary_is_not_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let e = Saved::load(dir.path()).unwrap_err();
        assert!(matches!(e, Error::NotReport { .. }));
        assert!(e.to_string().contains("not a report folder"), "{e}");
    }

    #[test]
    fn a_broken_summary_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(files::SUMMARY), "{\"schema_version\": 1").unwrap();
        let e = Saved::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("summary.json"), "{e}");
    }

    #[test]
    fn a_folder_with_report_files_but_no_summary_is_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(files::HLOG), "").unwrap();
        let e = Saved::load(dir.path()).unwrap_err();
        assert!(e.is_bad_input() && e.to_string().contains("summary.json is missing"), "{e}");
    }

    #[test]
    fn all_files_are_the_data_files_then_the_derived_ones_once_each() {
        assert_eq!(files::ALL[..3], [files::SUMMARY, files::TIMESERIES, files::HLOG]);
        assert_eq!(files::ALL[3..], files::DERIVED);
        let mut unique = files::ALL.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), files::ALL.len());
    }
}
