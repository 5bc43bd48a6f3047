//! Command-line arguments: clap definitions, help text and the value parsers of flag
//! syntax. What each command does with them is in [`crate::commands`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use einv_engine::Shard;
use einv_poolsim::{RateLimit, SlowBody, Stall};

/// Open-loop load testing for electronic-invoice platforms.
///
/// Exit codes: 0 pass, 1 an SLO failed or `compare` found a regression, 2 bad input (profile,
/// flags, paths, report folders; every problem of a profile is listed at once), 3 the run
/// could not be carried out (interrupted, target never answered, its host name did not
/// resolve, TLS could not be set up, I/O), 4 `compare` was inconclusive (a run's load
/// generator was starved).
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
    ///
    /// The folder holds the data (summary.json, timeseries.csv, histograms.hlog) and what is
    /// rendered from it: index.html (the report to read: verdicts, tables, charts, one
    /// self-contained page), summary.md (for a CI step summary), junit.xml (each SLO check a
    /// test case), latency.hgrm, service.hgrm and SVG charts. `einv-load report DIR`
    /// renders them again.
    ///
    /// Records latency (from the intended send), service time, send lag, and per-phase
    /// times (TCP connect and, over TLS, the TLS handshake for requests that opened a
    /// connection; time to first byte).
    ///
    /// Each request's deadline is its intended send time + request-timeout (queueing
    /// included). After the schedule the run waits at most request-timeout for requests
    /// in flight (the drain; rates are measured over the schedule only). Ctrl-C stops
    /// sending: queued requests count as unsent, requests in flight get 2 s, then are
    /// recorded as timeouts.
    ///
    /// TLS (table target): url = "https://host:port/prefix" (port and prefix optional)
    /// trusts the system's roots plus tls-ca = "ca.pem" (relative to the profile);
    /// tls-insecure = true skips the certificate check (test rigs only: it warns);
    /// tls-resumption = false makes every new connection a full handshake (with
    /// keep-alive = false: a handshake storm).
    /// url = "builtin+tls" serves the built-in target over TLS with a self-signed
    /// certificate the engine trusts. A failed handshake counts as connect_error and the
    /// summary says why.
    ///
    /// The profile's SLO limits apply overall (table slo) and per op (table slo.ops.NAME):
    /// any latency percentile (p95, "p99.99") and max, error-rate, check-failure-rate, min-rate
    /// (requests/s); table report's `percentiles = [50, 95, 99.99]` picks the tables' latency
    /// columns. With abort-on-fail = true the
    /// run stops once a check fails on the run so far, checked every second after `grace`
    /// (default 30s); summary.json then holds "aborted" and the exit code is 1.
    Run(RunArgs),
    /// Predict a run with the profile's model of the service, in virtual time.
    ///
    /// The profile's schedule and mix go through its [model] (seconds of CPU, no target
    /// needed, whatever [target] url says; the defaults when it has none). Writes a report folder like `run`, plus pool.csv (active, idle, pending connections, acquire and usage
    /// times, timeouts, requests queued for a worker, 429 and 503 refusals per second). Each op
    /// holds the pool as its [model.ops.NAME] says; an op without one holds as the invoice
    /// op of its name (issue-hold, ...), any other name as query-hold (validate lists them). Deterministic for a seed; set SOURCE_DATE_EPOCH (seconds since
    /// 1970) to fix the start time as well, and the folder is the same byte for byte.
    /// Ctrl-C writes the report of the simulation so far, marked interrupted (exit 3).
    Simulate(SimulateArgs),
    /// Find the highest constant rate of the profile's mix that meets its [slo].
    ///
    /// Each step is a constant-rate open-loop run of the mix (the same engine as `run`): a
    /// warm-up of 20 % of --step-time (at most 5 s: connections opened, pools and caches
    /// filled), excluded from the verdict, then the measuring stage, on which every [slo]
    /// limit (per op too) is checked. A step stops early once its measuring stage is
    /// certain to fail. The search grows the rate while steps pass (x2 from --min), then
    /// bisects until (hi - lo) / lo <= --precision; a bound whose figures lie within 10 %
    /// of a limit is run again once. With [model] (or the built-in target) the model is
    /// searched first (virtual time) and the live search starts at its answer.
    ///
    /// Writes capacity.json, capacity.svg, index.html, summary.md and junit.xml, and each
    /// step's own report under steps/. Exit 0 when a capacity was found and is at least
    /// --require, 1 otherwise, 2 bad input, 3 nothing could be measured.
    Capacity(CapacityArgs),
    /// Fit a [model] of a real service from a run against it, and replay the run through it.
    ///
    /// REPORT_DIR is a run's report folder: a ramp that starts well below the service's
    /// knee and ends past it. Each op's hold is a lognormal of its service times (from
    /// actual send) in the seconds below half the run's top throughput; the bottleneck is
    /// one pool whose size is the requests in flight where service time starts to grow
    /// (Little's law: top throughput past the knee x low-load service time). The model goes
    /// to --out (or standard output); then the run's own profile is simulated with it and
    /// each op's latency p50/p99 is shown, run vs simulated. Append the model to the
    /// profile (in place of its [model]) and `simulate` or `capacity --simulate` it for the
    /// predicted knee. Exit 2, nothing written, for a folder that is not a run, too few
    /// low-load requests, or no ramp past the knee.
    Calibrate(CalibrateArgs),
    /// Check a profile and print what it would do, without sending anything.
    Validate {
        /// The profile (TOML).
        profile: PathBuf,
    },
    /// Run the built-in invoice target on its own until Ctrl-C.
    ///
    /// It is a test target: it warns when --addr is not a loopback address. It bounds what
    /// a client can make it hold: bodies over --max-body get 413 unread, order numbers
    /// over --max-order-no characters 400, a request head slower than --header-timeout is
    /// cut off, a connection idle for --idle-timeout closed, connections beyond
    /// --max-connections get 503, and it remembers the last --ledger-window invoices
    /// (older ones are archived: 410). These are also [model] keys.
    Serve(Box<ServeArgs>),
    /// Write the first N requests a run would send, as JSON lines, without sending them.
    ///
    /// Each line: index, offset_ms (intended send time), op, method, path, headers, body,
    /// tag (an injected fault: duplicate, bad_check_digit, ...). ${env.*} values are shown
    /// as ***. A dry run gets no responses, so requests drawing from a capture
    /// (${capture.*}, ${take.*}; ${pool.*} is its older name) are listed as skipped.
    Generate(GenerateArgs),
    /// Merge the report folders of a sharded run (run --shard I/N) into one, exactly.
    ///
    /// Histograms are added interval by interval and op by op, and every percentile is
    /// computed again from the sums (never averaged); counters are summed, rates recomputed
    /// over the merged duration, the SLO checked again. Shards started within a second of
    /// each other line up by interval index (second k of every shard's schedule), shards
    /// started further apart by wall-clock time. Refuses folders of different runs
    /// (name, profile, seed, mode, ops), the same shard twice, and incomplete folders; a
    /// missing shard is a warning in the merged summary. Exit code 1 when the merged run
    /// fails its SLO.
    Merge(MergeArgs),
    /// Compare a run with a baseline, distribution to distribution; exit 1 on a regression,
    /// 4 when inconclusive.
    ///
    /// Overall and per op: latency p50/p90/p99/p99.9/max and either run's [report] or SLO
    /// percentiles (from the saved histograms), error
    /// rate, check-failure rate and throughput. A regression is a judged figure worse than
    /// the baseline by more than --max-regression: a latency percentile from p90 up higher (and by at
    /// least 1 ms, with at least 50 samples above the percentile in both runs, and by more
    /// than 3 standard errors of the difference: each run's error the wider of the
    /// order-statistic one from its sample count and batch means over 10 stretches of its
    /// time), overall throughput lower, or the error rate or check-failure rate higher (and
    /// by at least 0.1 percentage point, with 100 requests in both runs). p50, max and per-op
    /// throughput are shown, not judged. Inconclusive (exit 4): a load generator fell behind
    /// with free connections (a run's send lag p99 over 10 ms or its offered rate under 90 %
    /// of the plan, or the two runs' send lag p99s apart by the threshold's share of the
    /// latency p99). Writes compare.json, compare.md, compare.html and overlay charts to
    /// CURRENT/compare-BASELINE_NAME/.
    Compare(CompareArgs),
    /// Render a report folder again from its saved data (charts, index.html, summary.md, junit.xml).
    ///
    /// Reads summary.json, timeseries.csv, histograms.hlog (and pool.csv) and writes every
    /// derived file: index.html (one self-contained page: verdicts, tables, charts),
    /// summary.md (for a CI step summary), junit.xml (each SLO check a test case),
    /// latency.hgrm, service.hgrm and the SVG charts. In place by default: only derived
    /// files are replaced, each atomically; the data files are never touched. With --out
    /// the data files are copied to a new folder first. Use it after upgrading einv-load,
    /// or on a folder copied from CI.
    Report(ReportArgs),
    /// Write a first profile for your own service, commented, to edit and run.
    ///
    /// From --url (one GET), a curl command (--from-curl, e.g. a browser's "Copy as cURL")
    /// or a HAR file of a browser session (--from-har): one op per method and path, weighted
    /// by how often it was seen; static assets, CORS preflights and requests to other hosts
    /// than the most frequent one are left out (stderr says which). Secrets (Authorization,
    /// Cookie, API keys, tokens in headers or the query, user:password) are never written:
    /// the profile reads them from ${env.NAME} placeholders, and stderr lists the
    /// variables to set. The profile is checked as `validate` would before it is written.
    Init(InitArgs),
    /// Print Kubernetes manifests that run a profile as N shards and gate on the merge.
    ///
    /// Documents, in the order to apply them: the namespace (with --namespace), a ConfigMap
    /// holding the profile, a ReadWriteMany PersistentVolumeClaim for the shards' report
    /// folders, an Indexed Job of N pods (completionMode Indexed, one pod a node by pod
    /// anti-affinity, each `run --shard auto --start-at T` with EINV_SHARDS=N, CPU and
    /// memory requests sized from the profile's peak rate and connections per shard, a
    /// deadline of start + schedule + drain + 5 min) and a merge Job that waits for the N
    /// folders, runs `einv-load merge` and exits with the merged SLO verdict. The gate:
    /// `kubectl wait --for=condition=complete job/RUN-merge`. T is now + --start-in:
    /// apply the manifests before then (a shard that starts late joins the schedule and
    /// misses what is past).
    K8s(K8sArgs),
}

