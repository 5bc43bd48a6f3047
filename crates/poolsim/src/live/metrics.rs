//! `GET /metrics`: the service's gauges in Prometheus' text format: every resource's
//! (`einv_resource_*{resource="NAME"}`), and the first pool's and workers' under the
//! older HikariCP-style names (`einv_pool_*`, `einv_workers_*`) that scripts read.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use hyper::Response;

use super::handler::State;
use super::resources::Live;
use crate::Kind;

pub(super) fn render(state: &State) -> Response<Bytes> {
    let mut text = String::new();
    let mut family = |name: &str, kind: &str, help: &str, series: &[(String, u64)]| {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in series {
            let _ = writeln!(text, "{name}{labels} {value}");
        }
    };
    let res = &state.resources;
    let first = |kind: Kind| res.iter().find(|r| r.def.kind == kind);
    let total = |f: fn(&Live) -> bool, count: fn(&Live) -> u64| res.iter().filter(|r| f(r)).map(count).sum::<u64>();
    let refused = |r: &Live| r.refused.load(Ordering::Relaxed);
    let one = |v: u64| [(String::new(), v)];
    let requests = state.requests.load(Ordering::Relaxed);
    family("einv_requests_total", "counter", "Requests received (/metrics left out).", &one(requests));
    if let Some(pool) = first(Kind::Pool) {
        let (active, pending) = pool.gauges();
        let size = pool.def.size as u64;
        family("einv_pool_size", "gauge", "Connections in the pool.", &one(size));
        family("einv_pool_active", "gauge", "Connections in use.", &one(active as u64));
        family("einv_pool_idle", "gauge", "Connections free.", &one(size.saturating_sub(active as u64)));
        family("einv_pool_pending", "gauge", "Requests waiting for a connection.", &one(pending as u64));
        let timeouts = pool.timeouts.load(Ordering::Relaxed);
        family("einv_pool_timeouts_total", "counter", "Requests that gave up waiting (HTTP 500).", &one(timeouts));
    }
    family("einv_invoices_issued_total", "counter", "Invoices issued.", &one(state.issued()));
    let (busy, queued) = first(Kind::Workers).map_or((0, 0), Live::gauges);
    family("einv_workers_busy", "gauge", "Request workers serving a request.", &one(busy as u64));
    family("einv_workers_queued", "gauge", "Requests waiting for a worker.", &one(queued as u64));
    let limited = total(|r| matches!(r.def.kind, Kind::RateLimit(_)), refused);
    family("einv_rate_limited_total", "counter", "Requests refused by a rate limit (HTTP 429).", &one(limited));
    let full = total(|r| !matches!(r.def.kind, Kind::RateLimit(_)), refused);
    family("einv_queue_full_total", "counter", "Requests refused because a queue was full (HTTP 503).", &one(full));
    let per = |f: &dyn Fn(&Live) -> u64| -> Vec<(String, u64)> {
        res.iter().map(|r| (format!("{{resource=\"{}\"}}", label(&r.def.name)), f(r))).collect()
    };
    family(
        "einv_resource_size",
        "gauge",
        "Units of each resource (a rate limit's burst).",
        &per(&|r| r.def.size as u64),
    );
    family("einv_resource_active", "gauge", "Units of each resource in use.", &per(&|r| r.gauges().0 as u64));
    family("einv_resource_pending", "gauge", "Requests waiting for each resource.", &per(&|r| r.gauges().1 as u64));
    let timeouts = |r: &Live| r.timeouts.load(Ordering::Relaxed);
    family(
        "einv_resource_timeouts_total",
        "counter",
        "Requests that gave up waiting for each resource.",
        &per(&timeouts),
    );
    family("einv_resource_refused_total", "counter", "Requests each resource refused at once.", &per(&refused));
    let (connections, refused) = state.connections.gauges();
    family("einv_connections_open", "gauge", "Client connections open.", &one(connections as u64));
    family("einv_connections_max", "gauge", "Connections served at once at most.", &one(state.connections.max as u64));
    let help = "Connections refused because max-connections were open (HTTP 503).";
    family("einv_connections_refused_total", "counter", help, &one(refused));
    let mut resp = Response::new(Bytes::from(text));
    resp.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"));
    resp
}

/// A resource name as a Prometheus label value.
fn label(name: &str) -> String {
    name.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
