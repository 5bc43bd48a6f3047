//! The profile exactly as written in TOML: serde structs with no invariants.
//! [`super::validate`] turns them into a [`super::Plan`].
//!
//! Keys a profile must have are `Option`s all the same where they sit in the root, in
//! `[target]`, `[load]` or an array of tables: validation reports them missing, so that a
//! key taken out for a wrong type (see [`super::deserialize`]) does not stop the rest
//! of the profile from being checked.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

pub use super::raw_slo::{RawLimit, RawSlo, RawSloLimits};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawProfile {
    pub schema: Option<u32>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub target: Option<RawTarget>,
    /// `[model]`: the service's model (`[target.builtin]` is its older name).
    pub model: Option<RawBuiltin>,
    pub load: Option<RawLoad>,
    #[serde(default, rename = "op")]
    pub ops: Vec<RawOp>,
    pub slo: Option<RawSlo>,
    pub report: Option<RawReport>,
    pub workload: Option<RawWorkload>,
    #[serde(default, rename = "feeder")]
    pub feeders: Vec<RawFeeder>,
    pub shards: Option<RawShards>,
}

/// `[shards]`: how many processes the run needs, and why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawShards {
    pub count: Option<i64>,
    /// Why that many, in words (shown by `validate`, carried into the manifests).
    pub note: Option<String>,
}

/// `[report]`: what the reports show.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawReport {
    /// The latency percentiles of the tables, in percent: `[50, 90, 95, 99, 99.9]`.
    pub percentiles: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawWorkload {
    pub duplicate_rate: Option<f64>,
    pub invalid_rate: Option<f64>,
    /// Capacity of each capture (values extracted from responses).
    pub capture_size: Option<i64>,
    /// The older name of `capture-size`, still accepted.
    #[serde(rename = "pool-size")]
    pub pool_size_alias: Option<i64>,
    pub invoice: Option<RawInvoice>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawInvoice {
    pub lines: Option<RawDist>,
    pub max_lines: Option<i64>,
    pub quantity: Option<RawDist>,
    pub unit_price: Option<RawDist>,
    pub special_share: Option<f64>,
    pub parties: Option<i64>,
}

/// `3`, `{ min = 1, max = 5 }` or `{ p50 = 2, p99 = 12 }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawDist {
    Fixed(f64),
    Uniform { min: f64, max: f64 },
    LogNormal { p50: f64, p99: f64 },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawFeeder {
    pub name: Option<String>,
    pub path: Option<String>,
    pub mode: Option<String>,
}

/// A body template, `{ generator = "invoice" }` or `{ file = "templates/issue.json" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawBody {
    Text(String),
    Table(RawBodyTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawBodyTable {
    pub generator: Option<String>,
    /// A template file, relative to the profile.
    pub file: Option<String>,
    /// "json", "xml", "form" or "text"; default from the file's extension.
    pub format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCheck {
    pub status: Option<Vec<u16>>,
    #[serde(default)]
    pub equals: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub exists: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTarget {
    pub url: Option<String>,
    pub connections: Option<i64>,
    pub connect_timeout: Option<HumanDuration>,
    /// New connections a second at most, across the run.
    pub connect_rate: Option<f64>,
    /// Local addresses to connect from, in turn.
    pub source_addrs: Option<Vec<String>>,
    pub request_timeout: Option<HumanDuration>,
    pub keep_alive: Option<bool>,
    pub protocol: Option<String>,
    pub max_streams: Option<i64>,
    pub tls_ca: Option<String>,
    pub tls_insecure: Option<bool>,
    pub tls_resumption: Option<bool>,
    pub builtin: Option<RawBuiltin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawBuiltin {
    pub pool_size: Option<u64>,
    pub acquire_timeout: Option<HumanDuration>,
    pub issue_hold: Option<RawHold>,
    pub query_hold: Option<RawHold>,
    pub red_flush_hold: Option<RawHold>,
    pub verify_hold: Option<RawHold>,
    pub download_hold: Option<RawHold>,
    pub callback_hold: Option<RawHold>,
    pub threads: Option<i64>,
    pub stall: Option<RawStall>,
    /// Stop-the-world pauses: `pause` long, at the end of every `pause-every`.
    pub pause_every: Option<HumanDuration>,
    pub pause: Option<HumanDuration>,
    /// A cold start: holds `cold-factor` times as long at first, 1x after `warm-up`.
    pub warm_up: Option<HumanDuration>,
    pub cold_factor: Option<f64>,
    pub error_burst: Option<RawStall>,
    pub reset_rate: Option<f64>,
    pub workers: Option<u64>,
    pub queue_limit: Option<u64>,
    pub overhead: Option<RawHold>,
    pub wire: Option<RawHold>,
    pub rate_limit: Option<RawRateLimit>,
    pub slow_body: Option<RawSlowBody>,
    pub max_body: Option<String>,
    pub max_order_no: Option<u64>,
    pub header_timeout: Option<HumanDuration>,
    pub idle_timeout: Option<HumanDuration>,
    pub max_connections: Option<u64>,
    pub ledger_window: Option<u64>,
    /// `[model.ops.NAME]`: the model of the profile's op NAME.
    #[serde(default)]
    pub ops: BTreeMap<String, RawModelOp>,
    /// `[model.resources.NAME]`: the service's named resources.
    #[serde(default)]
    pub resources: BTreeMap<String, RawResource>,
}

/// `[model.resources.NAME]`: `kind = "workers" | "pool" | "rate-limit"` and its figures.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawResource {
    pub kind: Option<String>,
    pub size: Option<u64>,
    pub acquire_timeout: Option<HumanDuration>,
    pub queue_limit: Option<u64>,
    pub when_dry: Option<RawWhenDry>,
    /// A rate limit's requests/s and bucket.
    pub rate: Option<f64>,
    pub burst: Option<u64>,
    /// A cpu's cores.
    pub cores: Option<u64>,
    /// A pool's queue discipline: `"fifo"` or `"barging"`, and a barging pool's wake-up time.
    pub discipline: Option<String>,
    pub handoff_delay: Option<RawHold>,
}

/// `500`, `503`, `429` or `"timeout"` (no answer).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawWhenDry {
    Status(i64),
    Word(String),
}

/// `{ use = "db", hold = "5ms" }`, `{ use = "workers" }` or `{ hold = "1ms" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawStep {
    #[serde(rename = "use")]
    pub resource: Option<String>,
    pub hold: Option<RawHold>,
}

/// `[model.ops.NAME]`: what op NAME does to the service and what it answers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawModelOp {
    pub hold: Option<RawHold>,
    /// The live target's answer: a body template (`${id}`, `${op}`).
    pub response: Option<String>,
    pub status: Option<u16>,
    /// The op as a sequence of steps over the model's resources.
    pub steps: Option<Vec<RawStep>>,
}

/// `{ rate = 8000, burst = 200 }`: requests/s, bucket size.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRateLimit {
    pub rate: f64,
    pub burst: u64,
}

