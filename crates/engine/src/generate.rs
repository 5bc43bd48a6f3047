//! `einv-load generate`: the first N requests of a profile's schedule as JSON lines,
//! rendered exactly as a run would render them, without sending anything.

use std::io::Write;

use einv_workload::requests::{Rendered, Skip};
use serde_json::json;

use crate::error::Error;
use crate::profile::{Load, Plan};
use crate::workload::Workload;

/// What a dry run wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generated {
    pub requests: u64,
    /// Requests that a run would skip (their pool is empty: a dry run has no responses).
    pub skipped: u64,
}

/// Write the first `count` requests of this shard as JSON lines (index, intended offset,
/// op, method, path, headers, body, injected-fault tag). Secrets from `${env.*}` are
/// masked. Closed-loop profiles have no schedule: their offsets are null.
pub fn generate(plan: &Plan, count: u64, out: &mut dyn Write) -> Result<Generated, Error> {
    let mut workload = Workload::new(plan)?;
    let timeline = workload.timeline(plan)?;
    type Arrival = (u64, Option<f64>, Option<usize>, Option<bytes::Bytes>);
    let arrivals: Box<dyn Iterator<Item = Arrival>> = match timeline {
        Some(t) => Box::new(t.map(|a| (a.index, Some(a.at.as_secs_f64() * 1000.0), a.op, a.body))),
        None => Box::new((0..).map(|i| (i, None, None, None))),
    };
    let shard = plan.shard;
    let mut done = Generated::default();
    let mut r = Rendered::default();
    let io = |e: std::io::Error| Error::Flag { flag: "--out", message: e.to_string() };
    for (index, offset_ms, op, replay_body) in
        arrivals.filter(|(i, ..)| i % shard.count == shard.index).take(count as usize)
    {
        let op = op.unwrap_or_else(|| workload.requests.op_of(index));
        let o = &plan.ops[op];
        let mut line = json!({
            "index": index,
            "offset_ms": offset_ms.map(|ms| (ms * 1000.0).round() / 1000.0),
            "op": o.name,
            "method": o.method.as_str(),
        });
        let mut headers: serde_json::Map<String, serde_json::Value> =
            o.headers.iter().map(|(k, v)| (k.to_string(), json!(String::from_utf8_lossy(v.as_bytes())))).collect();
        match &o.template {
            None => {
                line["path"] = json!(o.path);
                line["body"] = json!(String::from_utf8_lossy(&o.body));
            }
            Some(t) => match workload.requests.render(index, op, true, &mut r).map_err(|e| profile_error(plan, e))? {
                Ok(()) => {
                    line["path"] = json!(String::from_utf8_lossy(&r.path));
                    line["body"] = json!(String::from_utf8_lossy(&r.body));
                    line["tag"] = json!(r.tag.map(|t| t.as_str()));
                    for ((name, _), value) in t.headers.iter().zip(&r.headers) {
                        headers.insert(name.clone(), json!(String::from_utf8_lossy(value)));
                    }
                }
                Err(skip) => {
                    line["skipped"] = json!(match skip {
                        Skip::EmptyPool(p) => format!("pool {} is empty", plan.workload.pools[p]),
                        Skip::FeederExhausted(f) => format!("feeder {} is exhausted", plan.feeders[f].name),
                    });
                    done.skipped += 1;
                }
            },
        }
        if let Some(body) = replay_body.filter(|_| line.get("skipped").is_none()) {
            // A replay line's own body replaces the op's (and any injected fault), as in a run.
            line["body"] = json!(String::from_utf8_lossy(&body));
            line["tag"] = serde_json::Value::Null;
        }
        line["headers"] = serde_json::Value::Object(headers);
        serde_json::to_writer(&mut *out, &line).map_err(|e| io(e.into()))?;
        out.write_all(b"\n").map_err(io)?;
        done.requests += 1;
    }
    out.flush().map_err(io)?;
    if matches!(plan.load, Load::Closed { .. }) {
        tracing::info!("closed-loop profile: requests have no intended send time (offset_ms is null)");
    }
    Ok(done)
}

fn profile_error(plan: &Plan, e: einv_workload::Error) -> Error {
    Error::from(crate::error::ProfileError::unlocated(&plan.file, "feeder", e))
}
