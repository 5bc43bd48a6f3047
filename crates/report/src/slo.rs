use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::summary::OpSummary;

/// Service-level objectives: limits on the overall result of a run (the fields below),
/// the same limits per op (`ops`), and whether a failing check may stop the run early.
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
    /// Lowest acceptable achieved rate, requests/s (finished requests / run duration).
    pub min_rate: Option<f64>,
    /// Limits for single ops, by op name (their own `ops` and `abort_after` are unused).
    pub ops: BTreeMap<String, SloSpec>,
    /// `abort-on-fail`: once the run is this old, stop it as soon as a check fails on the
    /// run so far (`None`: always run to the end).
    pub abort_after: Option<Duration>,
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
    /// "ms", "ratio" or "req/s". A "min rate" check passes when `actual >= threshold`,
    /// every other check when `actual <= threshold`.
    pub unit: String,
    pub passed: bool,
    /// False when there was nothing to measure (a latency percentile of no timed request,
    /// an error rate of no request sent): `actual` is then 0 and the check fails, since
    /// nothing is no evidence of meeting a limit. Written only when false.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub measured: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl SloSpec {
    pub fn is_empty(&self) -> bool {
        *self == SloSpec::default()
    }

    /// This spec with every `min_rate` (overall and per op) multiplied by `pace`. Checked
    /// during a run, a minimum rate over the whole run is only fair against what the
    /// schedule meant to send so far: `pace` is the intended rate so far over the run's
    /// mean, below 1 during a ramp.
    pub fn with_min_rates_paced(&self, pace: f64) -> SloSpec {
        let mut spec = self.clone();
        spec.min_rate = spec.min_rate.map(|r| r * pace);
        for op in spec.ops.values_mut() {
            op.min_rate = op.min_rate.map(|r| r * pace);
        }
        spec
    }

    /// Check the overall result and every op that has limits of its own. An op with
    /// limits but no result (it never ran) is checked as an empty one.
    pub fn evaluate(&self, overall: &OpSummary, ops: &BTreeMap<String, OpSummary>) -> SloReport {
        let mut report = self.check("overall", overall);
        for (name, spec) in &self.ops {
            let op = ops.get(name).cloned().unwrap_or_else(|| OpSummary::new(&crate::Stats::new(), 0, 0.0, 0.0));
            report.checks.extend(spec.check(name, &op).checks);
        }
        report.passed = report.checks.iter().all(|c| c.passed);
        report
    }

    /// Check `result` against the limits of this spec (not `ops`): latency checks use the
    /// CO-corrected latency, not service time.
    pub fn check(&self, scope: &str, result: &OpSummary) -> SloReport {
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
        let limits = [
            ("latency p50", ms(self.p50), "ms"),
            ("latency p90", ms(self.p90), "ms"),
            ("latency p99", ms(self.p99), "ms"),
            ("latency p99.9", ms(self.p999), "ms"),
            ("latency max", ms(self.max), "ms"),
            ("error rate", self.error_rate, "ratio"),
            ("check failure rate", self.check_failure_rate, "ratio"),
            (MIN_RATE, self.min_rate, "req/s"),
        ];
        let checks: Vec<SloCheck> = limits
            .into_iter()
            .filter_map(|(name, limit, unit)| {
                let threshold = limit?;
                let (actual, measured) = measure(name, result)?;
                Some(SloCheck {
                    name: name.into(),
                    scope: scope.into(),
                    threshold,
                    actual,
                    unit: unit.into(),
                    passed: measured && passes(name, actual, threshold),
                    measured,
                })
            })
            .collect();
        SloReport { passed: checks.iter().all(|c| c.passed), checks }
    }
}

const MIN_RATE: &str = "min rate";

impl SloCheck {
    /// The check as the whole run of which this was one of `shards` shards would make
    /// it: each shard holds a minimum rate at 1/`shards` of the run's.
    pub fn for_whole_run(&self, shards: u64) -> SloCheck {
        let mut c = self.clone();
        if c.name == MIN_RATE {
            c.threshold *= shards as f64;
        }
        c
    }

    /// This check (same name, scope, limit) measured again on `result`, e.g. a merged
    /// run's; `None` for a check this version does not know.
    pub fn remeasured(&self, result: &OpSummary) -> Option<SloCheck> {
        let (actual, measured) = measure(&self.name, result)?;
        let passed = measured && passes(&self.name, actual, self.threshold);
        Some(SloCheck { actual, passed, measured, ..self.clone() })
    }
}

