//! Service-level objectives: what a check limits ([`Metric`]), the limits of a run
//! ([`SloSpec`]: overall and per op), and the verdicts written to summary.json
//! ([`SloReport`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::quantile::Quantile;
use crate::summary::OpSummary;

/// A figure an SLO can limit. Each knows its name (in summary.json, a public
/// interface), its profile key, its unit, which way it bounds and how to measure itself.
/// Ordered as checks are listed: percentiles by value, then max, then the rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// A latency percentile: `p95`, `p99.9`, any between 0 and 100.
    Percentile(Quantile),
    Max,
    /// `errors / sent`.
    ErrorRate,
    /// `check_failed / sent`.
    CheckFailureRate,
    /// The achieved rate: finished requests / the run's duration.
    MinRate,
}

/// The unit of a metric's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ms,
    /// A share, 0..=1.
    Ratio,
    PerSecond,
}

/// Which side of its limit a figure must stay on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    AtMost,
    AtLeast,
}

impl Metric {
    /// Every metric but the percentiles, in the order their checks are listed.
    pub const FIXED: [Metric; 4] = [Metric::Max, Metric::ErrorRate, Metric::CheckFailureRate, Metric::MinRate];

    /// The latency metrics of `quantiles`, then max: what compare and the tables show.
    pub fn latency(quantiles: &[Quantile]) -> impl Iterator<Item = Metric> + '_ {
        quantiles.iter().map(|q| Metric::Percentile(*q)).chain([Metric::Max])
    }

    /// The name of its checks in summary.json: "latency p99", "latency p99.9", "min rate".
    pub fn name(self) -> String {
        match self {
            Metric::Percentile(q) => format!("latency {}", q.label()),
            Metric::Max => "latency max".into(),
            Metric::ErrorRate => "error rate".into(),
            Metric::CheckFailureRate => "check failure rate".into(),
            Metric::MinRate => "min rate".into(),
        }
    }

    /// Its key in a profile's `[slo]` and `[slo.ops.NAME]` (a percentile also reads from
    /// other spellings, see [`Quantile::parse_key`]).
    pub fn key(self) -> String {
        match self {
            Metric::Percentile(q) => q.label(),
            Metric::Max => "max".into(),
            Metric::ErrorRate => "error-rate".into(),
            Metric::CheckFailureRate => "check-failure-rate".into(),
            Metric::MinRate => "min-rate".into(),
        }
    }

    /// The metric a profile key names: `max`, `error-rate`, ... or a percentile (`p95`,
    /// `p99.9`). `Err` says why a `p` key is no percentile; `Ok(None)`: not a metric's key.
    pub fn from_key(key: &str) -> Result<Option<Metric>, String> {
        if let Some(m) = Metric::FIXED.into_iter().find(|m| m.key() == key) {
            return Ok(Some(m));
        }
        match key.starts_with('p') {
            true => Quantile::parse_key(key).map(|q| Some(Metric::Percentile(q))),
            false => Ok(None),
        }
    }

    /// What is measured, in words: the name, but a minimum rate holds the "achieved rate".
    pub fn figure(self) -> String {
        match self {
            Metric::MinRate => "achieved rate".into(),
            m => m.name(),
        }
    }

    /// The metric whose checks are named `name` ([`Metric::name`]).
    pub fn from_name(name: &str) -> Option<Metric> {
        if let Some(m) = Metric::FIXED.into_iter().find(|m| m.name() == name) {
            return Some(m);
        }
        let label = name.strip_prefix("latency ")?;
        let q = Quantile::parse_key(label).ok()?;
        // Only the label this version writes: "latency p999" was never a check's name.
        (q.label() == label).then_some(Metric::Percentile(q))
    }

    /// The latency quantile it is (max = 1.0); `None` for the rates.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Metric::Percentile(q) => Some(q.fraction()),
            Metric::Max => Some(1.0),
            Metric::ErrorRate | Metric::CheckFailureRate | Metric::MinRate => None,
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            _ if self.quantile().is_some() => Unit::Ms,
            Metric::MinRate => Unit::PerSecond,
            _ => Unit::Ratio,
        }
    }

    /// A minimum rate is a floor; every other limit a ceiling.
    pub fn bound(self) -> Bound {
        if self == Metric::MinRate { Bound::AtLeast } else { Bound::AtMost }
    }

    /// Whether its limit scales with the load offered: a shard sending 1/N of a run, or a
    /// run partway through a ramp, is held to that share of a minimum rate.
    pub fn scales_with_load(self) -> bool {
        self.unit() == Unit::PerSecond
    }

    /// The figure of `result` this metric limits, and whether there was anything to
    /// measure it on. A rate over the run is always measured (0 requests/s is a figure); a
    /// percentile needs a request that succeeded (the latency of 404s alone says nothing
    /// of the service), a share a request sent. Latency is the CO-corrected latency, not
    /// service time. A percentile `result` was not summarised at is not measured:
    /// [`SloSpec::quantiles`] names those a summary must hold.
    pub fn measure(self, result: &OpSummary) -> (f64, bool) {
        let lat = &result.latency_ms;
        let (timed, sent) = (lat.count > 0 && result.requests.ok > 0, result.requests.sent > 0);
        match self {
            Metric::Percentile(q) => match lat.get(q) {
                Some(ms) => (ms, timed),
                None => (0.0, false),
            },
            Metric::Max => (lat.max, timed),
            Metric::ErrorRate => (result.requests.error_rate, sent),
            Metric::CheckFailureRate => (result.requests.check_failure_rate, sent),
            Metric::MinRate => (result.rate.achieved_per_s, true),
        }
    }

    /// Why a check of this metric can have nothing to measure.
    pub fn unmeasured(self) -> &'static str {
        if self.unit() == Unit::Ms { "no request succeeded" } else { "no request sent" }
    }
}

