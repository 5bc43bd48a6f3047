//! A live run, start to finish: target, folder, driver, once-a-second collection, report.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use einv_poolsim::live::Server;
use einv_report::{Connections, Finish, Recorder, RunInfo, RunLog, Stats, Summary};
use einv_workload::{Mix, Schedule, derive_seed};
use tokio::sync::watch;

use crate::driver::{self, Ctx};
use crate::error::Error;
use crate::profile::{Endpoint, Load, Plan};
use crate::progress::Progress;
use crate::{folder, signals};

/// How a run reports, beyond what the profile says.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The report folder itself (default: `reports/<name>-<utc-stamp>/`).
    pub out: Option<PathBuf>,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
}

/// A finished (or interrupted) run.
#[derive(Debug)]
pub struct RunResult {
    pub summary: Summary,
    pub folder: PathBuf,
}

/// Carry out `plan` against its target and write the report.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<RunResult, Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("einv-load")
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    // Kept alive for the whole run; dropped (and stopped) on return.
    let server = match &plan.target.endpoint {
        Endpoint::Builtin { spec, threads } => Some(Server::start(spec.clone(), loopback(), *threads)?),
        Endpoint::Http(_) => None,
    };
    let (addr, base_path) = match (&plan.target.endpoint, &server) {
        (Endpoint::Http(url), _) => (rt.block_on(resolve(&url.authority))?, url.base_path.clone()),
        (Endpoint::Builtin { .. }, Some(s)) => (s.addr(), String::new()),
        (Endpoint::Builtin { .. }, None) => unreachable!("started above"),
    };
    let target_label = match &server {
        Some(s) => format!("builtin ({})", s.url()),
        None => format!("http://{}{}", plan.authority(None), base_path),
    };
    tracing::info!("target {target_label}");
    let started_at = SystemTime::now();
    let folder = folder::create(opts.out.as_deref(), &plan.name, started_at)?;
    let authority = plan.authority(Some(addr));
    let summary = rt.block_on(drive(
        plan,
        opts,
        Target { addr, authority, base_path, label: target_label },
        &folder,
        started_at,
    ))?;
    if let Some(s) = server {
        s.stop();
    }
    Ok(RunResult { summary, folder })
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn resolve(authority: &str) -> Result<SocketAddr, Error> {
    let fail = |message: String| Error::Flag { flag: "target.url", message };
    let mut addrs =
        tokio::net::lookup_host(authority).await.map_err(|e| fail(format!("cannot resolve {authority}: {e}")))?;
    addrs.next().ok_or_else(|| fail(format!("{authority} resolves to no address")))
}

struct Target {
    addr: SocketAddr,
    authority: String,
    base_path: String,
    label: String,
}

