//! Invariants of every schedule, over random stage lists.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use einv_workload::{Arrivals, Schedule, Stage};
use proptest::prelude::*;

/// Rates, with 0 (ramps from or to idle) drawn often: it is the edge that matters.
fn rate() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), 0.0..2000.0f64]
}

fn stage() -> impl Strategy<Value = Stage> {
    let ms = |lo: u64, hi: u64| (lo..hi).prop_map(Duration::from_millis);
    prop_oneof![
        (rate(), rate(), ms(1, 3000)).prop_map(|(from, to, duration)| Stage::Ramp { from, to, duration }),
        (rate(), rate(), 1u32..5, ms(1, 1000)).prop_map(|(from, to, steps, step)| Stage::Steps {
            from,
            to,
            steps,
            step
        }),
        (rate(), rate(), ms(0, 1000), ms(1, 1000), ms(0, 1000)).prop_map(|(base, peak, at, width, extra)| {
            Stage::Spike { base, peak, at, width, duration: at + width + extra }
        }),
    ]
}

proptest! {
    #[test]
    fn arrivals_never_decrease_and_stay_inside(stages in prop::collection::vec(stage(), 1..4), poisson: bool, seed: u64) {
        let arrivals = if poisson { Arrivals::Poisson } else { Arrivals::Uniform };
        let Ok(schedule) = Schedule::new(&stages, arrivals, seed) else { return Ok(()) };
        let total = schedule.duration();
        let mut last = Duration::ZERO;
        for (i, a) in schedule.enumerate() {
            prop_assert_eq!(a.index, i as u64);
            prop_assert!(a.at >= last, "arrival {} at {:?} before {:?}", i, a.at, last);
            prop_assert!(a.at < total);
            last = a.at;
        }
    }

    #[test]
    fn uniform_count_is_the_integrated_rate(stages in prop::collection::vec(stage(), 1..4)) {
        let Ok(schedule) = Schedule::new(&stages, Arrivals::Uniform, 0) else { return Ok(()) };
        let expected = schedule.expected_count();
        let n = schedule.count() as f64;
        // Arrival k sits where the integrated rate reaches k, for k = 0, 1, ...
        prop_assert!((n - expected.ceil()).abs() <= 1.0, "{} arrivals for integrated rate {}", n, expected);
    }

    #[test]
    fn same_seed_same_schedule(stages in prop::collection::vec(stage(), 1..3), seed: u64) {
        let a = Schedule::new(&stages, Arrivals::Poisson, seed);
        let b = Schedule::new(&stages, Arrivals::Poisson, seed);
        if let (Ok(a), Ok(b)) = (a, b) {
            prop_assert!(a.take(5000).eq(b.take(5000)));
        }
    }
}
