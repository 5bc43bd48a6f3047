//! A live run, start to finish: target, folder, driver, once-a-second collection, report.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use einv_poolsim::live::Server;
use einv_report::{
    Aborted, Connections, DEFAULT_ERROR_SAMPLES, FailureSampler, Finish, Gauges, IntervalFigures, Live, Moment,
    Recorder, RunInfo, RunLog, SloSpec, Stages, Stats, Summary,
};
use einv_workload::Schedule;
use tokio::sync::watch;

use crate::driver::tls::TlsClient;
use crate::driver::{self, Ctx, Drive, Driven, Feed};
use crate::error::Error;
use crate::profile::{Endpoint, HttpUrl, Load, Plan, Protocol, Shard};
use crate::progress::Progress;
use crate::stream::Streams;
use crate::workload::{Arrivals, Workload, intended_rate};
use crate::{folder, signals, start};

/// How a run reports, beyond what the profile says.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The report folder itself (default: `reports/<name>-<utc-stamp>/`).
    pub out: Option<PathBuf>,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Stop once the last stage is certain to fail its SLO whatever the rest of it does
    /// (a capacity step's measuring stage): overload lasts no longer than it must.
    pub early_stop: bool,
    /// Serve the run so far as OpenMetrics text on `http://ADDR/metrics`.
    pub metrics_addr: Option<SocketAddr>,
    /// Write one JSON line an interval here (`-`: standard output).
    pub json_stream: Option<PathBuf>,
    /// Keep serving the final metrics this long after the report is written.
    pub metrics_linger: Duration,
    /// Keep this many failing exchanges per op and class in errors.jsonl (default
    /// [`DEFAULT_ERROR_SAMPLES`]; 0: none).
    pub error_samples: Option<usize>,
    /// Start the schedule at this wall-clock instant (`--start-at`), waiting for it; a
    /// process that comes up after it joins the schedule there (see `start.rs`).
    pub start_at: Option<SystemTime>,
    /// Generator threads; `None`: the cores this process may use.
    pub threads: Option<usize>,
}

/// A finished (or interrupted) run.
#[derive(Debug)]
pub struct RunResult {
    pub summary: Summary,
    pub folder: PathBuf,
}

