//! The two ways of feeding workers: an open-loop dispatcher that follows the schedule,
//! and closed-loop sources that follow the responses. Both end the same way: the schedule
//! ends (or the run is stopped), then the requests still in flight get a bounded drain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use einv_workload::Mix;

use super::connections::{Connections, Submitted};
use super::feed::{Feed, Skipped};
use super::link::Link;
use super::pacer::Pacer;
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
    /// Open loop: arrivals intended before this offset are missed, not sent (a process
    /// that joined a common start late; zero otherwise).
    pub join: Duration,
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
    /// Arrivals before [`Drive::join`]: in `scheduled`, never sent.
    pub missed: u64,
}

/// Send this shard's `arrivals` through at most `d.connections` connections,
/// then drain.
pub async fn open_loop(d: Drive, arrivals: Arrivals, mut feed: Feed, ops: usize) -> Driven {
    let streams = d.ctx.streams;
    let mut conns = Connections::new(d.connections * streams, d.ctx.waiting.clone());
    // HTTP/2: `streams` workers in a row share one connection.
    let links: Vec<Arc<Link>> = (0..if streams > 1 { d.connections } else { 0 }).map(|_| Arc::default()).collect();
    let mut workers = JoinSet::new();
    let (cut_tx, cut) = watch::channel(false);
    let mut scheduled = vec![0u64; ops];
    let mut pacer = Pacer::new(d.pacing);
    let mut stop = d.stop.clone();
    let mut missed = 0;
    for arrival in arrivals {
        // Walked, not sent: the shard's later arrivals keep their global indices and ops.
        if arrival.at < d.join {
            scheduled[arrival.op] += 1;
            missed += 1;
            continue;
        }
        let due = d.start + arrival.at;
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            _ = pacer.wait_for(due) => {}
        }
        scheduled[arrival.op] += 1;
        let Ok(job) = feed.job(arrival.index, arrival.op, due, arrival.body) else { continue };
        if let Submitted::Spawn(inbox, job) = conns.submit(job) {
            let link = links.get(inbox.id() / streams).cloned();
            let source = Source::Connections { first: Some(job), inbox };
            workers.spawn(worker::run(d.ctx.clone(), source, cut.clone(), link));
        }
    }
    let dispatched: u64 = scheduled.iter().sum();
    tracing::debug!("dispatcher: {dispatched} arrivals, {} wake-ups", pacer.wakes());
    let sent_until = schedule_end(&d).await;
    if *d.stop.borrow() {
        // Never sent, and now never will be: they count as unsent.
        conns.clear_pending();
    }
    // Dropping the connections closes the inboxes: idle workers stop, busy ones drain the queue.
    drop(conns);
    drain(workers, cut_tx, sent_until + d.ctx.request_timeout, d.stop, d.ctx.request_timeout).await;
    Driven { scheduled: Some(scheduled), sent_until, missed }
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
        workers.spawn(worker::run(d.ctx.clone(), Source::Closed(source), cut.clone(), None));
    }
    let sent_until = schedule_end(&d).await;
    drain(workers, cut_tx, sent_until + d.ctx.request_timeout, d.stop, d.ctx.request_timeout).await;
    Driven { scheduled: None, sent_until, missed: 0 }
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
                // Skipped for want of data: wait a moment for responses to fill the captures.
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

#[cfg(test)]
mod tests {
    use einv_report::ErrorClass;

    use super::super::testing::{self, PATIENCE, Reply, Server};
    use super::*;
    use crate::profile::Plan;
    use crate::workload::Workload;

    /// 200 arrivals at 1,000/s (uniform, 0.2 s).
    const LOAD: &str = "[load]\narrivals = \"uniform\"\npacing = \"1ms\"\n\
                        [[load.stage]]\nkind = \"constant\"\nrate = 1000\nduration = \"200ms\"";

    fn drive(plan: &Plan, ctx: &Arc<Ctx>, stop: watch::Receiver<bool>) -> Drive {
        Drive {
            ctx: ctx.clone(),
            shard: plan.shard,
            connections: plan.target.connections,
            start: Instant::now(),
            length: plan.load.duration(),
            pacing: Duration::from_millis(1),
            join: Duration::ZERO,
            stop,
        }
    }

