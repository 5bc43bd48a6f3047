//! The capacity report: capacity.json (a versioned public interface) and what is rendered
//! from it, in the same pure way as a run's: index.html (the answer in one sentence, the
//! steps, the chart, what broke first), summary.md, junit.xml and capacity.svg. Each
//! step's own run report is a folder under `steps/`.

use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::render::esc;
use crate::slo::SloCheck;
use crate::summary::Tool;
use crate::write::{NotWritten, write_file};

/// Bumped on any change that can break a reader of capacity.json.
pub const CAPACITY_SCHEMA: u32 = 1;
pub const CAPACITY_JSON: &str = "capacity.json";
pub const CAPACITY_SVG: &str = "capacity.svg";

/// capacity.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Capacity {
    pub schema: u32,
    pub tool: Tool,
    pub name: String,
    pub profile: String,
    pub target: String,
    /// Whether the steps ran against the model in virtual time or against the target.
    pub simulated: bool,
    /// UTC, RFC 3339.
    pub started_at: String,
    pub answer: Answer,
    /// The highest passing rate and the lowest failing one above it, requests/s.
    pub bracket: Bracket,
    /// The model's own search (`[target.builtin]`), where the live search started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_per_s: Option<f64>,
    /// `--require` or `[slo] min-capacity`: the answer must be at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_per_s: Option<f64>,
    /// The answer meets `require_per_s` (true when nothing is required and a capacity was found).
    pub passed: bool,
    /// Each step: warm-up (excluded from the verdict), then the measuring stage.
    pub warm_up_s: f64,
    pub measure_s: f64,
    pub steps: Vec<Step>,
    /// The failing step at the boundary: what failed first and why, by the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaks_first: Option<BreaksFirst>,
    /// How long the whole search took, seconds (virtual time is not counted).
    pub elapsed_s: f64,
    /// Why the search stopped short, if it did (step or time budget).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What kind of answer the search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerKind {
    /// The highest passing rate just under a failing one.
    Capacity,
    /// Every step passed up to `--max`: the capacity is at least that.
    AtLeast,
    /// Even `--min` failed.
    Below,
    /// The budget ended the search before anything passed.
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Answer {
    pub kind: AnswerKind,
    /// The rate the kind speaks of, requests/s (none when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_s: Option<f64>,
    /// The answer in one sentence, as index.html says it.
    pub sentence: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bracket {
    pub lo_per_s: Option<f64>,
    pub hi_per_s: Option<f64>,
    /// The precision asked for: `(hi - lo) / lo`.
    pub precision: f64,
    /// Whether the bracket met it.
    pub converged: bool,
}

/// One step of the search.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    pub offered_per_s: f64,
    /// Of the measuring stage.
    pub achieved_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub error_rate: f64,
    pub passed: bool,
    /// Its figures were within noise of a limit.
    pub marginal: bool,
    /// The second run of this rate (confirmation).
    pub rerun: bool,
    /// Seconds into the step when it stopped, certain to fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stop_s: Option<f64>,
    /// The checks the measuring stage failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<SloCheck>,
    /// With a model: the offered rate over what the model can serve. A simulated step at
    /// 1 or more fails whatever its percentiles (its queue has no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation: Option<f64>,
    /// The step's own report folder, relative to the capacity folder.
    pub folder: String,
}

/// What broke first at the boundary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BreaksFirst {
    /// The failing step's offered rate.
    pub offered_per_s: f64,
    /// The first limit that failed (the one furthest over, relative to its limit).
    pub limit: SloCheck,
    pub cause: Cause,
    /// The figures behind the cause, in words.
    pub evidence: Vec<String>,
    /// The service's resource that ran dry first (or, when none did, the model's tightest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// The likely cause of a failing step, from the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// HTTP 500: a database pool ran dry (acquire timeouts).
    PoolExhausted,
    /// HTTP 503: the worker queue was full.
    WorkerQueueFull,
    /// HTTP 429: a rate limit.
    RateLimited,
    /// The client side could not keep to the schedule: requests waited for a connection,
    /// or the generator fell behind (send lag).
    ClientConnections,
    /// TLS handshakes took the time.
    TlsHandshakes,
    /// Requests timed out.
    Timeouts,
    /// Connections were refused or reset.
    ConnectErrors,
    /// Other 5xx answers.
    ServerErrors,
    /// 4xx answers: the service refused the requests themselves.
    ClientErrors,
    /// Requests queued for a database connection (the model's pool): latency grew past
    /// the limit before any acquire timed out.
    PoolQueue,
    /// Requests queued for a worker (the model's workers), likewise.
    WorkerQueue,
    /// The service queued: latency grew without errors.
    Queueing,
}

