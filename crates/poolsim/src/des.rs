//! The discrete-event engine: the service and its connection pool in virtual time.
//!
//! Requests arrive at given offsets. A token bucket may refuse them (HTTP 429); then each
//! needs a request worker, waiting in FIFO order for one (refused with HTTP 503 when the
//! wait queue is full); then a pool connection for its hold time, waiting for one in FIFO
//! order and giving up (HTTP 500) after the acquire timeout, as a HikariCP pool does;
//! then it keeps its worker for the handler's overhead and answers. No wall clock is
//! read: a minute of traffic at 10,000 TPS takes a fraction of a second of CPU.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use crate::{ModelSpec, RateLimit, TokenBucket};

/// How one simulated request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimOutcome {
    /// Served (HTTP 200).
    Ok,
    /// No connection within the acquire timeout (HTTP 500).
    PoolTimeout,
    /// The client gave up first (HTTP 504 from its side).
    ClientTimeout,
    /// Refused by the rate limit (HTTP 429).
    RateLimited,
    /// Refused because the queue for a worker was full (HTTP 503).
    QueueFull,
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
    /// Time spent waiting for a request worker.
    pub queued: Duration,
    /// Time it held a pool connection (zero if it never got one).
    pub held: Duration,
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

/// What stands in front of the pool (see [`ModelSpec`]); the default is nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ServiceParams {
    /// Requests served at once; `None`: no limit.
    pub workers: Option<usize>,
    /// Requests that may wait for a worker; `None`: no bound.
    pub queue_limit: Option<usize>,
    pub rate_limit: Option<RateLimit>,
}

/// One request offered to the service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    pub tag: u32,
    pub at: Duration,
    /// How long it holds a pool connection.
    pub hold: Duration,
    /// How long it keeps its worker after the pool, before answering.
    pub overhead: Duration,
}

/// A request inside the service.
#[derive(Debug, Clone, Copy)]
struct Waiter {
    tag: u32,
    arrival: u64,
    /// When it got a worker (and so started asking for a connection).
    ready: u64,
    hold: u64,
    overhead: u64,
}

/// Scheduled events, packed as `time << 1 | kind` so the heap holds plain integers (as
/// fast as a heap of times); at equal times a connection is freed before a worker.
const CONN_RELEASE: u64 = 0;
const WORKER_RELEASE: u64 = 1;
/// Event times saturate here, so that packing never overflows (292 years of nanoseconds).
const NEVER: u64 = u64::MAX >> 1;

fn event(t: u64, kind: u64) -> Reverse<u64> {
    Reverse(t.min(NEVER) << 1 | kind)
}

