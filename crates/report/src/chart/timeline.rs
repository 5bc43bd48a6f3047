use plotters::prelude::*;

use super::lines::{DOTS_BELOW, Series, WIDTH, legend, marked, note, panel};
use super::palette;
use super::style::{Area, Axes, end_s, err, full_intervals, mesh, positive_runs, render};
use crate::Error;
use crate::timeseries::TimeseriesRow;

type Pick = fn(&TimeseriesRow) -> f64;

/// Width kept free on the right of each panel for its legend, so it never covers a line.
const LEGEND_W: u32 = 170;

/// What the timeline marks besides its lines: the SLO's latency limits (label, ms), drawn
/// dashed across the latency panel, and the second the run broke (its knee), drawn as a
/// vertical line through both panels.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    pub limits: Vec<(String, f64)>,
    pub knee_s: Option<f64>,
}

/// Latency (p50/p90/p99/max per interval) and throughput (target vs achieved) over time.
/// A cut-short last interval is left out (see `full_intervals`).
pub fn timeline_svg(title: &str, rows: &[TimeseriesRow], marks: &Marks) -> Result<String, Error> {
    let rows = &full_intervals(rows);
    render("timeline", (WIDTH, 640), Some(title), |body| {
        if rows.is_empty() {
            return note(body, "timeline", "no data: no intervals were recorded");
        }
        let t_end = rows.iter().map(end_s).fold(0.0, f64::max);
        let t_end = if t_end > 0.0 { t_end } else { 1.0 };
        let (top, bottom) = body.split_vertically(310);
        latency_panel(&top, rows, t_end, marks)?;
        throughput_panel(&bottom, rows, t_end, marks.knee_s.map(|at| (format!("knee ({at:.0} s)"), at)))
    })
}

fn latency_panel(area: &Area, rows: &[TimeseriesRow], t_end: f64, marks: &Marks) -> Result<(), Error> {
    let lines: [(&'static str, RGBColor, Pick); 4] = [
        ("max", palette::VERMILLION, |r| r.latency_max_ms),
        ("p99", palette::ORANGE, |r| r.latency_p99_ms),
        ("p90", palette::GREEN, |r| r.latency_p90_ms),
        ("p50", palette::BLUE, |r| r.latency_p50_ms),
    ];
    // The limits are in the range too: a limit line off the chart would say nothing.
    let limits = marks.limits.iter().map(|l| l.1);
    let positive = || lines.iter().flat_map(|l| rows.iter().map(l.2)).chain(limits.clone()).filter(|v| *v > 0.0);
    // A log axis keeps p50 readable next to a max that can be 100x larger; a zero means the
    // interval had no finished request, not a zero latency, so it is left out.
    let (lo, hi) = match (positive().reduce(f64::min), positive().reduce(f64::max)) {
        (Some(lo), Some(hi)) => (lo / 1.5, hi * 2.0),
        _ => (0.1, 10.0),
    };
    let err = err("timeline");
    let (plot, legend_area) = area.split_horizontally(WIDTH - LEGEND_W);
    let y = (lo..hi).log_scale().with_key_points(log_ticks(lo, hi));
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t_end, y)
        .map_err(|e| err(&e))?;
    let axes = Axes { x_desc: None, y_desc: "latency (ms), log scale", x_ticks: None, sizes: Axes::SIZES };
    mesh(&mut chart, &axes).map_err(|e| err(&e))?;
    let dots = if rows.len() < DOTS_BELOW { 2 } else { 0 };
    let mut entries = Vec::new();
    for (label, color, value) in lines {
        // The max is the noisiest line; a thin stroke keeps it from hiding p99.
        let style = color.stroke_width(if label == "max" { 1 } else { 2 });
        for run in positive_runs(rows, value) {
            let series = LineSeries::new(run, style).point_size(dots);
            chart.draw_series(series).map_err(|e| err(&e))?;
        }
        entries.push((label, style, false));
    }
    let limit_style = palette::GREY.stroke_width(2);
    for (label, ms) in &marks.limits {
        let line = DashedLineSeries::new([(0.0, *ms), (t_end, *ms)], 8, 5, limit_style);
        chart.draw_series(line).map_err(|e| err(&e))?;
        entries.push((label.as_str(), limit_style, true));
    }
    let knee_style = palette::GREY.stroke_width(2);
    if let Some(at) = marks.knee_s {
        chart.draw_series(DashedLineSeries::new([(at, lo), (at, hi)], 4, 4, knee_style)).map_err(|e| err(&e))?;
    }
    legend(&legend_area, entries).map_err(|e| err(&e))
}

/// 1-2-5 steps for a narrow range, whole decades for a wide one.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = (hi / lo).log10();
    let steps: &[f64] = match decades {
        d if d < 1.2 => &[1.0, 2.0, 3.0, 5.0, 7.0],
        d if d < 2.5 => &[1.0, 2.0, 5.0],
        _ => &[1.0],
    };
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (first..=last)
        .flat_map(|e| steps.iter().map(move |m| m * 10f64.powi(e)))
        .filter(|v| (lo..=hi).contains(v))
        .collect()
}

