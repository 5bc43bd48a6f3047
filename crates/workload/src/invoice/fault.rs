//! Deliberately broken invoices, which a correct platform must reject with a 4xx.

use std::borrow::Cow;

use rand::{Rng, RngExt};

use super::payload::Invoice;
use super::uscc;
use einv_core::money::Cents;

/// One defect injected into an otherwise valid invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The buyer's tax id has a wrong final check character (still 18 valid characters).
    BadCheckDigit,
    /// `total` is off by 0.01 while the lines and the other totals stay right.
    TotalsMismatch,
    /// The `buyer` key is absent.
    MissingBuyer,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::BadCheckDigit => "bad_check_digit",
            Fault::TotalsMismatch => "totals_mismatch",
            Fault::MissingBuyer => "missing_buyer",
        }
    }

    /// Break `invoice`. Called after the invoice is complete, so a faulted invoice differs
    /// from the clean one drawn from the same rng state in exactly this one respect.
    pub(super) fn apply<R: Rng + ?Sized>(self, invoice: &mut Invoice<'_>, rng: &mut R) {
        match self {
            // The buyer rather than the seller: a platform usually authenticates the seller
            // as the tenant and would answer a bad seller id with 401/403, not a validation error.
            Fault::BadCheckDigit => {
                if let Some(buyer) = &mut invoice.buyer {
                    let tax_id = uscc::with_bad_check_char(&buyer.tax_id, rng);
                    Cow::to_mut(buyer).tax_id = tax_id;
                }
            }
            Fault::TotalsMismatch => {
                // Either direction, but never down to a zero total.
                let delta = if invoice.total.0 > 1 && rng.random::<bool>() { -1 } else { 1 };
                invoice.total = invoice.total + Cents(delta);
            }
            Fault::MissingBuyer => invoice.buyer = None,
        }
    }
}
