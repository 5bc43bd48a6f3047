//! How fast a service's time passes for its work: stop-the-world pauses (a GC) in which no
//! step makes progress, and a warm-up in which every hold is longer (a cold JIT, cold
//! caches). Pure arithmetic on offsets from the service's start, so the simulator and the
//! live target stretch the same step by the same amount.

use std::time::Duration;

use crate::Stall;

/// A cold start: holds start `cold_factor` times as long and fall linearly to their
/// drawn length over `length`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarmUp {
    pub length: Duration,
    pub cold_factor: f64,
}

/// The pauses and warm-up of a service (the default: neither).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tempo {
    /// A pause of `length` at the end of every `every` (the service starts running).
    pub pause: Option<Stall>,
    pub warm_up: Option<WarmUp>,
}

impl Tempo {
    /// Whether it changes nothing.
    pub fn is_steady(&self) -> bool {
        self.pause.is_none() && self.warm_up.is_none()
    }

    /// A hold drawn as `d`, for a step that starts `at` into the service's life.
    pub fn scaled(&self, at: Duration, d: Duration) -> Duration {
        match self.warm_up {
            Some(w) if at < w.length => {
                let cold = 1.0 - at.as_secs_f64() / w.length.as_secs_f64();
                d.mul_f64(1.0 + (w.cold_factor - 1.0) * cold)
            }
            _ => d,
        }
    }

    /// When a step that starts `at` and takes `d` (scaled by the warm-up) ends: its work
    /// runs only outside the pauses, and one that starts in a pause waits for its end.
    pub fn end(&self, at: Duration, d: Duration) -> Duration {
        let work = self.scaled(at, d);
        let Some(p) = self.pause else { return at + work };
        let (every, pause) = (p.every.as_nanos(), p.length.as_nanos());
        let running = every - pause;
        let (mut t, mut left) = (at.as_nanos(), work.as_nanos());
        loop {
            let phase = t % every;
            if phase >= running {
                t += every - phase;
                continue;
            }
            let room = running - phase;
            if left <= room {
                return nanos(t + left);
            }
            (t, left) = (t + room, left - room);
        }
    }
}

fn nanos(n: u128) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn no_work_is_done_in_a_pause() {
        // 12 ms of pause at the end of every 100 ms: 88 ms running, then 12 ms stopped.
        let t = Tempo { pause: Some(Stall { every: 100 * MS, length: 12 * MS }), warm_up: None };
        assert_eq!(t.end(10 * MS, 20 * MS), 30 * MS, "clear of the pause");
        assert_eq!(t.end(80 * MS, 20 * MS), 112 * MS, "8 ms before it, 12 ms after");
        assert_eq!(t.end(90 * MS, 5 * MS), 105 * MS, "started in a pause: waits for its end");
        assert_eq!(t.end(Duration::ZERO, 200 * MS), 224 * MS, "two pauses crossed");
        assert_eq!(Tempo::default().end(7 * MS, 3 * MS), 10 * MS);
    }

    #[test]
    fn holds_warm_up_linearly_to_their_drawn_length() {
        let t = Tempo { pause: None, warm_up: Some(WarmUp { length: 10 * 1000 * MS, cold_factor: 3.0 }) };
        assert_eq!(t.scaled(Duration::ZERO, 10 * MS), 30 * MS);
        assert_eq!(t.scaled(5000 * MS, 10 * MS), 20 * MS);
        assert_eq!(t.scaled(10_000 * MS, 10 * MS), 10 * MS);
        assert_eq!(t.end(5000 * MS, 10 * MS), 5020 * MS);
    }
}
