use std::fmt::Write;
use std::time::Duration;

use crate::Quantile;
use crate::failures::FailedExchange;
use crate::render::check_value;
use crate::summary::{Connections, OpSummary, Summary};

/// Warnings about the validity of a run's numbers, from its overall result: nothing was
/// sent, nothing succeeded, or the send lag says the schedule was not kept.
pub(crate) fn warnings(overall: &OpSummary, lag_threshold: Duration, connections: &Connections) -> Vec<String> {
    let mut out: Vec<String> = nothing_measured(overall).into_iter().collect();
    out.extend(lag_warnings(overall, lag_threshold, connections));
    out
}

/// A run that sent nothing, or whose every request failed, has no figures to judge the
/// target by; its report must say so rather than show zeros that read as a pass.
pub fn nothing_measured(overall: &OpSummary) -> Option<String> {
    let r = &overall.requests;
    if r.sent == 0 {
        let mut why = Vec::new();
        if r.skipped > 0 {
            why.push(format!("{} skipped for want of data", r.skipped));
        }
        if r.unsent > 0 {
            why.push(format!("{} unsent", r.unsent));
        }
        let why = if why.is_empty() { String::new() } else { format!(": {}", why.join(", ")) };
        return Some(format!("no request was sent ({} scheduled{why}); nothing was measured", r.scheduled));
    }
    (r.ok == 0).then(|| {
        let classes: Vec<String> = overall.errors.iter().map(|(class, n)| format!("{class} {n}")).collect();
        format!("no request succeeded: all {} sent failed ({})", r.sent, classes.join(", "))
    })
}

/// A large send lag has two very different causes, and the remedy differs: either every
/// connection was busy (the target is slow at this concurrency: the latency figures are
/// right, and include the wait), or einv-load itself fell behind (too little CPU: the
/// target never saw the offered load, so its figures flatter it).
fn lag_warnings(overall: &OpSummary, threshold: Duration, connections: &Connections) -> Vec<String> {
    let lag = &overall.send_lag_ms;
    let limit_ms = threshold.as_secs_f64() * 1000.0;
    if overall.requests.sent == 0 || lag.p99 <= limit_ms {
        return Vec::new();
    }
    let queued = overall.requests.queued as f64 / overall.requests.sent as f64;
    let msg = if connections_were_busy(overall) {
        format!(
            "send lag p99 {:.1} ms exceeds {limit_ms:.1} ms: {:.1}% of requests waited for one of the {slots}. \
             The target could not keep up at this concurrency; latency includes the wait \
             (raise [target] {knob} if the service should take more requests in flight)",
            lag.p99,
            queued * 100.0,
            slots = connections.slots().1,
            knob = if connections.slots().0 > connections.limit { "connections or max-streams" } else { "connections" },
        )
    } else {
        format!(
            "send lag p99 {:.1} ms exceeds {limit_ms:.1} ms with free connections available: the load \
             generator itself could not keep to the schedule (CPU-bound?). The target did not see the \
             planned load; treat these numbers as optimistic",
            lag.p99
        )
    };
    vec![msg]
}

/// Whether the send lag of a run is the target's doing: 1 % or more of its requests
/// found every connection busy and waited for one. Otherwise a large lag is the
/// generator's own (too little CPU), and the latency figures carry its delay.
pub(crate) fn connections_were_busy(overall: &OpSummary) -> bool {
    let r = &overall.requests;
    r.sent > 0 && r.queued as f64 >= 0.01 * r.sent as f64
}