#[derive(Debug, Args)]
pub struct K8sArgs {
    /// The profile (TOML); the pods get it as it is.
    pub profile: PathBuf,
    /// Shards (pods, on as many nodes) [default: the profile's [shards] count, else 1].
    #[arg(long, value_name = "N")]
    pub shards: Option<u64>,
    /// The einv-load image the pods run (see the Dockerfile).
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// Create this namespace and put every object in it.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// The shards start this long after the manifests are made (at most 24 h).
    #[arg(long, value_name = "DUR", default_value = "90s", value_parser = parse_start_in)]
    pub start_in: Duration,
    /// Write one file per object into DIR (refused if they exist), or - for standard output.
    #[arg(long, value_name = "DIR|-", default_value = "-")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard report folders.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The merged report folder (created; refused if it already holds a report).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The report folder to compare against (e.g. the last good nightly run).
    pub baseline: PathBuf,
    /// The report folder of the run under test.
    pub current: PathBuf,
    /// How much worse a figure may get before it is a regression: 10% or 0.1.
    #[arg(long, value_name = "SHARE", default_value = "10%", value_parser = parse_share)]
    pub max_regression: f64,
    /// Write the comparison here (refused if it holds one) [default: CURRENT/compare-BASELINE_NAME/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report folder (the one holding summary.json).
    pub dir: PathBuf,
    /// Write the rendered report into this folder instead (refused if it already holds a report).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
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
pub struct CalibrateArgs {
    /// The report folder of a run against the service (a ramp past its knee).
    pub dir: PathBuf,
    /// Write the fitted [model] here (atomically; a FIFO or device is written through)
    /// [default: standard output].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The run's profile, for the replay [default: the one its summary.json names].
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// The replay's report folder [default: reports/NAME-UTCSTAMP/].
    #[arg(long, value_name = "DIR")]
    pub replay_out: Option<PathBuf>,
    /// The service's own timings, a Prometheus text scrape with one histogram labelled
    /// by op (NAME_bucket{op="lookup",le="0.025"} N, seconds; e.g. its database hold
    /// times): the holds of the ops it times instead of the client's service times, and
    /// the bottleneck's size from their mean when it times every op.
    #[arg(long, value_name = "FILE")]
    pub service_timings: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// The profile (TOML): open loop, with [slo] limits.
    pub profile: PathBuf,
    /// Send to this base URL instead of the profile's target.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Search the profile's [model] in virtual time only (seconds, no target, any url).
    #[arg(long)]
    pub simulate: bool,
    /// The lowest rate tried, requests/s (the first, without a model).
    #[arg(long, value_name = "TPS", default_value_t = 10.0)]
    pub min: f64,
    /// The highest rate tried, requests/s.
    #[arg(long, value_name = "TPS", default_value_t = 10_000_000.0)]
    pub max: f64,
    /// Length of each step, warm-up included.
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = parse_duration)]
    pub step_time: Duration,
    /// Stop once the bracket (hi - lo) / lo is at most this: 5% or 0.05.
    #[arg(long, value_name = "SHARE", default_value = "2.5%", value_parser = parse_share)]
    pub precision: f64,
    /// The most steps, re-runs included.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub max_steps: usize,
    /// Start no step after the search has run this long.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub budget: Option<Duration>,
    /// Pause between live steps, so a queue an overloaded step left drains first.
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = parse_duration)]
    pub cool_down: Duration,
    /// Exit 1 unless the capacity is at least this many requests/s.
    #[arg(long, value_name = "TPS")]
    pub require: Option<f64>,
    /// Seed for every random choice.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// The capacity report folder [default: reports/NAME-capacity-UTCSTAMP/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The profile's name: it names the file (NAME.toml) and the report folders.
    #[arg(default_value = "my-service")]
    pub name: String,
    /// Your service's endpoint: the target is its origin, the op GETs its path
    /// [default: http://127.0.0.1:8080/].
    #[arg(long, value_name = "URL", conflicts_with_all = ["from_curl", "from_har"])]
    pub url: Option<String>,
    /// Import the request of this curl command (one argument: quote it).
    #[arg(long, value_name = "'curl ...'", conflicts_with = "from_har")]
    pub from_curl: Option<String>,
    /// Import the requests of this HAR file (a browser's "Save all as HAR").
    #[arg(long, value_name = "FILE.har")]
    pub from_har: Option<PathBuf>,
    /// The constant rate of the one load stage, requests/s.
    #[arg(long, value_name = "TPS", default_value_t = 10.0, allow_negative_numbers = true)]
    pub rate: f64,
    /// How long the stage lasts (e.g. 30s, 2m).
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Write here instead of NAME.toml: a file (refused if it exists, without --force), or
    /// - for standard output.
    #[arg(long, value_name = "FILE|-")]
    pub out: Option<PathBuf>,
    /// Replace an existing file (never a file of a report folder).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The profile (TOML).
    pub profile: PathBuf,
    /// How many requests to write.
    #[arg(long, default_value_t = 20)]
    pub count: u64,
    /// Write here: a file (written to FILE.tmp, renamed when complete; an existing file is
    /// refused without --force), a character device or a FIFO (written through, never
    /// replaced), or - for standard output. A directory is refused.
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    pub out: PathBuf,
    /// Replace an existing FILE given to --out (never a file of a report folder: one
    /// holding summary.json or compare.json).
    #[arg(long)]
    pub force: bool,
    /// Seed for every random choice (overrides the profile's).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Render only shard I of N (arrivals k with k mod N = I); auto: I from
    /// JOB_COMPLETION_INDEX, N from EINV_SHARDS (a Kubernetes Indexed Job's pod).
    #[arg(long, value_name = "I/N|auto", value_parser = parse_shard)]
    pub shard: Option<ShardArg>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The profile (TOML) to run.
    pub profile: PathBuf,
    /// Send to this base URL instead of the profile's target ("builtin", "builtin+tls",
    /// http://host:port or https://host:port; https uses the profile's tls-* keys).
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
    /// Send only shard I of N of the schedule (arrivals k with k mod N = I); auto: I from
    /// JOB_COMPLETION_INDEX (which a Kubernetes Indexed Job sets), N from EINV_SHARDS.
    #[arg(long, value_name = "I/N|auto", value_parser = parse_shard)]
    pub shard: Option<ShardArg>,
    /// Wait, then start the schedule at this instant: UTC in RFC 3339
    /// (2026-12-02T16:00:00Z) or +DUR from now (+90s), at most 24 h ahead. Shards given the same instant start
    /// together (as closely as their clocks agree). A process that comes up after it joins
    /// the schedule where it is then: arrivals already overdue are missed (not sent, not
    /// errors; summary.json run.start says how late and how many); one whose schedule is
    /// over by then is refused (exit 2).
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    pub start_at: Option<std::time::SystemTime>,
    /// Generator threads (the request loop's runtime workers; summary.json run.threads)
    /// [default: the cores this process may use, as its CPU affinity and cgroup allow].
    /// The built-in target's own threads are [model] threads.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// The report folder (refused if it already holds a report) [default: reports/NAME-UTCSTAMP/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Serve the run so far as Prometheus (OpenMetrics) text on http://ADDR/metrics,
    /// updated once an interval (port 0: any free port; the address is printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Keep serving the final metrics this long after the report is written (e.g. 15s),
    /// so that a scraper gets the run's last interval.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, requires = "metrics_addr")]
    pub metrics_linger: Option<Duration>,
    /// Write one JSON object per interval to FILE as the run goes (`-`: standard output;
    /// the text summary then goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub json_stream: Option<PathBuf>,
    /// Keep the first N failing exchanges per op and error class (request line, status,
    /// the body's first 512 bytes, ${env.*} values masked) in the report's errors.jsonl;
    /// 0 keeps none.
    #[arg(long, value_name = "N", default_value_t = einv_report::DEFAULT_ERROR_SAMPLES)]
    pub error_samples: usize,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub addr: SocketAddr,
    /// Take the model (pool size, hold times, stalls, its ops' routes) from this profile's [model].
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
    /// Serve HTTPS with a self-signed certificate (for localhost, 127.0.0.1 and ::1) made
    /// at start; its PEM is written to --cert-out for clients to trust (profile key tls-ca).
    #[arg(long)]
    pub tls: bool,
    /// Serve HTTP/2 as well as HTTP/1.1 on the same port: prior-knowledge h2c in the
    /// clear, ALPN h2 with --tls (profiles reach it with [target] protocol = "http2").
    #[arg(long)]
    pub http2: bool,
    /// Where --tls writes the certificate's PEM [default: TMPDIR/einv-load-serve-PORT.pem].
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub cert_out: Option<PathBuf>,
    /// Largest request body read (e.g. 1MiB, 64KiB); larger ones are answered 413 without
    /// being read [default: 1MiB].
    #[arg(long, value_name = "SIZE", value_parser = einv_poolsim::parse_byte_size)]
    pub max_body: Option<u64>,
    /// Longest order number accepted, in characters; longer ones are answered 400 [default: 64].
    #[arg(long, value_name = "N")]
    pub max_order_no: Option<usize>,
    /// Time a client has to send a request's head, and the longest pause inside a body
    /// (408), before it is disconnected [default: 10s].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub header_timeout: Option<Duration>,
    /// How long a connection with nothing moving (keep-alive between requests) stays open
    /// [default: 60s].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,
    /// Connections served at once; more are answered 503 and closed [default: what fits
    /// the open-file limit, at most 10000].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Invoices remembered for duplicates, queries and red-flushes; older ones are
    /// archived (410) and their order numbers are new orders again [default: 1000000].
    #[arg(long, value_name = "N")]
    pub ledger_window: Option<usize>,
}

