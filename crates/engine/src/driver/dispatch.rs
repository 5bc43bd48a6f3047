//! The two ways of feeding workers: an open-loop dispatcher that follows the schedule,
//! and closed-loop sources that follow the responses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use einv_workload::{Mix, Schedule};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::pool::{Pool, Submitted};
use super::worker::{self, Source};
use super::{Ctx, Job};
use crate::profile::Shard;

/// Closer than this to its due time, an arrival is sent at once: a sleep cannot wake
/// that precisely, and would only add lag.
const SLACK: Duration = Duration::from_micros(60);

/// The dispatcher sleeps at most this long at a time, so a stop request is seen quickly.
const MAX_NAP: Duration = Duration::from_millis(20);

/// Workers get this long to finish in-flight requests after Ctrl-C (at most).
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Send `schedule` (the arrivals of `shard`) through a pool of at most `limit`
/// connections, starting at `start`. Returns the arrivals dispatched, per op.
///
/// The dispatcher runs on its own OS thread: tokio's timer wakes on millisecond ticks,
/// which alone would add up to 1 ms of send lag to every request, while a thread sleep
/// is precise to tens of microseconds. Workers stay on the runtime.
pub async fn open_loop(
    ctx: Arc<Ctx>,
    schedule: Schedule,
    mix: Mix,
    shard: Shard,
    limit: usize,
    start: Instant,
    stop: watch::Receiver<bool>,
) -> Vec<u64> {
    let handle = tokio::runtime::Handle::current();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let thread_stop = stop.clone();
    let request_timeout = ctx.request_timeout;
    let spawned = std::thread::Builder::new().name("einv-dispatch".into()).spawn(move || {
        let result = dispatch(&handle, ctx, schedule, &mix, shard, limit, start, &thread_stop);
        let _ = done_tx.send(result);
    });
    if spawned.is_err() {
        tracing::error!("cannot start the dispatcher thread");
        return Vec::new();
    }
    let Ok((scheduled, workers)) = done_rx.await else { return Vec::new() };
    join(workers, request_timeout, stop).await;
    scheduled
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    rt: &tokio::runtime::Handle,
    ctx: Arc<Ctx>,
    schedule: Schedule,
    mix: &Mix,
    shard: Shard,
    limit: usize,
    start: Instant,
    stop: &watch::Receiver<bool>,
) -> (Vec<u64>, JoinSet<()>) {
    let mut pool = Pool::new(limit);
    let mut workers = JoinSet::new();
    let mut scheduled = vec![0u64; mix.len()];
    let shards = ctx.recorder.shard_count();
    let stopped = || *stop.borrow();
    'arrivals: for arrival in schedule.filter(|a| a.index % shard.count == shard.index) {
        let due = start + arrival.at;
        loop {
            let now = Instant::now();
            if due <= now + SLACK {
                break;
            }
            if stopped() {
                break 'arrivals;
            }
            std::thread::sleep((due - now).min(MAX_NAP));
        }
        if stopped() {
            break;
        }
        let op = mix.pick(arrival.index);
        scheduled[op] += 1;
        let job = Job { index: arrival.index, op, intended: due, queued: false };
        if let Submitted::Spawn(inbox, job) = pool.submit(job) {
            let slot = workers.len() % shards;
            workers.spawn_on(worker::run(ctx.clone(), Source::Pool { first: Some(job), inbox }, slot), rt);
        }
    }
    if stopped() {
        pool.clear_pending();
    }
    // Dropping the pool closes the inboxes: idle workers stop, busy ones drain the queue.
    drop(pool);
    (scheduled, workers)
}

/// Closed loop: `users` workers, each sending its next request when the last one is
/// answered (plus `think`), until `start + duration`.
pub async fn closed_loop(
    ctx: Arc<Ctx>,
    mix: Arc<Mix>,
    shard: Shard,
    users: usize,
    (start, duration, think): (Instant, Duration, Duration),
    stop: watch::Receiver<bool>,
) {
    let next_index = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    let shards = ctx.recorder.shard_count();
    for user in 0..users {
        let source = ClosedSource {
            next_index: next_index.clone(),
            mix: mix.clone(),
            shard,
            deadline: start + duration,
            think,
            stop: stop.clone(),
            started: false,
        };
        workers.spawn(worker::run(ctx.clone(), Source::Closed(source), user % shards));
    }
    join(workers, ctx.request_timeout, stop).await;
}

/// Wait for every worker; after a stop request, give in-flight requests a short grace.
async fn join(mut workers: JoinSet<()>, request_timeout: Duration, mut stop: watch::Receiver<bool>) {
    let grace = request_timeout.min(STOP_GRACE);
    let stopped = async {
        let _ = stop.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        _ = async { while workers.join_next().await.is_some() {} } => {}
        _ = stopped => workers.abort_all(),
    }
}

/// A closed-loop user: its next job is due as soon as it asks for it.
pub struct ClosedSource {
    next_index: Arc<AtomicU64>,
    mix: Arc<Mix>,
    shard: Shard,
    deadline: Instant,
    think: Duration,
    stop: watch::Receiver<bool>,
    started: bool,
}

impl ClosedSource {
    pub async fn next(&mut self) -> Option<Job> {
        if self.started && !self.think.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(self.think) => {}
                _ = self.stop.wait_for(|s| *s) => return None,
            }
        }
        self.started = true;
        let now = Instant::now();
        if now >= self.deadline || *self.stop.borrow() {
            return None;
        }
        // Global indices interleave across shards, as the open-loop schedule does.
        let index = self.next_index.fetch_add(1, Ordering::Relaxed) * self.shard.count + self.shard.index;
        Some(Job { index, op: self.mix.pick(index), intended: now, queued: false })
    }
}
