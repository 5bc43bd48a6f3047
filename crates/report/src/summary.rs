use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::histograms::{Timing, max_ms, quantile_ms};
use crate::quantile::Quantile;
use crate::slo::{SloReport, SloSpec};
use crate::stats::Stats;

/// Bumped on any change that can break a reader of summary.json (renames, removals,
/// changed meaning). Adding fields is not a break.
pub const SCHEMA_VERSION: u32 = 1;

/// The largest summary.json read back: a run's is a few kB per op.
pub(crate) const SUMMARY_CAP: einv_core::input::Cap = einv_core::input::Cap { bytes: 64 << 20, what: "summary.json" };

/// The machine-readable result of a run: summary.json. A public interface; see README.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub schema_version: u32,
    pub tool: Tool,
    pub run: RunInfo,
    pub overall: OpSummary,
    pub ops: BTreeMap<String, OpSummary>,
    pub slo: SloReport,
    pub connections: Connections,
    /// Loud notes about the validity of the numbers (generator bottleneck, ...).
    pub warnings: Vec<String>,
    /// The modelled pool (simulated runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<crate::PoolSummary>,
    pub interrupted: bool,
    /// The percentiles the reports' latency tables show (`[report] percentiles`); absent
    /// when they are [`Quantile::DEFAULT`].
    #[serde(default = "default_percentiles", skip_serializing_if = "is_default_percentiles")]
    pub percentiles: Vec<Quantile>,
    /// Set when `[slo] abort-on-fail` stopped the run early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<Aborted>,
    /// Per stage of the schedule (and per step of a `steps` stage): the requests that
    /// finished in it, and the SLO checked on them alone (open-loop runs and simulations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<crate::StageSummary>,
    /// The first second whose own figures crossed an SLO limit, and the rate offered then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee: Option<crate::Knee>,
    /// Files of the folder that could not be written (a full disk, an I/O error), and why.
    /// summary.json itself is written last, so its presence means the folder is finished;
    /// a data file listed here is missing, and every other file listed is derived
    /// (`einv-load report DIR` writes it again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_written: Vec<crate::NotWritten>,
    /// errors.jsonl keeps the first this many failing exchanges per op and class (live
    /// runs and their merges; absent for simulations and older runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_samples: Option<usize>,
}

/// Everything a summary is assembled from ([`Summary::assemble`]): a run's totals at its
/// end, a merge's sums of its shards', or (soon) a capacity search's step.
#[derive(Debug)]
pub struct Parts<'a> {
    pub run: RunInfo,
    /// Per op: its name, its totals, and the arrivals the schedule intended for it.
    pub ops: Vec<(&'a str, &'a Stats, u64)>,
    /// The schedule's mean intended rate (0 for closed loop); an op's is its share.
    pub target_rate: f64,
    /// Names of the injected-fault tags by index, and whether each expects a rejection.
    pub tags: &'a [(String, bool)],
    /// Per op (in `ops`' order), its checks by index; empty when none are named.
    pub checks: &'a [Vec<String>],
    pub slo: &'a SloSpec,
    /// The percentiles the reports show (sorted, no repeats); the summary holds these and
    /// every one the SLO limits.
    pub percentiles: Vec<Quantile>,
    pub connections: Connections,
    /// `Some(limit)`: warn when nothing was measured or the send lag's p99 is above
    /// `limit` (the generator could not keep to the schedule). `None` (a merge): the
    /// inputs' own warnings, in `warnings`, say so.
    pub lag_warning: Option<Duration>,
    /// Warnings that come after those.
    pub warnings: Vec<String>,
    pub pool: Option<crate::PoolSummary>,
    pub interrupted: bool,
    pub aborted: Option<Aborted>,
    pub stages: Vec<crate::StageSummary>,
    pub knee: Option<crate::Knee>,
    /// See [`Summary::error_samples`].
    pub error_samples: Option<usize>,
}

