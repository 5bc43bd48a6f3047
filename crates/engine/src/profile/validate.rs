//! Raw profile → [`Plan`]: every invariant is checked here, and every problem is
//! reported with its key path and line (all of them, not just the first).

use std::path::Path;
use std::time::Duration;

use einv_report::Quantile;
use einv_workload::{Arrivals, Stage};

use super::deserialize::{Deserialized, deserialize, parent};
use super::document::Document;
use super::raw::{HumanDuration, RawLoad, RawProfile, RawStage, RawTarget};
use super::{Endpoint, HttpUrl, Load, Plan, Protocol, Shard, Target};
use crate::error::{Error, ProfileError, ProfileErrors};

const SCHEMA: u32 = 1;
use super::{DEFAULT_PACING, MAX_CONNECTIONS, MAX_DURATION, MAX_PACING, MAX_RATE};

/// Collects problems while walking the raw profile.
pub(super) struct Check<'a> {
    pub(super) file: &'a Path,
    doc: &'a Document<'a>,
    pub(super) errors: Vec<ProfileError>,
    /// Keys deserializing reported (and took out): nothing at, in or above them is
    /// reported again, so that one mistake makes one message.
    reported: Vec<String>,
    typo_tables: &'a [String],
}

impl Check<'_> {
    pub(super) fn fail(&mut self, key: &str, message: impl Into<String>) {
        let near = |r: &String| related(r, key) || related(key, r);
        if !self.reported.iter().any(near) {
            let line = self.doc.line(key);
            self.errors.push(ProfileError::new(self.file, Some(line), key, message.into()));
        }
    }

    /// Whether deserializing already reported `key` (or a key in or above it).
    pub(super) fn was_reported(&self, key: &str) -> bool {
        self.reported.iter().any(|r| related(r, key) || related(key, r))
    }

    /// A key the profile must have; its absence is reported unless its table holds a
    /// misspelt key (most likely this one).
    pub(super) fn required<T>(&mut self, key: &str, value: Option<T>) -> Option<T> {
        let table = parent(key).to_string();
        if value.is_none() && !self.typo_tables.contains(&table) {
            let field = &key[table.len()..].trim_start_matches('.');
            self.fail(key, format!("missing field `{field}`"));
        }
        value
    }

    /// A rate of the load ([`einv_workload::check_rate`]); 0 when it is not one.
    pub(super) fn positive_rate(&mut self, key: &str, v: f64) -> f64 {
        match einv_workload::check_rate(v) {
            Ok(()) => v,
            Err(why) => {
                self.fail(key, why);
                0.0
            }
        }
    }

    /// A rate no higher than einv-load supports ([`MAX_RATE`]), for rates whose lower
    /// bound is another rule's.
    pub(super) fn rate_at_most(&mut self, key: &str, v: f64) -> f64 {
        if v > MAX_RATE {
            self.positive_rate(key, v);
            return MAX_RATE;
        }
        v
    }

    /// A duration of at most [`MAX_DURATION`] (so sums of stages cannot overflow).
    pub(super) fn duration(&mut self, key: &str, d: HumanDuration) -> Duration {
        self.checked_duration(key, d, false)
    }

    pub(super) fn nonzero(&mut self, key: &str, d: HumanDuration) -> Duration {
        self.checked_duration(key, d, true)
    }

    fn checked_duration(&mut self, key: &str, d: HumanDuration, nonzero: bool) -> Duration {
        if let Err(why) = einv_workload::check_duration(d.0, nonzero) {
            self.fail(key, why);
        }
        d.0.min(MAX_DURATION)
    }

    pub(super) fn count(&mut self, key: &str, v: i64, (min, max): (i64, i64)) -> usize {
        if v < min || v > max {
            self.fail(key, format!("must be from {min} to {max}, got {v}"));
        }
        usize::try_from(v.clamp(min, max)).unwrap_or(usize::MAX)
    }
}

