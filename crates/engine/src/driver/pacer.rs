//! Sleeping until an arrival's intended time, precisely, on the dispatcher's own
//! [`Sleeper`] (a timerfd on the runtime's reactor, see `einv-timer`): it wakes the
//! dispatcher task on the workers' threads, with no cross-thread hand-off per request.
//!
//! Each wake-up costs a few syscalls and a trip through the scheduler, which at a few
//! thousand requests per second dominates the generator's CPU. A pacing window trades
//! precision for CPU: the dispatcher wakes at most once per window and releases every
//! arrival that has come due, each late by less than the window (and that lateness is
//! recorded as send lag, so it is never hidden).

use std::time::{Duration, Instant};

use einv_timer::{SLACK, Sleeper};

#[derive(Debug)]
pub struct Pacer {
    sleeper: Sleeper,
    /// Wake at most once per window (zero: for every arrival).
    window: Duration,
    last_wake: Instant,
    /// Times the dispatcher slept and woke: what its CPU goes on.
    wakes: u64,
}

impl Pacer {
    /// Must be called inside the tokio runtime.
    pub fn new(window: Duration) -> Pacer {
        Pacer { sleeper: Sleeper::new(), window, last_wake: Instant::now(), wakes: 0 }
    }

    /// Return once `due` has come (at once if it is within [`SLACK`]), or at the end of
    /// the current pacing window if that is later.
    pub async fn wait_for(&mut self, due: Instant) {
        if due <= Instant::now() + SLACK {
            return;
        }
        self.sleeper.sleep_until(due.max(self.last_wake + self.window)).await;
        self.last_wake = Instant::now();
        self.wakes += 1;
    }

    pub fn wakes(&self) -> u64 {
        self.wakes
    }
}
