//! The one request loop. Every schedule (open or closed loop) feeds it through a
//! [`Source`]; it sends, measures from the intended time, and records.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use einv_report::{ErrorClass, Outcome, Phases, Sample, is_final_status};
use tokio::sync::watch;

use super::http::{Conn, SendError};
use super::pool::WorkerInbox;
use einv_workload::requests::Tag;

use super::{Ctx, Job};

/// Where a worker's jobs come from.
pub enum Source {
    /// Open loop: jobs handed over by the dispatcher.
    Pool { first: Option<Job>, inbox: WorkerInbox },
    /// Closed loop: the next job starts when the last one ends (plus think time).
    Closed(super::dispatch::ClosedSource),
}

impl Source {
    async fn next(&mut self) -> Option<Job> {
        match self {
            Source::Pool { first, inbox } => match first.take() {
                Some(job) => Some(job),
                None => inbox.next().await,
            },
            Source::Closed(src) => src.next().await,
        }
    }
}

/// Run jobs from `source` on one connection (opened on first use, reopened after errors)
/// until the source is exhausted or the run is `cut`.
pub async fn run(ctx: Arc<Ctx>, mut source: Source, mut cut: watch::Receiver<bool>) {
    let mut conn: Option<Conn> = None;
    while let Some(job) = source.next().await {
        if let Some(sample) = execute(&ctx, &mut conn, &job, &mut cut).await {
            ctx.recorder.record(recorder_slot(), job.op, &sample);
        }
    }
}

/// The recorder slot of the thread this runs on. Tasks move between the runtime's
/// threads, but a thread runs one at a time: with a slot per thread no record ever waits
/// for another, and the recorder needs no more slots than the runtime has threads.
pub fn recorder_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SLOT.with(|slot| *slot)
}

/// Send `job` and measure it. Its deadline is its intended time + the request timeout,
/// so time spent queued for a connection and time on the wire share one budget. `None`
/// when the run was cut before it was sent: it then counts as unsent.
async fn execute(ctx: &Ctx, conn: &mut Option<Conn>, job: &Job, cut: &mut watch::Receiver<bool>) -> Option<Sample> {
    let deadline = job.intended + ctx.request_timeout;
    let sent = Instant::now();
    if sent >= deadline {
        return Some(expired(sent - job.intended, job));
    }
    if *cut.borrow() {
        return None;
    }
    let mut phases = Phases::default();
    let exchanged = tokio::select! {
        biased;
        done = tokio::time::timeout_at(deadline.into(), exchange(ctx, conn, job, &mut phases)) => done.ok(),
        // The drain's limit: what is still in flight is recorded as a timeout, now.
        _ = cut.wait_for(|c| *c) => None,
    };
    let (outcome, body) = exchanged.unwrap_or_else(|| {
        // The connection still has a request in flight: it cannot be reused.
        *conn = None;
        (Outcome::Failed(ErrorClass::Timeout), Vec::new())
    });
    let end = Instant::now();
    let tag = job.parts.as_ref().and_then(|p| p.tag);
    let expects_rejection = tag.is_some_and(|t| t.expects_rejection());
    let check_failed = match outcome {
        // Not an answer at all (an unsolicited 101, a status 999): an error, not a check.
        Outcome::Response(status) if !is_final_status(status) => false,
        // An invoice sent invalid on purpose must be refused; the op's own checks describe
        // a valid answer and do not apply.
        Outcome::Response(status) if expects_rejection => !(400..500).contains(&status),
        Outcome::Response(status) => !inspect(ctx, job.op, status, &body, tag),
        Outcome::Failed(_) => false,
    };
    Some(Sample {
        latency: end.saturating_duration_since(job.intended),
        service: Some(end - sent),
        send_lag: sent.saturating_duration_since(job.intended),
        outcome,
        queued: job.queued,
        check_failed,
        tag: tag.map(|t| t.index()),
        expects_rejection,
        phases,
    })
}

