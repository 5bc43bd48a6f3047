//! capacity.svg: the steps of a capacity search by offered rate. Top: latency p50 and p99
//! with the p99 limit; middle: achieved rate; bottom: error rate. The answer is a dashed
//! vertical line in each panel.

use super::lines::{LEGEND_W, Series, WIDTH, marked, note, panel};
use super::palette::{BLUE, GREEN, GREY, ORANGE, VERMILLION};
use super::style::render;
use crate::Error;
use crate::capacity::Capacity;
use crate::slo::Metric;

pub fn capacity_svg(c: &Capacity) -> Result<String, Error> {
    // A rate run twice is drawn at its latest verdict: the one the answer rests on.
    let mut steps: Vec<&crate::capacity::Step> = Vec::new();
    for s in &c.steps {
        steps.retain(|t| t.offered_per_s != s.offered_per_s);
        steps.push(s);
    }
    steps.sort_by(|a, b| a.offered_per_s.total_cmp(&b.offered_per_s));
    let x_end = steps.last().map_or(1.0, |s| s.offered_per_s) * 1.05;
    let line = |label: &str, color, f: fn(&crate::capacity::Step) -> f64| {
        Series::line(label, color, steps.iter().map(|s| (s.offered_per_s, f(s))).collect())
    };
    let answer = c.answer.rate_per_s;
    let marked = |series| marked(series, answer.map(|a| (format!("answer {a:.0}/s"), a)));
    let mut latency = vec![line("p50", BLUE, |s| s.p50_ms), line("p99", ORANGE, |s| s.p99_ms)];
    if let Some(limit) = p99_limit(c) {
        let label = format!("p99 limit {limit:.0} ms");
        latency.push(Series {
            label,
            color: VERMILLION.into(),
            dashed: true,
            points: vec![(0.0, limit), (x_end, limit)],
        });
    }
    let latency = marked(latency);
    let achieved = marked(vec![
        line("achieved", GREEN, |s| s.achieved_per_s),
        Series { label: "offered".into(), color: GREY.into(), dashed: true, points: vec![(0.0, 0.0), (x_end, x_end)] },
    ]);
    let errors = marked(vec![line("error rate %", VERMILLION, |s| s.error_rate * 100.0)]);
    let title = format!("{}: capacity search ({} steps)", c.name, c.steps.len());
    render("capacity", (WIDTH, 760), Some(&title), |area| {
        if steps.is_empty() {
            return note(area, "capacity", "no step was run");
        }
        let panels = area.split_evenly((3, 1));
        panel(&panels[0], "capacity", &latency, (x_end, LEGEND_W), (None, "latency ms"))?;
        panel(&panels[1], "capacity", &achieved, (x_end, LEGEND_W), (None, "requests/s"))?;
        panel(&panels[2], "capacity", &errors, (x_end, LEGEND_W), (Some("offered rate (requests/s)"), "errors %"))
    })
}

/// The overall p99 limit, from the failed checks of any step.
fn p99_limit(c: &Capacity) -> Option<f64> {
    let all = c.steps.iter().flat_map(|s| s.failed.iter()).chain(c.breaks_first.iter().map(|b| &b.limit));
    all.filter(|f| f.scope == "overall" && f.metric() == Some(Metric::Percentile(crate::Quantile::P99)))
        .map(|f| f.threshold)
        .next()
}
