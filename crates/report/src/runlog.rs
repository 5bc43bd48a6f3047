use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::hlog::{ALWAYS, HlogWriter, KINDS};
use crate::pool::{POOL_CSV, read_pool_csv};
use crate::render::render_folder;
use crate::saved::{Histograms, Saved};
use crate::slo::{SloReport, SloSpec};
use crate::stats::Stats;
use crate::summary::{Aborted, Connections, OpSummary, RunInfo, SCHEMA_VERSION, Summary, Tool};
use crate::timeseries::{TimeseriesRow, TimeseriesWriter, read_timeseries};
use crate::write::{commit, temp_path, write_atomic};

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
    pub const INDEX_HTML: &str = "index.html";
    pub const SUMMARY_MD: &str = "summary.md";
    pub const JUNIT_XML: &str = "junit.xml";
    /// The files made from the data files (summary.json, timeseries.csv, histograms.hlog,
    /// pool.csv): what `einv-load report` rewrites.
    pub const DERIVED: [&str; 11] = [
        LATENCY_HGRM,
        SERVICE_HGRM,
        SPECTRUM_SVG,
        TIMELINE_SVG,
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

/// A run being recorded: streams one interval at a time to disk and keeps exact totals.
/// Memory is fixed (one `Stats` per op, twice); the time series lives only on disk.
#[derive(Debug)]
pub struct RunLog {
    dir: PathBuf,
    ops: Vec<String>,
    totals: Vec<Stats>,
    overall: Stats,
    hlog: HlogWriter,
    timeseries: TimeseriesWriter,
    aborted: Option<Aborted>,
    /// Warnings the engine adds (TLS failures, verification off), after the lag warnings.
    notes: Vec<String>,
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
    /// Start a report in `dir` (which must exist) for ops named `ops`.
    pub fn create(dir: &Path, ops: &[String], started: SystemTime, label: &str) -> Result<Self, Error> {
        let hlog = HlogWriter::create(&temp_path(&dir.join(files::HLOG)), started, label)?;
        let timeseries = TimeseriesWriter::create(&temp_path(&dir.join(files::TIMESERIES)))?;
        Ok(Self {
            dir: dir.into(),
            ops: ops.to_vec(),
            totals: vec![Stats::new(); ops.len()],
            overall: Stats::new(),
            hlog,
            timeseries,
            aborted: None,
            notes: Vec::new(),
        })
    }

    /// Record one interval (`interval` has one `Stats` per op and is reset afterwards).
    pub fn push(
        &mut self,
        start: Duration,
        length: Duration,
        target_rate: f64,
        connections: u64,
        interval: &mut [Stats],
    ) -> Result<TimeseriesRow, Error> {
        self.overall.reset();
        for (i, stats) in interval.iter_mut().enumerate() {
            self.overall.merge(stats);
            let op = &self.ops[i];
            for (slot, (h, kind)) in stats.histograms().into_iter().zip(KINDS).enumerate() {
                // Phases only where they happened: keep-alive runs connect rarely.
                if if slot < ALWAYS { stats.sent > 0 } else { !h.is_empty() } {
                    self.hlog.write(h, start, length, Some(&format!("{op}:{kind}")))?;
                }
            }
            self.totals[i].merge(stats);
            stats.reset();
        }
        self.hlog.write(&self.overall.latency, start, length, None)?;
        self.hlog.flush()?;
        let row =
            TimeseriesRow::new(start.as_secs_f64(), length.as_secs_f64(), target_rate, connections, &self.overall);
        self.timeseries.write(&row)?;
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

    /// Close the streams, write every other file, and return the summary (also written
    /// as summary.json, last, so its presence means the folder is complete).
    pub fn finish(self, f: Finish) -> Result<Summary, Error> {
        let RunLog { dir, ops, totals, hlog, timeseries, aborted, notes, .. } = self;
        drop((hlog, timeseries));
        commit(&dir.join(files::HLOG))?;
        commit(&dir.join(files::TIMESERIES))?;

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
        };
        let mut saved = saved_of(&dir, summary, &ops, &totals, &overall)?;
        // The data is safe on disk whatever happens here: a failed render is a warning, and
        // `einv-load report DIR` can try again.
        if let Err(e) = render_folder(&dir, &saved) {
            saved.summary.warnings.push(format!("report files not all written: {e}"));
        }
        let summary = saved.summary;
        let json = serde_json::to_vec_pretty(&summary)?;
        write_atomic(&dir.join(files::SUMMARY), &json)?;
        Ok(summary)
    }
}

/// The finished run as `einv-load report` would read it back from the folder, without
/// reading the histograms back: they are still in memory.
fn saved_of(dir: &Path, summary: Summary, ops: &[String], totals: &[Stats], overall: &Stats) -> Result<Saved, Error> {
    let hist = |s: &Stats| Histograms {
        latency: s.latency.clone(),
        service: s.service.clone(),
        send_lag: s.send_lag.clone(),
        connect: s.connect.clone(),
        tls: s.tls.clone(),
        ttfb: s.ttfb.clone(),
    };
    let pool_path = dir.join(POOL_CSV);
    Ok(Saved {
        summary,
        timeseries: read_timeseries(&dir.join(files::TIMESERIES))?,
        ops: ops.iter().zip(totals).map(|(name, s)| (name.clone(), hist(s))).collect(),
        overall: hist(overall),
        pool: if pool_path.exists() { Some(read_pool_csv(&pool_path)?) } else { None },
    })
}

#[cfg(test)]
mod tests {
    use super::files;

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
