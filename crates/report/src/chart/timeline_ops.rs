//! latency-timeline-ops.svg: small multiples, one panel per op of its latency p50 and
//! p99 over time, on one shared latency scale so the panels compare at a glance, each
//! with the SLO's p99 limit that applies to it (the op's own, else the overall one).

use plotters::prelude::*;

use super::lines::{DOTS_BELOW, WIDTH, legend, note};
use super::palette;
use super::style::{Area, Axes, err, mesh, render};
use crate::Error;

/// One op's panel: its name, (window end s, p50 ms, p99 ms) points, and its p99 limit.
pub type OpTimeline<'a> = (&'a str, &'a [crate::folder::OpPoint], Option<f64>);

const PANEL_H: u32 = 210;
const LEGEND_H: u32 = 40;

pub fn timeline_ops_svg(title: &str, ops: &[OpTimeline]) -> Result<String, Error> {
    let rows = ops.len().div_ceil(2).max(1) as u32;
    let t_end = ops.iter().flat_map(|o| o.1.iter().map(|p| p.0)).fold(1.0, f64::max);
    let top = ops.iter().flat_map(|o| o.1.iter().map(|p| p.2).chain(o.2)).fold(0.0, f64::max);
    let y_max = if top > 0.0 { top * 1.15 } else { 1.0 };
    render("timeline-ops", (WIDTH, 40 + LEGEND_H + rows * PANEL_H), Some(title), |area| {
        if ops.iter().all(|o| o.1.is_empty()) {
            return note(area, "timeline-ops", "no data: no op finished a request");
        }
        let (key, grid) = area.split_vertically(LEGEND_H);
        let style = |c: RGBColor| c.stroke_width(2);
        let entries = [("p50", style(palette::BLUE), false), ("p99", style(palette::ORANGE), false)];
        let (left, right) = key.split_horizontally(WIDTH / 3);
        legend(&left, entries[..1].iter().cloned()).map_err(|e| err("timeline-ops")(&e))?;
        legend(&right, [entries[1], ("p99 limit", style(palette::GREY), true)]).map_err(|e| err("timeline-ops")(&e))?;
        for (cell, op) in grid.split_evenly((rows as usize, 2)).iter().zip(ops) {
            panel(cell, op, t_end, y_max)?;
        }
        Ok(())
    })
}

fn panel(area: &Area, (name, points, limit): &OpTimeline, t_end: f64, y_max: f64) -> Result<(), Error> {
    let err = err("timeline-ops");
    let mut chart = ChartBuilder::on(area)
        .caption(*name, (super::style::FONT, 16))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..t_end, 0.0..y_max)
        .map_err(|e| err(&e))?;
    let axes = Axes { x_desc: None, y_desc: "ms", x_ticks: None, sizes: (12, 13) };
    mesh(&mut chart, &axes).map_err(|e| err(&e))?;
    let dots = if points.len() < DOTS_BELOW { 2 } else { 0 };
    for (color, pick) in [(palette::BLUE, 1), (palette::ORANGE, 2)] {
        let line = points.iter().map(|p| (p.0, if pick == 1 { p.1 } else { p.2 }));
        chart.draw_series(LineSeries::new(line, color.stroke_width(2)).point_size(dots)).map_err(|e| err(&e))?;
    }
    if let Some(ms) = limit {
        let dashed = DashedLineSeries::new([(0.0, *ms), (t_end, *ms)], 8, 5, palette::GREY.stroke_width(2));
        chart.draw_series(dashed).map_err(|e| err(&e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::style::tests::texts;

    #[test]
    fn one_panel_per_op_on_one_scale_with_its_limit() {
        let slow: Vec<(f64, f64, f64)> = (1..=30).map(|t| (f64::from(t), 5.0, 40.0 + f64::from(t))).collect();
        let fast: Vec<(f64, f64, f64)> = (1..=30).map(|t| (f64::from(t), 1.0, 3.0)).collect();
        let svg =
            timeline_ops_svg("run: latency per op", &[("issue", &slow, Some(100.0)), ("query", &fast, None)]).unwrap();
        let words = texts(&svg);
        for t in ["run: latency per op", "issue", "query", "p50", "p99", "p99 limit"] {
            assert!(words.contains(&t), "missing {t} in {words:?}");
        }
        // The shared scale reaches the limit of 100 ms in both panels.
        assert_eq!(words.iter().filter(|t| **t == "100").count(), 2, "{words:?}");
        let empty = timeline_ops_svg("t", &[("issue", &[], None)]).unwrap();
        assert!(texts(&empty).contains(&"no data: no op finished a request"));
    }
}
