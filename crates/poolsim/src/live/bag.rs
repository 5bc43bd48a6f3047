//! A pool with HikariCP's barging hand-off, live: a unit given back is free at once and
//! the longest waiter is woken to take it; the waiter needs a wake-up drawn from the
//! hand-off delay to run (a parked thread's), and a request that asks meanwhile takes the
//! unit first. The waiter that finds it gone waits again at the end of the line, its
//! deadline unchanged, as the simulator's does (see [`crate::Discipline::Barging`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::Hold;

/// The units and the waiters, in the order they are served.
#[derive(Debug)]
pub(super) struct Bag {
    state: Mutex<State>,
    handoff_delay: Hold,
    /// Wake-ups are tens of microseconds: tokio's millisecond timer would make every one
    /// lose its hand-off.
    timer: einv_timer::Timer,
}

#[derive(Debug)]
struct State {
    free: usize,
    /// (its ticket, its wake-up): new waiters and those that lost a hand-off at the end.
    waiters: VecDeque<(u64, oneshot::Sender<()>)>,
    tickets: u64,
}

/// A unit of a [`Bag`], given back when dropped.
#[derive(Debug)]
pub(super) struct Unit<'a>(&'a Bag);

impl Drop for Unit<'_> {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

/// Why a wait for a unit ended without one.
pub(super) struct TimedOut;

impl Bag {
    pub(super) fn new(size: usize, handoff_delay: Hold, timer: einv_timer::Timer) -> Bag {
        let state = State { free: size, waiters: VecDeque::new(), tickets: 0 };
        Bag { state: Mutex::new(state), handoff_delay, timer }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Units free now.
    pub(super) fn free(&self) -> usize {
        self.lock().free
    }

    /// A free unit, taken at once whoever waits (the shared list is scanned first).
    pub(super) fn try_take(&self) -> Option<Unit<'_>> {
        let mut s = self.lock();
        (s.free > 0).then(|| {
            s.free -= 1;
            Unit(self)
        })
    }

    /// Wait for a unit until `deadline` (`None`: for ever).
    pub(super) async fn wait(&self, deadline: Option<Instant>) -> Result<Unit<'_>, TimedOut> {
        loop {
            let (tx, rx) = oneshot::channel();
            let place = {
                let mut s = self.lock();
                // A unit may have come back since the caller looked.
                if s.free > 0 {
                    s.free -= 1;
                    return Ok(Unit(self));
                }
                s.tickets += 1;
                let ticket = s.tickets;
                s.waiters.push_back((ticket, tx));
                Place(self, ticket)
            };
            let woken = match deadline {
                Some(d) => tokio::time::timeout_at(d, rx).await.ok(),
                None => Some(rx.await),
            };
            if woken.is_none() {
                return Err(TimedOut);
            }
            // The parked thread takes this long to run: the unit is anyone's meanwhile.
            let wake = super::handler::with_rng(|rng| self.handoff_delay.sample(rng));
            self.timer.sleep(wake).await;
            let taken = self.try_take();
            // Taken or not, this wake is spent: its place has nothing left to pass on.
            std::mem::forget(place);
            if let Some(unit) = taken {
                return Ok(unit);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(TimedOut);
            }
        }
    }

    /// A unit back: free at once, and the longest waiter still there is woken.
    fn give_back(&self) {
        let mut s = self.lock();
        s.free += 1;
        Self::wake_next(&mut s);
    }

    /// Wake the longest waiter, if a unit is free for it.
    fn wake_next(s: &mut State) {
        if s.free == 0 {
            return;
        }
        while let Some((_, tx)) = s.waiters.pop_front() {
            // A waiter whose client gave up has dropped its end: wake the next.
            if tx.send(()).is_ok() {
                break;
            }
        }
    }
}

/// A waiter's place in line, until its wake is spent. Left early (timed out, or dropped
/// because its client gave up) it leaves the line; if it had been woken already, the
/// wake goes to the next waiter, so a unit never sits free while others wait.
struct Place<'a>(&'a Bag, u64);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        let before = s.waiters.len();
        s.waiters.retain(|w| w.0 != self.1);
        if s.waiters.len() == before {
            Bag::wake_next(&mut s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    /// The hand-off window, long enough that the newcomer's few microseconds always fit.
    const WINDOW: Duration = Duration::from_millis(200);

    fn bag(wake: Duration) -> std::sync::Arc<Bag> {
        std::sync::Arc::new(Bag::new(1, Hold::Constant(wake), einv_timer::Timer::start()))
    }

    #[tokio::test]
    async fn a_newcomer_takes_the_unit_being_handed_to_a_waiter_who_then_times_out() {
        let bag = bag(WINDOW);
        let held = bag.try_take().unwrap();
        let waiter = {
            let bag = bag.clone();
            tokio::spawn(async move {
                let deadline = Instant::now() + WINDOW * 2;
                bag.wait(Some(deadline)).await.map(drop).is_ok()
            })
        };
        while bag.lock().waiters.is_empty() {
            tokio::task::yield_now().await;
        }
        drop(held);
        let newcomer = bag.try_take();
        assert!(newcomer.is_some(), "the unit given back is free while its waiter wakes");
        assert!(!waiter.await.unwrap(), "the waiter found it taken, waited on, and timed out");
    }

    /// A waiter woken for a unit whose request is dropped on its way (its client gave up)
    /// passes the wake on: the unit does not sit free while others wait.
    #[tokio::test]
    async fn a_woken_waiter_that_is_dropped_wakes_the_next() {
        let bag = bag(Duration::from_millis(20));
        let held = bag.try_take().unwrap();
        let wait = |bag: std::sync::Arc<Bag>| tokio::spawn(async move { bag.wait(None).await.map(drop).is_ok() });
        let first = wait(bag.clone());
        while bag.lock().waiters.is_empty() {
            tokio::task::yield_now().await;
        }
        let second = wait(bag.clone());
        while bag.lock().waiters.len() < 2 {
            tokio::task::yield_now().await;
        }
        drop(held);
        // The first is woken and on its way; it is dropped before it takes the unit.
        while bag.lock().waiters.len() > 1 {
            tokio::task::yield_now().await;
        }
        first.abort();
        assert!(second.await.unwrap(), "the second was woken in its place and took the unit");
    }
}