impl Summary {
    /// The summary of `parts`: every op's and the overall figures (the overall totals are
    /// the ops' added), the warnings and the SLO's verdicts. Pure: no clock, no I/O.
    pub fn assemble(parts: Parts) -> Summary {
        let mut overall = Stats::new();
        parts.ops.iter().for_each(|(_, s, _)| overall.merge(s));
        let scheduled: u64 = parts.ops.iter().map(|(_, _, n)| n).sum();
        let duration_s = parts.run.duration_s;
        let mut quantiles = parts.slo.quantiles();
        quantiles.extend(&parts.percentiles);
        let op_summary = |stats: &Stats, n: u64| {
            let share = if scheduled == 0 { 0.0 } else { n as f64 / scheduled as f64 };
            OpSummary::new(stats, &quantiles, n, parts.target_rate * share, duration_s).with_injected(stats, parts.tags)
        };
        let overall = op_summary(&overall, scheduled);
        let none = Vec::new();
        let checks = |i: usize| parts.checks.get(i).unwrap_or(&none);
        let ops: BTreeMap<String, OpSummary> = (parts.ops.iter().enumerate())
            .map(|(i, (name, stats, n))| (name.to_string(), op_summary(stats, *n).with_checks(stats, checks(i))))
            .collect();
        let mut warnings = match parts.lag_warning {
            Some(limit) => crate::text::warnings(&overall, limit, &parts.connections),
            None => Vec::new(),
        };
        warnings.extend(parts.warnings);
        let mut slo = parts.slo.evaluate(&overall, &ops);
        // An aborted run failed its SLO by definition, even if the requests still in
        // flight when it stopped pulled the final figures back under the limits.
        slo.passed &= parts.aborted.is_none();
        Summary {
            schema_version: SCHEMA_VERSION,
            tool: Tool { name: "einv-load".into(), version: env!("CARGO_PKG_VERSION").into() },
            run: parts.run,
            overall,
            ops,
            slo,
            connections: parts.connections,
            warnings,
            pool: parts.pool,
            interrupted: parts.interrupted,
            percentiles: parts.percentiles,
            aborted: parts.aborted,
            stages: parts.stages,
            knee: parts.knee,
            not_written: Vec::new(),
            error_samples: parts.error_samples,
        }
    }

    /// The data files this folder is missing (see [`Summary::not_written`]).
    pub fn missing_data(&self) -> Vec<&str> {
        let data = self.not_written.iter().filter(|n| crate::files::is_data(&n.file));
        data.map(|n| n.file.as_str()).collect()
    }
}

/// Why and when a run was stopped by a failing SLO (`[slo] abort-on-fail`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Aborted {
    /// Seconds from run start when the failing checks were seen.
    pub at_s: f64,
    /// The grace period before checks could abort the run, seconds.
    pub grace_s: f64,
    /// The checks that were failing on the run so far (cumulative totals) at `at_s`.
    pub failed: Vec<crate::SloCheck>,
    /// Stopped because its last stage was certain to fail (a capacity step's early stop),
    /// not by abort-on-fail; `failed` are then the checks certain to fail.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub certain: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// What was run, against what, when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    pub name: String,
    pub profile: String,
    pub seed: u64,
    pub target: String,
    /// "open" (arrival schedule) or "closed" (fixed concurrency).
    pub mode: String,
    /// UTC, RFC 3339.
    pub started_at: String,
    /// The span of the schedule that ran, seconds: its planned length (longer if the
    /// generator fell behind, shorter if the run was stopped). Rates are measured over it.
    pub duration_s: f64,
    /// How long after that span the run waited for requests still in flight, seconds: at
    /// most the request timeout, after a stop at most 2 s (0 in older summaries).
    #[serde(default)]
    pub drain_s: f64,
    /// Length of the planned schedule, seconds.
    pub planned_duration_s: f64,
    /// `"I/N"` when this run sent only shard I of N of the schedule (`run --shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The common start (`run --start-at`), when the run had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<SyncStart>,
    /// Generator threads of a live run (`run --threads`); none for a simulation, and a
    /// merged run's is the sum over its shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
}

