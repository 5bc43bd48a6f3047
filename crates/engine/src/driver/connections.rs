//! The engine's client connections for open-loop runs ("pool" is the model's database pool).
//!
//! At most `limit` workers, each a stream slot of a connection (HTTP/1.1: the one slot
//! of its own; HTTP/2: `max-streams` slots share one, see `link`), opened on demand. Idle workers
//! are reused last-in first-out (warm connections first, so a low rate does not open
//! every connection); when every worker is busy, arrivals wait in a FIFO and are marked
//! `queued`, their latency still counted from the intended send time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::Job;

#[derive(Debug, Default)]
struct State {
    idle: Vec<usize>,
    pending: VecDeque<Job>,
    /// Workers started (each a stream slot of a connection, open or opening).
    workers: usize,
    /// The most workers busy at once: requests in flight (streams, for HTTP/2).
    max_busy: usize,
    /// The same since the last [`Shared::take_interval_max`].
    interval_max: usize,
}

impl State {
    fn busy(&self) -> usize {
        self.workers - self.idle.len()
    }

    /// A worker just took a job: the in-flight peaks may have grown.
    fn note_busy(&mut self) {
        let busy = self.busy();
        self.max_busy = self.max_busy.max(busy);
        self.interval_max = self.interval_max.max(busy);
    }
}

/// The part of the connections workers share.
#[derive(Debug, Default)]
pub struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Workers with a request on hand, and arrivals waiting for one (read once an
    /// interval for the live metrics, under the lock the dispatcher takes anyway).
    pub fn gauges(&self) -> (u64, u64) {
        let st = self.lock();
        (st.busy() as u64, st.pending.len() as u64)
    }

    /// The most requests in flight at once so far.
    pub fn max_busy(&self) -> u64 {
        self.lock().max_busy as u64
    }

    /// The most requests in flight at once since the last call (for timeseries.csv);
    /// the next interval starts from those in flight now.
    pub fn take_interval_max(&self) -> u64 {
        let mut st = self.lock();
        let max = st.interval_max.max(st.busy());
        st.interval_max = st.busy();
        max as u64
    }
}

/// The dispatcher's handle: hands each job to an idle worker, a new one, or the queue.
#[derive(Debug)]
pub struct Connections {
    shared: Arc<Shared>,
    workers: Vec<mpsc::Sender<Job>>,
    limit: usize,
}

/// What `submit` asks the caller to do.
pub enum Submitted {
    Done,
    /// Start a new worker with this first job and this inbox.
    Spawn(WorkerInbox, Job),
}

impl Connections {
    /// At most `limit` workers (connections × streams); `shared` is also the live
    /// metrics' view of them.
    pub fn new(limit: usize, shared: Arc<Shared>) -> Self {
        Connections { shared, workers: Vec::new(), limit }
    }

    pub fn submit(&mut self, mut job: Job) -> Submitted {
        let mut st = self.shared.lock();
        if let Some(id) = st.idle.pop() {
            st.note_busy();
            drop(st);
            // An idle worker's inbox is empty (it holds one job at most) and open (a worker
            // only stops once the dispatcher drops its sender), so this cannot fail; if it
            // ever did, the queue still gets the job to the next worker that finishes.
            if let Err(mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job)) =
                self.workers[id].try_send(job)
            {
                self.shared.lock().pending.push_back(job);
            }
            return Submitted::Done;
        }
        if self.workers.len() < self.limit {
            st.workers += 1;
            st.note_busy();
            drop(st);
            let (tx, rx) = mpsc::channel(1);
            let id = self.workers.len();
            self.workers.push(tx);
            return Submitted::Spawn(WorkerInbox { id, rx, shared: self.shared.clone() }, job);
        }
        job.queued = true;
        st.pending.push_back(job);
        Submitted::Done
    }

    /// Drop the queued jobs (on Ctrl-C: they were never sent and never will be).
    pub fn clear_pending(&self) {
        self.shared.lock().pending.clear();
    }
}

/// A worker's side of the connections.
#[derive(Debug)]
pub struct WorkerInbox {
    id: usize,
    rx: mpsc::Receiver<Job>,
    shared: Arc<Shared>,
}

impl WorkerInbox {
    /// Which worker this is: workers `k × streams ..` share connection `k`.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The next job: the queue first, otherwise wait as an idle worker. `None` once the
    /// dispatcher is done and nothing is left.
    pub async fn next(&mut self) -> Option<Job> {
        {
            let mut st = self.shared.lock();
            if let Some(job) = st.pending.pop_front() {
                return Some(job);
            }
            st.idle.push(self.id);
        }
        self.rx.recv().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn job(index: u64) -> Job {
        Job { index, op: 0, intended: Instant::now(), queued: false, parts: None }
    }

    fn spawned(s: Submitted) -> (WorkerInbox, Job) {
        match s {
            Submitted::Spawn(inbox, job) => (inbox, job),
            Submitted::Done => panic!("expected a new worker"),
        }
    }

    /// Let the spawned workers run up to their next wait (a current-thread runtime runs
    /// them only when the test yields).
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    /// Workers are opened on demand up to the limit; beyond it arrivals queue, marked
    /// queued, and the first worker to finish takes the oldest.
    #[tokio::test]
    async fn opens_up_to_the_limit_then_queues_in_arrival_order() {
        let shared = Arc::<Shared>::default();
        let mut conns = Connections::new(2, shared.clone());
        let (mut a, first) = spawned(conns.submit(job(0)));
        let (mut b, second) = spawned(conns.submit(job(1)));
        assert_eq!((first.index, first.queued, second.index, second.queued), (0, false, 1, false));
        for i in 2..5 {
            assert!(matches!(conns.submit(job(i)), Submitted::Done), "no third worker");
        }
        assert_eq!(shared.gauges(), (2, 3), "the live metrics see two busy and three waiting");
        let taken = [a.next().await.unwrap(), b.next().await.unwrap(), a.next().await.unwrap()];
        assert_eq!(taken.iter().map(|j| j.index).collect::<Vec<_>>(), vec![2, 3, 4]);
        assert!(taken.iter().all(|j| j.queued), "they found both workers busy");
        assert_eq!(shared.gauges(), (2, 0));
    }

    /// An idle worker gets the next arrival at once, unqueued; the most recently idle
    /// first (its connection is the warmest), so a low rate does not open every connection.
    #[tokio::test]
    async fn the_most_recently_idle_worker_gets_the_next_arrival() {
        let mut conns = Connections::new(3, Arc::default());
        let (a, _) = spawned(conns.submit(job(0)));
        let (b, _) = spawned(conns.submit(job(1)));
        let wait =
            |mut inbox: WorkerInbox| tokio::spawn(async move { inbox.next().await.map(|j| (j.index, j.queued)) });
        let a = wait(a);
        settle().await;
        let b = wait(b);
        settle().await;
        assert!(matches!(conns.submit(job(7)), Submitted::Done), "no new worker while one is idle");
        settle().await;
        assert!(b.is_finished() && !a.is_finished(), "b went idle last, so b got it");
        assert_eq!(b.await.unwrap(), Some((7, false)));
        drop(conns);
        assert_eq!(a.await.unwrap(), None, "the connections dropped: an idle worker stops");
    }

    /// On a stop the queued arrivals are dropped: the workers never send them.
    #[tokio::test]
    async fn cleared_arrivals_are_never_handed_out() {
        let mut conns = Connections::new(1, Arc::default());
        let (mut a, _) = spawned(conns.submit(job(0)));
        conns.submit(job(1));
        conns.submit(job(2));
        conns.clear_pending();
        drop(conns);
        assert!(a.next().await.is_none());
    }
}
