//! `[slo]` and `[slo.ops.NAME]` → [`SloSpec`]: limits overall and per op, and the
//! abort-on-fail rule.

use std::time::Duration;

use einv_report::SloSpec;

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
    let mut spec = limits(c, "slo", overall);
    for (name, raw) in s.ops {
        let key = format!("slo.ops.{name}");
        if !ops.iter().any(|o| o.name == name) {
            let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
            c.fail(&key, format!("no op named {name:?} in [[op]] (ops: {})", names.join(", ")));
        }
        let op = limits(c, &key, raw);
        if op.is_empty() {
            c.fail(&key, "sets no limit (p50, p90, p99, p999, max, error-rate, check-failure-rate, min-rate)");
        }
        spec.ops.insert(name, op);
    }
    match (s.abort_on_fail, s.grace) {
        (Some(true), grace) => {
            if spec.is_empty() {
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
fn limits(c: &mut Check, prefix: &str, s: RawSloLimits) -> SloSpec {
    let key = |k: &str| format!("{prefix}.{k}");
    for (k, rate) in [("error-rate", s.error_rate), ("check-failure-rate", s.check_failure_rate)] {
        if let Some(r) = rate
            && !(0.0..=1.0).contains(&r)
        {
            c.fail(&key(k), format!("must be a fraction from 0 to 1 (0.01 = 1%), got {r}"));
        }
    }
    SloSpec {
        p50: s.p50.map(|d| c.duration(&key("p50"), d)),
        p90: s.p90.map(|d| c.duration(&key("p90"), d)),
        p99: s.p99.map(|d| c.duration(&key("p99"), d)),
        p999: s.p999.map(|d| c.duration(&key("p999"), d)),
        max: s.max.map(|d| c.duration(&key("max"), d)),
        error_rate: s.error_rate,
        check_failure_rate: s.check_failure_rate,
        min_rate: s.min_rate.map(|r| c.positive_rate(&key("min-rate"), r)),
        ..SloSpec::default()
    }
}
