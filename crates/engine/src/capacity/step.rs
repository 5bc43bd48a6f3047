//! One capacity step: a constant-rate open-loop run of the profile's mix, a warm-up stage
//! then a measuring stage at the same rate, judged on the measuring stage alone.

use std::time::Duration;

use einv_report::{CapacityStep, StageSummary, Summary};
use einv_workload::Stage;

use super::search::Probe;
use crate::error::Error;
use crate::profile::{Load, Plan};

/// A figure within this share of its limit is within noise: the step is re-run once
/// before it bounds the answer. Run-to-run p99s of one rate on a busy machine differ by
/// about this much.
pub(crate) const NOISE: f64 = 0.1;

/// The warm-up of a step of `step_time`: 20 % of it in whole seconds, from 1 to 5 s. Long
/// enough for the client to open its connections and the service to fill its pools and
/// caches (and any queue to reach its level at this rate); short enough to leave most of
/// the step to be measured. Whole seconds: the statistics are kept per second, so the
/// measuring stage starts on an interval's edge.
pub(crate) fn warm_up(step_time: Duration) -> Duration {
    Duration::from_secs((step_time / 5).as_secs().clamp(1, 5))
}

/// `plan` as one step at `rate`: warm-up, then the measuring stage.
pub(crate) fn plan_for(plan: &Plan, rate: f64, warm: Duration, measure: Duration) -> Result<Plan, Error> {
    let mut p = plan.clone();
    let Load::Open { stages, .. } = &mut p.load else {
        return Err(Error::Internal("a capacity step of a plan that is not open loop"));
    };
    *stages = vec![Stage::constant(rate, warm), Stage::constant(rate, measure)];
    // The step stops by its own rule (certain to fail), not by the run's abort-on-fail.
    p.slo.abort_after = None;
    Ok(p)
}

/// The measuring stage of a step's summary.
pub(crate) fn measured(s: &Summary) -> Option<&StageSummary> {
    s.stages.iter().find(|st| st.stage == 1)
}

/// The verdict of a step: the SLO on its measuring stage, and whether it is marginal:
/// the deciding figures within [`NOISE`] of their limits, or the generator itself stalled
/// during the stage (its send lag's max at least [`NOISE`] of the tightest latency limit: a
/// busy machine, whose stall the target did not cause) so that a bound it sets is re-run.
/// A step stopped early is marginal only by a stall.
pub(crate) fn probe(s: &Summary) -> Probe {
    let Some(stage) = measured(s) else { return Probe { passed: false, marginal: false } };
    let tightest = stage
        .slo
        .checks
        .iter()
        .filter(|c| c.metric().is_some_and(|m| m.unit() == einv_report::Unit::Ms))
        .map(|c| c.threshold)
        .fold(f64::INFINITY, f64::min);
    let stalled = stage.overall.send_lag_ms.max >= NOISE * tightest;
    if s.aborted.is_some() {
        return Probe { passed: false, marginal: stalled };
    }
    let passed = stage.slo.passed;
    let margin = |c: &&einv_report::SloCheck| {
        if c.threshold > 0.0 { (c.actual - c.threshold).abs() / c.threshold } else { f64::INFINITY }
    };
    let deciding = stage.slo.checks.iter().filter(|c| c.measured && (passed || !c.passed));
    let marginal = stalled || deciding.map(|c| margin(&c)).fold(f64::INFINITY, f64::min) <= NOISE;
    Probe { passed, marginal }
}

/// The step as capacity.json lists it.
pub(crate) fn row(s: &Summary, rate: f64, probe: Probe, rerun: bool, folder: String) -> CapacityStep {
    let stage = measured(s);
    let o = stage.map(|st| &st.overall);
    CapacityStep {
        offered_per_s: rate,
        achieved_per_s: o.map_or(0.0, |o| o.rate.achieved_per_s),
        p50_ms: o.map_or(0.0, |o| o.latency_ms.ms(einv_report::Quantile::P50)),
        p99_ms: o.map_or(0.0, |o| o.latency_ms.ms(einv_report::Quantile::P99)),
        error_rate: o.map_or(0.0, |o| o.requests.error_rate),
        passed: probe.passed,
        marginal: probe.marginal,
        rerun,
        early_stop_s: s.aborted.as_ref().map(|a| a.at_s),
        failed: match (stage, &s.aborted) {
            (_, Some(a)) => a.failed.clone(),
            (Some(st), None) => st.slo.checks.iter().filter(|c| !c.passed).cloned().collect(),
            (None, None) => Vec::new(),
        },
        utilisation: None,
        folder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's example summary, with its one stage as the measuring one (index 1).
    fn step(p99: f64, lag_max: f64) -> Summary {
        let mut s: Summary = serde_json::from_str(include_str!("../../../../reports/example/summary.json")).unwrap();
        let mut stage = s.stages[0].clone();
        stage.stage = 1;
        stage.overall.send_lag_ms.max = lag_max;
        stage.slo = einv_report::SloReport { passed: p99 <= 200.0, checks: vec![] };
        let check = einv_report::SloCheck {
            name: "latency p99".into(),
            scope: "overall".into(),
            threshold: 200.0,
            actual: p99,
            unit: "ms".into(),
            passed: p99 <= 200.0,
            measured: true,
        };
        stage.slo.checks.push(check);
        s.stages = vec![s.stages[0].clone(), stage];
        s.aborted = None;
        s
    }

    #[test]
    fn a_step_is_judged_on_its_measuring_stage_and_marginal_near_a_limit_or_after_a_stall() {
        assert_eq!(probe(&step(150.0, 1.0)), Probe { passed: true, marginal: false });
        assert_eq!(probe(&step(190.0, 1.0)), Probe { passed: true, marginal: true }, "within 10 % of the limit");
        assert_eq!(probe(&step(400.0, 1.0)), Probe { passed: false, marginal: false });
        assert_eq!(probe(&step(400.0, 25.0)), Probe { passed: false, marginal: true }, "the generator stalled 25 ms");
        let mut stopped = step(150.0, 1.0);
        stopped.aborted = Some(einv_report::Aborted { at_s: 3.0, grace_s: 0.0, failed: vec![], certain: true });
        assert!(!probe(&stopped).passed, "a step stopped early failed");
        let mut no_stage = step(150.0, 1.0);
        no_stage.stages.truncate(1);
        assert!(!probe(&no_stage).passed, "nothing measured is no pass");
    }
}