/// `{ every = "5s", for = "1s", rate = "10KiB/s" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSlowBody {
    pub every: HumanDuration,
    #[serde(rename = "for")]
    pub length: HumanDuration,
    pub rate: String,
}

/// `"20ms"`, `{ exponential = "20ms" }`, `{ p50 = "15ms", p99 = "80ms" }` or
/// `{ from-report = "reports/run-x", op = "issue" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawHold {
    Constant(HumanDuration),
    Exponential {
        exponential: HumanDuration,
    },
    LogNormal {
        p50: HumanDuration,
        p99: HumanDuration,
    },
    FromReport {
        #[serde(rename = "from-report")]
        from_report: String,
        op: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawStall {
    pub every: HumanDuration,
    #[serde(rename = "for")]
    pub length: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLoad {
    pub mode: Option<String>,
    pub arrivals: Option<String>,
    #[serde(default, rename = "stage")]
    pub stages: Vec<RawStage>,
    /// Closed loop: how long to run.
    pub duration: Option<HumanDuration>,
    /// Closed loop: pause between a response and the next request of the same user.
    pub think: Option<HumanDuration>,
    /// Warn when send-lag p99 exceeds this.
    pub max_send_lag: Option<HumanDuration>,
    /// Open loop: release arrivals at most once per this window ("0s": each on time).
    pub pacing: Option<HumanDuration>,
    /// Replay: the trace CSV, relative to the profile.
    pub trace: Option<String>,
    /// Replay: 2.0 plays the trace twice as fast.
    pub speed: Option<f64>,
    /// Replay: body files must lie in this folder (relative to the profile); default the
    /// trace's folder.
    pub body_root: Option<String>,
}

/// One `[[load.stage]]`; its `kind` says which of the other keys it takes. A flat table,
/// not an enum tagged by `kind`: serde buffers a tagged enum's keys and loses their
/// spans, so a problem in one could not be given its line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawStage {
    pub kind: Option<String>,
    pub rate: Option<f64>,
    pub from: Option<f64>,
    pub to: Option<f64>,
    pub steps: Option<u64>,
    pub step: Option<HumanDuration>,
    pub base: Option<f64>,
    pub peak: Option<f64>,
    pub at: Option<HumanDuration>,
    pub width: Option<HumanDuration>,
    pub duration: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawOp {
    pub name: Option<String>,
    pub weight: Option<i64>,
    pub method: Option<String>,
    pub path: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<RawBody>,
    /// Capture name → JSON pointer into the response.
    #[serde(default)]
    pub extract: BTreeMap<String, String>,
    pub check: Option<RawCheck>,
}

/// A duration written the way people write them: "30s", "250ms", "1m 30s".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(s: &str) -> Result<HumanDuration, String> {
        humantime::parse_duration(s)
            .map(HumanDuration)
            .map_err(|e| format!("invalid duration {s:?} ({e}); write e.g. \"30s\" or \"250ms\""))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a duration string such as "30s", "250ms" or "1m 30s""#)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<HumanDuration, E> {
                HumanDuration::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}
