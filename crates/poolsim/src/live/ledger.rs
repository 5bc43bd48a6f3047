//! What the built-in target remembers: the last `window` invoices issued, by number and
//! by order number (idempotency), and which of them were reversed. Memory is fixed when
//! the server starts, 24 bytes an invoice of the window, however long it runs:
//!
//! - `slots`, one per place in the window, in issue order (a ring): the order number's
//!   64-bit key and the payload's fingerprint;
//! - `index`, open addressing from an order key to its slot, at most half full;
//! - `reversed`, a bitset over the same slots.
//!
//! An invoice older than the window is *archived*: queries, red-flushes and downloads of it
//! are answered 410, and its order number is free again (a resubmission is a new order),
//! as with any service whose idempotency keys expire.

use std::hash::{BuildHasher, RandomState};

#[derive(Debug)]
pub(super) struct Ledger {
    issued: u64,
    /// Slot `(seq - 1) % window` of invoice `seq`: [order key, payload fingerprint].
    slots: Vec<[u64; 2]>,
    /// Slot + 1 of the invoice an order key belongs to; 0 is empty. Linear probing.
    index: Vec<u32>,
    reversed: Vec<u64>,
    /// Keys are keyed per process: nobody can aim order numbers at one slot chain.
    keys: RandomState,
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

/// What the ledger knows of an invoice number.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Status {
    Issued,
    Reversed,
    /// Issued, but older than the window: the ledger no longer knows its state.
    Archived,
    Unknown,
}

/// The outcome of a red-flush (reversal) request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reversal {
    Done,
    AlreadyReversed,
    Archived,
    Unknown,
}

impl Ledger {
    /// A ledger that remembers the last `window` invoices (at least 1).
    pub(super) fn new(window: usize) -> Ledger {
        let window = window.max(1);
        // Zeroed vectors: the pages are the OS's until the window first fills.
        Ledger {
            issued: 0,
            slots: vec![[0; 2]; window],
            index: vec![0; (2 * window).next_power_of_two()],
            reversed: vec![0; window.div_ceil(64)],
            keys: RandomState::new(),
        }
    }

    /// Issue for `order_no`; `fingerprint` identifies the payload, so that a resubmission
    /// of the same invoice is told apart from a different invoice reusing the number.
    pub(super) fn issue(&mut self, order_no: &str, fingerprint: u64) -> Issued {
        // Two order numbers sharing a 64-bit key (about one chance in 10^7 for a full
        // window of a million) would be taken for one: a conflict, never a lost invoice.
        let key = self.keys.hash_one(order_no);
        if let Some(slot) = self.find(key) {
            let seq = self.seq_of(slot);
            return if self.slots[slot][1] == fingerprint { Issued::Duplicate(seq) } else { Issued::Conflict(seq) };
        }
        self.issued += 1;
        let slot = self.slot_of(self.issued);
        if self.issued > self.window() {
            // The invoice that held this slot leaves the window.
            self.unindex(self.slots[slot][0]);
            self.reversed[slot / 64] &= !(1 << (slot % 64));
        }
        self.slots[slot] = [key, fingerprint];
        let mut at = self.home(key);
        while self.index[at] != 0 {
            at = self.next(at);
        }
        self.index[at] = slot as u32 + 1;
        Issued::New(self.issued)
    }

    pub(super) fn issued(&self) -> u64 {
        self.issued
    }

    pub(super) fn status(&self, seq: u64) -> Status {
        if seq == 0 || seq > self.issued {
            Status::Unknown
        } else if seq + self.window() <= self.issued {
            Status::Archived
        } else if self.reversed[self.slot_of(seq) / 64] & (1 << (self.slot_of(seq) % 64)) != 0 {
            Status::Reversed
        } else {
            Status::Issued
        }
    }

    pub(super) fn reverse(&mut self, seq: u64) -> Reversal {
        match self.status(seq) {
            Status::Unknown => Reversal::Unknown,
            Status::Archived => Reversal::Archived,
            Status::Reversed => Reversal::AlreadyReversed,
            Status::Issued => {
                let slot = self.slot_of(seq);
                self.reversed[slot / 64] |= 1 << (slot % 64);
                Reversal::Done
            }
        }
    }

    fn window(&self) -> u64 {
        self.slots.len() as u64
    }

    fn slot_of(&self, seq: u64) -> usize {
        ((seq - 1) % self.window()) as usize
    }

    /// The invoice in `slot`: the newest whose slot it is.
    fn seq_of(&self, slot: usize) -> u64 {
        self.issued - (self.issued - 1 - slot as u64) % self.window()
    }

