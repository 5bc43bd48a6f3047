//! Profiles: TOML in, a validated [`Plan`] out (raw serde structs, then domain types).

mod arrivals;
mod describe;
mod deserialize;
mod document;
mod model;
mod ops;
mod raw;
mod raw_slo;
mod replay;
mod resources;
mod shards;
mod slo;
mod tls;
mod url;
mod validate;

pub use ops::{FeederSpec, WorkloadSpec};
pub use replay::Bodies;
pub(crate) use shards::MAX_SHARDS;
pub use shards::{CONNECTIONS_PER_PROCESS, RATE_PER_CORE, Shards};
pub use tls::TlsOptions;
/// For messages of `init`, which reads URLs of its own.
pub(crate) use url::redact;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use einv_core::input::{self, Cap};
use einv_poolsim::ModelSpec;
use einv_report::{Quantile, SloSpec};
use einv_workload::requests::OpTemplate;
use einv_workload::{Arrivals, Stage};

use crate::driver::Secrets;
use crate::error::Error;

/// Upper bounds that keep arithmetic on durations and counts far from overflow (those of
/// rates and durations are the load's own).
pub(crate) use einv_workload::{MAX_DURATION, MAX_RATE};
pub(crate) const MAX_CONNECTIONS: i64 = 100_000;
/// The default pacing window: send lag stays well under a millisecond, and the generator
/// wakes at most 4,000 times a second however high the rate.
pub(crate) const DEFAULT_PACING: Duration = Duration::from_micros(250);
pub(crate) const MAX_PACING: Duration = Duration::from_millis(10);
/// The largest profile: far more than any hand-written one, small enough to read whole.
pub(crate) const PROFILE_CAP: Cap = Cap { bytes: 4 << 20, what: "a profile" };

/// A validated profile: everything a run needs, with invariants checked.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub file: PathBuf,
    pub seed: u64,
    pub target: Target,
    /// The service's model: what `simulate` predicts with and the built-in target serves.
    pub model: Model,
    pub load: Load,
    pub ops: Vec<Op>,
    pub feeders: Vec<FeederSpec>,
    pub workload: WorkloadSpec,
    pub slo: SloSpec,
    /// `[report] percentiles`: the latency percentiles the reports show (sorted, no
    /// repeats; [`Quantile::DEFAULT`] unless the profile says otherwise).
    pub percentiles: Vec<Quantile>,
    /// `[slo] min-capacity`: `einv-load capacity` fails below this (requests/s).
    pub min_capacity: Option<f64>,
    /// Send-lag p99 above this makes the summary warn.
    pub max_send_lag: Duration,
    pub shard: Shard,
    /// `[shards]`: how many processes the profile says the run needs.
    pub shards: Option<Shards>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: Endpoint,
    /// Most connections open at once (closed loop: the number of concurrent users).
    pub connections: usize,
    pub connect_timeout: Duration,
    /// `connect-rate`: new connections a second at most (`None`: unpaced).
    pub connect_rate: Option<f64>,
    /// `source-addrs`: local addresses connections are opened from, in turn (empty: the
    /// system picks).
    pub source_addrs: Vec<std::net::IpAddr>,
    pub request_timeout: Duration,
    pub keep_alive: bool,
    /// `protocol`: which HTTP version the connections speak.
    pub protocol: Protocol,
    /// `max-streams`: requests in flight at once on one HTTP/2 connection, as written
    /// (see [`Target::streams`]).
    pub max_streams: Option<usize>,
    /// How to speak TLS, when the endpoint does.
    pub tls: TlsOptions,
}

/// Streams per connection when `max-streams` is not written (nginx allows 128).
pub const DEFAULT_MAX_STREAMS: usize = 100;

impl Target {
    /// Requests one connection carries at once: `max-streams` with `protocol = "http2"`,
    /// else one (HTTP/1.1; `auto` only learns the protocol at the handshake, and the
    /// driver then takes [`Target::h2_streams`] when ALPN chose h2).
    pub fn streams(&self) -> usize {
        match self.protocol {
            Protocol::Http2 => self.h2_streams(),
            Protocol::Http1 | Protocol::Auto => 1,
        }
    }

