//! Pool metrics of simulated runs, in HikariCP's vocabulary: active, idle and pending
//! connections over time, acquire (wait) and usage (hold) times, timeouts. Streamed to
//! pool.csv one interval at a time, summarised in summary.json.

use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::csv_rows::{Record, read_rows};
use crate::histograms::{new_histogram, quantile_ms};
use crate::summary::Percentiles;
use crate::write::{Existing, NotWritten, Output, Streamed};

pub const POOL_CSV: &str = "pool.csv";

/// pool.csv's columns. Folders written before the service model had workers and a rate
/// limit have only the first 11 (`OLD_COLUMNS`); they still read back, with zeros.
const HEADER: [&str; 14] = [
    "start_s",
    "length_s",
    "active",
    "idle",
    "pending",
    "mean_active",
    "timeouts",
    "acquire_p50_ms",
    "acquire_p99_ms",
    "usage_p50_ms",
    "usage_p99_ms",
    "queued",
    "rate_limited",
    "queue_full",
];
const OLD_COLUMNS: usize = 11;

/// One line of pool.csv, read back (for charts and `report`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolRow {
    pub start_s: f64,
    pub length_s: f64,
    pub active: u64,
    pub idle: u64,
    pub pending: u64,
    pub mean_active: f64,
    pub timeouts: u64,
    pub acquire_p50_ms: f64,
    pub acquire_p99_ms: f64,
    pub usage_p50_ms: f64,
    pub usage_p99_ms: f64,
    /// Requests waiting for a worker at the end of the interval.
    pub queued: u64,
    /// Refused by the rate limit (429) in the interval.
    pub rate_limited: u64,
    /// Refused because the worker queue was full (503) in the interval.
    pub queue_full: u64,
}

/// Read a pool.csv back; errors name the file and line.
pub fn read_pool_csv(path: &Path) -> Result<Vec<PoolRow>, Error> {
    read_rows(path, "pool.csv", &[&HEADER[..], &HEADER[..OLD_COLUMNS]], |r, _| pool_row(r))
}

fn pool_row(r: &Record) -> Result<PoolRow, Error> {
    // Columns an older folder does not have read as zero.
    let newer = |i: usize| if r.len() > i { r.int(i) } else { Ok(0) };
    Ok(PoolRow {
        start_s: r.num(0)?,
        length_s: r.num(1)?,
        active: r.int(2)?,
        idle: r.int(3)?,
        pending: r.int(4)?,
        mean_active: r.num(5)?,
        timeouts: r.int(6)?,
        acquire_p50_ms: r.num(7)?,
        acquire_p99_ms: r.num(8)?,
        usage_p50_ms: r.num(9)?,
        usage_p99_ms: r.num(10)?,
        queued: newer(11)?,
        rate_limited: newer(12)?,
        queue_full: newer(13)?,
    })
}

/// What the pool did in one interval.
#[derive(Debug, Clone)]
pub struct PoolInterval {
    /// Connections in use at the end of the interval.
    pub active: u64,
    /// Requests waiting for a connection at the end of the interval.
    pub pending: u64,
    /// Mean connections in use over the interval.
    pub mean_active: f64,
    /// Requests that gave up waiting (acquire timeout) in the interval.
    pub timeouts: u64,
    /// Requests waiting for a request worker at the end of the interval.
    pub queued: u64,
    /// Requests refused by the rate limit (HTTP 429) in the interval.
    pub rate_limited: u64,
    /// Requests refused because the worker queue was full (HTTP 503) in the interval.
    pub queue_full: u64,
    /// Time from arrival to getting a connection, microseconds.
    pub acquire: Histogram<u64>,
    /// Time a connection was held, microseconds.
    pub usage: Histogram<u64>,
    /// Every resource of the service, in its order (see [`PoolLog::with_resources`]).
    pub resources: Vec<ResourceInterval>,
}

/// What one resource did in an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ResourceInterval {
    /// Units in use, and requests waiting, at the end of the interval.
    pub active: u64,
    pub pending: u64,
    /// Mean units in use over the interval.
    pub mean_active: f64,
    /// Requests that gave up waiting for it, and that it refused at once.
    pub timeouts: u64,
    pub refused: u64,
}

/// One resource over a whole run: its gauges' extremes and what ran dry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceSummary {
    pub name: String,
    /// `workers`, `pool`, `rate-limit` or `cpu`.
    pub kind: String,
    /// Units (a rate limit's burst).
    pub size: u64,
    /// Highest per-interval mean of units in use.
    pub peak_mean_active: f64,
    pub max_pending: u64,
    pub timeouts: u64,
    pub refused: u64,
    /// Start of the first interval in which it ran dry (a timeout or a refusal), seconds.
    pub first_dry_s: Option<f64>,
}