/// The figure of `result` that the check named `name` limits, and whether there was
/// anything to measure it on. A rate over the run is always measured (0 requests/s is
/// a figure); a percentile needs a timed request, a share a request sent.
fn measure(name: &str, result: &OpSummary) -> Option<(f64, bool)> {
    let lat = &result.latency_ms;
    let (timed, sent) = (lat.count > 0, result.requests.sent > 0);
    Some(match name {
        "latency p50" => (lat.p50, timed),
        "latency p90" => (lat.p90, timed),
        "latency p99" => (lat.p99, timed),
        "latency p99.9" => (lat.p999, timed),
        "latency max" => (lat.max, timed),
        "error rate" => (result.requests.error_rate, sent),
        "check failure rate" => (result.requests.check_failure_rate, sent),
        MIN_RATE => (result.rate.achieved_per_s, true),
        _ => return None,
    })
}

/// A minimum rate is a floor; every other limit a ceiling.
fn passes(name: &str, actual: f64, threshold: f64) -> bool {
    if name == MIN_RATE { actual >= threshold } else { actual <= threshold }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outcome, Phases, Sample, Stats};

    fn result(ms: u64, n: u64, duration_s: f64) -> OpSummary {
        let mut stats = Stats::new();
        for _ in 0..n {
            stats.record(&Sample {
                latency: Duration::from_millis(ms),
                service: Some(Duration::from_millis(ms)),
                send_lag: Duration::ZERO,
                outcome: Outcome::Response(200),
                queued: false,
                check_failed: false,
                tag: None,
                expects_rejection: false,
                phases: Phases::default(),
            });
        }
        OpSummary::new(&stats, n, 0.0, duration_s)
    }

    #[test]
    fn per_op_limits_are_checked_under_the_op_name() {
        let issue = SloSpec { p99: Some(Duration::from_millis(150)), ..SloSpec::default() };
        let spec = SloSpec {
            p99: Some(Duration::from_millis(500)),
            ops: [("issue".to_string(), issue)].into(),
            ..SloSpec::default()
        };
        let ops = [("issue".to_string(), result(200, 10, 1.0)), ("query".to_string(), result(5, 10, 1.0))].into();
        let report = spec.evaluate(&result(200, 20, 1.0), &ops);
        assert!(!report.passed);
        let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).map(|c| (&*c.scope, &*c.name)).collect();
        assert_eq!(failed, vec![("issue", "latency p99")]);
        assert_eq!(report.checks.len(), 2);
    }

    #[test]
    fn min_rate_passes_at_or_above_the_limit() {
        let spec = SloSpec { min_rate: Some(100.0), ..SloSpec::default() };
        let report = spec.check("overall", &result(1, 99, 1.0));
        assert!(!report.passed, "99 req/s is below a minimum of 100");
        assert_eq!((report.checks[0].unit.as_str(), report.checks[0].actual), ("req/s", 99.0));
        assert!(spec.check("overall", &result(1, 100, 1.0)).passed);
    }

    /// A run (or an op) with nothing measured does not meet a limit by having no figure:
    /// a p99 of 0 requests used to read 0 ms and pass.
    #[test]
    fn a_check_with_nothing_to_measure_fails_and_says_so() {
        let spec = SloSpec {
            p99: Some(Duration::from_millis(100)),
            error_rate: Some(0.5),
            check_failure_rate: Some(0.5),
            ops: [("refund".to_string(), SloSpec { max: Some(Duration::from_secs(1)), ..SloSpec::default() })].into(),
            ..SloSpec::default()
        };
        let report = spec.evaluate(&result(1, 0, 1.0), &BTreeMap::new());
        assert!(!report.passed);
        assert_eq!(report.checks.len(), 4);
        assert!(report.checks.iter().all(|c| !c.passed && !c.measured), "{report:?}");
        let json = serde_json::to_value(&report.checks[0]).unwrap();
        assert_eq!(json["measured"], false);
        // Measured checks say nothing more, and read back as measured.
        let measured = spec.check("overall", &result(1, 10, 1.0));
        assert!(measured.passed && measured.checks.iter().all(|c| c.measured));
        let json = serde_json::to_value(&measured.checks[0]).unwrap();
        assert!(json.get("measured").is_none(), "{json}");
        let back: SloCheck = serde_json::from_value(json).unwrap();
        assert!(back.measured);
        // Merge measures again the same way.
        let again = report.checks[0].remeasured(&result(1, 0, 1.0)).unwrap();
        assert!(!again.passed && !again.measured);
    }

    #[test]
    fn an_op_that_never_ran_fails_its_min_rate() {
        let op = SloSpec { min_rate: Some(1.0), ..SloSpec::default() };
        let spec = SloSpec { ops: [("refund".to_string(), op)].into(), ..SloSpec::default() };
        let report = spec.evaluate(&result(1, 10, 1.0), &BTreeMap::new());
        assert!(!report.passed);
        assert_eq!(report.checks[0].scope, "refund");
    }
}
