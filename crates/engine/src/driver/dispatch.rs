//! The two ways of feeding workers: an open-loop dispatcher that follows the schedule,
//! and closed-loop sources that follow the responses. Both end the same way: the schedule
//! ends (or the run is stopped), then the requests still in flight get a bounded drain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use einv_workload::Mix;

use super::feed::{Feed, Skipped};
use super::pacer::Pacer;
use super::pool::{Pool, Submitted};
use super::worker::{self, Source};
use super::{Ctx, Job};
use crate::profile::Shard;
use crate::workload::Arrivals;

/// After Ctrl-C or an abort, requests in flight get this long at most (never more than
/// the request timeout) before the run is cut and they are recorded as timeouts.
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
    /// The schedule's planned length: sending ends then (or later, if the dispatcher
    /// fell behind), and the drain begins.
    pub length: Duration,
    /// Open loop: release arrivals at most once per this window (zero: each on time).
    pub pacing: Duration,
    pub stop: watch::Receiver<bool>,
}

/// How a driver's run went, beyond what the recorder holds.
#[derive(Debug)]
pub struct Driven {
    /// Arrivals dispatched, per op (open loop and replay; `None` for closed loop).
    pub scheduled: Option<Vec<u64>>,
    /// When sending ended: the schedule's end, or the moment the run was stopped. Rates
    /// are measured up to here; the drain comes after.
    pub sent_until: Instant,
}

/// Send this shard's `arrivals` through a pool of at most `d.connections` connections,
/// then drain.
pub async fn open_loop(d: Drive, arrivals: Arrivals, mut feed: Feed, ops: usize) -> Driven {
    let mut pool = Pool::new(d.connections);
    let mut workers = JoinSet::new();
    let (cut_tx, cut) = watch::channel(false);
    let mut scheduled = vec![0u64; ops];
    let mut pacer = Pacer::new(d.pacing);
    let mut stop = d.stop.clone();
    for arrival in arrivals {
        let due = d.start + arrival.at;
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            _ = pacer.wait_for(due) => {}
        }
        scheduled[arrival.op] += 1;
        let Ok(job) = feed.job(arrival.index, arrival.op, due, arrival.body) else { continue };
        if let Submitted::Spawn(inbox, job) = pool.submit(job) {
            let source = Source::Pool { first: Some(job), inbox };
            workers.spawn(worker::run(d.ctx.clone(), source, cut.clone()));
        }
    }
    let dispatched: u64 = scheduled.iter().sum();
    tracing::debug!("dispatcher: {dispatched} arrivals, {} wake-ups", pacer.wakes());
    let sent_until = schedule_end(&d).await;
    if *d.stop.borrow() {
        // Never sent, and now never will be: they count as unsent.
        pool.clear_pending();
    }
    // Dropping the pool closes the inboxes: idle workers stop, busy ones drain the queue.
    drop(pool);
    drain(workers, cut_tx, sent_until + d.ctx.request_timeout, d.stop, d.ctx.request_timeout).await;
    Driven { scheduled: Some(scheduled), sent_until }
}

/// Closed loop: `d.connections` users, each sending its next request when the last one
/// is answered (plus `think`), for `d.length`; then drain.
pub async fn closed_loop(d: Drive, feed: Feed, think: Duration) -> Driven {
    let next_index = Arc::new(AtomicU64::new(0));
    let (mix, dynamic) = feed.statics();
    let feed = Arc::new(Mutex::new(feed));
    let mut workers = JoinSet::new();
    let (cut_tx, cut) = watch::channel(false);
    for _ in 0..d.connections {
        let source = ClosedSource {
            next_index: next_index.clone(),
            feed: feed.clone(),
            mix: mix.clone(),
            dynamic: dynamic.clone(),
            shard: d.shard,
            deadline: d.start + d.length,
            think,
            stop: d.stop.clone(),
            started: false,
        };
        workers.spawn(worker::run(d.ctx.clone(), Source::Closed(source), cut.clone()));
    }
    let sent_until = schedule_end(&d).await;
    drain(workers, cut_tx, sent_until + d.ctx.request_timeout, d.stop, d.ctx.request_timeout).await;
    Driven { scheduled: None, sent_until }
}

/// Wait for the schedule's planned end (the dispatcher may be there already, or later);
/// a stop ends it at once. Returns when sending ended.
async fn schedule_end(d: &Drive) -> Instant {
    let mut stop = d.stop.clone();
    tokio::select! {
        _ = stop.wait_for(|s| *s) => {}
        _ = tokio::time::sleep_until((d.start + d.length).into()) => {}
    }
    Instant::now()
}

/// The drain: wait for every worker until `limit` (the end of sending + the request
/// timeout: by then every request's own deadline has passed) or, after a stop, until
/// [`STOP_GRACE`] later, whichever comes first. Then cut: each request still in flight
/// is recorded as a timeout at that moment, and the workers end.
async fn drain(
    mut workers: JoinSet<()>,
    cut: watch::Sender<bool>,
    limit: Instant,
    mut stop: watch::Receiver<bool>,
    request_timeout: Duration,
) {
    let grace = request_timeout.min(STOP_GRACE);
    let stopped = async {
        let _ = stop.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    let limit = tokio::time::sleep_until(limit.into());
    tokio::pin!(stopped, limit);
    loop {
        tokio::select! {
            joined = workers.join_next() => if joined.is_none() { return },
            _ = &mut limit => break,
            _ = &mut stopped => break,
        }
    }
    let _ = cut.send(true);
    // Every await of a worker gives way to the cut, so this is quick.
    while workers.join_next().await.is_some() {}
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
    /// The global index of the next request this shard's users send, and its op.
    fn take(&self) -> (u64, usize) {
        let index = self.shard.global(self.next_index.fetch_add(1, Ordering::Relaxed));
        (index, self.mix.pick(index))
    }

    pub async fn next(&mut self) -> Option<Job> {
        if self.started && !self.think.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(self.think) => {}
                // A long think must not hold the drain up after the run's end.
                _ = tokio::time::sleep_until(self.deadline.into()) => return None,
                _ = self.stop.wait_for(|s| *s) => return None,
            }
        }
        self.started = true;
        let now = Instant::now();
        if now >= self.deadline || *self.stop.borrow() {
            return None;
        }
        if !self.dynamic.iter().any(|d| *d) {
            let (index, op) = self.take();
            return Some(Job { index, op, intended: now, queued: false, parts: None });
        }
        loop {
            let job = {
                let mut feed = self.feed.lock().unwrap_or_else(|e| e.into_inner());
                // Taken under the lock so feeder rows follow index order.
                let (index, op) = self.take();
                feed.job(index, op, now, None)
            };
            match job {
                Ok(job) => return Some(job),
                // This user's data has run out: it stops rather than spin on skips.
                Err(Skipped::Exhausted) => return None,
                // Skipped for want of data: wait a moment for responses to fill the pools.
                Err(Skipped::NoData | Skipped::Unsendable) => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    if Instant::now() >= self.deadline || *self.stop.borrow() {
                        return None;
                    }
                }
            }
        }
    }
}
