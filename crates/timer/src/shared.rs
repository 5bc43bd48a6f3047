//! One precise timer for many tasks: a task of its own keeps every pending wake-up in a
//! heap and sleeps on one [`Sleeper`] until the earliest, so a thousand held requests cost
//! one timerfd, not a thousand.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::{SLACK, Sleeper};

/// A handle on the shared timer; clones share it. Without a timerfd, each sleep is
/// tokio's own.
#[derive(Debug, Clone)]
pub struct Timer {
    tx: Option<mpsc::UnboundedSender<(Instant, oneshot::Sender<()>)>>,
}

impl Timer {
    /// Start the timer's task; must be called inside the runtime that will run it. It ends
    /// when the last handle is dropped.
    pub fn start() -> Timer {
        let sleeper = Sleeper::new();
        if !sleeper.is_precise() {
            return Timer { tx: None };
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(sleeper, rx));
        Timer { tx: Some(tx) }
    }

    pub async fn sleep(&self, d: Duration) {
        self.sleep_until(Instant::now() + d).await;
    }

    /// Return at `at` (less [`SLACK`] at most). Cancel-safe: a sleeper that gives up
    /// holds nobody else back.
    pub async fn sleep_until(&self, at: Instant) {
        if let Some(tx) = &self.tx {
            let (wake, woken) = oneshot::channel();
            if tx.send((at, wake)).is_ok() && woken.await.is_ok() {
                return;
            }
        }
        tokio::time::sleep_until(at.into()).await;
    }
}

struct Entry {
    at: Instant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// The timer's task: wake every entry that has come due (within [`SLACK`]), then sleep
/// until the earliest left or until a new entry comes, whichever is first.
async fn run(mut sleeper: Sleeper, mut rx: mpsc::UnboundedReceiver<(Instant, oneshot::Sender<()>)>) {
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(e)| e.at <= now + SLACK) {
            if let Some(Reverse(e)) = heap.pop() {
                let _ = e.wake.send(());
            }
        }
        let next = heap.peek().map(|Reverse(e)| e.at);
        tokio::select! {
            msg = rx.recv() => match msg {
                Some((at, wake)) => {
                    seq += 1;
                    heap.push(Reverse(Entry { at, seq, wake }));
                }
                None => return,
            },
            () = sleeper.sleep_until(next.unwrap_or(now)), if next.is_some() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Sleepers wake in the order of their deadlines, none before its deadline (less the
    /// slack), and one that gives up early does not hold the others back. How late they
    /// wake depends on the machine: that is the bench's business, not a test's.
    #[tokio::test]
    async fn sleepers_wake_in_deadline_order_and_never_early() {
        let timer = Timer::start();
        assert!(timer.tx.is_some(), "a timerfd on Linux");
        let start = Instant::now();
        let woken = Arc::new(Mutex::new(Vec::new()));
        // Deadlines 1..=40 ms, handed to the timer in a scrambled order.
        let tasks: Vec<_> = (0..40u64)
            .map(|i| (i * 17) % 40 + 1)
            .map(|ms| {
                let (timer, woken) = (timer.clone(), woken.clone());
                tokio::spawn(async move {
                    let at = start + Duration::from_millis(ms);
                    timer.sleep_until(at).await;
                    let now = Instant::now();
                    assert!(now + SLACK >= at, "{ms} ms sleeper woke {:?} early", at - now);
                    woken.lock().unwrap().push(ms);
                })
            })
            .collect();
        // One sleeper gives up long before its 20 ms deadline.
        let quitter = tokio::time::timeout(Duration::from_micros(1), timer.sleep(Duration::from_millis(20))).await;
        assert!(quitter.is_err());
        for t in tasks {
            t.await.unwrap();
        }
        let woken = woken.lock().unwrap().clone();
        let mut sorted = woken.clone();
        sorted.sort();
        assert_eq!(woken, sorted, "woken in deadline order");
        assert_eq!(woken.len(), 40);
    }
}
