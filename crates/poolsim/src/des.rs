//! The discrete-event engine: the service and its connection pool in virtual time.
//!
//! Requests arrive at given offsets; each takes a pool connection for its hold time, or
//! waits for one in FIFO order, giving up (HTTP 500) after the acquire timeout, as a
//! HikariCP pool does. No wall clock is read: a minute of traffic at 10,000 TPS takes a
//! fraction of a second of CPU.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

/// How one simulated request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimOutcome {
    /// Served (HTTP 200).
    Ok,
    /// No connection within the acquire timeout (HTTP 500).
    PoolTimeout,
    /// The client gave up first (HTTP 504 from its side).
    ClientTimeout,
}

/// One finished request, all times offsets from the start of the simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Completion {
    /// The caller's tag for the request (its op, say).
    pub tag: u32,
    pub arrival: Duration,
    /// When its answer (or its failure) came.
    pub end: Duration,
    /// Time spent waiting for a pool connection.
    pub waited: Duration,
    pub outcome: SimOutcome,
}

/// The pool's parameters, in the simulator's units (nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolParams {
    pub size: usize,
    /// `None`: wait for ever (the Erlang C model).
    pub acquire_timeout: Option<Duration>,
    /// `None`: the client waits for ever.
    pub client_timeout: Option<Duration>,
}

/// A waiting request.
#[derive(Debug, Clone, Copy)]
struct Waiter {
    tag: u32,
    arrival: u64,
    hold: u64,
}

/// The simulator state. Feed it arrivals in time order with [`Sim::arrive`], then call
/// [`Sim::finish`]; completions are handed to `emit` as they become known (not
/// necessarily in end-time order: a timed-out waiter is reported when the simulator gets
/// past its deadline).
#[derive(Debug)]
pub struct Sim {
    params: PoolParams,
    acquire_ns: u64,
    busy: usize,
    /// Release times of the connections in use.
    releases: BinaryHeap<Reverse<u64>>,
    waiters: VecDeque<Waiter>,
    /// Pool occupancy integrated over time (for utilisation), and when it was last updated.
    busy_ns: u128,
    clock: u64,
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Sim {
    pub fn new(params: PoolParams) -> Sim {
        Sim {
            acquire_ns: params.acquire_timeout.map_or(u64::MAX, ns),
            params,
            busy: 0,
            releases: BinaryHeap::with_capacity(params.size),
            waiters: VecDeque::new(),
            busy_ns: 0,
            clock: 0,
        }
    }

    /// A request tagged `tag` arrives at `at` and would hold a connection for `hold`.
    /// Arrivals must come in non-decreasing time order.
    pub fn arrive(&mut self, tag: u32, at: Duration, hold: Duration, emit: &mut impl FnMut(Completion)) {
        let t = ns(at);
        self.advance(t, emit);
        if self.busy < self.params.size {
            self.start(Waiter { tag, arrival: t, hold: ns(hold) }, t, emit);
        } else {
            self.waiters.push_back(Waiter { tag, arrival: t, hold: ns(hold) });
        }
    }

    /// Run every pending event to completion.
    pub fn finish(&mut self, emit: &mut impl FnMut(Completion)) {
        self.advance(u64::MAX, emit);
    }

    /// Mean pool occupancy (busy connections) over the simulated time so far.
    pub fn mean_busy(&self) -> f64 {
        if self.clock == 0 { 0.0 } else { self.busy_ns as f64 / self.clock as f64 }
    }

    /// Connection-nanoseconds of use so far, and the simulated time they cover: the
    /// difference of two readings gives the mean occupancy between them.
    pub fn occupancy(&self) -> (u128, u64) {
        (self.busy_ns, self.clock)
    }

    /// Connections in use, and requests waiting, right now.
    pub fn gauges(&self) -> (usize, usize) {
        (self.busy, self.waiters.len())
    }

    /// Process every release up to time `t` (handing freed connections to waiters).
    fn advance(&mut self, t: u64, emit: &mut impl FnMut(Completion)) {
        while let Some(&Reverse(r)) = self.releases.peek() {
            if r > t {
                break;
            }
            self.releases.pop();
            self.tick(r);
            self.busy -= 1;
            // The freed connection goes to the first waiter still within its timeout.
            while let Some(w) = self.waiters.pop_front() {
                let deadline = w.arrival.saturating_add(self.acquire_ns);
                if r > deadline {
                    self.fail(w, deadline, SimOutcome::PoolTimeout, emit);
                    continue;
                }
                self.start(w, r, emit);
                break;
            }
        }
        if t == u64::MAX {
            // The end: whoever still waits times out at its deadline.
            while let Some(w) = self.waiters.pop_front() {
                let deadline = w.arrival.saturating_add(self.acquire_ns);
                self.fail(w, deadline, SimOutcome::PoolTimeout, emit);
            }
            return;
        }
        // Waiters whose deadline has passed are reported now, so memory stays bounded.
        while let Some(w) = self.waiters.front().copied() {
            let deadline = w.arrival.saturating_add(self.acquire_ns);
            if deadline >= t {
                break;
            }
            self.waiters.pop_front();
            self.fail(w, deadline, SimOutcome::PoolTimeout, emit);
        }
        self.tick(t);
    }

    /// Give `w` a connection at time `t`.
    fn start(&mut self, w: Waiter, t: u64, emit: &mut impl FnMut(Completion)) {
        self.tick(t);
        self.busy += 1;
        let end = t.saturating_add(w.hold);
        self.releases.push(Reverse(end));
        self.complete(w, t, end, SimOutcome::Ok, emit);
    }

    fn fail(&mut self, w: Waiter, at: u64, outcome: SimOutcome, emit: &mut impl FnMut(Completion)) {
        self.complete(w, at, at, outcome, emit);
    }

    /// Report `w`: it stopped waiting at `served` and ended at `end`, unless its client gave
    /// up first (the server may then still hold a connection for it, as a real one would).
    fn complete(&self, w: Waiter, served: u64, end: u64, outcome: SimOutcome, emit: &mut impl FnMut(Completion)) {
        let dur = Duration::from_nanos;
        let mut c =
            Completion { tag: w.tag, arrival: dur(w.arrival), end: dur(end), waited: dur(served - w.arrival), outcome };
        if let Some(limit) = self.params.client_timeout
            && c.end - c.arrival > limit
        {
            c.end = c.arrival + limit;
            c.outcome = SimOutcome::ClientTimeout;
        }
        emit(c);
    }

    /// Move the clock to `t`, integrating occupancy.
    fn tick(&mut self, t: u64) {
        if t > self.clock && t != u64::MAX {
            self.busy_ns += u128::from(t - self.clock) * self.busy as u128;
            self.clock = t;
        }
    }
}

#[cfg(test)]
mod tests;
