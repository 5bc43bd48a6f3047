use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::folder::{Folder, Saved, Totals, files};
use crate::histograms::Timing;
use crate::hlog::HlogWriter;
use crate::pool::{POOL_CSV, read_pool_csv};
use crate::render::render_folder;
use crate::slo::{SloReport, SloSpec};
use crate::stats::Stats;
use crate::summary::{Aborted, Connections, OpSummary, RunInfo, SCHEMA_VERSION, Summary, Tool};
use crate::timeseries::{TimeseriesRow, TimeseriesWriter, read_timeseries};
use crate::write::{NotWritten, Reserved, Streamed};

/// A run being recorded: streams one interval at a time to disk and keeps exact totals.
/// Memory is fixed (one `Stats` per op, twice); the time series lives only on disk.
///
/// A full disk does not lose the result: summary.json's space is reserved when the log
/// is created, a streamed file whose write fails stops (its temp file removed) while the
/// run goes on, and [`RunLog::finish`] lists in summary.json what was not written.
#[derive(Debug)]
pub struct RunLog {
    dir: PathBuf,
    ops: Vec<String>,
    totals: Vec<Stats>,
    overall: Stats,
    hlog: Streamed<HlogWriter>,
    timeseries: Streamed<TimeseriesWriter>,
    summary: Reserved,
    aborted: Option<Aborted>,
    /// Warnings the engine adds (TLS failures, verification off), after the lag warnings.
    notes: Vec<String>,
    not_written: Vec<NotWritten>,
}

/// The space reserved for summary.json: a six-op run's summary takes about 15 kB (each
/// op's percentiles, statuses and checks); this leaves room for many more statuses,
/// checks and warnings.
pub(crate) fn summary_reserve(ops: usize) -> u64 {
    64 * 1024 + 16 * 1024 * ops as u64
}

/// What the engine knows at the end of a run that the log does not.
#[derive(Debug, Clone)]
pub struct Finish {
    pub run: RunInfo,
    /// Arrivals the schedule intended, per op, over the span that ran.
    pub scheduled: Vec<u64>,
    /// The schedule's mean intended rate (expected arrivals / planned duration); 0 for
    /// closed loop.
    pub target_rate: f64,
    pub slo: SloSpec,
    pub connections: Connections,
    /// A send-lag p99 above this means the generator could not keep to the schedule.
    pub lag_warning: Duration,
    pub interrupted: bool,
    /// Names of the injected-fault tags by index, and whether each expects a rejection.
    pub tags: Vec<(String, bool)>,
    /// The modelled pool (simulated runs only).
    pub pool: Option<crate::PoolSummary>,
}

impl RunLog {
    /// Start a report in `dir` (which must exist) for ops named `ops`: summary.json's
    /// space first, then the streamed files. A disk too full for that fails here, before
    /// the run sends anything.
    pub fn create(dir: &Path, ops: &[String], started: SystemTime, label: &str) -> Result<Self, Error> {
        let summary = Reserved::new(&dir.join(files::SUMMARY), summary_reserve(ops.len()))?;
        let hlog = HlogWriter::create(&dir.join(files::HLOG), started, label)?;
        let timeseries = TimeseriesWriter::create(&dir.join(files::TIMESERIES))?;
        Ok(Self {
            dir: dir.into(),
            ops: ops.to_vec(),
            totals: vec![Stats::new(); ops.len()],
            overall: Stats::new(),
            hlog: Streamed::new(files::HLOG, hlog),
            timeseries: Streamed::new(files::TIMESERIES, timeseries),
            summary,
            aborted: None,
            notes: Vec::new(),
            not_written: Vec::new(),
        })
    }

    /// Record one interval (`interval` has one `Stats` per op and is reset afterwards).
    /// A file that cannot be written is not an error here (see [`RunLog`]).
    pub fn push(
        &mut self,
        start: Duration,
        length: Duration,
        target_rate: f64,
        connections: u64,
        interval: &mut [Stats],
    ) -> Result<TimeseriesRow, Error> {
        let at = start.as_secs_f64();
        self.overall.reset();
        for (i, stats) in interval.iter_mut().enumerate() {
            self.overall.merge(stats);
            if stats.sent > 0 {
                self.hlog.write(at, |w| w.write_op(&self.ops[i], &stats.hist, start, length));
            }
            self.totals[i].merge(stats);
            stats.reset();
        }
        let overall = &self.overall.hist[Timing::Latency];
        self.hlog.write(at, |w| w.write(overall, start, length, None).and_then(|()| w.flush()));
        let row = TimeseriesRow::new(at, length.as_secs_f64(), target_rate, connections, &self.overall);
        self.timeseries.write(at, |w| w.write(&row));
        Ok(row)
    }

    /// Totals so far, per op.
    pub fn totals(&self) -> &[Stats] {
        &self.totals
    }