    /// Run `plan` open loop against `server`; `stop_when` (if any) stops it a moment after
    /// the server has that many requests (the moment lets later arrivals queue up).
    async fn open(plan: &Plan, server: &Server, stop_when: Option<usize>) -> (Arc<Ctx>, Driven) {
        let ctx = testing::ctx(plan, server.addr);
        let workload = Workload::new(plan).unwrap();
        let arrivals = workload.arrivals(plan.shard).unwrap().unwrap();
        let feed = Feed::new(workload.requests, workload.dynamic, ctx.clone());
        let (stop_tx, stop) = watch::channel(false);
        let run = open_loop(drive(plan, &ctx, stop), arrivals, feed, plan.ops.len());
        let driven = match stop_when {
            None => tokio::time::timeout(PATIENCE, run).await.unwrap(),
            Some(n) => {
                let run = tokio::spawn(run);
                server.wait_for_requests(n).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                stop_tx.send(true).unwrap();
                tokio::time::timeout(PATIENCE, run).await.unwrap().unwrap()
            }
        };
        (ctx, driven)
    }

    fn path_counts(paths: &[String]) -> Vec<u64> {
        ["/i", "/q"].iter().map(|p| paths.iter().filter(|q| q == p).count() as u64).collect()
    }

    /// A shard's dispatcher sends each of its arrivals once, with the op the schedule
    /// gives it, and records every one.
    #[tokio::test]
    async fn each_arrival_of_the_shard_is_sent_once_with_its_op() {
        let server = Server::start(Reply::OK).await;
        let mut plan = testing::plan(LOAD);
        plan.shard = Shard::new(1, 3).unwrap();
        let expected =
            Workload::new(&plan).unwrap().arrivals(plan.shard).unwrap().unwrap().fold(vec![0, 0], |mut n, a| {
                n[a.op] += 1;
                n
            });
        let (ctx, driven) = open(&plan, &server, None).await;
        assert_eq!(expected.iter().sum::<u64>(), 67, "arrivals 1, 4, ... 199 of 200");
        assert_eq!(driven.scheduled.as_ref(), Some(&expected));
        assert_eq!(path_counts(&server.paths()), expected, "the server got each op as often as scheduled");
        let stats = testing::recorded(&ctx);
        assert_eq!(
            stats.iter().map(|s| (s.sent, s.ok)).collect::<Vec<_>>(),
            vec![(expected[0], expected[0]), (expected[1], expected[1])]
        );
    }

    /// A process that joins 100 ms into the schedule misses the arrivals before then
    /// (scheduled, never sent) and sends every later one, each once.
    #[tokio::test]
    async fn a_late_join_misses_the_arrivals_before_it_and_sends_the_rest() {
        let server = Server::start(Reply::OK).await;
        let plan = testing::plan(LOAD);
        let ctx = testing::ctx(&plan, server.addr);
        let workload = Workload::new(&plan).unwrap();
        let arrivals = workload.arrivals(plan.shard).unwrap().unwrap();
        let feed = Feed::new(workload.requests, workload.dynamic, ctx.clone());
        let (_stop_tx, stop) = watch::channel(false);
        let join = Duration::from_millis(100);
        let mut d = drive(&plan, &ctx, stop);
        (d.start, d.join) = (Instant::now() - join, join);
        let driven = tokio::time::timeout(PATIENCE, open_loop(d, arrivals, feed, plan.ops.len())).await.unwrap();
        assert_eq!(driven.missed, 100, "arrivals at 0, 1, ... 99 ms");
        assert_eq!(driven.scheduled.unwrap().iter().sum::<u64>(), 200);
        assert_eq!(server.paths().len(), 100);
        assert_eq!(testing::recorded(&ctx).iter().map(|s| s.sent).sum::<u64>(), 100);
    }

    /// With one connection and answers slower than the arrivals, requests wait for the
    /// connection: they are marked queued, never open a second one, and all get sent.
    #[tokio::test]
    async fn arrivals_beyond_the_connections_queue_for_one() {
        let server = Server::start(Reply::Answer { status: 200, body: "", delay: Duration::from_millis(3) }).await;
        let mut plan = testing::plan(LOAD);
        plan.target.connections = 1;
        let (ctx, _) = open(&plan, &server, None).await;
        let stats = testing::recorded(&ctx);
        let (sent, queued) = stats.iter().fold((0, 0), |(s, q), st| (s + st.sent, q + st.queued));
        assert_eq!(sent, 200);
        // Each answer holds the connection 3 ms while arrivals come every 1 ms.
        assert!(queued >= 100, "{queued} of 200 waited for the connection");
        assert_eq!((server.connections(), ctx.conns.max_open.load(Ordering::Relaxed)), (1, 1));
    }