    /// Requests one HTTP/2 connection carries at once: `max-streams`, or its default.
    pub fn h2_streams(&self) -> usize {
        self.max_streams.unwrap_or(DEFAULT_MAX_STREAMS)
    }
}

/// `[target] protocol`: the HTTP version on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// HTTP/1.1 (the default).
    #[default]
    Http1,
    /// HTTP/2: negotiated by ALPN over TLS, prior-knowledge h2c in the clear.
    Http2,
    /// Whatever ALPN agrees over TLS (h2 preferred); HTTP/1.1 in the clear.
    Auto,
}

impl Protocol {
    /// The profile's spelling, also the summary's.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http1 => "http1",
            Protocol::Http2 => "http2",
            Protocol::Auto => "auto",
        }
    }
}

/// The profile's `[model]` (or `[target.builtin]`), or the defaults when it has neither.
#[derive(Debug, Clone)]
pub struct Model {
    /// The service, with one [`einv_poolsim::ModelOp`] per op of the mix, in its order.
    pub spec: Box<ModelSpec>,
    /// The built-in target's runtime threads.
    pub threads: usize,
    /// Whether the profile describes the model (else every value is a default).
    pub written: bool,
}

impl Default for Model {
    fn default() -> Self {
        Model { spec: Box::default(), threads: 1, written: false }
    }
}

#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Start the built-in target in-process, on 127.0.0.1 and a free port (`"builtin"`;
    /// over TLS with a self-signed certificate for `"builtin+tls"`), serving the model.
    Builtin {
        tls: bool,
    },
    Http(HttpUrl),
}

impl Endpoint {
    /// Whether requests go over TLS.
    pub fn tls(&self) -> bool {
        match self {
            Endpoint::Builtin { tls, .. } => *tls,
            Endpoint::Http(url) => url.tls,
        }
    }
}

/// An `http://` or `https://` base URL, split the way the driver needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port` as written, for connecting and for the Host header.
    pub authority: String,
    /// Path prefix without a trailing slash ("" for none); op paths are appended.
    pub base_path: String,
    /// `https://`: TLS, with the host as the server name (SNI and certificate check).
    pub tls: bool,
    /// The `${env.*}` values the URL was written with: never shown.
    pub secrets: Vec<String>,
}

impl HttpUrl {
    /// The URL's host without the port (and without an IPv6 address's brackets).
    pub fn host(&self) -> &str {
        let host = self.authority.rsplit_once(':').map_or(self.authority.as_str(), |(h, _)| h);
        host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The URL as a user would write it, its `${env.*}` values masked.
    pub fn display(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        self.mask(&format!("{scheme}://{}{}", self.authority, self.base_path))
    }

    /// `text` with the URL's `${env.*}` values masked.
    pub fn mask(&self, text: &str) -> String {
        Secrets::new(self.secrets.iter().map(String::as_str)).mask(text)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Open loop: arrivals follow the schedule, never the responses. The dispatcher wakes
    /// at most once per `pacing` window (zero: once per arrival).
    Open { stages: Vec<Stage>, arrivals: Arrivals, pacing: Duration },
    /// Closed loop: each connection sends its next request when the last one is answered
    /// (plus think time): a saturation test, not a latency test.
    Closed { duration: Duration, think: Duration },
    /// Replay a recorded trace with its own timing, `speed` times as fast. Body files lie
    /// in `body_root` (`None`: the trace's folder). `arrivals`, `duration` and `bodies`
    /// are the trace's, found when the profile was validated (its body files read then, so
    /// a run never waits on one).
    Replay {
        trace: PathBuf,
        speed: f64,
        arrivals: u64,
        duration: Duration,
        pacing: Duration,
        body_root: Option<PathBuf>,
        bodies: Arc<Bodies>,
    },
}

impl Load {
    /// Planned length of the run.
    pub fn duration(&self) -> Duration {
        match self {
            Load::Open { stages, .. } => stages.iter().map(Stage::duration).sum(),
            Load::Closed { duration, .. } | Load::Replay { duration, .. } => *duration,
        }
    }

    pub fn mode(&self) -> &'static str {
        match self {
            Load::Open { .. } => "open",
            Load::Closed { .. } => "closed",
            Load::Replay { .. } => "replay",
        }
    }
}

/// One weighted operation of the mix.
#[derive(Debug, Clone)]
pub struct Op {
    pub name: String,
    pub weight: u32,
    /// An upper-case token (`GET`, `POST`, ...).
    pub method: String,
    /// Path and query, appended to the target's base path.
    pub path: String,
    /// Static headers: lower-case names, values valid on any wire.
    pub headers: Vec<(String, String)>,
    /// The body, when it has no placeholders.
    pub body: Bytes,
    /// Path, body and header templates, when any of them has placeholders.
    pub template: Option<OpTemplate>,
    /// The body's template file as the profile names it, and its format.
    pub body_file: Option<(String, einv_workload::Format)>,
    /// (capture index, JSON pointer): values to take from each response.
    pub extract: Vec<(usize, String)>,
    pub check: ResponseCheck,
}

/// What a correct response looks like; failures are counted apart from transport errors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseCheck {
    /// Accepted statuses (empty: any 2xx or 3xx).
    pub status: Vec<u16>,
    /// JSON pointer → expected value.
    pub equals: Vec<(String, serde_json::Value)>,
    /// JSON pointers that must exist.
    pub exists: Vec<String>,
}

