/// Derive an independent 64-bit seed for one purpose ("arrivals", "mix", a worker id, ...)
/// from the profile seed, so that streams never overlap and adding a new stream does not
/// shift the existing ones.
pub fn derive_seed(seed: u64, purpose: &str) -> u64 {
    // FNV-1a over the purpose, then one SplitMix64 round to spread the bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in purpose.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix64(seed ^ h)
}

/// One SplitMix64 step: a fast, well-mixed hash of a 64-bit value.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_give_different_streams() {
        assert_ne!(derive_seed(1, "arrivals"), derive_seed(1, "mix"));
        assert_ne!(derive_seed(1, "mix"), derive_seed(2, "mix"));
        assert_eq!(derive_seed(9, "mix"), derive_seed(9, "mix"));
    }
}
