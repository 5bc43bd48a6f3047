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

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a window each arrival is waited for on its own, and none is released
    /// before its time (less the slack); one already due goes at once, with no sleep.
    #[tokio::test]
    async fn arrivals_are_released_on_time_never_early() {
        let mut pacer = Pacer::new(Duration::ZERO);
        pacer.wait_for(Instant::now() - Duration::from_millis(5)).await;
        assert_eq!(pacer.wakes(), 0, "an arrival already due is not slept for");
        let start = Instant::now();
        for ms in 1..=20 {
            let due = start + Duration::from_millis(ms);
            pacer.wait_for(due).await;
            let now = Instant::now();
            assert!(now + SLACK >= due, "arrival {ms} released {:?} early", due - now);
        }
        assert!((1..=20).contains(&pacer.wakes()), "{} wake-ups for 20 arrivals", pacer.wakes());
    }

    /// A window bounds the wake-ups whatever the rate: consecutive wakes are at least a
    /// window apart (less the slack), so over the time the run itself took there are at
    /// most that many, and still no arrival goes early.
    #[tokio::test]
    async fn a_window_bounds_the_wake_ups() {
        let window = Duration::from_millis(10);
        let mut pacer = Pacer::new(window);
        let start = Instant::now();
        let arrivals = 200u32;
        for i in 1..=arrivals {
            let due = start + Duration::from_micros(250) * i;
            pacer.wait_for(due).await;
            assert!(Instant::now() + SLACK >= due, "arrival {i} released early");
        }
        let elapsed = start.elapsed();
        let bound = (elapsed.as_secs_f64() / (window - SLACK).as_secs_f64()) as u64 + 1;
        assert!(pacer.wakes() <= bound, "{} wake-ups in {elapsed:?} with a {window:?} window", pacer.wakes());
        assert!(pacer.wakes() < u64::from(arrivals) / 4, "{} wake-ups for {arrivals} arrivals", pacer.wakes());
    }
}
