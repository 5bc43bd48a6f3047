//! A recorded run rendered by `RunLog::finish`, read back by `Saved::load` and rendered
//! again: what `einv-load report` does to a folder.

use std::time::{Duration, SystemTime};

use super::render;
use crate::folder::files;
use crate::{
    Connections, Finish, Limit, Limits, Metric, Outcome, Percentiles, Phases, RunInfo, RunLog, Sample, Saved, SloSpec,
    Stats, Summary, Timing,
};

/// An op name a profile could hold that is also markup.
const ODD: &str = "a<b>&\"x\"";

fn sample(ms: u64, outcome: Outcome) -> Sample {
    Sample {
        latency: Duration::from_millis(ms),
        service: Some(Duration::from_millis(ms / 2 + 1)),
        send_lag: Duration::from_micros(ms * 10),
        outcome,
        queued: false,
        failed_check: None,
        tag: None,
        expects_rejection: false,
        // Every tenth request opened a connection.
        phases: Phases {
            connect: ms.is_multiple_of(10).then(|| Duration::from_micros(150)),
            tls: ms.is_multiple_of(20).then(|| Duration::from_micros(900)),
            ttfb: Some(Duration::from_millis(ms / 2)),
        },
    }
}

/// Record a 12-second, two-op run into `dir`; p99 breaks a 50 ms SLO, errors stay in one.
fn recorded(dir: &std::path::Path) -> Summary {
    recorded_with(dir, |_| {})
}

/// [`recorded`], with what the engine says at the end changed by `change`.
fn recorded_with(dir: &std::path::Path, change: impl FnOnce(&mut Finish)) -> Summary {
    let ops = vec!["issue".to_string(), ODD.to_string()];
    let mut log = RunLog::create(dir, &ops, SystemTime::now(), "test").unwrap();
    let mut interval = vec![Stats::new(), Stats::new()];
    for second in 0..12u64 {
        for i in 0..200u64 {
            let outcome = if second > 8 && i % 50 == 0 { Outcome::Response(503) } else { Outcome::Response(200) };
            let ms = 1 + (i * 7 + second * 13) % 40 + if i % 97 == 0 { 120 } else { 0 };
            interval[(i % 2) as usize].record(&sample(ms, outcome));
        }
        log.push(Duration::from_secs(second), Duration::from_secs(1), 200.0, (8 + second, 0), &mut interval).unwrap();
    }
    let mut end = finish(vec![1200, 1200]);
    change(&mut end);
    log.finish(end).unwrap()
}

/// What the engine tells the log at the end of the 12-second run.
fn finish(scheduled: Vec<u64>) -> Finish {
    Finish {
        run: RunInfo {
            name: format!("t{ODD}"),
            profile: "p.toml".into(),
            seed: 1,
            target: "http://127.0.0.1:1".into(),
            mode: "open".into(),
            started_at: "2026-11-21T00:00:00.000Z".into(),
            duration_s: 12.0,
            drain_s: 0.0,
            planned_duration_s: 12.0,
            shard: None,
            start: None,
            threads: None,
        },
        scheduled,
        target_rate: 200.0,
        slo: SloSpec {
            overall: Limits::from([
                (Metric::Percentile(crate::Quantile::P99), Limit::Time(Duration::from_millis(50))),
                (Metric::ErrorRate, Limit::Value(0.05)),
            ]),
            ..SloSpec::default()
        },
        percentiles: crate::Quantile::DEFAULT.into(),
        connections: Connections { limit: 32, opened: 20, max_open: 19, http2: 0, max_in_flight: 0, streams: 0 },
        lag_warning: Duration::from_millis(10),
        interrupted: false,
        tags: Vec::new(),
        checks: Vec::new(),
        errors: None,
        pool: None,
    }
}

#[test]
fn report_rerenders_exactly_what_the_run_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let summary = recorded(dir.path());
    let saved = Saved::load(dir.path()).unwrap();
    assert_eq!(saved.folder.summary, summary);
    for (file, bytes) in render(&saved).unwrap() {
        let written = std::fs::read(dir.path().join(file)).unwrap();
        assert!(written == bytes, "{file} differs when rendered again from the folder");
    }
    // A live run has client connections but no simulated pool.
    assert!(dir.path().join(files::CONNECTIONS_SVG).exists());
    assert!(!dir.path().join(files::POOL_SVG).exists());
}

