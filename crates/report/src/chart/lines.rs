//! A time-series panel shared by the counter charts (errors, connections, pool) and the
//! throughput half of the timeline: lines over seconds, a legend in a strip of its own on
//! the right so it never covers a line.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::palette;
use super::style::{Area, Axes, DrawError, FONT, err, mesh};
use crate::Error;

pub(super) const WIDTH: u32 = 900;
/// Width kept free on the right of each counter panel for its legend.
pub(super) const LEGEND_W: u32 = 190;
/// Below this many intervals each value also gets a dot, so short runs stay visible.
pub(super) const DOTS_BELOW: usize = 40;

/// One line of a panel.
#[derive(Debug, Clone)]
pub(super) struct Series {
    pub label: String,
    pub color: RGBAColor,
    pub dashed: bool,
    /// (seconds, value)
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A solid line.
    pub(super) fn line(label: impl Into<String>, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Series { label: label.into(), color: color.into(), dashed: false, points }
    }

    /// A dashed grey line at a fixed `value` across `0..t_end` seconds: the limit a gauge
    /// runs up against.
    pub(super) fn limit(label: String, value: u64, t_end: f64) -> Self {
        let value = value as f64;
        Series { label, color: palette::GREY.into(), dashed: true, points: vec![(0.0, value), (t_end, value)] }
    }
}

/// `series` with a dashed grey vertical line at `x` labelled `label`, from 0 to the top of
/// the others: a moment or an answer (the knee, the sustainable rate) rather than a level.
pub(super) fn marked(mut series: Vec<Series>, mark: Option<(String, f64)>) -> Vec<Series> {
    let top = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    if let Some((label, x)) = mark {
        series.push(Series { label, color: palette::GREY.into(), dashed: true, points: vec![(x, 0.0), (x, top)] });
    }
    series
}

/// Draw `series` over `0..t_end` seconds with a y axis from 0, and their legend in a
/// strip `legend_w` wide; `x_desc` only on the bottom panel of a stack.
pub(super) fn panel(
    area: &Area,
    chart_name: &'static str,
    series: &[Series],
    (t_end, legend_w): (f64, u32),
    (x_desc, y_desc): (Option<&str>, &str),
) -> Result<(), Error> {
    let err = err(chart_name);
    let y_max = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    // Headroom keeps the top line off the frame; an all-zero chart still needs a range.
    let y_max = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    let t_end = if t_end > 0.0 { t_end } else { 1.0 };
    let (plot, legend_area) = area.split_horizontally(WIDTH - legend_w);
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(if x_desc.is_some() { 50 } else { 30 })
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t_end, 0.0..y_max)
        .map_err(|e| err(&e))?;
    mesh(&mut chart, &Axes { x_desc, y_desc, x_ticks: None, sizes: Axes::SIZES }).map_err(|e| err(&e))?;
    for s in series {
        let style = s.color.stroke_width(2);
        let points = s.points.iter().copied();
        let dots = if s.points.len() < DOTS_BELOW && !s.dashed { 2 } else { 0 };
        if s.dashed {
            chart.draw_series(DashedLineSeries::new(points, 8, 5, style))
        } else {
            chart.draw_series(LineSeries::new(points, style).point_size(dots))
        }
        .map_err(|e| err(&e))?;
    }
    let entries = series.iter().map(|s| (s.label.as_str(), s.color.stroke_width(2), s.dashed));
    legend(&legend_area, entries).map_err(|e| err(&e))
}

/// A legend of (label, stroke, dashed) entries, one a row from the top of `area`.
pub(super) fn legend<'a>(
    area: &Area,
    entries: impl IntoIterator<Item = (&'a str, ShapeStyle, bool)>,
) -> Result<(), DrawError> {
    let text = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, style, dashed)) in entries.into_iter().enumerate() {
        let y = 24 + 24 * i as i32;
        let segments: &[(i32, i32)] = if dashed { &[(0, 8), (13, 21), (26, 30)] } else { &[(0, 30)] };
        for (a, b) in segments {
            area.draw(&PathElement::new(vec![(4 + a, y), (4 + b, y)], style))?;
        }
        area.draw(&Text::new(label, (42, y), text.clone()))?;
    }
    Ok(())
}

/// A centred grey note where a chart has nothing to show, so the page still says why.
pub(super) fn note(area: &Area, chart_name: &'static str, text: &str) -> Result<(), Error> {
    let (w, h) = area.dim_in_pixel();
    let grey = BLACK.mix(0.6);
    let style = TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Center, VPos::Center)).color(&grey);
    area.draw(&Text::new(text, (w as i32 / 2, h as i32 / 2), style)).map_err(|e| err(chart_name)(&e))
}
