//! index.html: one self-contained page (inline CSS and SVG, no script, no fonts, nothing
//! fetched) that opens in any browser: the verdict, the answer in one sentence and the
//! latency-over-time chart first (inside the first screen at 1366x768), then the detail.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::Chart;
use super::answer::answer;
use super::fmt::{
    Verdict, check_cells, count, esc, knee_sentence, ms, offered, pct, rate, slo_verdict, stage_rows, start_sentence,
    stopped_by,
};
use crate::Quantile;
use crate::failures::FailedExchange;
use crate::folder::files;
use crate::summary::{OpSummary, Summary};
use crate::timeseries::TimeseriesRow;

const CSS: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2329;margin:0 auto;\
max-width:1180px;padding:0 20px 40px}\
h1{font-size:24px;margin:14px 0 2px}h2{font-size:20px;margin:30px 0 10px;border-bottom:1px solid #d8dde3}\
.meta{color:#56606b;margin:0 0 6px}nav a{margin-right:14px;color:#2a5db0}\
.verdict{border-radius:6px;padding:8px 14px;margin:10px 0 6px;font-size:20px;font-weight:600}\
.pass{background:#e3f4e6;border:1px solid #8cc99a}.fail{background:#fbe4e4;border:1px solid #e39a9a}\
.none{background:#eef1f4;border:1px solid #c5ccd3}.interrupted{background:#fff1d6;border:1px solid #e6b85c}\
.warnings li{background:#fff8e1;border-left:4px solid #e6a700;padding:6px 10px;margin:6px 0;list-style:none}\
.warnings{padding:0}table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}\
th,td{border:1px solid #d8dde3;padding:4px 9px;text-align:right}th{background:#f3f5f7}\
td:first-child,th:first-child{text-align:left}tr.overall td{font-weight:600}\
td.ok{color:#1c7c33;font-weight:600}td.bad{color:#b3261e;font-weight:700}\
figure{margin:18px 0 28px}figcaption{font-weight:600;margin-bottom:6px}\
figure svg{max-width:100%;height:auto;border:1px solid #e3e7eb}footer{color:#56606b;margin-top:30px}\
table.exchanges td{text-align:left;vertical-align:top}table.exchanges code{white-space:pre-wrap;word-break:break-all}\
.answer{font-size:18px;margin:2px 0 8px}figure.main{margin:4px 0 18px}\
figure.main svg{max-height:60vh;width:auto}td.note{text-align:left;color:#8a4b00}\
details{margin:4px 0}summary{cursor:pointer;color:#2a5db0}.quiet{color:#56606b}\
@media print{nav,summary{display:none}body{max-width:none}figure{break-before:page;break-inside:avoid}\
figure.main{break-before:auto}figure svg{max-height:none;width:100%;border:none}details{display:block}}";

/// The whole page.
pub fn page(s: &Summary, rows: &[TimeseriesRow], errors_sample: &[FailedExchange], charts: &[Chart]) -> String {
    let mut h = String::with_capacity(64 * 1024 + charts.iter().map(|c| c.svg.len()).sum::<usize>());
    let name = esc(&s.run.name);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>einv-load report: {name}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
    );
    // The answer first: verdict, the sentence, the latency-over-time chart; then the
    // detail a reader asks for next.
    header(&mut h, s);
    verdict(&mut h, s, rows);
    let (main, rest): (Vec<&Chart>, Vec<&Chart>) = charts.iter().partition(|c| c.file == files::TIMELINE_SVG);
    for c in main {
        figure(&mut h, c, " class=\"main\"");
    }
    checks(&mut h, s);
    super::latency::section(&mut h, s);
    stages(&mut h, s);
    requests(&mut h, s);
    let (errors_chart, rest): (Vec<&Chart>, Vec<&Chart>) = rest.into_iter().partition(|c| c.file == files::ERRORS_SVG);
    errors(&mut h, s, &errors_chart, errors_sample);
    extras(&mut h, s);
    h.push_str("<section id=\"charts\">\n<h2>More charts</h2>\n");
    for c in rest {
        figure(&mut h, c, "");
    }
    h.push_str("</section>\n");
    let _ = write!(
        h,
        "<footer>Written by {} {} from summary.json, timeseries.csv and histograms.hlog in this folder; \
         <code>einv-load report DIR</code> renders it again. Latency is measured from each request's \
         intended send time (no coordinated omission); service time from its actual send.</footer>\n\
         </body>\n</html>\n",
        esc(&s.tool.name),
        esc(&s.tool.version)
    );
    h
}

fn figure(h: &mut String, c: &Chart, class: &str) {
    let id = c.file.trim_end_matches(".svg");
    let _ = write!(h, "<figure id=\"{id}\"{class}>\n<figcaption>{} ({})</figcaption>\n", c.heading, c.file);
    h.push_str(strip_xml_prolog(&c.svg));
    h.push_str("\n</figure>\n");
}

/// Inline SVG must not carry an XML declaration; plotters does not write one, but a
/// chart from elsewhere might.
fn strip_xml_prolog(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

fn header(h: &mut String, s: &Summary) {
    let r = &s.run;
    let _ = write!(
        h,
        "<header>\n<h1>einv-load report: {}</h1>\n<p class=\"meta\">{} · target {} · started {} · ran {:.1} s of \
         {:.1} s planned{} · seed {} · profile {}</p>\n",
        esc(&r.name),
        esc(&r.mode),
        esc(&r.target),
        esc(&r.started_at),
        r.duration_s,
        r.planned_duration_s,
        r.threads.map_or(String::new(), |n| format!(" · {n} generator thread{}", if n == 1 { "" } else { "s" })),
        r.seed,
        esc(&r.profile)
    );
    if let Some(st) = &r.start {
        let _ = writeln!(h, "<p class=\"meta\">{}</p>", esc(&start_sentence(st)));
    }
    h.push_str(
        "<nav><a href=\"#verdict\">Verdict</a><a href=\"#checks\">Checks</a><a href=\"#latency\">Latency</a>\
         <a href=\"#requests\">Requests</a><a href=\"#errors\">Errors</a><a href=\"#charts\">More charts</a></nav>\n</header>\n",
    );
}

fn verdict(h: &mut String, s: &Summary, rows: &[TimeseriesRow]) {
    h.push_str("<section id=\"verdict\">\n");
    let (class, text) = match slo_verdict(s) {
        Verdict::Unchecked => ("none", "No SLO set: nothing was checked".to_string()),
        Verdict::Passed { checks } => ("pass", format!("SLO passed: all {checks} checks")),
        Verdict::Failed { failed, checks } => ("fail", format!("SLO FAILED: {failed} of {checks} checks")),
        Verdict::Aborted { at_s, failing, certain } => {
            ("fail", format!("SLO FAILED: {}", stopped_by(at_s, failing, certain)))
        }
    };
    let _ = writeln!(h, "<div class=\"verdict {class}\">{text}</div>");
    if s.interrupted {
        h.push_str(
            "<div class=\"verdict interrupted\">INTERRUPTED: the run was stopped early; \
             the figures cover only what ran</div>\n",
        );
    }
    let warned = match s.warnings.len() {
        0 => String::new(),
        n => format!(" <a href=\"#warnings\">⚠ {n} warning{} below</a>", if n == 1 { "" } else { "s" }),
    };
    let _ = writeln!(h, "<p class=\"answer\" id=\"answer\">{}{warned}</p>", esc(&answer(s, rows)));
    h.push_str("</section>\n");
}

/// The SLO's checks, then the warnings about the figures' validity.
fn checks(h: &mut String, s: &Summary) {
    h.push_str("<section id=\"checks\">\n");
    if !s.slo.checks.is_empty() {
        h.push_str("<table>\n<tr><th>check</th><th>scope</th><th>actual</th><th>limit</th><th>verdict</th></tr>\n");
        for c in &s.slo.checks {
            let (cls, word) = if c.passed { ("ok", "pass") } else { ("bad", "FAIL") };
            let [name, scope, actual, limit] = check_cells(c, esc);
            let _ = writeln!(
                h,
                "<tr><td>{name}</td><td>{scope}</td><td>{actual}</td><td>{limit}</td><td class=\"{cls}\">{word}</td></tr>"
            );
        }
        h.push_str("</table>\n");
    }
    if !s.warnings.is_empty() {
        h.push_str("<ul class=\"warnings\" id=\"warnings\">\n");
        for w in &s.warnings {
            let _ = writeln!(h, "<li>Warning: {}</li>", esc(w));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}

/// Overall first, then each op.
pub(super) fn scopes(s: &Summary) -> Vec<(String, &OpSummary)> {
    let mut v = vec![("overall".to_string(), &s.overall)];
    v.extend(s.ops.iter().map(|(name, op)| (esc(name), op)));
    v
}

pub(super) fn row_start(h: &mut String, i: usize, scope: &str) {
    let class = if i == 0 { " class=\"overall\"" } else { "" };
    let _ = write!(h, "<tr{class}><td>{scope}</td>");
}

fn requests(h: &mut String, s: &Summary) {
    h.push_str(
        "<section id=\"requests\">\n<h2>Requests</h2>\n<table>\n<tr><th>scope</th><th>scheduled</th><th>sent</th>\
         <th>ok</th><th>errors</th><th>error rate</th><th>skipped</th><th>unsent</th><th>check failures</th>\
         <th>queued</th><th>target rate</th><th>achieved rate</th></tr>\n",
    );
    for (i, (scope, o)) in scopes(s).iter().enumerate() {
        let r = &o.requests;
        row_start(h, i, scope);
        let _ = writeln!(
            h,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            count(r.scheduled),
            count(r.sent),
            count(r.ok),
            count(r.errors),
            pct(r.error_rate),
            count(r.skipped),
            count(r.unsent),
            count(r.check_failed),
            pct(r.check_failure_rate),
            count(r.queued),
            rate(o.rate.target_per_s),
            rate(o.rate.achieved_per_s)
        );
    }
    h.push_str("</table>\n</section>\n");
}

/// Per stage (steps indented): what was offered, what came back, and the SLO on it alone.
fn stages(h: &mut String, s: &Summary) {
    if s.stages.is_empty() {
        return;
    }
    h.push_str("<section id=\"stages\">\n<h2>Stages</h2>\n");
    if let Some(k) = &s.knee {
        let _ = writeln!(h, "<p>{}</p>", esc(&knee_sentence(k)));
    }
    h.push_str(
        "<table>\n<tr><th>stage</th><th>span (s)</th><th>offered</th><th>sent</th><th>achieved rate</th>\
         <th>error rate</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>SLO</th></tr>\n",
    );
    for (label, st) in stage_rows(s) {
        let o = &st.overall;
        let l = &o.latency_ms;
        let (cls, word) = match (st.slo.checks.is_empty(), st.slo.passed) {
            (true, _) => ("", "-"),
            (false, true) => ("ok", "pass"),
            (false, false) => ("bad", "FAIL"),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{:.0}–{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"{cls}\">{word}</td></tr>",
            esc(&label),
            st.start_s,
            st.end_s,
            offered(st),
            count(o.requests.sent),
            rate(o.rate.achieved_per_s),
            pct(o.requests.error_rate),
            ms(l.ms(Quantile::P50)),
            ms(l.ms(Quantile::P99)),
            ms(l.ms(Quantile::P999)),
            ms(l.max)
        );
    }
    h.push_str("</table>\n</section>\n");
}

/// A scope x key table of counts (errors by class, responses by status), with only the
/// keys that occurred as columns.
fn counts_table(
    h: &mut String,
    s: &Summary,
    what: &str,
    pick: fn(&OpSummary) -> &std::collections::BTreeMap<String, u64>,
) {
    let keys: BTreeSet<&String> = scopes(s).iter().flat_map(|(_, o)| pick(o).keys()).collect();
    if keys.is_empty() {
        let _ = writeln!(h, "<p>No {what}.</p>");
        return;
    }
    h.push_str("<table>\n<tr><th>scope</th>");
    for k in &keys {
        let _ = write!(h, "<th>{}</th>", esc(k));
    }
    h.push_str("</tr>\n");
    for (i, (scope, o)) in scopes(s).iter().enumerate() {
        row_start(h, i, scope);
        for k in &keys {
            let _ = write!(h, "<td>{}</td>", count(pick(o).get(*k).copied().unwrap_or(0)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

/// Errors by class: the chart over time (a line of text when there were none: an empty
/// chart box says nothing), the table, what failed per op and what the service answered.
fn errors(h: &mut String, s: &Summary, chart: &[&Chart], sample: &[FailedExchange]) {
    h.push_str("<section id=\"errors\">\n<h2>Errors by class</h2>\n");
    if s.overall.requests.errors == 0 {
        h.push_str("<p class=\"quiet\">No errors in this run.</p>\n");
    } else {
        for c in chart {
            figure(h, c, "");
        }
        counts_table(h, s, "errors", |o| &o.errors);
    }
    super::failures::section(h, s, sample);
    h.push_str("<h2>Responses by HTTP status</h2>\n");
    counts_table(h, s, "responses", |o| &o.status);
    h.push_str("</section>\n");
}

/// Every resource of the simulated service, the first to run dry marked.
fn resources_table(h: &mut String, all: &[crate::ResourceSummary]) {
    if all.is_empty() {
        return;
    }
    let first = crate::ResourceSummary::first_dry(all).map(|r| r.name.as_str());
    h.push_str(
        "<h2>Resources (simulated)</h2>\n<table>\n<tr><th>resource</th><th>kind</th><th>size</th>\
         <th>peak mean active</th><th>max pending</th><th>timeouts</th><th>refused</th><th>first ran dry</th></tr>\n",
    );
    for r in all {
        let dry = match r.first_dry_s {
            Some(t) if first == Some(r.name.as_str()) => format!("<td class=\"bad\">at {t:.0} s (first)</td>"),
            Some(t) => format!("<td>at {t:.0} s</td>"),
            None => "<td>never</td>".to_string(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td>{dry}</tr>",
            esc(&r.name),
            esc(&r.kind),
            count(r.size),
            r.peak_mean_active,
            count(r.max_pending),
            count(r.timeouts),
            count(r.refused),
        );
    }
    h.push_str("</table>\n");
}

/// Injected faults, the simulated pool, client connections: only what the run has.
fn extras(h: &mut String, s: &Summary) {
    let injected: Vec<_> = s.ops.iter().flat_map(|(op, o)| o.injected.iter().map(move |(t, i)| (op, t, i))).collect();
    if !injected.is_empty() {
        h.push_str(
            "<h2>Injected faults</h2>\n<table>\n<tr><th>op</th><th>fault</th><th>sent</th><th>accepted</th>\
             <th>rejected</th><th>5xx</th><th>no answer</th><th>expected</th><th>as expected</th></tr>\n",
        );
        for (op, tag, i) in injected {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td></tr>",
                esc(op),
                esc(tag),
                count(i.sent),
                count(i.accepted),
                count(i.rejected),
                count(i.server_error),
                count(i.failed),
                esc(&i.expected),
                pct(i.as_expected)
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(p) = &s.pool {
        let knee = p.first_timeout_s.map_or("none".to_string(), |t| format!("at {t:.0} s"));
        let _ = writeln!(
            h,
            "<h2>Database pool (simulated)</h2>\n<p>size {}, peak mean active {:.1}, max pending {}, acquire p99 {} ms, \
             usage p99 {} ms, acquire timeouts {} (first {knee})</p>",
            p.size,
            p.peak_mean_active,
            count(p.max_pending),
            ms(p.acquire_ms.ms(crate::Quantile::P99)),
            ms(p.usage_ms.ms(crate::Quantile::P99)),
            count(p.timeouts)
        );
        resources_table(h, &p.resources);
    } else {
        let c = &s.connections;
        let _ = writeln!(
            h,
            "<h2>Client connections</h2>\n<p>limit {}, opened {}, at most {} open at once</p>",
            count(c.limit),
            count(c.opened),
            count(c.max_open)
        );
    }
}
