//! Command-line arguments (clap) and what each command does with them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use einv_engine::{Endpoint, Overrides, Plan, RunOptions, Shard};
use einv_poolsim::{Hold, RateLimit, SlowBody, Stall};

/// Open-loop load testing for electronic-invoice platforms.
///
/// Exit codes: 0 pass, 1 an SLO failed, 2 bad input (profile, flags, paths),
/// 3 the run could not be carried out (interrupted, target never answered, I/O).
#[derive(Debug, Parser)]
#[command(name = "einv-load", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Only print warnings and errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl Cli {
    pub fn log_filter(&self) -> &'static str {
        if self.quiet { "warn" } else { "info" }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay a profile's traffic against its target and write a report folder.
    Run(RunArgs),
    /// Predict a run with the built-in target's pool model, in virtual time.
    ///
    /// The profile's schedule and mix go through the model of [target.builtin] (seconds of
    /// CPU, no target needed). Writes a report folder like `run`, plus pool.csv (active, idle, pending connections, acquire and usage
    /// times, timeouts, requests queued for a worker, 429 and 503 refusals per second). Ops named issue, query, red_flush, verify_taxpayer,
    /// download and payment_callback hold the pool as [target.builtin] says; other names
    /// hold it like a query.
    Simulate(SimulateArgs),
    /// Check a profile and print what it would do, without sending anything.
    Validate {
        /// The profile (TOML).
        profile: PathBuf,
    },
    /// Run the built-in invoice target on its own until Ctrl-C.
    Serve(ServeArgs),
    /// Write the first N requests a run would send, as JSON lines, without sending them.
    ///
    /// Each line: index, offset_ms (intended send time), op, method, path, headers, body,
    /// tag (an injected fault: duplicate, bad_check_digit, ...). ${env.*} values are shown
    /// as ***. A dry run gets no responses, so requests drawing from a correlation pool
    /// (${pool.*}, ${take.*}) are listed as skipped.
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The profile (TOML): open loop or replay, with url = "builtin".
    pub profile: PathBuf,
    /// Replace the profile's stages with one constant rate (requests/s) for the same length.
    #[arg(long, value_name = "TPS", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Simulate this long: stages are cut, or the last rate held longer.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Seed for every random choice.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// The report folder (refused if it already holds a report) [default: reports/NAME-UTCSTAMP/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Sweep pool sizes (e.g. 50,100,200): writes sweep.csv, sweep.md and heatmaps of p99
    /// and error rate instead of one report, with the smallest pool meeting the SLO per rate.
    #[arg(long, value_name = "N,N,...", value_delimiter = ',')]
    pub sweep_pool: Vec<usize>,
    /// Sweep constant rates (requests/s, e.g. 5000,8000,11000), alone or with --sweep-pool.
    #[arg(long, value_name = "TPS,TPS,...", value_delimiter = ',')]
    pub sweep_rate: Vec<f64>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The profile (TOML).
    pub profile: PathBuf,
    /// How many requests to write.
    #[arg(long, default_value_t = 20)]
    pub count: u64,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Seed for every random choice (overrides the profile's).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Render only shard I of N (arrivals k with k mod N = I).
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The profile (TOML) to run.
    pub profile: PathBuf,
    /// Send to this base URL instead of the profile's target ("builtin" or http://host:port).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Replace the profile's stages with one constant rate (requests/s) for the same length.
    #[arg(long, value_name = "TPS", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Run for this long: stages are cut, or the last rate held longer (e.g. 30s, 2m).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Most connections open at once (closed loop: concurrent users).
    #[arg(long, value_name = "N")]
    pub connections: Option<usize>,
    /// Seed for every random choice (arrivals, op mix).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Send only shard I of N of the schedule (arrivals k with k mod N = I).
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// The report folder (refused if it already holds a report) [default: reports/NAME-UTCSTAMP/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub addr: SocketAddr,
    /// Take the model (pool size, hold times, stalls) from this profile's [target.builtin].
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<PathBuf>,
    /// Database connections in the pool.
    #[arg(long, value_name = "N")]
    pub pool_size: Option<usize>,
    /// How long a request waits for a connection before HTTP 500 (e.g. 1s).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub acquire_timeout: Option<Duration>,
    /// Stop answering for FOR in every EVERY (e.g. 5s/1s): a GC pause, a failover.
    #[arg(long, value_name = "EVERY/FOR", value_parser = parse_window)]
    pub stall: Option<Stall>,
    /// Answer 503 to everything for FOR in every EVERY (e.g. 10s/1s): a failing dependency.
    #[arg(long, value_name = "EVERY/FOR", value_parser = parse_window)]
    pub error_burst: Option<Stall>,
    /// Drop this share of connections instead of answering (0..1).
    #[arg(long, value_name = "SHARE")]
    pub reset_rate: Option<f64>,
    /// Request workers (server threads): requests served at once [default: unlimited].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Requests that may wait for a worker; more are refused with 503 (needs --workers).
    #[arg(long, value_name = "N")]
    pub queue_limit: Option<usize>,
    /// Time each request keeps its worker after the pool, building its answer (e.g. 2ms).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub overhead: Option<Duration>,
    /// Token-bucket rate limit, RATE requests/s with a bucket of BURST (e.g. 8000/200);
    /// requests finding it empty get 429.
    #[arg(long, value_name = "RATE/BURST", value_parser = parse_rate_limit)]
    pub rate_limit: Option<RateLimit>,
    /// Send response bodies at RATE for FOR in every EVERY (e.g. 5s/1s@10KiB/s).
    #[arg(long, value_name = "EVERY/FOR@RATE", value_parser = parse_slow_body)]
    pub slow_body: Option<SlowBody>,
}