/// A request whose deadline passed before it could be sent (it waited for a connection)
/// is not sent: a client would have given up by now. It counts as a timeout, timed from
/// its intended send, and this keeps the queue bounded by rate × request timeout.
fn expired(waited: Duration, job: &Job) -> Sample {
    Sample {
        latency: waited,
        service: None,
        send_lag: waited,
        outcome: Outcome::Failed(ErrorClass::Timeout),
        queued: job.queued,
        check_failed: false,
        tag: job.parts.as_ref().and_then(|p| p.tag).map(|t| t.index()),
        expects_rejection: false,
        phases: Phases::default(),
    }
}

/// Check a response and feed the pools from it; false when a check failed. Only
/// successful first submissions feed pools: a rejected invoice has no number to query, and
/// a duplicate's answer repeats a number the pool already holds.
fn inspect(ctx: &Ctx, op: usize, status: u16, body: &[u8], tag: Option<Tag>) -> bool {
    let (extract, check) = &ctx.responses[op];
    if extract.is_empty() && check.is_empty() {
        return true;
    }
    let json: Option<serde_json::Value> =
        if extract.is_empty() && !check.needs_body() { None } else { serde_json::from_slice(body).ok() };
    if status < 300
        && tag != Some(Tag::Duplicate)
        && let Some(json) = &json
    {
        for (pool, pointer) in extract {
            match json.pointer(pointer) {
                Some(serde_json::Value::String(s)) => ctx.pools.put(*pool, s.clone()),
                Some(v @ serde_json::Value::Number(_)) => ctx.pools.put(*pool, v.to_string()),
                _ => {}
            }
        }
    }
    // No check configured: errors are counted as errors, never also as failed checks.
    check.is_empty() || check.passes(status, json.as_ref())
}

/// Send `job` on the worker's connection (opening one if needed); `phases` gets the
/// connect time of a connection opened for it and the time to first byte. Written
/// through a reference so that a request timeout keeps the phases reached so far.
async fn exchange(ctx: &Ctx, slot: &mut Option<Conn>, job: &Job, phases: &mut Phases) -> (Outcome, Vec<u8>) {
    let op = job.op;
    let keep = !ctx.responses[op].0.is_empty() || ctx.responses[op].1.needs_body();
    // At most two tries: a reused connection the server had just closed, then a fresh one.
    for _ in 0..2 {
        let fresh = slot.as_ref().is_none_or(Conn::is_closed);
        if fresh {
            *slot = None;
            match Conn::connect(ctx.addr, ctx.connect_timeout, &ctx.conns, ctx.tls.as_ref()).await {
                Ok(c) => {
                    phases.connect = Some(c.connected_in);
                    phases.tls = c.tls_in;
                    *slot = Some(c)
                }
                Err(class) => return (Outcome::Failed(class), Vec::new()),
            }
        }
        let Some(conn) = slot.as_mut() else { return (Outcome::Failed(ErrorClass::Other), Vec::new()) };
        let result = conn.send(ctx.requests[op].request(job.parts.as_deref()), keep).await;
        // After a status that is no final answer the peer is not speaking HTTP/1.1 to us
        // any more (a 101 hands the connection over to another protocol).
        if !result.as_ref().is_ok_and(|r| is_final_status(r.status)) || !ctx.keep_alive {
            *slot = None;
        }
        match result {
            Ok(resp) => {
                phases.ttfb = Some(resp.ttfb);
                return (Outcome::Response(resp.status), resp.body);
            }
            Err(SendError::NotSent) if !fresh => continue,
            // A brand-new connection closed before the request: the server hangs up on us.
            Err(SendError::NotSent) => return (Outcome::Failed(ErrorClass::Reset), Vec::new()),
            Err(SendError::Failed(class)) => return (Outcome::Failed(class), Vec::new()),
        }
    }
    (Outcome::Failed(ErrorClass::Reset), Vec::new())
}
