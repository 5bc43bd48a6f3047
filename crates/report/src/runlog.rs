//! A run being recorded: streamed to its report folder once an interval, and the folder
//! completed at the end.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::failures::ErrorSample;
use crate::folder::{Folder, Saved, Totals, complete, files, reserve_summary};
use crate::histograms::Timing;
use crate::hlog::HlogWriter;
use crate::pool::PoolLog;
use crate::slo::{SloReport, SloSpec};
use crate::stages::Stages;
use crate::stats::Stats;
use crate::summary::{Aborted, Connections, OpSummary, Parts, RunInfo, Summary};
use crate::timeseries::{TimeseriesRow, TimeseriesWriter};
use crate::write::{Reserved, Streamed};

/// A run being recorded: streams one interval at a time to disk and keeps exact totals.
/// Memory is fixed (one `Stats` per op, twice) but for the time series' rows, kept as
/// written for the charts (~200 bytes an interval: 0.7 MB an hour).
///
/// A full disk does not lose the result: summary.json's space is reserved when the log
/// is created, a streamed file whose write fails stops (its temp file removed) while the
/// run goes on, and [`RunLog::finish`] lists in summary.json what was not written.
#[derive(Debug)]
pub struct RunLog {
    dir: PathBuf,
    started: SystemTime,
    ops: Vec<String>,
    totals: Vec<Stats>,
    overall: Stats,
    hlog: Streamed<HlogWriter>,
    timeseries: Streamed<TimeseriesWriter>,
    rows: Vec<TimeseriesRow>,
    summary: Reserved,
    aborted: Option<Aborted>,
    /// Warnings the engine adds (TLS failures, verification off), after the lag warnings.
    notes: Vec<String>,
    /// Statistics per stage and step, when the engine tracks them ([`RunLog::track`]).
    stages: Option<Stages>,
}

/// What the engine knows at the end of a run that the log does not.
#[derive(Debug)]
pub struct Finish {
    pub run: RunInfo,
    /// Arrivals the schedule intended, per op, over the span that ran.
    pub scheduled: Vec<u64>,
    /// The schedule's mean intended rate (expected arrivals / planned duration); 0 for
    /// closed loop.
    pub target_rate: f64,
    pub slo: SloSpec,
    /// The percentiles the reports show ([`Parts::percentiles`]).
    pub percentiles: Vec<crate::Quantile>,
    pub connections: Connections,
    /// A send-lag p99 above this means the generator could not keep to the schedule.
    pub lag_warning: Duration,
    pub interrupted: bool,
    /// Names of the injected-fault tags by index, and whether each expects a rejection.
    pub tags: Vec<(String, bool)>,
    /// Per op, its checks by index (what summary.json's `failed_checks` names).
    pub checks: Vec<Vec<String>>,
    /// The failing exchanges kept, for errors.jsonl (live runs only).
    pub errors: Option<ErrorSample>,
    /// The modelled pool's log (simulated runs only), finished with the run's.
    pub pool: Option<PoolLog>,
}

impl RunLog {
    /// Start a report in `dir` (which must exist) for ops named `ops`: summary.json's
    /// space first, then the streamed files. A disk too full for that fails here, before
    /// the run sends anything.
    pub fn create(dir: &Path, ops: &[String], started: SystemTime, label: &str) -> Result<Self, Error> {
        let summary = reserve_summary(dir, ops.len())?;
        let hlog = HlogWriter::create(&dir.join(files::HLOG), started, label)?;
        let timeseries = TimeseriesWriter::create(&dir.join(files::TIMESERIES))?;
        Ok(Self {
            dir: dir.into(),
            started,
            ops: ops.to_vec(),
            totals: vec![Stats::new(); ops.len()],
            overall: Stats::new(),
            hlog: Streamed::new(files::HLOG, hlog),
            timeseries: Streamed::new(files::TIMESERIES, timeseries),
            rows: Vec::new(),
            summary,
            aborted: None,
            notes: Vec::new(),
            stages: None,
        })
    }

    /// Keep statistics per stage and step of the schedule, and find the knee.
    pub fn track(&mut self, stages: Stages) {
        self.stages = Some(stages);
    }