impl Command {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Run(args) => run(args),
            Command::Validate { profile } => validate(&profile),
            Command::Serve(args) => serve(args),
            Command::Generate(args) => generate(args),
            Command::Simulate(args) => simulate(args),
        }
    }
}

fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let mut plan = Plan::load(&a.profile)?;
    let overrides = Overrides {
        target: a.target,
        rate: a.rate,
        duration: a.duration,
        connections: a.connections,
        seed: a.seed,
        shard: a.shard,
    };
    plan.apply(&overrides)?;
    let opts = RunOptions { out: a.out, progress: !a.no_progress };
    let result = einv_engine::run(&plan, &opts)?;
    let s = &result.summary;
    print!("{}", einv_report::text_summary(s, &result.folder.display().to_string()));
    if s.interrupted {
        eprintln!("run interrupted: partial report written to {}", result.folder.display());
        return Ok(ExitCode::from(3));
    }
    if s.overall.requests.sent > 0 && s.overall.requests.ok == 0 {
        eprintln!("no request succeeded: is the target up and the profile's paths right?");
        return Ok(ExitCode::from(3));
    }
    Ok(if s.slo.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    let plan = Plan::load(path)?;
    println!("{}: ok", path.display());
    println!("  name        {}", plan.name);
    if let Some(d) = &plan.description {
        println!("  about       {d}");
    }
    let target = match &plan.target.endpoint {
        Endpoint::Builtin { spec, .. } => {
            format!("builtin (pool {}, acquire timeout {:?})", spec.pool_size, spec.acquire_timeout)
        }
        Endpoint::Http(u) => format!("http://{}{}", u.authority, u.base_path),
    };
    println!("  target      {target}, {} connections", plan.target.connections);
    if let Endpoint::Builtin { spec, .. } = &plan.target.endpoint {
        for (label, line) in spec.describe() {
            println!("  {label:<11} {line}");
        }
    }
    println!("  load        {} loop, {}", plan.load.mode(), humantime::format_duration(plan.load.duration()));
    let total: u32 = plan.ops.iter().map(|o| o.weight).sum();
    for op in &plan.ops {
        let share = f64::from(op.weight) / f64::from(total.max(1)) * 100.0;
        println!("  op          {:<16} {:>5.1}%  {} {}", op.name, share, op.method, op.path);
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let (spec, threads) = match &a.profile {
        Some(p) => match Plan::load(p)?.target.endpoint {
            Endpoint::Builtin { spec, threads } => (*spec, threads),
            Endpoint::Http(_) => {
                let message = format!("{}: target.url is not \"builtin\", so it has no model to serve", p.display());
                return Err(einv_engine::Error::Flag { flag: "--profile", message }.into());
            }
        },
        None => (einv_poolsim::ModelSpec::default(), 1),
    };
    let mut spec = spec;
    spec.pool_size = a.pool_size.unwrap_or(spec.pool_size);
    spec.acquire_timeout = a.acquire_timeout.unwrap_or(spec.acquire_timeout);
    spec.stall = a.stall.or(spec.stall);
    spec.error_burst = a.error_burst.or(spec.error_burst);
    spec.reset_rate = a.reset_rate.unwrap_or(spec.reset_rate);
    spec.workers = a.workers.or(spec.workers);
    spec.queue_limit = a.queue_limit.or(spec.queue_limit);
    spec.overhead = a.overhead.map_or(spec.overhead, Hold::Constant);
    spec.rate_limit = a.rate_limit.or(spec.rate_limit);
    spec.slow_body = a.slow_body.or(spec.slow_body);
    spec.validate().map_err(|e| einv_engine::Error::Flag { flag: "serve", message: e.to_string() })?;
    einv_engine::serve(spec, a.addr, threads, |addr| {
        println!("einv-load built-in target listening on http://{addr} (Ctrl-C to stop)");
    })
    .with_context(|| format!("serving on {}", a.addr))?;
    Ok(ExitCode::SUCCESS)
}

fn simulate(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut plan = Plan::load(&a.profile)?;
    plan.apply(&Overrides { rate: a.rate, duration: a.duration, seed: a.seed, ..Overrides::default() })?;
    if !a.sweep_pool.is_empty() || !a.sweep_rate.is_empty() {
        let result = einv_engine::sweep(&plan, &a.sweep_pool, &a.sweep_rate, a.out.as_deref())?;
        print!("{}", einv_report::sweep_markdown(&result.cells));
        println!("\nsweep     {}", result.folder.display());
        return Ok(ExitCode::SUCCESS);
    }
    let result = einv_engine::simulate(&plan, &RunOptions { out: a.out, progress: false })?;
    let s = &result.summary;
    print!("{}", einv_report::text_summary(s, &result.folder.display().to_string()));
    if let Some(pool) = &s.pool {
        let knee = pool.first_timeout_s.map_or("none".to_string(), |t| format!("at {t:.0} s"));
        println!(
            "pool      size {}, peak mean active {:.1}, max pending {}, acquire p99 {:.3} ms, timeouts {} (first {knee})",
            pool.size, pool.peak_mean_active, pool.max_pending, pool.acquire_ms.p99, pool.timeouts
        );
        if pool.rate_limited + pool.queue_full > 0 {
            println!(
                "refused   {} by the rate limit (429), {} with the worker queue full (503)",
                pool.rate_limited, pool.queue_full
            );
        }
    }
    Ok(if s.slo.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn generate(a: GenerateArgs) -> anyhow::Result<ExitCode> {
    let mut plan = Plan::load(&a.profile)?;
    plan.apply(&Overrides { seed: a.seed, shard: a.shard, ..Overrides::default() })?;
    let done = match &a.out {
        Some(path) => {
            // Written beside, then renamed: an interrupted dry run leaves no half file.
            let tmp = einv_report::temp_path(path);
            let file = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
            let done = einv_engine::generate(&plan, a.count, &mut std::io::BufWriter::new(file))?;
            std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
            done
        }
        None => einv_engine::generate(&plan, a.count, &mut std::io::stdout().lock())?,
    };
    if done.skipped > 0 {
        eprintln!(
            "{} of {} requests draw from an empty correlation pool (a dry run gets no responses)",
            done.skipped, done.requests
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (write e.g. 30s, 250ms, 2m)"))
}

fn parse_window(s: &str) -> Result<Stall, String> {
    let (every, length) = s.split_once('/').ok_or("expected EVERY/FOR, e.g. 5s/1s")?;
    let (every, length) = (parse_duration(every)?, parse_duration(length)?);
    if length.is_zero() || length >= every {
        return Err(format!("need 0 < FOR < EVERY, got {s}"));
    }
    Ok(Stall { every, length })
}

fn parse_rate_limit(s: &str) -> Result<RateLimit, String> {
    let (rate, burst) = s.split_once('/').ok_or("expected RATE/BURST, e.g. 8000/200")?;
    let rate: f64 = rate.trim().parse().map_err(|_| format!("{rate:?} is not a rate"))?;
    let burst: u32 = burst.trim().parse().map_err(|_| format!("{burst:?} is not a whole number"))?;
    if !(rate.is_finite() && rate > 0.0) || burst == 0 {
        return Err(format!("need RATE > 0 and BURST >= 1, got {s}"));
    }
    Ok(RateLimit { rate, burst })
}

fn parse_slow_body(s: &str) -> Result<SlowBody, String> {
    let (window, rate) = s.split_once('@').ok_or("expected EVERY/FOR@RATE, e.g. 5s/1s@10KiB/s")?;
    Ok(SlowBody { window: parse_window(window)?, bytes_per_s: einv_poolsim::parse_byte_rate(rate)? })
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4")?;
    let index: u64 = i.trim().parse().map_err(|_| format!("{i:?} is not a number"))?;
    let count: u64 = n.trim().parse().map_err(|_| format!("{n:?} is not a number"))?;
    if count == 0 || index >= count {
        return Err(format!("need 0 <= I < N, got {index}/{count}"));
    }
    Ok(Shard { index, count })
}
