//! `[target.builtin]`: the built-in target's model, read into a [`ModelSpec`] and
//! checked by the model's own rules ([`ModelSpec::problems`], which `serve`'s flags and
//! the live target go by too); hold times in any of their shapes, including one measured
//! by an earlier run's report.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use einv_poolsim::{Empirical, Hold, ModelSpec, Operation, RateLimit, ServerLimits, SlowBody, Stall};
use einv_report::Timing;

use super::raw::{HumanDuration, RawBuiltin, RawHold, RawStall};
use super::validate::Check;

/// The model and the built-in target's threads.
pub(super) fn builtin(c: &mut Check, b: RawBuiltin) -> (ModelSpec, usize) {
    let key = |k: &str| format!("target.builtin.{k}");
    let d = ModelSpec::default();
    // Counts too large for the machine become the largest, which the model refuses.
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let duration = |c: &mut Check, k: &str, d: HumanDuration| c.duration(&key(k), d);
    let window = |c: &mut Check, k: &str, s: RawStall| Stall {
        every: duration(c, &format!("{k}.every"), s.every),
        length: duration(c, &format!("{k}.for"), s.length),
    };
    let limits = limits(c, &b);
    let mut spec = ModelSpec {
        pool_size: b.pool_size.map_or(d.pool_size, count),
        acquire_timeout: b.acquire_timeout.map_or(d.acquire_timeout, |t| duration(c, "acquire-timeout", t)),
        stall: b.stall.map(|s| window(c, "stall", s)),
        error_burst: b.error_burst.map(|s| window(c, "error-burst", s)),
        reset_rate: b.reset_rate.unwrap_or(d.reset_rate),
        workers: b.workers.map(count),
        queue_limit: b.queue_limit.map(count),
        overhead: b.overhead.map_or(d.overhead, |h| hold(c, &key("overhead"), h)),
        rate_limit: b.rate_limit.map(|r| RateLimit {
            rate: c.rate_at_most(&key("rate-limit.rate"), r.rate),
            burst: u32::try_from(r.burst).unwrap_or(u32::MAX),
        }),
        slow_body: b.slow_body.map(|s| SlowBody {
            window: window(c, "slow-body", RawStall { every: s.every, length: s.length }),
            bytes_per_s: einv_poolsim::parse_byte_rate(&s.rate).unwrap_or_else(|e| {
                c.fail(&key("slow-body.rate"), e);
                1
            }),
        }),
        limits,
        ..d
    };
    let holds = [b.issue_hold, b.query_hold, b.red_flush_hold, b.verify_hold, b.download_hold, b.callback_hold];
    for (op, raw) in Operation::ALL.into_iter().zip(holds) {
        if let Some(raw) = raw {
            let hold = hold(c, &key(op.hold_key()), raw);
            spec.set_hold(op, hold);
        }
    }
    for problem in spec.problems() {
        c.fail(&key(problem.key), problem.message);
    }
    (spec, b.threads.map_or(1, |n| c.count(&key("threads"), n, (1, 256))))
}

/// The server's limits in `raw`; the defaults fill what is not set.
fn limits(c: &mut Check, raw: &RawBuiltin) -> ServerLimits {
    let d = ServerLimits::default();
    let max_body = raw.max_body.as_deref().map_or(d.max_body, |s| {
        einv_poolsim::parse_byte_size(s).unwrap_or_else(|e| {
            c.fail("target.builtin.max-body", e);
            d.max_body
        })
    });
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let mut duration = |k: &str, t: Option<HumanDuration>, default| t.map_or(default, |t| c.duration(k, t));
    ServerLimits {
        max_body,
        max_order_no: raw.max_order_no.map_or(d.max_order_no, count),
        header_timeout: duration("target.builtin.header-timeout", raw.header_timeout, d.header_timeout),
        idle_timeout: duration("target.builtin.idle-timeout", raw.idle_timeout, d.idle_timeout),
        max_connections: raw.max_connections.map(count),
        ledger_window: raw.ledger_window.map_or(d.ledger_window, count),
    }
}

/// A hold time in any of its shapes; `key` names it in errors.
pub(super) fn hold(c: &mut Check, key: &str, raw: RawHold) -> Hold {
    match raw {
        RawHold::Constant(d) => Hold::Constant(c.duration(key, d)),
        RawHold::Exponential { exponential } => Hold::Exponential { mean: c.duration(key, exponential) },
        RawHold::LogNormal { p50, p99 } => Hold::LogNormal { p50: c.duration(key, p50), p99: c.duration(key, p99) },
        RawHold::FromReport { from_report, op } => match from_report_hold(c.file, &from_report, &op) {
            Ok(e) => Hold::Empirical(Arc::new(e)),
            Err(message) => {
                c.fail(key, message);
                Hold::Constant(Duration::ZERO)
            }
        },
    }
}

/// The service times `op` saw in the report folder `folder` (relative to the profile's
/// directory), summed over the run: from its histograms.hlog, tag `<op>:service`.
fn from_report_hold(profile: &Path, folder: &str, op: &str) -> Result<Empirical, String> {
    let dir = profile.parent().unwrap_or(Path::new(".")).join(folder);
    if !dir.is_dir() {
        return Err(format!(
            "report folder {} not found (a relative path starts at the profile's folder)",
            dir.display()
        ));
    }
    let path = dir.join(einv_report::files::HLOG);
    // Summed as it is read: an hour's log decoded whole would not fit in memory.
    let totals = einv_report::Totals::read(&path).map_err(|e| e.to_string())?;
    let Some(h) = totals.ops.get(op).map(|h| &h[Timing::Service]).filter(|h| !h.is_empty()) else {
        let ops: Vec<&str> = totals.ops.keys().map(String::as_str).collect();
        return Err(format!(
            "op {op:?} has no service times in {} (ops there: {})",
            path.display(),
            if ops.is_empty() { "none".to_string() } else { ops.join(", ") }
        ));
    };
    // The report's histograms count microseconds; each bucket is represented by its top.
    let points = h.iter_recorded().map(|v| (Duration::from_micros(v.value_iterated_to()), v.count_at_value()));
    Empirical::new(points.collect())
}
