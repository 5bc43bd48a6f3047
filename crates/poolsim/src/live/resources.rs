//! The service's resources in real time: workers, pools and cores as fair (FIFO)
//! semaphores with a bounded queue and an acquire timeout (a barging pool as a [`Bag`]),
//! rate limits as token buckets; and an op's steps run over them, as the simulator runs
//! them in virtual time. Cores are emulated: a permit per core and a sleep for the step's
//! CPU time, so no real CPU is burnt and the target's own threads stay free to answer.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

use super::bag::Bag;
use crate::{Discipline, Kind, Resource, Service, Step, TokenBucket};

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
    bag: Option<Bag>,
    bucket: Option<Mutex<TokenBucket>>,
    /// Requests waiting for a unit.
    waiting: AtomicUsize,
    pub(super) timeouts: AtomicU64,
    pub(super) refused: AtomicU64,
}

impl Live {
    pub(super) fn new(def: Resource, timer: &einv_timer::Timer) -> Live {
        let (mut units, mut bag, mut bucket) = (None, None, None);
        match (&def.kind, &def.discipline) {
            (Kind::RateLimit(l), _) => bucket = Some(Mutex::new(TokenBucket::new(*l))),
            (_, Discipline::Barging { handoff_delay }) => {
                bag = Some(Bag::new(def.size, handoff_delay.clone(), timer.clone()));
            }
            (_, Discipline::Fifo) => units = Some(Semaphore::new(def.size)),
        }
        Live {
            def,
            units,
            bag,
            bucket,
            waiting: AtomicUsize::new(0),
            timeouts: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Take a unit at `now` (since the service started); `Ok` holds it, if there is one
    /// to hold, until dropped, and says whether the request had to wait for it.
    pub(super) async fn take(&self, now: Duration) -> Result<(Option<Unit<'_>>, bool), Dry> {
        if let Some(bucket) = &self.bucket {
            if bucket.lock().unwrap_or_else(|e| e.into_inner()).take(now) {
                return Ok((None, false));
            }
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Dry::Refused);
        }
        let free = match (&self.units, &self.bag) {
            (Some(units), _) => units.try_acquire().ok().map(Unit::Fair),
            (_, Some(bag)) => bag.try_take().map(Unit::Barged),
            _ => return Ok((None, false)),
        };
        if let Some(unit) = free {
            return Ok((Some(unit), false));
        }
        let ahead = self.waiting.fetch_add(1, Ordering::Relaxed);
        // Leaves the queue however the wait ends: a client that gives up drops this
        // future mid-await, and the count must not keep its place for ever.
        let _in_queue = Queued(&self.waiting);
        if self.def.queue_limit.is_some_and(|limit| ahead >= limit) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Dry::Refused);
        }
        let deadline = self.def.acquire_timeout.map(|t| tokio::time::Instant::now() + t);
        let unit = match (&self.units, &self.bag) {
            (_, Some(bag)) => bag.wait(deadline).await.map(Unit::Barged).ok(),
            // The semaphore is never closed, so acquire only fails if it were.
            (Some(units), _) => match deadline {
                Some(d) => tokio::time::timeout_at(d, units.acquire()).await.ok().and_then(Result::ok),
                None => units.acquire().await.ok(),
            }
            .map(Unit::Fair),
            (None, None) => None,
        };
        match unit {
            Some(unit) => Ok((Some(unit), true)),
            None => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(Dry::TimedOut)
            }
        }
    }

    /// Units in use and requests waiting for one (a rate limit's: 0 and 0).
    pub(super) fn gauges(&self) -> (usize, usize) {
        let free = match (&self.units, &self.bag) {
            (Some(u), _) => u.available_permits(),
            (_, Some(b)) => b.free(),
            (None, None) => self.def.size,
        };
        (self.def.size - free, self.waiting.load(Ordering::Relaxed))
    }
}

