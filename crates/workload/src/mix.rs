use crate::Error;
use crate::seed::splitmix64;

/// A weighted choice among operations, decided per arrival index.
///
/// The choice depends only on `(seed, index)`, never on how many arrivals came before in
/// this process, so sharded runs pick the same op for the same global arrival.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Cumulative weights; the last entry is the total.
    cumulative: Vec<u64>,
    seed: u64,
}

impl Mix {
    /// Build a mix from integer weights (one per op, in op order).
    pub fn new(weights: &[u32], seed: u64) -> Result<Self, Error> {
        let mut total = 0u64;
        let cumulative: Vec<u64> = weights
            .iter()
            .map(|&w| {
                total += u64::from(w);
                total
            })
            .collect();
        if total == 0 {
            return Err(Error::EmptyMix);
        }
        Ok(Self { cumulative, seed })
    }

    /// Number of operations in the mix.
    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    /// Whether the mix has no operations (never true for a constructed mix).
    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// The op index chosen for global arrival `index`.
    pub fn pick(&self, index: u64) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1);
        if self.cumulative.len() == 1 {
            return 0;
        }
        // Multiply-shift maps the hash to 0..total without modulo bias worth noticing.
        let r = splitmix64(self.seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let x = ((u128::from(r) * u128::from(total)) >> 64) as u64;
        self.cumulative.partition_point(|&c| c <= x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_respected() {
        let mix = Mix::new(&[3, 1, 0, 6], 42).unwrap();
        let mut counts = [0u32; 4];
        for i in 0..100_000 {
            counts[mix.pick(i)] += 1;
        }
        assert_eq!(counts[2], 0, "a zero-weight op is never picked");
        let share = |c: u32| f64::from(c) / 100_000.0;
        assert!((share(counts[0]) - 0.3).abs() < 0.01, "{counts:?}");
        assert!((share(counts[1]) - 0.1).abs() < 0.01, "{counts:?}");
        assert!((share(counts[3]) - 0.6).abs() < 0.01, "{counts:?}");
    }

    #[test]
    fn same_index_same_op() {
        let a = Mix::new(&[1, 1, 1], 5).unwrap();
        let b = Mix::new(&[1, 1, 1], 5).unwrap();
        assert!((0..1000).all(|i| a.pick(i) == b.pick(i)));
    }

    #[test]
    fn all_zero_weights_is_an_error() {
        assert_eq!(Mix::new(&[0, 0], 1).unwrap_err(), Error::EmptyMix);
        assert_eq!(Mix::new(&[], 1).unwrap_err(), Error::EmptyMix);
    }
}
