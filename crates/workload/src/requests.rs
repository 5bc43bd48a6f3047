//! Per-request rendering: the profile's op templates, the seed and an arrival index in,
//! the bytes to send out. Called in arrival order (by the dispatcher, or by `generate`).
//!
//! Everything random comes from a stream derived from `(seed, index)`, so the same
//! profile and seed give the same requests, in one process or split across shards.
//! Only values drawn from captures depend on what the target answered.

use std::sync::Arc;

use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::feeder::Feeder;
use crate::invoice::{Fault, InvoiceGen};
use crate::seed::{derive_seed, splitmix64};
use crate::template::{Template, Values, Var};
use crate::{Captures, Error, Mix};

/// The templates of one op.
#[derive(Debug, Clone, Default)]
pub struct OpTemplate {
    pub path: Template,
    /// Header name and value template; only templated headers need be here.
    pub headers: Vec<(String, Template)>,
    pub body: Template,
}

impl OpTemplate {
    /// The values of every `${env.*}` placeholder of the op (path, headers, body).
    pub fn env_values(&self) -> impl Iterator<Item = &str> {
        all_vars(self).filter_map(|v| match v {
            Var::Env { value, .. } => Some(value.as_str()),
            _ => None,
        })
    }
}

/// Injected faults: shares of invoice-carrying requests sent wrong on purpose.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Resend an earlier request's invoice with the same order number.
    pub duplicate_rate: f64,
    /// Send an invoice a correct service must reject (bad check digit, wrong totals,
    /// missing buyer), chosen evenly.
    pub invalid_rate: f64,
}

/// Why a request was sent wrong on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Duplicate,
    Invalid(Fault),
}

impl Tag {
    pub const ALL: [Tag; 4] = [
        Tag::Duplicate,
        Tag::Invalid(Fault::BadCheckDigit),
        Tag::Invalid(Fault::TotalsMismatch),
        Tag::Invalid(Fault::MissingBuyer),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Duplicate => "duplicate",
            Tag::Invalid(f) => f.as_str(),
        }
    }

    /// Position in [`Tag::ALL`].
    pub fn index(self) -> usize {
        Tag::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// A correct service answers a duplicate with the first invoice (2xx) and rejects
    /// an invalid invoice (4xx).
    pub fn expects_rejection(self) -> bool {
        matches!(self, Tag::Invalid(_))
    }
}

/// Why a request was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// A capture it draws from was empty (nothing extracted yet).
    EmptyCapture(usize),
    /// A sequential feeder ran out of rows.
    FeederExhausted(usize),
}

/// One rendered request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub path: Vec<u8>,
    /// Values of the op's templated headers, in [`OpTemplate::headers`] order.
    pub headers: Vec<Vec<u8>>,
    pub body: Vec<u8>,
    pub tag: Option<Tag>,
    pub order_no: String,
}

/// What each op's templates use, found once so rendering skips the rest.
#[derive(Debug, Clone, Default)]
struct Uses {
    invoice: bool,
    feeders: Vec<usize>,
    captures: Vec<(usize, bool)>,
}

/// Renders requests for a run.
#[derive(Debug)]
pub struct Requests {
    seed: u64,
    ops: Vec<OpTemplate>,
    uses: Vec<Uses>,
    mix: Mix,
    invoices: InvoiceGen,
    feeders: Vec<Feeder>,
    captures: Arc<Captures>,
    faults: Faults,
    order_prefix: String,
    rows: Vec<Vec<String>>,
    captured: Vec<Option<String>>,
}

impl Requests {
    pub fn new(
        seed: u64,
        ops: Vec<OpTemplate>,
        mix: Mix,
        invoices: InvoiceGen,
        feeders: Vec<Feeder>,
        captures: Arc<Captures>,
        faults: Faults,
    ) -> Requests {
        let uses = ops.iter().map(uses).collect();
        // Order numbers differ between runs with different seeds, so reruns against a
        // persistent service do not collide with earlier runs' invoices.
        let order_prefix = format!("EL{:08X}", derive_seed(seed, "order-no") as u32);
        let captures_n = ops.iter().flat_map(all_vars).filter_map(|v| match v {
            Var::Capture { capture, .. } => Some(*capture + 1),
            _ => None,
        });
        let captured = vec![None; captures_n.max().unwrap_or(0)];
        let rows = vec![Vec::new(); feeders.len()];
        Requests { seed, ops, uses, mix, invoices, feeders, captures, faults, order_prefix, rows, captured }
    }

    /// The op mix.
    pub fn mix(&self) -> &Mix {
        &self.mix
    }

    /// The op of arrival `index` (the mix decides).
    pub fn op_of(&self, index: u64) -> usize {
        self.mix.pick(index)
    }

    /// The order number of arrival `index`.
    pub fn order_no(&self, index: u64) -> String {
        format!("{}{index:012}", self.order_prefix)
    }

