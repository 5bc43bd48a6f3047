//! The fit itself, pure: from a run's per-second throughput and mean service time, the
//! low-load service time and the knee, by Little's law; and the `[model]` text.
//!
//! Below the knee a request's service time is its hold, whatever the rate; past it the
//! bottleneck resource serves at most `size / hold` per second and the rest waits, so
//! service time grows with the requests in flight (`in flight = rate x service time`).
//! The knee is where those two lines meet: `size = top throughput x low-load service
//! time`.

use std::time::Duration;

/// A second of the run can count as low load when its throughput is at most this share
/// of the run's highest: far enough below any knee that queueing adds nothing measurable.
const LOW_SHARE: f64 = 0.5;
/// Low-load requests needed, overall, for a hold worth fitting.
pub const MIN_LOW_REQUESTS: u64 = 200;
/// A second is past the knee when its mean service time is this many times the
/// low-load one: clearly queueing, not noise.
const GROWN: f64 = 2.0;
/// Seconds past the knee needed to read the top throughput from more than one second.
const MIN_SATURATED: usize = 2;

/// One second of the run, all ops together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Second {
    /// Its start, in whole seconds from the run's start.
    pub at: u64,
    /// Requests that finished in it.
    pub requests: u64,
    /// Their mean service time (from actual send), seconds.
    pub service_s: f64,
}

/// Why a run cannot be fitted.
#[derive(Debug, Clone, PartialEq)]
pub enum Unfit {
    TooFewLowLoad { requests: u64, below_per_s: f64 },
    NoKnee { seconds: usize, most_grown: f64 },
}

impl std::fmt::Display for Unfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unfit::TooFewLowLoad { requests, below_per_s } => write!(
                f,
                "too few low-load requests: {requests} finished in seconds below {below_per_s:.0}/s \
                 (half the run's top throughput), {MIN_LOW_REQUESTS} needed; start the ramp lower or hold it longer"
            ),
            Unfit::NoKnee { seconds, most_grown } => write!(
                f,
                "no ramp past the knee in the run: {seconds} second(s) with service time {GROWN}x the low-load one \
                 ({MIN_SATURATED} needed; at most {most_grown:.2}x); ramp the rate past the service's capacity"
            ),
        }
    }
}

/// What the run says about its service.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The seconds taken as low load.
    pub low: Vec<u64>,
    pub low_requests: u64,
    /// Mean service time at low load, seconds.
    pub low_service_s: f64,
    /// Median throughput of the seconds past the knee, requests/s.
    pub top_per_s: f64,
    pub saturated: usize,
    /// Requests in flight where service time starts to grow: `top_per_s x low_service_s`.
    pub knee_in_flight: f64,
    /// The bottleneck's size: the knee's in-flight, rounded, at least 1 (or, with the
    /// service's own timings, the top throughput x their mean hold: see [`Fit::held`]).
    pub size: usize,
    /// The service's own mean hold (seconds) the size came from, when it gave one.
    pub service_hold_s: Option<f64>,
}

impl Fit {
    /// Size the bottleneck by the service's own mean hold instead of the client's
    /// service time, which includes time outside the resource.
    pub fn held(&mut self, hold_s: f64) {
        self.service_hold_s = Some(hold_s);
        self.size = ((self.top_per_s * hold_s).round() as usize).max(1);
    }
}