    /// `spec` checked on the run so far (cumulative totals; rates over `elapsed`), as
    /// `abort-on-fail` does once per interval.
    pub fn slo_so_far(&self, spec: &SloSpec, elapsed: Duration) -> SloReport {
        let secs = elapsed.as_secs_f64();
        let mut overall = Stats::new();
        self.totals.iter().for_each(|s| overall.merge(s));
        let ops = self
            .ops
            .iter()
            .zip(&self.totals)
            .filter(|(name, _)| spec.ops.contains_key(*name))
            .map(|(name, stats)| (name.clone(), OpSummary::new(stats, 0, 0.0, secs)))
            .collect();
        spec.evaluate(&OpSummary::new(&overall, 0, 0.0, secs), &ops)
    }

    /// The run was stopped early by failing SLO checks: the summary says so and fails.
    pub fn mark_aborted(&mut self, aborted: Aborted) {
        self.aborted = Some(aborted);
    }

    /// Add a warning to the summary (shown with the others, saved in summary.json).
    pub fn warn(&mut self, warning: String) {
        self.notes.push(warning);
    }

    /// Files of this folder written elsewhere (pool.csv) that could not be written.
    pub fn add_not_written(&mut self, lost: impl IntoIterator<Item = NotWritten>) {
        self.not_written.extend(lost);
    }

    /// Close the streams, write every other file, and return the summary, also written as
    /// summary.json, last: its presence means the folder is finished, and its
    /// `not_written` says which files are missing. Files that cannot be written (a full
    /// disk) are listed there and in the warnings, not an error: the summary is the
    /// result of the run, and the caller prints it whatever happened to the files.
    pub fn finish(self, f: Finish) -> Result<Summary, Error> {
        let RunLog { dir, ops, totals, hlog, timeseries, summary: reserved, aborted, notes, mut not_written, .. } =
            self;
        not_written.extend(hlog.finish(HlogWriter::finish));
        not_written.extend(timeseries.finish(TimeseriesWriter::finish));

        let mut overall = Stats::new();
        totals.iter().for_each(|s| overall.merge(s));
        let scheduled_total: u64 = f.scheduled.iter().sum();
        let duration_s = f.run.duration_s;
        let op_summary = |stats: &Stats, scheduled: u64| {
            let share = if scheduled_total == 0 { 0.0 } else { scheduled as f64 / scheduled_total as f64 };
            OpSummary::new(stats, scheduled, f.target_rate * share, duration_s).with_injected(stats, &f.tags)
        };
        let overall_summary = op_summary(&overall, scheduled_total);
        let ops_summary: std::collections::BTreeMap<String, OpSummary> = ops
            .iter()
            .zip(&totals)
            .zip(&f.scheduled)
            .map(|((name, stats), &scheduled)| (name.clone(), op_summary(stats, scheduled)))
            .collect();

        let mut warnings = crate::text::warnings(&overall_summary, f.lag_warning, f.connections.limit);
        warnings.extend(notes);
        let mut slo = f.slo.evaluate(&overall_summary, &ops_summary);
        // An aborted run failed its SLO by definition, even if the requests still in
        // flight when it stopped pulled the final figures back under the limits.
        slo.passed &= aborted.is_none();
        let summary = Summary {
            schema_version: SCHEMA_VERSION,
            tool: Tool { name: "einv-load".into(), version: env!("CARGO_PKG_VERSION").into() },
            slo,
            overall: overall_summary,
            ops: ops_summary,
            run: f.run,
            connections: f.connections,
            warnings,
            pool: f.pool,
            interrupted: f.interrupted,
            aborted,
            not_written: Vec::new(),
        };
        let mut saved = saved_of(&dir, summary, (&ops, &totals, &overall), &not_written);
        // The data is safe on disk whatever happens here: a failed render is a warning, and
        // `einv-load report DIR` can try again.
        match render_folder(&dir, &saved) {
            Ok(rendered) => not_written.extend(rendered.not_written),
            Err(e) => saved.folder.summary.warnings.push(format!("report files not all written: {e}")),
        }
        fill_summary(reserved, saved.folder.summary, not_written)
    }
}

/// Write `summary`, listing `not_written`, into its reserved space; the summary returned
/// lists summary.json too when even that failed.
pub(crate) fn fill_summary(
    reserved: Reserved,
    mut summary: Summary,
    not_written: Vec<NotWritten>,
) -> Result<Summary, Error> {
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

/// The finished run as `einv-load report` would read it back from the folder, without
/// reading the histograms back: they are still in memory. A file that was not written
/// (or cannot be read back) renders as empty: its charts show nothing, the rest is whole.
fn saved_of(
    dir: &Path,
    summary: Summary,
    (ops, totals, overall): (&[String], &[Stats], &Stats),
    not_written: &[NotWritten],
) -> Saved {
    let written = |file: &str| !not_written.iter().any(|n| n.file == file);
    let timeseries = if written(files::TIMESERIES) { read_timeseries(&dir.join(files::TIMESERIES)).ok() } else { None };
    let pool_path = dir.join(POOL_CSV);
    let totals = Totals {
        overall: overall.hist.clone(),
        ops: ops.iter().zip(totals).map(|(name, s)| (name.clone(), s.hist.clone())).collect(),
    };
    Saved {
        folder: Folder { dir: dir.into(), summary, timeseries: timeseries.unwrap_or_default(), start_time: None },
        totals,
        pool: (written(POOL_CSV) && pool_path.exists()).then(|| read_pool_csv(&pool_path).ok()).flatten(),
    }
}