impl ResourceSummary {
    /// The resource that ran dry first: the earliest `first_dry_s`, then the most
    /// requests failed; `None` when none ran dry.
    pub fn first_dry(all: &[ResourceSummary]) -> Option<&ResourceSummary> {
        let failed = |r: &ResourceSummary| r.timeouts + r.refused;
        all.iter().filter(|r| r.first_dry_s.is_some()).min_by(|a, b| {
            let at = |r: &ResourceSummary| r.first_dry_s.unwrap_or(f64::INFINITY);
            at(a).total_cmp(&at(b)).then(failed(b).cmp(&failed(a)))
        })
    }
}

impl Default for PoolInterval {
    fn default() -> Self {
        PoolInterval {
            active: 0,
            pending: 0,
            mean_active: 0.0,
            timeouts: 0,
            queued: 0,
            rate_limited: 0,
            queue_full: 0,
            acquire: new_histogram(),
            usage: new_histogram(),
            resources: Vec::new(),
        }
    }
}

/// The pool over a whole run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PoolSummary {
    pub size: u64,
    pub timeouts: u64,
    pub max_pending: u64,
    /// Highest per-interval mean of connections in use.
    pub peak_mean_active: f64,
    pub acquire_ms: Percentiles,
    pub usage_ms: Percentiles,
    /// Start of the first interval with an acquire timeout, seconds (the knee).
    pub first_timeout_s: Option<f64>,
    /// Requests refused before reaching the pool: by the rate limit (429), and because
    /// the queue for a worker was full (503).
    #[serde(default)]
    pub rate_limited: u64,
    #[serde(default)]
    pub queue_full: u64,
    /// Most requests seen waiting for a worker at an interval's end.
    #[serde(default)]
    pub max_queued: u64,
    /// Every resource of the modelled service (folders from before named resources have
    /// none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceSummary>,
}

/// Streams pool.csv and keeps the run's pool totals, and its rows as written for the
/// chart (~120 bytes a second). A write error (a full disk) stops pool.csv, not the
/// simulation: the totals stay exact and [`PoolLog::finish`] says what was not written.
#[derive(Debug)]
pub struct PoolLog {
    path: PathBuf,
    csv: Streamed<csv::Writer<Output>>,
    rows: Vec<PoolRow>,
    size: u64,
    acquire: Histogram<u64>,
    usage: Histogram<u64>,
    timeouts: u64,
    max_pending: u64,
    peak_mean_active: f64,
    first_timeout_s: Option<f64>,
    rate_limited: u64,
    queue_full: u64,
    max_queued: u64,
    resources: Vec<ResourceSummary>,
}

impl PoolLog {
    /// Keep every resource's totals too: `(name, kind, size)` each, in the order of the
    /// intervals' [`PoolInterval::resources`].
    pub fn with_resources(mut self, resources: Vec<(String, String, u64)>) -> PoolLog {
        self.resources = resources
            .into_iter()
            .map(|(name, kind, size)| ResourceSummary {
                name,
                kind,
                size,
                peak_mean_active: 0.0,
                max_pending: 0,
                timeouts: 0,
                refused: 0,
                first_dry_s: None,
            })
            .collect();
        self
    }

    pub fn create(dir: &Path, size: u64) -> Result<PoolLog, Error> {
        let path = dir.join(POOL_CSV);
        let mut csv = csv::Writer::from_writer(Output::create(&path, Existing::Replace)?);
        csv.write_record(HEADER).map_err(|e| Error::csv(&path, e))?;
        Ok(PoolLog {
            path,
            csv: Streamed::new(POOL_CSV, csv),
            rows: Vec::new(),
            size,
            acquire: new_histogram(),
            usage: new_histogram(),
            timeouts: 0,
            max_pending: 0,
            peak_mean_active: 0.0,
            first_timeout_s: None,
            rate_limited: 0,
            queue_full: 0,
            max_queued: 0,
            resources: Vec::new(),
        })
    }

