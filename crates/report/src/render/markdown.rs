//! summary.md: a compact Markdown verdict that fits a CI step summary (GitHub's
//! `$GITHUB_STEP_SUMMARY`): verdict line, SLO table, per-op table, warnings.

use std::fmt::Write;

use super::fmt::{
    Verdict, check_cells, count, knee_sentence, ms, offered, pct, rate, slo_verdict, stage_rows, start_sentence,
    stopped_by,
};
use crate::Quantile;
use crate::summary::Summary;

/// Text from the profile or the run, safe inside a Markdown table cell: GitHub renders
/// inline HTML, so `<` is escaped, and `|` would end the cell.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '*' | '_' | '`' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

pub fn summary_md(s: &Summary) -> String {
    let mut out = String::new();
    let verdict = match slo_verdict(s) {
        Verdict::Unchecked => "⚪ no SLO set".to_string(),
        Verdict::Passed { checks } => format!("✅ SLO passed ({checks} checks)"),
        Verdict::Failed { failed, checks } => format!("❌ SLO failed ({failed} of {checks} checks)"),
        Verdict::Aborted { at_s, failing, certain } => format!("❌ SLO failed: {}", stopped_by(at_s, failing, certain)),
    };
    let _ = writeln!(out, "### einv-load {}: {verdict}\n", md(&s.run.name));
    if s.interrupted {
        out.push_str("> ⚠️ **Interrupted**: the run was stopped early; the figures cover only what ran.\n\n");
    }
    let r = &s.run;
    let o = &s.overall;
    let _ = writeln!(
        out,
        "{} against {} · {:.1} s · {} sent of {} scheduled · errors {} · target {}, achieved {}\n",
        md(&r.mode),
        md(&r.target),
        r.duration_s,
        count(o.requests.sent),
        count(o.requests.scheduled),
        pct(o.requests.error_rate),
        rate(o.rate.target_per_s),
        rate(o.rate.achieved_per_s)
    );
    if let Some(st) = &r.start {
        let _ = writeln!(out, "{}\n", md(&start_sentence(st)));
    }
    if !s.slo.checks.is_empty() {
        out.push_str("| | check | scope | actual | limit |\n|---|---|---|---:|---:|\n");
        for c in &s.slo.checks {
            let mark = if c.passed { "✅" } else { "❌" };
            let [name, scope, actual, limit] = check_cells(c, md);
            let _ = writeln!(out, "| {mark} | {name} | {scope} | {actual} | {limit} |");
        }
        out.push('\n');
    }
    out.push_str("| op | sent | errors | error rate | achieved |");
    for q in &s.percentiles {
        let _ = write!(out, " {} ms |", q.label());
    }
    let _ = writeln!(out, " max ms |\n|---|---:|---:|---:|---:|{}---:|", "---:|".repeat(s.percentiles.len()));
    let rows = std::iter::once(("**overall**".to_string(), o)).chain(s.ops.iter().map(|(n, op)| (md(n), op)));
    for (name, op) in rows {
        let l = &op.latency_ms;
        let _ = write!(
            out,
            "| {name} | {} | {} | {} | {} |",
            count(op.requests.sent),
            count(op.requests.errors),
            pct(op.requests.error_rate),
            rate(op.rate.achieved_per_s),
        );
        for q in &s.percentiles {
            let _ = write!(out, " {} |", l.get(*q).map(ms).unwrap_or_default());
        }
        let _ = writeln!(out, " {} |", ms(l.max));
    }
    if !s.stages.is_empty() {
        out.push_str(
            "\n| stage | offered | sent | achieved | error rate | p99 ms | SLO |\n|---|---:|---:|---:|---:|---:|---|\n",
        );
        for (label, st) in stage_rows(s) {
            let o = &st.overall;
            let verdict = match (st.slo.checks.is_empty(), st.slo.passed) {
                (true, _) => "",
                (false, true) => "✅",
                (false, false) => "❌",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {verdict} |",
                md(label.trim_start()),
                offered(st),
                count(o.requests.sent),
                rate(o.rate.achieved_per_s),
                pct(o.requests.error_rate),
                ms(o.latency_ms.ms(Quantile::P99))
            );
        }
        if let Some(k) = &s.knee {
            let _ = writeln!(out, "\n{}", md(&knee_sentence(k)));
        }
    }
    if !s.warnings.is_empty() {
        out.push_str("\n**Warnings**\n\n");
        for w in &s.warnings {
            let _ = writeln!(out, "- {}", md(w));
        }
    }
    out.push_str("\nLatency from the intended send time (no coordinated omission). Full report: index.html.\n");
    out
}