impl ResponseCheck {
    /// Whether the body must be read and parsed.
    pub fn needs_body(&self) -> bool {
        !self.equals.is_empty() || !self.exists.is_empty()
    }

    /// The index of the check a request sent invalid on purpose fails when it is not
    /// refused (see [`Self::names`]).
    pub const REJECTION: u16 = 0;

    /// Whether `status` passes the status check.
    pub fn status_passes(&self, status: u16) -> bool {
        if self.status.is_empty() { status < 400 } else { self.status.contains(&status) }
    }

    /// The first check a response fails, by its index in [`Self::names`]; `None` when it
    /// passes. `json` is the parsed body when [`Self::needs_body`].
    pub fn first_failure(&self, status: u16, json: Option<&serde_json::Value>) -> Option<u16> {
        let at = |p: &str| json.and_then(|j| j.pointer(p));
        let failed = std::iter::once(!self.status_passes(status))
            .chain(self.equals.iter().map(|(p, v)| at(p) != Some(v)))
            .chain(self.exists.iter().map(|p| at(p).is_none()))
            .position(|failed| failed)?;
        // A check has a few entries (a profile's line each): the index fits.
        Some(u16::try_from(failed + 1).unwrap_or(u16::MAX))
    }

    /// The checks in words, by index: [`Self::REJECTION`], the status, each `equals`,
    /// each `exists` (`status in [200]`, `/code = "0000"`, `/invoice_no exists`).
    pub fn names(&self) -> Vec<String> {
        let status = match self.status.as_slice() {
            [] => "status < 400".to_string(),
            codes => format!("status in {codes:?}"),
        };
        let rejection = "an invalid request is refused (4xx)".to_string();
        let equals = self.equals.iter().map(|(p, v)| format!("{p} = {v}"));
        let exists = self.exists.iter().map(|p| format!("{p} exists"));
        [rejection, status].into_iter().chain(equals).chain(exists).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.status.is_empty() && !self.needs_body()
    }
}

