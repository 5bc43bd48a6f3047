//! A run seen while it runs: what the once-an-interval drain knows, as Prometheus text
//! (`--metrics-addr`) and as one JSON line (`--json-stream`).
//!
//! A [`Live`] is built from the run log's cumulative totals after each interval is pushed,
//! so it is fed by the one drain that feeds timeseries.csv and summary.json: its counters
//! after the last interval are summary.json's.
//!
//! Latency and send lag are Prometheus *histograms* with fixed buckets, not summaries:
//! buckets add up across generators and shards (`sum by (le)`), quantiles do not. Each
//! bucket's cumulative count is read off the run's cumulative HDR histogram at the bound
//! (a value counts below a bound when its HDR bucket's highest equivalent value is); the
//! exact HDR percentiles are in the JSON lines and the report.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;

use crate::histograms::{Timing, max_ms, quantile_ms};
use crate::outcome::ErrorClass;
use crate::stats::Stats;

/// The JSON lines' schema; a change of meaning of a field bumps it.
pub const STREAM_SCHEMA: u32 = 1;

/// Upper bounds of the latency and send-lag buckets, in seconds (`+Inf` is added). Dense
/// around the 100–500 ms where invoice SLOs sit (p99 < 200 ms is the usual one).
pub const BUCKETS_S: [f64; 15] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// What the generator's own gauges say at the end of an interval.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Gauges {
    /// Client connections open.
    pub connections_open: u64,
    /// Connections with a request on them.
    pub connections_busy: u64,
    /// Arrivals due that wait for a free connection.
    pub queued: u64,
    /// Requests sent or waiting, not yet finished: `connections_busy + queued`.
    pub in_flight: u64,
}

/// The run so far, at the end of one interval.
#[derive(Debug, Clone, Serialize)]
pub struct Live {
    pub schema: u32,
    /// End of the interval, seconds from run start.
    pub t_s: f64,
    pub interval_s: f64,
    /// The run's last interval: these are its final totals (summary.json's).
    pub finished: bool,
    /// Intended and finished requests per second over the interval.
    pub target_rate: f64,
    pub achieved_rate: f64,
    #[serde(flatten)]
    pub gauges: Gauges,
    pub ops: BTreeMap<String, LiveOp>,
}

/// One op: the interval's figures and the run's totals so far.
#[derive(Debug, Clone, Serialize)]
pub struct LiveOp {
    pub interval: IntervalFigures,
    pub total: Totals,
    #[serde(skip)]
    latency: Buckets,
    #[serde(skip)]
    send_lag: Buckets,
}

/// One op over the last interval.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct IntervalFigures {
    pub sent: u64,
    pub errors: u64,
    /// Finished requests per second.
    pub rate: f64,
    pub latency_ms: Quantiles,
    pub send_lag_ms: Quantiles,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Quantiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// One op's counters since the start, named as summary.json's `requests`, `errors` and
/// `status` name them.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub sent: u64,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub status: BTreeMap<String, u64>,
    pub skipped: u64,
    pub check_failed: u64,
    pub queued: u64,
}

/// A cumulative histogram read at [`BUCKETS_S`]: per-bucket counts (the last is `+Inf`),
/// the sum of the values in seconds and their count.
#[derive(Debug, Clone, Default)]
struct Buckets {
    counts: Vec<u64>,
    sum_s: f64,
    count: u64,
}

impl Buckets {
    fn of(h: &Histogram<u64>) -> Buckets {
        let mut counts = vec![0u64; BUCKETS_S.len() + 1];
        // Summed in whole microseconds so that the sum does not drift with float rounding.
        let mut sum_us = 0u128;
        for v in h.iter_recorded() {
            let s = v.value_iterated_to() as f64 / 1e6;
            let i = BUCKETS_S.iter().position(|b| s <= *b).unwrap_or(BUCKETS_S.len());
            counts[i] += v.count_at_value();
            sum_us += u128::from(h.median_equivalent(v.value_iterated_to())) * u128::from(v.count_at_value());
        }
        Buckets { counts, sum_s: sum_us as f64 / 1e6, count: h.len() }
    }

    fn bounds(&self) -> Vec<(f64, u64)> {
        BUCKETS_S.iter().copied().chain([f64::INFINITY]).zip(self.counts.iter().copied()).collect()
    }
}

impl Quantiles {
    fn of(h: &Histogram<u64>) -> Quantiles {
        let q = |p| quantile_ms(h, p);
        Quantiles { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: max_ms(h) }
    }
}

impl IntervalFigures {
    /// An op's figures over an interval of `length_s` seconds, from the interval's stats
    /// (as drained, before they go into the run log).
    pub fn of(s: &Stats, length_s: f64) -> IntervalFigures {
        IntervalFigures {
            sent: s.sent,
            errors: s.error_count(),
            rate: if length_s > 0.0 { s.sent as f64 / length_s } else { 0.0 },
            latency_ms: Quantiles::of(&s.hist[Timing::Latency]),
            send_lag_ms: Quantiles::of(&s.hist[Timing::SendLag]),
        }
    }
}

