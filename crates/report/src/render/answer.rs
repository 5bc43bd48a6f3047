//! The one sentence at the top of index.html that answers the question a run was made to
//! answer: did it hold the load, at what latency; for a ramp, where it broke and what
//! failed first. Worded from the summary and the timeseries, nothing else.

use super::fmt::{check_value, count, pct};
use crate::Quantile;
use crate::outcome::ErrorClass;
use crate::slo::{Metric, SloCheck};
use crate::summary::Summary;
use crate::text::nothing_measured;
use crate::timeseries::TimeseriesRow;

/// The answer, ending with a full stop.
pub fn answer(s: &Summary, rows: &[TimeseriesRow]) -> String {
    if let Some(nothing) = nothing_measured(&s.overall) {
        return format!("{}.", capitalized(&nothing));
    }
    let first_errors = first_errors(s, rows);
    if let Some(k) = &s.knee {
        let c = &k.check;
        let scope = if c.scope == "overall" { String::new() } else { format!(" of {}", c.scope) };
        return format!(
            "{}{scope} crossed {} at {} offered, {:.0} s in; {first_errors}.",
            capitalized(&c.name),
            check_value(c, c.threshold),
            rate(k.offered_per_s),
            k.at_s
        );
    }
    let o = &s.overall;
    let (name, figure) = quoted_latency(s);
    let latency = format!("{name} {figure:.1} ms");
    let span = span(s.run.duration_s);
    let offered = o.rate.target_per_s;
    let achieved = o.rate.achieved_per_s;
    let load = if offered <= 0.0 {
        format!("{} achieved for {span} (closed loop, {} connections)", rate(achieved), count(s.connections.limit))
    } else if achieved >= 0.95 * offered {
        format!("held {} for {span}", rate(achieved))
    } else {
        format!("achieved only {} of {} offered over {span}", rate(achieved), rate(offered))
    };
    let peak = peak_offered(s)
        .filter(|p| *p > offered * 1.05)
        .map_or(String::new(), |p| format!(" (peak {} offered)", rate(p)));
    let errors = if o.requests.errors > 0 { format!(", errors {}", pct(o.requests.error_rate)) } else { String::new() };
    let verdict = match s.slo.checks.iter().find(|c| !c.passed) {
        None if s.slo.checks.is_empty() => "no SLO set".to_string(),
        None => "SLO passed".to_string(),
        Some(c) => format!("SLO failed: {}", failed_check(c)),
    };
    let mut out = format!("{}{peak} at {latency}{errors}; {verdict}", capitalized(&load));
    if o.requests.errors > 0 {
        out.push_str(&format!("; {first_errors}"));
    }
    out.push('.');
    out
}

/// The latency figure the sentence quotes: the percentile the SLO limits overall (the
/// highest, if several), else p99.
fn quoted_latency(s: &Summary) -> (String, f64) {
    let q = latency_limits(s).map(|(q, _)| q).max().unwrap_or(Quantile::P99);
    (q.label(), s.overall.latency_ms.ms(q))
}

/// A rate as people say it: "10,550/s", "12.5/s".
fn rate(v: f64) -> String {
    if v >= 100.0 { format!("{}/s", count(v.round() as u64)) } else { format!("{v:.1}/s") }
}

/// The overall latency percentiles the SLO limits, with their limits in ms: what the
/// timeline draws as limit lines too.
pub fn latency_limits(s: &Summary) -> impl Iterator<Item = (Quantile, f64)> + '_ {
    s.slo.checks.iter().filter(|c| c.scope == "overall").filter_map(|c| match Metric::from_name(&c.name) {
        Some(Metric::Percentile(q)) => Some((q, c.threshold)),
        _ => None,
    })
}

/// "62 s", "5 min", "1 h 30 min".
fn span(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..120 => format!("{s} s"),
        120..3600 if s.is_multiple_of(60) => format!("{} min", s / 60),
        120..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// The highest rate any stage offered, where the schedule has stages.
fn peak_offered(s: &Summary) -> Option<f64> {
    s.stages.iter().map(|st| st.from_per_s.max(st.to_per_s)).reduce(f64::max)
}

fn failed_check(c: &SloCheck) -> String {
    if !c.measured {
        return format!("{} not measured", c.name);
    }
    let scope = if c.scope == "overall" { String::new() } else { format!(" ({})", c.scope) };
    format!("{}{scope} {} against {}", c.name, check_value(c, c.actual), check_value(c, c.threshold))
}

/// What failed first and when: a simulated pool's first acquire timeout, else the first
/// interval with errors and its most frequent class.
fn first_errors(s: &Summary, rows: &[TimeseriesRow]) -> String {
    if let Some(t) = s.pool.as_ref().and_then(|p| p.first_timeout_s) {
        return format!("first errors: database pool timeouts at {t:.0} s");
    }
    let first = rows.iter().find(|r| r.errors > 0).and_then(|r| {
        let (i, _) = r.errors_by_class.iter().enumerate().max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))?;
        Some((ErrorClass::ALL[i].as_str(), r.start_s))
    });
    match first {
        Some((class, at)) => format!("first errors: {class} at {at:.0} s"),
        None => "no errors".to_string(),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(62.4), "62 s");
        assert_eq!(span(300.0), "5 min");
        assert_eq!(span(330.0), "5 min 30 s");
        assert_eq!(span(5400.0), "1 h 30 min");
        assert_eq!((rate(10_550.2), rate(12.46)), ("10,550/s".to_string(), "12.5/s".to_string()));
    }
}
