//! The e-invoice vocabulary einv-load's generator and its built-in target agree on, kept
//! tiny on purpose: the GB 32100 taxpayer-id checks, money in integer cents with the
//! half-up VAT rounding invoices use, and the one way every crate reads an input file
//! ([`input`]: regular files only, bounded).
//!
//! ```
//! use einv_core::money::{Cents, TaxRate};
//! use einv_core::uscc;
//!
//! assert!(uscc::is_valid("91350100M000100Y43"));
//! let rate = TaxRate::parse("0.13").unwrap();
//! assert_eq!(rate.tax_on(Cents::parse("100.00").unwrap()), Cents(1300));
//! ```

pub mod input;
pub mod money;
pub mod uscc;