/// The human summary printed at the end of a run; `errors` are the failing exchanges
/// kept (errors.jsonl), of which the first per op and class is shown.
pub fn text_summary(s: &Summary, errors: &[FailedExchange], folder: &str) -> String {
    let mut out = String::new();
    let r = &s.run;
    let o = &s.overall;
    let mode = if r.mode == "replay" { "replay".to_string() } else { format!("{} loop", r.mode) };
    // A drain under 0.1 s is every run's last responses arriving: not worth a word.
    let drain = if r.drain_s >= 0.1 { format!(" + {:.1} s drain", r.drain_s) } else { String::new() };
    let threads = match r.threads {
        Some(1) => ", 1 thread".to_string(),
        Some(n) => format!(", {n} threads"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "\n{} -> {}  ({mode}, {:.1} s{drain}{threads}{})",
        r.name,
        r.target,
        r.duration_s,
        if s.interrupted {
            ", INTERRUPTED"
        } else if s.aborted.is_some() {
            ", ABORTED"
        } else {
            ""
        }
    );
    if let Some(a) = &s.aborted {
        let failed: Vec<String> = a.failed.iter().map(describe).collect();
        let _ = match a.certain {
            true => writeln!(out, "STOPPED   at {:.1} s: certain to fail: {}", a.at_s, failed.join("; ")),
            false => writeln!(
                out,
                "ABORTED   at {:.1} s (abort-on-fail, grace {:.1} s): failing on the run so far: {}",
                a.at_s,
                a.grace_s,
                failed.join("; ")
            ),
        };
    }
    if let Some(st) = &r.start {
        let _ = writeln!(out, "start     {}", crate::render::start_sentence(st));
    }
    let _ = writeln!(
        out,
        "requests  sent {} of {} scheduled, ok {}, errors {} ({:.2}%)",
        o.requests.sent,
        o.requests.scheduled,
        o.requests.ok,
        o.requests.errors,
        o.requests.error_rate * 100.0
    );
    // A closed loop has no target rate: its users send as fast as answers (and think
    // time) let them.
    let target = match r.mode.as_str() {
        "closed" => "closed loop, no target".to_string(),
        _ => format!("target {:.1}/s", o.rate.target_per_s),
    };
    let _ = writeln!(
        out,
        "rate      {target}, achieved {:.1}/s, connections opened {} (max open {} of {}){}",
        o.rate.achieved_per_s,
        s.connections.opened,
        s.connections.max_open,
        s.connections.limit,
        protocol(&s.connections)
    );
    // The label column fits the longest op name (HAR imports make long ones), at least 28.
    let op_label = |name: &str, op: &OpSummary| format!("  {name} ({})", op.requests.sent);
    let width = s.ops.iter().map(|(name, op)| op_label(name, op).chars().count() + 1).fold(28, usize::max);
    let _ = write!(out, "\n{:<width$}", "ms");
    for q in &s.percentiles {
        let _ = write!(out, " {:>9}", q.label());
    }
    let _ = writeln!(out, " {:>9}", "max");
    // One line of the table: a figure for each of the summary's percentiles (blank where
    // `get` has none), then max.
    let line = |out: &mut String, label: &str, get: &dyn Fn(Quantile) -> Option<f64>, max: f64| {
        let _ = write!(out, "{label:<width$}");
        for q in &s.percentiles {
            let _ = write!(out, " {:>9}", get(*q).map(|v| format!("{v:.3}")).unwrap_or_default());
        }
        let _ = writeln!(out, " {max:>9.3}");
    };
    let mut row = |label: &str, p: &crate::Percentiles| line(&mut out, label, &|q| p.get(q), p.max);
    row("latency", &o.latency_ms);
    row("service", &o.service_ms);
    if s.ops.len() > 1 {
        for (name, op) in &s.ops {
            row(&op_label(name, op), &op.latency_ms);
        }
    }
    for (label, p) in
        [("connect", &o.phases.connect), ("TLS handshake", &o.phases.tls), ("time to first byte", &o.phases.ttfb)]
    {
        if p.count > 0 {
            line(&mut out, &format!("{label} ({})", p.count), &|q| p.get(q), p.max);
        }
    }
    let lag = &o.send_lag_ms;
    line(&mut out, "send lag", &|q| lag.get(q), lag.max);
    if o.requests.skipped > 0 || o.requests.check_failed > 0 {
        let r = &o.requests;
        let why = match (r.skipped - r.unsendable, r.unsendable) {
            (_, 0) => "no data: empty capture or feeder".to_string(),
            (0, _) => "not valid HTTP: see the warnings".to_string(),
            (no_data, bad) => format!("{no_data} no data: empty capture or feeder; {bad} not valid HTTP"),
        };
        let _ = writeln!(
            out,
            "\nskipped   {} ({why})   check failures {} ({:.2}%)",
            r.skipped,
            r.check_failed,
            r.check_failure_rate * 100.0
        );
    }
    for (op, summary) in &s.ops {
        for (tag, i) in &summary.injected {
            let _ = writeln!(
                out,
                "injected  {op}/{tag}: {} sent, {} accepted, {} rejected, {} 5xx: {:.1}% as expected ({})",
                i.sent,
                i.accepted,
                i.rejected,
                i.server_error,
                i.as_expected * 100.0,
                i.expected
            );
        }
    }
    if !o.errors.is_empty() {
        let list: Vec<String> = o.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "\nerrors    {}", list.join(", "));
    }
    failures(&mut out, s, errors);
    if !s.slo.checks.is_empty() {
        let _ = writeln!(out, "\nSLO       {}", if s.slo.passed { "PASS" } else { "FAIL" });
        for c in &s.slo.checks {
            let verdict = if c.passed { "ok  " } else { "FAIL" };
            let _ = writeln!(out, "  {verdict} {}", describe(c));
        }
    }
    if s.stages.len() + s.stages.iter().map(|st| st.steps.len()).sum::<usize>() > 1 {
        let _ = writeln!(
            out,
            "\n{:<14} {:>24} {:>10} {:>10} {:>8} {:>10}  SLO",
            "stage", "offered", "achieved", "errors", "", "p99 ms"
        );
        for (label, st) in crate::render::stage_rows(s) {
            let o = &st.overall;
            let verdict = if st.slo.checks.is_empty() {
                ""
            } else if st.slo.passed {
                "pass"
            } else {
                "FAIL"
            };
            let _ = writeln!(
                out,
                "{label:<14} {:>24} {:>10} {:>10} {:>8} {:>10.3}  {verdict}",
                crate::render::offered(st),
                format!("{:.1}/s", o.rate.achieved_per_s),
                o.requests.errors,
                format!("{:.2}%", o.requests.error_rate * 100.0),
                o.latency_ms.ms(Quantile::P99)
            );
        }
    }
    if let Some(k) = &s.knee {
        let _ = writeln!(out, "\n{}", crate::render::knee_sentence(k));
    }
    for w in &s.warnings {
        let _ = writeln!(out, "\nWARNING: {w}");
    }
    let _ = writeln!(out, "\nreport    {folder}");
    out
}