/// Intervals of odd lengths give rates with more decimals than timeseries.csv keeps: a
/// run draws its time series as the file holds it, so `report` draws the same charts.
#[test]
fn a_run_draws_its_time_series_as_the_file_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = RunLog::create(dir.path(), &["issue".to_string()], SystemTime::now(), "test").unwrap();
    let mut interval = vec![Stats::new()];
    let length = Duration::from_micros(1_000_437);
    for k in 0..6u32 {
        for i in 0..333u64 {
            interval[0].record(&sample(1 + i % 40, Outcome::Response(200)));
        }
        log.push(length * k, length, 333.333_7, (3, 0), &mut interval).unwrap();
    }
    log.finish(finish(vec![1998])).unwrap();
    let saved = Saved::load(dir.path()).unwrap();
    assert!(saved.folder.timeseries[0].achieved_rate != 333.0 / length.as_secs_f64(), "rounded in the file");
    for (file, bytes) in render(&saved).unwrap() {
        let written = std::fs::read(dir.path().join(file)).unwrap();
        assert!(written == bytes, "{file} differs when rendered again from the folder");
    }
}

#[test]
fn saved_histograms_give_the_summary_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let summary = recorded(dir.path());
    let saved = Saved::load(dir.path()).unwrap();
    let (latency, service) = (Timing::Latency, Timing::Service);
    let totals = &saved.totals;
    assert_eq!(Percentiles::of(&totals.overall[latency], &[]), summary.overall.latency_ms);
    assert_eq!(Percentiles::of(&totals.overall[service], &[]), summary.overall.service_ms);
    for (name, op) in &summary.ops {
        assert_eq!(Percentiles::of(&totals.ops[name][latency], &[]), op.latency_ms, "{name}");
        assert_eq!(Percentiles::of(&totals.ops[name][service], &[]), op.service_ms, "{name}");
    }
    assert_eq!(saved.folder.timeseries.len(), 12);
}

#[test]
fn index_html_puts_verdicts_first_escapes_profile_text_and_fetches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    recorded(dir.path());
    let html = std::fs::read_to_string(dir.path().join(files::INDEX_HTML)).unwrap();
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("no {needle:?} in index.html"));
    // The answer first: verdict, sentence, latency-over-time chart; then the detail.
    let order =
        ["SLO FAILED: 1 of 2 checks", "id=\"answer\"", "<svg", "id=\"checks\"", "id=\"latency\"", "id=\"requests\""];
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "sections out of order");
    assert!(at("id=\"latency-timeline\" class=\"main\"") < at("id=\"checks\""), "the main chart is the timeline");
    let answer = &html[at("id=\"answer\"")..];
    let answer = &answer[..answer.find("</p>").unwrap()];
    assert!(answer.contains("SLO failed: latency p99"), "the failed check is named in the answer: {answer}");
    assert!(answer.contains("first errors: http_5xx at 9 s"), "{answer}");
    assert!(html.contains("a&lt;b&gt;&amp;&quot;x&quot;"));
    assert!(!html.contains(ODD), "profile text must be escaped");
    assert_eq!(
        html.matches("<svg").count(),
        6,
        "timeline, per-op timelines, spectrum, per-op spectra, errors, connections"
    );
    assert!(
        html.contains("<td>connect</td>") && html.contains("<td>tls</td>") && html.contains("<td>ttfb</td>"),
        "the phases are tabled"
    );
    for attr in ["src=", "href=\"http", "href=\"/", "url(", "@import", "<script", "<link"] {
        assert!(!html.contains(attr), "index.html must be self-contained: found {attr}");
    }
}

#[test]
fn junit_has_one_case_per_check_and_says_why_one_failed() {
    let dir = tempfile::tempdir().unwrap();
    let summary = recorded(dir.path());
    let xml = std::fs::read_to_string(dir.path().join(files::JUNIT_XML)).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 1);
    assert_eq!(xml.matches("<testcase ").count(), summary.slo.checks.len() + 1);
    assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
    let p99 = summary.overall.latency_ms.ms(crate::Quantile::P99);
    let failure = format!("overall latency p99: actual {p99:.2} ms, limit 50.00 ms");
    assert!(xml.contains(&failure), "{failure} not in {xml}");
    assert!(
        xml.contains("name=\"overall: error rate (limit 5.00%)\" time=\"0\"/>"),
        "a passing check has no failure: {xml}"
    );
    assert!(!xml.contains(ODD) && xml.contains("ta&lt;b&gt;&amp;&quot;x&quot;"));
}