/// `key` is `of` or lies inside it (`load.stage[0].rate` inside `load.stage`).
fn related(of: &str, key: &str) -> bool {
    key.strip_prefix(of).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Profile text → [`Plan`], with every problem found reported at once, in file order.
pub(super) fn plan(src: &str, file: &Path) -> Result<Plan, Error> {
    let Deserialized { doc, raw, errors, typo_tables } = deserialize(src, file)?;
    let reported = errors.iter().map(|e| e.key.clone()).collect();
    let mut c = Check { file, doc: &doc, errors, reported, typo_tables: &typo_tables };
    let plan = raw.and_then(|raw| checked(&mut c, raw));
    let mut errors = c.errors;
    match plan {
        Some(plan) if errors.is_empty() => Ok(plan),
        _ => {
            errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
            Err(Error::Profile(ProfileErrors(errors)))
        }
    }
}

/// Check every part of `raw`; the plan, if every part the plan needs is there.
fn checked(c: &mut Check, raw: RawProfile) -> Option<Plan> {
    if let Some(schema) = c.required("schema", raw.schema)
        && schema != SCHEMA
    {
        c.fail("schema", format!("unsupported schema {schema} (this einv-load reads schema = {SCHEMA})"));
    }
    let name = c.required("name", raw.name);
    if let Some(name) = &name
        && (name.trim().is_empty() || name.contains(['/', '\\']))
    {
        c.fail("name", "must be a non-empty name without slashes (it names the report folder)");
    }
    let dir = c.file.parent().unwrap_or(Path::new("."));
    let mut raw_target = c.required("target", raw.target);
    let builtin = raw_target.as_mut().and_then(|t| t.builtin.take());
    let target = raw_target.and_then(|t| target(c, t, dir, builtin.is_some()));
    let load = c.required("load", raw.load).and_then(|l| load(c, l));
    let feeders = super::ops::feeders(c, raw.feeders, dir);
    let captures = super::ops::capture_names(&raw.ops);
    let ops = super::ops::ops(c, raw.ops, &feeders, &captures);
    let workload = super::ops::workload(c, raw.workload, captures);
    let model = super::model::model(c, raw.model, builtin, &ops);
    let (mut load, max_send_lag) = load?;
    super::replay::check_trace(c, &mut load, &ops);
    if matches!(load, Load::Replay { .. }) && workload.faults.duplicate_rate > 0.0 {
        // A duplicate repeats an earlier issue of the mix; in a replay the trace decides
        // the ops, so there is no earlier issue to be sure of.
        c.fail("workload.duplicate-rate", "does not apply to mode = \"replay\" (the trace decides the ops)");
    }
    let seed = raw.seed.unwrap_or(1);
    if c.errors.is_empty()
        && let Some(why) = super::arrivals::missing(&load, seed, Shard::default())
    {
        c.fail(if matches!(load, Load::Replay { .. }) { "load.trace" } else { "load.stage" }, why);
    }
    let min_capacity = raw.slo.as_ref().and_then(|s| s.min_capacity).map(|v| c.positive_rate("slo.min-capacity", v));
    let slo = raw.slo.map(|s| super::slo::slo(c, s, &ops, load.duration())).unwrap_or_default();
    let percentiles = raw.report.and_then(|r| r.percentiles).map_or(Quantile::DEFAULT.into(), |p| percentiles(c, &p));
    let shards = raw.shards.map(|s| super::shards::spec(c, s));
    Some(Plan {
        name: name?,
        description: raw.description,
        file: c.file.into(),
        seed,
        target: target?,
        model,
        load,
        ops,
        feeders,
        workload,
        slo,
        percentiles,
        min_capacity,
        max_send_lag,
        shard: Shard::default(),
        shards,
    })
}

/// `[report] percentiles`: each a percent between 0 and 100, once; listed in order.
fn percentiles(c: &mut Check, list: &[f64]) -> Vec<Quantile> {
    if list.is_empty() {
        c.fail("report.percentiles", "lists no percentile (the default is [50, 90, 99, 99.9])");
    }
    let mut out: Vec<Quantile> = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let key = format!("report.percentiles[{i}]");
        match Quantile::from_percent(*p) {
            Ok(q) if out.contains(&q) => c.fail(&key, format!("lists {} twice", q.label())),
            Ok(q) => out.push(q),
            Err(why) => c.fail(&key, why),
        }
    }
    out.sort();
    out
}

/// `None` when the URL is missing or of the wrong type: then nothing that depends on it
/// (the TLS keys, whether `[target.builtin]` applies) can be judged.
/// More streams than this on one connection is no load test of a gateway's limits any more.
const MAX_STREAMS: i64 = 10_000;

