//! The discrete-event engine: the service's resources in virtual time.
//!
//! Requests arrive at given offsets, and each runs its op's steps ([`crate::Step`]): a
//! rate limit lets it through or refuses it (HTTP 429); workers and pools are taken in
//! FIFO order, a full queue refusing at once (HTTP 503) and a wait past the acquire
//! timeout giving up (HTTP 500), as a HikariCP pool does; held steps give their resource
//! back after their hold, kept ones when the request ends. The one-pool service
//! ([`Sim::new`], [`Sim::with_service`]) is the case of one op: rate limit → worker
//! (kept) → pool (held) → overhead. No wall clock is read: a minute of traffic at
//! 10,000 TPS takes a fraction of a second of CPU.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::{Discipline, Hold, Kind, ModelSpec, Resource, Service, Step, Tempo, TokenBucket, WhenDry};

/// A step as the simulator runs it: which resource, and whether it spends a drawn time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SimStep {
    Keep(usize),
    Hold(usize),
    Wait,
}

#[derive(Debug, Clone)]
struct SimOp {
    steps: Vec<SimStep>,
    /// Where a request that gave up waiting goes on ([`Service::trailing`]).
    trailing: usize,
}

/// A resource's state.
#[derive(Debug)]
struct Res {
    kind: Kind,
    size: usize,
    timeout_ns: Option<u64>,
    queue_limit: Option<usize>,
    when_dry: WhenDry,
    discipline: Discipline,
    bucket: Option<TokenBucket>,
    busy: usize,
    /// Requests waiting, with when they began to, in the order they are served. FIFO,
    /// that is asking order, and with one timeout the front has the first deadline.
    /// Barging, a waiter that lost its hand-off is back at the end with its old deadline,
    /// so the deadlines are kept in `deadlines` instead.
    queue: VecDeque<(u32, u64)>,
    /// A barging queue's deadlines: (deadline, request, its ticket). An entry whose
    /// ticket is no longer the request's (served meanwhile) is stale and skipped.
    deadlines: BinaryHeap<Reverse<(u64, u32, u64)>>,
    /// Waiters handed a unit and still waking up (barging): out of the queue, still waiting.
    waking: usize,
    busy_ns: u128,
    timeouts: u64,
    refused: u64,
}

/// A request inside the service. Entries are reused, so their vectors keep their room.
#[derive(Debug, Default, Clone)]
struct Req {
    tag: u32,
    op: usize,
    arrival: u64,
    step: usize,
    /// The drawn times of its timed steps, and the next one's index.
    times: Vec<u64>,
    next_time: usize,
    kept: Vec<usize>,
    /// When it began to wait for the resource it is asking for.
    asked: u64,
    waited: u64,
    queued: u64,
    held: u64,
    /// Its wait for and hold of the first pool, if it asked it.
    pool_waited: Option<u64>,
    pool_held: u64,
    /// The resource it was handed a unit of and is waking up to take (barging).
    waking: Option<usize>,
    /// Its place in a barging queue (0: in none), to tell a live deadline from a stale one.
    ticket: u64,
    /// The resource that ran dry for it, and whether it was refused at once.
    failed: Option<(usize, bool)>,
}

