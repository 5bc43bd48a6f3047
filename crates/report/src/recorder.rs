use std::sync::Mutex;

use crate::outcome::Sample;
use crate::stats::Stats;

/// Where request workers record, shared by all of them.
///
/// Each shard holds per-op [`Stats`] for the current interval behind its own mutex: a
/// worker always uses the same shard, so the lock is uncontended except for the one
/// moment per interval when the collector swaps the shard out. Memory is fixed: shards ×
/// ops histograms, whatever the run length.
#[derive(Debug)]
pub struct Recorder {
    shards: Box<[Mutex<Vec<Stats>>]>,
}

impl Recorder {
    /// A recorder for `ops` operations with `shards` independent recording slots
    /// (about one per worker thread is enough).
    pub fn new(ops: usize, shards: usize) -> Self {
        let shards = (0..shards.max(1)).map(|_| Mutex::new(vec![Stats::new(); ops])).collect();
        Self { shards }
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Record one finished request of op `op` into shard `shard % shard_count`.
    pub fn record(&self, shard: usize, op: usize, sample: &Sample) {
        let mut stats = lock(&self.shards[shard % self.shards.len()]);
        stats[op].record(sample);
    }

    /// Count an arrival of op `op` that was not sent: its data was missing, or (when
    /// `unsendable`) it made a request that is not valid HTTP.
    pub fn skip(&self, shard: usize, op: usize, unsendable: bool) {
        let stats = &mut lock(&self.shards[shard % self.shards.len()])[op];
        stats.skipped += 1;
        stats.unsendable += u64::from(unsendable);
    }

    /// Move everything recorded since the last drain into `interval` (added per op), and
    /// clear the shards. `interval` must have one entry per op.
    pub fn drain_into(&self, interval: &mut [Stats]) {
        for shard in self.shards.iter() {
            let mut stats = lock(shard);
            for (into, from) in interval.iter_mut().zip(stats.iter_mut()) {
                if !from.is_idle() {
                    into.merge(from);
                    from.reset();
                }
            }
        }
    }
}

/// A poisoned shard only means a worker panicked mid-record; its counts are still sound
/// enough to report, so keep going rather than losing the whole run.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Outcome;

    #[test]
    fn drain_collects_all_shards_once() {
        let rec = Recorder::new(2, 3);
        let s = Sample {
            latency: Duration::from_millis(3),
            service: Some(Duration::from_millis(1)),
            send_lag: Duration::from_millis(2),
            outcome: Outcome::Response(200),
            queued: true,
            check_failed: false,
            tag: None,
            expects_rejection: false,
            phases: crate::Phases::default(),
        };
        for w in 0..10 {
            rec.record(w, w % 2, &s);
        }
        let mut interval = vec![Stats::new(), Stats::new()];
        rec.drain_into(&mut interval);
        assert_eq!(interval[0].sent + interval[1].sent, 10);
        assert_eq!(interval[0].queued, 5);
        let mut again = vec![Stats::new(), Stats::new()];
        rec.drain_into(&mut again);
        assert_eq!(again[0].sent + again[1].sent, 0, "a drain empties the shards");
    }
}