#[test]
fn summary_md_has_verdict_slo_table_and_per_op_rows() {
    let dir = tempfile::tempdir().unwrap();
    recorded(dir.path());
    let md = std::fs::read_to_string(dir.path().join(files::SUMMARY_MD)).unwrap();
    let first = md.lines().next().unwrap();
    assert!(first.contains("❌ SLO failed (1 of 2 checks)"), "{first}");
    assert!(md.contains("| ❌ | latency p99 | overall |"), "{md}");
    assert!(md.contains("| ✅ | error rate | overall |"), "{md}");
    assert!(md.contains("| a&lt;b&gt;&amp;\"x\" | 1,200 |"), "{md}");
    assert!(md.contains("| issue | 1,200 |"), "{md}");
    assert!(md.len() < 4096, "fits a step summary at a glance: {} bytes", md.len());
}

#[test]
fn an_interrupted_run_without_slo_says_both_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut summary = recorded(dir.path());
    summary.interrupted = true;
    summary.slo = crate::SloReport { passed: true, checks: Vec::new() };
    let html = super::html::page(&summary, &[], &[], &[]);
    assert!(html.contains("No SLO set") && html.contains("INTERRUPTED"));
    let xml = super::junit::junit_xml(&summary);
    assert!(xml.contains("tests=\"1\" failures=\"1\""), "only `run completed`, failed: {xml}");
    assert!(xml.contains("<failure type=\"interrupted\""));
    let md = super::markdown::summary_md(&summary);
    assert!(md.starts_with("### einv-load ta&lt;b&gt;&amp;\"x\": ⚪ no SLO set"), "{md}");
    assert!(md.contains("**Interrupted**"));
}

/// A run stopped by abort-on-fail failed, even when its final figures pass every check:
/// the page, the step summary and the JUnit suite all say so.
#[test]
fn an_aborted_run_fails_everywhere_even_if_its_final_figures_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut summary = recorded(dir.path());
    let failing = summary.slo.checks.iter().find(|c| !c.passed).cloned().unwrap();
    summary.slo.checks.iter_mut().for_each(|c| c.passed = true);
    summary.slo.passed = false;
    summary.aborted = Some(crate::Aborted { at_s: 4.0, grace_s: 2.0, failed: vec![failing], certain: false });
    let html = super::html::page(&summary, &[], &[], &[]);
    assert!(html.contains("SLO FAILED: run aborted at 4.0 s"), "the banner says so");
    let md = super::markdown::summary_md(&summary);
    assert!(md.contains("❌ SLO failed: run aborted at 4.0 s"), "{md}");
    let xml = super::junit::junit_xml(&summary);
    assert!(xml.contains("failures=\"1\"") && xml.contains("<failure type=\"aborted\""), "{xml}");
    assert!(xml.contains("latency p99 (overall) failing"), "{xml}");
}

/// `[report] percentiles` with p99.99 in it: summary.json holds the figure and the list,
/// every table shows the list (p90, not asked for, only stays in summary.json), and the
/// folder renders again the same.
#[test]
fn the_configured_percentiles_are_what_every_table_shows() {
    let dir = tempfile::tempdir().unwrap();
    let list = [50.0, 95.0, 99.0, 99.99].map(|p| crate::Quantile::from_percent(p).unwrap());
    let summary = recorded_with(dir.path(), |f| f.percentiles = list.to_vec());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(files::SUMMARY)).unwrap()).unwrap();
    assert_eq!(json["percentiles"], serde_json::json!([50, 95, 99, 99.99]));
    let lat = &json["ops"]["issue"]["latency_ms"];
    let (p99, p9999, max) =
        (lat["p99"].as_f64().unwrap(), lat["p9999"].as_f64().unwrap(), lat["max"].as_f64().unwrap());
    assert!(p99 <= p9999 && p9999 <= max, "{lat}");
    assert!(lat["p95"].is_number() && lat["p90"].is_number() && lat["p999"].is_number(), "{lat}");
    let html = std::fs::read_to_string(dir.path().join(files::INDEX_HTML)).unwrap();
    assert!(html.contains("<th>p50</th><th>p95</th><th>p99</th><th>p99.99</th><th>max</th>"), "{html}");
    assert!(!html.contains("<th>p90</th>"));
    let md = std::fs::read_to_string(dir.path().join(files::SUMMARY_MD)).unwrap();
    assert!(md.contains("| p50 ms | p95 ms | p99 ms | p99.99 ms | max ms |"), "{md}");
    assert!(md.contains(&format!(" {p9999:.2} | {max:.2} |")), "{md}");
    let text = crate::text_summary(&summary, &[], "x");
    assert!(text.lines().any(|l| l.starts_with("ms") && l.contains("p99.99") && !l.contains("p90")), "{text}");
    assert!(text.contains("rate      target 200.0/s, achieved "), "{text}");
    let other = tempfile::tempdir().unwrap();
    let closed = recorded_with(other.path(), |f| f.run.mode = "closed".into());
    let text = crate::text_summary(&closed, &[], "x");
    assert!(text.contains("rate      closed loop, no target, achieved "), "a closed loop has no target rate: {text}");
    let saved = Saved::load(dir.path()).unwrap();
    assert_eq!(saved.folder.summary.percentiles, list);
    for (file, bytes) in render(&saved).unwrap() {
        assert!(std::fs::read(dir.path().join(file)).unwrap() == bytes, "{file} differs when rendered again");
    }
}

