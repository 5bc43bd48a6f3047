use crate::Error;
use crate::timeseries::TimeseriesRow;

/// Latency (p50/p90/p99/max per interval) and throughput (target vs achieved) over time.
pub fn timeline_svg(title: &str, rows: &[TimeseriesRow]) -> Result<String, Error> {
    let _ = (title, rows);
    Err(Error::Chart { chart: "timeline", message: "not yet drawn".into() })
}
