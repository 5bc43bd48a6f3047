//! `[target.builtin]` keys beyond the pool itself: request workers and their queue bound,
//! the rate limit, the handler's overhead, slow bodies, the server's limits, and hold
//! times in any of their shapes (including one measured by an earlier run's report).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use einv_poolsim::{Empirical, Hold, MAX_LEDGER_WINDOW, ModelSpec, RateLimit, ServerLimits, SlowBody, Stall};
use einv_report::Timing;

use super::MAX_RATE;
use super::raw::{RawBuiltin, RawHold, RawRateLimit, RawSlowBody};
use super::validate::Check;

/// The service's keys, raw.
pub(super) struct RawService {
    pub workers: Option<i64>,
    pub queue_limit: Option<i64>,
    pub overhead: Option<RawHold>,
    pub rate_limit: Option<RawRateLimit>,
    pub slow_body: Option<RawSlowBody>,
}

/// Check the service's keys and set them on `spec`.
pub(super) fn service(c: &mut Check, raw: RawService, spec: &mut ModelSpec) {
    let key = |k: &str| format!("target.builtin.{k}");
    spec.workers = raw.workers.map(|n| c.count(&key("workers"), n, (1, 1_000_000)));
    spec.queue_limit = raw.queue_limit.map(|n| c.count(&key("queue-limit"), n, (0, 100_000_000)));
    if spec.queue_limit.is_some() && spec.workers.is_none() {
        c.fail(&key("queue-limit"), "needs `workers`: with unlimited workers no request waits for one");
    }
    if let Some(h) = raw.overhead {
        spec.overhead = hold(c, &key("overhead"), h);
    }
    spec.rate_limit = raw.rate_limit.map(|r| {
        if !(r.rate.is_finite() && r.rate > 0.0 && r.rate <= MAX_RATE) {
            c.fail(&key("rate-limit.rate"), format!("must be > 0 and <= {MAX_RATE} requests/s, got {}", r.rate));
        }
        let burst = c.count(&key("rate-limit.burst"), r.burst, (1, 100_000_000));
        RateLimit { rate: r.rate.clamp(1e-9, MAX_RATE), burst: u32::try_from(burst).unwrap_or(u32::MAX) }
    });
    spec.slow_body = raw.slow_body.map(|s| {
        let every = c.nonzero(&key("slow-body.every"), s.every);
        let length = c.nonzero(&key("slow-body.for"), s.length);
        if length >= every {
            c.fail(&key("slow-body.for"), "must be shorter than `every`");
        }
        let bytes_per_s = einv_poolsim::parse_byte_rate(&s.rate).unwrap_or_else(|e| {
            c.fail(&key("slow-body.rate"), e);
            1
        });
        SlowBody { window: Stall { every, length }, bytes_per_s }
    });
}

/// Check the server's limits in `raw`; the defaults fill what is not set.
pub(super) fn limits(c: &mut Check, raw: &RawBuiltin) -> ServerLimits {
    let key = |k: &str| format!("target.builtin.{k}");
    let d = ServerLimits::default();
    let max_body = raw.max_body.as_deref().map_or(d.max_body, |s| {
        einv_poolsim::parse_byte_size(s).unwrap_or_else(|e| {
            c.fail(&key("max-body"), e);
            d.max_body
        })
    });
    let window = (1, MAX_LEDGER_WINDOW as i64);
    ServerLimits {
        max_body,
        max_order_no: raw.max_order_no.map_or(d.max_order_no, |n| c.count(&key("max-order-no"), n, (1, 4096))),
        header_timeout: raw.header_timeout.map_or(d.header_timeout, |t| c.nonzero(&key("header-timeout"), t)),
        idle_timeout: raw.idle_timeout.map_or(d.idle_timeout, |t| c.nonzero(&key("idle-timeout"), t)),
        max_connections: raw.max_connections.map(|n| c.count(&key("max-connections"), n, (1, 1_000_000))),
        ledger_window: raw.ledger_window.map_or(d.ledger_window, |n| c.count(&key("ledger-window"), n, window)),
    }
}

/// A hold time in any of its shapes; `key` names it in errors.
pub(super) fn hold(c: &mut Check, key: &str, raw: RawHold) -> Hold {
    match raw {
        RawHold::Constant(d) => Hold::Constant(c.duration(key, d)),
        RawHold::Exponential { exponential } => Hold::Exponential { mean: c.duration(key, exponential) },
        RawHold::LogNormal { p50, p99 } => {
            let (p50, p99) = (c.nonzero(key, p50), c.duration(key, p99));
            if p99 < p50 {
                c.fail(key, "p99 must not be below p50");
            }
            Hold::LogNormal { p50, p99 }
        }
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