/// A p95 and a p99.99 limit with `[report] percentiles = [50, 95, 99.99]`: each renderer
/// shows the p95 figure where a user looks for it (a JUnit case, a verdict line, a table
/// column), and the failing p99.99 with the figure the tables show.
#[test]
fn p95_and_p99_99_limits_reach_every_renderer() {
    let dir = tempfile::tempdir().unwrap();
    let q = |p: f64| crate::Quantile::from_percent(p).unwrap();
    let summary = recorded_with(dir.path(), |f| {
        f.percentiles = vec![q(50.0), q(95.0), q(99.99)];
        f.slo.overall = Limits::from([
            (Metric::Percentile(q(95.0)), Limit::Time(Duration::from_secs(1))),
            (Metric::Percentile(q(99.99)), Limit::Time(Duration::from_millis(1))),
        ]);
    });
    let l = &summary.overall.latency_ms;
    let (p95, p9999) = (l.get(q(95.0)).unwrap(), l.get(q(99.99)).unwrap());
    assert!(0.0 < p95 && p95 <= p9999 && p9999 <= l.max, "{l:?}");
    let read = |file: &str| std::fs::read_to_string(dir.path().join(file)).unwrap();

    let xml = read(files::JUNIT_XML);
    assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
    assert!(xml.contains("name=\"overall: latency p95 (limit 1000.00 ms)\" time=\"0\"/>"), "p95 passes: {xml}");
    let failure = format!("overall latency p99.99: actual {p9999:.2} ms, limit 1.00 ms");
    assert!(xml.contains(&failure), "{failure} not in {xml}");

    let text = crate::text_summary(&summary, &[], "x");
    let header = text.lines().find(|l| l.starts_with("ms ")).unwrap();
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["ms", "p50", "p95", "p99.99", "max"], "{text}");
    let latency = text.lines().find(|l| l.starts_with("latency ")).unwrap();
    assert!(latency.contains(&format!(" {p95:.3} ")) && latency.contains(&format!(" {p9999:.3} ")), "{latency}");
    assert!(text.contains(&format!("latency p95 {p95:.2} ms (limit 1000.00 ms)")), "{text}");

    let md = read(files::SUMMARY_MD);
    assert!(md.contains("| ✅ | latency p95 | overall |") && md.contains("| ❌ | latency p99.99 | overall |"), "{md}");
    assert!(md.contains(&format!(" {p95:.2} | {p9999:.2} | {:.2} |", l.max)), "{md}");

    let html = read(files::INDEX_HTML);
    assert!(html.contains("<th>p50</th><th>p95</th><th>p99.99</th><th>max</th>"), "{html}");
    assert!(html.contains(&format!("<td>{p95:.2}</td><td>{p9999:.2}</td>")), "the latency row has both figures");
    assert!(html.contains("latency p99.99"), "the failed check is named in the verdict");
}

/// An op name longer than the table's label column (a HAR import's
/// `get_v1_taxpayers_91350100M000100Y43`) widens the column: every row of the latency
/// table still ends at the same place, so the figures stay under their headings.
#[test]
fn long_op_names_keep_the_text_table_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let mut summary = recorded_with(dir.path(), |_| {});
    let op = summary.ops["issue"].clone();
    summary.ops.insert("get_v1_taxpayers_91350100M000100Y43_and_more".into(), op);
    let text = crate::text_summary(&summary, &[], "x");
    let table: Vec<&str> =
        text.lines().skip_while(|l| !l.starts_with("ms ")).take_while(|l| !l.trim().is_empty()).collect();
    assert!(table.len() >= 5 && table.iter().any(|l| l.contains("_and_more")), "{text}");
    let width = table[0].chars().count();
    assert!(table.iter().all(|l| l.chars().count() == width), "rows of unequal length:\n{}", table.join("\n"));
}