/// Which share of the global schedule this process sends: arrivals `k` with
/// `k % count == index`. The rule is written here and nowhere else: which arrivals are
/// this shard's, which global index its own k-th request has, and its share of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u64,
    count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// Shard `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u64, count: u64) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    pub fn index(self) -> u64 {
        self.index
    }

    pub fn count(self) -> u64 {
        self.count
    }

    /// Whether global arrival `index` is this shard's to send.
    pub fn owns(self, index: u64) -> bool {
        index % self.count == self.index
    }

    /// The global index of this shard's `k`-th request (counting from 0): shards
    /// interleave, as they do in the one global schedule.
    pub fn global(self, k: u64) -> u64 {
        k * self.count + self.index
    }

    /// This shard's part of a whole-run rate (or count): every shard sends `1/count` of it.
    pub fn share(self, whole: f64) -> f64 {
        whole / self.count as f64
    }

    /// `"I/N"` when the run is split, for the report; `None` for a whole run.
    pub fn label(self) -> Option<String> {
        (self.count > 1).then(|| format!("{}/{}", self.index, self.count))
    }

    /// `--shard auto`: the shard a Kubernetes Indexed Job's pod is, its index from
    /// [`Shard::INDEX_ENV`] (which the Job sets) and the count from [`Shard::COUNT_ENV`]
    /// (which the manifest of `einv-load k8s` sets, the Job itself telling a pod no count).
    pub fn from_env() -> Result<Shard, Error> {
        let var = |name| std::env::var(name).ok();
        Shard::from_vars(var(Shard::INDEX_ENV).as_deref(), var(Shard::COUNT_ENV).as_deref())
    }

    pub const INDEX_ENV: &'static str = "JOB_COMPLETION_INDEX";
    pub const COUNT_ENV: &'static str = "EINV_SHARDS";

    fn from_vars(index: Option<&str>, count: Option<&str>) -> Result<Shard, Error> {
        let fail = |message: String| Error::Flag { flag: "--shard auto", message };
        let number = |name: &str, value: Option<&str>| {
            let value = value.ok_or_else(|| {
                fail(format!(
                    "{name} is not set (an Indexed Job's pods have {} and the manifests of `einv-load k8s` \
                     set {}; elsewhere write --shard I/N)",
                    Shard::INDEX_ENV,
                    Shard::COUNT_ENV
                ))
            })?;
            value.trim().parse::<u64>().map_err(|_| fail(format!("{name}={value:?} is not a whole number")))
        };
        let (index, count) = (number(Shard::INDEX_ENV, index)?, number(Shard::COUNT_ENV, count)?);
        Shard::new(index, count).ok_or_else(|| {
            fail(format!(
                "{}={index} is not below {}={count} (the index counts from 0 to the count less one)",
                Shard::INDEX_ENV,
                Shard::COUNT_ENV
            ))
        })
    }
}

/// Command-line overrides of a profile.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub target: Option<String>,
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    pub connections: Option<usize>,
    pub seed: Option<u64>,
    pub shard: Option<Shard>,
}

impl Plan {
    /// Read and validate a profile file (a regular file of at most 4 MiB).
    pub fn load(path: &Path) -> Result<Plan, Error> {
        let src =
            input::read_to_string(path, PROFILE_CAP).map_err(|error| Error::Input { path: path.into(), error })?;
        Plan::parse(&src, path)
    }

    /// Validate profile text; `file` is only used in error messages.
    pub fn parse(src: &str, file: &Path) -> Result<Plan, Error> {
        validate::plan(src, file)
    }