    /// Render arrival `index` (op `op`) into `out`. `Ok(Err(skip))` when it must not be
    /// sent; `Err` when a data file is broken.
    pub fn render(
        &mut self,
        index: u64,
        op: usize,
        mask_secrets: bool,
        out: &mut Rendered,
    ) -> Result<Result<(), Skip>, Error> {
        let mut rng = request_rng(self.seed, index);
        // Taken out for the call, so rendering needs no per-request clone of it.
        let uses = std::mem::take(&mut self.uses[op]);
        let result = self.render_with(&uses, index, op, &mut rng, mask_secrets, out);
        self.uses[op] = uses;
        result
    }

    fn render_with(
        &mut self,
        uses: &Uses,
        index: u64,
        op: usize,
        rng: &mut Pcg64Mcg,
        mask_secrets: bool,
        out: &mut Rendered,
    ) -> Result<Result<(), Skip>, Error> {
        out.tag = None;
        let mut source = index;
        if uses.invoice {
            let (tag, from) = self.fault(index, op, rng);
            out.tag = tag;
            source = from;
        }
        out.order_no = self.order_no(source);
        // Nothing is consumed until the request is sure to go: captures are looked at first,
        // then feeder rows read, then values drawn (and taken).
        if let Some(&(capture, _)) = uses.captures.iter().find(|(c, _)| self.captures.len(*c) == 0) {
            return Ok(Err(Skip::EmptyCapture(capture)));
        }
        for &f in &uses.feeders {
            match self.feeders[f].next_row()? {
                Some(row) => {
                    self.rows[f].clear();
                    self.rows[f].extend(row.iter().cloned());
                }
                None => return Ok(Err(Skip::FeederExhausted(f))),
            }
        }
        for &(capture, take) in &uses.captures {
            // Only the dispatcher draws, so a capture seen non-empty above is non-empty now.
            self.captured[capture] = self.captures.draw(capture, rng.next_u64(), take);
            if self.captured[capture].is_none() {
                return Ok(Err(Skip::EmptyCapture(capture)));
            }
        }
        // One invoice per request, shared by all its placeholders; it depends on the source
        // arrival only, so a duplicate resends the very same invoice under the same order number.
        let invoice = uses.invoice.then(|| {
            let fault = match out.tag {
                Some(Tag::Invalid(f)) => Some(f),
                _ => None,
            };
            self.invoices.generate(&mut request_rng(self.seed ^ 0x1a7_0ce, source), &out.order_no, fault)
        });
        let uuid = uuid(rng);
        let values = Values {
            index,
            order_no: &out.order_no,
            uuid: &uuid,
            invoice: invoice.as_ref(),
            rows: &self.rows,
            captured: &self.captured,
            mask_secrets,
        };
        let t = &self.ops[op];
        out.path.clear();
        t.path.render_path(&values, &mut out.path);
        out.headers.resize(t.headers.len(), Vec::new());
        for (value, (_, template)) in out.headers.iter_mut().zip(&t.headers) {
            value.clear();
            template.render(&values, value);
        }
        out.body.clear();
        t.body.render(&values, &mut out.body);
        Ok(Ok(()))
    }

    /// Decide a fault for an invoice-carrying request: its tag and the arrival whose
    /// invoice it sends (itself, or an earlier one of the same op for a duplicate).
    /// The fault draw is the first of a request's stream, so any arrival's can be
    /// recomputed from `(seed, index)` alone.
    fn fault(&self, index: u64, op: usize, rng: &mut Pcg64Mcg) -> (Option<Tag>, u64) {
        let r = rng.random::<f64>();
        if r < self.faults.duplicate_rate {
            // The nearest earlier arrival of the same op that went out clean: a duplicate
            // must repeat an order number the target has actually been sent as valid.
            let clean = |i: u64| {
                request_rng(self.seed, i).random::<f64>() >= self.faults.duplicate_rate + self.faults.invalid_rate
            };
            let earlier = (index.saturating_sub(1000)..index).rev().find(|&i| self.mix.pick(i) == op && clean(i));
            if let Some(earlier) = earlier {
                return (Some(Tag::Duplicate), earlier);
            }
        } else if r < self.faults.duplicate_rate + self.faults.invalid_rate {
            let fault =
                [Fault::BadCheckDigit, Fault::TotalsMismatch, Fault::MissingBuyer][(rng.next_u64() % 3) as usize];
            return (Some(Tag::Invalid(fault)), index);
        }
        (None, index)
    }
}

fn request_rng(seed: u64, index: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(splitmix64(seed ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93)))
}

fn uuid(rng: &mut Pcg64Mcg) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

fn all_vars(o: &OpTemplate) -> impl Iterator<Item = &Var> {
    o.path.vars().chain(o.headers.iter().flat_map(|(_, t)| t.vars())).chain(o.body.vars())
}

fn uses(o: &OpTemplate) -> Uses {
    let mut u = Uses::default();
    for v in all_vars(o) {
        match v {
            Var::Invoice | Var::Field(_) => u.invoice = true,
            Var::Feeder { feeder, .. } if !u.feeders.contains(feeder) => u.feeders.push(*feeder),
            Var::Capture { capture, take } if !u.captures.iter().any(|(c, _)| c == capture) => {
                u.captures.push((*capture, *take))
            }
            _ => {}
        }
    }
    u
}
