use std::time::Duration;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::Error;

/// The highest rate a schedule takes, requests/s: far beyond one machine, low enough that
/// sums of arrivals over [`MAX_DURATION`] stay exact in an `f64`.
pub const MAX_RATE: f64 = 10_000_000.0;
/// The longest duration anywhere in a load (a stage, a run): sums of many stay far from
/// overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);
/// Most plateaus in one `steps` stage.
pub const MAX_STEPS: u32 = 10_000;

/// A rate of a load: finite, at least 0 and at most [`MAX_RATE`] requests/s.
pub fn check_rate(v: f64) -> Result<(), String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("must be a rate >= 0 requests/s, got {v}"));
    }
    if v > MAX_RATE {
        return Err(format!("{v} requests/s is more than einv-load supports ({MAX_RATE})"));
    }
    Ok(())
}

/// A duration of a load: at most [`MAX_DURATION`], and more than 0 when `nonzero`.
pub fn check_duration(d: Duration, nonzero: bool) -> Result<(), String> {
    if nonzero && d.is_zero() {
        return Err("must be longer than 0s".into());
    }
    if d > MAX_DURATION {
        return Err(format!("must be at most {}", humantime::format_duration(MAX_DURATION)));
    }
    Ok(())
}

/// One stage of an open-loop arrival schedule. Rates are requests per second.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// A linear change of rate from `from` to `to` over `duration` (equal rates: constant).
    Ramp { from: f64, to: f64, duration: Duration },
    /// `steps` plateaus of `step` each, rates evenly spaced from `from` to `to`.
    Steps { from: f64, to: f64, steps: u32, step: Duration },
    /// `base` rate for `duration`, except `peak` during `[at, at + width)`.
    Spike { base: f64, peak: f64, at: Duration, width: Duration, duration: Duration },
}

impl Stage {
    /// A constant rate for `duration`.
    pub fn constant(rate: f64, duration: Duration) -> Self {
        Stage::Ramp { from: rate, to: rate, duration }
    }

    /// Total length of the stage.
    pub fn duration(&self) -> Duration {
        match *self {
            Stage::Ramp { duration, .. } | Stage::Spike { duration, .. } => duration,
            Stage::Steps { steps, step, .. } => step * steps,
        }
    }

    /// Every problem of this stage: (its key as a profile names it, what is wrong). A
    /// constant stage is a ramp here, so its `rate` is reported as `from` and `to`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let rates: [(&'static str, f64); 2] = match *self {
            Stage::Ramp { from, to, .. } | Stage::Steps { from, to, .. } => [("from", from), ("to", to)],
            Stage::Spike { base, peak, .. } => [("base", base), ("peak", peak)],
        };
        out.extend(rates.into_iter().filter_map(|(key, r)| Some((key, check_rate(r).err()?))));
        let durations: &[(&'static str, Duration, bool)] = match *self {
            Stage::Ramp { duration, .. } => &[("duration", duration, true)],
            Stage::Steps { step, .. } => &[("step", step, true)],
            Stage::Spike { at, width, duration, .. } => {
                &[("at", at, false), ("width", width, true), ("duration", duration, true)]
            }
        };
        let durations_ok = !durations.iter().any(|&(_, d, nonzero)| check_duration(d, nonzero).is_err());
        out.extend(durations.iter().filter_map(|&(key, d, nonzero)| Some((key, check_duration(d, nonzero).err()?))));
        match *self {
            Stage::Steps { steps, .. } if !(1..=MAX_STEPS).contains(&steps) => {
                out.push(("steps", format!("must be from 1 to {MAX_STEPS}, got {steps}")));
            }
            Stage::Spike { at, width, duration, .. } if durations_ok && at + width > duration => {
                out.push(("width", "the spike (at + width) must end within the stage's duration".into()));
            }
            _ => {}
        }
        out
    }

    /// Append this stage as linear segments starting at `start` seconds.
    fn segments(&self, start: f64, out: &mut Vec<Segment>) {
        let mut push = |from: f64, to: f64, len: Duration| {
            let begin = out.last().map_or(start, |s: &Segment| s.start + s.len);
            if !len.is_zero() {
                out.push(Segment { start: begin, len: len.as_secs_f64(), from, to, lambda0: 0.0 });
            }
        };
        match *self {
            Stage::Ramp { from, to, duration } => push(from, to, duration),
            Stage::Steps { from, to, steps, step } => {
                for i in 0..steps {
                    let f = if steps == 1 { 0.0 } else { f64::from(i) / f64::from(steps - 1) };
                    let rate = from + (to - from) * f;
                    push(rate, rate, step);
                }
            }
            Stage::Spike { base, peak, at, width, duration } => {
                push(base, base, at);
                push(peak, peak, width);
                push(base, base, duration - at - width);
            }
        }
    }
}

