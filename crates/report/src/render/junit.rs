//! junit.xml: the SLO verdicts as one JUnit test suite, so CI systems that read JUnit
//! show each check as a test case. A failed check carries the actual value and the limit.

use std::fmt::Write;

use super::fmt::{check_value, esc};
use crate::summary::Summary;

pub fn junit_xml(s: &Summary) -> String {
    let name = esc(&s.run.name);
    // One extra case, "run completed", fails when the run was interrupted: the checks then
    // judged only part of the run. It also keeps the suite non-empty without an SLO.
    let tests = s.slo.checks.len() + 1;
    let stopped = s.interrupted || s.aborted.is_some();
    let failures = s.slo.checks.iter().filter(|c| !c.passed).count() + usize::from(stopped);
    let time = format!("{:.3}", s.run.duration_s);
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"einv-load\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{time}\">"
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"einv-load SLO: {name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" \
         skipped=\"0\" time=\"{time}\" timestamp=\"{}\">",
        esc(&s.run.started_at)
    );
    x.push_str("    <properties>\n");
    let r = &s.run;
    let props = [
        ("profile", r.profile.clone()),
        ("target", r.target.clone()),
        ("mode", r.mode.clone()),
        ("seed", r.seed.to_string()),
        ("tool", format!("{} {}", s.tool.name, s.tool.version)),
    ];
    for (k, v) in props {
        let _ = writeln!(x, "      <property name=\"{k}\" value=\"{}\"/>", esc(&v));
    }
    x.push_str("    </properties>\n");
    let class = format!("einv-load.{name}");
    for c in &s.slo.checks {
        // "limit", not "<=": a check may also be a floor (a minimum achieved rate).
        let case = format!("{}: {} (limit {})", esc(&c.scope), esc(&c.name), esc(&check_value(c, c.threshold)));
        let _ = write!(x, "    <testcase classname=\"{class}\" name=\"{case}\" time=\"0\"");
        if c.passed {
            x.push_str("/>\n");
        } else {
            let message = format!(
                "{} {}: actual {}, limit {}",
                c.scope,
                c.name,
                check_value(c, c.actual),
                check_value(c, c.threshold)
            );
            let message = esc(&message);
            let _ = writeln!(
                x,
                ">\n      <failure type=\"slo\" message=\"{message}\">{message}</failure>\n    </testcase>"
            );
        }
    }
    let _ = write!(x, "    <testcase classname=\"{class}\" name=\"run completed\" time=\"{time}\"");
    if let Some(a) = &s.aborted {
        let names: Vec<String> = a.failed.iter().map(|c| format!("{} ({})", c.name, c.scope)).collect();
        let message = esc(&format!("aborted at {:.1} s by abort-on-fail: {} failing", a.at_s, names.join(", ")));
        let _ = writeln!(
            x,
            ">\n      <failure type=\"aborted\" message=\"{message}\">{message}</failure>\n    </testcase>"
        );
    } else if s.interrupted {
        x.push_str(
            ">\n      <failure type=\"interrupted\" message=\"the run was interrupted\">the run was stopped early; \
                    the checks judged only part of it</failure>\n    </testcase>\n",
        );
    } else {
        x.push_str("/>\n");
    }
    if !s.warnings.is_empty() {
        let text: Vec<String> = s.warnings.iter().map(|w| format!("warning: {}", esc(w))).collect();
        let _ = writeln!(x, "    <system-out>{}</system-out>", text.join("\n"));
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}
