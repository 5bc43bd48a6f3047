//! Precise sleeps for tokio tasks, for the two places where a millisecond matters: the
//! open-loop dispatcher (each arrival's send lag) and the built-in target's hold times (a
//! 20 ms hold that sleeps 21 ms is 5 % less capacity, and near saturation that decides
//! whether a queue forms at all).
//!
//! tokio's timer wheel ticks in whole milliseconds, so `sleep_until` alone wakes up to
//! 1 ms late. On Linux a timerfd, registered with the runtime's own reactor, wakes the
//! sleeping task within tens of microseconds, on the runtime's own threads. Elsewhere, or
//! if no timerfd can be made, tokio's timer is the fallback.
//!
//! - [`Sleeper`]: one task's own timer (the dispatcher sleeps on it between arrivals);
//! - [`Timer`]: one timer shared by many tasks (every request the target holds): a task
//!   keeps the pending wake-ups in a heap and sleeps on a [`Sleeper`] until the earliest.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::{Duration, Instant};
//!
//! let mut sleeper = einv_timer::Sleeper::new();
//! let due = Instant::now() + Duration::from_millis(2);
//! sleeper.sleep_until(due).await;
//! assert!(Instant::now() + einv_timer::SLACK >= due);
//! # }
//! ```
//!
//! ## Why this crate holds the workspace's one `unsafe` block
//!
//! In tokio 1.54 the only constructor of an `AsyncFd` that is not deprecated (as unsound:
//! RUSTSEC-2026-0386, tokio PR 8587) is `unsafe fn AsyncFd::register`: its caller promises
//! that the file descriptor stays open and the same for the `AsyncFd`'s whole life. For a
//! `TimerFd` this crate creates and never lets go of, that is plainly true, so the promise
//! is made once, here, with its reasoning beside it; the workspace denies `unsafe` code
//! and only this crate's one function allows it.
//!
//! The safe alternative, a thread of our own sleeping in `clock_nanosleep` and waking
//! tasks, was set aside: a sleeping thread gets the kernel's timer slack (50 µs by default,
//! and changing it is another `unsafe` call), and every wake-up would cross threads (the
//! timer thread wakes, then wakes a runtime thread through a futex): two wake-ups where
//! the timerfd costs one, on the path the pacing window exists to make cheap.

mod shared;

use std::time::Instant;

pub use shared::Timer;

/// Closer than this to its time, a wake-up is due now: a timerfd's wake-up through the
/// reactor takes some tens of microseconds on a busy machine, so sleeping for less would
/// land further from the mark than returning at once.
pub const SLACK: std::time::Duration = std::time::Duration::from_micros(50);

/// One task's precise timer. Not shared: a sleep re-arms it.
#[derive(Debug)]
pub struct Sleeper {
    fd: Option<fd::TimerFd>,
}

impl Sleeper {
    /// A sleeper on a timerfd (or tokio's timer where there is none). Must be called
    /// inside a tokio runtime with I/O and time enabled.
    pub fn new() -> Sleeper {
        let fd = fd::TimerFd::new()
            .map_err(|e| tracing::debug!("no timerfd ({e}); sleeping on tokio's millisecond timer"))
            .ok();
        Sleeper { fd }
    }

    /// Whether sleeps are precise (a timerfd), or tokio's millisecond timer.
    pub fn is_precise(&self) -> bool {
        self.fd.is_some()
    }

    /// Return at `at`, or at once when it is within [`SLACK`] from now. Cancel-safe: a
    /// sleep given up leaves the sleeper ready for the next.
    pub async fn sleep_until(&mut self, at: Instant) {
        let now = Instant::now();
        if at <= now + SLACK {
            return;
        }
        if let Some(fd) = &mut self.fd
            && fd.sleep(at - now).await.is_ok()
        {
            return;
        }
        tokio::time::sleep_until(at.into()).await;
    }
}

impl Default for Sleeper {
    fn default() -> Self {
        Sleeper::new()
    }
}

