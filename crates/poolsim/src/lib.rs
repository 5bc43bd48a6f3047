//! A service and its resources, as a model.
//!
//! [`ModelSpec`] describes the service: named [`Resource`]s (request workers, connection
//! pools such as HikariCP's in front of the database or an upstream gateway's, token-bucket
//! rate limits), each with its size, acquire timeout, queue bound and answer when it runs
//! dry; and the profile's ops ([`ModelOp`], by their own names and routes), each a short
//! sequence of [`Step`]s that keep or hold resources for times drawn from a [`Hold`]
//! (constant, exponential, lognormal, or [`Empirical`], measured by a real run). The older
//! one-pool description (pool size, workers, rate limit, overhead) is its one-resource
//! case; [`ModelSpec::service`] gives what both engines run, and [`ModelSpec::capacity`]
//! what each resource can serve of a mix. [`des::Sim`] runs that model in virtual time,
//! and its [`des::Reading`]s say how busy it was and whether its waits settled. With the
//! `live` feature, [`live::Server`] runs the same model in real time behind a real
//! HTTP/1.1 server on loopback, routing each request to its op: the built-in target of
//! `einv-load run` (`url = "builtin"`) and of `einv-load serve`.
//!
//! | feature | what it adds |
//! |---|---|
//! | `live` | [`live::Server`]: the model behind a hyper HTTP server (tokio) |
//!
//! ```
//! use std::time::Duration;
//! use einv_poolsim::{ModelSpec, Operation};
//!
//! let spec = ModelSpec { pool_size: 200, ..ModelSpec::default() };
//! // 200 connections held 20 ms per issue: 10,000 issues per second at most.
//! let hold = spec.hold(Operation::Issue).mean();
//! assert_eq!(spec.capacity_per_s(hold), 10_000.0);
//! ```

mod check;
pub mod des;
mod describe;
mod empirical;
mod limits;
#[cfg(feature = "live")]
pub mod live;
mod ops;
mod server_limits;
mod service;
mod spec;
mod tempo;

pub use check::{MAX_QUEUE, Problem};
pub use empirical::Empirical;
pub use limits::{RateLimit, SlowBody, TokenBucket, parse_byte_rate, parse_byte_size};
pub use ops::{ModelOp, Response, Route};
pub use server_limits::{MAX_LEDGER_WINDOW, ServerLimits};
pub use service::{DEFAULT_HANDOFF_DELAY, Discipline, Kind, Resource, Service, Step, WhenDry};
pub use spec::{Capacity, Hold, ModelSpec, Operation, Stall};
pub use tempo::{Tempo, WarmUp};

/// Everything that can go wrong with a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The first of [`ModelSpec::problems`].
    #[error("{0}")]
    Model(Problem),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot start the server runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}
