//! Whether a percentile moved by more than chance: each side's standard error of the
//! quantile, taken two ways, and the test of the shift between the two runs.
//!
//! Order statistics: of n independent samples, the number below the true q-quantile is
//! Binomial(n, q), so the rank of the estimate spreads by sqrt(n q (1 - q)); the
//! histogram read one such spread either side of rank n q gives the standard error below
//! and above the estimate, whatever the distribution.
//!
//! But the requests of one run are not independent: a GC pause, a busy core or a noisy
//! neighbour slows many in a row, and the error from n alone is then far too small (at
//! 100,000 requests it promises about ±2 % at p99 where two reruns on a busy machine
//! differ by 20 %). Batch means: the run cut into [`BATCHES`] stretches of consecutive
//! time (from histograms.hlog's intervals), the quantile taken in each; their spread over
//! sqrt(batches) is the error of the whole-run quantile with the correlation inside a
//! stretch accounted for. Each side takes the wider of the two: with few batches the
//! spread can come out small by luck, and order statistics are the floor no run beats.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::histograms::quantile_ms;

/// The stretches of time a run is cut into for batch means: enough to estimate a spread,
/// few enough that each holds many samples above p99.9 of a run `compare` judges there.
pub const BATCHES: usize = 10;
/// Batch means needs at least this many batches with a sample above the quantile.
const MIN_BATCHES: usize = 4;
/// How many standard errors of the difference a shift must exceed: a one-sided 0.13 %
/// chance per figure under a normal approximation, so that a comparison judging some
/// twenty figures (3 percentiles, overall and per op) still rarely cries wolf.
pub const Z: f64 = 3.0;

/// Where a side's standard error came from: the wider estimate wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorSource {
    OrderStatistics,
    BatchMeans,
}

/// One side's quantile estimate and its standard error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub samples: u64,
    /// How many independent requests the run was worth for this figure: `samples` times
    /// (order-statistic error / error used)². Far below `samples` when requests were slowed
    /// in bursts.
    pub effective_samples: u64,
    /// Standard error below the estimate, ms.
    pub se_low_ms: f64,
    /// Standard error above the estimate, ms.
    pub se_high_ms: f64,
    pub se_from: ErrorSource,
}

/// The test of one percentile's shift, baseline to current.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Significance {
    pub baseline: Estimate,
    pub current: Estimate,
    /// The shift in standard errors of the difference (capped at ±999).
    pub z: f64,
    /// `z` above `Z` (3: three standard errors).
    pub significant: bool,
}

/// The estimate of quantile `q` from a run's whole-run histogram `total` and the same
/// samples cut into consecutive batches of time.
pub fn estimate(total: &Histogram<u64>, batches: &[Histogram<u64>], q: f64) -> Estimate {
    let n = total.len();
    let (value, low, high) = order_statistics(total, q);
    let (os_low, os_high) = (value - low, high - value);
    let bm = batch_means(batches, q).unwrap_or(0.0);
    let (se_low_ms, se_high_ms) = (os_low.max(bm), os_high.max(bm));
    let (os, used) = ((os_low + os_high) / 2.0, (se_low_ms + se_high_ms) / 2.0);
    let effective_samples = if os > 0.0 { (n as f64 * (os / used).powi(2)).round() as u64 } else { n };
    let se_from = if bm > os { ErrorSource::BatchMeans } else { ErrorSource::OrderStatistics };
    Estimate { samples: n, effective_samples, se_low_ms, se_high_ms, se_from }
}

/// The test of a shift from `b` (value `bv`) to `c` (value `cv`): only a rise can be a
/// regression, so the baseline's error above and the current's below are what count.
pub fn test(bv: f64, b: Estimate, cv: f64, c: Estimate) -> Significance {
    let se = b.se_high_ms.hypot(c.se_low_ms);
    let shift = cv - bv;
    // No error at all (every sample in one histogram bucket): any shift is beyond chance.
    let z = if se > 0.0 {
        shift / se
    } else if shift == 0.0 {
        0.0
    } else {
        shift.signum() * 999.0
    };
    let z = z.clamp(-999.0, 999.0);
    Significance { baseline: b, current: c, z, significant: z > Z }
}

/// The q-quantile of `h` and the values one binomial spread of ranks below and above it.
fn order_statistics(h: &Histogram<u64>, q: f64) -> (f64, f64, f64) {
    let n = h.len() as f64;
    if n == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let spread = (n * q * (1.0 - q)).sqrt() / n;
    (quantile_ms(h, q), quantile_ms(h, (q - spread).max(0.0)), quantile_ms(h, (q + spread).min(1.0)))
}