impl Cause {
    pub fn describe(self) -> &'static str {
        match self {
            Cause::PoolExhausted => "the database pool (HTTP 500 from acquire timeouts)",
            Cause::WorkerQueueFull => "overload refusals (HTTP 503: a full worker queue or an overload limit)",
            Cause::RateLimited => "the rate limit (HTTP 429)",
            Cause::ClientConnections => "the client side: requests waited for a connection or were sent late",
            Cause::TlsHandshakes => "TLS handshakes",
            Cause::Timeouts => "request timeouts",
            Cause::ConnectErrors => "connections refused or reset",
            Cause::ServerErrors => "server errors (5xx)",
            Cause::ClientErrors => "requests refused with 4xx (check the profile's paths and payloads)",
            Cause::PoolQueue => "the database pool (requests queue for a connection; latency before errors)",
            Cause::WorkerQueue => "the request workers (requests queue for a worker; latency before errors)",
            Cause::Queueing => "queueing in the service (latency grows, no errors)",
        }
    }
}

impl Capacity {
    /// The answer in one sentence.
    pub fn sentence(kind: AnswerKind, rate: Option<f64>, limits: &str, breaks: Option<&BreaksFirst>) -> String {
        let r = |v: Option<f64>| crate::render::count(v.unwrap_or(0.0).round() as u64);
        let first = breaks.map_or(String::new(), |b| match &b.resource {
            Some(r) => format!("; first to break: {} (resource {r})", b.cause.describe()),
            None => format!("; first to break: {}", b.cause.describe()),
        });
        match kind {
            AnswerKind::Capacity => format!("Sustainable: {}/s at {limits}{first}.", r(rate)),
            AnswerKind::AtLeast => format!("At least {}/s at {limits}: every step passed up to --max.", r(rate)),
            AnswerKind::Below => format!("Below {}/s: even --min failed {limits}{first}.", r(rate)),
            AnswerKind::Unknown => "Unknown: the budget ended the search before a step passed.".to_string(),
        }
    }
}

/// Every derived file of a capacity folder: (name, bytes).
pub fn render_capacity(c: &Capacity) -> Result<Vec<(&'static str, Vec<u8>)>, Error> {
    let svg = crate::chart::capacity_svg(c)?;
    Ok(vec![
        (crate::files::INDEX_HTML, page(c, &svg).into_bytes()),
        (crate::files::SUMMARY_MD, markdown(c).into_bytes()),
        (crate::files::JUNIT_XML, junit(c).into_bytes()),
        (CAPACITY_SVG, svg.into_bytes()),
    ])
}

/// Write capacity.json and its derived files into `dir`, each atomically, capacity.json
/// last (its presence means the folder is finished). What could not be written is listed.
pub fn write_capacity(dir: &Path, c: &Capacity) -> Result<Vec<NotWritten>, Error> {
    let mut files = render_capacity(c)?;
    files.push((CAPACITY_JSON, serde_json::to_vec_pretty(c)?));
    let mut lost = Vec::new();
    for (file, bytes) in files {
        if let Err(e) = write_file(&dir.join(file), &bytes) {
            lost.push(NotWritten { file: file.into(), error: e.to_string() });
        }
    }
    Ok(lost)
}

fn rate(v: f64) -> String {
    format!("{v:.1}/s")
}

fn verdict_word(s: &Step) -> &'static str {
    match (s.passed, s.early_stop_s.is_some()) {
        (true, _) => "pass",
        (false, true) => "FAIL (stopped early)",
        (false, false) if s.failed.is_empty() && s.utilisation.is_some_and(|u| u >= 1.0) => "FAIL (use ≥ 100 %)",
        (false, false) => "FAIL",
    }
}

