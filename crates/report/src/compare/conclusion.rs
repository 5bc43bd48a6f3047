//! The comparison's conclusion, and the one thing that makes it inconclusive: a load
//! generator short of CPU, so that a side's latency carries the generator's own delay and
//! its load was not the one planned. Either a side's own figures say so, or the two sides'
//! generators lagged so differently that the lag alone could make or hide a regression.

use serde::{Deserialize, Serialize};

use super::rules;
use crate::summary::Summary;
use crate::text::connections_were_busy;

/// compare.json's `verdict`; the exit code follows it (0, 1, 4: README, "Exit codes").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conclusion {
    /// Nothing judged is significantly worse by more than the thresholds.
    #[default]
    #[serde(rename = "no regression")]
    NoRegression,
    /// A judged figure is worse by more than the thresholds, and by more than chance.
    #[serde(rename = "regression")]
    Regression,
    /// A side's generator was starved: its figures say more about the machine than the build.
    #[serde(rename = "inconclusive")]
    Inconclusive,
}

impl Conclusion {
    /// Inconclusive whenever a side was starved, even with regressions found: a starved
    /// current inflates its latency, a starved baseline hides a regression.
    pub(super) fn of(starved: &[String], regressions: &[String]) -> Conclusion {
        match (starved.is_empty(), regressions.is_empty()) {
            (false, _) => Conclusion::Inconclusive,
            (true, false) => Conclusion::Regression,
            (true, true) => Conclusion::NoRegression,
        }
    }
}

/// Why the run `s` had a starved generator, if it did. Only with free connections (fewer
/// than 1 % of requests waited for one): a lag from waiting on busy connections is the
/// target's, and part of its latency by right.
pub(super) fn starved(s: &Summary) -> Option<String> {
    let o = &s.overall;
    if !generator_lag_counts(s) {
        return None;
    }
    let (lag, p99) = (o.send_lag_ms.p99, o.latency_ms.ms(crate::Quantile::P99));
    if lag > rules::STARVED_LAG_MS {
        return Some(format!(
            "send lag p99 {lag:.1} ms (latency p99 {p99:.1} ms) with free connections: the generator fell behind \
             its schedule"
        ));
    }
    let target = o.rate.target_per_s;
    // Skipped arrivals (no data) were offered as far as the generator goes.
    let offered =
        if s.run.duration_s > 0.0 { (o.requests.sent + o.requests.skipped) as f64 / s.run.duration_s } else { 0.0 };
    if target > 0.0 && offered < target * (1.0 - rules::RATE_SHORTFALL) {
        return Some(format!(
            "offered {offered:.1} of the {target:.1} req/s planned with free connections: the generator could not keep \
             up"
        ));
    }
    None
}

/// Why the two runs' generators lagged too differently to compare their latency, if they
/// did: the difference of their send lag p99s alone could move the latency p99 by the
/// threshold `t` (and by the 1 ms floor), making a regression or hiding one. Two runs
/// slowed alike, each under [`rules::STARVED_LAG_MS`], still compare.
pub(super) fn lag_apart(b: &Summary, c: &Summary, t: f64) -> Option<String> {
    if !generator_lag_counts(b) && !generator_lag_counts(c) {
        return None;
    }
    let (bl, cl) = (b.overall.send_lag_ms.p99, c.overall.send_lag_ms.p99);
    let p99 = b.overall.latency_ms.ms(crate::Quantile::P99).min(c.overall.latency_ms.ms(crate::Quantile::P99));
    let apart = (cl - bl).abs();
    (apart >= rules::LATENCY_FLOOR_MS && apart >= t * p99).then(|| {
        format!(
            "send lag p99 {bl:.1} ms in the baseline, {cl:.1} ms in the current run (latency p99 {p99:.1} ms): one \
             generator fell behind more than the other, enough to move the latency by the threshold"
        )
    })
}