/// Fit the low load and the knee from the run's seconds.
pub fn fit(seconds: &[Second]) -> Result<Fit, Unfit> {
    // Whether service time grew at all comes first: a run at one rate has no low load
    // either, and the knee is what it lacks.
    let fastest = seconds.iter().filter(|s| s.requests > 0).map(|s| s.service_s).fold(f64::INFINITY, f64::min);
    let grown_from_fastest = seconds.iter().filter(|s| s.requests > 0 && s.service_s >= GROWN * fastest).count();
    if grown_from_fastest < MIN_SATURATED && fastest.is_finite() {
        let most_grown = seconds.iter().filter(|s| s.requests > 0).map(|s| s.service_s / fastest).fold(0.0, f64::max);
        return Err(Unfit::NoKnee { seconds: grown_from_fastest, most_grown });
    }
    let rate = |s: &Second| s.requests as f64;
    let top = seconds.iter().map(rate).fold(0.0, f64::max);
    let below = LOW_SHARE * top;
    // Only before the service first slowed down: the run's last, partial second and a
    // ramp back down still drain the queue of the overload, at a low count per second.
    let slowed = seconds.iter().find(|s| s.requests > 0 && s.service_s >= GROWN * fastest).map_or(u64::MAX, |s| s.at);
    let low: Vec<&Second> = seconds.iter().filter(|s| s.requests > 0 && s.at < slowed && rate(s) <= below).collect();
    let low_requests: u64 = low.iter().map(|s| s.requests).sum();
    if low_requests < MIN_LOW_REQUESTS {
        return Err(Unfit::TooFewLowLoad { requests: low_requests, below_per_s: below });
    }
    let low_service_s = low.iter().map(|s| s.service_s * s.requests as f64).sum::<f64>() / low_requests as f64;
    let grown = |s: &Second| s.service_s / low_service_s;
    let mut past: Vec<f64> = seconds.iter().filter(|s| s.requests > 0 && grown(s) >= GROWN).map(rate).collect();
    if past.len() < MIN_SATURATED {
        let most_grown = seconds.iter().filter(|s| s.requests > 0).map(grown).fold(0.0, f64::max);
        return Err(Unfit::NoKnee { seconds: past.len(), most_grown });
    }
    past.sort_by(f64::total_cmp);
    let top_per_s = past[past.len() / 2];
    let knee_in_flight = top_per_s * low_service_s;
    Ok(Fit {
        low: low.iter().map(|s| s.at).collect(),
        low_requests,
        low_service_s,
        top_per_s,
        saturated: past.len(),
        knee_in_flight,
        size: (knee_in_flight.round() as usize).max(1),
        service_hold_s: None,
    })
}

/// An op's service times at low load.
#[derive(Debug, Clone, PartialEq)]
pub struct OpHold {
    pub name: String,
    /// Requests (or the service's own timings) the hold comes from.
    pub requests: u64,
    /// Whether it is the service's own timing rather than the client's service time.
    pub own: bool,
    pub p50: Duration,
    pub p99: Duration,
}

/// The name of the fitted bottleneck resource.
pub const BOTTLENECK: &str = "bottleneck";

/// The `[model]` tables of `fit`: one pool of the knee's size, each op holding it for a
/// lognormal of its low-load p50 and p99. `source` names the run in the header comment.
pub fn model_toml(fit: &Fit, holds: &[OpHold], source: &str) -> String {
    let us = |d: Duration| format!("\"{}us\"", d.as_micros().max(1));
    let mut t = format!(
        "# fitted by einv-load calibrate from {source}:\n\
         # {} low-load requests (seconds below half the top throughput), mean service {:.2} ms;\n\
         # past the knee the service finished {:.1}/s, so service time starts to grow at\n\
         # {:.1}/s x {:.2} ms = {:.2} requests in flight{}: the bottleneck holds {}.\n\
         [model.resources.{BOTTLENECK}]\nkind = \"pool\"\nsize = {}\n\
         # The service's own wait for it is not seen from outside: long enough never to end.\n\
         acquire-timeout = \"60s\"\n",
        fit.low_requests,
        fit.low_service_s * 1e3,
        fit.top_per_s,
        fit.top_per_s,
        fit.low_service_s * 1e3,
        fit.knee_in_flight,
        fit.service_hold_s
            .map_or(String::new(), |h| format!(" (x the service's own mean hold {:.2} ms instead)", h * 1e3)),
        fit.size,
        fit.size,
    );
    for h in holds {
        // A lognormal needs a spread; a hold measured flat gets the smallest.
        let p99 = h.p99.max(h.p50 + Duration::from_micros(1));
        t.push_str(&format!(
            "\n# {} {}\n[model.ops.{}]\nsteps = [{{ use = \"{BOTTLENECK}\", hold = {{ p50 = {}, p99 = {} }} }}]\n",
            h.requests,
            if h.own { "timings of the service's own" } else { "low-load requests" },
            toml_key(&h.name),
            us(h.p50),
            us(p99)
        ));
    }
    t
}