fn throughput_panel(area: &Area, rows: &[TimeseriesRow], t_end: f64, knee: Option<(String, f64)>) -> Result<(), Error> {
    let points = |f: &dyn Fn(&TimeseriesRow) -> f64| rows.iter().map(|r| (end_s(r), f(r))).collect();
    let mut lines = Vec::new();
    // Closed-loop runs have no target; drawing a flat zero would look like a failed schedule.
    if rows.iter().any(|r| r.target_rate > 0.0) {
        let target = points(&|r| r.target_rate);
        lines.push(Series { label: "target rate".into(), color: BLACK.mix(0.7), dashed: true, points: target });
    }
    lines.push(Series::line("achieved rate", palette::BLUE, points(&|r| r.achieved_rate)));
    if rows.iter().any(|r| r.errors > 0) {
        let per_s = |r: &TimeseriesRow| {
            if r.length_s > 0.0 { r.errors as f64 / r.length_s } else { 0.0 }
        };
        lines.push(Series::line("errors/s", palette::VERMILLION, points(&per_s)));
    }
    let lines = marked(lines, knee);
    panel(area, "timeline", &lines, (t_end, LEGEND_W), (Some("time (s)"), "requests/s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::chart::style::tests::texts;

    fn rows(n: usize) -> Vec<TimeseriesRow> {
        (0..n)
            .map(|i| {
                let t = i as f64;
                TimeseriesRow {
                    start_s: t,
                    length_s: 1.0,
                    target_rate: 500.0,
                    achieved_rate: 480.0 + (t * 0.7).sin() * 20.0,
                    errors: if i % 7 == 3 { 12 } else { 0 },
                    latency_p50_ms: 4.0 + (t * 0.3).sin(),
                    latency_p90_ms: 9.0 + (t * 0.3).sin() * 2.0,
                    latency_p99_ms: 25.0 + (t * 0.5).cos() * 8.0,
                    latency_max_ms: 120.0 + (t * 0.9).cos() * 80.0,
                    ..Default::default()
                }
            })
            .collect()
    }

    #[test]
    fn both_panels_have_titles_axes_and_legends() {
        let svg = timeline_svg("checkout timeline", &rows(60), &Marks::default()).unwrap();
        assert!(svg.starts_with("<svg"));
        let texts = texts(&svg);
        let axes = ["checkout timeline", "latency (ms), log scale", "time (s)", "requests/s"];
        let legend = ["p50", "p90", "p99", "max", "target rate", "achieved rate", "errors/s"];
        for text in axes.iter().chain(&legend) {
            assert!(texts.contains(text), "missing {text} in {texts:?}");
        }
        assert!(texts.contains(&"60"), "time axis should reach 60 s");
    }

    /// A p99 limit above every line still shows (the axis reaches it), and a knee marks
    /// both panels.
    #[test]
    fn the_slo_limit_and_the_knee_are_drawn() {
        let marks = Marks { limits: vec![("p99 limit (900 ms)".into(), 900.0)], knee_s: Some(42.0) };
        let svg = timeline_svg("t", &rows(60), &marks).unwrap();
        let texts = texts(&svg);
        assert!(texts.contains(&"p99 limit (900 ms)") && texts.contains(&"knee (42 s)"), "{texts:?}");
        assert!(texts.contains(&"1000"), "the log axis reaches the limit: {texts:?}");
        assert!(svg.matches("stroke-dasharray").count() + svg.matches("<polyline").count() > 0);
        assert_ne!(svg, timeline_svg("t", &rows(60), &Marks::default()).unwrap());
    }

    #[test]
    fn closed_loop_without_errors_shows_only_achieved_rate() {
        let mut rows = rows(10);
        for r in &mut rows {
            r.target_rate = 0.0;
            r.errors = 0;
        }
        let svg = timeline_svg("t", &rows, &Marks::default()).unwrap();
        let texts = texts(&svg);
        assert!(texts.contains(&"achieved rate"));
        assert!(!texts.contains(&"target rate") && !texts.contains(&"errors/s"));
    }

    #[test]
    fn degenerate_data_still_renders() {
        let svg = timeline_svg("nothing ran", &[], &Marks::default()).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(texts(&svg).contains(&"no data: no intervals were recorded"));
        // One all-zero interval: plotters must not get an empty range.
        let svg = timeline_svg("idle", &[TimeseriesRow::default()], &Marks::default()).unwrap();
        assert!(texts(&svg).contains(&"requests/s"));
    }

    #[test]
    fn a_cut_short_last_interval_is_not_drawn() {
        let full = rows(20);
        let mut cut = full.clone();
        // 0.3 s of a last interval: a few requests at a high rate and an odd p99.
        cut.push(TimeseriesRow {
            start_s: 20.0,
            length_s: 0.3,
            achieved_rate: 2000.0,
            latency_p99_ms: 400.0,
            ..full[0].clone()
        });
        let none = Marks::default();
        assert_eq!(timeline_svg("t", &cut, &none).unwrap(), timeline_svg("t", &full, &none).unwrap());
    }

    #[test]
    fn gaps_in_latency_stay_gaps() {
        let mut rows = rows(6);
        rows[2].latency_p50_ms = 0.0;
        let runs: Vec<usize> = positive_runs(&rows, |r| r.latency_p50_ms).iter().map(Vec::len).collect();
        assert_eq!(runs, [2, 3], "interval 3 had no requests and must not be bridged");
        assert_eq!(log_ticks(0.5, 2000.0), [1.0, 10.0, 100.0, 1000.0]);
    }
}