fn page(c: &Capacity, svg: &str) -> String {
    let mut h = String::new();
    let name = esc(&c.name);
    let class = if c.passed { "pass" } else { "fail" };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>einv-load capacity: {name}</title>\n\
         <style>body{{font:15px/1.45 system-ui,sans-serif;max-width:1180px;margin:0 auto;padding:0 20px 40px}}\
         .verdict{{border-radius:6px;padding:8px 14px;margin:10px 0 6px;font-size:20px;font-weight:600}}\
         .pass{{background:#e3f4e6}}.fail{{background:#fbe4e4}}table{{border-collapse:collapse}}\
         th,td{{border:1px solid #d8dde3;padding:4px 9px;text-align:right}}td:first-child{{text-align:left}}\
         svg{{max-width:100%;height:auto}}#capacity-chart svg{{max-height:58vh;width:auto}}\
         @media print{{svg{{max-height:none}}}}</style>\n</head>\n<body>\n<h1>einv-load capacity: {name}</h1>\n\
         <p>{} against {} · started {} · steps of {:.0} s warm-up + {:.0} s measured · profile {}</p>\n\
         <section id=\"capacity\">\n<div class=\"verdict {class}\" id=\"answer\">{}</div>\n",
        if c.simulated { "simulated" } else { "live" },
        esc(&c.target),
        esc(&c.started_at),
        c.warm_up_s,
        c.measure_s,
        esc(&c.profile),
        esc(&c.answer.sentence)
    );
    let _ = writeln!(h, "<p>{}</p>", esc(&bracket_line(c)));
    // The chart with the answer marked, inside the first screen; the detail below it.
    h.push_str("<figure id=\"capacity-chart\" class=\"main\">\n");
    h.push_str(svg);
    h.push_str("\n</figure>\n");
    if let Some(b) = &c.breaks_first {
        let _ = writeln!(h, "<h2>What breaks first</h2>\n<p>{}</p>\n<ul>", esc(&breaks_line(b)));
        for e in &b.evidence {
            let _ = writeln!(h, "<li>{}</li>", esc(e));
        }
        h.push_str("</ul>\n");
    }
    for w in &c.warnings {
        let _ = writeln!(h, "<p>Warning: {}</p>", esc(w));
    }
    h.push_str(
        "<h2>Steps</h2>\n<table>\n<tr><th>#</th><th>offered</th><th>achieved</th><th>p50 ms</th><th>p99 ms</th>\
         <th>error rate</th><th>verdict</th><th>report</th></tr>\n",
    );
    for (i, s) in c.steps.iter().enumerate() {
        let rerun = if s.rerun { " (re-run)" } else { "" };
        let f = esc(&s.folder);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}{rerun}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}%</td><td>{}</td>\
             <td><a href=\"{f}/index.html\">{f}</a></td></tr>",
            i + 1,
            rate(s.offered_per_s),
            rate(s.achieved_per_s),
            s.p50_ms,
            s.p99_ms,
            s.error_rate * 100.0,
            verdict_word(s)
        );
    }
    h.push_str("</table>\n</section>\n<footer>Written from capacity.json in this folder.</footer>\n</body>\n</html>\n");
    h
}

fn bracket_line(c: &Capacity) -> String {
    let b = &c.bracket;
    let f = |v: Option<f64>| v.map_or("-".to_string(), rate);
    let mut line = format!(
        "Bracket: passed at {}, failed at {} (precision {:.1} %{}); {} steps in {:.0} s.",
        f(b.lo_per_s),
        f(b.hi_per_s),
        b.precision * 100.0,
        if b.converged { "" } else { ", not reached" },
        c.steps.len(),
        c.elapsed_s
    );
    if let Some(p) = c.predicted_per_s {
        let _ = write!(line, " The model predicted {}.", rate(p));
    }
    if let Some(r) = c.require_per_s {
        let _ = write!(line, " Required: {} ({}).", rate(r), if c.passed { "met" } else { "NOT met" });
    }
    line
}

fn breaks_line(b: &BreaksFirst) -> String {
    let l = &b.limit;
    let scope = if l.scope == "overall" { String::new() } else { format!(" ({})", l.scope) };
    let resource = b.resource.as_ref().map_or(String::new(), |r| format!(" Resource that ran dry first: {r}."));
    format!(
        "At {} the first limit to fail was {}{scope}: {:.3} {} against {:.3}. Likely cause: {}.{resource}",
        rate(b.offered_per_s),
        l.name,
        l.actual,
        l.unit,
        l.threshold,
        b.cause.describe()
    )
}

fn markdown(c: &Capacity) -> String {
    let mut out = String::new();
    let mark = if c.passed { "✅" } else { "❌" };
    let _ = writeln!(out, "### einv-load capacity {}: {mark} {}\n", c.name, c.answer.sentence);
    let _ = writeln!(out, "{}\n", bracket_line(c));
    if let Some(b) = &c.breaks_first {
        let _ = writeln!(out, "{}\n", breaks_line(b));
        for e in &b.evidence {
            let _ = writeln!(out, "- {e}");
        }
        out.push('\n');
    }
    out.push_str(
        "| # | offered | achieved | p50 ms | p99 ms | error rate | verdict |\n|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for (i, s) in c.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {}{} | {} | {:.2} | {:.2} | {:.2}% | {} |",
            i + 1,
            rate(s.offered_per_s),
            if s.rerun { " (re-run)" } else { "" },
            rate(s.achieved_per_s),
            s.p50_ms,
            s.p99_ms,
            s.error_rate * 100.0,
            verdict_word(s)
        );
    }
    out
}

