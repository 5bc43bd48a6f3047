use crate::Error;
use crate::timeseries::TimeseriesRow;

use super::lines::{LEGEND_W, Series, WIDTH, note, panel};
use super::palette::{BLUE, GREEN};
use super::style::{end_s, render};

/// Client connections open at the end of each interval, against the limit; with
/// `streams` (an HTTP/2 run, where a connection carries many requests) also the most
/// streams in flight at once in each interval.
pub fn connections_svg(title: &str, rows: &[TimeseriesRow], limit: u64, streams: bool) -> Result<String, Error> {
    let t_end = rows.iter().map(end_s).fold(0.0, f64::max);
    let open = rows.iter().map(|r| (end_s(r), r.connections as f64)).collect();
    let mut series = vec![Series::line("open", BLUE, open)];
    if streams {
        let in_flight = rows.iter().map(|r| (end_s(r), r.in_flight_max as f64)).collect();
        series.push(Series::line("streams in flight (max)", GREEN, in_flight));
    }
    if limit > 0 {
        series.push(Series::limit(format!("limit ({limit})"), limit, t_end));
    }
    let y = if streams { "connections, streams" } else { "open connections" };
    render("connections", (WIDTH, 400), Some(title), |area| {
        if rows.is_empty() {
            note(area, "connections", "no data: no intervals were recorded")
        } else {
            panel(area, "connections", &series, (t_end, LEGEND_W), (Some("time (s)"), y))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::style::tests::texts;

    #[test]
    fn open_connections_against_the_limit() {
        let rows: Vec<TimeseriesRow> = (0..20)
            .map(|i| TimeseriesRow {
                start_s: f64::from(i),
                length_s: 1.0,
                connections: 5 + i as u64,
                ..Default::default()
            })
            .collect();
        let svg = connections_svg("run: connections", &rows, 32, false).unwrap();
        let texts = texts(&svg);
        for t in ["run: connections", "open", "limit (32)", "open connections", "time (s)"] {
            assert!(texts.contains(&t), "missing {t} in {texts:?}");
        }
        assert!(!texts.contains(&"streams in flight (max)"), "HTTP/1.1: a request per connection");
    }

    /// An HTTP/2 run also shows the streams in flight, which may far exceed the connections.
    #[test]
    fn http2_runs_show_streams_in_flight() {
        let rows: Vec<TimeseriesRow> = (0..5)
            .map(|i| TimeseriesRow {
                start_s: f64::from(i),
                length_s: 1.0,
                connections: 2,
                in_flight_max: 16,
                ..Default::default()
            })
            .collect();
        let svg = connections_svg("run: connections", &rows, 2, true).unwrap();
        let texts = texts(&svg);
        for t in ["streams in flight (max)", "connections, streams"] {
            assert!(texts.contains(&t), "missing {t} in {texts:?}");
        }
    }
}
