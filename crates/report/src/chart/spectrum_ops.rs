use hdrhistogram::Histogram;

use crate::Error;

use super::spectrum::{Fonts, Line, draw, no_data};
use super::style::render;

const WIDTH: u32 = 900;
const PANEL_HEIGHT: u32 = 330;

/// One op's spectrum: its name and its latency and service histograms (microseconds).
pub type OpSpectrum<'a> = (&'a str, &'a Histogram<u64>, &'a Histogram<u64>);

/// Small multiples: one percentile spectrum per op (latency vs service, log "nines" axis),
/// two panels a row, each with its own millisecond scale so a fast op stays readable next
/// to a slow one.
pub fn spectrum_ops_svg(title: &str, ops: &[OpSpectrum]) -> Result<String, Error> {
    let columns = if ops.len() > 1 { 2 } else { 1 };
    let rows = ops.len().div_ceil(columns).max(1) as u32;
    render("spectrum", (WIDTH, 40 + rows * PANEL_HEIGHT), Some(title), |body| {
        let panels = body.split_evenly((rows as usize, columns));
        for (panel, (name, latency, service)) in panels.iter().zip(ops) {
            let lines: Vec<Line> = [("latency", *latency), ("service", *service)]
                .into_iter()
                .filter(|(_, h)| !h.is_empty())
                .map(|(label, h)| Line::new(label, h))
                .collect();
            let caption = format!("{name} ({} requests)", latency.len());
            if lines.is_empty() {
                no_data(panel, name, Fonts::PANEL.title)?;
            } else {
                draw(panel, &caption, &lines, &[], Fonts::PANEL)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::style::tests::{hist, texts};

    #[test]
    fn one_panel_per_op_with_both_lines() {
        let (fast, slow) = (hist(1..=2000), hist((1..=2000).map(|v| v * 100)));
        let empty = crate::new_histogram();
        let svg = spectrum_ops_svg(
            "run: spectrum per op",
            &[("issue", &slow, &fast), ("query", &fast, &fast), ("<idle>", &empty, &empty)],
        )
        .unwrap();
        let texts = texts(&svg);
        for t in ["run: spectrum per op", "issue (2000 requests)", "query (2000 requests)", "latency", "service"] {
            assert!(texts.contains(&t), "missing {t} in {texts:?}");
        }
        assert!(texts.contains(&"&lt;idle&gt;"), "an op that never ran says so, escaped: {texts:?}");
        assert!(texts.contains(&"no data: no latencies were recorded"));
        assert!(svg.contains("height=\"700\""), "three ops take two rows of two");
    }
}
