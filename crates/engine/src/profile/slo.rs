//! `[slo]` and `[slo.ops.NAME]` → [`SloSpec`]: limits overall and per op, and the
//! abort-on-fail rule.

use std::time::Duration;

use einv_report::{Limit, Limits, Metric, SloSpec, Unit};

use super::Op;
use super::raw::{RawLimit, RawSlo, RawSloLimits};
use super::validate::Check;

/// Without `grace`, abort-on-fail waits this long: enough data for a stable p99.
const DEFAULT_GRACE: Duration = Duration::from_secs(30);

pub(super) fn slo(c: &mut Check, s: RawSlo, ops: &[Op], run: Duration) -> SloSpec {
    let mut spec = SloSpec { overall: limits(c, "slo", s.limits), ..SloSpec::default() };
    for (name, raw) in s.ops {
        let key = format!("slo.ops.{name}");
        if !ops.iter().any(|o| o.name == name) {
            let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
            c.fail(&key, format!("no op named {name:?} in [[op]] (ops: {})", names.join(", ")));
        }
        let op = limits(c, &key, raw);
        if op.is_empty() {
            let keys: Vec<String> = Metric::FIXED.iter().map(|m| m.key()).collect();
            c.fail(&key, format!("sets no limit (a percentile such as p99 or \"p99.9\", {})", keys.join(", ")));
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

/// One scope's limits (`prefix` is `slo` or `slo.ops.NAME`). A metric given twice (`p999`
/// and `"p99.9"`) is an error.
fn limits(c: &mut Check, prefix: &str, s: RawSloLimits) -> Limits {
    let mut limits = Limits::default();
    let mut seen: Vec<(Metric, String)> = Vec::new();
    for (written, m, raw) in s.0 {
        let key = format!("{prefix}.{written}");
        if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == m) {
            c.fail(&key, format!("`{first}` and `{written}` both limit {}: write it once", m.name()));
        }
        seen.push((m, written));
        let limit = match (raw, m.unit()) {
            (RawLimit::Time(d), _) => Limit::Time(c.duration(&key, d)),
            (RawLimit::Number(r), Unit::Ratio) => {
                if !(0.0..=1.0).contains(&r) {
                    c.fail(&key, format!("must be a fraction from 0 to 1 (0.01 = 1%), got {r}"));
                }
                Limit::Value(r)
            }
            (RawLimit::Number(v), _) => Limit::Value(c.positive_rate(&key, v)),
        };
        limits.set(m, limit);
    }
    limits
}