/// Carry out `plan` against its target and write the report.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<RunResult, Error> {
    let builtin = matches!(plan.target.endpoint, Endpoint::Builtin { .. });
    crate::driver::dial::ensure_fd_limit(plan.target.connections, builtin)?;
    // available_parallelism honours the process's CPU affinity and cgroup quota: under
    // `taskset -c 1` or a pod's CPU limit it is what the process may really use.
    let threads = opts.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // One thread: tokio's current-thread scheduler, which runs every task on this thread
    // and parks straight on the reactor, without the work-stealing bookkeeping (measured on
    // one core against nginx, medians of 3: 9 % less CPU at 5,000/s; at saturation +2 %
    // requests/s, within the noise).
    let rt = match threads {
        1 => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("einv-load")
            .enable_all()
            .build(),
    }
    .map_err(Error::Runtime)?;
    folder::check(opts.out.as_deref())?;
    if let Some(at) = opts.start_at {
        start::check(at, plan.load.duration())?;
    }
    let mut streams = Streams::open(opts.metrics_addr, opts.json_stream.as_deref())?;
    streams.serve(&rt)?;
    // Kept alive for the whole run; dropped (and stopped) on return.
    let server = match &plan.target.endpoint {
        // A profile that asks for HTTP/2 gets a built-in target that speaks it.
        &Endpoint::Builtin { tls } => {
            let (spec, threads) = ((*plan.model.spec).clone(), plan.model.threads);
            Some(match (plan.target.protocol, tls) {
                (Protocol::Http1, false) => Server::start(spec, loopback(), threads)?,
                (Protocol::Http1, true) => Server::start_tls(spec, loopback(), threads)?,
                (_, tls) => Server::start_h2(spec, loopback(), threads, tls)?,
            })
        }
        Endpoint::Http(_) => None,
    };
    let (addr, base_path) = match (&plan.target.endpoint, &server) {
        (Endpoint::Http(url), _) => (rt.block_on(resolve(url, plan.target.connect_timeout))?, url.base_path.clone()),
        (Endpoint::Builtin { .. }, Some(s)) => (s.addr(), String::new()),
        (Endpoint::Builtin { .. }, None) => unreachable!("started above"),
    };
    let target_label = match (&server, &plan.target.endpoint) {
        (Some(s), _) => format!("builtin ({})", s.url()),
        (None, Endpoint::Http(url)) => url.display(),
        (None, Endpoint::Builtin { .. }) => unreachable!("started above"),
    };
    tracing::info!("target {target_label}");
    let tls = TlsClient::for_plan(plan, server.as_ref().and_then(Server::cert_pem))?;
    // Everything that can reject the input is checked before the folder exists.
    let workload = Workload::new(plan)?;
    // A common start is second 0 of every shard, on the time axis `merge` lines them up by.
    let started_at = opts.start_at.unwrap_or_else(SystemTime::now);
    let folder = folder::create(opts.out.as_deref(), &plan.name, started_at)?;
    let authority = plan.authority(Some(addr));
    let target = Target { addr, authority, base_path, label: target_label, tls };
    let summary = rt.block_on(drive(plan, opts, workload, target, (&folder, &mut streams), started_at, threads));
    streams.close();
    let summary = summary?;
    // An interrupted run was asked to end: it does not linger.
    if opts.metrics_addr.is_some() && !opts.metrics_linger.is_zero() && !summary.interrupted {
        tracing::info!(
            "report written to {}; serving the final metrics for {} (Ctrl-C to stop)",
            folder.display(),
            humantime::format_duration(opts.metrics_linger)
        );
        rt.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(opts.metrics_linger) => {}
                _ = signals::received() => {}
            }
        });
    }
    if let Some(s) = server {
        s.stop();
    }
    Ok(RunResult { summary, folder })
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Resolve the URL's authority and pick the address to load: the first that accepts a
/// connection (`localhost` may resolve to `::1` first while the service listens on IPv4
/// only), else the first, and the run counts what goes wrong. Messages show the URL
/// masked (its host may come from `${env.*}`).
async fn resolve(url: &HttpUrl, connect_timeout: Duration) -> Result<SocketAddr, Error> {
    let authority = url.display();
    let fail = |message: String| Error::Resolve { authority: authority.clone(), message };
    let found = tokio::net::lookup_host(&url.authority).await;
    let addrs: Vec<SocketAddr> = found.map_err(|e| fail(url.mask(&e.to_string())))?.collect();
    for addr in &addrs {
        if let Ok(Ok(_)) = tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr)).await {
            return Ok(*addr);
        }
    }
    let first = *addrs.first().ok_or_else(|| fail("no address found".into()))?;
    tracing::warn!("cannot connect to {authority} ({first}) now; the run will count the errors");
    Ok(first)
}

struct Target {
    addr: SocketAddr,
    authority: String,
    base_path: String,
    label: String,
    tls: Option<TlsClient>,
}

