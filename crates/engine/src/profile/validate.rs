//! Raw profile → [`Plan`]: every invariant is checked here, and every problem is
//! reported with its key path and line (all of them, not just the first).

use std::path::Path;
use std::time::Duration;

use einv_poolsim::{ModelSpec, Operation, Stall};
use einv_workload::{Arrivals, Stage};

use super::locate::{fields_quoted_in, line_of, locate_exact, parse_path, path_string, serde_path};
use super::raw::{HumanDuration, RawBuiltin, RawLoad, RawProfile, RawStage, RawStall, RawTarget};
use super::{Endpoint, HttpUrl, Load, Plan, Shard, Target, profile_error};
use crate::error::{Error, ProfileError, ProfileErrors};

const SCHEMA: u32 = 1;
use super::{DEFAULT_PACING, MAX_CONNECTIONS, MAX_DURATION, MAX_PACING, MAX_RATE};

/// TOML text → raw structs; syntax errors and unknown keys come out located.
pub(super) fn deserialize(src: &str, file: &Path) -> Result<RawProfile, Error> {
    let de = toml::Deserializer::parse(src).map_err(|e| toml_error(src, file, "", &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = path_string(&serde_path(e.path()));
        toml_error(src, file, &key, e.inner()).into()
    })
}

fn toml_error(src: &str, file: &Path, key: &str, e: &toml::de::Error) -> ProfileError {
    let message = plain_words(e.message().trim());
    let key = field_key(src, key, &message);
    let mut err = profile_error(file, src, &key, message);
    // A key that is in the file is where the user looks; else the parser's span (syntax
    // errors; a missing key, where it spans the table that lacks it).
    if let Some(line) = locate_exact(src, &parse_path(&key)).or_else(|| e.span().map(|s| line_of(src, s.start))) {
        err.line = Some(line);
    }
    err
}

/// serde speaks in Rust types ("expected i64", "expected struct RawTarget"); a profile
/// author thinks in TOML values.
fn plain_words(message: &str) -> String {
    let mut out = message.to_string();
    while let Some(at) = out.find("struct Raw") {
        let end = out[at + 7..].find(|c: char| !c.is_ascii_alphanumeric()).map_or(out.len(), |i| at + 7 + i);
        out.replace_range(at..end, "a table");
    }
    for (rust, toml) in [
        ("expected i64", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected u64", "expected a whole number >= 0"),
        ("expected u32", "expected a whole number >= 0"),
    ] {
        out = out.replace(rust, toml);
    }
    out
}

/// The key path down to the field a serde error is about. serde names an unknown or missing
/// field only in the message, and inside a tagged enum (stages) it drops the field of a bad
/// value altogether; then the field is found by its value.
fn field_key(src: &str, key: &str, message: &str) -> String {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|m| m.split('`').next())
        .map(str::to_string);
    let field = named.or_else(|| match fields_quoted_in(src, &parse_path(key), message).as_slice() {
        [one] if !key.is_empty() => Some(one.clone()),
        _ => None,
    });
    match field {
        // serde_path_to_error already ends plain structs' paths with an unknown field.
        Some(f) if key == f || key.ends_with(&format!(".{f}")) => key.to_string(),
        Some(f) if key.is_empty() => f,
        Some(f) => format!("{key}.{f}"),
        None => key.to_string(),
    }
}

/// Collects problems while walking the raw profile.
pub(super) struct Check<'a> {
    pub(super) src: &'a str,
    pub(super) file: &'a Path,
    pub(super) errors: Vec<ProfileError>,
}

impl Check<'_> {
    pub(super) fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(profile_error(self.file, self.src, key, message));
    }

    pub(super) fn positive_rate(&mut self, key: &str, v: f64) -> f64 {
        if !v.is_finite() || v < 0.0 {
            self.fail(key, format!("must be a rate >= 0 requests/s, got {v}"));
            return 0.0;
        }
        if v > MAX_RATE {
            self.fail(key, format!("{v} requests/s is more than einv-load supports ({MAX_RATE})"));
            return MAX_RATE;
        }
        v
    }

    /// A duration of at most [`MAX_DURATION`] (so sums of stages cannot overflow).
    pub(super) fn duration(&mut self, key: &str, d: HumanDuration) -> Duration {
        if d.0 > MAX_DURATION {
            self.fail(key, format!("must be at most {}", humantime::format_duration(MAX_DURATION)));
            return MAX_DURATION;
        }
        d.0
    }

    pub(super) fn nonzero(&mut self, key: &str, d: HumanDuration) -> Duration {
        if d.0.is_zero() {
            self.fail(key, "must be longer than 0s");
        }
        self.duration(key, d)
    }

    pub(super) fn count(&mut self, key: &str, v: i64, (min, max): (i64, i64)) -> usize {
        if v < min || v > max {
            self.fail(key, format!("must be from {min} to {max}, got {v}"));
        }
        usize::try_from(v.clamp(min, max)).unwrap_or(usize::MAX)
    }
}