    /// The stage tracking, for a look at the open stage so far.
    pub fn stages(&self) -> Option<&Stages> {
        self.stages.as_ref()
    }
    /// Record one interval (`interval` has one `Stats` per op and is reset afterwards).
    /// A file that cannot be written is not an error here (see [`RunLog`]).
    pub fn push(
        &mut self,
        start: Duration,
        length: Duration,
        target_rate: f64,
        gauges: (u64, u64),
        interval: &mut [Stats],
    ) -> Result<TimeseriesRow, Error> {
        let at = start.as_secs_f64();
        self.overall.reset();
        interval.iter().for_each(|stats| self.overall.merge(stats));
        if let Some(stages) = &mut self.stages {
            stages.push(start, length, target_rate, interval, &self.overall);
        }
        for (i, stats) in interval.iter_mut().enumerate() {
            if stats.sent > 0 {
                self.hlog.write(at, |w| w.write_op(&self.ops[i], &stats.hist, start, length));
            }
            self.totals[i].merge(stats);
            stats.reset();
        }
        let overall = &self.overall.hist[Timing::Latency];
        self.hlog.write(at, |w| w.write(overall, start, length, None).and_then(|()| w.flush()));
        let row = TimeseriesRow::new(at, length.as_secs_f64(), target_rate, gauges, &self.overall);
        self.timeseries.write(at, |w| w.write(&row));
        self.rows.push(row.as_written());
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
            .map(|(name, stats)| (name.clone(), OpSummary::new(stats, &spec.quantiles(), 0, 0.0, secs)))
            .collect();
        spec.evaluate(&OpSummary::new(&overall, &spec.quantiles(), 0, 0.0, secs), &ops)
    }

    /// The run was stopped early by failing SLO checks: the summary says so and fails.
    pub fn mark_aborted(&mut self, aborted: Aborted) {
        self.aborted = Some(aborted);
    }

    /// Add a warning to the summary (shown with the others, saved in summary.json).
    pub fn warn(&mut self, warning: String) {
        self.notes.push(warning);
    }

    /// Close the streams (the pool's first), assemble the summary and complete the
    /// folder (rendered files, then summary.json, which lists what could not
    /// be written). Returns the summary.
    pub fn finish(self, f: Finish) -> Result<Summary, Error> {
        let RunLog {
            dir,
            started,
            ops,
            totals,
            hlog,
            timeseries,
            mut rows,
            summary: reserved,
            aborted,
            notes,
            stages,
            ..
        } = self;
        let (stages, knee) = stages.map(Stages::finish).unwrap_or_default();
        let mut not_written = Vec::new();
        let (pool, mut pool_rows) = match f.pool.map(PoolLog::finish) {
            Some((pool, rows, lost)) => {
                not_written.extend(lost);
                (Some(pool), Some(rows))
            }
            None => (None, None),
        };
        not_written.extend(hlog.finish(HlogWriter::finish));
        not_written.extend(timeseries.finish(TimeseriesWriter::finish));
        not_written.extend(f.errors.as_ref().and_then(|e| e.write(&dir)));
        // The folder renders as `einv-load report` reads it: a file that was not written
        // renders as empty (its charts show nothing), the rest is whole.
        let written = |file: &str| !not_written.iter().any(|n| n.file == file);
        if !written(files::TIMESERIES) {
            rows.clear();
        }
        if !written(crate::POOL_CSV) {
            pool_rows = None;
        }
        let parts = Parts {
            run: f.run,
            ops: ops.iter().zip(&totals).zip(&f.scheduled).map(|((name, s), n)| (name.as_str(), s, *n)).collect(),
            target_rate: f.target_rate,
            tags: &f.tags,
            checks: &f.checks,
            slo: &f.slo,
            percentiles: f.percentiles,
            connections: f.connections,
            lag_warning: Some(f.lag_warning),
            warnings: notes,
            pool,
            interrupted: f.interrupted,
            aborted,
            stages,
            knee,
            error_samples: f.errors.as_ref().map(|e| e.cap),
        };
        let summary = Summary::assemble(parts);
        let start_time = started.duration_since(SystemTime::UNIX_EPOCH).ok();
        // Rendered as read back: a sample that was not written shows as none.
        let errors = f.errors.filter(|_| written(files::ERRORS_JSONL)).map(|e| e.exchanges).unwrap_or_default();
        let folder = Folder { dir, summary, timeseries: rows, start_time, errors };
        let totals = Totals::of(ops.iter().zip(&totals).map(|(name, s)| (name.as_str(), &s.hist)));
        complete(reserved, Saved { folder, totals, pool: pool_rows }, not_written)
    }
}
