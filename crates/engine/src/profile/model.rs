//! `[model]` (or its older name `[target.builtin]`): the service's model, read into a
//! [`ModelSpec`] and checked by the model's own rules ([`ModelSpec::problems`], which
//! `serve`'s flags and the live target go by too); hold times in any of their shapes,
//! including one measured by an earlier run's report; and `[model.ops.NAME]`, the model
//! of each op of the mix by the profile's own names.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use einv_poolsim::{
    Empirical, Hold, ModelOp, ModelSpec, Operation, RateLimit, Response, Route, ServerLimits, SlowBody, Stall,
};
use einv_report::Timing;

use super::raw::{HumanDuration, RawBuiltin, RawHold, RawModelOp, RawStall};
use super::validate::Check;
use super::{Model, Op};

/// The profile's model from `[model]` or `[target.builtin]` (at most one of them), or
/// the defaults; its ops are the mix's `ops`.
pub(super) fn model(c: &mut Check, model: Option<RawBuiltin>, legacy: Option<RawBuiltin>, ops: &[Op]) -> Model {
    let (table, raw) = match (model, legacy) {
        (Some(_), Some(_)) => {
            let message = "[model] and [target.builtin] both describe the service model: keep [model] \
                           ([target.builtin] is its older name)";
            c.fail("model", message);
            return Model::default();
        }
        (Some(m), None) => ("model", Some(m)),
        (None, Some(b)) => ("target.builtin", Some(b)),
        (None, None) => ("model", None),
    };
    let written = raw.is_some();
    let mut raw = raw.unwrap_or_else(empty);
    let entries = std::mem::take(&mut raw.ops);
    let named = std::mem::take(&mut raw.resources);
    if !named.is_empty() {
        one_pool_keys_alone(c, table, &raw);
    }
    let (mut spec, threads) = service(c, table, raw);
    spec.resources = super::resources::resources(c, table, named);
    spec.ops = model_ops(c, table, entries, ops, &spec);
    for problem in spec.problems() {
        c.fail(&format!("{table}.{}", problem.key), problem.message);
    }
    Model { spec: Box::new(spec), threads, written }
}

/// With named resources, the one-pool keys would describe a second service: each is
/// refused, saying what to write instead.
fn one_pool_keys_alone(c: &mut Check, table: &str, raw: &RawBuiltin) {
    let set = [
        ("pool-size", raw.pool_size.is_some(), "kind = \"pool\", size"),
        ("acquire-timeout", raw.acquire_timeout.is_some(), "acquire-timeout"),
        ("workers", raw.workers.is_some(), "kind = \"workers\", size"),
        ("queue-limit", raw.queue_limit.is_some(), "queue-limit"),
        ("rate-limit", raw.rate_limit.is_some(), "kind = \"rate-limit\", rate, burst"),
    ];
    for (key, _, instead) in set.into_iter().filter(|(_, set, _)| *set) {
        let message = format!(
            "describes the one-pool service; with [{table}.resources] give it as a resource \
             ([{table}.resources.NAME] {instead})"
        );
        c.fail(&format!("{table}.{key}"), message);
    }
}

/// Each op of the mix, modelled by its `[model.ops.NAME]` entry or the default; an
/// entry for an op the mix does not have is reported.
fn model_ops(
    c: &mut Check,
    table: &str,
    mut entries: BTreeMap<String, RawModelOp>,
    ops: &[Op],
    spec: &ModelSpec,
) -> Vec<ModelOp> {
    let resources = spec.resource_list();
    let modelled = ops
        .iter()
        .map(|op| {
            let key = |k: &str| format!("{table}.ops.{}.{k}", op.name);
            let entry = entries.remove(&op.name);
            let defaulted = entry.as_ref().is_none_or(|e| e.hold.is_none() && e.steps.is_none());
            let (raw_hold, response, status, raw_steps) =
                entry.map_or((None, None, None, None), |e| (e.hold, e.response, e.status, e.steps));
            if raw_hold.is_some() && raw_steps.is_some() {
                c.fail(&key("hold"), "an op with steps holds what each step says: give one of hold and steps");
            }
            let hold = match raw_hold {
                Some(raw) => hold(c, &key("hold"), raw),
                None => spec.hold(Operation::default_for(&op.name)).clone(),
            };
            // An op without steps takes the default ones: the model's rules say whether it can.
            let steps = raw_steps.map(|s| super::resources::steps(c, &key("steps"), s, &resources));
            let status = status.map_or(200, |s| {
                if !(100..=599).contains(&s) {
                    c.fail(&key("status"), format!("must be an HTTP status from 100 to 599, got {s}"));
                }
                s
            });
            let response = match (response, status) {
                (Some(text), status) => Response::parse(status, &text).map_err(|e| c.fail(&key("response"), e)).ok(),
                (None, 200) => None,
                (None, status) => {
                    let mut echo = Response::echo();
                    echo.status = status;
                    Some(echo)
                }
            };
            ModelOp {
                name: op.name.clone(),
                route: Route::new(op.method.as_str(), &op.path),
                hold,
                response,
                steps,
                defaulted,
            }
        })
        .collect();
    let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
    for name in entries.keys() {
        let message = format!("no op named {name:?} in the mix (its ops: {})", names.join(", "));
        c.fail(&format!("{table}.ops.{name}"), message);
    }
    modelled
}