pub(super) fn plan(raw: RawProfile, src: &str, file: &Path) -> Result<Plan, Error> {
    let mut c = Check { src, file, errors: Vec::new() };
    if raw.schema != SCHEMA {
        c.fail("schema", format!("unsupported schema {} (this einv-load reads schema = {SCHEMA})", raw.schema));
    }
    if raw.name.trim().is_empty() || raw.name.contains(['/', '\\']) {
        c.fail("name", "must be a non-empty name without slashes (it names the report folder)");
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let target = target(&mut c, raw.target, dir);
    let load = load(&mut c, raw.load);
    let feeders = super::ops::feeders(&mut c, raw.feeders, dir);
    let pools = super::ops::pool_names(&raw.ops);
    let ops = super::ops::ops(&mut c, raw.ops, &feeders, &pools);
    let workload = super::ops::workload(&mut c, raw.workload, pools);
    let (mut load, max_send_lag) = load;
    super::replay::check_trace(&mut c, &mut load, &ops);
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
    let slo = raw.slo.map(|s| super::slo::slo(&mut c, s, &ops, load.duration())).unwrap_or_default();
    if !c.errors.is_empty() {
        return Err(Error::Profile(ProfileErrors(c.errors)));
    }
    Ok(Plan {
        name: raw.name,
        description: raw.description,
        file: file.into(),
        seed,
        target,
        load,
        ops,
        feeders,
        workload,
        slo,
        max_send_lag,
        shard: Shard::default(),
    })
}

fn target(c: &mut Check, mut t: RawTarget, dir: &Path) -> Target {
    let connections = c.count("target.connections", t.connections.unwrap_or(64), (1, MAX_CONNECTIONS));
    let is_builtin = t.url == "builtin" || t.url == "builtin+tls";
    let builtin = match t.builtin.take() {
        Some(b) if !is_builtin => {
            c.fail("target.builtin", "applies only when target.url = \"builtin\" (or \"builtin+tls\")");
            builtin(c, b)
        }
        Some(b) => builtin(c, b),
        None => (ModelSpec::default(), 1),
    };
    let endpoint = super::url::endpoint(&t.url, builtin).unwrap_or_else(|message| {
        c.fail("target.url", message);
        Endpoint::Http(HttpUrl { authority: String::new(), base_path: String::new(), tls: false })
    });
    // A bad URL is reported once: its scheme decides nothing about the TLS keys then.
    let tls_known = c.errors.iter().all(|e| e.key != "target.url");
    let tls = match tls_known {
        true => super::tls::options(c, &t, dir, (endpoint.tls(), is_builtin)),
        false => super::TlsOptions::default(),
    };
    let connect_timeout = t.connect_timeout.map_or(Duration::from_secs(2), |d| c.nonzero("target.connect-timeout", d));
    let request_timeout = t.request_timeout.map_or(Duration::from_secs(10), |d| c.nonzero("target.request-timeout", d));
    let keep_alive = t.keep_alive.unwrap_or(true);
    Target { endpoint, connections, connect_timeout, request_timeout, keep_alive, tls }
}

fn builtin(c: &mut Check, b: RawBuiltin) -> (ModelSpec, usize) {
    let d = ModelSpec::default();
    let mut window = |key: &str, s: RawStall| {
        let every = c.nonzero(&format!("target.builtin.{key}.every"), s.every);
        let length = c.nonzero(&format!("target.builtin.{key}.for"), s.length);
        if length >= every {
            c.fail(&format!("target.builtin.{key}.for"), "must be shorter than `every`");
        }
        Stall { every, length }
    };
    let stall = b.stall.map(|s| window("stall", s));
    let error_burst = b.error_burst.map(|s| window("error-burst", s));
    let reset_rate = b.reset_rate.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&reset_rate) {
        c.fail("target.builtin.reset-rate", format!("must be a fraction from 0 to 1, got {reset_rate}"));
    }
    let mut spec = ModelSpec {
        pool_size: b.pool_size.map_or(d.pool_size, |n| c.count("target.builtin.pool-size", n, (1, 1_000_000))),
        acquire_timeout: b
            .acquire_timeout
            .map_or(d.acquire_timeout, |t| c.nonzero("target.builtin.acquire-timeout", t)),
        stall,
        error_burst,
        reset_rate: reset_rate.clamp(0.0, 1.0),
        ..d
    };
    let service = super::model::RawService {
        workers: b.workers,
        queue_limit: b.queue_limit,
        overhead: b.overhead,
        rate_limit: b.rate_limit,
        slow_body: b.slow_body,
    };
    super::model::service(c, service, &mut spec);
    let holds = [
        (Operation::Issue, "issue-hold", b.issue_hold),
        (Operation::Query, "query-hold", b.query_hold),
        (Operation::RedFlush, "red-flush-hold", b.red_flush_hold),
        (Operation::VerifyTaxpayer, "verify-hold", b.verify_hold),
        (Operation::Download, "download-hold", b.download_hold),
        (Operation::PaymentCallback, "callback-hold", b.callback_hold),
    ];
    for (op, key, hold) in holds {
        if let Some(hold) = hold {
            let hold = super::model::hold(c, &format!("target.builtin.{key}"), hold);
            spec.set_hold(op, hold);
        }
    }
    (spec, b.threads.map_or(1, |n| c.count("target.builtin.threads", n, (1, 256))))
}