/// "10%" or "0.1" -> 0.1.
fn parse_share(s: &str) -> Result<f64, String> {
    let bad = || format!("{s:?} is not a share: write e.g. 10% or 0.1");
    let v = match s.trim().strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().map_err(|_| bad())? / 100.0,
        None => {
            let v: f64 = s.trim().parse().map_err(|_| bad())?;
            if v > 1.0 {
                return Err(format!("{s} is more than 1 (100 %): write {s}% if you mean percent"));
            }
            v
        }
    };
    if !v.is_finite() || v < 0.0 {
        return Err(bad());
    }
    Ok(v)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (write e.g. 30s, 250ms, 2m)"))
}

// The value parsers of the model's flags read the syntax only: the values are checked by
// the model's rules (einv_engine::serve_model), as the profile's are.

fn parse_window(s: &str) -> Result<Stall, String> {
    let (every, length) = s.split_once('/').ok_or("expected EVERY/FOR, e.g. 5s/1s")?;
    Ok(Stall { every: parse_duration(every)?, length: parse_duration(length)? })
}

fn parse_rate_limit(s: &str) -> Result<RateLimit, String> {
    let (rate, burst) = s.split_once('/').ok_or("expected RATE/BURST, e.g. 8000/200")?;
    let rate: f64 = rate.trim().parse().map_err(|_| format!("{rate:?} is not a rate"))?;
    let burst: u32 = burst.trim().parse().map_err(|_| format!("{burst:?} is not a whole number"))?;
    Ok(RateLimit { rate, burst })
}