/// How inter-arrival gaps are drawn within the rate profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrivals {
    /// Evenly spaced: the k-th arrival is where the integrated rate reaches k (wrk2 style).
    Uniform,
    /// A (non-homogeneous) Poisson process: exponential gaps in integrated-rate units.
    Poisson,
}

/// One scheduled request: its global index and intended send offset from run start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    pub index: u64,
    pub at: Duration,
}

/// A span of linearly changing rate; `lambda0` is the integrated rate before it.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: f64,
    len: f64,
    from: f64,
    to: f64,
    lambda0: f64,
}

impl Segment {
    fn lambda(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.len
    }

    /// Offset (seconds from segment start) at which the integrated rate reaches `u`.
    fn invert(&self, u: f64) -> f64 {
        // Solve a t² + b t = u with a = (to - from) / 2len, b = from; this form stays
        // accurate when a is 0 or tiny.
        let a = (self.to - self.from) / (2.0 * self.len);
        let b = self.from;
        let denominator = b + (b * b + 4.0 * a * u).max(0.0).sqrt();
        // u = 0 on a ramp from rate 0 would be 0/0: the first arrival is at the start.
        if denominator <= 0.0 { 0.0 } else { 2.0 * u / denominator }
    }

    fn rate_at(&self, t: f64) -> f64 {
        self.from + (self.to - self.from) * (t / self.len)
    }
}

/// A deterministic open-loop arrival schedule: an iterator of [`Arrival`]s whose offsets
/// never decrease and never reach the schedule's total duration.
#[derive(Debug, Clone)]
pub struct Schedule {
    segments: Vec<Segment>,
    arrivals: Arrivals,
    rng: Pcg64Mcg,
    /// Integrated rate of the next arrival.
    next_u: f64,
    segment: usize,
    index: u64,
}

impl Schedule {
    /// Build a schedule; `seed` only matters for Poisson arrivals.
    pub fn new(stages: &[Stage], arrivals: Arrivals, seed: u64) -> Result<Self, Error> {
        let mut segments = Vec::new();
        for (index, stage) in stages.iter().enumerate() {
            if let Some((key, why)) = stage.problems().into_iter().next() {
                return Err(Error::BadStage { index, reason: format!("{key}: {why}") });
            }
            let start = segments.last().map_or(0.0, |s: &Segment| s.start + s.len);
            stage.segments(start, &mut segments);
        }
        let mut lambda = 0.0;
        for s in &mut segments {
            s.lambda0 = lambda;
            lambda += s.lambda();
        }
        if lambda < 1.0 && arrivals == Arrivals::Uniform || lambda <= 0.0 {
            return Err(Error::EmptySchedule);
        }
        let mut schedule =
            Self { segments, arrivals, rng: Pcg64Mcg::seed_from_u64(seed), next_u: 0.0, segment: 0, index: 0 };
        if arrivals == Arrivals::Poisson {
            schedule.next_u = schedule.gap();
        }
        Ok(schedule)
    }

    /// Total length of the schedule.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.segments.last().map_or(0.0, |s| s.start + s.len))
    }

    /// Expected number of arrivals (exact for uniform arrivals, up to rounding down).
    pub fn expected_count(&self) -> f64 {
        self.segments.last().map_or(0.0, |s| s.lambda0 + s.lambda())
    }

    /// The mean intended rate: expected arrivals over the schedule's length.
    pub fn mean_rate(&self) -> f64 {
        self.expected_count() / self.duration().as_secs_f64().max(1e-9)
    }

    /// The intended rate at offset `t` (0 outside the schedule).
    pub fn rate_at(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        self.segments.iter().find(|s| t >= s.start && t < s.start + s.len).map_or(0.0, |s| s.rate_at(t - s.start))
    }

    /// Intended arrivals in `[0, t)`: the integrated rate up to `t`.
    pub fn intended_count_until(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let mut total = 0.0;
        for s in &self.segments {
            if t <= s.start {
                break;
            }
            let dt = (t - s.start).min(s.len);
            total = s.lambda0 + (s.from + s.rate_at(dt)) / 2.0 * dt;
        }
        total
    }

    fn gap(&mut self) -> f64 {
        match self.arrivals {
            Arrivals::Uniform => 1.0,
            Arrivals::Poisson => {
                // -ln of a uniform in (0, 1] is Exp(1); not rand_distr's ziggurat `Exp1`,
                // whose stream differs, so a seed's schedule stays what it was.
                -rand::RngExt::sample::<f64, _>(&mut self.rng, rand::distr::OpenClosed01).ln()
            }
        }
    }
}

