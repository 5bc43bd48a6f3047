//! What goes into the simulator and what comes out: arrivals and the one-pool service's
//! parameters; completions, how each request ended, and a resource's gauges.

use std::time::Duration;

#[cfg(doc)]
use crate::ModelSpec;
use crate::RateLimit;

/// How one simulated request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimOutcome {
    /// Served (HTTP 200).
    Ok,
    /// Gave up waiting for a resource (a pool: HTTP 500) after its acquire timeout.
    PoolTimeout,
    /// The client gave up first (HTTP 504 from its side).
    ClientTimeout,
    /// Refused by a rate limit (HTTP 429).
    RateLimited,
    /// Refused because a resource's queue was full (workers: HTTP 503).
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
    /// Time spent waiting for pool connections.
    pub waited: Duration,
    /// Time spent waiting for request workers.
    pub queued: Duration,
    /// Time it held pool connections (zero if it never got one).
    pub held: Duration,
    pub outcome: SimOutcome,
    /// How the service ended it: `outcome`, but for a client that gave up first (a
    /// request refused with no answer is `QueueFull` here and `ClientTimeout` there).
    pub cause: SimOutcome,
    /// Time it waited for the service's first pool, the one pool.csv's columns describe
    /// (`None`: it never asked that pool), and time it held it.
    pub pool_waited: Option<Duration>,
    pub pool_held: Duration,
    /// The resource that ran dry for it (its index in the service), if one did.
    pub dry: Option<usize>,
    /// The status answered; `None`: no answer (the client timed out).
    pub status: Option<u16>,
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

/// One request offered to the one-pool service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    pub tag: u32,
    pub at: Duration,
    /// How long it holds a pool connection.
    pub hold: Duration,
    /// How long it keeps its worker after the pool, before answering.
    pub overhead: Duration,
}

/// One resource of a [`Sim`](super::Sim) at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauge {
    pub size: usize,
    pub busy: usize,
    pub waiting: usize,
    pub timeouts: u64,
    pub refused: u64,
    pub busy_ns: u128,
}
