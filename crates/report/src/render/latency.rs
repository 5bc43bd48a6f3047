//! index.html's latency section: one row per op on the latency clock (from the intended
//! send: what a user waited), marked where the service time or the send lag differ enough
//! to change the reading; every other clock and phase in a detail per op, closed until
//! asked for.

use std::fmt::Write;

use super::fmt::{count, ms};
use super::html::{row_start, scopes};
use crate::Quantile;
use crate::summary::{OpSummary, Summary};

/// A latency tail this much above the service tail (and by more than 1 ms) was spent
/// waiting before the send: the schedule's queue, not the service.
const WAITED: f64 = 1.25;

pub fn section(h: &mut String, s: &Summary) {
    let list = &s.percentiles;
    h.push_str(
        "<section id=\"latency\">\n<h2>Latency</h2>\n<p class=\"meta\">ms, from each request's intended send time \
         (no coordinated omission). ⚑ marks an op whose latency tail is well above its service tail (from the \
         actual send): the requests waited before they were sent. Every clock and phase is in the details \
         below the table.</p>\n<table>\n<tr><th>op</th>",
    );
    for q in list {
        let _ = write!(h, "<th>{}</th>", q.label());
    }
    h.push_str("<th>max</th><th>requests</th><th>note</th></tr>\n");
    let scopes = scopes(s);
    for (i, (scope, o)) in scopes.iter().enumerate() {
        row_start(h, i, scope);
        let p = &o.latency_ms;
        for q in list {
            let _ = write!(h, "<td>{}</td>", p.get(*q).map(ms).unwrap_or_default());
        }
        let _ =
            writeln!(h, "<td>{}</td><td>{}</td><td class=\"note\">{}</td></tr>", ms(p.max), count(p.count), note(o));
    }
    h.push_str("</table>\n");
    for (scope, o) in &scopes {
        clocks(h, s, scope, o);
    }
    h.push_str("</section>\n");
}

/// Where the latency clock alone would mislead: the tail waited before the send.
fn note(o: &OpSummary) -> String {
    let (l, sv) = (o.latency_ms.ms(Quantile::P99), o.service_ms.ms(Quantile::P99));
    if o.service_ms.count == 0 || l < sv * WAITED || l - sv < 1.0 {
        return String::new();
    }
    format!("⚑ p99 {} ms, of which service {} ms; send lag p99 {} ms", ms(l), ms(sv), ms(o.send_lag_ms.p99))
}

/// One op's every clock and phase, in a closed `<details>`.
fn clocks(h: &mut String, s: &Summary, scope: &str, o: &OpSummary) {
    let list = &s.percentiles;
    let _ = write!(h, "<details><summary>{scope}: every clock and phase</summary>\n<table>\n<tr><th>clock (ms)</th>");
    for q in list {
        let _ = write!(h, "<th>{}</th>", q.label());
    }
    h.push_str("<th>max</th><th>mean</th><th>count</th></tr>\n");
    let at = |get: &dyn Fn(Quantile) -> Option<f64>| list.iter().map(|q| get(*q)).collect::<Vec<_>>();
    for (clock, p) in [("latency", &o.latency_ms), ("service", &o.service_ms)] {
        row(h, clock, &[at(&|q| p.get(q)), vec![Some(p.max), Some(p.mean)]].concat(), Some(p.count));
    }
    let l = &o.send_lag_ms;
    row(h, "send lag", &[at(&|q| l.get(q)), vec![Some(l.max), None]].concat(), None);
    // Phases exist only for live runs, and connect only when connections were opened.
    for (phase, p) in [("connect", &o.phases.connect), ("tls", &o.phases.tls), ("ttfb", &o.phases.ttfb)] {
        if p.count > 0 {
            row(h, phase, &[at(&|q| p.get(q)), vec![Some(p.max), None]].concat(), Some(p.count));
        }
    }
    h.push_str(
        "</table>\n<p class=\"meta\">latency: from the intended send time; service: from the actual send; \
         send lag: actual minus intended send; connect: TCP connect, for the requests that opened a connection; \
         tls: TLS handshake; ttfb: request written to response head.</p>\n</details>\n",
    );
}

/// A row of a clock table: the percentiles, max and mean in ms (`None` leaves a cell
/// empty), then the count.
fn row(h: &mut String, clock: &str, cells: &[Option<f64>], n: Option<u64>) {
    let _ = write!(h, "<tr><td>{clock}</td>");
    for v in cells {
        let _ = write!(h, "<td>{}</td>", v.map(ms).unwrap_or_default());
    }
    let _ = writeln!(h, "<td>{}</td></tr>", n.map(count).unwrap_or_default());
}