/// A table with no key: the defaults.
fn empty() -> RawBuiltin {
    // serde's defaults for an empty table, so that a new key needs no edit here.
    toml::from_str("").unwrap_or_else(|_| unreachable!("every key of the model is optional"))
}

/// The model's `table` (its ops aside) and the built-in target's threads.
fn service(c: &mut Check, table: &str, b: RawBuiltin) -> (ModelSpec, usize) {
    let key = |k: &str| format!("{table}.{k}");
    let d = ModelSpec::default();
    // Counts too large for the machine become the largest, which the model refuses.
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let duration = |c: &mut Check, k: &str, d: HumanDuration| c.duration(&key(k), d);
    let window = |c: &mut Check, k: &str, s: RawStall| Stall {
        every: duration(c, &format!("{k}.every"), s.every),
        length: duration(c, &format!("{k}.for"), s.length),
    };
    let limits = limits(c, table, &b);
    let mut spec = ModelSpec {
        pool_size: b.pool_size.map_or(d.pool_size, count),
        acquire_timeout: b.acquire_timeout.map_or(d.acquire_timeout, |t| duration(c, "acquire-timeout", t)),
        stall: b.stall.map(|s| window(c, "stall", s)),
        pause: pauses(c, table, b.pause_every, b.pause),
        warm_up: warm_up(c, table, b.warm_up, b.cold_factor),
        error_burst: b.error_burst.map(|s| window(c, "error-burst", s)),
        reset_rate: b.reset_rate.unwrap_or(d.reset_rate),
        workers: b.workers.map(count),
        queue_limit: b.queue_limit.map(count),
        overhead: b.overhead.map_or(d.overhead.clone(), |h| hold(c, &key("overhead"), h)),
        wire: b.wire.map_or(d.wire.clone(), |h| hold(c, &key("wire"), h)),
        rate_limit: b.rate_limit.map(|r| RateLimit {
            rate: c.rate_at_most(&key("rate-limit.rate"), r.rate),
            burst: super::resources::burst(c, &key("rate-limit.burst"), r.burst),
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
    (spec, b.threads.map_or(1, |n| c.count(&key("threads"), n, (1, 256))))
}

/// `pause-every` and `pause`: both or neither.
fn pauses(c: &mut Check, table: &str, every: Option<HumanDuration>, pause: Option<HumanDuration>) -> Option<Stall> {
    let key = |k: &str| format!("{table}.{k}");
    match (every, pause) {
        (Some(every), Some(length)) => {
            Some(Stall { every: c.duration(&key("pause-every"), every), length: c.duration(&key("pause"), length) })
        }
        (None, None) => None,
        (Some(_), None) => {
            c.fail(&key("pause-every"), "needs `pause`, how long each pause lasts (e.g. pause = \"12ms\")");
            None
        }
        (None, Some(_)) => {
            c.fail(&key("pause"), "needs `pause-every`, how often a pause comes (e.g. pause-every = \"13s\")");
            None
        }
    }
}

/// `warm-up` and `cold-factor` (3 unless set).
fn warm_up(
    c: &mut Check,
    table: &str,
    length: Option<HumanDuration>,
    cold: Option<f64>,
) -> Option<einv_poolsim::WarmUp> {
    let key = |k: &str| format!("{table}.{k}");
    match (length, cold) {
        (Some(length), cold) => Some(einv_poolsim::WarmUp {
            length: c.duration(&key("warm-up"), length),
            cold_factor: cold.unwrap_or(DEFAULT_COLD_FACTOR),
        }),
        (None, Some(_)) => {
            c.fail(&key("cold-factor"), "needs `warm-up`, how long the service takes to warm (e.g. warm-up = \"10s\")");
            None
        }
        (None, None) => None,
    }
}

/// How much longer holds are at a cold start when `cold-factor` is not set.
const DEFAULT_COLD_FACTOR: f64 = 3.0;

/// The server's limits in `raw`; the defaults fill what is not set.
fn limits(c: &mut Check, table: &str, raw: &RawBuiltin) -> ServerLimits {
    let d = ServerLimits::default();
    let max_body = raw.max_body.as_deref().map_or(d.max_body, |s| {
        einv_poolsim::parse_byte_size(s).unwrap_or_else(|e| {
            c.fail(&format!("{table}.max-body"), e);
            d.max_body
        })
    });
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let mut duration =
        |k: &str, t: Option<HumanDuration>, default| t.map_or(default, |t| c.duration(&format!("{table}.{k}"), t));
    ServerLimits {
        max_body,
        max_order_no: raw.max_order_no.map_or(d.max_order_no, count),
        header_timeout: duration("header-timeout", raw.header_timeout, d.header_timeout),
        idle_timeout: duration("idle-timeout", raw.idle_timeout, d.idle_timeout),
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
