//! A plan's workload, ready to render: the op mix, templates, invoice generator,
//! feeders, correlation pools, and the timeline of arrivals.

use std::collections::HashMap;
use std::sync::Arc;

use einv_workload::feeder::Feeder;
use einv_workload::invoice::InvoiceGen;
use einv_workload::requests::{OpTemplate, Requests, Tag};
use einv_workload::trace::TraceReader;
use einv_workload::{Mix, Pools, Schedule, derive_seed};

use crate::driver::Timeline;
use crate::error::{Error, ProfileError};
use crate::profile::{Load, Plan, Shard};

#[derive(Debug)]
pub struct Workload {
    pub requests: Requests,
    /// Per op: whether it has templates to render.
    pub dynamic: Vec<bool>,
    pub schedule: Option<Schedule>,
    pub pools: Arc<Pools>,
}

impl Workload {
    pub fn new(plan: &Plan) -> Result<Workload, Error> {
        // Validation catches nearly all of these; what is left (a schedule too thin to hold
        // one arrival, a feeder file changed since) is still the profile's fault.
        let bad = |key: &str, e: einv_workload::Error| Error::from(ProfileError::unlocated(&plan.file, key, e));
        let weights: Vec<u32> = plan.ops.iter().map(|o| o.weight).collect();
        let mix = Mix::new(&weights, derive_seed(plan.seed, "mix")).map_err(|e| bad("op", e))?;
        let schedule = plan.load.schedule(plan.seed).transpose().map_err(|e| bad("load", e))?;
        let w = &plan.workload;
        let invoices = InvoiceGen::new(&w.invoice, derive_seed(plan.seed, "invoice-parties"))
            .map_err(|e| bad("workload.invoice", e))?;
        let mut feeders = Vec::new();
        for (i, f) in plan.feeders.iter().enumerate() {
            let seed = derive_seed(plan.seed, &format!("feeder-{}", f.name));
            feeders.push(Feeder::open(&f.path, f.mode, seed).map_err(|e| bad(&format!("feeder[{i}]"), e))?);
        }
        let pools = Arc::new(Pools::new(w.pools.len(), w.pool_size));
        let templates: Vec<OpTemplate> = plan.ops.iter().map(|o| o.template.clone().unwrap_or_default()).collect();
        let dynamic = plan.ops.iter().map(|o| o.template.is_some()).collect();
        let requests = Requests::new(plan.seed, templates, mix, invoices, feeders, pools.clone(), w.faults);
        Ok(Workload { requests, dynamic, schedule, pools })
    }

    /// The arrivals to send: the schedule, or the trace read afresh.
    pub fn timeline(&self, plan: &Plan) -> Result<Option<Timeline>, Error> {
        match (&plan.load, &self.schedule) {
            (Load::Open { .. }, Some(s)) => Ok(Some(Timeline::Schedule(Box::new(s.clone())))),
            (Load::Replay { trace, speed, bodies, .. }, _) => {
                let reader = TraceReader::open(trace, *speed)
                    .map_err(|e| Error::from(ProfileError::unlocated(&plan.file, "load.trace", e)))?;
                let ops: HashMap<String, usize> =
                    plan.ops.iter().enumerate().map(|(i, o)| (o.name.clone(), i)).collect();
                Ok(Some(Timeline::Trace { reader: Box::new(reader), ops, bodies: bodies.clone() }))
            }
            _ => Ok(None),
        }
    }

    /// The mean intended rate for this shard: the schedule's, or the trace's (0 for
    /// closed loop, which has none).
    pub fn target_rate(&self, load: &Load, shard: Shard) -> f64 {
        let per_run = match (load, &self.schedule) {
            (_, Some(s)) => s.expected_count() / s.duration().as_secs_f64(),
            (Load::Replay { arrivals, duration, .. }, None) => *arrivals as f64 / duration.as_secs_f64().max(1e-9),
            _ => 0.0,
        };
        per_run / shard.count as f64
    }
}

/// The injected-fault tags, by index, and whether a correct service rejects each.
pub fn tags() -> Vec<(String, bool)> {
    Tag::ALL.iter().map(|t| (t.as_str().to_string(), t.expects_rejection())).collect()
}
