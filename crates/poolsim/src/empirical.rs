//! Hold times taken from a real run: a histogram's buckets, sampled by inverse CDF.

use std::time::Duration;

/// An empirical distribution: values with counts, sampled by inverse CDF with linear
/// interpolation between neighbouring values (a histogram's buckets are ranges, and
/// sampling only their edges would put every draw on a few points).
#[derive(Debug, Clone, PartialEq)]
pub struct Empirical {
    /// Distinct values in increasing order.
    values: Vec<Duration>,
    /// Running totals of the counts: `cumulative[i]` counts every value up to `values[i]`.
    cumulative: Vec<u64>,
}

impl Empirical {
    /// From (value, count) pairs in any order; zero counts are dropped. Errs if nothing
    /// is left.
    pub fn new(mut points: Vec<(Duration, u64)>) -> Result<Empirical, String> {
        points.retain(|&(_, n)| n > 0);
        points.sort_by_key(|&(v, _)| v);
        if points.is_empty() {
            return Err("an empirical hold needs at least one recorded value".into());
        }
        let mut total = 0u64;
        let (mut values, mut cumulative) = (Vec::new(), Vec::new());
        for (v, n) in points {
            total = total.saturating_add(n);
            match cumulative.last_mut() {
                Some(last) if values.last() == Some(&v) => *last = total,
                _ => {
                    values.push(v);
                    cumulative.push(total);
                }
            }
        }
        Ok(Empirical { values, cumulative })
    }

    /// Values recorded in all.
    pub fn count(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// The value at quantile `unit` (in (0, 1]).
    pub fn at(&self, unit: f64) -> Duration {
        let target = unit.clamp(0.0, 1.0) * self.count() as f64;
        let i = self.cumulative.partition_point(|&c| (c as f64) < target).min(self.values.len() - 1);
        if i == 0 {
            return self.values[0];
        }
        // Spread this value's share evenly over the range from the previous value.
        let (below, here) = (self.cumulative[i - 1] as f64, self.cumulative[i] as f64);
        let f = ((target - below) / (here - below)).clamp(0.0, 1.0);
        let (lo, hi) = (self.values[i - 1].as_secs_f64(), self.values[i].as_secs_f64());
        Duration::from_secs_f64(lo + (hi - lo) * f)
    }

    pub fn mean(&self) -> Duration {
        let mut prev = 0u64;
        let mut sum = 0.0;
        for (v, &c) in self.values.iter().zip(&self.cumulative) {
            sum += v.as_secs_f64() * (c - prev) as f64;
            prev = c;
        }
        Duration::from_secs_f64(sum / self.count().max(1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_counts() {
        let ms = Duration::from_millis;
        let e = Empirical::new(vec![(ms(10), 50), (ms(2), 0), (ms(1), 50), (ms(10), 0)]).unwrap();
        assert_eq!(e.count(), 100);
        assert_eq!(e.at(0.2), ms(1));
        assert_eq!(e.at(1.0), ms(10));
        // Three quarters of the way: halfway through the 1 ms → 10 ms bucket.
        let q75 = e.at(0.75).as_secs_f64() * 1000.0;
        assert!((q75 - 5.5).abs() < 1e-9, "{q75}");
        assert_eq!(e.mean(), Duration::from_micros(5_500));
        assert!(Empirical::new(vec![(ms(1), 0)]).is_err());
    }
}