/// `name` as a TOML key: bare when it can be, quoted otherwise.
fn toml_key(name: &str) -> String {
    let bare = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { name.to_string() } else { format!("{name:?}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ramp against a pool of `size` with hold `hold_s`: flat service below
    /// `size / hold_s`, then queueing that grows second by second.
    fn ramp(size: f64, hold_s: f64, rates: &[u64]) -> Vec<Second> {
        let cap = size / hold_s;
        let mut queue = 0.0;
        let mut out = Vec::new();
        for (at, &r) in rates.iter().enumerate() {
            let served = (r as f64 + queue).min(cap);
            queue += r as f64 - served;
            out.push(Second { at: at as u64, requests: served as u64, service_s: hold_s + queue / cap });
        }
        out
    }

    #[test]
    fn the_knee_is_the_pool_size() {
        let rates = [50, 50, 60, 80, 100, 150, 200, 240, 240, 240, 240];
        let f = fit(&ramp(6.0, 0.03, &rates)).unwrap();
        assert_eq!(f.size, 6);
        assert!((f.top_per_s - 200.0).abs() < 1.0, "{f:?}");
        assert!((f.low_service_s - 0.03).abs() < 1e-9);
        assert_eq!(f.low, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_drain_after_the_knee_is_not_low_load() {
        let mut seconds = ramp(6.0, 0.03, &[50, 50, 60, 80, 100, 150, 200, 240, 240, 240, 240]);
        // The run's last, partial second: few requests, all of them queued.
        seconds.push(Second { at: 11, requests: 40, service_s: 0.5 });
        let f = fit(&seconds).unwrap();
        assert_eq!(f.low, vec![0, 1, 2, 3, 4]);
        assert_eq!(f.size, 6);
    }

    #[test]
    fn a_run_with_no_ramp_past_the_knee_is_refused() {
        let rates = [50, 50, 60, 80, 100, 150, 190];
        assert!(matches!(fit(&ramp(6.0, 0.03, &rates)), Err(Unfit::NoKnee { seconds: 0, .. })));
    }

    #[test]
    fn a_run_without_low_load_is_refused() {
        let rates = [180, 190, 240, 240, 240, 240, 240];
        assert!(matches!(fit(&ramp(6.0, 0.03, &rates)), Err(Unfit::TooFewLowLoad { .. })));
        assert!(matches!(fit(&[]), Err(Unfit::TooFewLowLoad { requests: 0, .. })));
    }

    #[test]
    fn the_model_names_every_op_and_the_size() {
        let f = fit(&ramp(6.0, 0.03, &[50, 50, 60, 80, 240, 240, 240])).unwrap();
        let holds = [OpHold {
            name: "get order".into(),
            requests: 9,
            own: false,
            p50: Duration::from_millis(30),
            p99: Duration::from_millis(30),
        }];
        let t = model_toml(&f, &holds, "run");
        let v: toml::Table = toml::from_str(&t).unwrap();
        assert_eq!(v["model"]["resources"][BOTTLENECK]["size"].as_integer(), Some(6));
        let step = &v["model"]["ops"]["get order"]["steps"][0];
        assert_eq!(step["hold"]["p50"].as_str(), Some("30000us"));
        assert_eq!(step["hold"]["p99"].as_str(), Some("30001us"));
    }
}
