//! Realistic e-invoice (e-fapiao) issue requests.
//!
//! [`InvoiceGen`] is built once per run from an [`InvoiceSpec`] and a seed; it draws a roster
//! of taxpayers ([`Party`]: company name, unified social credit code, address, phone, bank
//! account, all consistent with one city) and then, per request, an [`Invoice`] between two
//! of them: line items with real-looking tax classification codes, VAT at the statutory
//! rates, money in integer cents so totals add up exactly. [`Fault`]s break one thing a
//! correct platform must reject. [`Invoice::write_json`] renders without serde.
//!
//! ```
//! use einv_workload::invoice::{InvoiceGen, InvoiceSpec, uscc};
//!
//! let invoice_gen = InvoiceGen::new(&InvoiceSpec::default(), 42).unwrap();
//! let mut rng = invoice_gen.rng_for(0);
//! let invoice = invoice_gen.generate(&mut rng, "ORD-0", None);
//! assert!(uscc::is_valid(&invoice.seller.tax_id));
//! let mut body = Vec::new();
//! invoice.write_json(&mut body);
//! assert!(body.starts_with(br#"{"order_no":"ORD-0","#));
//! ```

mod dist;
mod fault;
mod field;
mod generator;
mod items;
pub(crate) mod json;
mod names;
mod party;
mod payload;
mod regions;
pub mod uscc;

pub use dist::Dist;
pub use einv_core::money::{self, Cents, TaxRate};
pub use fault::Fault;
pub use field::{Field, PartyField, Value};
pub use generator::InvoiceGen;
pub use party::Party;
pub use payload::{Invoice, Kind, Line};

use crate::Error;

/// Upper bounds that keep a run's memory and the i64 totals safe.
const MAX_LINES: u32 = 1000;
const MAX_PARTIES: u32 = 1_000_000;

/// What invoices look like.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceSpec {
    /// Line items per invoice, rounded and clamped to `1..=max_lines`.
    pub lines: Dist,
    pub max_lines: u32,
    /// Quantity per line, rounded and clamped to at least 1.
    pub quantity: Dist,
    /// Yuan per unit, rounded to the cent and clamped to at least 0.01.
    pub unit_price: Dist,
    /// Share of special VAT invoices; the rest are ordinary.
    pub special_share: f64,
    /// Size of the taxpayer roster sellers and buyers are drawn from (at least 2).
    pub parties: u32,
}

impl Default for InvoiceSpec {
    /// Typical B2B traffic: mostly one to three lines, small quantities, prices around
    /// 80 yuan with a long tail, three in ten invoices special.
    fn default() -> Self {
        InvoiceSpec {
            lines: Dist::LogNormal { p50: 2.0, p99: 12.0 },
            max_lines: 20,
            quantity: Dist::LogNormal { p50: 1.0, p99: 20.0 },
            unit_price: Dist::LogNormal { p50: 80.0, p99: 5000.0 },
            special_share: 0.3,
            parties: 1000,
        }
    }
}

impl InvoiceSpec {
    /// Check every setting; the error names the field.
    pub fn validate(&self) -> Result<(), Error> {
        let dists = [("lines", &self.lines), ("quantity", &self.quantity), ("unit_price", &self.unit_price)];
        for (field, dist) in dists {
            if let Some(problem) = dist.problem() {
                return Err(Error::Invoice(format!("{field}: {problem}")));
            }
        }
        if !(1..=MAX_LINES).contains(&self.max_lines) {
            return Err(Error::Invoice(format!("max_lines: {} is not in 1..={MAX_LINES}", self.max_lines)));
        }
        if !(0.0..=1.0).contains(&self.special_share) {
            return Err(Error::Invoice(format!("special_share: {} is not in 0..=1", self.special_share)));
        }
        if !(2..=MAX_PARTIES).contains(&self.parties) {
            return Err(Error::Invoice(format!(
                "parties: {} is not in 2..={MAX_PARTIES} (a seller and a different buyer)",
                self.parties
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