    /// Write one interval (and reset it).
    pub fn push(&mut self, start_s: f64, length_s: f64, p: &mut PoolInterval) {
        let f = |x: f64| format!("{x:.3}");
        let row = [
            f(start_s),
            f(length_s),
            p.active.to_string(),
            self.size.saturating_sub(p.active).to_string(),
            p.pending.to_string(),
            f(p.mean_active),
            p.timeouts.to_string(),
            f(quantile_ms(&p.acquire, 0.5)),
            f(quantile_ms(&p.acquire, 0.99)),
            f(quantile_ms(&p.usage, 0.5)),
            f(quantile_ms(&p.usage, 0.99)),
            p.queued.to_string(),
            p.rate_limited.to_string(),
            p.queue_full.to_string(),
        ];
        let path = &self.path;
        self.csv.write(start_s, |csv| csv.write_record(&row).map_err(|e| Error::csv(path, e)));
        // The fields are numbers just formatted: they always parse.
        self.rows.extend(pool_row(&Record::written(path, row.into())).ok());
        let _ = self.acquire.add(&p.acquire);
        let _ = self.usage.add(&p.usage);
        self.timeouts += p.timeouts;
        self.max_pending = self.max_pending.max(p.pending);
        self.max_queued = self.max_queued.max(p.queued);
        self.rate_limited += p.rate_limited;
        self.queue_full += p.queue_full;
        self.peak_mean_active = self.peak_mean_active.max(p.mean_active);
        if p.timeouts > 0 && self.first_timeout_s.is_none() {
            self.first_timeout_s = Some(start_s);
        }
        for (r, i) in self.resources.iter_mut().zip(&p.resources) {
            r.peak_mean_active = r.peak_mean_active.max(i.mean_active);
            r.max_pending = r.max_pending.max(i.pending);
            r.timeouts += i.timeouts;
            r.refused += i.refused;
            if i.timeouts + i.refused > 0 && r.first_dry_s.is_none() {
                r.first_dry_s = Some(start_s);
            }
        }
        *p = PoolInterval::default();
    }

    /// The run's pool totals, pool.csv's rows as the file holds them, and pool.csv put in
    /// place (or why it was not written).
    pub fn finish(self) -> (PoolSummary, Vec<PoolRow>, Option<NotWritten>) {
        let path = &self.path;
        let lost = self.csv.finish(|csv| csv.into_inner().map_err(|e| Error::io(path, e.into_error()))?.commit());
        let summary = PoolSummary {
            size: self.size,
            timeouts: self.timeouts,
            max_pending: self.max_pending,
            peak_mean_active: (self.peak_mean_active * 1000.0).round() / 1000.0,
            acquire_ms: Percentiles::of(&self.acquire, &[]),
            usage_ms: Percentiles::of(&self.usage, &[]),
            first_timeout_s: self.first_timeout_s,
            rate_limited: self.rate_limited,
            queue_full: self.queue_full,
            max_queued: self.max_queued,
            resources: self
                .resources
                .into_iter()
                .map(|r| ResourceSummary { peak_mean_active: (r.peak_mean_active * 1000.0).round() / 1000.0, ..r })
                .collect(),
        };
        (summary, self.rows, lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_csv_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PoolLog::create(dir.path(), 10).unwrap();
        let mut p = PoolInterval { active: 7, pending: 3, mean_active: 6.5, timeouts: 2, ..Default::default() };
        p.acquire.record(250_000).unwrap();
        log.push(4.0, 1.0, &mut p);
        let (_, kept, lost) = log.finish();
        assert_eq!(lost, None);
        let rows = read_pool_csv(&dir.path().join(POOL_CSV)).unwrap();
        assert_eq!(kept, rows, "the rows kept are the rows written");
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.start_s, r.active, r.idle, r.pending, r.timeouts), (4.0, 7, 3, 3, 2));
        assert!((r.acquire_p99_ms - 250.0).abs() < 0.5, "{r:?}");
    }

    #[test]
    fn a_pool_csv_from_before_workers_reads_back_with_zero_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(POOL_CSV);
        let mut text = HEADER[..OLD_COLUMNS].join(",");
        text.push_str("\n0,1,2,3,4,5,6,7,8,9,10\n");
        std::fs::write(&path, text).unwrap();
        let rows = read_pool_csv(&path).unwrap();
        assert_eq!((rows[0].timeouts, rows[0].usage_p99_ms, rows[0].queue_full), (6, 10.0, 0));
    }

    #[test]
    fn a_bad_pool_csv_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(POOL_CSV);
        let mut text = HEADER.join(",");
        text.push_str("\n0,1,2,3,4,5,6,7,8,9,10,0,0,0\n1,1,x,3,4,5,6,7,8,9,10,0,0,0\n");
        std::fs::write(&path, text).unwrap();
        let e = read_pool_csv(&path).unwrap_err().to_string();
        assert!(e.contains("pool.csv") && e.contains("line 3"), "{e}");
    }
}
