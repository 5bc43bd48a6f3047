//! The invoice generator: validated spec + party roster, turned into invoices per request.

use std::borrow::Cow;

use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::dist::Sampler;
use super::fault::Fault;
use super::party::{self, Party};
use super::payload::{Invoice, Kind, Line};
use super::{InvoiceSpec, items};
use crate::Error;
use crate::seed::{derive_seed, splitmix64};
use einv_core::money::Cents;

/// Caps on drawn numbers, so that a long log-normal tail cannot overflow the i64 totals:
/// 100 000 × 10 000 000.00 yuan per line, times at most 1000 lines, is below 2^63 fen.
const MAX_QUANTITY: f64 = 100_000.0;
const MAX_UNIT_PRICE_CENTS: f64 = 1_000_000_000.0;

/// Turns an [`InvoiceSpec`] into invoices. Build once per run; cheap to share by reference.
#[derive(Debug, Clone)]
pub struct InvoiceGen {
    lines: Sampler,
    max_lines: u32,
    quantity: Sampler,
    unit_price: Sampler,
    special_share: f64,
    parties: Vec<Party>,
    /// Base of the per-request streams handed out by [`InvoiceGen::rng_for`].
    streams: u64,
}

impl InvoiceGen {
    /// Validate `spec` and build the party roster from `seed`.
    pub fn new(spec: &InvoiceSpec, seed: u64) -> Result<InvoiceGen, Error> {
        spec.validate()?;
        Ok(InvoiceGen {
            lines: Sampler::new(&spec.lines),
            max_lines: spec.max_lines,
            quantity: Sampler::new(&spec.quantity),
            unit_price: Sampler::new(&spec.unit_price),
            special_share: spec.special_share,
            parties: party::roster(spec.parties, derive_seed(seed, "invoice/parties")),
            streams: derive_seed(seed, "invoice/requests"),
        })
    }

    /// The taxpayers invoices are drawn between, e.g. to register them with the platform
    /// under test before the run.
    pub fn parties(&self) -> &[Party] {
        &self.parties
    }

    /// A per-request stream that depends only on the run seed and `index` (e.g. the
    /// arrival's global index), so sharded runs send identical payloads.
    pub fn rng_for(&self, index: u64) -> Pcg64Mcg {
        Pcg64Mcg::seed_from_u64(splitmix64(self.streams ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
    }

    /// One invoice. The same `rng` state gives the same invoice; `fault` changes only the
    /// faulted field.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R, order_no: &str, fault: Option<Fault>) -> Invoice<'_> {
        let kind = if rng.random::<f64>() < self.special_share { Kind::Special } else { Kind::Ordinary };
        let n = self.parties.len();
        let seller = rng.random_range(0..n);
        // Draw from the other n − 1 parties: nobody invoices themselves.
        let mut buyer = rng.random_range(0..n - 1);
        if buyer >= seller {
            buyer += 1;
        }
        let count = (self.lines.sample(rng).round().min(f64::from(self.max_lines)) as u32).max(1);
        let small_scale = self.parties[seller].small_scale;
        let lines: Vec<Line> = (0..count).map(|_| self.line(rng, small_scale)).collect();
        let total_amount: Cents = lines.iter().map(|l| l.amount).sum();
        let total_tax: Cents = lines.iter().map(|l| l.tax).sum();
        let mut invoice = Invoice {
            order_no: order_no.to_owned(),
            kind,
            seller: Cow::Borrowed(&self.parties[seller]),
            buyer: Some(Cow::Borrowed(&self.parties[buyer])),
            lines,
            total_amount,
            total_tax,
            total: total_amount + total_tax,
        };
        if let Some(fault) = fault {
            fault.apply(&mut invoice, rng);
        }
        invoice
    }

    fn line<R: Rng + ?Sized>(&self, rng: &mut R, small_scale: bool) -> Line {
        let (tax_rate, item) = items::pick(rng, small_scale);
        // `as` saturates and maps NaN to 0; the clamps then keep both at least 1.
        let quantity = (self.quantity.sample(rng).round().min(MAX_QUANTITY) as u32).max(1);
        let unit_price = Cents(((self.unit_price.sample(rng) * 100.0).round().min(MAX_UNIT_PRICE_CENTS) as i64).max(1));
        let amount = unit_price * quantity;
        Line {
            name: item.name,
            tax_code: item.tax_code,
            quantity,
            unit_price,
            amount,
            tax_rate,
            tax: tax_rate.tax_on(amount),
        }
    }
}