    /// A stop ends sending at once: what is queued is never sent (unsent, not recorded),
    /// and the request in flight is cut after the grace and recorded as a timeout.
    #[tokio::test]
    async fn a_stop_leaves_the_queue_unsent_and_cuts_the_request_in_flight() {
        let server = Server::start(Reply::Hold).await;
        // Long enough that the stop (at the first request) comes well inside it.
        let mut plan = testing::plan(&LOAD.replace("rate = 1000", "rate = 200").replace("200ms", "10s"));
        plan.target.connections = 1;
        plan.target.request_timeout = Duration::from_secs(1);
        let (ctx, driven) = open(&plan, &server, Some(1)).await;
        let stats = testing::recorded(&ctx);
        let sent: u64 = stats.iter().map(|s| s.sent).sum();
        let timeouts: u64 = stats.iter().map(|s| s.errors.get(ErrorClass::Timeout)).sum();
        assert_eq!((server.requests(), sent, timeouts), (1, 1, 1), "only the one in flight, as a timeout");
        let scheduled: u64 = driven.scheduled.unwrap().iter().sum();
        assert!((1..2000).contains(&scheduled), "{scheduled} of 2,000 dispatched before the stop");
    }

    /// A closed loop's users send one request at a time each until the run's length,
    /// taking the shard's global indices in turn: their ops are the ops of those indices.
    #[tokio::test]
    async fn closed_loop_users_take_the_shards_indices_in_turn() {
        let server = Server::start(Reply::OK).await;
        let mut plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"150ms\"");
        plan.shard = Shard::new(2, 4).unwrap();
        plan.target.connections = 3;
        let ctx = testing::ctx(&plan, server.addr);
        let workload = Workload::new(&plan).unwrap();
        let requests = workload.closed_requests(plan.shard);
        let feed = Feed::new(workload.requests, workload.dynamic, ctx.clone());
        let (_stop_tx, stop) = watch::channel(false);
        let driven = tokio::time::timeout(PATIENCE, closed_loop(drive(&plan, &ctx, stop), feed, Duration::ZERO));
        assert!(driven.await.unwrap().scheduled.is_none());
        let paths = server.paths();
        assert!(paths.len() > 3, "{} requests in 150 ms", paths.len());
        let expected = requests.take(paths.len()).fold(vec![0, 0], |mut n, (_, op)| {
            n[op] += 1;
            n
        });
        assert_eq!(path_counts(&paths), expected);
        let sent: u64 = testing::recorded(&ctx).iter().map(|s| s.sent).sum();
        assert_eq!(sent, paths.len() as u64, "every request answered and recorded");
        assert!(server.connections() <= 3);
    }

    /// The drain, in virtual time: it waits for the workers up to the end of sending plus
    /// the request timeout, or (after a stop) the stop grace, then cuts them.
    #[tokio::test(start_paused = true)]
    async fn the_drain_waits_up_to_its_limit_then_cuts() {
        for (stopped, waited) in [(false, Duration::from_secs(5)), (true, STOP_GRACE)] {
            let (cut_tx, cut) = watch::channel(false);
            let mut workers = JoinSet::new();
            for _ in 0..3 {
                let mut cut = cut.clone();
                // A worker whose request never ends: only the cut stops it.
                workers.spawn(async move {
                    let _ = cut.wait_for(|c| *c).await;
                });
            }
            let (_stop_tx, stop) = watch::channel(stopped);
            // The limit from tokio's clock: in paused time it runs ahead of the system's.
            let began = tokio::time::Instant::now();
            let timeout = Duration::from_secs(5);
            drain(workers, cut_tx, began.into_std() + timeout, stop, timeout).await;
            let took = began.elapsed();
            assert!(took >= waited && took < waited + Duration::from_millis(100), "stopped {stopped}: {took:?}");
        }
    }

    /// Workers that finish on their own end the drain at once.
    #[tokio::test(start_paused = true)]
    async fn the_drain_ends_when_the_workers_do() {
        let (cut_tx, _cut) = watch::channel(false);
        let mut workers = JoinSet::new();
        workers.spawn(tokio::time::sleep(Duration::from_millis(40)));
        let (_stop_tx, stop) = watch::channel(false);
        let began = tokio::time::Instant::now();
        drain(workers, cut_tx, began.into_std() + Duration::from_secs(5), stop, Duration::from_secs(5)).await;
        assert_eq!(began.elapsed(), Duration::from_millis(40));
    }
}