fn target(c: &mut Check, mut t: RawTarget, dir: &Path, builtin: bool) -> Option<Target> {
    let connections = c.count("target.connections", t.connections.unwrap_or(64), (1, MAX_CONNECTIONS));
    let connect_timeout = t.connect_timeout.map_or(Duration::from_secs(2), |d| c.nonzero("target.connect-timeout", d));
    let request_timeout = t.request_timeout.map_or(Duration::from_secs(10), |d| c.nonzero("target.request-timeout", d));
    let connect_rate = t.connect_rate.map(|r| connect_rate(c, r));
    let source_addrs = source_addrs(c, t.source_addrs.take().unwrap_or_default());
    let keep_alive = t.keep_alive.unwrap_or(true);
    let protocol = match t.protocol.as_deref() {
        None | Some("http1") => Protocol::Http1,
        Some("http2") => Protocol::Http2,
        Some("auto") => Protocol::Auto,
        Some(other) => {
            c.fail("target.protocol", format!("is {other:?}; one of \"http1\", \"http2\", \"auto\""));
            Protocol::Http1
        }
    };
    let max_streams = t.max_streams.map(|n| c.count("target.max-streams", n, (1, MAX_STREAMS)));
    let url = c.required("target.url", t.url.take())?;
    let is_builtin = url == "builtin" || url == "builtin+tls";
    if builtin && !is_builtin {
        let message = "applies only when target.url = \"builtin\" (or \"builtin+tls\"); to model the service \
                       behind another URL (for `simulate`), write [model]";
        c.fail("target.builtin", message);
    }
    let endpoint = super::url::endpoint(&url);
    let endpoint = endpoint.unwrap_or_else(|message| {
        c.fail("target.url", message);
        Endpoint::Http(HttpUrl { authority: String::new(), base_path: String::new(), tls: false, secrets: Vec::new() })
    });
    // A bad URL is reported once: its scheme decides nothing about the TLS keys then.
    let tls_known = c.errors.iter().all(|e| e.key != "target.url");
    let tls = match tls_known {
        true => super::tls::options(c, &t, dir, (endpoint.tls(), is_builtin)),
        false => super::TlsOptions::default(),
    };
    Some(Target {
        endpoint,
        connections,
        connect_timeout,
        connect_rate,
        source_addrs,
        request_timeout,
        keep_alive,
        protocol,
        max_streams,
        tls,
    })
}

/// `target.connect-rate`: new connections a second, within bounds that keep the time
/// between two connects a valid, nonzero duration.
fn connect_rate(c: &mut Check, r: f64) -> f64 {
    const RANGE: (f64, f64) = (0.01, 1_000_000.0);
    if !(RANGE.0..=RANGE.1).contains(&r) {
        c.fail("target.connect-rate", format!("must be from 0.01 to 1000000 connections/s, got {r}"));
        return 1.0;
    }
    r
}

/// `target.source-addrs`: IP addresses (any: users aim at their own hosts), each once.
fn source_addrs(c: &mut Check, raw: Vec<String>) -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    for (i, text) in raw.iter().enumerate() {
        let key = format!("target.source-addrs[{i}]");
        match text.parse() {
            Ok(ip) if out.contains(&ip) => c.fail(&key, format!("lists {ip} twice")),
            Ok(ip) => out.push(ip),
            Err(_) => c.fail(&key, format!("is {text:?}, not an IP address (e.g. \"127.0.0.2\" or \"::1\")")),
        }
    }
    out
}

/// `None` when the mode is of the wrong type (what else to check depends on it) or a
/// stage could not be read.
fn load(c: &mut Check, l: RawLoad) -> Option<(Load, Duration)> {
    let max_lag = l.max_send_lag.map_or(Duration::from_millis(10), |d| c.nonzero("load.max-send-lag", d));
    if c.was_reported("load.mode") {
        return None;
    }
    let mode = l.mode.as_deref().unwrap_or("open");
    let load = match mode {
        "open" => {
            if l.duration.is_some() || l.think.is_some() {
                c.fail(
                    if l.duration.is_some() { "load.duration" } else { "load.think" },
                    "applies to mode = \"closed\"; an open-loop run lasts as long as its stages",
                );
            }
            if l.stages.is_empty() {
                c.fail("load", "an open-loop profile needs at least one [[load.stage]]");
            }
            let arrivals = match l.arrivals.as_deref().unwrap_or("uniform") {
                "uniform" => Arrivals::Uniform,
                "poisson" => Arrivals::Poisson,
                other => {
                    c.fail("load.arrivals", format!("expected \"uniform\" or \"poisson\", got {other:?}"));
                    Arrivals::Uniform
                }
            };
            let errors_before = c.errors.len();
            let stages: Vec<Option<Stage>> = l.stages.into_iter().enumerate().map(|(i, s)| stage(c, i, s)).collect();
            let stages: Option<Vec<Stage>> = stages.into_iter().collect();
            let has_arrivals = stages.iter().flatten().any(|s| match *s {
                Stage::Ramp { from, to, .. } | Stage::Steps { from, to, .. } => from > 0.0 || to > 0.0,
                Stage::Spike { base, peak, .. } => base > 0.0 || peak > 0.0,
            });
            if stages.as_ref().is_some_and(|s| !s.is_empty()) && !has_arrivals && c.errors.len() == errors_before {
                c.fail("load.stage", "every stage has rate 0: nothing would be sent");
            }
            let pacing = l.pacing.map_or(DEFAULT_PACING, |p| c.duration("load.pacing", p));
            if pacing > MAX_PACING {
                c.fail("load.pacing", format!("must be at most {}", humantime::format_duration(MAX_PACING)));
            }
            Load::Open { stages: stages?, arrivals, pacing }
        }
        "replay" => super::replay::replay(c, &l),
        "closed" => {
            if !l.stages.is_empty() {
                c.fail("load.stage", "stages apply to mode = \"open\"; a closed-loop run uses load.duration");
            }
            if l.arrivals.is_some() || l.pacing.is_some() {
                let key = if l.arrivals.is_some() { "load.arrivals" } else { "load.pacing" };
                c.fail(key, "applies to mode = \"open\"");
            }
            let duration = match l.duration {
                Some(d) => c.nonzero("load.duration", d),
                None => {
                    c.fail("load.duration", "a closed-loop profile needs a duration, e.g. duration = \"30s\"");
                    Duration::from_secs(1)
                }
            };
            Load::Closed { duration, think: l.think.map_or(Duration::ZERO, |d| c.duration("load.think", d)) }
        }
        other => {
            c.fail("load.mode", format!("expected \"open\", \"closed\" or \"replay\", got {other:?}"));
            Load::Closed { duration: Duration::from_secs(1), think: Duration::ZERO }
        }
    };
    Some((load, max_lag))
}

