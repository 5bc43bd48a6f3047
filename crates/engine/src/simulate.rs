//! `einv-load simulate`: the profile's own schedule and mix through its model (`[model]`,
//! whatever the target) in virtual time, written as a report folder in the same format as a live run, plus
//! pool.csv (HikariCP's gauges over time).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use einv_poolsim::ModelSpec;
use einv_poolsim::des::{Completion, SimOutcome};
use einv_report::{
    Connections, Finish, PoolInterval, PoolLog, ResourceInterval, RunInfo, RunLog, Stages, Stats, Summary, record_us,
};
use einv_workload::Schedule;

use crate::error::Error;
use crate::folder;
use crate::model_run::{ModelRun, Wire};
use crate::profile::{Load, Plan, Shard};
use crate::run::{RunOptions, RunResult};
use crate::signals::Interrupt;
use crate::workload::{Workload, intended_rate};

const SECOND: Duration = Duration::from_secs(1);
/// Arrivals simulated between two looks for Ctrl-C: a few milliseconds of CPU.
const CHECK_EVERY: u64 = 4096;

/// Simulate `plan`'s model and write the report.
pub fn simulate(plan: &Plan, opts: &RunOptions) -> Result<RunResult, Error> {
    let mut model = ModelRun::new(plan);
    if matches!(plan.load, Load::Closed { .. }) {
        let message = "simulate needs an open-loop or replay profile: a closed loop has no arrival schedule";
        return Err(Error::Flag { flag: "simulate", message: message.into() });
    }
    folder::check(opts.out.as_deref())?;
    // Watched from before the folder exists: Ctrl-C ends the simulation at the next
    // check and the report is written, marked interrupted, with no temp file left.
    let interrupt = Interrupt::start("interrupted: writing the report of the simulation so far")?;
    let workload = Workload::new(plan)?;
    let arrivals =
        workload.arrivals(plan.shard)?.ok_or(Error::Internal("an open-loop or replay plan without arrivals"))?;
    let started_at = start_stamp()?;
    let dir = folder::create(opts.out.as_deref(), &plan.name, started_at)?;
    let names: Vec<String> = plan.ops.iter().map(|o| o.name.clone()).collect();
    let label = format!("einv-load {} simulation of {}", env!("CARGO_PKG_VERSION"), plan.name);
    let mut log = RunLog::create(&dir, &names, started_at, &label)?;
    let spans = crate::workload::spans(&plan.load, workload.schedule.as_ref(), plan.shard);
    log.track(Stages::new(&names, spans, &plan.slo));
    let mut rec = Recording {
        log,
        pool: PoolLog::create(&dir, first_pool(model.service()))?.with_resources(resources(model.service())),
        pending: BTreeMap::new(),
        gauges: BTreeMap::new(),
        ops: names.len(),
        schedule: workload.schedule.clone(),
        shard: plan.shard,
        first_pool: model.service().resources.iter().position(|r| r.kind == einv_poolsim::Kind::Pool),
        closed: 0,
        last_busy: vec![0; model.service().resources.len()],
        last_end: Duration::ZERO,
        wire: model.wire(),
    };
    let mut scheduled = vec![0u64; names.len()];
    let (mut end, mut last_arrival, mut offered, mut interrupted) = (Duration::ZERO, Duration::ZERO, 0u64, false);
    let mut stopped = false;
    let mut err = None;
    for a in arrivals {
        if offered % CHECK_EVERY == 0 && interrupt.fired() {
            interrupted = true;
            break;
        }
        offered += 1;
        scheduled[a.op] += 1;
        rec.close_seconds(a.at, &mut model);
        model.offer(&a, &mut |c| rec.record(c));
        (end, last_arrival) = (a.at, a.at);
        if let Err(e) = rec.flush_closed() {
            err = Some(e);
            break;
        }
        if opts.early_stop
            && offered % CHECK_EVERY == 0
            && let Some(stop) = crate::run::certain_fail(&rec.log, a.at)
        {
            rec.log.mark_aborted(stop);
            stopped = true;
            break;
        }
    }
    if let Some(e) = err {
        return Err(e);
    }
    // The drain, a second at a time, so that each interval has its own gauges.
    while !model.sim().is_idle() {
        rec.close_seconds(Duration::from_secs(rec.closed + 1), &mut model);
    }
    model.finish(&mut |c| rec.record(c));
    rec.close_seconds(Duration::from_secs(rec.closed + 1), &mut model);
    end = end.max(rec.last_end);
    rec.flush_closed()?;
    rec.flush_all()?;
    let target_rate = workload.target_rate(&plan.load, plan.shard);
    // As a live run measures it: sending ends with the schedule (or where Ctrl-C stopped
    // it), the rest is the drain.
    let sent_until = if interrupted || stopped { last_arrival } else { plan.load.duration().max(last_arrival) };
    let ended = Ended { scheduled, target_rate, sent_until, end, interrupted };
    finish(plan, model.spec(), rec, ended, started_at, dir)
}