async fn drive(
    plan: &Plan,
    opts: &RunOptions,
    workload: Workload,
    target: Target,
    (folder, streams): (&Path, &mut Streams),
    started_at: SystemTime,
    threads: usize,
) -> Result<Summary, Error> {
    let names: Vec<String> = plan.ops.iter().map(|o| o.name.clone()).collect();
    // One slot per runtime thread: each records into its own (see `recorder_slot`).
    let recorder = Arc::new(Recorder::new(names.len(), threads));
    let label = format!("einv-load {} run of {}", env!("CARGO_PKG_VERSION"), plan.name);
    let mut log = RunLog::create(folder, &names, started_at, &label)?;
    let spans = crate::workload::spans(&plan.load, workload.schedule.as_ref(), plan.shard);
    log.track(Stages::new(&names, spans, &shard_slo(plan)));
    let mut ctx = Ctx::new(
        plan,
        target.addr,
        (&target.authority, &target.base_path),
        recorder.clone(),
        workload.captures.clone(),
    );
    ctx.tls = target.tls;
    if plan.target.protocol == Protocol::Auto && ctx.tls.is_some() {
        ctx.streams = crate::driver::auto_streams(&ctx, plan.target.h2_streams()).await;
    }
    let samples = opts.error_samples.unwrap_or(DEFAULT_ERROR_SAMPLES);
    ctx.failures = Arc::new(FailureSampler::new(names.len(), samples));
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(signals::forward(stop_tx.clone(), "interrupted: finishing in-flight requests and writing the report"));

    let (start, late) = match opts.start_at {
        Some(at) => {
            tracing::info!("waiting for the start at {}", humantime::format_rfc3339_millis(at));
            start::wait(at, &mut stop.clone()).await
        }
        None => (Instant::now(), Duration::ZERO),
    };
    ctx.started = start;
    let ctx = Arc::new(ctx);
    let target_rate = workload.target_rate(&plan.load, plan.shard);
    let rates = workload.schedule.clone();
    let pacing = match plan.load {
        Load::Open { pacing, .. } | Load::Replay { pacing, .. } => pacing,
        Load::Closed { .. } => Duration::ZERO,
    };
    let (shard, connections) = (plan.shard, plan.target.connections);
    let length = plan.load.duration();
    let join = start::join(late, plan.max_send_lag);
    let drive = Drive { ctx: ctx.clone(), shard, connections, start, length, pacing, join, stop: stop.clone() };
    let arrivals = workload.arrivals(shard)?;
    let driver = spawn_driver(plan, drive, workload, arrivals);
    let progress = Progress::new(plan.load.duration(), opts.progress);
    let mut collector = Collector {
        log: &mut log,
        recorder: &recorder,
        ctx: &ctx,
        rates: rates.as_ref(),
        shard,
        progress: &progress,
        streams,
        names: &names,
        // Made one by one, not cloned: a clone would make all of every histogram resident.
        interval: names.iter().map(|_| Stats::new()).collect(),
        last: Duration::ZERO,
    };
    // A late joiner's seconds before it are empty intervals, so that its interval k is
    // second k of the schedule, as every shard's is.
    let passed = late.as_secs();
    for k in 1..=passed {
        collector.push(Duration::from_secs(k), false)?;
    }
    let first_tick = start + Duration::from_secs(passed + 1);
    let mut ticker = tokio::time::interval_at(first_tick.into(), Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(driver);
    let mut aborted = None;
    let driven = loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = start.elapsed();
                collector.push(now, false)?;
                // Only while the schedule runs: in the drain the final verdict decides.
                if aborted.is_none()
                    && now < length
                    && let Some(a) = slo_abort(&shard_slo(plan), collector.log, now, collector.pace(now, target_rate))
                {
                    // Stopping works as Ctrl-C does: no new sends, in-flight requests
                    // get a short grace, the report is written.
                    let _ = stop_tx.send(true);
                    aborted = Some(a);
                }
                if aborted.is_none() && opts.early_stop && now < length && let Some(a) = certain_fail(collector.log, now) {
                    let _ = stop_tx.send(true);
                    aborted = Some(a);
                }
            }
            done = &mut driver => break done.map_err(|e| Error::Driver(e.to_string()))??,
        }
    };
    let elapsed = start.elapsed();
    collector.push(elapsed, true)?;
    let sent_for = driven.sent_until.saturating_duration_since(start);
    let interrupted = *stop.borrow() && aborted.is_none();
    if let Some(a) = aborted {
        log.mark_aborted(a);
    }
    progress.finish();
    // Closed loop has no schedule: what it asked for is what it sent or skipped.
    let scheduled = driven.scheduled.unwrap_or_else(|| log.totals().iter().map(|s| s.sent + s.skipped).collect());
    let sync = opts.start_at.map(|at| start::record(at, late, driven.missed));
    if let Some((_, Some(w))) = &sync {
        tracing::warn!("{w}");
        log.warn(w.clone());
    }
    let start = sync.map(|(s, _)| s);
    let ended = Ended {
        sent_for,
        drained: elapsed.saturating_sub(sent_for),
        scheduled,
        target_rate,
        interrupted,
        start,
        threads,
    };
    warn_at_end(plan, &ctx, &names, &mut log);
    let finish = finish_info(plan, target.label, started_at, &ctx, ended);
    Ok(log.finish(finish)?)
}