impl Unit {
    /// As summary.json and compare.json write it: "ms", "ratio", "req/s".
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Ratio => "ratio",
            Unit::PerSecond => "req/s",
        }
    }

    /// The unit written `s` ([`Unit::as_str`]).
    pub fn parse(s: &str) -> Option<Unit> {
        [Unit::Ms, Unit::Ratio, Unit::PerSecond].into_iter().find(|u| u.as_str() == s)
    }
}

impl Bound {
    /// Whether `actual` keeps to `limit`.
    pub fn admits(self, actual: f64, limit: f64) -> bool {
        match self {
            Bound::AtMost => actual <= limit,
            Bound::AtLeast => actual >= limit,
        }
    }

    /// "<=" or ">=".
    pub fn symbol(self) -> &'static str {
        match self {
            Bound::AtMost => "<=",
            Bound::AtLeast => ">=",
        }
    }

    /// How a verdict names the limit: "limit 150.000" or "at least 400.000".
    pub fn word(self) -> &'static str {
        match self {
            Bound::AtMost => "limit",
            Bound::AtLeast => "at least",
        }
    }
}

/// One limit, as it was given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// A latency limit from a profile, kept as the duration written.
    Time(Duration),
    /// A limit in its metric's unit (a latency limit read back from a summary, in ms).
    Value(f64),
}

impl Limit {
    /// The limit in its metric's unit.
    pub fn threshold(self) -> f64 {
        match self {
            Limit::Time(d) => d.as_secs_f64() * 1000.0,
            Limit::Value(v) => v,
        }
    }
}

/// One scope's limits (the whole run, or one op): at most one per metric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits(BTreeMap<Metric, Limit>);

impl<const N: usize> From<[(Metric, Limit); N]> for Limits {
    fn from(limits: [(Metric, Limit); N]) -> Self {
        Limits(limits.into())
    }
}

impl Limits {
    pub fn set(&mut self, metric: Metric, limit: Limit) {
        self.0.insert(metric, limit);
    }