fn parse_slow_body(s: &str) -> Result<SlowBody, String> {
    let (window, rate) = s.split_once('@').ok_or("expected EVERY/FOR@RATE, e.g. 5s/1s@10KiB/s")?;
    Ok(SlowBody { window: parse_window(window)?, bytes_per_s: einv_poolsim::parse_byte_rate(rate)? })
}

/// `--shard I/N`, or `auto`: read from the environment when the command runs (see
/// [`ShardArg::resolve`]), so that its errors name the variables.
#[derive(Debug, Clone, Copy)]
pub enum ShardArg {
    Fixed(Shard),
    Auto,
}

impl ShardArg {
    pub fn resolve(arg: Option<ShardArg>) -> Result<Option<Shard>, einv_engine::Error> {
        match arg {
            None => Ok(None),
            Some(ShardArg::Fixed(s)) => Ok(Some(s)),
            Some(ShardArg::Auto) => Shard::from_env().map(Some),
        }
    }
}

fn parse_shard(s: &str) -> Result<ShardArg, String> {
    if s.trim() == "auto" {
        return Ok(ShardArg::Auto);
    }
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4, or auto")?;
    let index: u64 = i.trim().parse().map_err(|_| format!("{i:?} is not a number"))?;
    let count: u64 = n.trim().parse().map_err(|_| format!("{n:?} is not a number"))?;
    Shard::new(index, count).map(ShardArg::Fixed).ok_or_else(|| format!("need 0 <= I < N, got {index}/{count}"))
}