impl Iterator for Schedule {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        let u = self.next_u;
        while let Some(s) = self.segments.get(self.segment) {
            if u < s.lambda0 + s.lambda() {
                let offset = s.start + s.invert(u - s.lambda0).min(s.len);
                let arrival = Arrival { index: self.index, at: Duration::from_secs_f64(offset) };
                self.index += 1;
                self.next_u = u + self.gap();
                return Some(arrival);
            }
            self.segment += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn constant_uniform_gives_exact_count_and_spacing() {
        let s = Schedule::new(&[Stage::constant(5000.0, secs(30))], Arrivals::Uniform, 1).unwrap();
        let all: Vec<_> = s.collect();
        assert_eq!(all.len(), 150_000);
        assert_eq!(all[0].at, Duration::ZERO);
        assert_eq!(all[1].at, Duration::from_micros(200));
        assert!(all.last().unwrap().at < secs(30));
    }

    #[test]
    fn ramp_from_zero_integrates_to_triangle() {
        let s =
            Schedule::new(&[Stage::Ramp { from: 0.0, to: 100.0, duration: secs(10) }], Arrivals::Uniform, 1).unwrap();
        let all: Vec<_> = s.collect();
        assert_eq!(all.len(), 500);
        assert_eq!(all[0].at, Duration::ZERO, "the first arrival of a ramp from 0 is at its start");
        // Half the arrivals land after t = 10 / sqrt(2): the rate grows linearly.
        let half = all[250].at.as_secs_f64();
        assert!((half - 10.0 / 2f64.sqrt()).abs() < 0.01, "{half}");
    }

    #[test]
    fn a_ramp_from_zero_after_another_stage_does_not_jump_ahead() {
        let stages = [Stage::constant(100.0, secs(10)), Stage::Ramp { from: 0.0, to: 100.0, duration: secs(10) }];
        let all: Vec<_> = Schedule::new(&stages, Arrivals::Uniform, 1).unwrap().collect();
        assert!(all.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(all[1000].at, secs(10));
    }

    #[test]
    fn spike_triples_rate_in_window() {
        let stage = Stage::Spike { base: 100.0, peak: 300.0, at: secs(2), width: secs(1), duration: secs(5) };
        let all: Vec<_> = Schedule::new(&[stage], Arrivals::Uniform, 1).unwrap().collect();
        assert_eq!(all.len(), 100 * 4 + 300);
        let in_window = all.iter().filter(|a| a.at >= secs(2) && a.at < secs(3)).count();
        assert_eq!(in_window, 300);
    }

    #[test]
    fn steps_are_evenly_spaced() {
        let stage = Stage::Steps { from: 100.0, to: 300.0, steps: 3, step: secs(1) };
        let s = Schedule::new(&[stage], Arrivals::Uniform, 1).unwrap();
        assert_eq!(s.rate_at(Duration::from_millis(1500)), 200.0);
        assert_eq!(s.duration(), secs(3));
        assert_eq!(s.count(), 600);
    }

    #[test]
    fn poisson_matches_rate_on_average_and_is_seeded() {
        let stages = [Stage::constant(1000.0, secs(100))];
        let a: Vec<_> = Schedule::new(&stages, Arrivals::Poisson, 3).unwrap().collect();
        let b: Vec<_> = Schedule::new(&stages, Arrivals::Poisson, 3).unwrap().collect();
        let c: Vec<_> = Schedule::new(&stages, Arrivals::Poisson, 4).unwrap().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let n = a.len() as f64;
        assert!((n - 100_000.0).abs() < 1500.0, "{n}");
    }

    #[test]
    fn bad_stages_are_rejected() {
        let neg = Stage::constant(-1.0, secs(1));
        assert!(matches!(Schedule::new(&[neg], Arrivals::Uniform, 1), Err(Error::BadStage { index: 0, .. })));
        let zero = Stage::constant(10.0, Duration::ZERO);
        assert!(Schedule::new(&[zero], Arrivals::Uniform, 1).is_err());
        let idle = Stage::constant(0.0, secs(10));
        assert_eq!(Schedule::new(&[idle], Arrivals::Uniform, 1).unwrap_err(), Error::EmptySchedule);
    }

    #[test]
    fn intended_count_tracks_integral() {
        let s =
            Schedule::new(&[Stage::Ramp { from: 0.0, to: 100.0, duration: secs(10) }], Arrivals::Uniform, 1).unwrap();
        assert!((s.intended_count_until(secs(10)) - 500.0).abs() < 1e-9);
        assert!((s.intended_count_until(secs(5)) - 125.0).abs() < 1e-9);
    }
}
