//! `einv-load generate`: the first N requests of a profile's schedule as JSON lines,
//! rendered exactly as a run would render them, without sending anything.

use std::io::{BufWriter, Write};
use std::path::Path;

use einv_report::{Existing, Output};
use einv_workload::requests::{Rendered, Skip};
use serde_json::json;

use crate::error::Error;
use crate::profile::{Load, Plan};
use crate::signals::Interrupt;
use crate::workload::Workload;

/// What a dry run wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generated {
    pub requests: u64,
    /// Requests that a run would skip (their capture is empty: a dry run has no responses).
    pub skipped: u64,
    /// Ctrl-C or SIGTERM stopped it: a file output was not written (no half file is left);
    /// standard output, a device or a FIFO got the lines before the signal.
    pub interrupted: bool,
}

/// A request to write: its global index, intended offset in ms (none in a closed loop),
/// op, and a replay's own body.
type Line = (u64, Option<f64>, usize, Option<bytes::Bytes>);

/// Lines written between two looks for Ctrl-C.
const CHECK_EVERY: u64 = 1024;

/// Write the first `count` requests of this shard as JSON lines (index, intended offset,
/// op, method, path, headers, body, injected-fault tag) to `out` (`-`: standard output;
/// see [`Output`] for files, devices and FIFOs; `existing` says whether a file there may
/// be replaced). Secrets from `${env.*}` are masked. Closed-loop profiles have no
/// schedule: their offsets are null. A reader that goes away (`| head`) ends it normally.
pub fn generate(plan: &Plan, count: u64, out: &Path, existing: Existing) -> Result<Generated, Error> {
    let mut workload = Workload::new(plan)?;
    let shard = plan.shard;
    let arrivals: Box<dyn Iterator<Item = Line>> = match workload.arrivals(shard)? {
        Some(arrivals) => Box::new(arrivals.map(|a| (a.index, Some(a.at.as_secs_f64() * 1000.0), a.op, a.body))),
        None => Box::new(workload.closed_requests(shard).map(|(index, op)| (index, None, op, None))),
    };
    let interrupt = Interrupt::start("interrupted: stopping the dry run")?;
    let mut writer = BufWriter::new(Output::create(out, existing)?);
    let mut done = Generated::default();
    let mut r = Rendered::default();
    let io = |e: std::io::Error| Error::from(einv_report::Error::Io { path: out.into(), source: e });
    for (index, offset_ms, op, replay_body) in arrivals.take(count as usize) {
        if done.requests % CHECK_EVERY == 0 && interrupt.fired() {
            // Dropped uncommitted: a file output leaves nothing behind.
            return Ok(Generated { interrupted: true, ..done });
        }
        let line = render_line(plan, &mut workload, (index, offset_ms, op, replay_body), &mut r, &mut done)?;
        let written = serde_json::to_writer(&mut writer, &line).map_err(std::io::Error::from);
        match written.and_then(|()| writer.write_all(b"\n")) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(done),
            other => other.map_err(io)?,
        }
        done.requests += 1;
    }
    let output = match writer.into_inner() {
        Ok(output) => output,
        Err(e) if e.error().kind() == std::io::ErrorKind::BrokenPipe => return Ok(done),
        Err(e) => return Err(io(e.into_error())),
    };
    match output.commit() {
        Err(e) if e.is_broken_pipe() => {}
        other => other?,
    }
    if matches!(plan.load, Load::Closed { .. }) {
        tracing::info!("closed-loop profile: requests have no intended send time (offset_ms is null)");
    }
    Ok(done)
}

/// One arrival as a JSON line; `done.skipped` counts the requests a run would skip.
fn render_line(
    plan: &Plan,
    workload: &mut Workload,
    (index, offset_ms, op, replay_body): Line,
    r: &mut Rendered,
    done: &mut Generated,
) -> Result<serde_json::Value, Error> {
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
        Some(t) => match workload.requests.render(index, op, true, r).map_err(|e| profile_error(plan, e))? {
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
                    // The older word, kept: scripts read this text (tests/e2e/generate.rs pins it).
                    Skip::EmptyCapture(c) => format!("pool {} is empty", plan.workload.captures[c]),
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
    Ok(line)
}

fn profile_error(plan: &Plan, e: einv_workload::Error) -> Error {
    Error::from(crate::error::ProfileError::unlocated(&plan.file, "feeder", e))
}