/// How the simulated run ended.
struct Ended {
    /// Arrivals offered to the model, per op.
    scheduled: Vec<u64>,
    target_rate: f64,
    /// When sending ended: the schedule's end, or the last arrival offered.
    sent_until: Duration,
    /// The last completion.
    end: Duration,
    interrupted: bool,
}

/// When the simulated run "started": now, or `SOURCE_DATE_EPOCH` (seconds since the Unix
/// epoch, the reproducible-builds convention) when set. Nothing else in a simulation
/// reads the clock, so with it the report folder is the same byte for byte every time.
fn start_stamp() -> Result<SystemTime, Error> {
    let Ok(text) = std::env::var("SOURCE_DATE_EPOCH") else { return Ok(SystemTime::now()) };
    let secs: u64 = text.trim().parse().map_err(|_| Error::Flag {
        flag: "SOURCE_DATE_EPOCH",
        message: format!("must be whole seconds since 1970-01-01, got {text:?}"),
    })?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// The report's target line: the one pool, or the model's named resources as `validate`
/// describes them.
fn simulated_target(spec: &ModelSpec) -> String {
    if spec.resources.is_empty() {
        return format!("simulated model (pool {}, acquire timeout {:?})", spec.pool_size, spec.acquire_timeout);
    }
    let service = spec.describe().into_iter().find(|(label, _)| *label == "service");
    format!("simulated model ({})", service.map(|(_, line)| line).unwrap_or_default())
}

fn finish(
    plan: &Plan,
    spec: &ModelSpec,
    rec: Recording,
    Ended { scheduled, target_rate, sent_until, end, interrupted }: Ended,
    started_at: SystemTime,
    dir: std::path::PathBuf,
) -> Result<RunResult, Error> {
    let planned = plan.load.duration().as_secs_f64();
    let finish = Finish {
        run: RunInfo {
            name: plan.name.clone(),
            profile: plan.file.display().to_string(),
            seed: plan.seed,
            target: simulated_target(spec),
            mode: format!("simulated {}", plan.load.mode()),
            started_at: humantime::format_rfc3339_millis(started_at).to_string(),
            duration_s: sent_until.as_secs_f64(),
            drain_s: end.saturating_sub(sent_until).as_secs_f64(),
            planned_duration_s: planned,
            shard: None,
            start: None,
            threads: None,
        },
        target_rate,
        scheduled,
        slo: plan.slo.clone(),
        percentiles: plan.percentiles.clone(),
        connections: Connections::default(),
        lag_warning: plan.max_send_lag,
        interrupted,
        tags: crate::workload::tags(),
        // The model answers no check and has no bodies to show.
        checks: Vec::new(),
        errors: None,
        pool: Some(rec.pool),
    };
    let summary: Summary = rec.log.finish(finish)?;
    Ok(RunResult { summary, folder: dir })
}

/// Per-second report intervals, filled as completions come (in end-time order only
/// roughly) and written once no later completion can fall in them.
struct Recording {
    log: RunLog,
    pool: PoolLog,
    pending: BTreeMap<u64, (Vec<Stats>, PoolInterval)>,
    /// Each closed second's gauges, read as the simulation reached its end.
    gauges: BTreeMap<u64, PoolInterval>,
    ops: usize,
    schedule: Option<Schedule>,
    shard: Shard,
    /// The first pool, the one pool.csv's own columns describe.
    first_pool: Option<usize>,
    /// Seconds whose end the simulation has reached.
    closed: u64,
    wire: Wire,
    /// Per resource, its use integrated up to the end of the last closed second.
    last_busy: Vec<u128>,
    /// The latest end of a request recorded.
    last_end: Duration,
}

/// The size of the service's first pool: the one pool.csv's columns follow.
fn first_pool(service: &einv_poolsim::Service) -> u64 {
    let pool = service.resources.iter().find(|r| r.kind == einv_poolsim::Kind::Pool);
    pool.map_or(0, |r| r.size as u64)
}

/// The service's resources as the report names them: (name, kind, size).
fn resources(service: &einv_poolsim::Service) -> Vec<(String, String, u64)> {
    service.resources.iter().map(|r| (r.name.clone(), r.kind.as_str().to_string(), r.size as u64)).collect()
}

impl Recording {
    fn record(&mut self, c: Completion) {
        self.last_end = self.last_end.max(c.end);
        let ops = self.ops;
        let (stats, pool) =
            // Made one by one, not cloned: a clone would make all of every histogram resident.
            self.pending.entry(c.end.as_secs()).or_insert_with(|| ((0..ops).map(|_| Stats::new()).collect(), PoolInterval::default()));
        stats[c.tag as usize].record(&self.wire.sample_of(&c));
        // By how the service ended it: a refusal answered with no answer is still a refusal.
        if let Some(i) = c.dry {
            if pool.resources.len() <= i {
                pool.resources.resize(i + 1, ResourceInterval::default());
            }
            match c.cause {
                SimOutcome::QueueFull | SimOutcome::RateLimited => pool.resources[i].refused += 1,
                _ => pool.resources[i].timeouts += 1,
            }
        }
        match c.cause {
            SimOutcome::RateLimited => pool.rate_limited += 1,
            SimOutcome::QueueFull => pool.queue_full += 1,
            _ => {}
        }
        // pool.csv's own columns are the first pool's, as its size in the header is.
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        if let Some(waited) = c.pool_waited {
            record_us(&mut pool.acquire, us(waited));
            match (c.cause, c.dry == self.first_pool) {
                (SimOutcome::PoolTimeout, true) => pool.timeouts += 1,
                (SimOutcome::Ok, _) => record_us(&mut pool.usage, us(c.pool_held)),
                _ => {}
            }
        }
    }

    /// Run the model to the end of every second before `t`, reading each one's gauges
    /// there: a second's mean use is its own, however many are written at once.
    fn close_seconds(&mut self, t: Duration, model: &mut ModelRun) {
        while Duration::from_secs(self.closed + 1) <= t {
            let end = Duration::from_secs(self.closed + 1);
            model.run_until(end, &mut |c| self.record(c));
            let sim = model.sim();
            let mut g = PoolInterval::default();
            (g.active, g.pending) = {
                let (a, p) = sim.gauges();
                (a as u64, p as u64)
            };
            g.queued = sim.workers().1 as u64;
            let span = SECOND.as_nanos() as f64;
            g.resources = (0..self.last_busy.len())
                .map(|i| {
                    let s = sim.gauge(i);
                    let used = s.busy_ns - std::mem::replace(&mut self.last_busy[i], s.busy_ns);
                    let mean_active = used as f64 / span;
                    ResourceInterval {
                        active: s.busy as u64,
                        pending: s.waiting as u64,
                        mean_active,
                        ..Default::default()
                    }
                })
                .collect();
            g.mean_active = self.first_pool.map_or(0.0, |i| g.resources[i].mean_active);
            if self.pending.contains_key(&self.closed) {
                self.gauges.insert(self.closed, g);
            }
            self.closed += 1;
        }
    }

    /// Write every interval of a closed second: no later completion can fall in it.
    fn flush_closed(&mut self) -> Result<(), Error> {
        while self.pending.first_key_value().is_some_and(|(&k, _)| k < self.closed) {
            self.write_first()?;
        }
        Ok(())
    }

    /// Write what is left (completions the client gave up on, dated at its timeout).
    fn flush_all(&mut self) -> Result<(), Error> {
        while !self.pending.is_empty() {
            self.write_first()?;
        }
        Ok(())
    }

    fn write_first(&mut self) -> Result<(), Error> {
        let Some((k, (mut stats, mut pool))) = self.pending.pop_first() else { return Ok(()) };
        let start = Duration::from_secs(k);
        if let Some(g) = self.gauges.remove(&k) {
            (pool.active, pool.pending, pool.mean_active, pool.queued) = (g.active, g.pending, g.mean_active, g.queued);
            pool.resources.resize(g.resources.len(), ResourceInterval::default());
            for (r, g) in pool.resources.iter_mut().zip(g.resources) {
                (r.active, r.pending, r.mean_active) = (g.active, g.pending, g.mean_active);
            }
        }
        let rate = self.schedule.as_ref().map_or(0.0, |s| intended_rate(s, self.shard, start, start + SECOND));
        self.log.push(start, SECOND, rate, (0, 0), &mut stats)?;
        self.pool.push(start.as_secs_f64(), 1.0, &mut pool);
        Ok(())
    }
}
