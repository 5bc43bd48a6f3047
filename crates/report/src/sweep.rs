//! Capacity sweeps: a grid of (pool size, rate) predictions, as CSV, Markdown and heatmaps,
//! with the smallest pool that passes at each rate.
//!
//! A cell passes when it meets the SLO *and* the service could keep up: its utilisation
//! (offered rate over the model's capacity) is under 100 % and its waits had stopped
//! growing by the end of the run. A short run past capacity can show fine percentiles
//! while its queue grows without bound; such a cell fails whatever they say.

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
    /// Offered rate over capacity: of the pool (size / mean hold) or the workers
    /// (workers / mean hold plus overhead), whichever is smaller.
    pub utilisation: f64,
    /// Mean share of the pool in use over the run, as simulated.
    pub pool_busy: f64,
    /// Mean share of the workers busy; `None` without a worker limit.
    pub workers_busy: Option<f64>,
    /// False when the waits were still growing at the end of the run.
    pub stationary: bool,
}

/// Why a cell fails, in the order the reasons are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepFailure {
    /// Offered at or past capacity: the queue has no bound, however the run looks.
    Saturated,
    /// The waits were still growing when the run ended.
    NotStationary,
    /// The profile's overall SLO was missed.
    Slo,
}

impl SweepFailure {
    pub const ALL: [SweepFailure; 3] = [SweepFailure::Saturated, SweepFailure::NotStationary, SweepFailure::Slo];

    /// Its name in sweep.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            SweepFailure::Saturated => "utilisation",
            SweepFailure::NotStationary => "not-stationary",
            SweepFailure::Slo => "slo",
        }
    }

    /// What a person reads in sweep.md and the heatmaps' legend.
    pub fn describe(self) -> &'static str {
        match self {
            SweepFailure::Saturated => "utilisation ≥ 100 %",
            SweepFailure::NotStationary => "waits still growing",
            SweepFailure::Slo => "SLO missed",
        }
    }
}

impl SweepCell {
    /// Why the cell fails; empty when it passes.
    pub fn failures(&self) -> Vec<SweepFailure> {
        let reasons = [
            (self.utilisation >= 1.0, SweepFailure::Saturated),
            (!self.stationary, SweepFailure::NotStationary),
            (!self.slo_passed, SweepFailure::Slo),
        ];
        reasons.into_iter().filter_map(|(failed, why)| failed.then_some(why)).collect()
    }

    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }
}

/// The rule, as sweep.md states it.
const RULE: &str = "Utilisation: the offered rate over the model's capacity (pool size / mean hold, or \
     workers / mean hold plus overhead, whichever is smaller). Busy: mean share of the pool (/ workers) in \
     use, as simulated. Stationary: the waits of the run's last third were not half as long again as its \
     middle third's. A cell fails at a utilisation of 100 % or more, when it is not stationary, or when it \
     misses the SLO, whatever its percentiles say.";

/// For each rate, the smallest pool size whose cell passed (`None`: none did).
pub fn smallest_passing(cells: &[SweepCell]) -> Vec<(f64, Option<u64>)> {
    let mut rates: Vec<f64> = cells.iter().map(|c| c.rate).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    rates
        .into_iter()
        .map(|r| {
            let best = cells.iter().filter(|c| c.rate == r && c.passed()).map(|c| c.pool_size).min();
            (r, best)
        })
        .collect()
}

pub fn sweep_csv(cells: &[SweepCell]) -> String {
    let mut out = String::from(
        "pool_size,rate,p50_ms,p99_ms,error_rate,slo_passed,utilisation,pool_busy,workers_busy,stationary,passed,fails\n",
    );
    for c in cells {
        let workers = c.workers_busy.map_or(String::new(), |w| format!("{w:.4}"));
        let fails: Vec<&str> = c.failures().into_iter().map(SweepFailure::as_str).collect();
        let _ = writeln!(
            out,
            "{},{},{:.3},{:.3},{:.6},{},{:.4},{:.4},{workers},{},{},{}",
            c.pool_size,
            c.rate,
            c.p50_ms,
            c.p99_ms,
            c.error_rate,
            c.slo_passed,
            c.utilisation,
            c.pool_busy,
            c.stationary,
            c.passed(),
            fails.join(";")
        );
    }
    out
}

pub fn sweep_markdown(cells: &[SweepCell]) -> String {
    let mut out = String::from(
        "| pool | rate/s | p50 ms | p99 ms | errors | utilisation | busy | stationary | verdict |\n\
         |---:|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    for c in cells {
        let failures = c.failures();
        let verdict = if failures.is_empty() {
            "pass".to_string()
        } else {
            let why: Vec<&str> = failures.into_iter().map(SweepFailure::describe).collect();
            format!("FAIL: {}", why.join(", "))
        };
        let mut busy = format!("{:.0}%", c.pool_busy * 100.0);
        if let Some(w) = c.workers_busy {
            let _ = write!(busy, " / {:.0}%", w * 100.0);
        }
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.2} | {:.2} | {:.2}% | {:.0}% | {busy} | {} | {verdict} |",
            c.pool_size,
            c.rate,
            c.p50_ms,
            c.p99_ms,
            c.error_rate * 100.0,
            c.utilisation * 100.0,
            if c.stationary { "yes" } else { "no" },
        );
    }
    let _ = writeln!(out, "\n{RULE}");
    out.push_str("\nSmallest pool that passes:\n\n| rate/s | pool |\n|---:|---:|\n");
    for (rate, pool) in smallest_passing(cells) {
        let _ = writeln!(out, "| {rate:.0} | {} |", pool.map_or("none in the sweep".to_string(), |p| p.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(pool: u64, rate: f64, passed: bool) -> SweepCell {
        SweepCell {
            pool_size: pool,
            rate,
            p50_ms: 1.0,
            p99_ms: 2.0,
            error_rate: 0.0,
            slo_passed: passed,
            utilisation: 0.5,
            pool_busy: 0.5,
            workers_busy: None,
            stationary: true,
        }
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

    #[test]
    fn a_saturated_or_growing_cell_fails_with_good_percentiles() {
        let full = SweepCell { utilisation: 1.0, pool_busy: 0.998, ..cell(50, 1000.0, true) };
        let growing = SweepCell { stationary: false, workers_busy: Some(0.9), ..cell(100, 1000.0, true) };
        let both = SweepCell { utilisation: 1.05, stationary: false, ..cell(150, 1000.0, false) };
        assert_eq!(full.failures(), [SweepFailure::Saturated]);
        assert_eq!(growing.failures(), [SweepFailure::NotStationary]);
        assert_eq!(both.failures(), [SweepFailure::Saturated, SweepFailure::NotStationary, SweepFailure::Slo]);
        let cells = [full, growing, both, cell(200, 1000.0, true)];
        assert_eq!(smallest_passing(&cells), vec![(1000.0, Some(200))]);
        let md = sweep_markdown(&cells);
        assert!(
            md.contains("| 50 | 1000 | 1.00 | 2.00 | 0.00% | 100% | 100% | yes | FAIL: utilisation ≥ 100 % |"),
            "{md}"
        );
        assert!(md.contains("| 50% / 90% | no | FAIL: waits still growing |"), "{md}");
        let csv = sweep_csv(&cells);
        let rows: Vec<&str> = csv.lines().collect();
        assert!(rows[3].ends_with(",1.0500,0.5000,,false,false,utilisation;not-stationary;slo"), "{csv}");
        assert!(rows[4].ends_with(",true,true,"), "{csv}");
    }
}