impl Totals {
    fn of(s: &Stats) -> Totals {
        Totals {
            sent: s.sent,
            ok: s.ok,
            errors: s.errors_by_name(),
            status: s.status_by_code(),
            skipped: s.skipped,
            check_failed: s.check_failed,
            queued: s.queued,
        }
    }
}

/// Where an interval sits in the run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Moment {
    pub t_s: f64,
    pub interval_s: f64,
    pub target_rate: f64,
    pub finished: bool,
}

impl Live {
    /// The run so far: `ops` names the ops, `interval` is each op's last interval and
    /// `totals` each op's stats since the start.
    pub fn new(at: Moment, gauges: Gauges, ops: &[String], interval: Vec<IntervalFigures>, totals: &[Stats]) -> Live {
        let sent: u64 = interval.iter().map(|i| i.sent).sum();
        let ops = ops
            .iter()
            .zip(interval)
            .zip(totals)
            .map(|((name, interval), s)| {
                let op = LiveOp {
                    interval,
                    total: Totals::of(s),
                    latency: Buckets::of(&s.hist[Timing::Latency]),
                    send_lag: Buckets::of(&s.hist[Timing::SendLag]),
                };
                (name.clone(), op)
            })
            .collect();
        Live {
            schema: STREAM_SCHEMA,
            t_s: at.t_s,
            interval_s: at.interval_s,
            finished: at.finished,
            target_rate: at.target_rate,
            achieved_rate: if at.interval_s > 0.0 { sent as f64 / at.interval_s } else { 0.0 },
            gauges,
            ops,
        }
    }

