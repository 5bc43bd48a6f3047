//! The service's resources in real time: workers and pools as fair (FIFO) semaphores
//! with a bounded queue and an acquire timeout, rate limits as token buckets; and an op's
//! steps run over them, as the simulator runs them in virtual time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{Kind, Resource, Service, Step, TokenBucket};

/// Why a request did not get a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dry {
    /// At once: no token, or the queue was full.
    Refused,
    /// It waited past the acquire timeout.
    TimedOut,
}

/// One resource, live.
#[derive(Debug)]
pub(super) struct Live {
    pub(super) def: Resource,
    units: Option<Semaphore>,
    bucket: Option<Mutex<TokenBucket>>,
    /// Requests waiting for a unit.
    waiting: AtomicUsize,
    pub(super) timeouts: AtomicU64,
    pub(super) refused: AtomicU64,
}

impl Live {
    pub(super) fn new(def: Resource) -> Live {
        let (units, bucket) = match def.kind {
            Kind::RateLimit(l) => (None, Some(Mutex::new(TokenBucket::new(l)))),
            _ => (Some(Semaphore::new(def.size)), None),
        };
        Live {
            def,
            units,
            bucket,
            waiting: AtomicUsize::new(0),
            timeouts: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Take a unit at `now` (since the service started); `Ok` holds it, if there is one
    /// to hold, until dropped, and says whether the request had to wait for it.
    pub(super) async fn take(&self, now: Duration) -> Result<(Option<SemaphorePermit<'_>>, bool), Dry> {
        if let Some(bucket) = &self.bucket {
            if bucket.lock().unwrap_or_else(|e| e.into_inner()).take(now) {
                return Ok((None, false));
            }
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Dry::Refused);
        }
        let Some(units) = &self.units else { return Ok((None, false)) };
        if let Ok(permit) = units.try_acquire() {
            return Ok((Some(permit), false));
        }
        let ahead = self.waiting.fetch_add(1, Ordering::Relaxed);
        // Leaves the queue however the wait ends: a client that gives up drops this
        // future mid-await, and the count must not keep its place for ever.
        let _in_queue = Queued(&self.waiting);
        if self.def.queue_limit.is_some_and(|limit| ahead >= limit) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Dry::Refused);
        }
        // The semaphore is never closed, so acquire only fails if it were.
        let acquired = match self.def.acquire_timeout {
            Some(t) => match tokio::time::timeout(t, units.acquire()).await {
                Ok(acquired) => acquired,
                Err(_) => {
                    self.timeouts.fetch_add(1, Ordering::Relaxed);
                    return Err(Dry::TimedOut);
                }
            },
            None => units.acquire().await,
        };
        Ok((acquired.ok(), true))
    }

    /// Units in use and requests waiting for one (a rate limit's: 0 and 0).
    pub(super) fn gauges(&self) -> (usize, usize) {
        let busy = self.units.as_ref().map_or(0, |u| self.def.size - u.available_permits());
        (busy, self.waiting.load(Ordering::Relaxed))
    }
}

/// One place in a queue, given back when dropped.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a request's steps need of the service around them.
pub(super) trait Clock {
    /// Time since the service started.
    fn now(&self) -> Duration;
    /// A draw of a step's time.
    fn sample(&self, hold: &crate::Hold) -> Duration;
    /// Sleep until `at` on the precise timer.
    async fn sleep_until(&self, at: Instant);
}

/// Run `steps` over `resources`, keeping what they keep in `kept` (given back when the
/// caller drops it, after answering); `Err` names the resource that ran dry and how.
/// Deadlines count from the step before's, so a late wake-up is not added again to each
/// later step (the service is busy for the steps' sum, as in the model).
pub(super) async fn run<'a>(
    steps: &[Step],
    resources: &'a [Live],
    clock: &impl Clock,
    kept: &mut Vec<SemaphorePermit<'a>>,
) -> Result<(), (usize, Dry)> {
    let mut at = Instant::now();
    for (i, step) in steps.iter().enumerate() {
        let (r, hold) = match step {
            Step::Keep(r) => (*r, None),
            Step::Hold(r, h) => (*r, Some(h)),
            Step::Wait(h) => {
                at += clock.sample(h);
                clock.sleep_until(at).await;
                continue;
            }
        };
        let resource = &resources[r];
        let (permit, waited) = match resource.take(clock.now()).await {
            Ok(taken) => taken,
            Err(dry) => {
                if dry == Dry::TimedOut {
                    // The handler builds its error answer too: the op's trailing waits.
                    let rest = &steps[Service::trailing(steps).max(i)..];
                    for h in rest.iter().filter_map(Step::hold) {
                        at = at.max(Instant::now()) + clock.sample(h);
                        clock.sleep_until(at).await;
                    }
                }
                return Err((r, dry));
            }
        };
        if waited {
            at = Instant::now();
        }
        match hold {
            Some(h) => {
                at += clock.sample(h);
                clock.sleep_until(at).await;
                drop(permit);
            }
            None => kept.extend(permit),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WhenDry;

    /// A request whose client gives up while it waits for a worker leaves the queue: the
    /// queue bound stays what the spec says.
    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_the_queue() {
        let def = Resource {
            name: "workers".into(),
            kind: Kind::Workers,
            size: 1,
            acquire_timeout: None,
            queue_limit: Some(1),
            when_dry: WhenDry::Status(503),
        };
        let workers = Live::new(def);
        let busy = workers.take(Duration::ZERO).await.unwrap();
        for _ in 0..3 {
            let wait = tokio::time::timeout(Duration::from_millis(5), workers.take(Duration::ZERO)).await;
            assert!(wait.is_err(), "the only worker is busy");
            assert_eq!(workers.gauges(), (1, 0), "the abandoned waiter is gone from the queue");
        }
        drop(busy);
        assert!(workers.take(Duration::ZERO).await.unwrap().0.is_some(), "the freed worker is taken at once");
    }
}
