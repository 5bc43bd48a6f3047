//! Capacity sweeps: a grid of (pool size, rate) predictions, as CSV, Markdown and heatmaps,
//! with the smallest pool that meets the SLO at each rate.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// One predicted cell of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepCell {
    pub pool_size: u64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub error_rate: f64,
    pub slo_passed: bool,
}

/// For each rate, the smallest pool size whose cell passed the SLO (`None`: none did).
pub fn smallest_passing(cells: &[SweepCell]) -> Vec<(f64, Option<u64>)> {
    let mut rates: Vec<f64> = cells.iter().map(|c| c.rate).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    rates
        .into_iter()
        .map(|r| {
            let best = cells.iter().filter(|c| c.rate == r && c.slo_passed).map(|c| c.pool_size).min();
            (r, best)
        })
        .collect()
}

pub fn sweep_csv(cells: &[SweepCell]) -> String {
    let mut out = String::from("pool_size,rate,p50_ms,p99_ms,error_rate,slo_passed\n");
    for c in cells {
        let _ = writeln!(
            out,
            "{},{},{:.3},{:.3},{:.6},{}",
            c.pool_size, c.rate, c.p50_ms, c.p99_ms, c.error_rate, c.slo_passed
        );
    }
    out
}

pub fn sweep_markdown(cells: &[SweepCell]) -> String {
    let mut out = String::from("| pool | rate/s | p50 ms | p99 ms | errors | SLO |\n|---:|---:|---:|---:|---:|---|\n");
    for c in cells {
        let verdict = if c.slo_passed { "pass" } else { "FAIL" };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.2} | {:.2} | {:.2}% | {verdict} |",
            c.pool_size,
            c.rate,
            c.p50_ms,
            c.p99_ms,
            c.error_rate * 100.0
        );
    }
    out.push_str("\nSmallest pool that meets the SLO:\n\n| rate/s | pool |\n|---:|---:|\n");
    for (rate, pool) in smallest_passing(cells) {
        let _ = writeln!(out, "| {rate:.0} | {} |", pool.map_or("none in the sweep".to_string(), |p| p.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(pool: u64, rate: f64, passed: bool) -> SweepCell {
        SweepCell { pool_size: pool, rate, p50_ms: 1.0, p99_ms: 2.0, error_rate: 0.0, slo_passed: passed }
    }

    #[test]
    fn smallest_passing_pool_per_rate() {
        let cells = [
            cell(50, 1000.0, true),
            cell(100, 1000.0, true),
            cell(50, 2000.0, false),
            cell(100, 2000.0, true),
            cell(50, 3000.0, false),
        ];
        assert_eq!(smallest_passing(&cells), vec![(1000.0, Some(50)), (2000.0, Some(100)), (3000.0, None)]);
        let md = sweep_markdown(&cells);
        assert!(md.contains("| 3000 | none in the sweep |"), "{md}");
        assert_eq!(sweep_csv(&cells).lines().count(), 6);
    }
}