    fn home(&self, key: u64) -> usize {
        key as usize & (self.index.len() - 1)
    }

    fn next(&self, at: usize) -> usize {
        (at + 1) & (self.index.len() - 1)
    }

    /// The slot of the invoice issued for order key `key`, if it is in the window.
    fn find(&self, key: u64) -> Option<usize> {
        self.position(key).map(|at| self.index[at] as usize - 1)
    }

    /// Where in `index` order key `key` is.
    fn position(&self, key: u64) -> Option<usize> {
        let mut at = self.home(key);
        loop {
            match self.index[at] {
                0 => return None,
                e if self.slots[e as usize - 1][0] == key => return Some(at),
                _ => at = self.next(at),
            }
        }
    }

    /// Take order key `key` out of the index, shifting back the entries after it that
    /// probed past it, so that no lookup stops early at the hole (no tombstones).
    fn unindex(&mut self, key: u64) {
        let Some(mut hole) = self.position(key) else { return };
        let mask = self.index.len() - 1;
        let mut at = self.next(hole);
        while self.index[at] != 0 {
            let home = self.home(self.slots[self.index[at] as usize - 1][0]);
            // The entry at `at` may fill the hole if the hole lies on its probe path.
            if (at.wrapping_sub(home) & mask) >= (at.wrapping_sub(hole) & mask) {
                self.index[hole] = self.index[at];
                self.index[at] = 0;
                hole = at;
            }
            at = self.next(at);
        }
        self.index[hole] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_get_the_first_invoice_and_reversal_happens_once() {
        let mut l = Ledger::new(10);
        assert_eq!(l.issue("A", 7), Issued::New(1));
        assert_eq!(l.issue("B", 8), Issued::New(2));
        assert_eq!(l.issue("A", 7), Issued::Duplicate(1));
        assert_eq!(l.issue("A", 9), Issued::Conflict(1), "another invoice under a used order number");
        assert_eq!(l.reverse(2), Reversal::Done);
        assert_eq!(l.reverse(2), Reversal::AlreadyReversed);
        assert_eq!(l.reverse(9), Reversal::Unknown);
        assert_eq!((l.status(2), l.status(1), l.status(3)), (Status::Reversed, Status::Issued, Status::Unknown));
    }

    /// Far more issues than the window: the structures keep the size they started with,
    /// the window still answers duplicates with the first invoice, and what left it is
    /// archived (410) while its order number is free for a new invoice.
    #[test]
    fn a_window_stays_bounded_and_forgets_the_oldest() {
        let window = 1000;
        let mut l = Ledger::new(window);
        let sizes = |l: &Ledger| (l.slots.capacity(), l.index.capacity(), l.reversed.capacity());
        let at_start = sizes(&l);
        assert!(at_start.0 == window && at_start.1 == 2048 && at_start.2 == 16, "{at_start:?}");
        let fingerprint = |i: u64| i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for i in 1..=50_000u64 {
            assert_eq!(l.issue(&format!("ORD-{i}"), fingerprint(i)), Issued::New(i));
            if i % 7 == 0 {
                assert_eq!(l.reverse(i), Reversal::Done);
            }
        }
        assert_eq!(sizes(&l), at_start, "nothing grew over 50 windows");
        assert_eq!(l.index.iter().filter(|&&e| e != 0).count(), window, "one index entry per invoice in the window");
        // Inside the window: the first invoice, and its state.
        let newest_kept = 50_000 - window as u64 + 1;
        for i in [newest_kept, 49_500, 50_000] {
            assert_eq!(l.issue(&format!("ORD-{i}"), fingerprint(i)), Issued::Duplicate(i));
            assert_eq!(l.issue(&format!("ORD-{i}"), 1), Issued::Conflict(i));
        }
        assert_eq!(l.status(49_994), Status::Reversed);
        assert_eq!(l.status(49_995), Status::Issued);
        assert_eq!(l.reverse(49_994), Reversal::AlreadyReversed);
        // Out of it: archived, and a reversal bit of the slot's earlier holder is gone.
        assert_eq!(l.status(newest_kept - 1), Status::Archived);
        assert_eq!(l.reverse(7), Reversal::Archived);
        assert_eq!(l.status(49_006), Status::Issued, "48,006 held its slot and was reversed; 49,006 was not");
        assert_eq!(l.status(50_001), Status::Unknown);
        // An archived invoice's order number is a new order now.
        assert_eq!(l.issue("ORD-3", fingerprint(3)), Issued::New(50_001));
        assert_eq!(l.status(newest_kept), Status::Archived, "the new invoice pushed the oldest out");
    }
}
