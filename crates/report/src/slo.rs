use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::summary::OpSummary;

/// Service-level objectives checked against the overall result of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SloSpec {
    pub p50: Option<Duration>,
    pub p90: Option<Duration>,
    pub p99: Option<Duration>,
    pub p999: Option<Duration>,
    pub max: Option<Duration>,
    /// Highest acceptable `errors / sent`, 0..=1.
    pub error_rate: Option<f64>,
    /// Highest acceptable `check_failed / sent`, 0..=1.
    pub check_failure_rate: Option<f64>,
}

/// The verdicts, as written to summary.json.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SloReport {
    /// True when every check passed (and when there are no checks).
    pub passed: bool,
    pub checks: Vec<SloCheck>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SloCheck {
    /// e.g. "latency p99", "error rate".
    pub name: String,
    /// "overall" or an op name.
    pub scope: String,
    /// The limit, in `unit`.
    pub threshold: f64,
    /// The measured value, in `unit`.
    pub actual: f64,
    /// "ms" or "ratio".
    pub unit: String,
    pub passed: bool,
}

impl SloSpec {
    pub fn is_empty(&self) -> bool {
        *self == SloSpec::default()
    }

    /// Check `result` (latency checks use the CO-corrected latency, not service time).
    pub fn check(&self, scope: &str, result: &OpSummary) -> SloReport {
        let lat = &result.latency_ms;
        let latency = [
            ("latency p50", self.p50, lat.p50),
            ("latency p90", self.p90, lat.p90),
            ("latency p99", self.p99, lat.p99),
            ("latency p99.9", self.p999, lat.p999),
            ("latency max", self.max, lat.max),
        ];
        let mut checks: Vec<SloCheck> = latency
            .into_iter()
            .filter_map(|(name, limit, actual)| {
                let threshold = limit?.as_secs_f64() * 1000.0;
                Some(check(name, scope, threshold, actual, "ms"))
            })
            .collect();
        if let Some(limit) = self.error_rate {
            checks.push(check("error rate", scope, limit, result.requests.error_rate, "ratio"));
        }
        if let Some(limit) = self.check_failure_rate {
            checks.push(check("check failure rate", scope, limit, result.requests.check_failure_rate, "ratio"));
        }
        SloReport { passed: checks.iter().all(|c| c.passed), checks }
    }
}

fn check(name: &str, scope: &str, threshold: f64, actual: f64, unit: &str) -> SloCheck {
    SloCheck {
        name: name.into(),
        scope: scope.into(),
        threshold,
        actual,
        unit: unit.into(),
        passed: actual <= threshold,
    }
}
