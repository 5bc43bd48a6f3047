use std::path::Path;

use crate::Error;
use crate::csv_rows::{Record, read_rows};
use crate::histograms::{Timing, max_ms, quantile_ms};
use crate::outcome::ErrorClass;
use crate::stats::Stats;
use crate::write::{Existing, Output};

/// One line of timeseries.csv: what happened in one interval (normally one second).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeseriesRow {
    /// Interval start, seconds from run start.
    pub start_s: f64,
    /// Interval length, seconds.
    pub length_s: f64,
    /// Mean intended rate over the interval (open loop; 0 for closed loop).
    pub target_rate: f64,
    /// Finished requests per second in this interval.
    pub achieved_rate: f64,
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    pub latency_p50_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    pub service_p50_ms: f64,
    pub service_p99_ms: f64,
    pub send_lag_p99_ms: f64,
    pub send_lag_max_ms: f64,
    /// Client connections open at the end of the interval.
    pub connections: u64,
    /// Errors by class, indexed like [`ErrorClass::ALL`].
    pub errors_by_class: [u64; ErrorClass::COUNT],
    /// The most requests in flight at once during the interval (HTTP/2: streams over all
    /// connections; open loop only, else 0). The file's last column, `in_flight_max`.
    pub in_flight_max: u64,
}

/// The column after the error classes, added after them (older files read it as 0).
const IN_FLIGHT: &str = "in_flight_max";

const FIXED: [&str; 16] = [
    "start_s",
    "length_s",
    "target_rate",
    "achieved_rate",
    "sent",
    "ok",
    "errors",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "service_p50_ms",
    "service_p99_ms",
    "send_lag_p99_ms",
    "send_lag_max_ms",
    "connections",
];

impl TimeseriesRow {
    /// Summarise one interval's overall stats, with the client's gauges: connections
    /// open at its end, and the most requests in flight at once during it.
    pub fn new(
        start_s: f64,
        length_s: f64,
        target_rate: f64,
        (connections, in_flight_max): (u64, u64),
        s: &Stats,
    ) -> Self {
        let mut errors_by_class = [0; ErrorClass::COUNT];
        for (i, class) in ErrorClass::ALL.iter().enumerate() {
            errors_by_class[i] = s.errors.get(*class);
        }
        let (latency, service, send_lag) =
            (&s.hist[Timing::Latency], &s.hist[Timing::Service], &s.hist[Timing::SendLag]);
        Self {
            start_s,
            length_s,
            target_rate,
            achieved_rate: if length_s > 0.0 { s.sent as f64 / length_s } else { 0.0 },
            sent: s.sent,
            ok: s.ok,
            errors: s.error_count(),
            latency_p50_ms: quantile_ms(latency, 0.5),
            latency_p90_ms: quantile_ms(latency, 0.9),
            latency_p99_ms: quantile_ms(latency, 0.99),
            latency_max_ms: max_ms(latency),
            service_p50_ms: quantile_ms(service, 0.5),
            service_p99_ms: quantile_ms(service, 0.99),
            send_lag_p99_ms: quantile_ms(send_lag, 0.99),
            send_lag_max_ms: max_ms(send_lag),
            connections,
            errors_by_class,
            in_flight_max,
        }
    }

    /// The row as timeseries.csv holds it, its figures rounded as written: what reading
    /// the file back gives, so that a run renders what `einv-load report` would.
    pub(crate) fn as_written(&self) -> TimeseriesRow {
        let path = Path::new(crate::files::TIMESERIES);
        // The fields are numbers just formatted: they always parse.
        let at: Vec<Option<usize>> = (0..header().len()).map(Some).collect();
        from_record(&Record::written(path, self.record()), &at).unwrap_or_else(|_| self.clone())
    }

    fn record(&self) -> Vec<String> {
        let f = |x: f64| format!("{x:.3}");
        let mut r = vec![
            f(self.start_s),
            f(self.length_s),
            f(self.target_rate),
            f(self.achieved_rate),
            self.sent.to_string(),
            self.ok.to_string(),
            self.errors.to_string(),
            f(self.latency_p50_ms),
            f(self.latency_p90_ms),
            f(self.latency_p99_ms),
            f(self.latency_max_ms),
            f(self.service_p50_ms),
            f(self.service_p99_ms),
            f(self.send_lag_p99_ms),
            f(self.send_lag_max_ms),
            self.connections.to_string(),
        ];
        r.extend(self.errors_by_class.iter().map(u64::to_string));
        r.push(self.in_flight_max.to_string());
        r
    }
}

fn header() -> Vec<String> {
    let mut h: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
    h.extend(ErrorClass::ALL.iter().map(|c| format!("err_{}", c.as_str())));
    h.push(IN_FLIGHT.into());
    h
}

/// Streams rows to a CSV file as the run goes (nothing kept in memory); the file is in
/// place once [`TimeseriesWriter::finish`] returns (see [`Output`]).
#[derive(Debug)]
pub struct TimeseriesWriter {
    csv: csv::Writer<Output>,
    path: std::path::PathBuf,
}

impl TimeseriesWriter {
    pub fn create(path: &Path) -> Result<Self, Error> {
        let mut csv = csv::Writer::from_writer(Output::create(path, Existing::Replace)?);
        csv.write_record(header()).map_err(|e| Error::csv(path, e))?;
        Ok(Self { csv, path: path.into() })
    }

    /// Write what is buffered and put the file in place.
    pub fn finish(self) -> Result<(), Error> {
        let out = self.csv.into_inner().map_err(|e| Error::io(&self.path, e.into_error()))?;
        out.commit()
    }

