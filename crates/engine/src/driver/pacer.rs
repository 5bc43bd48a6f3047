//! Sleeping until an arrival's intended time, precisely.
//!
//! tokio's timer wheel ticks in whole milliseconds, so `sleep_until` alone would add up to
//! 1 ms of send lag to every request. On Linux a timerfd, registered with the runtime's own
//! epoll, wakes the dispatcher task within tens of microseconds, on the same thread as
//! the workers (no cross-thread hand-off per request). Elsewhere, or if the timerfd
//! cannot be created, tokio's timer is the fallback.
//!
//! Each wake-up costs a few syscalls and a trip through the scheduler, which at a few
//! thousand requests per second dominates the generator's CPU. A pacing window trades
//! precision for CPU: the dispatcher wakes at most once per window and releases every
//! arrival that has come due, each late by less than the window (and that lateness is
//! recorded as send lag, so it is never hidden).

use std::time::{Duration, Instant};

/// Closer than this to its due time, an arrival is sent at once: no timer wakes that
/// precisely, and sleeping would only add lag.
pub const SLACK: Duration = Duration::from_micros(60);

#[derive(Debug)]
pub struct Pacer {
    #[cfg(target_os = "linux")]
    timer: Option<tokio::io::unix::AsyncFd<timerfd::TimerFd>>,
    /// Wake at most once per window (zero: for every arrival).
    window: Duration,
    last_wake: Instant,
}

impl Pacer {
    /// Must be called inside the tokio runtime.
    pub fn new(window: Duration) -> Pacer {
        Pacer { window, last_wake: Instant::now(), ..Pacer::timer_only() }
    }

    fn timer_only() -> Pacer {
        #[cfg(target_os = "linux")]
        {
            // `AsyncFd::new` is deprecated because a type could hand out a different fd
            // later; a TimerFd owns its one fd for life, so the registration stays valid.
            #[allow(deprecated)]
            let timer = timerfd::TimerFd::new_custom(timerfd::ClockId::Monotonic, true, true)
                .and_then(tokio::io::unix::AsyncFd::new)
                .map_err(|e| tracing::debug!("no timerfd ({e}); pacing with tokio's millisecond timer"))
                .ok();
            Pacer { timer, window: Duration::ZERO, last_wake: Instant::now() }
        }
        #[cfg(not(target_os = "linux"))]
        Pacer { window: Duration::ZERO, last_wake: Instant::now() }
    }

    /// Return once `due` has come (at once if it is within [`SLACK`]), or at the end of
    /// the current pacing window if that is later.
    pub async fn wait_for(&mut self, due: Instant) {
        let now = Instant::now();
        if due <= now + SLACK {
            return;
        }
        self.sleep_until(due.max(self.last_wake + self.window), now).await;
        self.last_wake = Instant::now();
    }

    async fn sleep_until(&mut self, due: Instant, now: Instant) {
        #[cfg(target_os = "linux")]
        if let Some(timer) = &mut self.timer {
            use timerfd::{SetTimeFlags, TimerState};
            timer.get_mut().set_state(TimerState::Oneshot(due.saturating_duration_since(now)), SetTimeFlags::Default);
            loop {
                let Ok(mut ready) = timer.readable().await else { break };
                // read() is 0 on a spurious wake-up: the timer has not fired yet.
                let fired = ready.get_inner().read() > 0;
                ready.clear_ready();
                if fired {
                    return;
                }
            }
        }
        tokio::time::sleep_until(due.into()).await;
    }
}
