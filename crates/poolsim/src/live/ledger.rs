//! What the built-in target remembers: issued invoices by number and by order number
//! (idempotency), and which were reversed. Bounded: the oldest order numbers are
//! forgotten past [`MAX_ORDERS`], as a real service's idempotency window would.

use std::collections::{HashMap, HashSet, VecDeque};

const MAX_ORDERS: usize = 1_000_000;

#[derive(Debug, Default)]
pub(super) struct Ledger {
    issued: u64,
    /// Order number → (invoice sequence, fingerprint of the submitted payload).
    by_order: HashMap<String, (u64, u64)>,
    order_fifo: VecDeque<String>,
    reversed: HashSet<u64>,
}

/// The outcome of an issue request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Issued {
    New(u64),
    /// The order number was issued before: the first invoice, never a second one.
    Duplicate(u64),
    /// The order number was issued before for a different invoice: a conflict.
    Conflict(u64),
}

/// The outcome of a red-flush (reversal) request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reversal {
    Done,
    AlreadyReversed,
    Unknown,
}

impl Ledger {
    /// Issue for `order_no`; `fingerprint` identifies the payload, so that a resubmission
    /// of the same invoice is told apart from a different invoice reusing the number.
    pub(super) fn issue(&mut self, order_no: &str, fingerprint: u64) -> Issued {
        if let Some(&(seq, first)) = self.by_order.get(order_no) {
            return if first == fingerprint { Issued::Duplicate(seq) } else { Issued::Conflict(seq) };
        }
        self.issued += 1;
        if self.order_fifo.len() >= MAX_ORDERS
            && let Some(old) = self.order_fifo.pop_front()
        {
            self.by_order.remove(&old);
        }
        self.by_order.insert(order_no.to_string(), (self.issued, fingerprint));
        self.order_fifo.push_back(order_no.to_string());
        Issued::New(self.issued)
    }

    pub(super) fn issued(&self) -> u64 {
        self.issued
    }

    pub(super) fn exists(&self, seq: u64) -> bool {
        seq >= 1 && seq <= self.issued
    }

    pub(super) fn is_reversed(&self, seq: u64) -> bool {
        self.reversed.contains(&seq)
    }

    pub(super) fn reverse(&mut self, seq: u64) -> Reversal {
        if !self.exists(seq) {
            Reversal::Unknown
        } else if self.reversed.insert(seq) {
            Reversal::Done
        } else {
            Reversal::AlreadyReversed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_get_the_first_invoice_and_reversal_happens_once() {
        let mut l = Ledger::default();
        assert_eq!(l.issue("A", 7), Issued::New(1));
        assert_eq!(l.issue("B", 8), Issued::New(2));
        assert_eq!(l.issue("A", 7), Issued::Duplicate(1));
        assert_eq!(l.issue("A", 9), Issued::Conflict(1), "another invoice under a used order number");
        assert_eq!(l.reverse(2), Reversal::Done);
        assert_eq!(l.reverse(2), Reversal::AlreadyReversed);
        assert_eq!(l.reverse(9), Reversal::Unknown);
        assert!(l.is_reversed(2) && !l.is_reversed(1));
    }
}
