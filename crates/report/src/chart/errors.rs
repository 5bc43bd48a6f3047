use crate::Error;
use crate::outcome::ErrorClass;
use crate::timeseries::TimeseriesRow;

use plotters::style::RGBColor;

use super::lines::{LEGEND_W, Series, WIDTH, note, panel};
use super::palette;
use super::style::{end_s, full_intervals, render};

/// A colour per class, indexed like [`ErrorClass::ALL`], so a class looks the same in
/// every report: server errors vermillion, client errors orange, timeouts purple.
const CLASS_COLORS: [RGBColor; ErrorClass::COUNT] = [
    palette::SKY,        // connect_refused
    palette::BLUE,       // connect_timeout
    palette::YELLOW,     // connect_error
    palette::GREEN,      // reset
    palette::PURPLE,     // timeout
    palette::BLACK,      // protocol
    palette::ORANGE,     // http_4xx
    palette::VERMILLION, // http_5xx
    palette::GREY,       // other
    palette::GREEN,      // h2_goaway: a reset of a whole connection
    palette::SKY,        // h2_rst_stream
    palette::PURPLE,     // h2_flow_stalled: a timeout of its own
];

/// Errors per second over time, one line per error class that occurred. A cut-short last
/// interval is left out (see `full_intervals`).
pub fn errors_svg(title: &str, rows: &[TimeseriesRow]) -> Result<String, Error> {
    let rows = &full_intervals(rows);
    let t_end = rows.iter().map(end_s).fold(0.0, f64::max);
    let series: Vec<Series> = ErrorClass::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| rows.iter().any(|r| r.errors_by_class[*i] > 0))
        .map(|(i, class)| {
            let per_s = |r: &TimeseriesRow| {
                if r.length_s > 0.0 { r.errors_by_class[i] as f64 / r.length_s } else { 0.0 }
            };
            Series::line(class.as_str(), CLASS_COLORS[i], rows.iter().map(|r| (end_s(r), per_s(r))).collect())
        })
        .collect();
    render("errors", (WIDTH, 400), Some(title), |area| {
        if series.is_empty() {
            let text = if rows.is_empty() { "no data: no intervals were recorded" } else { "no errors in this run" };
            note(area, "errors", text)
        } else {
            panel(area, "errors", &series, (t_end, LEGEND_W), (Some("time (s)"), "errors/s"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::style::tests::texts;

    fn rows() -> Vec<TimeseriesRow> {
        (0..30)
            .map(|i| {
                let mut r = TimeseriesRow { start_s: f64::from(i), length_s: 1.0, ..Default::default() };
                r.errors_by_class[7] = if i > 20 { 40 } else { 0 }; // http_5xx
                r.errors_by_class[4] = u64::from(i % 10 == 0); // timeout
                r
            })
            .collect()
    }

    #[test]
    fn one_line_per_class_that_occurred() {
        let svg = errors_svg("run: errors", &rows()).unwrap();
        let texts = texts(&svg);
        for t in ["run: errors", "http_5xx", "timeout", "errors/s", "time (s)", "30"] {
            assert!(texts.contains(&t), "missing {t} in {texts:?}");
        }
        assert!(!texts.contains(&"reset"), "classes that never occurred stay out of the legend");
    }

    #[test]
    fn a_cut_short_last_interval_is_not_drawn() {
        let mut cut = rows();
        // 3 errors in the last 0.2 s would read as a jump to 15 errors/s.
        let mut tail = TimeseriesRow { start_s: 30.0, length_s: 0.2, ..Default::default() };
        tail.errors_by_class[7] = 3;
        cut.push(tail);
        assert_eq!(errors_svg("t", &cut).unwrap(), errors_svg("t", &rows()).unwrap());
    }

    #[test]
    fn a_clean_run_says_so() {
        let clean: Vec<TimeseriesRow> = rows()
            .into_iter()
            .map(|mut r| {
                r.errors_by_class = Default::default();
                r
            })
            .collect();
        assert!(texts(&errors_svg("t", &clean).unwrap()).contains(&"no errors in this run"));
        assert!(texts(&errors_svg("t", &[]).unwrap()).contains(&"no data: no intervals were recorded"));
    }
}