    pub fn get(&self, metric: Metric) -> Option<Limit> {
        self.0.get(&metric).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every limit, in [`Metric`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (Metric, Limit)> + '_ {
        self.0.iter().map(|(m, l)| (*m, *l))
    }

    /// Check `result` (of `scope`: "overall" or an op) against every limit.
    pub fn check(&self, scope: &str, result: &OpSummary) -> SloReport {
        let checks: Vec<SloCheck> = self
            .iter()
            .map(|(metric, limit)| {
                let threshold = limit.threshold();
                let (actual, measured) = metric.measure(result);
                SloCheck {
                    name: metric.name(),
                    scope: scope.into(),
                    threshold,
                    actual,
                    unit: metric.unit().as_str().into(),
                    passed: measured && metric.bound().admits(actual, threshold),
                    measured,
                }
            })
            .collect();
        SloReport { passed: checks.iter().all(|c| c.passed), checks }
    }

    fn without(&self, metric: Metric) -> Limits {
        Limits(self.iter().filter(|(m, _)| *m != metric).collect())
    }

    fn for_share(&self, share: f64) -> Limits {
        let scaled = |(m, l): (Metric, Limit)| match m.scales_with_load() {
            true => (m, Limit::Value(l.threshold() * share)),
            false => (m, l),
        };
        Limits(self.iter().map(scaled).collect())
    }
}

/// Service-level objectives: limits on the whole run and on single ops, and whether a
/// failing check may stop the run early.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SloSpec {
    pub overall: Limits,
    /// Limits for single ops, by op name.
    pub ops: BTreeMap<String, Limits>,
    /// `abort-on-fail`: once the run is this old, stop it as soon as a check fails on the
    /// run so far (`None`: always run to the end).
    pub abort_after: Option<Duration>,
}

impl SloSpec {
    /// Whether any scope has a limit.
    pub fn has_limits(&self) -> bool {
        !self.overall.is_empty() || self.ops.values().any(|l| !l.is_empty())
    }

    /// This spec for `share` of the load: every limit that scales with the load (a
    /// minimum rate, see [`Metric::scales_with_load`]) multiplied by it. A shard of N
    /// sends 1/N of the run; checked during a run, a minimum over the whole run is only
    /// fair against what the schedule meant to send so far (below 1 during a ramp).
    pub fn for_share(&self, share: f64) -> SloSpec {
        SloSpec {
            overall: self.overall.for_share(share),
            ops: self.ops.iter().map(|(name, l)| (name.clone(), l.for_share(share))).collect(),
            abort_after: self.abort_after,
        }
    }

    /// This spec without its limits on `metric`.
    pub fn without(&self, metric: Metric) -> SloSpec {
        SloSpec {
            overall: self.overall.without(metric),
            ops: self.ops.iter().map(|(name, l)| (name.clone(), l.without(metric))).collect(),
            abort_after: self.abort_after,
        }
    }

    /// Every percentile a limit names, in order: what a summary checked against this spec
    /// must hold ([`OpSummary::new`]).
    pub fn quantiles(&self) -> Vec<Quantile> {
        let limits = std::iter::once(&self.overall).chain(self.ops.values());
        let all = limits.flat_map(|l| l.iter()).filter_map(|(m, _)| match m {
            Metric::Percentile(q) => Some(q),
            _ => None,
        });
        all.collect::<std::collections::BTreeSet<_>>().into_iter().collect()
    }

    /// Check the overall result and every op that has limits of its own. An op with
    /// limits but no result (it never ran) is checked as an empty one.
    pub fn evaluate(&self, overall: &OpSummary, ops: &BTreeMap<String, OpSummary>) -> SloReport {
        let mut report = self.overall.check("overall", overall);
        for (name, limits) in &self.ops {
            let empty = || OpSummary::new(&crate::Stats::new(), &self.quantiles(), 0, 0.0, 0.0);
            let op = ops.get(name).cloned().unwrap_or_else(empty);
            report.checks.extend(limits.check(name, &op).checks);
        }
        report.passed = report.checks.iter().all(|c| c.passed);
        report
    }

    /// The limits that `checks` (a summary's verdicts) were checked against, to check
    /// them again on other figures (a merged run's). `Err` is a check this version does
    /// not know.
    pub fn from_checks(checks: &[SloCheck]) -> Result<SloSpec, &SloCheck> {
        let mut spec = SloSpec::default();
        for c in checks {
            let metric = c.metric().ok_or(c)?;
            let limits = match c.scope.as_str() {
                "overall" => &mut spec.overall,
                op => spec.ops.entry(op.to_string()).or_default(),
            };
            limits.set(metric, Limit::Value(c.threshold));
        }
        Ok(spec)
    }
}

/// The verdicts, as written to summary.json.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SloReport {
    /// True when every check passed (and when there are no checks).
    pub passed: bool,
    pub checks: Vec<SloCheck>,
}

