use std::sync::Mutex;

use crate::outcome::Sample;
use crate::stats::Stats;

/// Where request workers record, shared by all of them.
///
/// Each slot holds per-op [`Stats`] for the current interval behind its own mutex. The
/// engine gives each of its threads a slot of its own, so the lock is uncontended except
/// for the moment per interval when the collector swaps the slot's stats out.
///
/// Memory is bounded by (slots + 1) × ops sets of stats (six histograms each, auto-sized:
/// ~16 KB apiece empty, ~64 KB for answers under 100 ms, at most ~180 KB for the full
/// hour), and only the sets in use are there at all: a set is allocated when its slot first
/// records its op, so a slot or an op that records nothing costs nothing, and nothing is
/// cloned. The drain swaps each set that recorded for a cleared spare of the same op (one
/// per op), then adds the set up and clears it, off the lock, as the next spare: a worker
/// never waits for a merge, and after the first seconds never allocates or zeroes a set.
#[derive(Debug)]
pub struct Recorder {
    slots: Box<[Mutex<Vec<Option<Stats>>>]>,
    /// Per op, the cleared set the drain swaps into the next slot (only it touches these).
    spares: Mutex<Vec<Option<Stats>>>,
}

impl Recorder {
    /// A recorder for `ops` operations with `slots` independent recording slots (one per
    /// thread that records is enough).
    pub fn new(ops: usize, slots: usize) -> Self {
        let empty = || Mutex::new((0..ops).map(|_| None).collect());
        Self { slots: (0..slots.max(1)).map(|_| empty()).collect(), spares: empty() }
    }

    /// Record one finished request of op `op` into slot `slot % slots`.
    pub fn record(&self, slot: usize, op: usize, sample: &Sample) {
        self.with(slot, op, |stats| stats.record(sample));
    }

    /// Count an arrival of op `op` that was not sent: its data was missing, or (when
    /// `unsendable`) it made a request that is not valid HTTP.
    pub fn skip(&self, slot: usize, op: usize, unsendable: bool) {
        self.with(slot, op, |stats| {
            stats.skipped += 1;
            stats.unsendable += u64::from(unsendable);
        });
    }

    fn with(&self, slot: usize, op: usize, f: impl FnOnce(&mut Stats)) {
        let mut stats = lock(&self.slots[slot % self.slots.len()]);
        f(stats[op].get_or_insert_with(Stats::new));
    }

    /// How many per-op sets of stats the slots and spares hold now.
    #[cfg(test)]
    fn held(&self) -> usize {
        let count = |sets: &Mutex<Vec<Option<Stats>>>| lock(sets).iter().filter(|s| s.is_some()).count();
        self.slots.iter().map(count).sum::<usize>() + count(&self.spares)
    }

    /// Move everything recorded since the last drain into `interval` (added per op), and
    /// empty the slots. `interval` must have one entry per op.
    pub fn drain_into(&self, interval: &mut [Stats]) {
        let mut spares = lock(&self.spares);
        for slot in self.slots.iter() {
            for (op, into) in interval.iter_mut().enumerate() {
                // Swapped under the lock, added up and cleared after it; one set at a
                // time, so that a drain allocates nothing.
                let taken = match lock(slot).get_mut(op) {
                    Some(s) if s.as_ref().is_some_and(|s| !s.is_idle()) => std::mem::replace(s, spares[op].take()),
                    _ => None,
                };
                if let Some(mut from) = taken {
                    into.merge(&from);
                    from.reset();
                    spares[op] = Some(from);
                }
            }
        }
    }
}

/// A poisoned slot only means a worker panicked mid-record; its counts are still sound
/// enough to report, so keep going rather than losing the whole run.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Outcome, Timing};

    /// A 3 ms answer, 2 ms late, that did or did not wait for a connection.
    fn ok(queued: bool) -> Sample {
        Sample {
            latency: Duration::from_millis(3),
            service: Some(Duration::from_millis(1)),
            send_lag: Duration::from_millis(2),
            outcome: Outcome::Response(200),
            queued,
            failed_check: None,
            tag: None,
            expects_rejection: false,
            phases: crate::Phases::default(),
        }
    }

    #[test]
    fn drain_collects_all_slots_once() {
        let rec = Recorder::new(2, 3);
        let s = ok(true);
        for w in 0..10 {
            rec.record(w, w % 2, &s);
        }
        let mut interval = vec![Stats::new(), Stats::new()];
        rec.drain_into(&mut interval);
        assert_eq!(interval[0].sent + interval[1].sent, 10);
        assert_eq!(interval[0].queued, 5);
        let mut again = vec![Stats::new(), Stats::new()];
        rec.drain_into(&mut again);
        assert_eq!(again[0].sent + again[1].sent, 0, "a drain empties the slots");
    }

    /// Memory follows use: nothing before the first record, then a set per slot and op
    /// that recorded and one spare per op; once the spares exist, recording and draining
    /// again allocates nothing.
    #[test]
    fn sets_are_made_once_then_swapped() {
        let rec = Recorder::new(6, 16);
        assert_eq!(rec.held(), 0, "a new recorder allocates no histogram");
        for _ in 0..100 {
            rec.record(3, 2, &ok(false));
        }
        rec.skip(19, 5, true);
        assert_eq!(rec.held(), 2, "slot 3 op 2, and slot 19 % 16 op 5");
        let mut interval: Vec<Stats> = (0..6).map(|_| Stats::new()).collect();
        rec.drain_into(&mut interval);
        assert_eq!((interval[2].sent, interval[2].hist[Timing::Latency].len()), (100, 100));
        assert_eq!((interval[5].skipped, interval[5].unsendable), (1, 1));
        assert_eq!(rec.held(), 2, "the drained sets are the spares now");
        for round in 0..3 {
            rec.record(3, 2, &ok(false));
            rec.record(4, 2, &ok(false));
            let mut next: Vec<Stats> = (0..6).map(|_| Stats::new()).collect();
            rec.drain_into(&mut next);
            assert_eq!(
                (next[2].sent, next[2].hist[Timing::Latency].len(), next[5].skipped),
                (2, 2, 0),
                "round {round}"
            );
            assert_eq!(rec.held(), 4, "round {round}: slots 3 and 4 and two spares, however often drained");
        }
    }
}
