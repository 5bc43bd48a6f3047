//! A time-series panel shared by the counter charts (errors, connections, pool): lines
//! over seconds, a legend in a strip of its own on the right so it never covers a line.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Error;

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

pub(super) const FONT: &str = "sans-serif";
pub(super) const WIDTH: u32 = 900;
/// Width kept free on the right of each panel for its legend.
const LEGEND_W: u32 = 190;
/// Below this many intervals each value also gets a dot, so short runs stay visible.
const DOTS_BELOW: usize = 40;

/// One line of a panel.
#[derive(Debug, Clone)]
pub(super) struct Series {
    pub label: String,
    pub color: RGBColor,
    pub dashed: bool,
    /// (seconds, value)
    pub points: Vec<(f64, f64)>,
}

/// Blue, green, red, orange: distinct for readers with the common colour-vision
/// deficiencies when paired with line order in the legend.
pub(super) const PALETTE: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(44, 160, 44), RGBColor(214, 39, 40), RGBColor(255, 127, 14)];

pub(super) fn err(chart: &'static str) -> impl Fn(&dyn std::fmt::Display) -> Error {
    move |e| Error::Chart { chart, message: e.to_string() }
}

/// "10" rather than "10.0", "0.2" rather than "0.20000000000000004".
pub(super) fn num_label(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Draw `series` over `0..t_end` seconds with a y axis from 0; `x_desc` only on the
/// bottom panel of a stack.
pub(super) fn panel(
    area: &Area,
    chart_name: &'static str,
    series: &[Series],
    t_end: f64,
    (x_desc, y_desc): (Option<&str>, &str),
) -> Result<(), Error> {
    let err = err(chart_name);
    let y_max = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    // Headroom keeps the top line off the frame; an all-zero chart still needs a range.
    let y_max = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    let t_end = if t_end > 0.0 { t_end } else { 1.0 };
    let (plot, legend_area) = area.split_horizontally(WIDTH - LEGEND_W);
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(if x_desc.is_some() { 50 } else { 30 })
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t_end, 0.0..y_max)
        .map_err(|e| err(&e))?;
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
        .map_err(|e| err(&e))?;
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
    legend(&legend_area, series).map_err(|e| err(&e))
}

fn legend(area: &Area, series: &[Series]) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let text = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, s) in series.iter().enumerate() {
        let y = 24 + 24 * i as i32;
        let style = s.color.stroke_width(2);
        let segments: &[(i32, i32)] = if s.dashed { &[(0, 8), (13, 21), (26, 30)] } else { &[(0, 30)] };
        for (a, b) in segments {
            area.draw(&PathElement::new(vec![(4 + a, y), (4 + b, y)], style))?;
        }
        area.draw(&Text::new(s.label.as_str(), (42, y), text.clone()))?;
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

/// Render a chart of `height` pixels with a title into an SVG string.
pub(super) fn svg(
    chart_name: &'static str,
    title: &str,
    height: u32,
    body: impl FnOnce(&Area) -> Result<(), Error>,
) -> Result<String, Error> {
    let err = err(chart_name);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let area = root.titled(title, (FONT, 24)).map_err(|e| err(&e))?;
        body(&area)?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(buf)
}

#[cfg(test)]
pub(super) mod tests {
    /// The text of every <text> element, as a reader of the chart sees it.
    pub fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text").skip(1).filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim())).collect()
    }
}
