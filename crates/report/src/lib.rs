//! Recording and reporting for einv-load.
//!
//! Workers record each finished request as a [`Sample`] into a shared [`Recorder`]
//! (a slot per thread, fixed-size HDR histograms: one [`Histograms`] set per op, indexed by
//! [`Timing`]). Once a second the engine drains it into a [`RunLog`], which streams
//! `histograms.hlog` and `timeseries.csv` to disk and keeps run totals; at the end
//! [`RunLog::finish`] assembles the [`Summary`] (summary.json, [`Summary::assemble`]: pure)
//! and completes the folder: [`render_folder`] writes every derived file (charts,
//! index.html, summary.md, junit.xml, .hgrm), then summary.json is written, last. SLO
//! checks are [`Metric`]s against an [`SloSpec`]'s [`Limits`]. [`Folder::open`] is the one
//! reader of a finished folder ([`Saved::load`] adds its histograms), so `einv-load report`
//! renders the same files from disk, [`merge()`] adds shard folders into one, and
//! [`compare()`] sets two runs side by side. Renderers are pure: data in, bytes out.
//! While a run goes, a [`Live`] made from the run log's totals after each interval is the
//! run so far, as OpenMetrics text ([`Live::prometheus`]) or a JSON line.
//!
//! ```
//! use std::time::Duration;
//! use einv_report::{Outcome, Recorder, Sample, Stats};
//!
//! let rec = Recorder::new(1, 2);
//! let ms = Duration::from_millis;
//! rec.record(0, 0, &Sample { latency: ms(5), service: Some(ms(2)), send_lag: ms(3),
//!                             outcome: Outcome::Response(200), queued: false,
//!                             failed_check: None, tag: None, expects_rejection: false,
//!                             phases: Default::default() });
//! let mut interval = vec![Stats::new()];
//! rec.drain_into(&mut interval);
//! assert_eq!(interval[0].ok, 1);
//! ```

mod capacity;
pub mod chart;
mod compare;
mod csv_rows;
mod error;
mod failures;
mod folder;
mod hgrm;
mod histograms;
mod hlog;
mod hlog_read;
mod hlog_sum;
mod live;
mod merge;
mod outcome;
mod pool;
mod quantile;
mod recorder;
mod render;
mod runlog;
mod slo;
mod stages;
mod stats;
mod summary;
mod sweep;
mod text;
mod timeseries;
mod write;

pub use capacity::{
    Answer as CapacityAnswer, AnswerKind, Bracket, BreaksFirst, CAPACITY_JSON, CAPACITY_SCHEMA, CAPACITY_SVG, Capacity,
    Cause, Step as CapacityStep, render_capacity, write_capacity,
};
pub use compare::{
    COMPARE_JSON, COMPARE_SCHEMA_VERSION, Compared, Comparison, Conclusion, ErrorSource, Estimate, MetricDiff, RunRef,
    ScopeDiff, Significance, TEST, compare, compare_markdown, compare_table, rules,
};
pub use error::Error;
pub use failures::{
    BODY_BYTES, DEFAULT_ERROR_SAMPLES, ErrorSample, FailedExchange, FailureKind, FailureSampler, errors_jsonl,
    first_per_kind, read_errors_jsonl,
};
pub use folder::{Folder, Saved, Totals, files};
pub use hgrm::hgrm;
pub use histograms::{Histograms, Timing, max_ms, new_histogram, quantile_ms, record_us};
pub use hlog::{Hlog, HlogEntry, HlogWriter, for_each_hlog, read_hlog, read_interval_log};
pub use live::{Gauges, IntervalFigures, Live, Moment, OPENMETRICS_CONTENT_TYPE};
pub use merge::merge;
pub use outcome::{ErrorClass, ErrorCounts, Outcome, Phases, Sample, TagCounts, is_final_status};
pub use pool::{
    POOL_CSV, PoolInterval, PoolLog, PoolRow, PoolSummary, ResourceInterval, ResourceSummary, read_pool_csv,
};
pub use quantile::Quantile;
pub use recorder::Recorder;
pub use render::{Rendered, render_folder};
pub use runlog::{Finish, RunLog};
pub use slo::{Bound, Limit, Limits, Metric, SloCheck, SloReport, SloSpec, Unit};
pub use stages::{Knee, Span, StageKind, StageSummary, Stages, Window};
pub use stats::{MAX_TAGS, Stats};
pub use summary::{
    Aborted, Connections, Injected, LagPercentiles, OpSummary, Parts, Percentiles, PhasePercentiles, PhaseSummary,
    Rate, Requests, RunInfo, SCHEMA_VERSION, Summary, SyncStart, Tool,
};
pub use sweep::{SweepCell, SweepFailure, smallest_passing, sweep_csv, sweep_markdown};
pub use text::{nothing_measured, text_summary};
pub use timeseries::{TimeseriesRow, TimeseriesWriter, read_timeseries};
pub use write::{Existing, NotWritten, Output, temp_path, write_file};
