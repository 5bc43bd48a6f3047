//! The SLO verdicts of a merged run, checked again on the merged figures.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Error;
use crate::slo::SloReport;
use crate::summary::OpSummary;

/// Check every saved SLO (same name, scope and threshold) against the merged result. A
/// check this version cannot measure is refused: keeping a shard's verdict would be wrong.
/// `shards` is how many shards the run was split into: a shard's minimum rate was held at
/// 1/`shards` of the run's.
pub(super) fn recheck(
    saved: &SloReport,
    shards: u64,
    overall: &OpSummary,
    ops: &BTreeMap<String, OpSummary>,
    dir: &Path,
) -> Result<SloReport, Error> {
    let mut checks = Vec::with_capacity(saved.checks.len());
    for c in &saved.checks {
        let scope = if c.scope == "overall" { Some(overall) } else { ops.get(&c.scope) };
        let again = scope.and_then(|s| c.for_whole_run(shards).remeasured(s)).ok_or_else(|| {
            let message =
                format!("summary.json: SLO check {:?} of {:?} cannot be checked again after a merge", c.name, c.scope);
            crate::folder::bad(dir, message)
        })?;
        checks.push(again);
    }
    Ok(SloReport { passed: checks.iter().all(|c| c.passed), checks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SloSpec, Stats};

    #[test]
    fn verdicts_follow_the_merged_figures() {
        let mut stats = Stats::new();
        for v in 1..=1000u64 {
            stats.hist[crate::Timing::Latency].record(v * 1000).unwrap();
        }
        stats.sent = 1000;
        stats.ok = 1000;
        let shard = OpSummary::new(&stats, 1000, 10.0, 100.0);
        let spec = SloSpec { p99: Some(std::time::Duration::from_millis(995)), ..SloSpec::default() };
        let saved = spec.check("overall", &shard);
        assert!(saved.passed);
        for v in 1..=1000u64 {
            stats.hist[crate::Timing::Latency].record(v * 2000).unwrap();
        }
        let merged = OpSummary::new(&stats, 2000, 10.0, 100.0);
        let again = recheck(&saved, 1, &merged, &BTreeMap::new(), Path::new("x")).unwrap();
        assert!(!again.passed, "the merged p99 is above the limit");
        assert_eq!(again, spec.check("overall", &merged), "same verdict as checking the merged run directly");

        let mut odd = saved.clone();
        odd.checks[0].name = "latency p42".into();
        assert!(recheck(&odd, 1, &merged, &BTreeMap::new(), Path::new("x")).is_err());
    }

    /// Each of two shards holds a whole-run min-rate of 400/s at 200/s; the merged run is
    /// held at 400/s again.
    #[test]
    fn a_shards_min_rate_is_checked_at_full_height_after_a_merge() {
        let mut stats = Stats::new();
        stats.sent = 900;
        stats.ok = 900;
        let whole = SloSpec { min_rate: Some(400.0), ..SloSpec::default() };
        let shard = whole.with_min_rates_paced(0.5).check("overall", &OpSummary::new(&stats, 900, 0.0, 4.0));
        assert_eq!(shard.checks[0].threshold, 200.0);
        // 225/s per shard, 450/s merged: passes 400.
        stats.sent = 1800;
        stats.ok = 1800;
        let merged = OpSummary::new(&stats, 1800, 0.0, 4.0);
        let again = recheck(&shard, 2, &merged, &BTreeMap::new(), Path::new("x")).unwrap();
        assert_eq!((again.checks[0].threshold, again.passed), (400.0, true));
        // 300/s merged fails it.
        stats.sent = 1200;
        let slow = OpSummary::new(&stats, 1200, 0.0, 4.0);
        assert!(!recheck(&shard, 2, &slow, &BTreeMap::new(), Path::new("x")).unwrap().passed);
    }
}