/// The summary's warnings that only the driver knows about: TLS left unchecked or
/// failing, and requests that could not be sent as rendered.
fn warn_at_end(plan: &Plan, ctx: &Ctx, names: &[String], log: &mut RunLog) {
    if plan.target.tls.insecure && plan.target.endpoint.tls() {
        log.warn("tls-insecure = true: the target's certificate was not checked (test rigs only)".into());
    }
    if ctx.tls.is_some() {
        let (all, resumed) =
            (ctx.conns.tls_handshakes.load(Ordering::Relaxed), ctx.conns.tls_resumed.load(Ordering::Relaxed));
        tracing::info!("TLS handshakes: {all}, of which {resumed} resumed a session");
    }
    if let Some(w) = ctx.conns.tls_warning() {
        log.warn(w);
    }
    let unsendable: Vec<u64> = log.totals().iter().map(|s| s.unsendable).collect();
    for (name, n) in names.iter().zip(unsendable).filter(|(_, n)| *n > 0) {
        log.warn(format!(
            "op {name}: {n} requests were not sent: their rendered path or a header is not valid HTTP (the log \
             shows the first, with ${{env.*}} values masked); they count as skipped"
        ));
    }
}

/// `[slo] abort-on-fail`: once the grace is over, the checks on the run so far
/// (cumulative totals, rates over the time elapsed) decide whether it goes on. The rule is
/// "failing now", not "can no longer pass": a p99 or error rate over the whole run so far
/// rarely recovers, and a run that is failing its SLO is what the gate exists to stop.
/// Minimum rates are scaled by `pace` (see [`Collector::pace`]), so a ramp that keeps to
/// its schedule is not stopped for being below the run's mean rate.
fn slo_abort(spec: &SloSpec, log: &RunLog, now: Duration, pace: f64) -> Option<Aborted> {
    let grace = spec.abort_after?;
    if now < grace {
        return None;
    }
    let report = log.slo_so_far(&spec.for_share(pace), now);
    // Nothing measured yet (no request finished) is no reason to stop: it may come.
    let failed: Vec<_> = report.checks.into_iter().filter(|c| !c.passed && c.measured).collect();
    if failed.is_empty() {
        return None;
    }
    let names: Vec<String> = failed.iter().map(|c| format!("{} ({})", c.name, c.scope)).collect();
    tracing::warn!(
        "SLO failing after {:.1} s: {}; aborting the run (abort-on-fail)",
        now.as_secs_f64(),
        names.join(", ")
    );
    Some(Aborted { at_s: now.as_secs_f64(), grace_s: grace.as_secs_f64(), failed, certain: false })
}

/// The run's last stage is certain to fail (see [`RunOptions::early_stop`]): stop now.
pub(crate) fn certain_fail(log: &RunLog, now: Duration) -> Option<Aborted> {
    let failed = log.stages().map(Stages::last_certain_to_fail).unwrap_or_default();
    if failed.is_empty() {
        return None;
    }
    tracing::info!("the step is certain to fail its SLO after {:.1} s: stopped early", now.as_secs_f64());
    Some(Aborted { at_s: now.as_secs_f64(), grace_s: 0.0, failed, certain: true })
}

/// How a run ended, as the report needs to know.
struct Ended {
    /// From the start to the end of sending (the schedule's end, or the stop).
    sent_for: Duration,
    /// From there to the last request's end (or the drain's limit).
    drained: Duration,
    scheduled: Vec<u64>,
    target_rate: f64,
    interrupted: bool,
    start: Option<einv_report::SyncStart>,
    threads: usize,
}

/// The SLO one process checks: a shard sends 1/N of the run, so a minimum rate (set for
/// the whole run) is held at 1/N of it; `merge` checks the whole again at full height.
fn shard_slo(plan: &Plan) -> SloSpec {
    plan.slo.for_share(plan.shard.share(1.0))
}

