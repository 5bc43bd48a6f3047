//! Baseline vs current, on one chart each: the percentile spectrum, and latency over time.
//! The baseline is drawn grey and dashed, the current run in colour, so the eye goes to
//! the current run and reads the baseline as the reference.

use hdrhistogram::Histogram;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::palette;
use super::spectrum::{Fonts, Line, axes};
use super::style::{Axes, end_s, frame, full_intervals, legend_box, mesh, positive_runs, render};
use crate::Error;
use crate::timeseries::TimeseriesRow;

const SIZE: (u32, u32) = (900, 500);
const BASE: RGBColor = palette::GREY;
const CURRENT: RGBColor = palette::BLUE;
const CURRENT_P50: RGBColor = palette::GREEN;

fn err(e: impl std::fmt::Display) -> Error {
    Error::Chart { chart: "overlay", message: e.to_string() }
}

/// The percentile spectra of two runs (named microsecond histograms) on one log "nines" axis.
pub fn spectrum_overlay_svg(
    title: &str,
    (b_name, baseline): (&str, &Histogram<u64>),
    (c_name, current): (&str, &Histogram<u64>),
) -> Result<String, Error> {
    let lines: Vec<(Line, bool)> = [(b_name, baseline, true), (c_name, current, false)]
        .into_iter()
        .filter(|(_, h, _)| !h.is_empty())
        .map(|(name, h, is_baseline)| (Line::new(name, h), is_baseline))
        .collect();
    if lines.is_empty() {
        return super::spectrum_svg(title, &[], &[]);
    }
    render("overlay", SIZE, None, |root| {
        let mut chart = axes(root, title, lines.iter().map(|(l, _)| l), 0.0, Fonts::FULL).map_err(err)?;
        for (line, is_baseline) in &lines {
            let style = if *is_baseline { BASE.stroke_width(2) } else { CURRENT.stroke_width(3) };
            let points = line.points.iter().copied();
            let drawn = if *is_baseline {
                chart.draw_series(DashedLineSeries::new(points, 8, 5, style)).map_err(err)?
            } else {
                chart.draw_series(LineSeries::new(points, style)).map_err(err)?
            };
            drawn.label(line.name).legend(move |(x, y)| legend_line((x, y), style, *is_baseline));
        }
        legend_box(&mut chart, SeriesLabelPosition::UpperLeft, Fonts::FULL.label).map_err(err)
    })
}

/// Latency p50 and p99 per interval of two runs, on one time axis (seconds from each
/// run's start). Intervals without a finished request are gaps, not zeros; a cut-short last
/// interval is left out (see `full_intervals`).
pub fn timeline_overlay_svg(
    title: &str,
    (b_name, baseline): (&str, &[TimeseriesRow]),
    (c_name, current): (&str, &[TimeseriesRow]),
) -> Result<String, Error> {
    let (baseline, current) = (&full_intervals(baseline)[..], &full_intervals(current)[..]);
    type Pick = fn(&TimeseriesRow) -> f64;
    let p99: Pick = |r| r.latency_p99_ms;
    let p50: Pick = |r| r.latency_p50_ms;
    let b99 = format!("{b_name} p99");
    let b50 = format!("{b_name} p50");
    let c99 = format!("{c_name} p99");
    let c50 = format!("{c_name} p50");
    let series: [(&str, &[TimeseriesRow], Pick, ShapeStyle, bool); 4] = [
        (&b99, baseline, p99, BASE.stroke_width(2), true),
        (&b50, baseline, p50, BASE.mix(0.6).stroke_width(1), true),
        (&c99, current, p99, CURRENT.stroke_width(2), false),
        (&c50, current, p50, CURRENT_P50.stroke_width(2), false),
    ];
    let t_end = baseline.iter().chain(current).map(end_s).fold(0.0, f64::max).max(1.0);
    let y_max = baseline.iter().chain(current).map(p99).fold(0.0, f64::max);
    // Room above the highest p99 for the four-line legend in the top right corner.
    let y_max = if y_max > 0.0 { y_max * 1.45 } else { 1.0 };
    render("overlay", SIZE, None, |root| {
        let mut chart = frame(root, (title, Fonts::FULL.title), 0.0..t_end, y_max).map_err(err)?;
        let x_desc = Some("time since run start (s)");
        mesh(&mut chart, &Axes { x_desc, y_desc: "latency (ms)", x_ticks: None, sizes: Axes::SIZES }).map_err(err)?;
        for (name, rows, pick, style, dashed) in series {
            for run in positive_runs(rows, pick) {
                if dashed {
                    chart.draw_series(DashedLineSeries::new(run, 6, 4, style)).map_err(err)?;
                } else {
                    chart.draw_series(LineSeries::new(run, style)).map_err(err)?;
                }
            }
            // An empty series carries the legend entry, so every line is named once.
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| legend_line((x, y), style, dashed));
        }
        legend_box(&mut chart, SeriesLabelPosition::UpperRight, 14).map_err(err)
    })
}

/// A legend sample drawn like its line: dashed for the baseline.
fn legend_line(
    (x, y): (i32, i32),
    style: ShapeStyle,
    dashed: bool,
) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    let (dash, gap) = if dashed { (6, 4) } else { (24, 0) };
    DashedPathElement::new(vec![(x, y), (x + 24, y)], dash, gap, style)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::chart::style::tests::{hist, texts};

    #[test]
    fn spectrum_overlay_names_both_runs_and_draws_the_baseline_dashed() {
        let (b, c) = (hist((1..=10_000).map(|v| v * 10)), hist((1..=10_000).map(|v| v * 12)));
        let svg = spectrum_overlay_svg("overall", ("baseline (a)", &b), ("current (b)", &c)).unwrap();
        let texts = texts(&svg);
        for t in ["overall", "baseline (a)", "current (b)", "percentile", "latency (ms)", "99.99%"] {
            assert!(texts.contains(&t), "missing {t} in {texts:?}");
        }
        assert!(svg.contains("stroke-dasharray") || svg.matches("<polyline").count() > 2, "baseline is dashed");
    }

    #[test]
    fn timeline_overlay_has_four_named_lines_and_survives_no_data() {
        let row = |t: f64, p99: f64| TimeseriesRow {
            start_s: t,
            length_s: 1.0,
            latency_p50_ms: p99 / 3.0,
            latency_p99_ms: p99,
            ..Default::default()
        };
        let b: Vec<TimeseriesRow> = (0..20).map(|i| row(f64::from(i), 10.0)).collect();
        let c: Vec<TimeseriesRow> = (0..20).map(|i| row(f64::from(i), 12.0)).collect();
        let svg = timeline_overlay_svg("over time", ("baseline", &b), ("current", &c)).unwrap();
        let texts = texts(&svg);
        for t in ["baseline p99", "baseline p50", "current p99", "current p50", "time since run start (s)"] {
            assert!(texts.contains(&t), "missing {t} in {texts:?}");
        }
        // A cut-short last interval of either run is not drawn.
        let mut cut = c.clone();
        cut.push(TimeseriesRow { length_s: 0.4, latency_p99_ms: 300.0, ..row(20.0, 12.0) });
        let with_tail = timeline_overlay_svg("over time", ("baseline", &b), ("current", &cut)).unwrap();
        assert_eq!(with_tail, timeline_overlay_svg("over time", ("baseline", &b), ("current", &c)).unwrap());
        let svg = timeline_overlay_svg("empty", ("baseline", &[]), ("current", &[])).unwrap();
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