/// A start at a common wall-clock instant (`run --start-at`), as it went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SyncStart {
    /// The instant the schedule started at (second 0 of every shard), UTC, RFC 3339.
    pub at: String,
    /// How long after it this process began its schedule, ms (a merge: the latest shard's).
    /// A process that came up late joined the schedule there.
    pub late_ms: f64,
    /// Arrivals due before the process joined: never sent, counted in `unsent`, not in
    /// errors or latency (a merge: the shards' sum).
    pub missed: u64,
    /// A merge: the latest shard's start less the earliest's, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_ms: Option<f64>,
}

/// Client-side connection accounting.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Connections {
    /// The most connections the engine may hold open.
    pub limit: u64,
    /// TCP connections opened over the run (reconnects included).
    pub opened: u64,
    /// The most connections open at once.
    pub max_open: u64,
    /// Of `opened`, those that spoke HTTP/2 (the rest HTTP/1.1); absent before HTTP/2.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub http2: u64,
    /// The most requests on the wire at once (HTTP/2: streams in flight over all
    /// connections); open loop only, absent before it was counted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_in_flight: u64,
    /// Requests each connection may carry at once when the run spoke HTTP/2 (its
    /// `max-streams`); absent for HTTP/1.1, one at a time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub streams: u64,
}

impl Connections {
    /// The request slots the run had: connections × streams over HTTP/2, or the
    /// connections, and what they were, for a sentence.
    pub fn slots(&self) -> (u64, String) {
        match self.streams {
            s if s > 1 && self.http2 > 0 => {
                (self.limit * s, format!("{} stream slots ({} connections × {s} streams)", self.limit * s, self.limit))
            }
            _ => (self.limit, format!("{} connections", self.limit)),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpSummary {
    pub requests: Requests,
    pub rate: Rate,
    /// From intended send time to response end (coordinated-omission corrected).
    pub latency_ms: Percentiles,
    /// From actual send to response end (what a closed-loop tool would report).
    pub service_ms: Percentiles,
    pub send_lag_ms: LagPercentiles,
    /// Error counts by class (only non-zero classes).
    pub errors: BTreeMap<String, u64>,
    /// Response counts by HTTP status code.
    pub status: BTreeMap<String, u64>,
    /// Requests sent wrong on purpose, by tag (duplicate, bad_check_digit, ...), and how
    /// the target answered them (only tags that occurred).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub injected: BTreeMap<String, Injected>,
    /// Responses that failed the op's checks, by the check each failed first (`status in
    /// [200]`, `/code = "0000"`, `/invoice_no exists`, ...); only checks that failed. Ops
    /// only (not `overall`); absent in older summaries.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_checks: BTreeMap<String, u64>,
    /// Where the time went inside requests (live runs; empty for simulated runs and for
    /// summaries written before phases were recorded).
    #[serde(default)]
    pub phases: PhaseSummary,
}

/// Per-phase times of requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PhaseSummary {
    /// TCP connect, over the requests that opened a new connection.
    pub connect: PhasePercentiles,
    /// TLS handshake, over the requests that opened a new TLS connection (count 0 for
    /// plain-HTTP runs and for summaries written before TLS was supported).
    #[serde(default)]
    pub tls: PhasePercentiles,
    /// Request handed to the connection → response head received.
    pub ttfb: PhasePercentiles,
}

/// One phase's distribution in milliseconds; `count` is how many requests had the phase.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PhasePercentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl PhasePercentiles {
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            p50: quantile_ms(h, 0.50),
            p90: quantile_ms(h, 0.90),
            p99: quantile_ms(h, 0.99),
            max: max_ms(h),
        }
    }
}

/// The percentile `q` of a phase, if this summary keeps it (p50, p90 and p99).
impl PhasePercentiles {
    pub fn get(&self, q: Quantile) -> Option<f64> {
        [(Quantile::P50, self.p50), (Quantile::P90, self.p90), (Quantile::P99, self.p99)]
            .into_iter()
            .find_map(|(at, ms)| (at == q).then_some(ms))
    }
}

