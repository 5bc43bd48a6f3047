use plotters::style::RGBColor;

use crate::Error;
use crate::timeseries::TimeseriesRow;

use super::lines::{PALETTE, Series, note, panel, svg};

/// Client connections open at the end of each interval, against the limit.
pub fn connections_svg(title: &str, rows: &[TimeseriesRow], limit: u64) -> Result<String, Error> {
    let t_end = rows.iter().map(|r| r.start_s + r.length_s).fold(0.0, f64::max);
    let mut series = vec![Series {
        label: "open".into(),
        color: PALETTE[0],
        dashed: false,
        points: rows.iter().map(|r| (r.start_s + r.length_s, r.connections as f64)).collect(),
    }];
    if limit > 0 {
        series.push(Series {
            label: format!("limit ({limit})"),
            color: RGBColor(90, 90, 90),
            dashed: true,
            points: vec![(0.0, limit as f64), (t_end, limit as f64)],
        });
    }
    svg("connections", title, 400, |area| {
        if rows.is_empty() {
            note(area, "connections", "no data: no intervals were recorded")
        } else {
            panel(area, "connections", &series, t_end, (Some("time (s)"), "open connections"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::lines::tests::texts;

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
        let svg = connections_svg("run: connections", &rows, 32).unwrap();
        let texts = texts(&svg);
        for t in ["run: connections", "open", "limit (32)", "open connections", "time (s)"] {
            assert!(texts.contains(&t), "missing {t} in {texts:?}");
        }
    }
}