    /// Apply command-line overrides (each checked like the profile value it replaces).
    pub fn apply(&mut self, o: &Overrides) -> Result<(), Error> {
        let planned_rate = self.load.mean_rate(self.seed);
        if let Some(url) = &o.target {
            self.target.endpoint = url::endpoint(url).map_err(|message| Error::Flag { flag: "--target", message })?;
        }
        if let Some(n) = o.connections {
            if n == 0 || n as u64 > MAX_CONNECTIONS as u64 {
                let message = format!("must be from 1 to {MAX_CONNECTIONS}, got {n}");
                return Err(Error::Flag { flag: "--connections", message });
            }
            self.target.connections = n;
        }
        if let Some(seed) = o.seed {
            self.seed = seed;
        }
        if let Some(shard) = o.shard {
            self.shard = shard;
        }
        if let Some(d) = o.duration {
            if d.is_zero() || d > MAX_DURATION {
                let message =
                    format!("must be longer than 0s and at most {}", humantime::format_duration(MAX_DURATION));
                return Err(Error::Flag { flag: "--duration", message });
            }
            match &mut self.load {
                Load::Open { stages, .. } => *stages = fit_stages(stages, d),
                Load::Closed { duration, .. } => *duration = d,
                Load::Replay { .. } => {
                    let message = "does not apply to a replay (its trace sets the length; [load] speed its pace)";
                    return Err(Error::Flag { flag: "--duration", message: message.into() });
                }
            }
        }
        if let Some(rate) = o.rate {
            let planned = self.load.duration();
            let Load::Open { stages, .. } = &mut self.load else {
                let message = "applies to open-loop profiles ([load] mode = \"open\")";
                return Err(Error::Flag { flag: "--rate", message: message.into() });
            };
            if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE) {
                return Err(Error::Flag {
                    flag: "--rate",
                    message: format!("must be > 0 and <= {MAX_RATE}, got {rate}"),
                });
            }
            *stages = vec![Stage::constant(rate, planned)];
        }
        if let Some(why) = arrivals::missing(&self.load, self.seed, self.shard) {
            // Name the flag that thinned the schedule out: the profile itself was valid.
            let whole_run_sends = arrivals::missing(&self.load, self.seed, Shard::default()).is_none();
            let flag = match () {
                _ if o.shard.is_some() && whole_run_sends => "--shard",
                _ if o.rate.is_some() => "--rate",
                _ if o.duration.is_some() => "--duration",
                _ if o.seed.is_some() => "--seed",
                _ => "load",
            };
            return Err(Error::Flag { flag, message: why });
        }
        self.scale_min_rate(planned_rate);
        Ok(())
    }

    /// A `min-rate` is written for the profile's schedule: when `--duration` or `--rate`
    /// changes that schedule, the limit keeps its share of the schedule's mean planned
    /// rate (a 450/s floor under a ramp averaging 500/s becomes 225/s when the ramp is cut
    /// at half, averaging 250/s).
    fn scale_min_rate(&mut self, planned_rate: Option<f64>) {
        let (Some(before), Some(after)) = (planned_rate, self.load.mean_rate(self.seed)) else { return };
        if before <= 0.0 || after == before {
            return;
        }
        self.slo = self.slo.for_share(after / before);
        if let Some(limit) = self.slo.overall.get(einv_report::Metric::MinRate) {
            tracing::info!(
                "min-rate held at {:.1}/s: the schedule now plans {after:.1}/s on average, the profile's {before:.1}/s",
                limit.threshold()
            );
        }
    }

    /// Where a run sends requests, once the built-in target (if any) listens at `builtin`.
    pub fn authority(&self, builtin: Option<SocketAddr>) -> String {
        match (&self.target.endpoint, builtin) {
            (Endpoint::Http(url), _) => url.authority.clone(),
            (Endpoint::Builtin { .. }, Some(addr)) => addr.to_string(),
            (Endpoint::Builtin { .. }, None) => "builtin".into(),
        }
    }
}

/// Cut `stages` at `total`, or extend the last stage's final rate up to `total`.
fn fit_stages(stages: &[Stage], total: Duration) -> Vec<Stage> {
    let mut out = Vec::new();
    let mut elapsed = Duration::ZERO;
    for stage in stages {
        let d = stage.duration();
        if elapsed + d <= total {
            out.push(stage.clone());
            elapsed += d;
            continue;
        }
        let keep = total - elapsed;
        if !keep.is_zero() {
            out.extend(truncate(stage, keep));
        }
        return out;
    }
    if elapsed < total {
        let last = match stages.last() {
            Some(Stage::Ramp { to, .. } | Stage::Steps { to, .. }) => *to,
            Some(Stage::Spike { base, .. }) => *base,
            None => 0.0,
        };
        out.push(Stage::constant(last, total - elapsed));
    }
    out
}

/// The first `keep` of a stage, as stages.
fn truncate(stage: &Stage, keep: Duration) -> Vec<Stage> {
    match *stage {
        Stage::Ramp { from, to, duration } => {
            let f = keep.as_secs_f64() / duration.as_secs_f64();
            vec![Stage::Ramp { from, to: from + (to - from) * f, duration: keep }]
        }
        Stage::Steps { from, to, steps, step } => {
            let rate_of =
                |i: u32| if steps <= 1 { from } else { from + (to - from) * f64::from(i) / f64::from(steps - 1) };
            let whole = u32::try_from(keep.as_nanos() / step.as_nanos().max(1)).unwrap_or(u32::MAX);
            let mut out = Vec::new();
            if whole > 0 {
                out.push(Stage::Steps { from, to: rate_of(whole - 1), steps: whole, step });
            }
            let partial = keep - step * whole;
            if !partial.is_zero() {
                out.push(Stage::constant(rate_of(whole), partial));
            }
            out
        }
        Stage::Spike { base, peak, at, width, .. } => {
            if keep <= at {
                vec![Stage::constant(base, keep)]
            } else {
                vec![Stage::Spike { base, peak, at, width: width.min(keep - at), duration: keep }]
            }
        }
    }
}

#[cfg(test)]
mod tests;
