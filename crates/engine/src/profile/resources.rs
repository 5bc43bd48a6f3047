//! `[model.resources.NAME]` and an op's `steps`: the service's named resources, and each
//! op as a sequence of steps over them (see [`einv_poolsim::Step`] for what a step does).

use std::collections::BTreeMap;
use std::time::Duration;

use einv_poolsim::{DEFAULT_HANDOFF_DELAY, Discipline, Kind, RateLimit, Resource, Step, WhenDry};

use super::raw::{RawResource, RawStep, RawWhenDry};
use super::validate::Check;

/// The kinds a resource can be, and what each answers by default when it runs dry.
const KINDS: [(&str, u16); 4] = [("workers", 503), ("pool", 500), ("rate-limit", 429), ("cpu", 503)];

/// The named resources, in name order; each problem is reported at its key.
pub(super) fn resources(c: &mut Check, table: &str, raw: BTreeMap<String, RawResource>) -> Vec<Resource> {
    raw.into_iter().filter_map(|(name, r)| resource(c, &format!("{table}.resources.{name}"), name, r)).collect()
}

fn resource(c: &mut Check, key: &str, name: String, r: RawResource) -> Option<Resource> {
    let at = |k: &str| format!("{key}.{k}");
    // A resource without a kind is still one of the model's names: the steps that use it
    // are not a second problem.
    let unknown = Resource {
        name: name.clone(),
        kind: Kind::Pool,
        size: 1,
        acquire_timeout: None,
        queue_limit: None,
        when_dry: WhenDry::Status(500),
        discipline: Discipline::Fifo,
    };
    let Some(kind_name) = c.required(&at("kind"), r.kind.clone()) else {
        return Some(unknown);
    };
    let Some(&(_, default_status)) = KINDS.iter().find(|(k, _)| *k == kind_name) else {
        let expected = "expected \"workers\", \"pool\", \"rate-limit\" or \"cpu\"";
        c.fail(&at("kind"), format!("{expected}, got {kind_name:?}"));
        return Some(unknown);
    };
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    if kind_name == "cpu" {
        return Some(cpu(c, key, name, r));
    }
    if r.cores.is_some() {
        c.fail(&at("cores"), "applies to kind = \"cpu\" only");
    }
    let (kind, size) = if kind_name == "rate-limit" {
        for (k, set) in [("size", r.size.is_some()), ("acquire-timeout", r.acquire_timeout.is_some())] {
            if set {
                c.fail(&at(k), "does not apply to a rate limit (it has rate and burst, and refuses at once)");
            }
        }
        // A rate that is not one (NaN, above the most supported) is reported here; 0 is
        // left to the model's rules, which refuse it.
        let rate = c.required(&at("rate"), r.rate).map_or(1.0, |v| {
            let checked = c.positive_rate(&at("rate"), v);
            if checked == 0.0 && v != 0.0 { 1.0 } else { checked }
        });
        let burst = c.required(&at("burst"), r.burst).map_or(1, |b| burst(c, &at("burst"), b));
        (Kind::RateLimit(RateLimit { rate, burst }), burst as usize)
    } else {
        for (k, set) in [("rate", r.rate.is_some()), ("burst", r.burst.is_some())] {
            if set {
                c.fail(&at(k), "applies to kind = \"rate-limit\" only");
            }
        }
        let kind = if kind_name == "pool" { Kind::Pool } else { Kind::Workers };
        (kind, c.required(&at("size"), r.size).map_or(1, count))
    };
    // A pool gives up after a second unless told otherwise, as HikariCP's default 30 s
    // would never show in a test; workers wait for ever.
    let default_timeout = (kind == Kind::Pool).then_some(Duration::from_secs(1));
    // Zero is the model's rule to refuse (once); the longest is the profile's.
    let acquire_timeout = r.acquire_timeout.map(|d| c.duration(&at("acquire-timeout"), d)).or(default_timeout);
    let when_dry = match r.when_dry {
        None => WhenDry::Status(default_status),
        Some(RawWhenDry::Status(s)) if (100..=599).contains(&s) => WhenDry::Status(s as u16),
        Some(RawWhenDry::Word(w)) if w == "timeout" => WhenDry::NoAnswer,
        Some(other) => {
            let got = match other {
                RawWhenDry::Status(s) => s.to_string(),
                RawWhenDry::Word(w) => format!("{w:?}"),
            };
            c.fail(&at("when-dry"), format!("expected an HTTP status (500, 503, 429, ...) or \"timeout\", got {got}"));
            WhenDry::Status(default_status)
        }
    };
    let queue_limit = r.queue_limit.map(count);
    let discipline = discipline(c, key, &kind, r.discipline, r.handoff_delay);
    Some(Resource { name, kind, size, acquire_timeout, queue_limit, when_dry, discipline })
}