/// Whether a run's send lag is its generator's own: it sent something, with free connections.
fn generator_lag_counts(s: &Summary) -> bool {
    s.overall.requests.sent > 0 && !connections_were_busy(&s.overall)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::outcome::{Outcome, Phases, Sample};
    use crate::stats::Stats;
    use crate::summary::OpSummary;

    fn example() -> Summary {
        serde_json::from_str(include_str!("../../../../reports/example/summary.json")).unwrap()
    }

    /// A side of 1,000 requests of 20 ms, each sent `lag` late, `queued` of them after
    /// waiting for a connection, over 1 s of a 1,000 req/s plan.
    fn side(lag: Duration, queued: usize, target: f64) -> Summary {
        let mut stats = Stats::new();
        for i in 0..1_000 {
            stats.record(&Sample {
                latency: Duration::from_millis(20) + lag,
                service: Some(Duration::from_millis(20)),
                send_lag: lag,
                outcome: Outcome::Response(200),
                queued: i < queued,
                failed_check: None,
                tag: None,
                expects_rejection: false,
                phases: Phases::default(),
            });
        }
        let mut s = example();
        s.run.duration_s = 1.0;
        s.overall = OpSummary::new(&stats, &[], 1_000, target, 1.0);
        s
    }

    #[test]
    fn a_generator_that_fell_behind_with_free_connections_is_starved() {
        let ms = Duration::from_millis;
        assert_eq!(starved(&side(Duration::ZERO, 0, 1_000.0)), None);
        assert_eq!(starved(&side(ms(8), 0, 1_000.0)), None, "under 10 ms");
        let why = starved(&side(ms(12), 0, 1_000.0)).expect("past 10 ms");
        assert!(why.starts_with("send lag p99 12.0 ms"), "{why}");
        assert_eq!(starved(&side(ms(50), 100, 1_000.0)), None, "busy connections: the target's lag");
        let why = starved(&side(Duration::ZERO, 0, 2_000.0)).expect("half the planned rate");
        assert!(why.starts_with("offered 1000.0 of the 2000.0 req/s"), "{why}");
    }

    #[test]
    fn generators_that_lagged_apart_by_the_threshold_cannot_be_compared() {
        let ms = Duration::from_millis;
        let (calm, slowed) = (side(Duration::ZERO, 0, 1_000.0), side(ms(3), 0, 1_000.0));
        let why = lag_apart(&calm, &slowed, 0.1).expect("3 ms is more than 10 % of a 20 ms p99");
        assert!(why.starts_with("send lag p99 0.0 ms in the baseline, 3.0 ms in the current run"), "{why}");
        assert!(lag_apart(&slowed, &calm, 0.1).is_some(), "a lagging baseline hides a regression");
        assert_eq!(lag_apart(&calm, &slowed, 0.2), None, "but less than 20 %");
        assert_eq!(lag_apart(&slowed, &side(ms(3), 0, 1_000.0), 0.1), None, "slowed alike: they compare");
        let half = side(ms(1) / 2, 0, 1_000.0);
        assert_eq!(lag_apart(&calm, &half, 0.0), None, "half a millisecond moves nothing judged");
        let busy = side(ms(3), 100, 1_000.0);
        assert_eq!(lag_apart(&side(ms(3), 100, 1_000.0), &busy, 0.1), None, "busy connections: the target's lag");
    }

    #[test]
    fn a_starved_side_makes_the_comparison_inconclusive_whatever_regressed() {
        let (starved, none) = (vec!["the current run's generator was starved".to_string()], Vec::new());
        let worse = vec!["overall latency p99".to_string()];
        assert_eq!(Conclusion::of(&starved, &worse), Conclusion::Inconclusive);
        assert_eq!(Conclusion::of(&starved, &none), Conclusion::Inconclusive);
        assert_eq!(Conclusion::of(&none, &worse), Conclusion::Regression);
        assert_eq!(Conclusion::of(&none, &none), Conclusion::NoRegression);
        assert_eq!(serde_json::to_string(&Conclusion::NoRegression).unwrap(), "\"no regression\"");
    }
}