async fn drive(
    plan: &Plan,
    opts: &RunOptions,
    target: Target,
    folder: &Path,
    started_at: SystemTime,
) -> Result<Summary, Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let names: Vec<String> = plan.ops.iter().map(|o| o.name.clone()).collect();
    let recorder = Arc::new(Recorder::new(names.len(), threads * 4));
    let label = format!("einv-load {} run of {}", env!("CARGO_PKG_VERSION"), plan.name);
    let mut log = RunLog::create(folder, &names, started_at, &label)?;
    let ctx = Arc::new(Ctx::new(plan, target.addr, &target.authority, &target.base_path, recorder.clone()));
    let weights: Vec<u32> = plan.ops.iter().map(|o| o.weight).collect();
    // Validated at load time: at least one op with a non-zero weight.
    let mix = Mix::new(&weights, derive_seed(plan.seed, "mix"))
        .map_err(|e| Error::Flag { flag: "op", message: e.to_string() })?;
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(signals::forward(stop_tx));

    let start = Instant::now();
    let rates = rate_schedule(plan)?;
    let connections = plan.target.connections;
    let driver = {
        let (ctx, stop, plan_load, shard) = (ctx.clone(), stop.clone(), plan.load.clone(), plan.shard);
        let schedule = rates.clone();
        tokio::spawn(async move {
            match (plan_load, schedule) {
                (Load::Open { .. }, Some(schedule)) => {
                    driver::open_loop(ctx, schedule, mix, shard, connections, start, stop).await
                }
                (Load::Closed { duration, think }, _) => {
                    driver::closed_loop(ctx, Arc::new(mix), shard, connections, (start, duration, think), stop).await;
                    Vec::new()
                }
                (Load::Open { .. }, None) => Vec::new(),
            }
        })
    };
    let progress = Progress::new(plan.load.duration(), opts.progress);
    let mut collector = Collector {
        log: &mut log,
        recorder: &recorder,
        ctx: &ctx,
        rates: rates.as_ref(),
        shard_count: plan.shard.count,
        progress: &progress,
        interval: vec![Stats::new(); names.len()],
        last: Duration::ZERO,
        sent: 0,
        errors: 0,
    };
    let mut ticker = tokio::time::interval_at((start + Duration::from_secs(1)).into(), Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(driver);
    let scheduled = loop {
        tokio::select! {
            _ = ticker.tick() => collector.push(start.elapsed())?,
            done = &mut driver => break done.unwrap_or_default(),
        }
    };
    let elapsed = start.elapsed();
    collector.push(elapsed)?;
    progress.finish();
    let scheduled = if scheduled.is_empty() { log.totals().iter().map(|s| s.sent).collect() } else { scheduled };
    let target_rate =
        rates.as_ref().map_or(0.0, |s| s.expected_count() / s.duration().as_secs_f64() / plan.shard.count as f64);
    let conns = &ctx.conns;
    let finish = Finish {
        run: RunInfo {
            name: plan.name.clone(),
            profile: plan.file.display().to_string(),
            seed: plan.seed,
            target: target.label,
            mode: plan.load.mode().into(),
            started_at: humantime::format_rfc3339_millis(started_at).to_string(),
            duration_s: elapsed.as_secs_f64(),
            planned_duration_s: plan.load.duration().as_secs_f64(),
        },
        scheduled,
        target_rate,
        slo: plan.slo.clone(),
        connections: Connections {
            limit: connections as u64,
            opened: conns.opened.load(std::sync::atomic::Ordering::Relaxed),
            max_open: conns.max_open.load(std::sync::atomic::Ordering::Relaxed),
        },
        lag_warning: plan.max_send_lag,
        interrupted: *stop.borrow(),
    };
    Ok(log.finish(finish)?)
}

/// The open-loop schedule (also used to report the target rate per interval).
fn rate_schedule(plan: &Plan) -> Result<Option<Schedule>, Error> {
    let Load::Open { stages, arrivals } = &plan.load else { return Ok(None) };
    Schedule::new(stages, *arrivals, derive_seed(plan.seed, "arrivals"))
        .map(Some)
        .map_err(|e| Error::Flag { flag: "load", message: e.to_string() })
}

/// Drains the recorder into the run log once per interval.
struct Collector<'a> {
    log: &'a mut RunLog,
    recorder: &'a Recorder,
    ctx: &'a Ctx,
    rates: Option<&'a Schedule>,
    shard_count: u64,
    progress: &'a Progress,
    interval: Vec<Stats>,
    last: Duration,
    sent: u64,
    errors: u64,
}

impl Collector<'_> {
    fn push(&mut self, now: Duration) -> Result<(), Error> {
        let length = now.saturating_sub(self.last);
        self.recorder.drain_into(&mut self.interval);
        let target_rate = match self.rates {
            Some(s) if !length.is_zero() => {
                (s.intended_count_until(now) - s.intended_count_until(self.last))
                    / length.as_secs_f64()
                    / self.shard_count as f64
            }
            _ => 0.0,
        };
        for s in &self.interval {
            self.sent += s.sent;
            self.errors += s.error_count();
        }
        let open = self.ctx.conns.open.load(std::sync::atomic::Ordering::Relaxed);
        let row = self.log.push(self.last, length, target_rate, open, &mut self.interval)?;
        self.progress.update(now, &row, self.sent, self.errors);
        self.last = now;
        Ok(())
    }
}