/// What the run log needs beyond its own records to write the report.
fn finish_info(plan: &Plan, target: String, started_at: SystemTime, ctx: &Ctx, ended: Ended) -> Finish {
    Finish {
        run: RunInfo {
            name: plan.name.clone(),
            profile: plan.file.display().to_string(),
            seed: plan.seed,
            target,
            mode: plan.load.mode().into(),
            started_at: humantime::format_rfc3339_millis(started_at).to_string(),
            duration_s: ended.sent_for.as_secs_f64(),
            drain_s: ended.drained.as_secs_f64(),
            planned_duration_s: plan.load.duration().as_secs_f64(),
            shard: plan.shard.label(),
            start: ended.start.clone(),
            threads: Some(ended.threads),
        },
        scheduled: ended.scheduled,
        target_rate: ended.target_rate,
        slo: shard_slo(plan),
        percentiles: plan.percentiles.clone(),
        connections: Connections {
            limit: plan.target.connections as u64,
            opened: ctx.conns.opened.load(Ordering::Relaxed),
            max_open: ctx.conns.max_open.load(Ordering::Relaxed),
            http2: ctx.conns.http2.load(Ordering::Relaxed),
            max_in_flight: ctx.waiting.max_busy(),
            streams: if ctx.streams > 1 { ctx.streams as u64 } else { 0 },
        },
        lag_warning: plan.max_send_lag,
        interrupted: ended.interrupted,
        tags: crate::workload::tags(),
        checks: plan.ops.iter().map(|op| op.check.names().iter().map(|c| ctx.secrets.mask(c)).collect()).collect(),
        errors: Some(ctx.failures.take()),
        pool: None,
    }
}

/// Start the driver for the plan's load; it resolves once sending and the drain are over.
fn spawn_driver(
    plan: &Plan,
    drive: Drive,
    workload: Workload,
    arrivals: Option<Arrivals>,
) -> tokio::task::JoinHandle<Result<Driven, Error>> {
    let (load, ops) = (plan.load.clone(), plan.ops.len());
    let feed = Feed::new(workload.requests, workload.dynamic, drive.ctx.clone());
    tokio::spawn(async move {
        match (load, arrivals) {
            (Load::Closed { think, .. }, _) => Ok(driver::closed_loop(drive, feed, think).await),
            (_, Some(arrivals)) => Ok(driver::open_loop(drive, arrivals, feed, ops).await),
            (_, None) => Err(Error::Internal("an open-loop or replay plan without arrivals")),
        }
    })
}

/// Drains the recorder into the run log once per interval.
struct Collector<'a> {
    log: &'a mut RunLog,
    recorder: &'a Recorder,
    ctx: &'a Ctx,
    rates: Option<&'a Schedule>,
    shard: Shard,
    progress: &'a Progress,
    streams: &'a mut Streams,
    names: &'a [String],
    interval: Vec<Stats>,
    last: Duration,
}

impl Collector<'_> {
    /// How fast the schedule meant to send so far, as a share of its mean rate over the
    /// whole run (`mean`, per shard): below 1 during a ramp, above it after a spike. 1
    /// when there is no schedule (closed loop) or nothing to compare.
    fn pace(&self, now: Duration, mean: f64) -> f64 {
        match self.rates {
            Some(s) if mean > 0.0 && !now.is_zero() => intended_rate(s, self.shard, Duration::ZERO, now) / mean,
            _ => 1.0,
        }
    }

    /// Drain one interval into the log (and to whatever watches the run); `last` marks
    /// the run's final one.
    fn push(&mut self, now: Duration, last: bool) -> Result<(), Error> {
        let length = now.saturating_sub(self.last);
        self.recorder.drain_into(&mut self.interval);
        // Taken before the log resets the interval; only when something watches.
        let figures: Option<Vec<IntervalFigures>> = self
            .streams
            .active()
            .then(|| self.interval.iter().map(|s| IntervalFigures::of(s, length.as_secs_f64())).collect());
        let target_rate = match self.rates {
            Some(s) if !length.is_zero() => intended_rate(s, self.shard, self.last, now),
            _ => 0.0,
        };
        let open = self.ctx.conns.open.load(Ordering::Relaxed);
        let in_flight = self.ctx.waiting.take_interval_max();
        let row = self.log.push(self.last, length, target_rate, (open, in_flight), &mut self.interval)?;
        self.progress.update(now, &row, (self.names, self.log.totals()));
        if let Some(figures) = figures {
            let (busy, queued) = self.ctx.waiting.gauges();
            let gauges = Gauges { connections_open: open, connections_busy: busy, queued, in_flight: busy + queued };
            let at = Moment { t_s: now.as_secs_f64(), interval_s: length.as_secs_f64(), target_rate, finished: last };
            self.streams.publish(Live::new(at, gauges, self.names, figures, self.log.totals()));
        }
        self.last = now;
        Ok(())
    }
}
