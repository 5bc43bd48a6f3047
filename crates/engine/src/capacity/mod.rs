//! `einv-load capacity`: the highest constant arrival rate of a profile's mix that meets
//! its `[slo]` (every limit, per op too), found by a bracketing search ([`search`]) of
//! short open-loop steps ([`step`]) run by the same engine as `run` (or, `--simulate`,
//! the model in virtual time), and what breaks first at the boundary ([`breaks`]).
//!
//! With a model (`[target.builtin]`) the live search starts where the model's own search
//! ended: fewer steps, and the report sets predicted and measured side by side. The
//! model's search starts at its utilisation bound (the pool's, the workers' or the rate
//! limit's, whichever is lowest), where a deterministic model is close to its answer.

mod breaks;
pub(crate) mod search;
mod step;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use einv_poolsim::ModelSpec;
use einv_report::{AnswerKind, Bracket, Capacity, CapacityStep, Summary, Tool};

use self::breaks::Metrics;
use self::search::{Answer, Bounds, Outcome, Probe};
use crate::error::Error;
use crate::profile::{Endpoint, Load, Overrides, Plan};
use crate::run::RunOptions;
use crate::verdict::{Finished, Shortfall, Verdict};

/// How to search.
#[derive(Debug, Clone)]
pub struct CapacityOptions {
    /// The lowest rate tried (the first, without a model).
    pub min: f64,
    pub max: f64,
    /// The length of a step: warm-up (20 % of it in whole seconds, 1 to 5 s) plus measuring stage.
    pub step_time: Duration,
    /// Stop once `(hi - lo) / lo` is at most this.
    pub precision: f64,
    pub max_steps: usize,
    /// Stop starting steps once the search has run this long.
    pub budget: Option<Duration>,
    /// A pause between live steps, so a queue left by an overloaded step drains first.
    pub cool_down: Duration,
    /// The answer must be at least this (exit 1 otherwise); default `[slo] min-capacity`.
    pub require: Option<f64>,
    pub out: Option<PathBuf>,
    /// Search the model in virtual time only.
    pub simulate: bool,
}

impl Default for CapacityOptions {
    fn default() -> Self {
        CapacityOptions {
            min: 10.0,
            max: einv_workload::MAX_RATE,
            step_time: Duration::from_secs(30),
            precision: 0.025,
            max_steps: 12,
            budget: None,
            cool_down: Duration::from_secs(2),
            require: None,
            out: None,
            simulate: false,
        }
    }
}

/// A finished search: capacity.json's content and where it is.
#[derive(Debug)]
pub struct CapacityResult {
    pub report: Capacity,
    pub folder: PathBuf,
    pub verdict: Verdict,
}

