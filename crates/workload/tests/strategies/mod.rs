//! The proptest strategies the invoice property tests share: invoice specs over the
//! ranges a profile may give (some out of range on purpose: the generator clamps them).

use einv_workload::invoice::{Dist, InvoiceSpec};
use proptest::prelude::*;

pub fn dist(lo: f64, hi: f64) -> impl Strategy<Value = Dist> {
    prop_oneof![
        (lo..hi).prop_map(Dist::Fixed),
        (lo..hi, 0.0..hi).prop_map(|(min, width)| Dist::Uniform { min, max: min + width }),
        (0.01..hi, 1.0..50.0f64).prop_map(|(p50, spread)| Dist::LogNormal { p50, p99: p50 * spread }),
    ]
}

pub fn spec() -> impl Strategy<Value = InvoiceSpec> {
    (dist(-2.0, 30.0), 1u32..40, dist(-2.0, 1000.0), dist(-1.0, 1e6), 0.0..=1.0f64, 2u32..50).prop_map(
        |(lines, max_lines, quantity, unit_price, special_share, parties)| InvoiceSpec {
            lines,
            max_lines,
            quantity,
            unit_price,
            special_share,
            parties,
        },
    )
}