/// How the target answered one kind of deliberately wrong request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Injected {
    pub sent: u64,
    /// 2xx/3xx.
    pub accepted: u64,
    /// 4xx.
    pub rejected: u64,
    /// 5xx.
    pub server_error: u64,
    /// No response.
    pub failed: u64,
    /// What a correct service does: "reject" (invalid invoices) or "accept" (duplicates,
    /// answered with the first invoice).
    pub expected: String,
    /// Share of `sent` answered as expected.
    pub as_expected: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Requests {
    /// Arrivals the schedule intended in the span that ran (open loop); equals `sent`
    /// for closed loop.
    pub scheduled: u64,
    /// Requests that finished: `ok + errors`.
    pub sent: u64,
    /// `scheduled - sent - skipped`: dropped when the run was interrupted, or missed by a
    /// process that came up after `--start-at` (see `run.start`); 0 otherwise.
    pub unsent: u64,
    pub ok: u64,
    pub errors: u64,
    /// `errors / sent` (0 when nothing was sent).
    pub error_rate: f64,
    /// Requests that found every connection busy and waited for one.
    pub queued: u64,
    /// Arrivals not sent because their data was missing (empty capture,
    /// exhausted sequential feeder) or unusable (`unsendable`). Counted in `scheduled`,
    /// not in `sent`.
    pub skipped: u64,
    /// Of `skipped`: rendered into a request that is not valid HTTP (a path or header
    /// value with bytes HTTP forbids). 0 in older summaries.
    #[serde(default)]
    pub unsendable: u64,
    /// Responses that failed the op's checks (counted apart from `errors`).
    pub check_failed: u64,
    /// `check_failed / sent`.
    pub check_failure_rate: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rate {
    pub target_per_s: f64,
    pub achieved_per_s: f64,
}

/// A distribution in milliseconds: its percentiles by [`Quantile`], max, mean and count.
/// In summary.json each percentile is a key of its own ([`Quantile::key`]: `p50`, `p95`,
/// `p999`, `p99.99`), before `max`, `mean` and `count`.
#[derive(Debug, Clone, PartialEq)]
pub struct Percentiles {
    /// p50, p90, p99 and p99.9 always (readers of summary.json rely on them), and those
    /// asked for: the report's list, any an SLO limits.
    pub quantiles: BTreeMap<Quantile, f64>,
    pub max: f64,
    pub mean: f64,
    /// Requests behind these figures (responses and timeouts).
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LagPercentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl LagPercentiles {
    /// The percentile `q` of the send lag, if this summary keeps it (p50 and p99).
    pub fn get(&self, q: Quantile) -> Option<f64> {
        [(Quantile::P50, self.p50), (Quantile::P99, self.p99)].into_iter().find_map(|(at, ms)| (at == q).then_some(ms))
    }
}

impl Percentiles {
    /// The distribution of `h` at [`Quantile::DEFAULT`] and `also`.
    pub fn of(h: &hdrhistogram::Histogram<u64>, also: &[Quantile]) -> Self {
        let at = Quantile::DEFAULT.iter().chain(also).map(|q| (*q, quantile_ms(h, q.fraction())));
        Self {
            quantiles: at.collect(),
            max: max_ms(h),
            mean: if h.is_empty() { 0.0 } else { round3(h.mean() / 1000.0) },
            count: h.len(),
        }
    }

    /// The percentile `q` in ms, if this distribution was summarised at it.
    pub fn get(&self, q: Quantile) -> Option<f64> {
        self.quantiles.get(&q).copied()
    }

    /// One of [`Quantile::DEFAULT`], which every summary holds (0 if one read from a
    /// foreign summary.json does not).
    pub fn ms(&self, q: Quantile) -> f64 {
        self.get(q).unwrap_or(0.0)
    }
}

impl Serialize for Percentiles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.quantiles.len() + 3))?;
        for (q, ms) in &self.quantiles {
            map.serialize_entry(&q.key(), ms)?;
        }
        map.serialize_entry("max", &self.max)?;
        map.serialize_entry("mean", &self.mean)?;
        map.serialize_entry("count", &self.count)?;
        map.end()
    }
}

