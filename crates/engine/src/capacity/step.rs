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
    let tightest =
        stage.slo.checks.iter().filter(|c| c.unit == "ms").map(|c| c.threshold).fold(f64::INFINITY, f64::min);
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
        p50_ms: o.map_or(0.0, |o| o.latency_ms.p50),
        p99_ms: o.map_or(0.0, |o| o.latency_ms.p99),
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
        folder,
    }
}
