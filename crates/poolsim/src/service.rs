//! The service as both engines run it: named resources (request workers, connection
//! pools, rate limits), and each op a short sequence of steps that take them.
//!
//! A step `Keep(r)` takes resource `r` and keeps it until the request ends: it encloses
//! every later step (a request worker). `Hold(r, h)` takes `r`, holds it for a draw of
//! `h` and gives it back before the next step (a database connection for one query).
//! `Wait(h)` spends time holding only what is kept (building the answer). A rate limit is
//! taken at once or not at all. A request that cannot get a resource ends with that
//! resource's answer ([`WhenDry`]): refused at once when a rate limit has no token or the
//! resource's queue is full, and after the op's trailing `Wait`s (the handler builds its
//! error answer too) when it waited past the acquire timeout.
//!
//! The old one-pool keys (`pool-size`, `workers`, `rate-limit`, `overhead`, the holds)
//! are the one-resource case: [`ModelSpec::service`] makes them resources `pool`,
//! `workers` and `rate-limit` and each op the steps rate-limit → workers (kept) → pool
//! (held) → overhead.

use std::time::Duration;

use crate::{Hold, ModelSpec, Operation, RateLimit};

/// What a resource is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Request workers (server threads): taken for the whole request, as a rule.
    Workers,
    /// A connection pool (HikariCP's, an upstream gateway's).
    Pool,
    /// A token bucket: taken at once or refused.
    RateLimit(RateLimit),
    /// Processor cores: a held step's time is CPU work, served first come first served by
    /// one of `size` cores (never timed out, never refused).
    Cpu,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Workers => "workers",
            Kind::Pool => "pool",
            Kind::RateLimit(_) => "rate-limit",
            Kind::Cpu => "cpu",
        }
    }
}

/// What a request that cannot get a resource is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenDry {
    /// An HTTP status (500, 503, 429, ...).
    Status(u16),
    /// No answer at all: the client's own timeout ends the request.
    NoAnswer,
}

/// In which order a pool's waiters get a unit given back.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Discipline {
    /// The longest waiter takes it at once.
    #[default]
    Fifo,
    /// HikariCP's ConcurrentBag: the unit goes back to the shared list and is offered to
    /// the longest waiter, who needs a wake-up drawn from `handoff_delay` to run; a request
    /// that asks in that window takes it first, and the waiter waits again at the end of
    /// the line (HikariCP's fair hand-off queue), its deadline unchanged.
    Barging { handoff_delay: Hold },
}

/// A parked thread's wake-up, as measured on a quiet 2-core Linux machine
/// (scripts/hikari-check.sh probes a JVM's fair SynchronousQueue): p50 11 µs, p99 561 µs.
pub const DEFAULT_HANDOFF_DELAY: Hold =
    Hold::LogNormal { p50: Duration::from_micros(11), p99: Duration::from_micros(560) };

/// One named resource of the service.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub name: String,
    pub kind: Kind,
    /// Units to take (workers, connections); a rate limit's is its burst.
    pub size: usize,
    /// How long a request waits for a unit before giving up; `None`: for ever.
    pub acquire_timeout: Option<Duration>,
    /// Requests that may wait for a unit; one more is refused at once. `None`: no bound.
    pub queue_limit: Option<usize>,
    pub when_dry: WhenDry,
    /// The order its waiters are served in (a pool's; the others are FIFO).
    pub discipline: Discipline,
}

/// One step of an op (see the module's words).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Keep(usize),
    Hold(usize, Hold),
    Wait(Hold),
}

impl Step {
    /// The time a step spends, if it spends any.
    pub fn hold(&self) -> Option<&Hold> {
        match self {
            Step::Hold(_, h) | Step::Wait(h) => Some(h),
            Step::Keep(_) => None,
        }
    }
}

/// The resources and every op's steps: what both engines run.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub resources: Vec<Resource>,
    /// Per op of the profile's mix, in its order.
    pub ops: Vec<Vec<Step>>,
    /// The invoice API's routes when no op of the profile is theirs, by [`Operation::ALL`].
    pub invoice: Vec<Vec<Step>>,
    /// Pauses and warm-up: how fast held and waited time passes.
    pub tempo: crate::Tempo,
}

impl Service {
    /// The index of the first step after which nothing but `Wait`s come: where a request
    /// that gave up waiting goes on (its error answer is built too).
    pub fn trailing(steps: &[Step]) -> usize {
        steps.iter().rposition(|s| !matches!(s, Step::Wait(_))).map_or(0, |i| i + 1)
    }
}

