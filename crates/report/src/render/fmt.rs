//! Number formats and escaping shared by the HTML, Markdown and JUnit renderers.

use crate::slo::{SloCheck, Unit};
use crate::stages::{Knee, StageSummary};
use crate::summary::Summary;

/// Escape text for HTML and XML content and attribute values. Characters XML 1.0 forbids
/// (most control characters) are dropped, so a profile name can never make junit.xml
/// invalid.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// 1234567 -> "1,234,567".
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with two decimals ("0.42", "1250.00").
pub fn ms(v: f64) -> String {
    format!("{v:.2}")
}

/// A ratio as a percentage ("0.12%"); more decimals for tiny non-zero shares so they do
/// not read as zero.
pub fn pct(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p > 0.0 && p < 0.01 { format!("{p:.4}%") } else { format!("{p:.2}%") }
}

/// Requests per second with one decimal.
pub fn rate(v: f64) -> String {
    format!("{v:.1}/s")
}

/// A check's value in its unit: "12.30 ms", "0.10%", or the number and unit as written.
pub fn check_value(check: &SloCheck, v: f64) -> String {
    match Unit::parse(&check.unit) {
        Some(Unit::Ms) => format!("{} ms", ms(v)),
        Some(Unit::Ratio) => pct(v),
        _ => format!("{v:.3} {}", check.unit),
    }
}

/// The run's SLO verdict, worded by each renderer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// No SLO was set.
    Unchecked,
    Passed {
        checks: usize,
    },
    Failed {
        failed: usize,
        checks: usize,
    },
    /// abort-on-fail stopped the run at `at_s` with `failing` checks failing then: a
    /// failure even if the final figures came back under the limits.
    Aborted {
        at_s: f64,
        failing: usize,
        /// Stopped as certain to fail (a capacity step), not by abort-on-fail.
        certain: bool,
    },
}

pub fn slo_verdict(s: &Summary) -> Verdict {
    let checks = s.slo.checks.len();
    if let Some(a) = &s.aborted {
        return Verdict::Aborted { at_s: a.at_s, failing: a.failed.len(), certain: a.certain };
    }
    match s.slo.checks.iter().filter(|c| !c.passed).count() {
        _ if checks == 0 => Verdict::Unchecked,
        0 => Verdict::Passed { checks },
        failed => Verdict::Failed { failed, checks },
    }
}

/// Every stage, each followed by its steps, with a label: "2 steps", "  2.3 step".
pub fn stage_rows(s: &Summary) -> Vec<(String, &StageSummary)> {
    let mut rows = Vec::new();
    for st in &s.stages {
        rows.push((format!("{} {}", st.stage + 1, st.kind.as_str()), st));
        for step in &st.steps {
            rows.push((format!("  {}.{} step", st.stage + 1, step.step.unwrap_or(0) + 1), step));
        }
    }
    rows
}

/// A span's offered rate: "500.0/s", or "100.0/s → 900.0/s" when it changes.
pub fn offered(st: &StageSummary) -> String {
    if st.from_per_s == st.to_per_s {
        rate(st.from_per_s)
    } else {
        format!("{} → {}", rate(st.from_per_s), rate(st.to_per_s))
    }
}

/// A common start (`run --start-at`) in one sentence: the spread the shards actually
/// started with (a merge), how late, what was missed.
pub fn start_sentence(st: &crate::SyncStart) -> String {
    let spread = st.spread_ms.map_or(String::new(), |ms| format!(", shards' start spread {ms:.1} ms"));
    let late = if st.spread_ms.is_some() { "the latest shard " } else { "" };
    format!(
        "Started at {}{spread}; {late}{:.1} ms late, {} arrivals missed (not sent).",
        st.at,
        st.late_ms,
        count(st.missed)
    )
}

/// The knee in one sentence.
pub fn knee_sentence(k: &Knee) -> String {
    let c = &k.check;
    let scope = if c.scope == "overall" { String::new() } else { format!(" ({})", c.scope) };
    format!(
        "Knee: at {:.0} s, offered {}, the {}{scope} of that second first crossed its limit: {} against {}.",
        k.at_s,
        rate(k.offered_per_s),
        c.name,
        check_value(c, c.actual),
        check_value(c, c.threshold)
    )
}

/// How a stopped run was stopped, in words.
pub fn stopped_by(at_s: f64, failing: usize, certain: bool) -> String {
    if certain {
        format!("stopped early at {at_s:.1} s, certain to fail ({failing} checks)")
    } else {
        format!("run aborted at {at_s:.1} s by abort-on-fail ({failing} checks failing then)")
    }
}

/// A check's name, scope, actual value and limit as table cells, text made safe by `escape`.
pub fn check_cells(c: &SloCheck, escape: fn(&str) -> String) -> [String; 4] {
    [escape(&c.name), escape(&c.scope), check_value(c, c.actual), check_value(c, c.threshold)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_numbers() {
        assert_eq!(esc("<op a=\"1\"> & 'x'\u{1}"), "&lt;op a=&quot;1&quot;&gt; &amp; &#39;x&#39;");
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(pct(0.0), "0.00%");
        assert_eq!(pct(0.00001), "0.0010%");
        assert_eq!(pct(0.25), "25.00%");
    }
}