/// Every key that reads as a percentile ([`Quantile::parse_key`]) is one; other keys
/// (from a later version) are skipped.
impl<'de> Deserialize<'de> for Percentiles {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Percentiles;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of percentiles, max, mean and count")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Percentiles, A::Error> {
                let (mut quantiles, mut max, mut mean, mut count) = (BTreeMap::new(), None, None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "max" => max = Some(map.next_value()?),
                        "mean" => mean = Some(map.next_value()?),
                        "count" => count = Some(map.next_value()?),
                        k => match Quantile::parse_key(k) {
                            Ok(q) => {
                                quantiles.insert(q, map.next_value()?);
                            }
                            Err(_) => {
                                map.next_value::<serde::de::IgnoredAny>()?;
                            }
                        },
                    }
                }
                let field = |name| serde::de::Error::missing_field(name);
                Ok(Percentiles {
                    quantiles,
                    max: max.ok_or_else(|| field("max"))?,
                    mean: mean.ok_or_else(|| field("mean"))?,
                    count: count.ok_or_else(|| field("count"))?,
                })
            }
        }
        d.deserialize_map(V)
    }
}

impl OpSummary {
    /// Summarise `stats`, latency and service time also at `quantiles` (beyond
    /// [`Quantile::DEFAULT`]); `scheduled` and `target_per_s` come from the schedule, the
    /// achieved rate is `sent / duration_s`.
    pub fn new(stats: &Stats, quantiles: &[Quantile], scheduled: u64, target_per_s: f64, duration_s: f64) -> Self {
        let errors = stats.error_count();
        let h = &stats.hist;
        Self {
            requests: Requests {
                scheduled,
                sent: stats.sent,
                unsent: scheduled.saturating_sub(stats.sent + stats.skipped),
                ok: stats.ok,
                errors,
                error_rate: if stats.sent == 0 { 0.0 } else { errors as f64 / stats.sent as f64 },
                queued: stats.queued,
                skipped: stats.skipped,
                unsendable: stats.unsendable,
                check_failed: stats.check_failed,
                check_failure_rate: if stats.sent == 0 { 0.0 } else { stats.check_failed as f64 / stats.sent as f64 },
            },
            rate: Rate {
                target_per_s: round3(target_per_s),
                achieved_per_s: if duration_s > 0.0 { round3(stats.sent as f64 / duration_s) } else { 0.0 },
            },
            latency_ms: Percentiles::of(&h[Timing::Latency], quantiles),
            service_ms: Percentiles::of(&h[Timing::Service], quantiles),
            send_lag_ms: LagPercentiles {
                p50: quantile_ms(&h[Timing::SendLag], 0.5),
                p99: quantile_ms(&h[Timing::SendLag], 0.99),
                max: max_ms(&h[Timing::SendLag]),
            },
            errors: stats.errors_by_name(),
            status: stats.status_by_code(),
            injected: BTreeMap::new(),
            failed_checks: BTreeMap::new(),
            phases: PhaseSummary {
                connect: PhasePercentiles::of(&h[Timing::Connect]),
                tls: PhasePercentiles::of(&h[Timing::Tls]),
                ttfb: PhasePercentiles::of(&h[Timing::Ttfb]),
            },
        }
    }

    /// Fill `injected` from the tag counts; `tags` are (name, expects rejection).
    pub fn with_injected(mut self, stats: &Stats, tags: &[(String, bool)]) -> Self {
        for ((name, reject), t) in tags.iter().zip(&stats.tags) {
            if t.sent == 0 {
                continue;
            }
            let good = if *reject { t.rejected } else { t.accepted };
            self.injected.insert(
                name.clone(),
                Injected {
                    sent: t.sent,
                    accepted: t.accepted,
                    rejected: t.rejected,
                    server_error: t.server_error,
                    failed: t.failed,
                    expected: if *reject { "reject" } else { "accept" }.into(),
                    as_expected: good as f64 / t.sent as f64,
                },
            );
        }
        self
    }

