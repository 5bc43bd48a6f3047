//! Distributions of the per-invoice numbers (line count, quantity, unit price).

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use crate::Error;

/// z-score of the 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_841;

/// A distribution of a positive quantity, described the way people know their data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    Fixed(f64),
    /// Uniform on `[min, max)`.
    Uniform {
        min: f64,
        max: f64,
    },
    /// Log-normal given its median and 99th percentile: real sizes and prices are skewed,
    /// and those two numbers are what a platform's logs readily give.
    LogNormal {
        p50: f64,
        p99: f64,
    },
}

impl Dist {
    /// Check that the parameters describe a distribution.
    pub fn validate(&self) -> Result<(), Error> {
        self.problem().map_or(Ok(()), |p| Err(Error::Invoice(p)))
    }

    /// What is wrong with the parameters, if anything.
    pub(super) fn problem(&self) -> Option<String> {
        match *self {
            Dist::Fixed(v) if !v.is_finite() => Some(format!("fixed value {v} is not a finite number")),
            Dist::Uniform { min, max } if !(min.is_finite() && max.is_finite()) => {
                Some(format!("uniform bounds {min}..{max} are not finite numbers"))
            }
            Dist::Uniform { min, max } if min > max => Some(format!("uniform min {min} is above max {max}")),
            Dist::LogNormal { p50, p99 } if !(p50.is_finite() && p99.is_finite() && p50 > 0.0 && p99 > 0.0) => {
                Some(format!("lognormal p50 {p50} and p99 {p99} must be finite and positive"))
            }
            Dist::LogNormal { p50, p99 } if p99 < p50 => Some(format!("lognormal p99 {p99} is below p50 {p50}")),
            _ => None,
        }
    }

    /// One draw. Call [`Dist::validate`] first: invalid parameters give meaningless numbers.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        Sampler::new(self).sample(rng)
    }
}

/// A [`Dist`] with the logarithms precomputed, so drawing costs no `ln`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Sampler {
    Fixed(f64),
    Uniform { min: f64, width: f64 },
    LogNormal { median: f64, sigma: f64 },
}

impl Sampler {
    pub(super) fn new(dist: &Dist) -> Sampler {
        match *dist {
            Dist::Fixed(v) => Sampler::Fixed(v),
            Dist::Uniform { min, max } => Sampler::Uniform { min, width: max - min },
            Dist::LogNormal { p50, p99 } => Sampler::LogNormal { median: p50, sigma: (p99.ln() - p50.ln()) / Z99 },
        }
    }

    pub(super) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Sampler::Fixed(v) => v,
            Sampler::Uniform { min, width } => min + width * rng.random::<f64>(),
            // exp(mu + sigma·z) with mu = ln(median), without the ln.
            Sampler::LogNormal { median, sigma } => median * (sigma * rng.sample::<f64, _>(StandardNormal)).exp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    #[test]
    fn validate_rejects_impossible_parameters() {
        let bad = [
            Dist::Fixed(f64::NAN),
            Dist::Fixed(f64::INFINITY),
            Dist::Uniform { min: 5.0, max: 1.0 },
            Dist::Uniform { min: f64::NAN, max: 1.0 },
            Dist::Uniform { min: 0.0, max: f64::NAN },
            Dist::LogNormal { p50: 10.0, p99: 5.0 },
            Dist::LogNormal { p50: 0.0, p99: 5.0 },
            Dist::LogNormal { p50: -1.0, p99: 5.0 },
            Dist::LogNormal { p50: 1.0, p99: -5.0 },
            Dist::LogNormal { p50: f64::NAN, p99: 5.0 },
            Dist::LogNormal { p50: 1.0, p99: f64::NAN },
            Dist::LogNormal { p50: 1.0, p99: f64::INFINITY },
        ];
        for dist in bad {
            assert!(matches!(dist.validate(), Err(Error::Invoice(_))), "{dist:?} passed");
        }
        let good = [
            Dist::Fixed(3.0),
            Dist::Uniform { min: 1.0, max: 1.0 },
            Dist::Uniform { min: -1.0, max: 1.0 },
            Dist::LogNormal { p50: 2.0, p99: 2.0 },
            Dist::LogNormal { p50: 2.0, p99: 12.0 },
        ];
        for dist in good {
            assert_eq!(dist.validate(), Ok(()), "{dist:?}");
        }
    }

    #[test]
    fn messages_name_the_problem() {
        let err = Dist::LogNormal { p50: 10.0, p99: 5.0 }.validate().unwrap_err();
        assert_eq!(err.to_string(), "invoice generator: lognormal p99 5 is below p50 10");
    }

    /// The empirical percentile `q` of `n` draws.
    fn percentile(dist: Dist, q: f64, n: usize) -> f64 {
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let mut xs: Vec<f64> = (0..n).map(|_| dist.sample(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        xs[(q * n as f64) as usize]
    }

    #[test]
    fn lognormal_hits_its_percentiles() {
        let dist = Dist::LogNormal { p50: 80.0, p99: 5000.0 };
        let p50 = percentile(dist, 0.5, 200_000);
        let p99 = percentile(dist, 0.99, 200_000);
        assert!((p50 / 80.0 - 1.0).abs() < 0.03, "p50 {p50}");
        assert!((p99 / 5000.0 - 1.0).abs() < 0.08, "p99 {p99}");
    }

    #[test]
    fn uniform_and_fixed_stay_in_range() {
        let mut rng = Pcg64Mcg::seed_from_u64(2);
        let uniform = Dist::Uniform { min: 3.0, max: 7.0 };
        assert!((0..10_000).map(|_| uniform.sample(&mut rng)).all(|x| (3.0..7.0).contains(&x)));
        assert_eq!(Dist::Fixed(4.5).sample(&mut rng), 4.5);
        let mid = percentile(uniform, 0.5, 100_000);
        assert!((mid - 5.0).abs() < 0.05, "{mid}");
    }
}