/// One verdict. Its name and unit are strings, as summary.json holds them: a summary
/// from another version may name a metric this one does not know ([`SloCheck::metric`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SloCheck {
    /// [`Metric::name`], e.g. "latency p99", "error rate".
    pub name: String,
    /// "overall" or an op name.
    pub scope: String,
    /// The limit, in `unit`.
    pub threshold: f64,
    /// The measured value, in `unit`.
    pub actual: f64,
    /// [`Unit::as_str`]: "ms", "ratio" or "req/s". A "min rate" check passes when
    /// `actual >= threshold`, every other check when `actual <= threshold`.
    pub unit: String,
    pub passed: bool,
    /// False when there was nothing to measure (a latency percentile of no request that
    /// succeeded,
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

impl SloCheck {
    /// The metric checked; `None` for a name this version does not know.
    pub fn metric(&self) -> Option<Metric> {
        Metric::from_name(&self.name)
    }

    /// Which side of the limit passes (a metric this version does not know: at most).
    pub fn bound(&self) -> Bound {
        self.metric().map_or(Bound::AtMost, Metric::bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Sample, Stats};

    fn result(ms: u64, n: u64, duration_s: f64) -> OpSummary {
        let mut stats = Stats::new();
        for _ in 0..n {
            stats.record(&Sample::answered(ms, 200));
        }
        OpSummary::new(&stats, &[], n, 0.0, duration_s)
    }

    fn ms(n: u64) -> Limit {
        Limit::Time(Duration::from_millis(n))
    }

    #[test]
    fn per_op_limits_are_checked_under_the_op_name() {
        let issue = Limits::from([(Metric::Percentile(Quantile::P99), ms(150))]);
        let spec = SloSpec {
            overall: Limits::from([(Metric::Percentile(Quantile::P99), ms(500))]),
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
        let limits = Limits::from([(Metric::MinRate, Limit::Value(100.0))]);
        let report = limits.check("overall", &result(1, 99, 1.0));
        assert!(!report.passed, "99 req/s is below a minimum of 100");
        assert_eq!((report.checks[0].unit.as_str(), report.checks[0].actual), ("req/s", 99.0));
        assert!(limits.check("overall", &result(1, 100, 1.0)).passed);
    }

    /// A run (or an op) with nothing measured does not meet a limit by having no figure:
    /// a p99 of 0 requests used to read 0 ms and pass.
    #[test]
    fn a_check_with_nothing_to_measure_fails_and_says_so() {
        let spec = SloSpec {
            overall: Limits::from([
                (Metric::Percentile(Quantile::P99), ms(100)),
                (Metric::ErrorRate, Limit::Value(0.5)),
                (Metric::CheckFailureRate, Limit::Value(0.5)),
            ]),
            ops: [("refund".to_string(), Limits::from([(Metric::Max, ms(1000))]))].into(),
            ..SloSpec::default()
        };
        let report = spec.evaluate(&result(1, 0, 1.0), &BTreeMap::new());
        assert!(!report.passed);
        assert_eq!(report.checks.len(), 4);
        assert!(report.checks.iter().all(|c| !c.passed && !c.measured), "{report:?}");
        let json = serde_json::to_value(&report.checks[0]).unwrap();
        assert_eq!(json["measured"], false);
        // Measured checks say nothing more, and read back as measured.
        let measured = spec.overall.check("overall", &result(1, 10, 1.0));
        assert!(measured.passed && measured.checks.iter().all(|c| c.measured));
        let json = serde_json::to_value(&measured.checks[0]).unwrap();
        assert!(json.get("measured").is_none(), "{json}");
        let back: SloCheck = serde_json::from_value(json).unwrap();
        assert!(back.measured);
        // Checked again from the saved verdicts (as merge does), the same way.
        let again = SloSpec::from_checks(&report.checks).unwrap().evaluate(&result(1, 0, 1.0), &BTreeMap::new());
        assert!(!again.checks[0].passed && !again.checks[0].measured);
    }

    #[test]
    fn an_op_that_never_ran_fails_its_min_rate() {
        let op = Limits::from([(Metric::MinRate, Limit::Value(1.0))]);
        let spec = SloSpec { ops: [("refund".to_string(), op)].into(), ..SloSpec::default() };
        let report = spec.evaluate(&result(1, 10, 1.0), &BTreeMap::new());
        assert!(!report.passed);
        assert_eq!(report.checks[0].scope, "refund");
    }

    /// Each metric is named once: its checks, its key, its unit and bound agree with what
    /// summary.json has always said.
    #[test]
    fn every_metric_reads_back_from_its_name_and_key() {
        let q = |s: &str| Metric::Percentile(Quantile::parse(s).unwrap());
        let all = [q("50"), q("90"), q("95"), q("99"), q("99.9"), q("99.99")].into_iter().chain(Metric::FIXED);
        for m in all {
            assert_eq!(Metric::from_name(&m.name()), Some(m));
            assert_eq!(Metric::from_key(&m.key()), Ok(Some(m)));
            assert_eq!(Unit::parse(m.unit().as_str()), Some(m.unit()));
        }
        let names: Vec<String> = Metric::latency(&Quantile::DEFAULT).map(Metric::name).collect();
        assert_eq!(names, ["latency p50", "latency p90", "latency p99", "latency p99.9", "latency max"]);
        let names: Vec<String> = Metric::FIXED.iter().map(|m| m.name()).collect();
        assert_eq!(names[1..], ["error rate", "check failure rate", "min rate"]);
        assert_eq!(Metric::FIXED.iter().filter(|m| m.bound() == Bound::AtLeast).count(), 1);
        assert_eq!(q("99.9").name(), "latency p99.9");
        assert_eq!(Metric::from_key("p999"), Ok(Some(q("99.9"))), "the older key of p99.9");
        assert_eq!(Metric::from_key("grace"), Ok(None));
        assert!(Metric::from_key("p100").unwrap_err().contains("below 100"));
        assert_eq!(Metric::from_name("latency p100"), None);
        assert_eq!(Metric::from_name("latency p999"), None);
        assert!(q("99.99") > q("99.9") && q("99.9") < Metric::Max, "checks list by value, then max");
    }

    /// A percentile no summary holds until asked for is measured once the spec says so.
    #[test]
    fn any_percentile_is_judged_on_the_summary_that_holds_it() {
        let p95 = Metric::Percentile(Quantile::parse("95").unwrap());
        let spec = SloSpec { overall: Limits::from([(p95, ms(10))]), ..SloSpec::default() };
        assert_eq!(spec.quantiles(), [Quantile::parse("95").unwrap()]);
        let mut stats = Stats::new();
        for i in 1..=100 {
            stats.record(&Sample::answered(i, 200));
        }
        let summary = OpSummary::new(&stats, &spec.quantiles(), 100, 0.0, 1.0);
        let check = &spec.evaluate(&summary, &BTreeMap::new()).checks[0];
        assert_eq!((check.name.as_str(), check.passed, check.measured), ("latency p95", false, true));
        assert!((94.0..=96.0).contains(&check.actual), "{check:?}");
        let loose = SloSpec { overall: Limits::from([(p95, ms(200))]), ..SloSpec::default() };
        assert!(loose.evaluate(&summary, &BTreeMap::new()).passed);
    }

    /// A spec rebuilt from the verdicts it made checks again exactly what it checked: same
    /// names, scopes, limits and order.
    #[test]
    fn a_spec_read_back_from_its_checks_checks_the_same() {
        let spec = SloSpec {
            overall: Limits::from([
                (Metric::Percentile(Quantile::P999), ms(123)),
                (Metric::MinRate, Limit::Value(40.5)),
            ]),
            ops: [(
                "issue".to_string(),
                Limits::from([(Metric::Percentile(Quantile::P50), ms(3)), (Metric::ErrorRate, Limit::Value(0.1))]),
            )]
            .into(),
            abort_after: None,
        };
        let ops = [("issue".to_string(), result(2, 10, 1.0))].into();
        let report = spec.evaluate(&result(5, 30, 1.0), &ops);
        let again = SloSpec::from_checks(&report.checks).unwrap();
        assert_eq!(again.evaluate(&result(5, 30, 1.0), &ops), report);
        let mut odd = report.checks.clone();
        odd[1].name = "latency stddev".into();
        assert_eq!(SloSpec::from_checks(&odd).unwrap_err().name, "latency stddev");
    }
}