/// Per op, what failed: the checks its responses failed first and its errors by class;
/// then the first failing exchange kept per op and class, what the service answered.
fn failures(out: &mut String, s: &Summary, errors: &[FailedExchange]) {
    let mut label = "\nfailed   ";
    for (op, o) in &s.ops {
        let checks = o.failed_checks.iter().map(|(c, n)| format!("check {c} {n}"));
        let list: Vec<String> = checks.chain(o.errors.iter().map(|(class, n)| format!("{class} {n}"))).collect();
        if !list.is_empty() {
            let _ = writeln!(out, "{label} {op}: {}", list.join(", "));
            label = "         ";
        }
    }
    let mut shown: Vec<(&str, &str)> = Vec::new();
    for e in errors {
        if shown.contains(&(e.op.as_str(), e.class.as_str())) {
            continue;
        }
        shown.push((&e.op, &e.class));
        let status = e.status.map_or(String::new(), |code| format!(" -> {code}"));
        // One short line, and no escape sequence of the service's reaches the terminal.
        let body = e.body.split_whitespace().collect::<Vec<_>>().join(" ");
        let body: String = body.chars().take(100).map(|c| if c.is_control() { '?' } else { c }).collect();
        let _ = writeln!(out, "  {} {} at {:.1} s: {}{status} {body}", e.op, e.class, e.at_s, e.request);
    }
    if !errors.is_empty() {
        let per = s.error_samples.map_or(String::new(), |n| format!(" (the first {n} per op and class)"));
        let _ = writeln!(out, "  failing exchanges{per}: errors.jsonl");
    }
}

/// One check in words, its figures as every report shows them: `latency p99 (issue)
/// 212.00 ms (limit 150.00 ms)`, `error rate 0.06% (limit 0.10%)`, or `latency p99
/// (issue) not measured: no request succeeded (limit 150.00 ms)`.
fn describe(c: &crate::SloCheck) -> String {
    let scope = if c.scope == "overall" { String::new() } else { format!(" ({})", c.scope) };
    let (bound, limit) = (c.bound().word(), check_value(c, c.threshold));
    if !c.measured {
        let what = c.metric().map_or("nothing measured", crate::Metric::unmeasured);
        return format!("{}{scope} not measured: {what} ({bound} {limit})", c.name);
    }
    format!("{}{scope} {} ({bound} {limit})", c.name, check_value(c, c.actual))
}

/// Which HTTP version the connections spoke, when any spoke HTTP/2 (HTTP/1.1 goes unsaid).
fn protocol(c: &crate::summary::Connections) -> String {
    match c.http2 {
        0 => String::new(),
        n if n == c.opened => ", HTTP/2".into(),
        n => format!(", {n} of them HTTP/2"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SloCheck;

    fn check(name: &str, unit: &str, (actual, threshold): (f64, f64), measured: bool) -> SloCheck {
        let passed = measured && actual <= threshold;
        let (name, scope, unit) = (name.to_string(), "overall".to_string(), unit.to_string());
        SloCheck { name, scope, threshold, actual, unit, passed, measured }
    }

    /// The terminal says what a user would: a share as a percentage, and no 0 ms
    /// percentile when nothing succeeded.
    #[test]
    fn verdict_lines_read_as_percentages_and_say_when_nothing_succeeded() {
        assert_eq!(describe(&check("error rate", "ratio", (0.0006, 0.001), true)), "error rate 0.06% (limit 0.10%)");
        assert_eq!(
            describe(&check("latency p99", "ms", (212.0, 150.0), true)),
            "latency p99 212.00 ms (limit 150.00 ms)"
        );
        assert_eq!(
            describe(&check("latency p99", "ms", (0.0, 150.0), false)),
            "latency p99 not measured: no request succeeded (limit 150.00 ms)"
        );
    }
}
