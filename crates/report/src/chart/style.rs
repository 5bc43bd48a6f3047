//! What every chart shares, so they all look alike: the font, the error wrapper, number
//! labels, the mesh (no minor grid, a faint major grid), a captioned frame with a legend
//! box, and splitting a timeline into runs so an idle interval is a gap, not a zero.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::Error;
use crate::timeseries::TimeseriesRow;

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// A plotters error of an SVG chart, before `err` names the chart.
pub(super) type DrawError = DrawingAreaErrorKind<std::io::Error>;
/// A chart on linear axes in both directions.
pub(super) type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

pub(super) const FONT: &str = "sans-serif";

/// Wraps a plotters error into the crate's error, naming the chart.
pub(super) fn err(chart: &'static str) -> impl Fn(&dyn std::fmt::Display) -> Error {
    move |e| Error::Chart { chart, message: e.to_string() }
}

/// Render a chart of `size` pixels on white into an SVG string: `body` draws on the whole
/// picture, or below `title` where there is one.
pub(super) fn render(
    chart: &'static str,
    size: (u32, u32),
    title: Option<&str>,
    body: impl FnOnce(&Area) -> Result<(), Error>,
) -> Result<String, Error> {
    let err = err(chart);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        match title {
            Some(title) => body(&root.titled(title, (FONT, 24)).map_err(|e| err(&e))?)?,
            None => body(&root)?,
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(buf)
}

/// "10" rather than "10.0", "0.2" rather than "0.20000000000000004".
pub(super) fn num_label(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// How an x tick value reads on the axis.
pub(super) type TickText = fn(f64) -> String;

/// The text around a chart's axes.
pub(super) struct Axes<'a> {
    pub x_desc: Option<&'a str>,
    pub y_desc: &'a str,
    /// How many x labels and how they read, where they are not plain numbers.
    pub x_ticks: Option<(usize, TickText)>,
    /// Font sizes of the tick labels and of the axis descriptions.
    pub sizes: (u32, u32),
}

impl Axes<'_> {
    /// Tick labels 15 and descriptions 16: every full-size chart.
    pub const SIZES: (u32, u32) = (15, 16);
}

/// Draw the mesh of `chart` with `axes`' text.
pub(super) fn mesh<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    axes: &Axes,
) -> Result<(), DrawError>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_text = axes.x_ticks.map_or(num_label as TickText, |(_, text)| text);
    let x_label = move |x: &f64| x_text(*x);
    let mut mesh = chart.configure_mesh();
    if let Some(desc) = axes.x_desc {
        mesh.x_desc(desc);
    }
    if let Some((count, _)) = axes.x_ticks {
        mesh.x_labels(count);
    }
    mesh.y_desc(axes.y_desc)
        .x_label_formatter(&x_label)
        .y_label_formatter(&|y| num_label(*y))
        .label_style((FONT, axes.sizes.0))
        .axis_desc_style((FONT, axes.sizes.1))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
}

/// A chart with a caption of `title_size` over `x` and `0..y_max`, room for labels on
/// both axes and a wider right margin so the last x label is not cut off.
pub(super) fn frame<'a, 'b>(
    root: &'a Area<'b>,
    (title, title_size): (&str, u32),
    x: Range<f64>,
    y_max: f64,
) -> Result<Chart<'a, 'b>, DrawError> {
    ChartBuilder::on(root)
        .caption(title, (FONT, title_size))
        .margin(16)
        .margin_right(36)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x, 0.0..y_max)
}

/// The legend of the series labelled on `chart`, in a box at `position`.
pub(super) fn legend_box<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> Result<(), DrawError> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, font_size))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
}

/// The intervals a line chart draws. A run's last interval is usually cut short (0.3 s of
/// a 1 s interval), and its rates and percentiles over so little time would show as a
/// spike or a drop at the right edge; so intervals shorter than half the nominal (median)
/// length are left out. Only the charts: the data files keep every interval.
pub(super) fn full_intervals(rows: &[TimeseriesRow]) -> Vec<TimeseriesRow> {
    let mut lengths: Vec<f64> = rows.iter().map(|r| r.length_s).collect();
    lengths.sort_by(f64::total_cmp);
    let Some(&nominal) = lengths.get(lengths.len() / 2) else { return Vec::new() };
    rows.iter().filter(|r| r.length_s >= nominal / 2.0).cloned().collect()
}

/// The end of an interval, where its value is drawn.
pub(super) fn end_s(row: &TimeseriesRow) -> f64 {
    row.start_s + row.length_s
}

/// Consecutive intervals with a positive value, as separate lines so gaps stay gaps: a
/// zero latency means the interval had no finished request.
pub(super) fn positive_runs(rows: &[TimeseriesRow], value: fn(&TimeseriesRow) -> f64) -> Vec<Vec<(f64, f64)>> {
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The text of every <text> element, as a reader of the chart sees it.
    pub fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text").skip(1).filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim())).collect()
    }

    /// A microsecond histogram of `values`.
    pub fn hist(values: impl IntoIterator<Item = u64>) -> hdrhistogram::Histogram<u64> {
        let mut h = crate::new_histogram();
        for v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn short_intervals_are_left_out_of_line_charts() {
        let row = |start_s: f64, length_s: f64| TimeseriesRow { start_s, length_s, ..Default::default() };
        let starts = |rows: Vec<TimeseriesRow>| rows.iter().map(|r| r.start_s).collect::<Vec<_>>();
        let run = [row(0.0, 1.0), row(1.0, 1.0), row(2.0, 1.0), row(3.0, 0.3)];
        assert_eq!(starts(full_intervals(&run)), [0.0, 1.0, 2.0], "the 0.3 s tail is dropped");
        let tail = [row(0.0, 1.0), row(1.0, 1.0), row(2.0, 0.5)];
        assert_eq!(starts(full_intervals(&tail)), [0.0, 1.0, 2.0], "half an interval is kept");
        // A run shorter than one interval still has its one row to draw.
        assert_eq!(starts(full_intervals(&[row(0.0, 0.3)])), [0.0]);
        assert!(full_intervals(&[]).is_empty());
    }

    #[test]
    fn labels_drop_float_noise() {
        assert_eq!(num_label(0.1 + 0.2), "0.3");
        assert_eq!(num_label(10.0), "10");
    }
}
