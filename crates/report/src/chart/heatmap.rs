use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Error;
use crate::sweep::{SweepCell, SweepFailure};

/// A pool-size x rate heatmap of one value per cell (p99 latency, error rate), each cell
/// labelled with its value and, under it, its utilisation and FAIL when it fails; greener
/// is better, red is worse, on a log scale. A legend under the chart states the rule.
pub fn heatmap_svg(
    title: &str,
    unit: &str,
    cells: &[SweepCell],
    value: fn(&SweepCell) -> f64,
) -> Result<String, Error> {
    let err = |e: &dyn std::fmt::Display| Error::Chart { chart: "heatmap", message: e.to_string() };
    let mut rates: Vec<f64> = cells.iter().map(|c| c.rate).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let mut pools: Vec<u64> = cells.iter().map(|c| c.pool_size).collect();
    pools.sort_unstable();
    pools.dedup();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 550)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (plot, legend) = root.split_vertically(520);
        legend.draw(&Text::new(legend_text(), (15, 8), ("sans-serif", 13).into_font())).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            // Segmented axes put each label at the centre of its column or row.
            .build_cartesian_2d(
                (0..rates.len().saturating_sub(1)).into_segmented(),
                (0..pools.len().saturating_sub(1)).into_segmented(),
            )
            .map_err(|e| err(&e))?;
        let centre = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => Some(*i),
            _ => None,
        };
        let rate_label = |v: &SegmentValue<usize>| {
            centre(v).and_then(|i| rates.get(i)).map_or(String::new(), |r| format!("{r:.0}/s"))
        };
        let pool_label =
            |v: &SegmentValue<usize>| centre(v).and_then(|i| pools.get(i)).map_or(String::new(), |p| p.to_string());
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("offered rate (requests/s)")
            .y_desc("pool size (connections)")
            .x_labels(rates.len())
            .y_labels(pools.len())
            .x_label_formatter(&rate_label)
            .y_label_formatter(&pool_label)
            .draw()
            .map_err(|e| err(&e))?;
        let values: Vec<f64> = cells.iter().map(value).filter(|v| *v > 0.0).collect();
        let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        let shade = |v: f64| {
            // log position between the smallest and largest value: 0 green .. 1 red.
            let t = if v <= 0.0 || hi <= lo { 0.0 } else { ((v.ln() - lo.ln()) / (hi.ln() - lo.ln())).clamp(0.0, 1.0) };
            // Any error at all is not good news: errors start at amber, not green.
            let t = if unit == "%" && v > 0.0 { t.max(0.45) } else { t };
            RGBColor((60.0 + 195.0 * t) as u8, (190.0 - 150.0 * t) as u8, 80)
        };
        let label = TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        for c in cells {
            let (Some(x), Some(y)) =
                (rates.iter().position(|r| *r == c.rate), pools.iter().position(|p| *p == c.pool_size))
            else {
                continue;
            };
            let v = value(c);
            let corners = [
                (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
            ];
            chart.draw_series([Rectangle::new(corners, shade(v).filled())]).map_err(|e| err(&e))?;
            let text = if unit == "%" { format!("{:.2}%", v * 100.0) } else { format!("{v:.1} {unit}") };
            let (mx, my) = chart.backend_coord(&(SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)));
            plot.draw(&Text::new(text, (mx, my - 8), label.clone())).map_err(|e| err(&e))?;
            plot.draw(&Text::new(state_text(c), (mx, my + 8), label.clone())).map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// A cell's second line: its utilisation, and FAIL when it fails.
fn state_text(c: &SweepCell) -> String {
    let verdict = if c.passed() { "" } else { " FAIL" };
    format!("ρ {:.0}%{verdict}", c.utilisation * 100.0)
}

/// What the second lines mean, and the rule a cell fails by.
fn legend_text() -> String {
    let why: Vec<&str> = SweepFailure::ALL.into_iter().map(SweepFailure::describe).collect();
    format!("ρ: utilisation, offered / capacity. FAIL: {}", why.join(", or "))
}