/// Search the capacity of `plan`'s target (or model) and write the capacity report.
pub fn capacity(plan: &Plan, opts: &CapacityOptions) -> Result<CapacityResult, Error> {
    check(plan, opts)?;
    crate::folder::check(opts.out.as_deref())?;
    if let Some(out) = &opts.out
        && out.join(einv_report::CAPACITY_JSON).exists()
    {
        let message = "already holds a capacity report; choose another --out or remove it".into();
        return Err(Error::Folder { path: out.clone(), message });
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    let dir = crate::folder::create(opts.out.as_deref(), &format!("{}-capacity", plan.name), started)?;
    // A simulated search models any profile; a live one predicts first from a model
    // the profile wrote, or that the built-in target serves.
    let model = if opts.simulate { Some(&*plan.model.spec) } else { model_of(plan) };
    let (predicted, start) = match (model, opts.simulate) {
        (Some(spec), true) => (None, Some(utilisation_bound(plan, spec))),
        (Some(spec), false) => {
            let bounds = bounds(opts, Some(utilisation_bound(plan, spec)), false);
            let mut steps = Steps::new(plan, opts, dir.join("model"), true, clock);
            let outcome = search::search(&bounds, |rate| steps.run(rate))?;
            let predicted = match outcome.answer {
                Answer::Capacity(r) | Answer::AtLeast(r) => Some(r),
                _ => None,
            };
            tracing::info!("the model predicts {predicted:?} requests/s; the live search starts there");
            (predicted, predicted)
        }
        (None, _) => (None, None),
    };
    let live = if opts.simulate { None } else { LiveTarget::start(plan)? };
    let plan = live.as_ref().map_or_else(|| Ok(plan.clone()), |l| l.plan(plan))?;
    let mut steps = Steps::new(&plan, opts, dir.clone(), opts.simulate, clock);
    steps.metrics_at = live.as_ref().map(|l| l.addr);
    steps.model = steps.model.or(model);
    let outcome = search::search(&bounds(opts, start, !opts.simulate), |rate| steps.run(rate))?;
    if let Some(l) = live {
        l.server.stop();
    }
    let report = steps.report(&plan, &outcome, predicted, started, clock.elapsed())?;
    let lost = einv_report::write_capacity(&dir, &report)?;
    for n in &lost {
        tracing::warn!("{} was not written: {}", n.file, n.error);
    }
    let verdict = match (&steps.stopped, report.answer.kind) {
        (Some(v), _) => v.clone(),
        (None, AnswerKind::Unknown) => Verdict::NotCarriedOut(None),
        _ if !lost.is_empty() => Verdict::NotCarriedOut(None),
        (None, _) => {
            if report.passed {
                Verdict::Pass
            } else {
                Verdict::Failed
            }
        }
    };
    Ok(CapacityResult { report, folder: dir, verdict })
}

fn flag(message: &str) -> Error {
    Error::Flag { flag: "capacity", message: message.into() }
}

fn check(plan: &Plan, o: &CapacityOptions) -> Result<(), Error> {
    if !matches!(plan.load, Load::Open { .. }) {
        return Err(flag("needs an open-loop profile ([load] mode = \"open\"): a step is a constant arrival rate"));
    }
    if !plan.slo.has_limits() {
        return Err(flag("needs [slo] limits: the capacity is the highest rate that meets them"));
    }
    let rate_ok = |v: f64| v.is_finite() && v > 0.0 && v <= einv_workload::MAX_RATE;
    if !rate_ok(o.min) || !rate_ok(o.max) || o.min >= o.max {
        let message = format!("--min and --max must be rates with 0 < min < max <= {}", einv_workload::MAX_RATE);
        return Err(Error::Flag { flag: "--min/--max", message });
    }
    if !(o.precision > 0.0 && o.precision <= 0.5) {
        return Err(Error::Flag { flag: "--precision", message: "must be more than 0 and at most 50%".into() });
    }
    if o.step_time < Duration::from_secs(2) || o.step_time > Duration::from_secs(3600) {
        return Err(Error::Flag { flag: "--step-time", message: "must be from 2s to 1h".into() });
    }
    if o.max_steps == 0 {
        return Err(Error::Flag { flag: "--max-steps", message: "must be at least 1".into() });
    }
    if let Some(r) = o.require
        && !rate_ok(r)
    {
        return Err(Error::Flag { flag: "--require", message: "must be a rate > 0".into() });
    }
    Ok(())
}

fn bounds(o: &CapacityOptions, start: Option<f64>, confirm: bool) -> Bounds {
    Bounds { min: o.min, max: o.max, precision: o.precision, max_steps: o.max_steps, start, confirm }
}

/// The model a live search predicts with: the one the built-in target serves, or one
/// the profile wrote for its own service.
fn model_of(plan: &Plan) -> Option<&ModelSpec> {
    let builtin = matches!(plan.target.endpoint, Endpoint::Builtin { .. });
    (builtin || plan.model.written).then_some(&*plan.model.spec)
}

/// The rate at which the model's tightest resource is fully used: the pool, the workers
/// or the rate limit ([`einv_poolsim::Capacity`], as the sweep computes it).
fn utilisation_bound(plan: &Plan, spec: &ModelSpec) -> f64 {
    let bound = crate::model_run::capacity(plan, spec).per_s();
    if bound.is_finite() { bound } else { 1000.0 }
}

/// Which of the built-in target's queues fills first: the workers' or the pool's.
fn binding_queue(plan: &Plan, spec: &ModelSpec) -> einv_report::Cause {
    if crate::model_run::capacity(plan, spec).workers_bind() {
        einv_report::Cause::WorkerQueue
    } else {
        einv_report::Cause::PoolQueue
    }
}

/// What gives first when the model is offered more than it can serve: the rate limit
/// refuses (429); full workers queue, and answer 503 once a queue limit is reached; a full
/// pool queues (its acquire timeout comes after the latency limit a run checks).
fn saturated(plan: &Plan, spec: &ModelSpec) -> einv_report::Cause {
    let c = crate::model_run::capacity(plan, spec);
    match binding_queue(plan, spec) {
        _ if c.limit_per_s.is_some_and(|l| l <= c.per_s()) => einv_report::Cause::RateLimited,
        einv_report::Cause::WorkerQueue if spec.queue_limit.is_some() => einv_report::Cause::WorkerQueueFull,
        q => q,
    }
}

/// The built-in target, started once for the whole live search so that its `/metrics`
/// can be read after each step (a run would start and stop its own).
struct LiveTarget {
    server: einv_poolsim::live::Server,
    addr: std::net::SocketAddr,
}

impl LiveTarget {
    fn start(plan: &Plan) -> Result<Option<LiveTarget>, Error> {
        let Endpoint::Builtin { tls: false } = &plan.target.endpoint else { return Ok(None) };
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let server = einv_poolsim::live::Server::start((*plan.model.spec).clone(), loopback, plan.model.threads)?;
        let addr = server.addr();
        Ok(Some(LiveTarget { server, addr }))
    }

    fn plan(&self, plan: &Plan) -> Result<Plan, Error> {
        let mut p = plan.clone();
        p.apply(&Overrides { target: Some(format!("http://{}", self.addr)), ..Overrides::default() })?;
        Ok(p)
    }
}

/// The steps of one search: runs them, and keeps what the report needs of each.
struct Steps<'a> {
    plan: &'a Plan,
    opts: &'a CapacityOptions,
    dir: PathBuf,
    simulate: bool,
    clock: Instant,
    warm: Duration,
    rows: Vec<CapacityStep>,
    /// Per step: its summary and the built-in target's counter increases.
    evidence: Vec<(Summary, Option<Metrics>)>,
    metrics_at: Option<std::net::SocketAddr>,
    /// The built-in target's model: the plan's own, or, when the live steps run against
    /// the target started for the search (their plan names its address), that target's.
    model: Option<&'a ModelSpec>,
    /// Why the search stopped without a verdict on the target (interrupted, nothing measured).
    stopped: Option<Verdict>,
}

