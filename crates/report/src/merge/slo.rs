//! The SLO verdicts of a merged run, checked again on the merged figures.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Error;
use crate::slo::{SloCheck, SloReport};
use crate::summary::OpSummary;

/// Check every saved SLO (same name, scope and threshold) against the merged result. A
/// check this version cannot measure is refused: keeping a shard's verdict would be wrong.
pub(super) fn recheck(
    saved: &SloReport,
    overall: &OpSummary,
    ops: &BTreeMap<String, OpSummary>,
    dir: &Path,
) -> Result<SloReport, Error> {
    let mut checks = Vec::with_capacity(saved.checks.len());
    for c in &saved.checks {
        let scope = if c.scope == "overall" { Some(overall) } else { ops.get(&c.scope) };
        let actual = scope.and_then(|s| measure(&c.name, s)).ok_or_else(|| {
            let message =
                format!("summary.json: SLO check {:?} of {:?} cannot be checked again after a merge", c.name, c.scope);
            super::bad(dir, message)
        })?;
        let passed = if c.name == "min rate" { actual >= c.threshold } else { actual <= c.threshold };
        checks.push(SloCheck { actual, passed, ..c.clone() });
    }
    Ok(SloReport { passed: checks.iter().all(|c| c.passed), checks })
}

/// The figure an SLO check named `name` (as [`crate::SloSpec::check`] names them) limits.
fn measure(name: &str, s: &OpSummary) -> Option<f64> {
    let lat = &s.latency_ms;
    Some(match name {
        "latency p50" => lat.p50,
        "latency p90" => lat.p90,
        "latency p99" => lat.p99,
        "latency p99.9" => lat.p999,
        "latency max" => lat.max,
        "error rate" => s.requests.error_rate,
        "check failure rate" => s.requests.check_failure_rate,
        "min rate" => s.rate.achieved_per_s,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SloSpec, Stats};

    #[test]
    fn verdicts_follow_the_merged_figures() {
        let mut stats = Stats::new();
        for v in 1..=1000u64 {
            stats.latency.record(v * 1000).unwrap();
        }
        stats.sent = 1000;
        stats.ok = 1000;
        let shard = OpSummary::new(&stats, 1000, 10.0, 100.0);
        let spec = SloSpec { p99: Some(std::time::Duration::from_millis(995)), ..SloSpec::default() };
        let saved = spec.check("overall", &shard);
        assert!(saved.passed);
        for v in 1..=1000u64 {
            stats.latency.record(v * 2000).unwrap();
        }
        let merged = OpSummary::new(&stats, 2000, 10.0, 100.0);
        let again = recheck(&saved, &merged, &BTreeMap::new(), Path::new("x")).unwrap();
        assert!(!again.passed, "the merged p99 is above the limit");
        assert_eq!(again, spec.check("overall", &merged), "same verdict as checking the merged run directly");

        let mut odd = saved.clone();
        odd.checks[0].name = "latency p42".into();
        assert!(recheck(&odd, &merged, &BTreeMap::new(), Path::new("x")).is_err());
    }
}
