//! `[model.resources.NAME]` and an op's `steps`: the service's named resources, and each
//! op as a sequence of steps over them (see [`einv_poolsim::Step`] for what a step does).

use std::collections::BTreeMap;
use std::time::Duration;

use einv_poolsim::{Kind, RateLimit, Resource, Step, WhenDry};

use super::raw::{RawResource, RawStep, RawWhenDry};
use super::validate::Check;

/// The kinds a resource can be, and what each answers by default when it runs dry.
const KINDS: [(&str, u16); 3] = [("workers", 503), ("pool", 500), ("rate-limit", 429)];

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
    };
    let Some(kind_name) = c.required(&at("kind"), r.kind) else {
        return Some(unknown);
    };
    let Some(&(_, default_status)) = KINDS.iter().find(|(k, _)| *k == kind_name) else {
        c.fail(&at("kind"), format!("expected \"workers\", \"pool\" or \"rate-limit\", got {kind_name:?}"));
        return Some(unknown);
    };
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
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
        let burst = c.required(&at("burst"), r.burst).unwrap_or(1);
        // Beyond u32 is beyond the model's largest bucket: say so with the value written.
        let burst = u32::try_from(burst).unwrap_or_else(|_| {
            c.fail(&at("burst"), format!("must be at most {}, got {burst}", einv_poolsim::MAX_QUEUE));
            1
        });
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
    Some(Resource { name, kind, size, acquire_timeout, queue_limit, when_dry })
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
                match (hold, &resources[r].kind) {
                    (Some(_), Kind::RateLimit(_)) => {
                        c.fail(&at("hold"), "a rate limit is passed at once: it takes no hold");
                        continue;
                    }
                    (Some(h), _) => Step::Hold(r, h),
                    (None, _) => Step::Keep(r),
                }
            }
        };
        out.push(step);
    }
    out
}
