//! What a run did to the service, from the simulator's integrals: mean use of its pools
//! and workers, mean waits, and whether the waits were still growing when the run ended.

use std::time::Duration;

use super::Sim;
use crate::Kind;

/// The simulator's running totals at one moment; two readings give the means between them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reading {
    /// The simulated time reached.
    pub at: Duration,
    /// Requests offered so far.
    pub arrived: u64,
    /// Per resource, its units' use integrated over time.
    busy_ns: Vec<u128>,
    waiting_ns: u128,
    demand_ns: u128,
}

/// The service between two readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Mean share of the pool's connections in use (0..=1); of several pools, the busiest.
    pub pool: f64,
    /// Mean share of the workers busy (the busiest); `None` without a worker limit.
    pub workers: Option<f64>,
    /// Mean time an arrival of the window waited (for a worker, then a connection), by
    /// Little's law: requests waiting, integrated over the window, per arrival.
    pub mean_wait: Duration,
    /// Mean demand (connection hold plus handler overhead) of its arrivals.
    pub mean_demand: Duration,
}

/// A whole run: its mean use of the service, and whether it settled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunStats {
    pub whole: Window,
    /// False when the waits were still growing at the end (see [`Window::grew_from`]).
    pub stationary: bool,
}

impl Sim {
    /// The running totals now.
    pub fn reading(&self) -> Reading {
        Reading {
            at: Duration::from_nanos(self.clock),
            arrived: self.arrived,
            busy_ns: self.res.iter().map(|r| r.busy_ns).collect(),
            waiting_ns: self.waiting_ns,
            demand_ns: self.demand_ns,
        }
    }

    /// The service between readings `from` and `to` (taken in that order).
    pub fn window(&self, from: &Reading, to: &Reading) -> Window {
        let span = (to.at.saturating_sub(from.at).as_nanos() as f64).max(1.0);
        let arrivals = to.arrived.saturating_sub(from.arrived).max(1) as f64;
        let per_arrival = |a: u128, b: u128| Duration::from_nanos((b.saturating_sub(a) as f64 / arrivals) as u64);
        let busiest = |kind: Kind| {
            let share = |i: usize| {
                let at = |r: &Reading| r.busy_ns.get(i).copied().unwrap_or(0);
                at(to).saturating_sub(at(from)) as f64 / span / self.res[i].size.max(1) as f64
            };
            (0..self.res.len()).filter(|&i| self.res[i].kind == kind).map(share).reduce(f64::max)
        };
        Window {
            pool: busiest(Kind::Pool).unwrap_or(0.0),
            workers: busiest(Kind::Workers),
            mean_wait: per_arrival(from.waiting_ns, to.waiting_ns),
            mean_demand: per_arrival(from.demand_ns, to.demand_ns),
        }
    }
}

impl Window {
    /// The waits grew from `earlier` to this window: by more than half, and by more than
    /// a quarter of a request's mean demand. Past capacity the backlog of a run that
    /// starts empty grows linearly, so the last third of the run waits 5/3 of the middle
    /// third (+67 %); a stable queue's thirds differ by noise only, which the floor keeps
    /// from counting where the queue is nearly empty (in a 20 s run of 200 connections at
    /// 98 % load, the thirds' mean waits differ by up to 2 ms against 20 ms holds).
    pub fn grew_from(&self, earlier: &Window) -> bool {
        let grew = self.mean_wait.saturating_sub(earlier.mean_wait);
        grew > earlier.mean_wait / 2 && grew > self.mean_demand.max(earlier.mean_demand) / 4
    }
}

/// Watches a run of a known length for [`RunStats`]: readings at a third and two thirds
/// of it, so that the middle third (past the start-up, which begins with an empty
/// service) can be compared with the last.
#[derive(Debug, Clone)]
pub struct Thirds {
    length: Duration,
    marks: Vec<Reading>,
}

impl Thirds {
    pub fn new(length: Duration) -> Thirds {
        Thirds { length, marks: Vec::with_capacity(2) }
    }

