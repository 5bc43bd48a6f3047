//! What breaks first: for the failing step at the boundary, the first limit that failed
//! and the likely cause from the evidence (statuses, error classes, client-side waits,
//! the TLS phase, the model's or the built-in target's own gauges), with the figures.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use einv_report::{BreaksFirst, Cause, OpSummary, Quantile, SloCheck, Summary};

use super::step::measured;

/// The built-in target's counters (`/metrics`), read after a step: name → value.
pub(crate) type Metrics = BTreeMap<String, f64>;

/// Read the built-in target's `/metrics`; empty when it does not answer.
pub(crate) fn read_metrics(addr: SocketAddr) -> Metrics {
    let read = || -> std::io::Result<String> {
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nhost: einv\r\nconnection: close\r\n\r\n")?;
        let mut text = String::new();
        s.take(1 << 20).read_to_string(&mut text)?;
        Ok(text)
    };
    let text = read().unwrap_or_default();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Counter increases from `before` to `after`.
pub(crate) fn delta(before: &Metrics, after: &Metrics) -> Metrics {
    // A counter's name ends in _total; its labels (`{resource="db"}`) come after.
    let counters = after.iter().filter(|(k, _)| k.split('{').next().is_some_and(|n| n.ends_with("_total")));
    counters.map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0))).collect()
}

/// What broke first in the failing step `s` at `rate`; `server`: the built-in target's
/// counter increases over the step, when read; `queue`: which queue of the built-in
/// target's model binds first ([`Cause::PoolQueue`] or [`Cause::WorkerQueue`]), when the
/// target is the built-in one; `saturated`: a simulated step that failed by the model's
/// use alone (at or over 1), and what gives first then; `tightest`: the model's resource
/// of least capacity, named when no resource was seen running dry.
pub(crate) fn analyse(
    s: &Summary,
    rate: f64,
    server: Option<&Metrics>,
    (queue, tightest): (Option<Cause>, Option<String>),
    saturated: Option<(f64, Cause)>,
) -> Option<BreaksFirst> {
    let resource = dry_resource(s, server).or(tightest);
    let stage = measured(s)?;
    let o = &stage.overall;
    let Some(limit) = first_limit(s) else {
        // No limit failed yet: the one nearest its limit is the one the growing queue
        // takes first.
        let (u, cause) = saturated?;
        let near = |c: &&SloCheck| if c.threshold > 0.0 { c.actual / c.threshold } else { 0.0 };
        let limit = stage.slo.checks.iter().filter(|c| c.measured).max_by(|a, b| near(a).total_cmp(&near(b)))?.clone();
        let evidence = vec![format!(
            "the model is {:.0} % used at {rate:.0}/s: past 100 % its queue grows without end, whatever the \
             percentiles of a short run say",
            u * 100.0
        )];
        return Some(BreaksFirst { offered_per_s: rate, limit, cause, evidence, resource });
    };
    let (mut cause, mut evidence) = cause(o, &limit);
    if let Some(p) = &s.pool {
        // The model says which queue it was.
        cause = match cause {
            Cause::Queueing if p.max_queued > 0 => Cause::WorkerQueue,
            Cause::Queueing if p.max_pending > 0 => Cause::PoolQueue,
            c => c,
        };
        evidence.push(format!(
            "model: pool of {}, peak mean active {:.1}, max pending {}, acquire timeouts {}, 503 queue full {}, 429 rate \
             limited {}",
            p.size, p.peak_mean_active, p.max_pending, p.timeouts, p.queue_full, p.rate_limited
        ));
    } else if cause == Cause::Queueing
        && let Some(q) = queue
    {
        // The live built-in target: its model says which queue binds first.
        cause = q;
    }
    if let Some(m) = server.filter(|m| !m.is_empty()) {
        let get = |k: &str| m.get(k).copied().unwrap_or(0.0);
        evidence.push(format!(
            "built-in target /metrics over the step: pool acquire timeouts {}, worker queue full {}, rate limited {}, \
             connections refused {}",
            get("einv_pool_timeouts_total"),
            get("einv_queue_full_total"),
            get("einv_rate_limited_total"),
            get("einv_connections_refused_total")
        ));
    }
    if let Some(a) = &s.aborted {
        evidence.push(format!("the step stopped early at {:.1} s, certain to fail", a.at_s));
    }
    Some(BreaksFirst { offered_per_s: rate, limit, cause, evidence, resource })
}

/// The resource that ran dry first in a step: the simulated one's earliest, or the live
/// built-in target's that failed the most requests over the step.
fn dry_resource(s: &Summary, server: Option<&Metrics>) -> Option<String> {
    if let Some(r) = s.pool.as_ref().and_then(|p| einv_report::ResourceSummary::first_dry(&p.resources)) {
        return Some(r.name.clone());
    }
    let m = server?;
    let mut failed: BTreeMap<&str, f64> = BTreeMap::new();
    for (key, v) in m {
        let Some(labels) =
            ["einv_resource_timeouts_total", "einv_resource_refused_total"].iter().find_map(|n| key.strip_prefix(n))
        else {
            continue;
        };
        let name = labels.strip_prefix("{resource=\"").and_then(|l| l.strip_suffix("\"}")).unwrap_or(labels);
        *failed.entry(name).or_default() += v;
    }
    let (name, n) = failed.into_iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
    (n > 0.0).then(|| name.to_string())
}

