//! Captures: values extracted from responses (invoice numbers) that later requests draw
//! from (the correlation of one request with the next). The word "pool" is the model's
//! database pool; profiles still accept `${pool.NAME}` for `${capture.NAME}`.
//!
//! Bounded: when full, the value at the front makes room. That is the
//! oldest unless a take has moved the newest into a gap (a take is O(1) by swapping).

use std::collections::VecDeque;
use std::sync::Mutex;

/// All captures of a run, shared by the workers that fill them and the dispatcher that draws.
#[derive(Debug)]
pub struct Captures {
    lists: Vec<Mutex<VecDeque<String>>>,
    capacity: usize,
}

impl Captures {
    pub fn new(count: usize, capacity: usize) -> Captures {
        Captures { lists: (0..count).map(|_| Mutex::new(VecDeque::new())).collect(), capacity: capacity.max(1) }
    }

    /// Add a value, dropping the front (usually oldest) one if the capture is full.
    pub fn put(&self, capture: usize, value: String) {
        let Some(p) = self.lists.get(capture) else { return };
        let mut q = p.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= self.capacity {
            q.pop_front();
        }
        q.push_back(value);
    }

    /// A value chosen by `pick` (a random number; any u64), removed if `take`. `None`
    /// when the capture is empty: the caller skips the request instead of faking a value.
    pub fn draw(&self, capture: usize, pick: u64, take: bool) -> Option<String> {
        let mut q = self.lists.get(capture)?.lock().unwrap_or_else(|e| e.into_inner());
        if q.is_empty() {
            return None;
        }
        let i = (pick % q.len() as u64) as usize;
        if take { q.swap_remove_back(i) } else { q.get(i).cloned() }
    }

    pub fn len(&self, capture: usize) -> usize {
        self.lists.get(capture).map_or(0, |p| p.lock().unwrap_or_else(|e| e.into_inner()).len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_take_removes() {
        let captures = Captures::new(1, 3);
        assert_eq!(captures.draw(0, 5, false), None, "an empty capture gives nothing");
        for v in ["a", "b", "c", "d"] {
            captures.put(0, v.into());
        }
        assert_eq!(captures.len(0), 3, "the oldest value made room");
        let taken = captures.draw(0, 0, true).unwrap();
        assert_eq!(captures.len(0), 2);
        assert_ne!(taken, "a");
        let kept = captures.draw(0, 1, false).unwrap();
        assert_eq!(captures.len(0), 2, "a plain draw keeps the value");
        assert!(["b", "c", "d"].contains(&kept.as_str()));
    }
}