fn junit(c: &Capacity) -> String {
    let name = esc(&c.name);
    let failures = usize::from(!c.passed);
    let case = match c.require_per_s {
        Some(r) => format!("capacity at least {}", rate(r)),
        None => "capacity found".to_string(),
    };
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"einv-load\" tests=\"1\" failures=\"{failures}\" \
         errors=\"0\" time=\"{:.3}\">\n  <testsuite name=\"einv-load capacity: {name}\" tests=\"1\" failures=\"{failures}\" \
         errors=\"0\" skipped=\"0\" time=\"{:.3}\" timestamp=\"{}\">\n    <testcase classname=\"einv-load.{name}\" \
         name=\"{}\" time=\"{:.3}\"",
        c.elapsed_s,
        c.elapsed_s,
        esc(&c.started_at),
        esc(&case),
        c.elapsed_s
    );
    if c.passed {
        x.push_str("/>\n");
    } else {
        let m = esc(&c.answer.sentence);
        let _ = write!(x, ">\n      <failure type=\"capacity\" message=\"{m}\">{m}</failure>\n    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(passed: bool) -> Capacity {
        let step = |rate: f64, ok: bool| Step {
            offered_per_s: rate,
            achieved_per_s: rate,
            p50_ms: 20.0,
            p99_ms: if ok { 30.0 } else { 300.0 },
            error_rate: 0.0,
            passed: ok,
            marginal: false,
            rerun: false,
            early_stop_s: (!ok).then_some(7.0),
            failed: Vec::new(),
            utilisation: None,
            folder: format!("steps/{rate:.0}"),
        };
        let kind = AnswerKind::Capacity;
        Capacity {
            schema: CAPACITY_SCHEMA,
            tool: Tool { name: "einv-load".into(), version: "0".into() },
            name: "a<b".into(),
            profile: "p.toml".into(),
            target: "builtin".into(),
            simulated: true,
            started_at: "2026-12-02T00:00:00Z".into(),
            answer: Answer {
                kind,
                rate_per_s: Some(950.0),
                sentence: Capacity::sentence(kind, Some(950.0), "p99 <= 100 ms", None),
            },
            bracket: Bracket { lo_per_s: Some(950.0), hi_per_s: Some(1000.0), precision: 0.05, converged: true },
            predicted_per_s: None,
            require_per_s: Some(if passed { 900.0 } else { 2000.0 }),
            passed,
            warm_up_s: 5.0,
            measure_s: 25.0,
            steps: vec![step(1000.0, false), step(950.0, true)],
            breaks_first: None,
            elapsed_s: 60.0,
            warnings: Vec::new(),
        }
    }

    /// The page says the answer in one sentence and links every step's report; CI sees one
    /// test case that fails below the required rate.
    #[test]
    fn the_files_say_the_answer_and_gate_on_the_required_rate() {
        let files = render_capacity(&report(true)).unwrap();
        let text = |name: &str| String::from_utf8(files.iter().find(|f| f.0 == name).unwrap().1.clone()).unwrap();
        let html = text(crate::files::INDEX_HTML);
        assert!(html.contains("Sustainable: 950/s at p99 &lt;= 100 ms.") && html.contains("a&lt;b"), "escaped");
        assert!(html.contains("href=\"steps/1000/index.html\"") && html.contains("FAIL (stopped early)"));
        assert!(text(crate::files::JUNIT_XML).contains("failures=\"0\""));
        assert!(text(CAPACITY_SVG).contains("answer 950/s"));
        let failing = render_capacity(&report(false)).unwrap();
        let junit =
            String::from_utf8(failing.iter().find(|f| f.0 == crate::files::JUNIT_XML).unwrap().1.clone()).unwrap();
        assert!(junit.contains("failures=\"1\"") && junit.contains("capacity at least 2000.0/s"), "{junit}");
        let json = serde_json::to_string(&report(true)).unwrap();
        assert_eq!(serde_json::from_str::<Capacity>(&json).unwrap(), report(true));
    }
}