/// The first limit to fail: the one whose second first crossed it (the knee), else the
/// failed check furthest over its limit; with the measuring stage's final figures, or
/// those of the moment a step stopped early.
fn first_limit(s: &Summary) -> Option<SloCheck> {
    let mut failed: Vec<&SloCheck> = measured(s)?.slo.checks.iter().filter(|c| !c.passed).collect();
    if failed.is_empty()
        && let Some(a) = &s.aborted
    {
        failed = a.failed.iter().collect();
    }
    if let Some(k) = &s.knee
        && let Some(c) = failed.iter().find(|c| c.name == k.check.name && c.scope == k.check.scope)
    {
        return Some((*c).clone());
    }
    let over = |c: &&SloCheck| if c.threshold > 0.0 { c.actual / c.threshold } else { f64::INFINITY };
    failed.into_iter().max_by(|a, b| over(a).total_cmp(&over(b))).cloned()
}

/// Whether the failed latency `limit` is met by the service time: the wait was the client's.
fn client_side(o: &OpSummary, limit: &SloCheck) -> bool {
    let service = &o.service_ms;
    let figure = match limit.metric() {
        Some(einv_report::Metric::Percentile(q)) => match service.get(q) {
            Some(ms) => ms,
            None => return false,
        },
        Some(einv_report::Metric::Max) => service.max,
        _ => return false,
    };
    let waited = o.requests.queued > 0 || o.send_lag_ms.p99 > 1.0;
    waited && figure <= limit.threshold
}

/// The likely cause, and the figures that say so.
fn cause(o: &OpSummary, limit: &SloCheck) -> (Cause, Vec<String>) {
    let sent = o.requests.sent.max(1) as f64;
    let share = |n: u64| format!("{} of {} ({:.1} %)", n, o.requests.sent, n as f64 / sent * 100.0);
    let status = |code: &str| o.status.get(code).copied().unwrap_or(0);
    let class = |name: &str| o.errors.get(name).copied().unwrap_or(0);
    let other_5xx: u64 = o
        .status
        .iter()
        .filter(|(k, _)| k.starts_with('5') && !["500", "503"].contains(&k.as_str()))
        .map(|(_, n)| n)
        .sum();
    let connect = class("connect_refused") + class("connect_timeout") + class("connect_error") + class("reset");
    let mut candidates = [
        (Cause::PoolExhausted, status("500"), "HTTP 500"),
        (Cause::WorkerQueueFull, status("503"), "HTTP 503"),
        (Cause::RateLimited, status("429"), "HTTP 429"),
        (Cause::Timeouts, class("timeout"), "timeouts"),
        (Cause::ConnectErrors, connect, "connect errors and resets"),
        (Cause::ServerErrors, other_5xx, "other 5xx"),
        (
            Cause::ClientErrors,
            o.status.iter().filter(|(k, _)| k.starts_with('4') && *k != "429").map(|(_, n)| n).sum(),
            "4xx",
        ),
    ];
    candidates.sort_by_key(|c| std::cmp::Reverse(c.1));
    let mut evidence: Vec<String> =
        candidates.iter().filter(|c| c.1 > 0).map(|(_, n, what)| format!("{what}: {}", share(*n))).collect();
    let lag = &o.send_lag_ms;
    evidence.push(format!(
        "client: {} waited for a connection, send lag p99 {:.2} ms (max {:.2} ms)",
        share(o.requests.queued),
        lag.p99,
        lag.max
    ));
    let tls = &o.phases.tls;
    if tls.count > 0 {
        evidence.push(format!("TLS handshakes: {}, p99 {:.2} ms", tls.count, tls.p99));
    }
    evidence.push(format!(
        "latency p50 {:.2} ms, p99 {:.2} ms; service p99 {:.2} ms",
        o.latency_ms.ms(Quantile::P50),
        o.latency_ms.ms(Quantile::P99),
        o.service_ms.ms(Quantile::P99)
    ));
    // Errors decide when they are what failed, or when they are more than a trace.
    let errors_matter = limit.metric() == Some(einv_report::Metric::ErrorRate) || o.requests.error_rate >= 0.01;
    let cause = match candidates[0] {
        (cause, n, _) if n > 0 && errors_matter => cause,
        // Latency from the intended send failed, service time from the actual send would
        // not have: the time was lost on the client side (waiting for a connection, a
        // generator behind its schedule), not in the service.
        _ if client_side(o, limit) => Cause::ClientConnections,
        _ if tls.count > 0 && tls.p99 > 0.25 * o.latency_ms.ms(Quantile::P99) => Cause::TlsHandshakes,
        _ => Cause::Queueing,
    };
    (cause, evidence)
}