    /// One line of `--json-stream`, newline included.
    pub fn json_line(&self) -> String {
        // A struct of numbers, strings and maps with string keys: it always serialises.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }

    /// The OpenMetrics text exposition of the run so far (`# EOF` included).
    pub fn prometheus(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self.clone()));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }

    fn encode_histograms(&self, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let timings: [(&str, &str, BucketsOf); 2] = [
            ("einv_load_latency", "Latency from the intended send time (coordinated omission corrected).", |o| {
                &o.latency
            }),
            ("einv_load_send_lag", "Actual minus intended send time.", |o| &o.send_lag),
        ];
        for (name, help, of) in timings {
            let mut metric = e.encode_descriptor(name, help, Some(&Unit::Seconds), MetricType::Histogram)?;
            for (op, live) in &self.ops {
                let b = of(live);
                let labels: Labels = vec![("op", op.as_str())];
                metric.encode_family(&labels)?.encode_histogram::<Labels>(b.sum_s, b.count, &b.bounds(), None)?;
            }
        }
        Ok(())
    }

    fn encode_gauges(&self, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let g = &self.gauges;
        let counts = [
            ("einv_load_connections_open", "Client connections open.", g.connections_open),
            ("einv_load_connections_busy", "Client connections with a request on them.", g.connections_busy),
            ("einv_load_waiting", "Arrivals due that wait for a free connection.", g.queued),
            ("einv_load_in_flight", "Requests sent or waiting, not yet finished.", g.in_flight),
            (
                "einv_load_finished",
                "1 once the run's last interval is in: the values are final.",
                u64::from(self.finished),
            ),
        ];
        for (name, help, v) in counts {
            let gauge = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
            gauge.encode(e.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let rates = [
            ("einv_load_target_rate", "Intended requests per second over the last interval.", self.target_rate),
            ("einv_load_achieved_rate", "Finished requests per second over the last interval.", self.achieved_rate),
            ("einv_load_elapsed", "Time since the run started.", self.t_s),
        ];
        for (name, help, v) in rates {
            let unit = name.ends_with("elapsed").then_some(&Unit::Seconds);
            let gauge = ConstGauge::new(v);
            gauge.encode(e.encode_descriptor(name, help, unit, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// The content type of [`Live::prometheus`].
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels<'a> = Vec<(&'static str, &'a str)>;
type BucketsOf = fn(&LiveOp) -> &Buckets;

/// One metric family: its name, help, unit, and one value per label set.
fn family<'a, M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    (name, help, unit): (&str, &str, Option<&Unit>),
    kind: MetricType,
    series: impl IntoIterator<Item = (Labels<'a>, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, unit, kind)?;
    for (labels, m) in series {
        m.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Live {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let ops = || self.ops.iter().map(|(name, op)| (name.as_str(), op));
        let per_op =
            |f: fn(&Totals) -> u64| ops().map(move |(n, op)| (vec![("op", n)], ConstCounter::new(f(&op.total))));
        let classes = ops().flat_map(|(n, op)| {
            let ok = (vec![("op", n), ("class", "ok")], ConstCounter::new(op.total.ok));
            let errors = ErrorClass::ALL.iter().map(move |c| {
                let count = op.total.errors.get(c.as_str()).copied().unwrap_or(0);
                (vec![("op", n), ("class", c.as_str())], ConstCounter::new(count))
            });
            std::iter::once(ok).chain(errors)
        });
        let help = "Finished requests by op and outcome class (ok, or the error class).";
        family(&mut e, ("einv_load_requests", help, None), MetricType::Counter, classes)?;
        let statuses = ops().flat_map(|(n, op)| {
            op.total
                .status
                .iter()
                .map(move |(code, c)| (vec![("op", n), ("status", code.as_str())], ConstCounter::new(*c)))
        });
        let help = "Responses by op and HTTP status.";
        family(&mut e, ("einv_load_responses", help, None), MetricType::Counter, statuses)?;
        let help = "Arrivals not sent: their data was missing or made an invalid request.";
        family(&mut e, ("einv_load_skipped", help, None), MetricType::Counter, per_op(|t| t.skipped))?;
        let help = "Responses that failed the op's checks.";
        family(&mut e, ("einv_load_check_failed", help, None), MetricType::Counter, per_op(|t| t.check_failed))?;
        let help = "Requests that found every connection busy and waited for one.";
        family(&mut e, ("einv_load_queued", help, None), MetricType::Counter, per_op(|t| t.queued))?;
        self.encode_histograms(&mut e)?;
        self.encode_gauges(&mut e)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Outcome, Phases, Sample};

    fn sample(ms: u64, status: u16) -> Sample {
        Sample {
            latency: Duration::from_millis(ms),
            service: Some(Duration::from_millis(ms)),
            send_lag: Duration::from_micros(ms * 10),
            outcome: Outcome::Response(status),
            queued: ms.is_multiple_of(2),
            failed_check: None,
            tag: None,
            expects_rejection: false,
            phases: Phases::default(),
        }
    }

    fn live() -> Live {
        let mut s = Stats::new();
        for ms in 1..=100 {
            s.record(&sample(ms * 3, if ms.is_multiple_of(10) { 503 } else { 200 }));
        }
        s.skipped = 2;
        let at = Moment { t_s: 2.0, interval_s: 1.0, target_rate: 100.0, finished: true };
        let gauges = Gauges { connections_open: 4, connections_busy: 3, queued: 1, in_flight: 4 };
        Live::new(at, gauges, &["issue".into()], vec![IntervalFigures::of(&s, 1.0)], &[s])
    }

    #[test]
    fn prometheus_text_has_the_counters_and_a_cumulative_histogram() {
        let text = live().prometheus();
        assert!(text.contains("einv_load_requests_total{op=\"issue\",class=\"ok\"} 90\n"), "{text}");
        assert!(text.contains("einv_load_requests_total{op=\"issue\",class=\"http_5xx\"} 10\n"), "{text}");
        assert!(text.contains("einv_load_requests_total{op=\"issue\",class=\"timeout\"} 0\n"), "{text}");
        assert!(text.contains("einv_load_responses_total{op=\"issue\",status=\"503\"} 10\n"), "{text}");
        assert!(text.contains("einv_load_skipped_total{op=\"issue\"} 2\n"), "{text}");
        assert!(text.contains("einv_load_queued_total{op=\"issue\"} 50\n"), "{text}");
        assert!(text.contains("# TYPE einv_load_latency_seconds histogram\n"), "{text}");
        // 3, 6, ..., 300 ms: 33 at or below 100 ms, 66 at or below 200 ms, all below +Inf.
        assert!(text.contains("einv_load_latency_seconds_bucket{le=\"0.1\",op=\"issue\"} 33\n"), "{text}");
        assert!(text.contains("einv_load_latency_seconds_bucket{le=\"0.2\",op=\"issue\"} 66\n"), "{text}");
        assert!(text.contains("einv_load_latency_seconds_bucket{le=\"+Inf\",op=\"issue\"} 100\n"), "{text}");
        assert!(text.contains("einv_load_latency_seconds_count{op=\"issue\"} 100\n"), "{text}");
        assert!(text.contains("einv_load_in_flight 4\n") && text.contains("einv_load_finished 1\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn a_json_line_is_one_line_with_the_totals() {
        let line = live().json_line();
        assert_eq!(line.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["schema"], STREAM_SCHEMA);
        assert_eq!(v["in_flight"], 4);
        let total = &v["ops"]["issue"]["total"];
        assert_eq!((total["sent"].as_u64(), total["ok"].as_u64()), (Some(100), Some(90)));
        assert_eq!(total["errors"]["http_5xx"], 10);
        assert_eq!(total["status"]["200"], 90);
        assert_eq!(v["ops"]["issue"]["interval"]["rate"], 100.0);
        assert!(v["ops"]["issue"]["interval"]["latency_ms"]["p99"].as_f64().unwrap() >= 297.0);
    }
}
