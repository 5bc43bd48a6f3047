//! Pool metrics of simulated runs, in HikariCP's vocabulary: active, idle and pending
//! connections over time, acquire (wait) and usage (hold) times, timeouts. Streamed to
//! pool.csv one interval at a time, summarised in summary.json.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::csv_rows::read_rows;
use crate::stats::{new_histogram, quantile_ms};
use crate::summary::Percentiles;
use crate::write::{commit, temp_path};

pub const POOL_CSV: &str = "pool.csv";

const HEADER: [&str; 11] = [
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
];

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
}

/// Read a pool.csv back; errors name the file and line.
pub fn read_pool_csv(path: &Path) -> Result<Vec<PoolRow>, Error> {
    read_rows(path, "pool.csv", &HEADER, |r| {
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
        })
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
    /// Time from arrival to getting a connection, microseconds.
    pub acquire: Histogram<u64>,
    /// Time a connection was held, microseconds.
    pub usage: Histogram<u64>,
}

impl Default for PoolInterval {
    fn default() -> Self {
        PoolInterval {
            active: 0,
            pending: 0,
            mean_active: 0.0,
            timeouts: 0,
            acquire: new_histogram(),
            usage: new_histogram(),
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
}

/// Streams pool.csv and keeps the run's pool totals.
#[derive(Debug)]
pub struct PoolLog {
    path: PathBuf,
    csv: csv::Writer<BufWriter<File>>,
    size: u64,
    acquire: Histogram<u64>,
    usage: Histogram<u64>,
    timeouts: u64,
    max_pending: u64,
    peak_mean_active: f64,
    first_timeout_s: Option<f64>,
}

impl PoolLog {
    pub fn create(dir: &Path, size: u64) -> Result<PoolLog, Error> {
        let path = dir.join(POOL_CSV);
        let tmp = temp_path(&path);
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut csv = csv::Writer::from_writer(BufWriter::new(file));
        csv.write_record(HEADER).map_err(|e| Error::csv(&tmp, e))?;
        Ok(PoolLog {
            path,
            csv,
            size,
            acquire: new_histogram(),
            usage: new_histogram(),
            timeouts: 0,
            max_pending: 0,
            peak_mean_active: 0.0,
            first_timeout_s: None,
        })
    }

    /// Write one interval (and reset it).
    pub fn push(&mut self, start_s: f64, length_s: f64, p: &mut PoolInterval) -> Result<(), Error> {
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
        ];
        self.csv.write_record(row).map_err(|e| Error::csv(&self.path, e))?;
        let _ = self.acquire.add(&p.acquire);
        let _ = self.usage.add(&p.usage);
        self.timeouts += p.timeouts;
        self.max_pending = self.max_pending.max(p.pending);
        self.peak_mean_active = self.peak_mean_active.max(p.mean_active);
        if p.timeouts > 0 && self.first_timeout_s.is_none() {
            self.first_timeout_s = Some(start_s);
        }
        *p = PoolInterval::default();
        Ok(())
    }

    pub fn finish(mut self) -> Result<PoolSummary, Error> {
        self.csv.flush().map_err(|e| Error::io(&self.path, e))?;
        drop(self.csv);
        commit(&self.path)?;
        Ok(PoolSummary {
            size: self.size,
            timeouts: self.timeouts,
            max_pending: self.max_pending,
            peak_mean_active: (self.peak_mean_active * 1000.0).round() / 1000.0,
            acquire_ms: Percentiles::of(&self.acquire),
            usage_ms: Percentiles::of(&self.usage),
            first_timeout_s: self.first_timeout_s,
        })
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
        log.push(4.0, 1.0, &mut p).unwrap();
        log.finish().unwrap();
        let rows = read_pool_csv(&dir.path().join(POOL_CSV)).unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.start_s, r.active, r.idle, r.pending, r.timeouts), (4.0, 7, 3, 3, 2));
        assert!((r.acquire_p99_ms - 250.0).abs() < 0.5, "{r:?}");
    }

    #[test]
    fn a_bad_pool_csv_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(POOL_CSV);
        let mut text = HEADER.join(",");
        text.push_str("\n0,1,2,3,4,5,6,7,8,9,10\n1,1,x,3,4,5,6,7,8,9,10\n");
        std::fs::write(&path, text).unwrap();
        let e = read_pool_csv(&path).unwrap_err().to_string();
        assert!(e.contains("pool.csv") && e.contains("line 3"), "{e}");
    }
}
