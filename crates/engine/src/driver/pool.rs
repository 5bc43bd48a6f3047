//! The engine's client connection pool for open-loop runs.
//!
//! At most `limit` workers, each owning one connection, opened on demand. Idle workers
//! are reused last-in first-out (warm connections first, so a low rate does not open the
//! whole pool); when every worker is busy, arrivals wait in a FIFO and are marked
//! `queued`, their latency still counted from the intended send time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::Job;

#[derive(Debug, Default)]
struct State {
    idle: Vec<usize>,
    pending: VecDeque<Job>,
}

/// The part of the pool workers share.
#[derive(Debug, Default)]
pub struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The dispatcher's handle: hands each job to an idle worker, a new one, or the queue.
#[derive(Debug)]
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<mpsc::Sender<Job>>,
    limit: usize,
}

/// What `submit` asks the caller to do.
pub enum Submitted {
    Done,
    /// Start a new worker with this id, this first job and this inbox.
    Spawn(WorkerInbox, Job),
}

impl Pool {
    pub fn new(limit: usize) -> Self {
        Pool { shared: Arc::default(), workers: Vec::new(), limit }
    }

    pub fn submit(&mut self, mut job: Job) -> Submitted {
        let mut st = self.shared.lock();
        if let Some(id) = st.idle.pop() {
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

/// A worker's side of the pool.
#[derive(Debug)]
pub struct WorkerInbox {
    id: usize,
    rx: mpsc::Receiver<Job>,
    shared: Arc<Shared>,
}

impl WorkerInbox {
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
