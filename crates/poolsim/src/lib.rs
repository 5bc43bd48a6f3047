//! The invoice service and its database connection pool, as a model.
//!
//! [`ModelSpec`] describes the service: how many connections its pool has, how long a
//! request waits for one before failing (HikariCP's `connectionTimeout`), and how long each
//! operation holds it (a [`Hold`]: constant, exponential, lognormal, or [`Empirical`],
//! measured by a real run); and in front of the pool, request workers with a bounded wait
//! queue (503), a token-bucket [`RateLimit`] (429) and the handler's overhead;
//! [`ModelSpec::capacity`] says what it can serve of a mix. [`des::Sim`] runs that model in
//! virtual time, and its [`des::Reading`]s say how busy it was and whether its waits settled. With the `live` feature, [`live::Server`] runs that model in real
//! time behind a real HTTP/1.1 server on loopback: the built-in target of `einv-load run`
//! (`url = "builtin"`) and of `einv-load serve`.
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

pub use check::Problem;
pub use empirical::Empirical;
pub use limits::{RateLimit, SlowBody, TokenBucket, parse_byte_rate, parse_byte_size};
pub use ops::{ModelOp, Response, Route};
pub use server_limits::{MAX_LEDGER_WINDOW, ServerLimits};
pub use service::{Kind, Resource, Service, Step, WhenDry};
pub use spec::{Capacity, Hold, ModelSpec, Operation, Stall};

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