impl<'a> Steps<'a> {
    fn new(plan: &'a Plan, opts: &'a CapacityOptions, dir: PathBuf, simulate: bool, clock: Instant) -> Self {
        let warm = step::warm_up(opts.step_time);
        Steps {
            plan,
            opts,
            dir,
            simulate,
            clock,
            warm,
            rows: Vec::new(),
            evidence: Vec::new(),
            metrics_at: None,
            model: model_of(plan),
            stopped: None,
        }
    }

    /// Run one step at `rate`; `None` once the time budget is spent or the search must stop.
    fn run(&mut self, rate: f64) -> Result<Option<Probe>, Error> {
        let over = self.opts.budget.is_some_and(|b| self.clock.elapsed() >= b);
        if over || self.stopped.is_some() {
            return Ok(None);
        }
        if !self.simulate && !self.rows.is_empty() {
            std::thread::sleep(self.opts.cool_down);
        }
        let n = self.rows.len() + 1;
        let leaf = format!("{n:02}-{rate:.0}");
        let folder = self.dir.join("steps").join(&leaf);
        let measure = self.opts.step_time - self.warm;
        let plan = step::plan_for(self.plan, rate, self.warm, measure)?;
        let opts = RunOptions { out: Some(folder), progress: false, early_stop: true, ..RunOptions::default() };
        let before = self.metrics_at.map(breaks::read_metrics);
        let result = if self.simulate { crate::simulate(&plan, &opts)? } else { crate::run(&plan, &opts)? };
        let server =
            self.metrics_at.zip(before).map(|(addr, before)| breaks::delta(&before, &breaks::read_metrics(addr)));
        let finished = if self.simulate { Finished::Simulation } else { Finished::Run };
        let verdict = Verdict::of(&result.summary, finished);
        // Nothing succeeding in a later step is an overload (a verdict), in the first the
        // target not working at all.
        let overloaded = matches!(verdict, Verdict::NotCarriedOut(Some(Shortfall::NothingMeasured(_)))) && n > 1;
        if let v @ Verdict::NotCarriedOut(_) = verdict
            && !overloaded
        {
            tracing::warn!("step {n} at {rate:.0}/s could not be carried out; the search stops");
            self.stopped = Some(v);
            return Ok(None);
        }
        let mut probe = step::probe(&result.summary);
        let utilisation = self.model.map(|spec| crate::model_run::capacity(self.plan, spec).utilisation(rate));
        // A model at 100 % use or more passes only on a knife edge: even arrivals and fixed
        // holds keep its queue empty, but any jitter (a live target's timers, a busy
        // machine) grows it without end. The sweep fails such a cell; so does a step.
        if self.simulate && utilisation.is_some_and(|u| u >= 1.0) {
            probe = Probe { passed: false, marginal: false };
        }
        let rerun = self.rows.iter().any(|r| r.offered_per_s == rate);
        let mut row = step::row(&result.summary, rate, probe, rerun, format!("steps/{leaf}"));
        row.utilisation = utilisation;
        tracing::info!(
            "step {n}: {rate:.0}/s -> {} (achieved {:.0}/s, p99 {:.2} ms, errors {:.2} %{})",
            if probe.passed { "pass" } else { "FAIL" },
            row.achieved_per_s,
            row.p99_ms,
            row.error_rate * 100.0,
            if row.early_stop_s.is_some() { ", stopped early" } else { "" }
        );
        self.rows.push(row);
        self.evidence.push((result.summary, server));
        Ok(Some(probe))
    }