/// The standard error of the whole-run q-quantile from the spread of the batches' own;
/// `None` with too few batches holding a sample above it.
fn batch_means(batches: &[Histogram<u64>], q: f64) -> Option<f64> {
    let values: Vec<f64> =
        batches.iter().filter(|h| h.len() as f64 * (1.0 - q) >= 1.0).map(|h| quantile_ms(h, q)).collect();
    let k = values.len();
    if k < MIN_BATCHES {
        return None;
    }
    let mean = values.iter().sum::<f64>() / k as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1) as f64;
    Some((variance / k as f64).sqrt())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::histograms::new_histogram;

    /// splitmix64: a seeded stream of uniforms for synthetic runs.
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Rng {
            Rng(seed)
        }

        fn uniform(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Lognormal microseconds: median `median_us`, log-sd `sigma`.
        pub fn lognormal(&mut self, median_us: f64, sigma: f64) -> u64 {
            let (u, v) = (self.uniform().max(1e-300), self.uniform());
            let normal = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            (median_us * (sigma * normal).exp()).max(1.0) as u64
        }
    }

    /// A synthetic run: `n` requests in [`BATCHES`] batches, batch `i` slowed by `slow(i)`.
    pub fn run(seed: u64, n: usize, scale: f64, slow: impl Fn(usize) -> f64) -> (Histogram<u64>, Vec<Histogram<u64>>) {
        let mut rng = Rng::new(seed);
        let mut total = new_histogram();
        let mut batches = vec![new_histogram(); BATCHES];
        for i in 0..n {
            let batch = i * BATCHES / n;
            let v = (rng.lognormal(5_000.0, 0.6) as f64 * scale * slow(batch)) as u64;
            total.record(v).unwrap();
            batches[batch].record(v).unwrap();
        }
        (total, batches)
    }

    fn shift(
        base: &(Histogram<u64>, Vec<Histogram<u64>>),
        cur: &(Histogram<u64>, Vec<Histogram<u64>>),
        q: f64,
    ) -> Significance {
        let (b, c) = (estimate(&base.0, &base.1, q), estimate(&cur.0, &cur.1, q));
        test(quantile_ms(&base.0, q), b, quantile_ms(&cur.0, q), c)
    }

    #[test]
    fn the_same_distribution_with_different_counts_is_not_a_significant_shift() {
        let base = run(1, 20_000, 1.0, |_| 1.0);
        for (seed, n) in [(2, 20_000), (3, 60_000), (4, 200_000), (5, 8_000)] {
            let cur = run(seed, n, 1.0, |_| 1.0);
            // Only the percentiles compare judges: 50 samples above them in both runs.
            for q in [0.9, 0.99, 0.999].into_iter().filter(|q| n.min(20_000) as f64 * (1.0 - q) >= 50.0) {
                let s = shift(&base, &cur, q);
                assert!(!s.significant, "n {n}, q {q}: {s:?}");
            }
        }
    }

    #[test]
    fn a_twenty_percent_slower_tail_with_enough_samples_is_significant() {
        let base = run(1, 50_000, 1.0, |_| 1.0);
        let cur = run(2, 50_000, 1.2, |_| 1.0);
        for q in [0.9, 0.99] {
            let s = shift(&base, &cur, q);
            assert!(s.significant && s.z > 2.0 * Z, "q {q}: {s:?}");
            // Independent samples: both ways measure one error, so about n samples count.
            assert!(s.current.effective_samples > s.current.samples / 3, "q {q}: {s:?}");
        }
    }

    /// One stretch of the baseline slowed 2x (a pause, a busy core): the order-statistic
    /// error from n would call a shift of the current's tail significant; the spread of
    /// the batches says the baseline's own tail moves that much from stretch to stretch.
    #[test]
    fn bursts_widen_the_error_past_what_the_sample_count_says() {
        let bursty = |seed, scale| run(seed, 100_000, scale, |b| if b == seed as usize % BATCHES { 2.0 } else { 1.0 });
        let (base, cur) = (bursty(3, 1.0), bursty(6, 1.0));
        let e = estimate(&base.0, &base.1, 0.99);
        assert_eq!(e.se_from, ErrorSource::BatchMeans);
        assert!(e.effective_samples < e.samples / 10, "{e:?}");
        let s = shift(&base, &cur, 0.99);
        assert!(!s.significant, "{s:?}");
    }

    #[test]
    fn too_few_batches_fall_back_to_order_statistics() {
        let (total, batches) = run(1, 1_000, 1.0, |_| 1.0);
        // p99.9 of 100 requests a batch: no batch holds a sample above it.
        let e = estimate(&total, &batches, 0.999);
        assert_eq!((e.se_from, e.effective_samples), (ErrorSource::OrderStatistics, 1_000));
        let empty = estimate(&new_histogram(), &[], 0.99);
        assert_eq!((empty.samples, empty.se_low_ms, empty.se_high_ms), (0, 0.0, 0.0));
        let same = test(5.0, empty.clone(), 5.0, empty.clone());
        assert_eq!((same.z, same.significant), (0.0, false), "no shift, no error: nothing to see");
        assert!(test(5.0, empty.clone(), 6.0, empty).significant);
    }
}