/// The simulator state. Feed it arrivals in time order with [`Sim::offer_op`] (or the
/// one-pool [`Sim::arrive`], [`Sim::offer`]), then call [`Sim::finish`]; completions are
/// handed to `emit` as requests end.
#[derive(Debug)]
pub struct Sim {
    res: Vec<Res>,
    names: Vec<String>,
    ops: Vec<SimOp>,
    /// The first pool: pool.csv's columns and [`Completion::pool_waited`] are its.
    first_pool: Option<usize>,
    tempo: Tempo,
    client_timeout: Option<u64>,
    /// Step ends to come: (time, request).
    events: BinaryHeap<Reverse<(u64, u32)>>,
    reqs: Vec<Req>,
    free: Vec<u32>,
    /// Requests just given a resource at the current time, to go on with (a list, not
    /// recursion: one release can hand on down a long queue).
    ready: Vec<(u32, usize)>,
    clock: u64,
    /// Waiting requests integrated over time, arrivals and their demand (drawn times) so
    /// far: what a [`Reading`] reports.
    waiting_ns: u128,
    arrived: u64,
    demand_ns: u128,
    /// The barging hand-off's wake-ups are the simulator's own draws.
    rng: Pcg64Mcg,
    tickets: u64,
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Sim {
    /// A bare pool: no worker limit, no rate limit.
    pub fn new(params: PoolParams) -> Sim {
        Sim::with_service(params, ServiceParams::default())
    }

    /// The one-pool service: rate limit, workers, pool; its one op takes each in turn
    /// and keeps its worker for the overhead.
    pub fn with_service(params: PoolParams, service: ServiceParams) -> Sim {
        let spec = ModelSpec {
            pool_size: params.size,
            workers: service.workers,
            queue_limit: service.queue_limit,
            rate_limit: service.rate_limit,
            // Any overhead but zero: the op gets its Wait step, fed by `offer`.
            overhead: Hold::Constant(Duration::from_nanos(1)),
            ..ModelSpec::default()
        };
        let mut resources = spec.resource_list();
        resources[0].acquire_timeout = params.acquire_timeout;
        let steps = spec.default_steps(&resources, &Hold::Constant(Duration::ZERO)).unwrap_or_default();
        let service = Service { resources, ops: vec![steps], invoice: Vec::new(), tempo: Tempo::default() };
        Sim::for_service(&service, params.client_timeout)
    }

    /// `service`, its ops by their index in it.
    pub fn for_service(service: &Service, client_timeout: Option<Duration>) -> Sim {
        let res = service
            .resources
            .iter()
            .map(|r: &Resource| Res {
                kind: r.kind.clone(),
                size: r.size,
                timeout_ns: r.acquire_timeout.map(ns),
                queue_limit: r.queue_limit,
                when_dry: r.when_dry,
                discipline: r.discipline.clone(),
                bucket: if let Kind::RateLimit(l) = r.kind { Some(TokenBucket::new(l)) } else { None },
                busy: 0,
                queue: VecDeque::new(),
                deadlines: BinaryHeap::new(),
                waking: 0,
                busy_ns: 0,
                timeouts: 0,
                refused: 0,
            })
            .collect();
        let ops = service
            .ops
            .iter()
            .map(|steps| SimOp {
                steps: steps
                    .iter()
                    .map(|s| match s {
                        Step::Keep(r) => SimStep::Keep(*r),
                        Step::Hold(r, _) => SimStep::Hold(*r),
                        Step::Wait(_) => SimStep::Wait,
                    })
                    .collect(),
                trailing: Service::trailing(steps),
            })
            .collect();
        Sim {
            res,
            names: service.resources.iter().map(|r| r.name.clone()).collect(),
            ops,
            first_pool: service.resources.iter().position(|r| r.kind == Kind::Pool),
            tempo: service.tempo,
            client_timeout: client_timeout.map(ns),
            events: BinaryHeap::new(),
            reqs: Vec::new(),
            free: Vec::new(),
            ready: Vec::new(),
            clock: 0,
            waiting_ns: 0,
            arrived: 0,
            demand_ns: 0,
            rng: Pcg64Mcg::seed_from_u64(0),
            tickets: 0,
        }
    }

    /// Seed the simulator's own draws (a barging pool's wake-ups); the same seed and
    /// arrivals give the same run.
    pub fn seed(&mut self, seed: u64) {
        self.rng = Pcg64Mcg::seed_from_u64(seed);
    }

    /// A request tagged `tag` arrives at `at` and would hold a connection for `hold`, with
    /// no handler overhead. Arrivals must come in non-decreasing time order.
    pub fn arrive(&mut self, tag: u32, at: Duration, hold: Duration, emit: &mut impl FnMut(Completion)) {
        self.offer(Arrival { tag, at, hold, overhead: Duration::ZERO }, emit);
    }

    /// A request of the one-pool service arrives. Arrivals must come in time order.
    pub fn offer(&mut self, a: Arrival, emit: &mut impl FnMut(Completion)) {
        self.offer_op(a.tag, a.at, 0, &[a.hold, a.overhead], emit);
    }

    /// A request of op `op` arrives at `at`, its timed steps taking `times` (one each, in
    /// order). Arrivals must come in non-decreasing time order.
    pub fn offer_op(
        &mut self,
        tag: u32,
        at: Duration,
        op: usize,
        times: &[Duration],
        emit: &mut impl FnMut(Completion),
    ) {
        let t = ns(at);
        self.advance(t, emit);
        self.arrived += 1;
        let id = self.free.pop().unwrap_or_else(|| {
            self.reqs.push(Req::default());
            (self.reqs.len() - 1) as u32
        });
        let r = &mut self.reqs[id as usize];
        r.times.clear();
        r.times.extend(times.iter().map(|&d| ns(d)));
        self.demand_ns += r.times.iter().map(|&d| u128::from(d)).sum::<u128>();
        r.kept.clear();
        (r.tag, r.op, r.arrival, r.step, r.next_time, r.asked) = (tag, op, t, 0, 0, t);
        (r.waited, r.queued, r.held, r.failed) = (0, 0, 0, None);
        (r.pool_waited, r.pool_held, r.waking, r.ticket) = (None, 0, None, 0);
        self.proceed(id, t, emit);
        self.drain(t, emit);
    }

    /// Process every event before `t` (arrivals offered later must not be earlier): the
    /// gauges then read as at `t`.
    pub fn run_until(&mut self, t: Duration, emit: &mut impl FnMut(Completion)) {
        self.advance(ns(t), emit);
    }

    /// Whether nothing is left to happen: no step running, no deadline of a waiter to come.
    pub fn is_idle(&self) -> bool {
        self.events.is_empty() && self.res.iter().all(|r| r.queue.is_empty() || r.timeout_ns.is_none())
    }

    /// Run every pending event to completion.
    pub fn finish(&mut self, emit: &mut impl FnMut(Completion)) {
        self.advance(u64::MAX, emit);
    }

    /// The resources' names, in the service's order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Resource `i` now: units in use, requests waiting, acquire timeouts and refusals so
    /// far, and its use integrated over time (unit-nanoseconds).
    pub fn gauge(&self, i: usize) -> Gauge {
        let r = &self.res[i];
        Gauge {
            size: r.size,
            busy: r.busy,
            waiting: r.queue.len() + r.waking,
            timeouts: r.timeouts,
            refused: r.refused,
            busy_ns: r.busy_ns,
        }
    }

    /// The first resource of `kind`'s gauge.
    fn first(&self, kind: &Kind) -> Option<Gauge> {
        self.res.iter().position(|r| r.kind == *kind).map(|i| self.gauge(i))
    }

    /// Mean pool occupancy (busy connections) over the simulated time so far.
    pub fn mean_busy(&self) -> f64 {
        let (busy, clock) = self.occupancy();
        if clock == 0 { 0.0 } else { busy as f64 / clock as f64 }
    }

    /// The (first) pool's connection-nanoseconds of use so far, and the simulated time
    /// they cover: the difference of two readings gives the mean occupancy between them.
    pub fn occupancy(&self) -> (u128, u64) {
        (self.first(&Kind::Pool).map_or(0, |g| g.busy_ns), self.clock)
    }

    /// The (first) pool's connections in use, and requests waiting for one, right now.
    pub fn gauges(&self) -> (usize, usize) {
        self.first(&Kind::Pool).map_or((0, 0), |g| (g.busy, g.waiting))
    }

    /// The (first) workers busy, and requests waiting for one, right now.
    pub fn workers(&self) -> (usize, usize) {
        self.first(&Kind::Workers).map_or((0, 0), |g| (g.busy, g.waiting))
    }

    /// Process every event up to time `t`, in time order: step ends (releasing what was
    /// held, handing it to waiters) and acquire deadlines passed.
    fn advance(&mut self, t: u64, emit: &mut impl FnMut(Completion)) {
        let end = t == u64::MAX;
        loop {
            let next = self.events.peek().map(|Reverse((e, _))| *e).filter(|&e| e <= t);
            // The earliest deadline of a waiter; one whose deadline is exactly a step's end
            // still gets what that step frees.
            let deadline = (0..self.res.len()).filter_map(|i| self.deadline(i)).min();
            if let Some((d, i)) = deadline
                && (d < t || end)
                && next.is_none_or(|e| d < e)
            {
                self.time_out(i, d, emit);
                continue;
            }
            if next.is_none() {
                break;
            }
            let Some(Reverse((e, id))) = self.events.pop() else { break };
            self.tick(e);
            self.step_done(id, e, emit);
            self.drain(e, emit);
        }
        self.tick(t);
    }

    /// The first deadline of resource `i`'s waiters, and `i`. A barging queue's stale
    /// entries (requests served since) are dropped on the way.
    fn deadline(&mut self, i: usize) -> Option<(u64, usize)> {
        let r = &mut self.res[i];
        let limit = r.timeout_ns?;
        if matches!(r.discipline, Discipline::Fifo) {
            let &(_, since) = r.queue.front()?;
            return Some((since.saturating_add(limit), i));
        }
        loop {
            let &Reverse((d, id, ticket)) = r.deadlines.peek()?;
            if self.reqs[id as usize].ticket == ticket {
                return Some((d, i));
            }
            r.deadlines.pop();
        }
    }

    /// Resource `i`'s waiter with the first deadline gives up at that deadline `d`.
    fn time_out(&mut self, i: usize, d: u64, emit: &mut impl FnMut(Completion)) {
        self.tick(d);
        let r = &mut self.res[i];
        let id = if matches!(r.discipline, Discipline::Fifo) {
            let Some((id, _)) = r.queue.pop_front() else { return };
            id
        } else {
            let Some(Reverse((_, id, _))) = r.deadlines.pop() else { return };
            // Rare (a waiter starved past its deadline), and the queue is short: at most
            // the workers that ask this pool.
            if let Some(at) = r.queue.iter().position(|&(w, _)| w == id) {
                r.queue.remove(at);
            }
            self.reqs[id as usize].ticket = 0;
            id
        };
        self.res[i].timeouts += 1;
        self.give_up(id, i, d, emit);
    }

    /// Request `id` waits for resource `i` from `asked`, at the end of its queue.
    fn enqueue(&mut self, id: u32, i: usize, asked: u64) {
        let r = &mut self.res[i];
        r.queue.push_back((id, asked));
        if let (Discipline::Barging { .. }, Some(limit)) = (&r.discipline, r.timeout_ns) {
            self.tickets += 1;
            r.deadlines.push(Reverse((asked.saturating_add(limit), id, self.tickets)));
            self.reqs[id as usize].ticket = self.tickets;
        }
    }

    /// Request `id` gave up waiting for resource `i` at `t`.
    fn give_up(&mut self, id: u32, i: usize, t: u64, emit: &mut impl FnMut(Completion)) {
        self.note_wait(id, i, t);
        self.fail(id, i, false);
        self.proceed(id, t, emit);
        self.drain(t, emit);
    }

    /// Request `id`, handed a unit of resource `i`, has woken at `t` (barging): it takes
    /// the unit if no request that asked meanwhile took it, else waits again at the end
    /// of the line (HikariCP's fair hand-off queue), or gives up if its deadline has passed.
    fn woken(&mut self, id: u32, i: usize, t: u64, emit: &mut impl FnMut(Completion)) {
        let res = &mut self.res[i];
        res.waking -= 1;
        if res.busy < res.size {
            res.busy += 1;
            self.ready.push((id, i));
            return self.drain(t, emit);
        }
        let asked = self.reqs[id as usize].asked;
        if res.timeout_ns.is_some_and(|limit| asked.saturating_add(limit) <= t) {
            res.timeouts += 1;
            return self.give_up(id, i, t, emit);
        }
        self.enqueue(id, i, asked);
    }

    /// Request `id`'s timed step ended at `t`: give back what it held and go on.
    fn step_done(&mut self, id: u32, t: u64, emit: &mut impl FnMut(Completion)) {
        if let Some(i) = self.reqs[id as usize].waking.take() {
            return self.woken(id, i, t, emit);
        }
        let r = &mut self.reqs[id as usize];
        let step = self.ops[r.op].steps[r.step];
        r.step += 1;
        if let SimStep::Hold(res) = step {
            self.release(res, t);
        }
        self.proceed(id, t, emit);
    }

    /// Give back a unit of resource `i` at `t`: FIFO, the first waiter takes it at once;
    /// barging, it is free again and the first waiter is woken to take it, after a
    /// wake-up drawn from the pool's `handoff_delay`.
    fn release(&mut self, i: usize, t: u64) {
        let res = &mut self.res[i];
        match &res.discipline {
            Discipline::Fifo => match res.queue.pop_front() {
                Some((w, _)) => self.ready.push((w, i)),
                None => res.busy -= 1,
            },
            Discipline::Barging { handoff_delay } => {
                res.busy -= 1;
                if let Some((w, _)) = res.queue.pop_front() {
                    res.waking += 1;
                    let wake = ns(handoff_delay.sample(&mut self.rng));
                    let w_req = &mut self.reqs[w as usize];
                    (w_req.waking, w_req.ticket) = (Some(i), 0);
                    self.events.push(Reverse((t.saturating_add(wake), w)));
                }
            }
        }
    }

    /// When a step that starts at `t` and is drawn to take `d` ends (see [`Tempo`]).
    fn step_end(&self, t: u64, d: u64) -> u64 {
        if self.tempo.is_steady() {
            return t.saturating_add(d);
        }
        ns(self.tempo.end(Duration::from_nanos(t), Duration::from_nanos(d)))
    }

    /// Go on with the requests handed a resource at `t`.
    fn drain(&mut self, t: u64, emit: &mut impl FnMut(Completion)) {
        while let Some((id, i)) = self.ready.pop() {
            self.note_wait(id, i, t);
            if self.granted(id, i, t) {
                self.proceed(id, t, emit);
            }
        }
    }

    /// Count the wait of request `id` for resource `i`, which ended at `t`.
    fn note_wait(&mut self, id: u32, i: usize, t: u64) {
        let r = &mut self.reqs[id as usize];
        let wait = t - r.asked;
        match self.res[i].kind {
            Kind::Workers => r.queued += wait,
            _ => r.waited += wait,
        }
        if Some(i) == self.first_pool {
            r.pool_waited = Some(r.pool_waited.unwrap_or(0) + wait);
        }
    }

    /// Request `id` got a unit of resource `i` at `t`: keep it, or hold it for its time.
    /// True when it can go on at once.
    fn granted(&mut self, id: u32, i: usize, t: u64) -> bool {
        let r = &mut self.reqs[id as usize];
        match self.ops[r.op].steps[r.step] {
            SimStep::Hold(_) => {
                let d = r.times.get(r.next_time).copied().unwrap_or(0);
                r.next_time += 1;
                let end = self.step_end(t, d);
                let r = &mut self.reqs[id as usize];
                if self.res[i].kind == Kind::Pool {
                    r.held += end - t;
                }
                if Some(i) == self.first_pool {
                    r.pool_held += end - t;
                }
                if end == t {
                    r.step += 1;
                    self.release(i, t);
                    return true;
                }
                self.events.push(Reverse((end, id)));
                false
            }
            _ => {
                r.kept.push(i);
                r.step += 1;
                true
            }
        }
    }

    /// Run request `id`'s steps from `t` until one must wait, or it ends.
    fn proceed(&mut self, id: u32, t: u64, emit: &mut impl FnMut(Completion)) {
        loop {
            let r = &mut self.reqs[id as usize];
            let op = &self.ops[r.op];
            let Some(&step) = op.steps.get(r.step) else { return self.end(id, t, emit) };
            let i = match step {
                SimStep::Wait => {
                    let d = r.times.get(r.next_time).copied().unwrap_or(0);
                    r.next_time += 1;
                    let end = self.step_end(t, d);
                    if end == t {
                        self.reqs[id as usize].step += 1;
                        continue;
                    }
                    return self.events.push(Reverse((end, id)));
                }
                SimStep::Keep(i) | SimStep::Hold(i) => i,
            };
            r.asked = t;
            if Some(i) == self.first_pool {
                r.pool_waited.get_or_insert(0);
            }
            let res = &mut self.res[i];
            if let Some(bucket) = &mut res.bucket {
                if bucket.take(Duration::from_nanos(t)) {
                    r.step += 1;
                } else {
                    res.refused += 1;
                    self.fail(id, i, true);
                }
                continue;
            }
            if res.busy < res.size {
                res.busy += 1;
                if self.granted(id, i, t) {
                    continue;
                }
                return;
            }
            if res.queue_limit.is_some_and(|q| res.queue.len() >= q) {
                res.refused += 1;
                self.fail(id, i, true);
                continue;
            }
            return self.enqueue(id, i, t);
        }
    }

    /// Resource `i` ran dry for request `id`: refused at once, it ends now; having given
    /// up waiting, it goes on with its op's trailing steps (its handler builds the error
    /// answer), unless it was waiting for a worker: with no thread, no handler runs, and
    /// the server answers at once. The live target does the same.
    fn fail(&mut self, id: u32, i: usize, refused: bool) {
        let no_handler = refused || self.res[i].kind == Kind::Workers;
        let r = &mut self.reqs[id as usize];
        r.failed = Some((i, refused));
        let op = &self.ops[r.op];
        r.step = if no_handler { op.steps.len() } else { op.trailing.max(r.step) };
        // The skipped steps' times are not spent; the trailing ones are the last drawn.
        let trailing_times = op.steps[r.step.min(op.steps.len())..].iter().filter(|s| **s == SimStep::Wait).count();
        r.next_time = r.times.len().saturating_sub(trailing_times);
    }

    /// Request `id` ends at `t`: give back what it kept, and report it, unless its client
    /// gave up first (the server may still have held resources for it, as a real one would).
    fn end(&mut self, id: u32, t: u64, emit: &mut impl FnMut(Completion)) {
        let mut kept = std::mem::take(&mut self.reqs[id as usize].kept);
        for &i in kept.iter().rev() {
            self.release(i, t);
        }
        kept.clear();
        let r = &mut self.reqs[id as usize];
        r.kept = kept;
        let dur = Duration::from_nanos;
        let (outcome, dry, status) = match r.failed {
            None => (SimOutcome::Ok, None, Some(200)),
            Some((i, refused)) => {
                let res = &self.res[i];
                let outcome = match (&res.kind, refused) {
                    (Kind::RateLimit(_), _) => SimOutcome::RateLimited,
                    (_, true) => SimOutcome::QueueFull,
                    (_, false) => SimOutcome::PoolTimeout,
                };
                let status = match res.when_dry {
                    WhenDry::Status(s) => Some(s),
                    WhenDry::NoAnswer => None,
                };
                (outcome, Some(i), status)
            }
        };
        let mut c = Completion {
            tag: r.tag,
            arrival: dur(r.arrival),
            end: dur(t),
            waited: dur(r.waited),
            queued: dur(r.queued),
            held: dur(r.held),
            outcome,
            cause: outcome,
            pool_waited: r.pool_waited.map(dur),
            pool_held: dur(r.pool_held),
            dry,
            status,
        };
        if let Some(limit) = self.client_timeout.map(dur)
            && (c.end - c.arrival > limit || c.status.is_none())
        {
            c.end = c.arrival + limit;
            c.outcome = SimOutcome::ClientTimeout;
            c.status = None;
        }
        self.free.push(id);
        emit(c);
    }

    /// Move the clock to `t`, integrating every resource's use and the waiting requests.
    fn tick(&mut self, t: u64) {
        if t > self.clock && t != u64::MAX {
            let dt = u128::from(t - self.clock);
            for r in &mut self.res {
                r.busy_ns += dt * r.busy as u128;
                self.waiting_ns += dt * (r.queue.len() + r.waking) as u128;
            }
            self.clock = t;
        }
    }
}

mod io;
pub use io::{Arrival, Completion, Gauge, PoolParams, ServiceParams, SimOutcome};

mod reading;
pub use reading::{Reading, RunStats, Thirds, Window};

#[cfg(test)]
mod discipline_tests;
#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod steps_tests;
#[cfg(test)]
mod tests;