/// The keys each stage kind takes, besides `kind`.
const STAGE_KINDS: [(&str, &[&str]); 4] = [
    ("constant", &["rate", "duration"]),
    ("ramp", &["from", "to", "duration"]),
    ("steps", &["from", "to", "steps", "step"]),
    ("spike", &["base", "peak", "at", "width", "duration"]),
];

/// One stage; `None` when it is missing keys or its kind is unknown.
fn stage(c: &mut Check, i: usize, s: RawStage) -> Option<Stage> {
    let key = |k: &str| format!("load.stage[{i}].{k}");
    let kind = c.required(&key("kind"), s.kind.clone())?;
    let Some((_, takes)) = STAGE_KINDS.iter().find(|(k, _)| *k == kind) else {
        let kinds: Vec<&str> = STAGE_KINDS.iter().map(|(k, _)| *k).collect();
        c.fail(&key("kind"), format!("unknown variant `{kind}`, expected {}", one_of(&kinds)));
        return None;
    };
    let given = [
        ("rate", s.rate.is_some()),
        ("from", s.from.is_some()),
        ("to", s.to.is_some()),
        ("steps", s.steps.is_some()),
        ("step", s.step.is_some()),
        ("base", s.base.is_some()),
        ("peak", s.peak.is_some()),
        ("at", s.at.is_some()),
        ("width", s.width.is_some()),
        ("duration", s.duration.is_some()),
    ];
    for (field, _) in given.iter().filter(|(f, set)| *set && !takes.contains(f)) {
        c.fail(&key(field), format!("unknown field `{field}`, expected {}", one_of(takes)));
    }
    // The kind's keys must be there; the others were reported above.
    let mut need = |k: &str, v: Option<f64>| if takes.contains(&k) { c.required(&key(k), v) } else { v };
    let (rate, from, to) = (need("rate", s.rate), need("from", s.from), need("to", s.to));
    let (base, peak) = (need("base", s.base), need("peak", s.peak));
    let mut need =
        |k: &str, d: Option<HumanDuration>| if takes.contains(&k) { c.required(&key(k), d) } else { d }.map(|d| d.0);
    let (step, at, width) = (need("step", s.step), need("at", s.at), need("width", s.width));
    let duration = need("duration", s.duration);
    let steps = match takes.contains(&"steps") {
        true => c.required(&key("steps"), s.steps),
        false => s.steps,
    };
    let steps = steps.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let stage = match kind.as_str() {
        "constant" => Stage::constant(rate?, duration?),
        "ramp" => Stage::Ramp { from: from?, to: to?, duration: duration? },
        "steps" => Stage::Steps { from: from?, to: to?, steps: steps?, step: step? },
        _ => Stage::Spike { base: base?, peak: peak?, at: at?, width: width?, duration: duration? },
    };
    // The schedule's own rules; a constant stage's one rate is its ramp's `from` and `to`.
    let mut problems = stage.problems();
    if kind == "constant" {
        problems.retain(|(k, _)| *k != "to");
    }
    for (field, why) in problems {
        let field = if kind == "constant" && field == "from" { "rate" } else { field };
        c.fail(&key(field), why);
    }
    Some(stage)
}

/// serde's way of listing what it expected: `` `a` or `b` ``, `` one of `a`, `b`, `c` ``.
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [a, b] => format!("{a} or {b}"),
        _ => format!("one of {}", quoted.join(", ")),
    }
}
