//! The two ways of feeding workers: an open-loop dispatcher that follows the schedule,
//! and closed-loop sources that follow the responses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use einv_workload::{Mix, Schedule};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::pacer::Pacer;
use super::pool::{Pool, Submitted};
use super::worker::{self, Source};
use super::{Ctx, Job};
use crate::profile::Shard;

/// Workers get this long to finish in-flight requests after Ctrl-C (at most).
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What both kinds of driver share.
#[derive(Debug, Clone)]
pub struct Drive {
    pub ctx: Arc<Ctx>,
    pub shard: Shard,
    /// Most connections (open loop) or users (closed loop).
    pub connections: usize,
    /// The run's time zero: intended send times are offsets from it.
    pub start: Instant,
    /// Open loop: release arrivals at most once per this window (zero: each on time).
    pub pacing: Duration,
    pub stop: watch::Receiver<bool>,
}

/// Send `schedule` (the arrivals of this shard) through a pool of at most
/// `d.connections` connections. Returns the arrivals dispatched, per op.
pub async fn open_loop(d: Drive, schedule: Schedule, mix: Mix) -> Vec<u64> {
    let mut pool = Pool::new(d.connections);
    let mut workers = JoinSet::new();
    let mut scheduled = vec![0u64; mix.len()];
    let shards = d.ctx.recorder.shard_count();
    let mut pacer = Pacer::new(d.pacing);
    let mut stop = d.stop.clone();
    for arrival in schedule.filter(|a| a.index % d.shard.count == d.shard.index) {
        let due = d.start + arrival.at;
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            _ = pacer.wait_for(due) => {}
        }
        let op = mix.pick(arrival.index);
        scheduled[op] += 1;
        let job = Job { index: arrival.index, op, intended: due, queued: false };
        if let Submitted::Spawn(inbox, job) = pool.submit(job) {
            let slot = workers.len() % shards;
            workers.spawn(worker::run(d.ctx.clone(), Source::Pool { first: Some(job), inbox }, slot));
        }
    }
    if *d.stop.borrow() {
        pool.clear_pending();
    }
    // Dropping the pool closes the inboxes: idle workers stop, busy ones drain the queue.
    drop(pool);
    join(workers, d.ctx.request_timeout, d.stop).await;
    scheduled
}

/// Closed loop: `d.connections` users, each sending its next request when the last one
/// is answered (plus `think`), for `duration`.
pub async fn closed_loop(d: Drive, mix: Mix, duration: Duration, think: Duration) {
    let next_index = Arc::new(AtomicU64::new(0));
    let mix = Arc::new(mix);
    let mut workers = JoinSet::new();
    let shards = d.ctx.recorder.shard_count();
    for user in 0..d.connections {
        let source = ClosedSource {
            next_index: next_index.clone(),
            mix: mix.clone(),
            shard: d.shard,
            deadline: d.start + duration,
            think,
            stop: d.stop.clone(),
            started: false,
        };
        workers.spawn(worker::run(d.ctx.clone(), Source::Closed(source), user % shards));
    }
    join(workers, d.ctx.request_timeout, d.stop).await;
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