fn load(c: &mut Check, l: RawLoad) -> (Load, Duration) {
    let max_lag = l.max_send_lag.map_or(Duration::from_millis(10), |d| c.nonzero("load.max-send-lag", d));
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
            let stages: Vec<Stage> = l.stages.into_iter().enumerate().map(|(i, s)| stage(c, i, s)).collect();
            let has_arrivals = stages.iter().any(|s| match *s {
                Stage::Ramp { from, to, .. } | Stage::Steps { from, to, .. } => from > 0.0 || to > 0.0,
                Stage::Spike { base, peak, .. } => base > 0.0 || peak > 0.0,
            });
            if !stages.is_empty() && !has_arrivals && c.errors.len() == errors_before {
                c.fail("load.stage", "every stage has rate 0: nothing would be sent");
            }
            let pacing = l.pacing.map_or(DEFAULT_PACING, |p| c.duration("load.pacing", p));
            if pacing > MAX_PACING {
                c.fail("load.pacing", format!("must be at most {}", humantime::format_duration(MAX_PACING)));
            }
            Load::Open { stages, arrivals, pacing }
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
    (load, max_lag)
}

fn stage(c: &mut Check, i: usize, s: RawStage) -> Stage {
    let key = |k: &str| format!("load.stage[{i}].{k}");
    match s {
        RawStage::Constant { rate, duration } => {
            Stage::constant(c.positive_rate(&key("rate"), rate), c.nonzero(&key("duration"), duration))
        }
        RawStage::Ramp { from, to, duration } => Stage::Ramp {
            from: c.positive_rate(&key("from"), from),
            to: c.positive_rate(&key("to"), to),
            duration: c.nonzero(&key("duration"), duration),
        },
        RawStage::Steps { from, to, steps, step } => Stage::Steps {
            from: c.positive_rate(&key("from"), from),
            to: c.positive_rate(&key("to"), to),
            steps: u32::try_from(c.count(&key("steps"), steps, (1, 10_000))).unwrap_or(u32::MAX),
            step: c.nonzero(&key("step"), step),
        },
        RawStage::Spike { base, peak, at, width, duration } => {
            let errors_before = c.errors.len();
            let (at, width, duration) =
                (c.duration(&key("at"), at), c.nonzero(&key("width"), width), c.nonzero(&key("duration"), duration));
            if c.errors.len() == errors_before && at + width > duration {
                c.fail(&key("width"), "the spike (at + width) must end within the stage's duration");
            }
            Stage::Spike {
                base: c.positive_rate(&key("base"), base),
                peak: c.positive_rate(&key("peak"), peak),
                at,
                width,
                duration,
            }
        }
    }
}
