//! `[slo]` and `[slo.ops.NAME]` → [`SloSpec`]: limits overall and per op, and the
//! abort-on-fail rule.

use std::time::Duration;

use einv_report::{Limit, Limits, Metric, SloSpec, Unit};

use super::Op;
use super::raw::{RawSlo, RawSloLimits};
use super::validate::Check;

/// Without `grace`, abort-on-fail waits this long: enough data for a stable p99.
const DEFAULT_GRACE: Duration = Duration::from_secs(30);

pub(super) fn slo(c: &mut Check, s: RawSlo, ops: &[Op], run: Duration) -> SloSpec {
    let overall = RawSloLimits {
        p50: s.p50,
        p90: s.p90,
        p99: s.p99,
        p999: s.p999,
        max: s.max,
        error_rate: s.error_rate,
        check_failure_rate: s.check_failure_rate,
        min_rate: s.min_rate,
    };
    let mut spec = SloSpec { overall: limits(c, "slo", overall), ..SloSpec::default() };
    for (name, raw) in s.ops {
        let key = format!("slo.ops.{name}");
        if !ops.iter().any(|o| o.name == name) {
            let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
            c.fail(&key, format!("no op named {name:?} in [[op]] (ops: {})", names.join(", ")));
        }
        let op = limits(c, &key, raw);
        if op.is_empty() {
            let keys: Vec<&str> = Metric::ALL.iter().map(|m| m.key()).collect();
            c.fail(&key, format!("sets no limit ({})", keys.join(", ")));
        }
        spec.ops.insert(name, op);
    }
    match (s.abort_on_fail, s.grace) {
        (Some(true), grace) => {
            if !spec.has_limits() {
                c.fail("slo.abort-on-fail", "there is no SLO limit to abort on");
            }
            let (key, grace) = match grace {
                Some(g) => ("slo.grace", c.duration("slo.grace", g)),
                None => ("slo.abort-on-fail", DEFAULT_GRACE),
            };
            if grace >= run {
                let message = format!(
                    "a grace of {} is not shorter than the run ({}), so abort-on-fail could never stop it{}",
                    humantime::format_duration(grace),
                    humantime::format_duration(run),
                    if s.grace.is_none() { "; set slo.grace (default 30s)" } else { "" }
                );
                c.fail(key, message);
            }
            spec.abort_after = Some(grace);
        }
        (_, Some(_)) => c.fail("slo.grace", "applies only with abort-on-fail = true"),
        (_, None) => {}
    }
    spec
}

/// One scope's limits (`prefix` is `slo` or `slo.ops.NAME`).
fn limits(c: &mut Check, prefix: &str, s: RawSloLimits) -> Limits {
    let key = |m: Metric| format!("{prefix}.{}", m.key());
    let times = [
        (Metric::P50, s.p50),
        (Metric::P90, s.p90),
        (Metric::P99, s.p99),
        (Metric::P999, s.p999),
        (Metric::Max, s.max),
    ];
    let numbers = [
        (Metric::ErrorRate, s.error_rate),
        (Metric::CheckFailureRate, s.check_failure_rate),
        (Metric::MinRate, s.min_rate),
    ];
    let numbers: Vec<(Metric, f64)> = numbers.into_iter().filter_map(|(m, v)| Some((m, v?))).collect();
    for &(m, r) in numbers.iter().filter(|(m, _)| m.unit() == Unit::Ratio) {
        if !(0.0..=1.0).contains(&r) {
            c.fail(&key(m), format!("must be a fraction from 0 to 1 (0.01 = 1%), got {r}"));
        }
    }
    let mut limits = Limits::default();
    for (m, d) in times.into_iter().filter_map(|(m, d)| Some((m, d?))) {
        limits.set(m, Limit::Time(c.duration(&key(m), d)));
    }
    for (m, v) in numbers {
        let v = if m.unit() == Unit::PerSecond { c.positive_rate(&key(m), v) } else { v };
        limits.set(m, Limit::Value(v));
    }
    limits
}
