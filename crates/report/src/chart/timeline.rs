use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Error;
use crate::timeseries::TimeseriesRow;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Pick = fn(&TimeseriesRow) -> f64;

const SIZE: (u32, u32) = (900, 640);
/// Width kept free on the right of each panel for its legend, so it never covers a line.
const LEGEND_W: u32 = 170;
/// Below this many intervals each value also gets a dot, so short runs stay visible.
const DOTS_BELOW: usize = 40;
const FONT: &str = "sans-serif";

/// Latency (p50/p90/p99/max per interval) and throughput (target vs achieved) over time.
pub fn timeline_svg(title: &str, rows: &[TimeseriesRow]) -> Result<String, Error> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let body = root.titled(title, (FONT, 24)).map_err(err)?;
        if rows.is_empty() {
            no_data(&body)?;
        } else {
            let t_end = rows.iter().map(end_s).fold(0.0, f64::max);
            let t_end = if t_end > 0.0 { t_end } else { 1.0 };
            let (top, bottom) = body.split_vertically(310);
            latency_panel(&top, rows, t_end)?;
            throughput_panel(&bottom, rows, t_end)?;
        }
        root.present().map_err(err)?;
    }
    Ok(buf)
}

fn no_data(area: &Area) -> Result<(), Error> {
    let (w, h) = area.dim_in_pixel();
    let grey = BLACK.mix(0.6);
    let style = TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    let at = (w as i32 / 2, h as i32 / 2);
    let note = Text::new("no data: no intervals were recorded", at, style.color(&grey));
    area.draw(&note).map_err(err)
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Chart { chart: "timeline", message: e.to_string() }
}

fn end_s(row: &TimeseriesRow) -> f64 {
    row.start_s + row.length_s
}

/// "10" rather than "10.0", "0.2" rather than "0.20000000000000004".
fn num_label(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A legend line: label, stroke, dashed.
type Entry = (&'static str, ShapeStyle, bool);

fn draw_mesh<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    x_desc: Option<&str>,
    y_desc: &str,
) -> Result<(), Error>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut mesh = chart.configure_mesh();
    if let Some(desc) = x_desc {
        mesh.x_desc(desc);
    }
    mesh.y_desc(y_desc)
        .x_label_formatter(&|x| num_label(*x))
        .y_label_formatter(&|y| num_label(*y))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(err)
}

fn latency_panel(area: &Area, rows: &[TimeseriesRow], t_end: f64) -> Result<(), Error> {
    let lines: [(&'static str, RGBColor, Pick); 4] = [
        ("max", RGBColor(214, 39, 40), |r| r.latency_max_ms),
        ("p99", RGBColor(255, 127, 14), |r| r.latency_p99_ms),
        ("p90", RGBColor(44, 160, 44), |r| r.latency_p90_ms),
        ("p50", RGBColor(31, 119, 180), |r| r.latency_p50_ms),
    ];
    let positive = || lines.iter().flat_map(|l| rows.iter().map(l.2)).filter(|v| *v > 0.0);
    // A log axis keeps p50 readable next to a max that can be 100x larger; a zero means the
    // interval had no finished request, not a zero latency, so it is left out.
    let (lo, hi) = match (positive().reduce(f64::min), positive().reduce(f64::max)) {
        (Some(lo), Some(hi)) => (lo / 1.5, hi * 2.0),
        _ => (0.1, 10.0),
    };
    let (plot, legend_area) = area.split_horizontally(SIZE.0 - LEGEND_W);
    let y = (lo..hi).log_scale().with_key_points(log_ticks(lo, hi));
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t_end, y)
        .map_err(err)?;
    draw_mesh(&mut chart, None, "latency (ms), log scale")?;
    let dots = if rows.len() < DOTS_BELOW { 2 } else { 0 };
    let mut entries = Vec::new();
    for (label, color, value) in lines {
        // The max is the noisiest line; a thin stroke keeps it from hiding p99.
        let style = color.stroke_width(if label == "max" { 1 } else { 2 });
        for run in positive_runs(rows, value) {
            let series = LineSeries::new(run, style).point_size(dots);
            chart.draw_series(series).map_err(err)?;
        }
        entries.push((label, style, false));
    }
    legend(&legend_area, &entries)
}

