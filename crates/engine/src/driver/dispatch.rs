//! The two ways of feeding workers: an open-loop dispatcher that follows the schedule,
//! and closed-loop sources that follow the responses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use einv_workload::Mix;

use super::feed::{Feed, Skipped, Timeline};
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

/// Send the arrivals of `timeline` that belong to this shard through a pool of at most
/// `d.connections` connections. Returns the arrivals dispatched, per op.
pub async fn open_loop(d: Drive, timeline: Timeline, mut feed: Feed, ops: usize) -> Vec<u64> {
    let mut pool = Pool::new(d.connections);
    let mut workers = JoinSet::new();
    let mut scheduled = vec![0u64; ops];
    let shards = d.ctx.recorder.shard_count();
    let mut pacer = Pacer::new(d.pacing);
    let mut stop = d.stop.clone();
    for arrival in timeline.filter(|a| a.index % d.shard.count == d.shard.index) {
        let due = d.start + arrival.at;
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            _ = pacer.wait_for(due) => {}
        }
        let op = arrival.op.unwrap_or_else(|| feed.op_of(arrival.index));
        scheduled[op] += 1;
        let Ok(job) = feed.job(arrival.index, op, due, arrival.body) else { continue };
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
pub async fn closed_loop(d: Drive, feed: Feed, duration: Duration, think: Duration) {
    let next_index = Arc::new(AtomicU64::new(0));
    let (mix, dynamic) = feed.statics();
    let feed = Arc::new(Mutex::new(feed));
    let mut workers = JoinSet::new();
    let shards = d.ctx.recorder.shard_count();
    for user in 0..d.connections {
        let source = ClosedSource {
            next_index: next_index.clone(),
            feed: feed.clone(),
            mix: mix.clone(),
            dynamic: dynamic.clone(),
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
    feed: Arc<Mutex<Feed>>,
    /// Static ops (no placeholders) are made here, without the shared feed's lock: at
    /// saturation that lock would be on every request's path.
    mix: Mix,
    dynamic: Arc<[bool]>,
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
        if !self.dynamic.iter().any(|d| *d) {
            let index = self.next_index.fetch_add(1, Ordering::Relaxed) * self.shard.count + self.shard.index;
            return Some(Job { index, op: self.mix.pick(index), intended: now, queued: false, parts: None });
        }
        loop {
            let job = {
                let mut feed = self.feed.lock().unwrap_or_else(|e| e.into_inner());
                // Taken under the lock so feeder rows follow index order.
                // Global indices interleave across shards, as the open-loop schedule does.
                let index = self.next_index.fetch_add(1, Ordering::Relaxed) * self.shard.count + self.shard.index;
                let op = feed.op_of(index);
                feed.job(index, op, now, None)
            };
            match job {
                Ok(job) => return Some(job),
                // This user's data has run out: it stops rather than spin on skips.
                Err(Skipped::Exhausted) => return None,
                // Skipped for want of data: wait a moment for responses to fill the pools.
                Err(Skipped::NoData) => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    if Instant::now() >= self.deadline || *self.stop.borrow() {
                        return None;
                    }
                }
            }
        }
    }
}
