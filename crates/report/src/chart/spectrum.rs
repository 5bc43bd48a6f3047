use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::palette;
use super::style::{Axes, Chart, DrawError, FONT, TickText, frame, legend_box, mesh, render};
use crate::Error;
use crate::histograms::us_to_ms;

const SIZE: (u32, u32) = (900, 500);
/// Latency blue, service orange, then the rest of the palette.
const COLORS: [RGBColor; 4] = [palette::BLUE, palette::ORANGE, palette::GREEN, palette::VERMILLION];
/// Past 99.9999% a few million samples are needed and the labels get too long to read.
const MAX_NINES: u32 = 6;

/// An SLO's latency limit on a spectrum: (label, quantile as a fraction, ms).
pub type SpectrumLimit = (String, f64, f64);

/// Latency percentile spectrum (HdrHistogram style: x = percentile on a log "nines" axis,
/// y = milliseconds), one line per named microsecond histogram, and each limit as a dashed
/// line up to its percentile ending in a dot: the curve must pass below the dot.
pub fn spectrum_svg(
    title: &str,
    series: &[(&str, &Histogram<u64>)],
    limits: &[SpectrumLimit],
) -> Result<String, Error> {
    let lines: Vec<Line> = series.iter().filter(|(_, h)| !h.is_empty()).map(|(name, h)| Line::new(name, h)).collect();
    render("spectrum", SIZE, None, |root| {
        if lines.is_empty() { no_data(root, title, 24) } else { draw(root, title, &lines, limits, Fonts::FULL) }
    })
}

pub(super) fn err(e: impl std::fmt::Display) -> Error {
    Error::Chart { chart: "spectrum", message: e.to_string() }
}

pub(super) struct Line<'a> {
    pub(super) name: &'a str,
    /// Number of nines the sample count supports: quantiles beyond it are just the maximum.
    pub(super) nines: u32,
    /// (nines, milliseconds)
    pub(super) points: Vec<(f64, f64)>,
}

impl<'a> Line<'a> {
    pub(super) fn new(name: &'a str, hist: &Histogram<u64>) -> Self {
        let nines = supported_nines(hist.len());
        let end = f64::from(nines);
        let x = |q: f64| -(1.0 - q).log10();
        let mut points: Vec<(f64, f64)> = hist
            .iter_quantiles(5)
            .map(|v| (x(v.quantile_iterated_to()), us_to_ms(v.value_iterated_to())))
            .take_while(|(x, _)| *x < end)
            .collect();
        // With n samples everything above the last supported nine is the top value, so the
        // line ends at the right edge on the maximum instead of running off to infinity.
        points.push((end, us_to_ms(hist.max())));
        Self { name, nines, points }
    }
}

/// floor(log10(count)), counted in integers so 1,000 gives exactly 3; at least one nine so
/// the axis always spans 0%..90%.
fn supported_nines(count: u64) -> u32 {
    let mut nines = 0;
    let mut needed = 10u64;
    while nines < MAX_NINES && count >= needed {
        nines += 1;
        needed = needed.saturating_mul(10);
    }
    nines.max(1)
}

/// "0%", "90%", "99%", "99.9%", ...
pub(super) fn nines_label(x: f64) -> String {
    let k = x.round() as usize;
    match k {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        _ => format!("99.{}%", "9".repeat(k - 2)),
    }
}

/// Font sizes of one spectrum: a full chart, or one panel of many.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fonts {
    pub title: u32,
    pub label: u32,
    pub desc: u32,
}

impl Fonts {
    pub const FULL: Fonts = Fonts { title: 24, label: 15, desc: 16 };
    pub const PANEL: Fonts = Fonts { title: 18, label: 13, desc: 14 };
}

pub(super) fn draw(
    root: &DrawingArea<SVGBackend, Shift>,
    title: &str,
    lines: &[Line],
    limits: &[SpectrumLimit],
    fonts: Fonts,
) -> Result<(), Error> {
    let top = limits.iter().map(|l| l.2).fold(0.0, f64::max);
    let mut chart = axes(root, title, lines.iter(), top, fonts).map_err(err)?;
    for (i, line) in lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(line.points.iter().copied(), color.stroke_width(2)))
            .map_err(err)?
            .label(line.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2)));
    }
    let nines = lines.iter().map(|l| l.nines).max().unwrap_or(1);
    let grey = palette::GREY.stroke_width(2);
    for (label, q, ms) in limits {
        // A limit beyond the nines the samples support sits on the right edge.
        let x = (-(1.0 - q).log10()).min(f64::from(nines));
        chart
            .draw_series(DashedLineSeries::new([(0.0, *ms), (x, *ms)], 8, 5, grey))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 10, y), (x + 14, y), (x + 24, y)], grey));
        chart.draw_series([Circle::new((x, *ms), 4, palette::GREY.filled())]).map_err(err)?;
    }
    // Spectra rise to the right, so the top left corner is the emptiest place.
    legend_box(&mut chart, SeriesLabelPosition::UpperLeft, fonts.label).map_err(err)
}