/// Consecutive intervals with a positive value, as separate lines so gaps stay gaps.
fn positive_runs(rows: &[TimeseriesRow], value: Pick) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for row in rows {
        match (value(row), runs.last_mut()) {
            (v, Some(run)) if v > 0.0 => run.push((end_s(row), v)),
            (_, Some(run)) if !run.is_empty() => runs.push(Vec::new()),
            _ => {}
        }
    }
    runs.retain(|run| !run.is_empty());
    runs
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

fn throughput_panel(area: &Area, rows: &[TimeseriesRow], t_end: f64) -> Result<(), Error> {
    let points =
        |f: &dyn Fn(&TimeseriesRow) -> f64| -> Vec<(f64, f64)> { rows.iter().map(|r| (end_s(r), f(r))).collect() };
    let mut lines = Vec::new();
    // Closed-loop runs have no target; drawing a flat zero would look like a failed schedule.
    if rows.iter().any(|r| r.target_rate > 0.0) {
        let style = BLACK.mix(0.7).stroke_width(2);
        lines.push((("target rate", style, true), points(&|r| r.target_rate)));
    }
    let style = RGBColor(31, 119, 180).stroke_width(2);
    lines.push((("achieved rate", style, false), points(&|r| r.achieved_rate)));
    if rows.iter().any(|r| r.errors > 0) {
        let per_s = |r: &TimeseriesRow| {
            if r.length_s > 0.0 { r.errors as f64 / r.length_s } else { 0.0 }
        };
        lines.push((("errors/s", RGBColor(214, 39, 40).stroke_width(2), false), points(&per_s)));
    }
    let y_max = lines.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)).fold(0.0, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    let (plot, legend_area) = area.split_horizontally(SIZE.0 - LEGEND_W);
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t_end, 0.0..y_max)
        .map_err(err)?;
    draw_mesh(&mut chart, Some("time (s)"), "requests/s")?;
    let dots = if rows.len() < DOTS_BELOW { 2 } else { 0 };
    for ((_, style, dashed), points) in &lines {
        let points = points.iter().copied();
        if *dashed {
            chart.draw_series(DashedLineSeries::new(points, 8, 5, *style))
        } else {
            chart.draw_series(LineSeries::new(points, *style).point_size(dots))
        }
        .map_err(err)?;
    }
    let entries: Vec<Entry> = lines.into_iter().map(|(entry, _)| entry).collect();
    legend(&legend_area, &entries)
}

fn legend(area: &Area, entries: &[Entry]) -> Result<(), Error> {
    let text = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, style, dashed)) in entries.iter().enumerate() {
        let y = 24 + 24 * i as i32;
        let segments: &[(i32, i32)] = if *dashed { &[(0, 8), (13, 21), (26, 30)] } else { &[(0, 30)] };
        for (a, b) in segments {
            area.draw(&PathElement::new(vec![(4 + a, y), (4 + b, y)], *style)).map_err(err)?;
        }
        area.draw(&Text::new(*label, (42, y), text.clone())).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of every <text> element, as a reader of the chart sees it.
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text").skip(1).filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim())).collect()
    }

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
        let svg = timeline_svg("checkout timeline", &rows(60)).unwrap();
        assert!(svg.starts_with("<svg"));
        let texts = texts(&svg);
        let axes = ["checkout timeline", "latency (ms), log scale", "time (s)", "requests/s"];
        let legend = ["p50", "p90", "p99", "max", "target rate", "achieved rate", "errors/s"];
        for text in axes.iter().chain(&legend) {
            assert!(texts.contains(text), "missing {text} in {texts:?}");
        }
        assert!(texts.contains(&"60"), "time axis should reach 60 s");
    }

    #[test]
    fn closed_loop_without_errors_shows_only_achieved_rate() {
        let mut rows = rows(10);
        for r in &mut rows {
            r.target_rate = 0.0;
            r.errors = 0;
        }
        let svg = timeline_svg("t", &rows).unwrap();
        let texts = texts(&svg);
        assert!(texts.contains(&"achieved rate"));
        assert!(!texts.contains(&"target rate") && !texts.contains(&"errors/s"));
    }

    #[test]
    fn degenerate_data_still_renders() {
        let svg = timeline_svg("nothing ran", &[]).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(texts(&svg).contains(&"no data: no intervals were recorded"));
        // One all-zero interval: plotters must not get an empty range.
        let svg = timeline_svg("idle", &[TimeseriesRow::default()]).unwrap();
        assert!(texts(&svg).contains(&"requests/s"));
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