/// The furthest ahead a start may be (`run --start-at`, `k8s --start-in`): a start further
/// off is a typo, and the process would wait for it (and `+1000000years` overflows the clock).
const MAX_START_LEAD: Duration = Duration::from_secs(24 * 3600);

/// `k8s --start-in`: a duration of at most [`MAX_START_LEAD`].
fn parse_start_in(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d > MAX_START_LEAD {
        return Err(format!("must be at most {} from now", humantime::format_duration(MAX_START_LEAD)));
    }
    Ok(d)
}

/// `--start-at`: an instant in UTC (RFC 3339, `2026-12-02T16:00:00Z`) or `+DUR` from now,
/// at most [`MAX_START_LEAD`] ahead.
fn parse_start_at(s: &str) -> Result<std::time::SystemTime, String> {
    let now = std::time::SystemTime::now();
    if let Some(rel) = s.trim().strip_prefix('+') {
        return Ok(now + parse_start_in(rel)?);
    }
    let at = humantime::parse_rfc3339(s.trim())
        .map_err(|e| format!("{e}: write a UTC time such as 2026-12-02T16:00:00Z, or +90s for 90 s from now"))?;
    match at.duration_since(now) {
        Ok(lead) if lead > MAX_START_LEAD => {
            Err(format!("must be at most {} from now", humantime::format_duration(MAX_START_LEAD)))
        }
        _ => Ok(at),
    }
}