impl ModelSpec {
    /// The resources: the profile's named ones, or those the one-pool keys describe.
    pub fn resource_list(&self) -> Vec<Resource> {
        if !self.resources.is_empty() {
            return self.resources.clone();
        }
        let mut out = vec![Resource {
            name: "pool".into(),
            kind: Kind::Pool,
            size: self.pool_size,
            acquire_timeout: Some(self.acquire_timeout),
            queue_limit: None,
            when_dry: WhenDry::Status(500),
            discipline: Discipline::Fifo,
        }];
        if let Some(size) = self.workers {
            let when_dry = WhenDry::Status(503);
            let queue_limit = self.queue_limit;
            out.push(Resource {
                name: "workers".into(),
                kind: Kind::Workers,
                size,
                acquire_timeout: None,
                queue_limit,
                when_dry,
                discipline: Discipline::Fifo,
            });
        }
        if let Some(r) = self.rate_limit {
            let (kind, size, when_dry) = (Kind::RateLimit(r), r.burst as usize, WhenDry::Status(429));
            out.push(Resource {
                name: "rate-limit".into(),
                kind,
                size,
                acquire_timeout: None,
                queue_limit: None,
                when_dry,
                discipline: Discipline::Fifo,
            });
        }
        out
    }

    /// The steps of an op given only its hold: every rate limit, every kind of workers
    /// (kept), the one pool for `hold`, then the overhead. `Err` names why not: the
    /// service has no pool, or more than one.
    pub fn default_steps(&self, resources: &[Resource], hold: &Hold) -> Result<Vec<Step>, String> {
        let of = |f: fn(&Kind) -> bool| resources.iter().enumerate().filter(move |(_, r)| f(&r.kind)).map(|(i, _)| i);
        let mut steps: Vec<Step> = of(|k| matches!(k, Kind::RateLimit(_))).map(Step::Keep).collect();
        steps.extend(of(|k| *k == Kind::Workers).map(Step::Keep));
        let pools: Vec<usize> = of(|k| *k == Kind::Pool).collect();
        match pools[..] {
            [pool] => steps.push(Step::Hold(pool, hold.clone())),
            [] => return Err("the model has no pool to hold: give the op its steps".into()),
            _ => {
                let names: Vec<&str> = pools.iter().map(|&i| resources[i].name.as_str()).collect();
                return Err(format!("the model has pools {}: give the op its steps, to say which", names.join(", ")));
            }
        }
        if self.overhead != Hold::Constant(Duration::ZERO) {
            steps.push(Step::Wait(self.overhead.clone()));
        }
        Ok(steps)
    }

    /// What both engines run. Ops whose default steps cannot be made (see
    /// [`ModelSpec::problems`]) get none.
    pub fn service(&self) -> Service {
        let resources = self.resource_list();
        let steps_of = |hold: &Hold| self.default_steps(&resources, hold).unwrap_or_default();
        let ops = self.ops.iter().map(|op| op.steps.clone().unwrap_or_else(|| steps_of(&op.hold))).collect();
        let invoice = Operation::ALL.iter().map(|&op| steps_of(self.hold(op))).collect();
        Service { resources, ops, invoice, tempo: self.tempo() }
    }

    /// What the service can serve of a mix, given as each op's weight (in the order of
    /// its ops): per resource, its size over the mean time a request takes it (a held
    /// step's hold; a kept one's, everything after it), and a rate limit's rate.
    pub fn capacity(&self, weights: &[f64]) -> crate::Capacity {
        let service = self.service();
        let total: f64 = weights.iter().sum();
        let mut demand = vec![0.0; service.resources.len()];
        // The share of the mix that passes each resource: a rate limit only some ops take
        // lets the mix run faster than its own rate.
        let mut uses = vec![0.0; service.resources.len()];
        for (steps, w) in service.ops.iter().zip(weights) {
            let share = if total > 0.0 { w / total } else { 0.0 };
            let mut taken: Vec<usize> = steps
                .iter()
                .filter_map(|s| if let Step::Keep(r) | Step::Hold(r, _) = s { Some(*r) } else { None })
                .collect();
            taken.sort_unstable();
            taken.dedup();
            for r in taken {
                uses[r] += share;
            }
            for (i, step) in steps.iter().enumerate() {
                let after: f64 = steps[i..].iter().filter_map(|s| s.hold()).map(|h| h.mean().as_secs_f64()).sum();
                match step {
                    Step::Hold(r, h) => demand[*r] += share * h.mean().as_secs_f64(),
                    Step::Keep(r) => demand[*r] += share * after,
                    Step::Wait(_) => {}
                }
            }
        }
        let per_s = service
            .resources
            .iter()
            .zip(demand.iter().zip(&uses))
            .map(|(r, (d, used))| match r.kind {
                // A limit no op's steps name (the one-pool setting) applies to every request.
                Kind::RateLimit(l) if *used > 0.0 => (r.name.clone(), l.rate / used.min(1.0)),
                Kind::RateLimit(l) => (r.name.clone(), l.rate),
                _ if *d > 0.0 => (r.name.clone(), r.size as f64 / d),
                _ => (r.name.clone(), f64::INFINITY),
            })
            .collect();
        crate::Capacity::of(&service.resources, per_s)
    }
}