/// The simulator state. Feed it arrivals in time order with [`Sim::arrive`] or
/// [`Sim::offer`], then call [`Sim::finish`]; completions are handed to `emit` as they
/// become known (not necessarily in end-time order).
#[derive(Debug)]
pub struct Sim {
    params: PoolParams,
    service: ServiceParams,
    bucket: Option<TokenBucket>,
    acquire_ns: u64,
    busy: usize,
    workers_busy: usize,
    /// Connection and worker releases still to come.
    events: BinaryHeap<Reverse<u64>>,
    /// Requests waiting for a connection, and for a worker.
    waiters: VecDeque<Waiter>,
    worker_queue: VecDeque<Waiter>,
    /// Pool occupancy integrated over time (for utilisation), and when it was last updated.
    busy_ns: u128,
    clock: u64,
    /// Busy workers and waiting requests integrated over time, arrivals and their demand
    /// (hold plus overhead) so far: what a [`Reading`] reports.
    workers_ns: u128,
    waiting_ns: u128,
    arrived: u64,
    demand_ns: u128,
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Sim {
    /// A bare pool: no worker limit, no rate limit.
    pub fn new(params: PoolParams) -> Sim {
        Sim::with_service(params, ServiceParams::default())
    }

    pub fn with_service(params: PoolParams, service: ServiceParams) -> Sim {
        Sim {
            acquire_ns: params.acquire_timeout.map_or(u64::MAX, ns),
            params,
            service,
            bucket: service.rate_limit.map(TokenBucket::new),
            busy: 0,
            workers_busy: 0,
            events: BinaryHeap::with_capacity(params.size),
            waiters: VecDeque::new(),
            worker_queue: VecDeque::new(),
            busy_ns: 0,
            clock: 0,
            workers_ns: 0,
            waiting_ns: 0,
            arrived: 0,
            demand_ns: 0,
        }
    }

    /// The service `spec` describes, called by clients that give up after `client_timeout`.
    pub fn for_model(spec: &ModelSpec, client_timeout: Option<Duration>) -> Sim {
        let params = PoolParams { size: spec.pool_size, acquire_timeout: Some(spec.acquire_timeout), client_timeout };
        let service =
            ServiceParams { workers: spec.workers, queue_limit: spec.queue_limit, rate_limit: spec.rate_limit };
        Sim::with_service(params, service)
    }

    /// A request tagged `tag` arrives at `at` and would hold a connection for `hold`, with
    /// no handler overhead. Arrivals must come in non-decreasing time order.
    pub fn arrive(&mut self, tag: u32, at: Duration, hold: Duration, emit: &mut impl FnMut(Completion)) {
        self.offer(Arrival { tag, at, hold, overhead: Duration::ZERO }, emit);
    }

    /// A request arrives. Arrivals must come in non-decreasing time order.
    pub fn offer(&mut self, a: Arrival, emit: &mut impl FnMut(Completion)) {
        let t = ns(a.at);
        self.advance(t, emit);
        self.arrived += 1;
        self.demand_ns += u128::from(ns(a.hold)) + u128::from(ns(a.overhead));
        let w = Waiter { tag: a.tag, arrival: t, ready: t, hold: ns(a.hold), overhead: ns(a.overhead) };
        if let Some(bucket) = &mut self.bucket
            && !bucket.take(a.at)
        {
            return self.complete(w, (t, t, 0), SimOutcome::RateLimited, emit);
        }
        match self.service.workers {
            None => self.ask_pool(w, t, emit),
            Some(n) if self.workers_busy < n => {
                self.workers_busy += 1;
                self.ask_pool(w, t, emit);
            }
            Some(_) if self.service.queue_limit.is_some_and(|q| self.worker_queue.len() >= q) => {
                self.complete(w, (t, t, 0), SimOutcome::QueueFull, emit);
            }
            Some(_) => self.worker_queue.push_back(w),
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

    /// Connections in use, and requests waiting for one, right now.
    pub fn gauges(&self) -> (usize, usize) {
        (self.busy, self.waiters.len())
    }

    /// Workers busy, and requests waiting for one, right now.
    pub fn workers(&self) -> (usize, usize) {
        (self.workers_busy, self.worker_queue.len())
    }

    /// Process every event up to time `t`, in time order: connection and worker releases
    /// (handing them to waiters), and acquire deadlines passed.
    fn advance(&mut self, t: u64, emit: &mut impl FnMut(Completion)) {
        let end = t == u64::MAX;
        loop {
            let release = match self.events.peek() {
                Some(&Reverse(e)) if e >> 1 <= t => Some(e),
                _ => None,
            };
            // The pool queue is FIFO with one timeout, so its front has the first deadline.
            // A waiter whose deadline is exactly a release time still gets the connection.
            if let Some(w) = self.waiters.front() {
                let d = w.ready.saturating_add(self.acquire_ns);
                if (d < t || end) && release.is_none_or(|e| d < e >> 1) {
                    self.time_out(d, emit);
                    continue;
                }
            }
            let Some(e) = release else { break };
            self.events.pop();
            let r = e >> 1;
            self.tick(r);
            if e & 1 == CONN_RELEASE {
                self.busy -= 1;
                if let Some(w) = self.waiters.pop_front() {
                    self.start(w, r, emit);
                }
            } else {
                self.workers_busy -= 1;
                if let Some(mut w) = self.worker_queue.pop_front() {
                    self.workers_busy += 1;
                    w.ready = r;
                    self.ask_pool(w, r, emit);
                }
            }
        }
        self.tick(t);
    }

    /// The front pool waiter gives up at its deadline `d` (HTTP 500).
    fn time_out(&mut self, d: u64, emit: &mut impl FnMut(Completion)) {
        self.tick(d);
        let Some(w) = self.waiters.pop_front() else { return };
        let end = self.release_worker_at(d, w.overhead);
        self.complete(w, (d, end, 0), SimOutcome::PoolTimeout, emit);
    }

    /// A request with a worker asks for a connection at `t`.
    fn ask_pool(&mut self, w: Waiter, t: u64, emit: &mut impl FnMut(Completion)) {
        if self.busy < self.params.size {
            self.start(w, t, emit);
        } else {
            self.waiters.push_back(w);
        }
    }

    /// Give `w` a connection at time `t`.
    fn start(&mut self, w: Waiter, t: u64, emit: &mut impl FnMut(Completion)) {
        self.tick(t);
        self.busy += 1;
        let released = t.saturating_add(w.hold);
        self.events.push(event(released, CONN_RELEASE));
        let end = self.release_worker_at(released, w.overhead);
        self.complete(w, (t, end, w.hold), SimOutcome::Ok, emit);
    }

    /// The request leaves the pool at `t`, answers `overhead` later and frees its worker
    /// then; returns when.
    fn release_worker_at(&mut self, t: u64, overhead: u64) -> u64 {
        let end = t.saturating_add(overhead);
        if self.service.workers.is_some() {
            self.events.push(event(end, WORKER_RELEASE));
        }
        end
    }

    /// Report `w`: it stopped waiting for the pool at `served`, ended at `end` having held
    /// a connection for `held`, unless its client gave up first (the server may then still
    /// hold a worker and a connection for it, as a real one would).
    fn complete(
        &self,
        w: Waiter,
        (served, end, held): (u64, u64, u64),
        outcome: SimOutcome,
        emit: &mut impl FnMut(Completion),
    ) {
        let dur = Duration::from_nanos;
        let mut c = Completion {
            tag: w.tag,
            arrival: dur(w.arrival),
            end: dur(end),
            waited: dur(served - w.ready),
            queued: dur(w.ready - w.arrival),
            held: dur(held),
            outcome,
        };
        if let Some(limit) = self.params.client_timeout
            && c.end - c.arrival > limit
        {
            c.end = c.arrival + limit;
            c.outcome = SimOutcome::ClientTimeout;
        }
        emit(c);
    }

    /// Move the clock to `t`, integrating occupancy, busy workers and waiting requests.
    fn tick(&mut self, t: u64) {
        if t > self.clock && t != u64::MAX {
            let dt = u128::from(t - self.clock);
            self.busy_ns += dt * self.busy as u128;
            self.workers_ns += dt * self.workers_busy as u128;
            self.waiting_ns += dt * (self.waiters.len() + self.worker_queue.len()) as u128;
            self.clock = t;
        }
    }
}

mod reading;
pub use reading::{Reading, RunStats, Thirds, Window};

#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod tests;
