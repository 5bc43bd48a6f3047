//! One run of a plan's arrivals through its model, in virtual time, set up one way for
//! every command that predicts (`simulate`, `sweep`, `capacity --simulate`): the same
//! simulator, the same stream of hold times and the same op-to-model mapping (an op's
//! [`einv_poolsim::ModelOp`] by its place in the mix, the one the live target routes to),
//! so that they agree.

use std::time::Duration;

use einv_poolsim::des::{Completion, Sim, SimOutcome};
use einv_poolsim::{Capacity, Hold, ModelSpec, Service};
use einv_report::{ErrorClass, Outcome, Sample};
use einv_workload::derive_seed;
use rand_pcg::Pcg64Mcg;

use crate::profile::Plan;
use crate::workload::Arrival;

/// The simulated service of a plan, ready to be offered its arrivals.
#[derive(Debug)]
pub(crate) struct ModelRun<'a> {
    spec: &'a ModelSpec,
    service: Service,
    sim: Sim,
    /// One arrival's drawn step times (kept to spare an allocation per arrival).
    times: Vec<Duration>,
    /// The service's randomness (hold times) has its own stream, apart from the workload's.
    holds: Pcg64Mcg,
    seed: u64,
}

impl<'a> ModelRun<'a> {
    /// The model of `plan`, whatever its target.
    pub(crate) fn new(plan: &'a Plan) -> ModelRun<'a> {
        let spec = &plan.model.spec;
        let service = spec.service();
        let mut sim = Sim::for_service(&service, Some(plan.target.request_timeout));
        sim.seed(derive_seed(plan.seed, "handoff"));
        ModelRun {
            spec,
            sim,
            service,
            times: Vec::new(),
            holds: <Pcg64Mcg as rand::SeedableRng>::seed_from_u64(derive_seed(plan.seed, "holds")),
            seed: plan.seed,
        }
    }

    /// The wire between the client and the model (`[model] wire`), drawn on its own stream
    /// so that a wire added to a model leaves its hold times as they were.
    pub(crate) fn wire(&self) -> Wire {
        let rng = <Pcg64Mcg as rand::SeedableRng>::seed_from_u64(derive_seed(self.seed, "wire"));
        Wire { hold: self.spec.wire.clone(), rng }
    }

    pub(crate) fn spec(&self) -> &'a ModelSpec {
        self.spec
    }

    /// What the model can serve of `plan`'s mix (the plan this run was made from).
    pub(crate) fn capacity(&self, plan: &Plan) -> Capacity {
        capacity(plan, self.spec)
    }

    /// The service the model runs: its resources and every op's steps.
    pub(crate) fn service(&self) -> &Service {
        &self.service
    }

    /// The simulator, for its gauges.
    pub(crate) fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Offer one arrival (in time order); `emit` gets every request that finishes by then.
    /// A completion's tag is the arrival's op.
    pub(crate) fn offer(&mut self, a: &Arrival, emit: &mut impl FnMut(Completion)) {
        // Every step's time is drawn in the step's order. The live target draws from the same
        // distributions as it reaches each step: the engines agree in distribution, not draw by draw.
        self.times.clear();
        let steps = &self.service.ops[a.op];
        self.times.extend(steps.iter().filter_map(|s| s.hold()).map(|h| h.sample(&mut self.holds)));
        self.sim.offer_op(a.op as u32, a.at, a.op, &self.times, emit);
    }

    /// Run the model up to `t` (no arrival comes before it): its gauges then read as at `t`.
    pub(crate) fn run_until(&mut self, t: Duration, emit: &mut impl FnMut(Completion)) {
        self.sim.run_until(t, emit);
    }

    /// Run every request still in the model to its end.
    pub(crate) fn finish(&mut self, emit: &mut impl FnMut(Completion)) {
        self.sim.finish(emit);
    }
}

/// The round trip outside the model's steps, one draw per answer.
#[derive(Debug)]
pub(crate) struct Wire {
    hold: Hold,
    rng: Pcg64Mcg,
}

impl Wire {
    /// A simulated request as the recorder sees a live one: latency from arrival plus the
    /// wire (no client queue is modelled, so service time is the same and send lag is
    /// zero), and the status the built-in target answers with for the same fate. A client
    /// timeout stays the timeout: it ended at the client, wire or not.
    pub(crate) fn sample_of(&mut self, c: &Completion) -> Sample {
        let outcome = match (c.outcome, c.status) {
            (SimOutcome::ClientTimeout, _) | (_, None) => Outcome::Failed(ErrorClass::Timeout),
            (_, Some(status)) => Outcome::Response(status),
        };
        let wire = match outcome {
            Outcome::Failed(_) => Duration::ZERO,
            _ => self.hold.sample(&mut self.rng),
        };
        let latency = c.end - c.arrival + wire;
        Sample {
            latency,
            service: Some(latency),
            send_lag: Duration::ZERO,
            outcome,
            queued: false,
            failed_check: None,
            tag: None,
            expects_rejection: false,
            // The model has no client connections: no connect, no first byte apart from the end.
            phases: einv_report::Phases::default(),
        }
    }
}

/// What `spec` can serve of `plan`'s mix: each op as the model has it, at its weight.
pub(crate) fn capacity(plan: &Plan, spec: &ModelSpec) -> Capacity {
    let weights: Vec<f64> = plan.ops.iter().map(|o| f64::from(o.weight)).collect();
    spec.capacity(&weights)
}