    pub fn write(&mut self, row: &TimeseriesRow) -> Result<(), Error> {
        self.csv.write_record(row.record()).map_err(|e| Error::csv(&self.path, e))?;
        // One flush a second keeps the file useful to `tail -f` and costs nothing.
        self.csv.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// Read a timeseries.csv back (for charts and `report`).
pub fn read_timeseries(path: &Path) -> Result<Vec<TimeseriesRow>, Error> {
    let now = header();
    // Older reports lack the newest columns, read as 0. Newest first: before
    // h2_flow_stalled, before it and in_flight_max, before those and the first HTTP/2
    // classes.
    let without = |gone: &[&str]| now.iter().filter(|c| !gone.contains(&c.as_str())).cloned().collect::<Vec<_>>();
    let stalled = "err_h2_flow_stalled";
    let layouts = [
        now.clone(),
        without(&[stalled]),
        without(&[stalled, IN_FLIGHT]),
        without(&[stalled, IN_FLIGHT, "err_h2_goaway", "err_h2_rst_stream"]),
    ];
    // Where each of today's columns is in each layout.
    let at: Vec<Vec<Option<usize>>> =
        layouts.iter().map(|l| now.iter().map(|c| l.iter().position(|x| x == c)).collect()).collect();
    let layouts: Vec<&[String]> = layouts.iter().map(Vec::as_slice).collect();
    read_rows(path, "timeseries.csv", &layouts, |r, layout| from_record(r, &at[layout]))
}

/// A row from a record whose columns are at `at` (indexed like today's header; `None`
/// for one its layout lacks, read as 0).
fn from_record(r: &Record, at: &[Option<usize>]) -> Result<TimeseriesRow, Error> {
    let int = |i: usize| at[i].map_or(Ok(0), |c| r.int(c));
    let mut errors_by_class = [0; ErrorClass::COUNT];
    for (i, e) in errors_by_class.iter_mut().enumerate() {
        *e = int(FIXED.len() + i)?;
    }
    Ok(TimeseriesRow {
        start_s: r.num(0)?,
        length_s: r.num(1)?,
        target_rate: r.num(2)?,
        achieved_rate: r.num(3)?,
        sent: r.int(4)?,
        ok: r.int(5)?,
        errors: r.int(6)?,
        latency_p50_ms: r.num(7)?,
        latency_p90_ms: r.num(8)?,
        latency_p99_ms: r.num(9)?,
        latency_max_ms: r.num(10)?,
        service_p50_ms: r.num(11)?,
        service_p99_ms: r.num(12)?,
        send_lag_p99_ms: r.num(13)?,
        send_lag_max_ms: r.num(14)?,
        connections: r.int(15)?,
        errors_by_class,
        in_flight_max: int(FIXED.len() + ErrorClass::COUNT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timeseries.csv");
        let mut w = TimeseriesWriter::create(&path).unwrap();
        let mut row =
            TimeseriesRow { start_s: 1.0, length_s: 1.0, target_rate: 500.0, sent: 499, ..Default::default() };
        row.errors_by_class[3] = 7;
        row.latency_p99_ms = 12.345;
        row.in_flight_max = 31;
        w.write(&row).unwrap();
        w.finish().unwrap();
        assert_eq!(read_timeseries(&path).unwrap(), vec![row]);
    }

    /// A report from before h2_flow_stalled, before it and in_flight_max, or also before
    /// the first HTTP/2 error classes, still reads, those columns 0: `report` re-renders
    /// old folders. The columns after a missing one keep their values.
    #[test]
    fn a_timeseries_without_the_newer_columns_reads_with_them_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timeseries.csv");
        let mut row = TimeseriesRow { start_s: 1.0, length_s: 1.0, sent: 9, in_flight_max: 4, ..Default::default() };
        row.errors_by_class[3] = 2;
        let (h, r) = (header(), row.record());
        let stalled = h.iter().position(|c| c == "err_h2_flow_stalled").unwrap();
        for gone in [vec![stalled], vec![stalled, stalled + 1], vec![stalled - 2, stalled - 1, stalled, stalled + 1]] {
            let line = |v: &[String]| {
                v.iter()
                    .enumerate()
                    .filter(|(i, _)| !gone.contains(i))
                    .map(|(_, x)| x.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            std::fs::write(&path, format!("{}\n{}\n", line(&h), line(&r))).unwrap();
            let mut want = row.clone();
            if gone.contains(&(stalled + 1)) {
                want.in_flight_max = 0;
            }
            assert_eq!(read_timeseries(&path).unwrap(), vec![want], "without columns {gone:?}");
        }
    }

    /// What a run keeps of its rows is what `report` reads back from the file.
    #[test]
    fn a_row_as_written_is_the_row_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timeseries.csv");
        let mut w = TimeseriesWriter::create(&path).unwrap();
        let row = TimeseriesRow {
            start_s: 2.0004999,
            length_s: 0.1 + 0.2,
            target_rate: 1.0 / 3.0,
            achieved_rate: 2.0 / 3.0,
            latency_p99_ms: 12.3455,
            send_lag_max_ms: 1e-9,
            ..Default::default()
        };
        w.write(&row).unwrap();
        w.finish().unwrap();
        let back = read_timeseries(&path).unwrap();
        assert_ne!(back[0], row, "rounded to what the file holds");
        assert_eq!(back, vec![row.as_written()]);
    }
}
