//! Admission to the built-in target: the token bucket (HTTP 429), then a request worker,
//! waiting in a bounded queue for one (HTTP 503 when it is full).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{ModelSpec, TokenBucket};

/// Why a request was turned away at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    RateLimited,
    QueueFull,
}

#[derive(Debug)]
pub(super) struct Gate {
    bucket: Option<Mutex<TokenBucket>>,
    workers: Option<Semaphore>,
    size: usize,
    queue_limit: Option<usize>,
    /// Requests waiting for a worker.
    queued: AtomicUsize,
    pub(super) rate_limited: AtomicU64,
    pub(super) queue_full: AtomicU64,
}

impl Gate {
    pub(super) fn new(spec: &ModelSpec) -> Gate {
        Gate {
            bucket: spec.rate_limit.map(|r| Mutex::new(TokenBucket::new(r))),
            workers: spec.workers.map(Semaphore::new),
            size: spec.workers.unwrap_or(0),
            queue_limit: spec.queue_limit,
            queued: AtomicUsize::new(0),
            rate_limited: AtomicU64::new(0),
            queue_full: AtomicU64::new(0),
        }
    }

    /// Let a request in at `now` (since the service started): `Ok` holds its worker, if
    /// workers are limited, until dropped.
    pub(super) async fn admit(&self, now: Duration) -> Result<Option<SemaphorePermit<'_>>, Refusal> {
        if let Some(bucket) = &self.bucket
            && !bucket.lock().unwrap_or_else(|e| e.into_inner()).take(now)
        {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::RateLimited);
        }
        let Some(workers) = &self.workers else { return Ok(None) };
        if let Ok(permit) = workers.try_acquire() {
            return Ok(Some(permit));
        }
        let ahead = self.queued.fetch_add(1, Ordering::Relaxed);
        // Leaves the queue however the wait ends: a client that gives up drops this
        // future mid-await, and the count must not keep its place for ever.
        let _in_queue = Queued(&self.queued);
        if self.queue_limit.is_some_and(|limit| ahead >= limit) {
            self.queue_full.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::QueueFull);
        }
        // The semaphore is never closed, so acquire only fails if it were.
        Ok(workers.acquire().await.ok())
    }

    /// Workers busy and requests waiting for one (both 0 without a worker limit).
    pub(super) fn gauges(&self) -> (usize, usize) {
        let busy = self.workers.as_ref().map_or(0, |w| self.size - w.available_permits());
        (busy, self.queued.load(Ordering::Relaxed))
    }
}

/// One place in the worker queue, given back when dropped.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request whose client gives up while it waits for a worker leaves the queue: the
    /// queue bound stays what the spec says.
    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_the_queue() {
        let spec = ModelSpec { workers: Some(1), queue_limit: Some(1), ..ModelSpec::default() };
        let gate = Gate::new(&spec);
        let busy = gate.admit(Duration::ZERO).await.unwrap();
        for _ in 0..3 {
            let wait = tokio::time::timeout(Duration::from_millis(5), gate.admit(Duration::ZERO)).await;
            assert!(wait.is_err(), "the only worker is busy");
            assert_eq!(gate.gauges(), (1, 0), "the abandoned waiter is gone from the queue");
        }
        drop(busy);
        assert!(gate.admit(Duration::ZERO).await.unwrap().is_some(), "the freed worker is taken at once");
    }
}