/// A bucket of `burst` tokens; one beyond the model's largest bucket is refused as written
/// (not clamped to a figure the user never wrote).
pub(super) fn burst(c: &mut Check, key: &str, burst: u64) -> u32 {
    u32::try_from(burst).unwrap_or_else(|_| {
        c.fail(key, format!("must be at most {}, got {burst}", einv_poolsim::MAX_QUEUE));
        1
    })
}

/// `kind = "cpu"`: `cores`, and none of the keys of a resource that can run dry.
fn cpu(c: &mut Check, key: &str, name: String, r: RawResource) -> Resource {
    let at = |k: &str| format!("{key}.{k}");
    let set = [
        ("size", r.size.is_some()),
        ("acquire-timeout", r.acquire_timeout.is_some()),
        ("queue-limit", r.queue_limit.is_some()),
        ("when-dry", r.when_dry.is_some()),
        ("rate", r.rate.is_some()),
        ("burst", r.burst.is_some()),
        ("discipline", r.discipline.is_some()),
        ("handoff-delay", r.handoff_delay.is_some()),
    ];
    for (k, _) in set.into_iter().filter(|(_, set)| *set) {
        c.fail(&at(k), "does not apply to kind = \"cpu\" (it has cores; a request waits for one as long as it takes)");
    }
    let cores = c.required(&at("cores"), r.cores).map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX));
    Resource {
        name,
        kind: Kind::Cpu,
        size: cores,
        acquire_timeout: None,
        queue_limit: None,
        when_dry: WhenDry::Status(503),
        discipline: Discipline::Fifo,
    }
}

/// A pool's `discipline` and `handoff-delay`.
fn discipline(
    c: &mut Check,
    key: &str,
    kind: &Kind,
    raw: Option<String>,
    delay: Option<super::raw::RawHold>,
) -> Discipline {
    let at = |k: &str| format!("{key}.{k}");
    if raw.is_some() && *kind != Kind::Pool {
        c.fail(&at("discipline"), "applies to kind = \"pool\" only");
        return Discipline::Fifo;
    }
    match raw.as_deref() {
        None | Some("fifo") => {
            if delay.is_some() {
                c.fail(&at("handoff-delay"), "applies to discipline = \"barging\" only");
            }
            Discipline::Fifo
        }
        Some("barging") => {
            let handoff_delay = delay.map_or(DEFAULT_HANDOFF_DELAY, |d| super::model::hold(c, &at("handoff-delay"), d));
            Discipline::Barging { handoff_delay }
        }
        Some(other) => {
            c.fail(&at("discipline"), format!("expected \"fifo\" or \"barging\", got {other:?}"));
            Discipline::Fifo
        }
    }
}

/// An op's `steps` over `resources`; `key` is the op's `steps` key.
pub(super) fn steps(c: &mut Check, key: &str, raw: Vec<RawStep>, resources: &[Resource]) -> Vec<Step> {
    if raw.is_empty() {
        c.fail(key, "lists no step: give at least one, e.g. { use = \"db\", hold = \"5ms\" }");
    }
    let names: Vec<&str> = resources.iter().map(|r| r.name.as_str()).collect();
    let mut out = Vec::new();
    for (i, s) in raw.into_iter().enumerate() {
        let at = |k: &str| format!("{key}[{i}].{k}");
        let hold = s.hold.map(|h| super::model::hold(c, &at("hold"), h));
        let step = match (s.resource, hold) {
            (None, None) => {
                c.fail(&format!("{key}[{i}]"), "needs `use` (a resource), `hold` (a time), or both");
                continue;
            }
            (None, Some(h)) => Step::Wait(h),
            (Some(name), hold) => {
                let Some(r) = names.iter().position(|n| *n == name) else {
                    let message = format!("no resource named {name:?} (the model has: {})", names.join(", "));
                    c.fail(&at("use"), message);
                    continue;
                };
                // Whether the resource can take a hold is the model's rule (`problems`).
                match hold {
                    Some(h) => Step::Hold(r, h),
                    None => Step::Keep(r),
                }
            }
        };
        out.push(step);
    }
    out
}