    /// Call after each arrival is offered to `sim`.
    pub fn observe(&mut self, sim: &Sim) {
        let next = self.length * (self.marks.len() as u32 + 1) / 3;
        if self.marks.len() < 2 && Duration::from_nanos(sim.clock) >= next {
            self.marks.push(sim.reading());
        }
    }

    /// The run's statistics, after its last arrival and before [`Sim::finish`] (which
    /// drains the service). A run too short to have thirds counts as stationary.
    pub fn stats(&self, sim: &Sim) -> RunStats {
        let end = sim.reading();
        let stationary = match self.marks[..] {
            [ref a, ref b] if b.at < end.at => !sim.window(b, &end).grew_from(&sim.window(a, b)),
            _ => true,
        };
        RunStats { whole: sim.window(&Reading::default(), &end), stationary }
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_distr::Exp1;
    use rand_pcg::Pcg64Mcg;

    use super::super::{PoolParams, ServiceParams};
    use super::*;

    /// Poisson arrivals at `rho` of the capacity of `c` connections held 20 ms on average
    /// (exponential holds when `exp`), for `secs`, with no timeouts: M/M/c or M/D/c.
    fn run(c: usize, workers: Option<usize>, rho: f64, secs: u64, exp: bool, seed: u64) -> RunStats {
        let hold_ns = 20_000_000.0;
        let gap_ns = hold_ns / (rho * c as f64);
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let params = PoolParams { size: c, acquire_timeout: None, client_timeout: None };
        let mut sim = Sim::with_service(params, ServiceParams { workers, ..ServiceParams::default() });
        let length = Duration::from_secs(secs);
        let mut thirds = Thirds::new(length);
        let mut t = 0.0;
        loop {
            let gap: f64 = rng.sample(Exp1);
            t += gap * gap_ns;
            if t >= length.as_nanos() as f64 {
                break;
            }
            let hold = if exp { rng.sample::<f64, _>(Exp1) * hold_ns } else { hold_ns };
            let a = super::super::Arrival {
                tag: 0,
                at: Duration::from_nanos(t as u64),
                hold: Duration::from_nanos(hold as u64),
                overhead: Duration::ZERO,
            };
            sim.offer(a, &mut |_| {});
            thirds.observe(&sim);
        }
        thirds.stats(&sim)
    }

    #[test]
    fn below_capacity_a_run_is_stationary_and_uses_what_is_offered() {
        for seed in 1..=3 {
            let s = run(200, None, 0.7, 20, false, seed);
            assert!(s.stationary, "seed {seed}: {s:?}");
            assert!((s.whole.pool - 0.7).abs() < 0.02, "seed {seed}: pool busy {}", s.whole.pool);
            assert_eq!(s.whole.workers, None);
            assert_eq!(s.whole.mean_demand, Duration::from_millis(20));
        }
        // Workers that only wrap the pool are as busy as it (no overhead, more workers).
        let s = run(10, Some(20), 0.7, 60, true, 9);
        assert!(s.stationary, "{s:?}");
        let (pool, workers) = (s.whole.pool, s.whole.workers.unwrap());
        assert!((pool - 0.7).abs() < 0.05 && workers < pool, "pool {pool}, workers {workers}");
    }

    #[test]
    fn past_capacity_the_waits_are_still_growing_at_the_end() {
        for (exp, seed) in [(false, 1), (false, 2), (true, 3)] {
            let s = run(200, None, 1.05, 20, exp, seed);
            assert!(!s.stationary, "seed {seed}: {s:?}");
            // Busy all the time, with the queue that past capacity means.
            assert!(s.whole.pool > 0.99 && s.whole.mean_wait > Duration::from_millis(100), "{s:?}");
        }
    }

    #[test]
    fn a_run_too_short_for_thirds_counts_as_stationary() {
        let sim = Sim::new(PoolParams { size: 1, acquire_timeout: None, client_timeout: None });
        let s = Thirds::new(Duration::from_secs(3)).stats(&sim);
        assert!(s.stationary);
        assert_eq!(s.whole.pool, 0.0);
    }
}
