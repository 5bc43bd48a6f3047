//! The service's own timings, when it exposes them: a Prometheus text scrape holding one
//! histogram with an `op` label (`NAME_bucket{op="lookup",le="0.025"} 17`, seconds), e.g.
//! the time each request held the database. A resource's hold does not grow with load
//! (the wait comes before it), so a scrape of the whole run serves as well as one of its
//! low-load part.

use std::collections::BTreeMap;
use std::time::Duration;

/// One op's histogram: cumulative counts by upper bound (seconds), and its `_sum`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpTimings {
    buckets: Vec<(f64, f64)>,
    sum_s: f64,
}

impl OpTimings {
    pub fn count(&self) -> f64 {
        self.buckets.iter().map(|b| b.1).fold(0.0, f64::max)
    }

    /// The value at quantile `q`, by linear interpolation within its bucket (as
    /// Prometheus's `histogram_quantile` does); a quantile in the `+Inf` bucket is the
    /// highest finite bound.
    pub fn at(&self, q: f64) -> Duration {
        let target = q * self.count();
        let (mut lo, mut below) = (0.0, 0.0);
        for &(le, cum) in &self.buckets {
            if cum >= target && cum > below {
                let v = if le.is_finite() { lo + (le - lo) * (target - below) / (cum - below) } else { lo };
                return Duration::from_secs_f64(v.max(0.0));
            }
            if le.is_finite() {
                lo = le;
            }
            below = cum;
        }
        Duration::from_secs_f64(lo)
    }

    pub fn sum_s(&self) -> f64 {
        self.sum_s
    }
}

/// The histograms by op of the scrape `text`; one histogram name only.
pub fn parse(text: &str) -> Result<BTreeMap<String, OpTimings>, String> {
    let mut name: Option<&str> = None;
    let mut ops: BTreeMap<String, OpTimings> = BTreeMap::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Some((metric, labels)) = series.split_once('{') else { continue };
        let labels = labels.trim_end_matches('}');
        let Some(op) = label(labels, "op") else { continue };
        let (base, part) = match metric.rsplit_once('_') {
            Some((b, p @ ("bucket" | "sum"))) => (b, p),
            _ => continue,
        };
        if name.is_some_and(|seen| seen != base) {
            return Err(format!(
                "line {n}: a second histogram with an op label ({base}, after {}); give a scrape of one",
                name.unwrap_or_default()
            ));
        }
        name = Some(base);
        let v: f64 = value.parse().map_err(|_| format!("line {n}: {value:?} is not a number"))?;
        let entry = ops.entry(op.to_string()).or_default();
        if part == "sum" {
            entry.sum_s = v;
            continue;
        }
        let le = label(labels, "le").ok_or_else(|| format!("line {n}: a bucket without le"))?;
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().map_err(|_| format!("line {n}: le {le:?} is not a number"))?
        };
        entry.buckets.push((le, v));
    }
    for t in ops.values_mut() {
        t.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    if ops.is_empty() {
        return Err("no histogram with an op label (NAME_bucket{op=\"...\",le=\"...\"})".into());
    }
    Ok(ops)
}

/// The value of label `key` in `a="x",b="y"`.
fn label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    labels.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE: &str = r#"# TYPE db_hold_seconds histogram
db_hold_seconds_bucket{op="lookup",le="0.01"} 0
db_hold_seconds_bucket{op="lookup",le="0.02"} 50
db_hold_seconds_bucket{op="lookup",le="0.03"} 100
db_hold_seconds_bucket{op="lookup",le="+Inf"} 100
db_hold_seconds_sum{op="lookup"} 2.0
db_hold_seconds_count{op="lookup"} 100
requests_total{path="/"} 7
"#;

    #[test]
    fn quantiles_come_from_the_buckets() {
        let ops = parse(SCRAPE).unwrap();
        let t = &ops["lookup"];
        assert_eq!(t.count(), 100.0);
        assert_eq!(t.at(0.5), Duration::from_millis(20));
        assert_eq!(t.at(0.75), Duration::from_millis(25));
        assert_eq!(t.sum_s(), 2.0);
    }

    #[test]
    fn a_scrape_without_op_histograms_is_refused() {
        assert!(parse("requests_total{path=\"/\"} 7\n").is_err());
        let two = format!("{SCRAPE}other_bucket{{op=\"x\",le=\"1\"}} 1\n");
        assert!(parse(&two).unwrap_err().contains("second histogram"));
    }
}