#[cfg(target_os = "linux")]
mod fd {
    use std::io;
    use std::time::Duration;

    use timerfd::{ClockId, SetTimeFlags, TimerState};
    use tokio::io::unix::AsyncFd;

    /// A monotonic, non-blocking timerfd registered with the runtime's reactor. The
    /// `AsyncFd` is private to this module and only ever used to arm and read its timer.
    #[derive(Debug)]
    pub(super) struct TimerFd(AsyncFd<timerfd::TimerFd>);

    impl TimerFd {
        #[allow(unsafe_code)]
        pub(super) fn new() -> io::Result<TimerFd> {
            let timer = timerfd::TimerFd::new_custom(ClockId::Monotonic, true, true)?;
            // SAFETY: `AsyncFd::register` needs the fd to stay open and the same for the
            // AsyncFd's life. `timer` owns its fd (an `OwnedFd`, opened above) until it is
            // dropped, and has no method that closes or swaps it. The AsyncFd owns
            // `timer` from here on, and this module never takes it out (no `into_inner`)
            // nor replaces it through `get_mut`, which it only uses to call `set_state`;
            // so the fd is open and the same until the AsyncFd is dropped.
            let fd = unsafe { AsyncFd::register(timer) }?;
            Ok(TimerFd(fd))
        }

        /// Sleep `d`; an error means the reactor is gone and the caller should fall back.
        pub(super) async fn sleep(&mut self, d: Duration) -> io::Result<()> {
            // A zero time would disarm the timer, and the sleep would never end.
            let d = d.max(Duration::from_nanos(1));
            self.0.get_mut().set_state(TimerState::Oneshot(d), SetTimeFlags::Default);
            loop {
                let mut ready = self.0.readable().await?;
                // read() is 0 on a stale readiness: arming the timer again (above) reset
                // its count, and it has not fired since.
                let fired = ready.get_inner().read() > 0;
                ready.clear_ready();
                if fired {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod fd {
    use std::io;
    use std::time::Duration;

    /// No timerfd here: every sleep falls back to tokio's timer.
    #[derive(Debug)]
    pub(super) enum TimerFd {}

    impl TimerFd {
        pub(super) fn new() -> io::Result<TimerFd> {
            Err(io::Error::new(io::ErrorKind::Unsupported, "timerfd is Linux-only"))
        }

        pub(super) async fn sleep(&mut self, _: Duration) -> io::Result<()> {
            match *self {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A sleep that was given up after the timer was armed leaves a wake-up behind; the
    /// next sleep must not take it for its own and return early.
    #[tokio::test]
    async fn a_sleep_given_up_does_not_wake_the_next_early() {
        let mut sleeper = Sleeper::new();
        #[cfg(target_os = "linux")]
        assert!(sleeper.is_precise(), "a timerfd on Linux");
        // Polled once (the timer is armed), then dropped.
        tokio::select! {
            biased;
            () = sleeper.sleep_until(Instant::now() + Duration::from_millis(2)) => panic!("slept at once"),
            () = std::future::ready(()) => {}
        }
        // Parked past the abandoned deadline: the reactor sees the timer fire unread.
        tokio::time::sleep(Duration::from_millis(5)).await;
        for ms in [3, 1, 2] {
            let due = Instant::now() + Duration::from_millis(ms);
            sleeper.sleep_until(due).await;
            let now = Instant::now();
            assert!(now + SLACK >= due, "a {ms} ms sleep woke {:?} early", due - now);
        }
    }

    /// Within the slack (or past) is now: no sleep at all.
    #[tokio::test(start_paused = true)]
    async fn a_time_within_the_slack_is_now() {
        let mut sleeper = Sleeper::new();
        let start = tokio::time::Instant::now();
        sleeper.sleep_until(Instant::now() + SLACK / 2).await;
        sleeper.sleep_until(Instant::now() - Duration::from_millis(1)).await;
        assert_eq!(tokio::time::Instant::now(), start, "tokio's clock never moved: nothing slept");
    }
}
