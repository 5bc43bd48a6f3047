//! index.html's failures section: per op, the checks its responses failed and its errors
//! by class, then the failing exchanges kept in errors.jsonl, what the service answered.

use std::fmt::Write;

use super::fmt::{count, esc};
use crate::failures::FailedExchange;
use crate::summary::Summary;

/// The section, when anything failed; nothing otherwise.
pub fn section(h: &mut String, s: &Summary, sample: &[FailedExchange]) {
    let failing: Vec<_> = s.ops.iter().filter(|(_, o)| !o.failed_checks.is_empty() || !o.errors.is_empty()).collect();
    if failing.is_empty() && sample.is_empty() {
        return;
    }
    h.push_str("<section id=\"failures\">\n<h2>Failures by op</h2>\n");
    h.push_str("<table>\n<tr><th>op</th><th>failed</th><th>count</th></tr>\n");
    for (op, o) in failing {
        let checks = o.failed_checks.iter().map(|(c, n)| (format!("check {c}"), *n));
        for (why, n) in checks.chain(o.errors.iter().map(|(class, n)| (class.clone(), *n))) {
            let _ = writeln!(h, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", esc(op), esc(&why), count(n));
        }
    }
    h.push_str("</table>\n");
    if !sample.is_empty() {
        let per = s.error_samples.map_or(String::new(), |n| format!(" (the first {n} per op and class)"));
        let _ = writeln!(
            h,
            "<h2>Failing exchanges</h2>\n<p class=\"meta\">from errors.jsonl{per}; time from the run's start; \
             the body's first bytes, <code>${{env.*}}</code> values masked.</p>"
        );
        h.push_str(
            "<table class=\"exchanges\">\n<tr><th>time (s)</th><th>op</th><th>request</th><th>status</th>\
             <th>class</th><th>check</th><th>body</th></tr>\n",
        );
        for e in sample {
            let _ = writeln!(
                h,
                "<tr><td>{:.3}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td><code>{}</code></td></tr>",
                e.at_s,
                esc(&e.op),
                esc(&e.request),
                e.status.map_or("-".to_string(), |s| s.to_string()),
                esc(&e.class),
                esc(e.check.as_deref().unwrap_or("")),
                esc(&e.body)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</section>\n");
}