    fn report(
        &self,
        plan: &Plan,
        outcome: &Outcome,
        predicted: Option<f64>,
        started: SystemTime,
        elapsed: Duration,
    ) -> Result<Capacity, Error> {
        let (kind, rate) = match outcome.answer {
            Answer::Capacity(r) => (AnswerKind::Capacity, Some(r)),
            Answer::AtLeast(r) => (AnswerKind::AtLeast, Some(r)),
            Answer::Below(r) => (AnswerKind::Below, Some(r)),
            Answer::Unknown => (AnswerKind::Unknown, None),
        };
        // The failing step at the boundary: the latest run of the lowest failing rate.
        let boundary = outcome.hi.and_then(|hi| self.rows.iter().rposition(|r| r.offered_per_s == hi));
        let breaks_first = boundary.and_then(|i| {
            let (summary, server) = &self.evidence[i];
            let spec = self.model;
            let queue = spec.map(|spec| binding_queue(self.plan, spec));
            let tightest =
                spec.and_then(|spec| crate::model_run::capacity(self.plan, spec).bottleneck().map(str::to_string));
            let row = &self.rows[i];
            let saturated = row
                .utilisation
                .filter(|&u| u >= 1.0 && self.simulate)
                .zip(spec)
                .map(|(u, spec)| (u, saturated(self.plan, spec)));
            breaks::analyse(summary, row.offered_per_s, server.as_ref(), (queue, tightest), saturated)
        });
        let require = self.opts.require.or(plan.min_capacity);
        let passed = match (kind, rate, require) {
            (AnswerKind::Capacity | AnswerKind::AtLeast, Some(r), Some(req)) => r >= req,
            (AnswerKind::Capacity | AnswerKind::AtLeast, Some(_), None) => true,
            _ => false,
        };
        let mut warnings = Vec::new();
        if !outcome.converged {
            warnings.push(format!(
                "the step or time budget ended the search before the bracket met the precision ({} steps)",
                outcome.trials.len()
            ));
        }
        let target = self.evidence.first().map_or_else(|| plan.authority(None), |(s, _)| s.run.target.clone());
        Ok(Capacity {
            schema: einv_report::CAPACITY_SCHEMA,
            tool: Tool { name: "einv-load".into(), version: env!("CARGO_PKG_VERSION").into() },
            name: plan.name.clone(),
            profile: plan.file.display().to_string(),
            target,
            simulated: self.simulate,
            started_at: humantime::format_rfc3339_seconds(started).to_string(),
            answer: einv_report::CapacityAnswer {
                kind,
                rate_per_s: rate,
                sentence: Capacity::sentence(kind, rate, &limits(plan), breaks_first.as_ref()),
            },
            bracket: Bracket {
                lo_per_s: outcome.lo,
                hi_per_s: outcome.hi,
                precision: self.opts.precision,
                converged: outcome.converged,
            },
            predicted_per_s: predicted,
            require_per_s: require,
            passed,
            warm_up_s: self.warm.as_secs_f64(),
            measure_s: (self.opts.step_time - self.warm).as_secs_f64(),
            steps: self.rows.clone(),
            breaks_first,
            elapsed_s: elapsed.as_secs_f64(),
            warnings,
        })
    }
}

/// The profile's limits in words: "p99 < 100 ms, error rate < 1 %".
fn limits(plan: &Plan) -> String {
    let scopes =
        std::iter::once(("overall", &plan.slo.overall)).chain(plan.slo.ops.iter().map(|(n, l)| (n.as_str(), l)));
    let mut words = Vec::new();
    for (scope, limits) in scopes {
        for (m, l) in limits.iter() {
            let scope = if scope == "overall" { String::new() } else { format!(" ({scope})") };
            let v = l.threshold();
            let value = match m.unit() {
                einv_report::Unit::Ms => format!("{v} ms"),
                einv_report::Unit::Ratio => format!("{} %", v * 100.0),
                einv_report::Unit::PerSecond => format!("{v}/s"),
            };
            words.push(format!("{}{scope} {} {value}", m.key(), m.bound().symbol()));
        }
    }
    words.join(", ")
}