/// A unit of a resource, given back when dropped.
#[derive(Debug)]
#[expect(dead_code, reason = "each unit is held for its drop, which gives it back")]
pub(super) enum Unit<'a> {
    Fair(SemaphorePermit<'a>),
    Barged(super::bag::Unit<'a>),
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
    /// When a step that starts at `start` and is drawn to take `d` ends (the service's
    /// pauses and warm-up, [`crate::Tempo`]).
    fn step_end(&self, start: Instant, d: Duration) -> Instant {
        start + d
    }
    /// Sleep until `at` on the precise timer.
    async fn sleep_until(&self, at: Instant);
}

/// Run steps `from..to` of `steps` over `resources`, keeping what they keep in `kept`
/// (given back when the caller drops it, after answering); `Err` names the resource that
/// ran dry and how. Deadlines count from the step before's, so a late wake-up is not added
/// again to each later step (the service is busy for the steps' sum, as in the model).
pub(super) async fn run<'a>(
    steps: &[Step],
    (from, to): (usize, usize),
    resources: &'a [Live],
    clock: &impl Clock,
    kept: &mut Vec<Unit<'a>>,
) -> Result<(), (usize, Dry)> {
    let mut at = Instant::now();
    for (i, step) in steps.iter().enumerate().take(to).skip(from) {
        let (r, hold) = match step {
            Step::Keep(r) => (*r, None),
            Step::Hold(r, h) => (*r, Some(h)),
            Step::Wait(h) => {
                at = clock.step_end(at, clock.sample(h));
                clock.sleep_until(at).await;
                continue;
            }
        };
        let resource = &resources[r];
        let (unit, waited) = match resource.take(clock.now()).await {
            Ok(taken) => taken,
            Err(dry) => {
                // Having waited past the timeout, its handler builds the error answer: the
                // op's trailing waits, as the simulator spends them. A request that waited
                // for a worker has no handler (no thread ran it), and is answered at once.
                if dry == Dry::TimedOut && resource.def.kind != Kind::Workers {
                    let rest = &steps[Service::trailing(steps).max(i)..];
                    for h in rest.iter().filter_map(Step::hold) {
                        at = clock.step_end(at.max(Instant::now()), clock.sample(h));
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
                at = clock.step_end(at, clock.sample(h));
                clock.sleep_until(at).await;
                drop(unit);
            }
            None => kept.extend(unit),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Hold, WhenDry};

    /// A clock that counts the steps' draws and sleeps for none of them.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Clock for Counting {
        fn now(&self) -> Duration {
            Duration::ZERO
        }
        fn sample(&self, _: &Hold) -> Duration {
            self.0.fetch_add(1, Ordering::Relaxed);
            Duration::ZERO
        }
        async fn sleep_until(&self, _: Instant) {}
    }

    fn one(kind: Kind) -> Resource {
        let (acquire_timeout, when_dry) = (Some(Duration::from_millis(5)), WhenDry::Status(500));
        let discipline = crate::Discipline::Fifo;
        Resource { name: "r".into(), kind, size: 1, acquire_timeout, queue_limit: None, when_dry, discipline }
    }

    /// A request that timed out at the door (a kept pool) still builds its error answer:
    /// the op's trailing waits, as the simulator spends them; one that never got a
    /// worker has no handler to run them.
    #[tokio::test]
    async fn a_timeout_at_the_door_spends_the_trailing_waits_unless_no_worker_ran_it() {
        for (kind, spent) in [(Kind::Pool, 1), (Kind::Workers, 0)] {
            let resources = [Live::new(one(kind.clone()), &einv_timer::Timer::start())];
            let busy = resources[0].take(Duration::ZERO).await.unwrap();
            let steps = [Step::Keep(0), Step::Wait(Hold::Constant(Duration::from_millis(10)))];
            let clock = Counting::default();
            let mut kept = Vec::new();
            let ran = run(&steps, (0, 1), &resources, &clock, &mut kept).await;
            assert_eq!(ran.unwrap_err(), (0, Dry::TimedOut));
            assert_eq!(clock.0.load(Ordering::Relaxed), spent, "{kind:?}");
            drop(busy);
        }
    }

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
            discipline: crate::Discipline::Fifo,
        };
        let workers = Live::new(def, &einv_timer::Timer::start());
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