    /// Fill `failed_checks` from the counts by check index; `names` are the op's checks
    /// by index (a check without a name is counted in `check_failed` only).
    pub fn with_checks(mut self, stats: &Stats, names: &[String]) -> Self {
        for &(i, n) in &stats.failed_checks {
            if let Some(name) = names.get(usize::from(i)) {
                *self.failed_checks.entry(name.clone()).or_default() += n;
            }
        }
        self
    }
}

fn default_percentiles() -> Vec<Quantile> {
    Quantile::DEFAULT.into()
}

fn is_default_percentiles(list: &[Quantile]) -> bool {
    list[..] == Quantile::DEFAULT
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// summary.json files written before phases were recorded still load.
    #[test]
    fn an_op_summary_without_phases_loads_with_empty_phases() {
        let op = OpSummary::new(&Stats::new(), &[], 0, 0.0, 1.0);
        let mut json = serde_json::to_value(&op).unwrap();
        json.as_object_mut().unwrap().remove("phases");
        let back: OpSummary = serde_json::from_value(json).unwrap();
        assert_eq!(back.phases, PhaseSummary::default());
        assert_eq!(back, op);
    }

    /// Percentiles are keys of their own, in order, the nines without their point; they
    /// read back as written.
    #[test]
    fn percentiles_are_written_by_key_and_read_back() {
        let mut stats = Stats::new();
        (1..=1000).for_each(|ms| stats.record(&crate::Sample::answered(ms, 200)));
        let extra = ["95", "99.99", "99.5"].map(|p| Quantile::parse(p).unwrap());
        let op = OpSummary::new(&stats, &extra, 1000, 0.0, 1.0);
        let text = serde_json::to_string(&op.latency_ms).unwrap();
        let keys = ["p50", "p90", "p95", "p99", "p99.5", "p999", "p9999", "max", "mean", "count"];
        let at: Vec<usize> = keys.iter().map(|k| text.find(&format!("\"{k}\":")).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json.as_object().unwrap().len(), keys.len());
        assert!((949.0..=951.0).contains(&json["p95"].as_f64().unwrap()), "{json}");
        let back: Percentiles = serde_json::from_value(json).unwrap();
        assert_eq!(back, op.latency_ms);
        let old = r#"{"p50":1.0,"p90":2.0,"p99":3.0,"p999":4.0,"max":5.0,"mean":1.5,"count":9,"later":{}}"#;
        let old: Percentiles = serde_json::from_str(old).unwrap();
        assert_eq!((old.ms(Quantile::P999), old.get(extra[0]), old.count), (4.0, None, 9));
    }

    /// summary.json files written before failed checks were named load without them, and
    /// an op's summary writes none when no check failed.
    #[test]
    fn an_op_summary_without_failed_checks_loads_and_writes_none() {
        let op = OpSummary::new(&Stats::new(), &[], 0, 0.0, 1.0).with_checks(&Stats::new(), &["status < 400".into()]);
        let json = serde_json::to_value(&op).unwrap();
        assert!(json.get("failed_checks").is_none(), "{json}");
        let back: OpSummary = serde_json::from_value(json).unwrap();
        assert_eq!(back, op);
    }

    /// summary.json files written before TLS was supported have phases without `tls`.
    #[test]
    fn phases_without_tls_load_with_an_empty_tls_phase() {
        let mut stats = Stats::new();
        stats.hist[Timing::Connect].record(150).unwrap();
        let op = OpSummary::new(&stats, &[], 0, 0.0, 1.0);
        let mut json = serde_json::to_value(&op).unwrap();
        json["phases"].as_object_mut().unwrap().remove("tls");
        let back: OpSummary = serde_json::from_value(json).unwrap();
        assert_eq!((back.phases.connect.count, back.phases.tls.count), (1, 0));
        assert_eq!(back, op);
    }
}