/// The frame and axes of a spectrum of `lines`: x in nines up to the most any line
/// supports, y in milliseconds up to the highest value.
pub(super) fn axes<'a, 'b, 'l, 'n: 'l>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    lines: impl Iterator<Item = &'l Line<'n>> + Clone,
    at_least: f64,
    fonts: Fonts,
) -> Result<Chart<'a, 'b>, DrawError> {
    let nines = lines.clone().map(|l| l.nines).max().unwrap_or(1);
    let y_max = lines.flat_map(|l| l.points.iter().map(|p| p.1)).fold(at_least, f64::max);
    // Headroom keeps a flat line clear of the legend; an all-zero histogram still needs a
    // non-empty range.
    let y_max = if y_max > 0.0 { y_max * 1.2 } else { 1.0 };
    let mut chart = frame(root, (title, fonts.title), 0.0..f64::from(nines), y_max)?;
    // One label per nine: with exactly that many allowed, plotters steps by whole nines.
    let x_ticks = Some((nines as usize + 1, nines_label as TickText));
    let sizes = (fonts.label, fonts.desc);
    mesh(&mut chart, &Axes { x_desc: Some("percentile"), y_desc: "latency (ms)", x_ticks, sizes })?;
    Ok(chart)
}

pub(super) fn no_data(root: &DrawingArea<SVGBackend, Shift>, title: &str, title_size: u32) -> Result<(), Error> {
    let (w, h) = root.dim_in_pixel();
    let centered = |size| TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    let (cx, cy) = (w as i32 / 2, h as i32 / 2);
    root.draw(&Text::new(title, (cx, 30), centered(title_size))).map_err(err)?;
    let grey = BLACK.mix(0.6);
    let note = "no data: no latencies were recorded";
    root.draw(&Text::new(note, (cx, cy), centered(title_size * 3 / 4).color(&grey))).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::chart::style::tests::{hist, texts};

    #[test]
    fn draws_both_series_with_legend_up_to_supported_nines() {
        let latency = hist(1..=10_000);
        let service = hist((1..=10_000).map(|v| v / 2 + 1));
        let svg = spectrum_svg(
            "checkout spectrum",
            &[("latency (from intended send)", &latency), ("service (from actual send)", &service)],
            &[("p99 limit (20.00 ms)".into(), 0.99, 20.0)],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"));
        let texts = texts(&svg);
        let axes = ["checkout spectrum", "percentile", "latency (ms)"];
        let legend = ["latency (from intended send)", "service (from actual send)", "p99 limit (20.00 ms)"];
        for text in axes.iter().chain(&legend) {
            assert!(texts.contains(text), "missing {text} in {texts:?}");
        }
        let ticks: Vec<&str> = texts.iter().copied().filter(|t| t.ends_with('%')).collect();
        assert_eq!(ticks, ["0%", "90%", "99%", "99.9%", "99.99%"], "10k samples support four nines, not five");
    }

    #[test]
    fn thousand_samples_stop_at_three_nines() {
        let h = hist((1..=1000).map(|v| v * 10));
        let svg = spectrum_svg("t", &[("latency", &h)], &[]).unwrap();
        assert_eq!(texts(&svg).into_iter().rfind(|t| t.ends_with('%')), Some("99.9%"));
        assert!(!svg.contains("99.99%"));
    }

    #[test]
    fn y_axis_is_in_milliseconds() {
        // 200 ms recorded as microseconds: the axis must reach 200, not 200000.
        let h = hist([200_000; 100]);
        let svg = spectrum_svg("t", &[("latency", &h)], &[]).unwrap();
        let texts = texts(&svg);
        assert!(texts.contains(&"200"), "no 200 ms tick in {texts:?}");
        assert!(!texts.iter().any(|t| t.starts_with("200000")));
    }

    #[test]
    fn empty_series_are_skipped_and_all_empty_says_no_data() {
        let empty = crate::new_histogram();
        let full = hist([1_000, 2_000, 3_000]);
        let svg = spectrum_svg("t", &[("idle", &empty), ("busy", &full)], &[]).unwrap();
        assert!(svg.contains("busy") && !svg.contains("idle"));

        let svg = spectrum_svg("nothing ran", &[("latency", &empty)], &[]).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("nothing ran") && svg.contains("no data"));
    }

    #[test]
    fn nines_labels() {
        let labels: Vec<String> = (0..=5).map(|k| nines_label(f64::from(k))).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        assert_eq!(supported_nines(1000), 3);
        assert_eq!(supported_nines(999), 2);
        assert_eq!(supported_nines(3), 1);
    }
}
