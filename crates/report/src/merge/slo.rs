//! The SLO of a merged run: the shards' limits, checked again on the merged figures.

use std::path::Path;

use crate::Error;
use crate::folder::bad;
use crate::slo::{SloReport, SloSpec};

/// The limits the shards' verdicts `saved` name (same metric, scope and limit), for the
/// whole run. A check this version cannot measure, or of an op the merged run does not
/// have, is refused: keeping a shard's verdict would be wrong. `shards` is how many shards
/// the run was split into: a shard's minimum rate was held at 1/`shards` of the run's.
pub(super) fn whole_run(
    saved: &SloReport,
    shards: u64,
    has_op: impl Fn(&str) -> bool,
    dir: &Path,
) -> Result<SloSpec, Error> {
    let unknown = saved.checks.iter().find(|c| c.scope != "overall" && !has_op(&c.scope));
    let spec = match unknown {
        Some(c) => Err(c),
        None => SloSpec::from_checks(&saved.checks),
    };
    let spec = spec.map_err(|c| {
        let message =
            format!("summary.json: SLO check {:?} of {:?} cannot be checked again after a merge", c.name, c.scope);
        bad(dir, message)
    })?;
    Ok(spec.for_share(shards as f64))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::{Limit, Limits, Metric, OpSummary, Stats, Timing};

    #[test]
    fn verdicts_follow_the_merged_figures() {
        let mut stats = Stats::new();
        for v in 1..=1000u64 {
            stats.hist[Timing::Latency].record(v * 1000).unwrap();
        }
        stats.sent = 1000;
        stats.ok = 1000;
        let shard = OpSummary::new(&stats, &[], 1000, 10.0, 100.0);
        let limits =
            Limits::from([(Metric::Percentile(crate::Quantile::P99), Limit::Time(Duration::from_millis(995)))]);
        let saved = limits.check("overall", &shard);
        assert!(saved.passed);
        for v in 1..=1000u64 {
            stats.hist[Timing::Latency].record(v * 2000).unwrap();
        }
        let merged = OpSummary::new(&stats, &[], 2000, 10.0, 100.0);
        let none = BTreeMap::new();
        let again = whole_run(&saved, 1, |_| false, Path::new("x")).unwrap().evaluate(&merged, &none);
        assert!(!again.passed, "the merged p99 is above the limit");
        assert_eq!(again, limits.check("overall", &merged), "same verdict as checking the merged run directly");

        let mut odd = saved.clone();
        odd.checks[0].name = "latency stddev".into();
        assert!(whole_run(&odd, 1, |_| false, Path::new("x")).is_err());
        let mut gone = saved.clone();
        gone.checks[0].scope = "refund".into();
        assert!(whole_run(&gone, 1, |_| false, Path::new("x")).is_err(), "an op the merged run does not have");
    }

    /// Each of two shards holds a whole-run min-rate of 400/s at 200/s; the merged run is
    /// held at 400/s again.
    #[test]
    fn a_shards_min_rate_is_checked_at_full_height_after_a_merge() {
        let mut stats = Stats::new();
        stats.sent = 900;
        stats.ok = 900;
        let whole = SloSpec { overall: Limits::from([(Metric::MinRate, Limit::Value(400.0))]), ..SloSpec::default() };
        let shard = whole.for_share(0.5).overall.check("overall", &OpSummary::new(&stats, &[], 900, 0.0, 4.0));
        assert_eq!(shard.checks[0].threshold, 200.0);
        // 225/s per shard, 450/s merged: passes 400.
        stats.sent = 1800;
        stats.ok = 1800;
        let none = BTreeMap::new();
        let spec = whole_run(&shard, 2, |_| false, Path::new("x")).unwrap();
        let again = spec.evaluate(&OpSummary::new(&stats, &[], 1800, 0.0, 4.0), &none);
        assert_eq!((again.checks[0].threshold, again.passed), (400.0, true));
        // 300/s merged fails it.
        stats.sent = 1200;
        assert!(!spec.evaluate(&OpSummary::new(&stats, &[], 1200, 0.0, 4.0), &none).passed);
    }
}
