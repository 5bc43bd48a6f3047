//! compare.md, compare.html and the terminal table: the verdict first, then the figures.

use std::fmt::Write;

use super::{Comparison, Conclusion, MetricDiff};
use crate::render::esc;
use crate::slo::Unit;

fn value(m: &MetricDiff, v: f64) -> String {
    match Unit::parse(&m.unit) {
        Some(Unit::Ratio) => format!("{:.3}%", v * 100.0),
        Some(Unit::PerSecond) => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    }
}

fn change(m: &MetricDiff) -> String {
    match m.change {
        Some(c) => format!("{:+.1}%", c * 100.0),
        None if m.current == m.baseline => "0.0%".into(),
        None => "new".into(),
    }
}

fn verdict(m: &MetricDiff) -> &'static str {
    match (m.judged, m.regression) {
        (_, true) => "REGRESSION",
        (true, false) if m.noise => "within noise",
        (true, false) => "ok",
        (false, _) => "not judged",
    }
}

fn unit(m: &MetricDiff) -> &str {
    if Unit::parse(&m.unit) == Some(Unit::Ratio) { "%" } else { &m.unit }
}

fn headline(c: &Comparison) -> String {
    let limit = c.max_regression * 100.0;
    match c.verdict {
        Conclusion::Regression => {
            format!("REGRESSION: {} figure(s) worse than the baseline by more than {limit:.1}%", c.regressions.len())
        }
        Conclusion::NoRegression => {
            format!("no regression: nothing judged is worse than the baseline by more than {limit:.1}% beyond noise")
        }
        Conclusion::Inconclusive => {
            "INCONCLUSIVE: a run's load generator was starved, its figures say more about the machine than the build"
                .to_string()
        }
    }
}

/// The lines under the headline: why inconclusive, then the figures judged worse.
fn findings(c: &Comparison) -> Vec<String> {
    let held = if c.verdict == Conclusion::Inconclusive { "not judged: " } else { "" };
    let reasons = c.inconclusive.iter().cloned();
    reasons.chain(c.regressions.iter().map(|r| format!("{held}{r}"))).collect()
}

/// The plain-text table printed by `einv-load compare`.
pub fn compare_table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "baseline  {} ({})", c.baseline.folder, c.baseline.started_at);
    let _ = writeln!(out, "current   {} ({})\n", c.current.folder, c.current.started_at);
    let _ =
        writeln!(out, "{:<20} {:<18} {:>12} {:>12} {:>9}  verdict", "scope", "metric", "baseline", "current", "change");
    for s in &c.scopes {
        for m in &s.metrics {
            let metric = format!("{} ({})", m.metric.trim_start_matches("latency "), unit(m));
            let _ = writeln!(
                out,
                "{:<20} {:<18} {:>12} {:>12} {:>9}  {}",
                s.scope,
                metric,
                value(m, m.baseline),
                value(m, m.current),
                change(m),
                verdict(m)
            );
        }
    }
    for n in &c.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "\n{}", headline(c));
    for r in findings(c) {
        let _ = writeln!(out, "  - {r}");
    }
    out
}

/// compare.md: fits a CI step summary.
pub fn compare_markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let icon = match c.verdict {
        Conclusion::Regression => "❌",
        Conclusion::NoRegression => "✅",
        Conclusion::Inconclusive => "⚠️",
    };
    let _ = writeln!(out, "## {icon} einv-load compare: {}\n", headline(c));
    let findings = findings(c);
    for r in &findings {
        let _ = writeln!(out, "- **{r}**");
    }
    if !findings.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Baseline `{}` ({}), current `{}` ({}).\n",
        c.baseline.folder, c.baseline.started_at, c.current.folder, c.current.started_at
    );
    for n in &c.notes {
        let _ = writeln!(out, "> note: {n}\n");
    }
    let _ = writeln!(out, "| scope | metric | baseline | current | change | verdict |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---|");
    for s in &c.scopes {
        for m in &s.metrics {
            let v = if m.regression { "**REGRESSION**" } else { verdict(m) };
            let _ = writeln!(
                out,
                "| {} | {} ({}) | {} | {} | {} | {v} |",
                s.scope,
                m.metric,
                unit(m),
                value(m, m.baseline),
                value(m, m.current),
                change(m)
            );
        }
    }
    out
}

/// compare.html: one self-contained page (charts inline, nothing fetched).
pub(super) fn compare_html(c: &Comparison, charts: &[(String, String)]) -> String {
    let mut out = String::new();
    let cls = match c.verdict {
        Conclusion::Regression => "bad",
        Conclusion::NoRegression => "good",
        Conclusion::Inconclusive => "warn",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>einv-load compare: {}</title><style>\
         body{{font-family:sans-serif;max-width:1000px;margin:24px auto;padding:0 12px;color:#222}}\
         .verdict{{padding:12px 16px;border-radius:6px;font-size:1.3em;font-weight:bold}}\
         .good{{background:#e6f4ea;color:#1e6b34}}.warn{{background:#fef7e0;color:#8a5300}}.bad{{background:#fce8e6;color:#a50e0e}}\
         table{{border-collapse:collapse;margin:12px 0;font-size:.92em}}td,th{{border:1px solid #ccc;padding:3px 8px}}\
         td.n{{text-align:right;font-variant-numeric:tabular-nums}}tr.reg td{{background:#fce8e6;font-weight:bold}}\
         tr.skip td{{color:#888}}figure{{margin:16px 0}}svg{{max-width:100%;height:auto}}</style></head><body>\n",
        esc(&headline(c))
    );
    let _ = writeln!(out, "<div class=\"verdict {cls}\">{}</div>", esc(&headline(c)));
    let findings = findings(c);
    if !findings.is_empty() {
        out.push_str("<ul>");
        for r in &findings {
            let _ = write!(out, "<li><b>{}</b></li>", esc(r));
        }
        out.push_str("</ul>\n");
    }
    let _ = writeln!(
        out,
        "<p>Baseline <code>{}</code> ({}) &middot; current <code>{}</code> ({}) &middot; threshold {:.1}%</p>",
        esc(&c.baseline.folder),
        esc(&c.baseline.started_at),
        esc(&c.current.folder),
        esc(&c.current.started_at),
        c.max_regression * 100.0
    );
    for n in &c.notes {
        let _ = writeln!(out, "<p><i>note: {}</i></p>", esc(n));
    }
    let _ = writeln!(out, "<p><small>test: {}</small></p>", esc(&c.test));
    out.push_str("<table><tr><th>scope</th><th>metric</th><th>baseline</th><th>current</th><th>change</th><th>verdict</th></tr>\n");
    for s in &c.scopes {
        for m in &s.metrics {
            let class = if m.regression {
                " class=\"reg\""
            } else if !m.judged {
                " class=\"skip\""
            } else {
                ""
            };
            let title = m.note.as_deref().map(|n| format!(" title=\"{}\"", esc(n))).unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr{class}{title}><td>{}</td><td>{} ({})</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&s.scope),
                esc(&m.metric),
                esc(unit(m)),
                value(m, m.baseline),
                value(m, m.current),
                change(m),
                verdict(m)
            );
        }
    }
    out.push_str("</table>\n");
    // Each SVG carries its own title; the file name is kept for whoever wants the file.
    for (file, svg) in charts {
        let _ = writeln!(out, "<figure id=\"{}\">{svg}</figure>", esc(file));
    }
    out.push_str("</body></html>\n");
    out
}
