//! A precise sleep for hold times. tokio's timer wheel ticks in whole milliseconds, so a
//! 20 ms hold sleeps about 21 ms: 5 % more hold is 5 % less capacity, and near saturation
//! that decides whether a queue forms at all. On Linux one timer task per server keeps
//! every pending wake-up in a heap and sleeps on a timerfd (microsecond precision) until
//! the earliest; elsewhere tokio's timer is used.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

/// Closer than this, a wake-up is due now: no timer fires more precisely.
const SLACK: Duration = Duration::from_micros(20);

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

#[derive(Debug, Clone)]
pub(super) struct Timer {
    tx: Option<mpsc::UnboundedSender<(Instant, oneshot::Sender<()>)>>,
}

impl Timer {
    /// Start the timer task; must be called inside the server's runtime.
    pub(super) fn start() -> Timer {
        #[cfg(target_os = "linux")]
        {
            // `AsyncFd::new` is deprecated because a type could hand out a different fd
            // later; a TimerFd owns its one fd for life, so the registration stays valid.
            #[allow(deprecated)]
            let fd = timerfd::TimerFd::new_custom(timerfd::ClockId::Monotonic, true, true)
                .and_then(tokio::io::unix::AsyncFd::new);
            if let Ok(fd) = fd {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(run(fd, rx));
                return Timer { tx: Some(tx) };
            }
        }
        Timer { tx: None }
    }

    pub(super) async fn sleep(&self, d: Duration) {
        self.sleep_until(Instant::now() + d).await;
    }

    pub(super) async fn sleep_until(&self, at: Instant) {
        if let Some(tx) = &self.tx {
            let (wake, woken) = oneshot::channel();
            if tx.send((at, wake)).is_ok() && woken.await.is_ok() {
                return;
            }
        }
        tokio::time::sleep_until(at.into()).await;
    }
}

#[cfg(target_os = "linux")]
async fn run(
    mut fd: tokio::io::unix::AsyncFd<timerfd::TimerFd>,
    mut rx: mpsc::UnboundedReceiver<(Instant, oneshot::Sender<()>)>,
) {
    use timerfd::{SetTimeFlags, TimerState};
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(e)| e.at <= now + SLACK) {
            if let Some(Reverse(e)) = heap.pop() {
                let _ = e.wake.send(());
            }
        }
        if let Some(Reverse(next)) = heap.peek() {
            fd.get_mut().set_state(TimerState::Oneshot(next.at.saturating_duration_since(now)), SetTimeFlags::Default);
        }
        tokio::select! {
            msg = rx.recv() => match msg {
                Some((at, wake)) => {
                    seq += 1;
                    heap.push(Reverse(Entry { at, seq, wake }));
                }
                None => return,
            },
            ready = fd.readable(), if !heap.is_empty() => {
                if let Ok(mut guard) = ready {
                    guard.get_inner().read();
                    guard.clear_ready();
                }
            }
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
