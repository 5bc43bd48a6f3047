//! The live driver: one request loop (`worker`) fed either by the open-loop dispatcher
//! (through the engine's `connections`) or by a closed-loop source.

mod connections;
pub mod dial;
mod dispatch;
mod feed;
mod link;
mod pacer;
mod secrets;
pub mod tls;
mod transport;
mod worker;

#[cfg(test)]
mod testing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use einv_report::{DEFAULT_ERROR_SAMPLES, FailureSampler, Recorder};
use einv_workload::Captures;

pub use dispatch::{Drive, Driven, closed_loop, open_loop};
pub use feed::{Feed, Skipped};
pub use link::auto_streams;
pub use secrets::Secrets;
pub use transport::{ConnStats, Parts, Prepared, valid_target, valid_token, valid_value};

use crate::profile::{Plan, Protocol, ResponseCheck};
use transport::{Dialer, Request};

/// One request to send: which global arrival, which op, and when it should have gone out.
#[derive(Debug, Clone)]
pub struct Job {
    pub index: u64,
    pub op: usize,
    pub intended: Instant,
    /// It found every connection busy and waited in the queue.
    pub queued: bool,
    /// What this request does not share with its op's prepared request.
    pub parts: Option<Box<Parts>>,
}

/// Everything workers share, read-only during the run.
#[derive(Debug)]
pub struct Ctx {
    pub addr: SocketAddr,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub keep_alive: bool,
    pub protocol: Protocol,
    /// Requests in flight at once per connection (open loop; HTTP/2's max-streams).
    pub streams: usize,
    /// Set for TLS targets: every new connection makes a TLS handshake.
    pub tls: Option<tls::TlsClient>,
    pub requests: Vec<Prepared>,
    pub recorder: Arc<Recorder>,
    pub conns: Arc<ConnStats>,
    /// Opens every TCP connection of the run (paced, from the source addresses).
    pub tcp: dial::TcpDialer,
    /// The open-loop dispatcher's connections: busy ones and arrivals waiting (gauges).
    pub waiting: Arc<connections::Shared>,
    /// Captures that responses fill.
    pub captures: Arc<Captures>,
    /// Per op: what to extract and check in its responses.
    pub responses: Vec<(Vec<(usize, String)>, ResponseCheck)>,
    /// Masked in anything logged about a rendered request.
    pub secrets: Secrets,
    /// The failing exchanges kept for errors.jsonl.
    pub failures: Arc<FailureSampler>,
    /// The run's start: failing exchanges are timed from it.
    pub started: Instant,
}

impl Ctx {
    pub fn new(
        plan: &Plan,
        addr: SocketAddr,
        (authority, base_path): (&str, &str),
        recorder: Arc<Recorder>,
        captures: Arc<Captures>,
    ) -> Ctx {
        let t = &plan.target;
        Ctx {
            addr,
            connect_timeout: t.connect_timeout,
            request_timeout: t.request_timeout,
            keep_alive: t.keep_alive,
            protocol: t.protocol,
            streams: t.streams(),
            tls: None,
            requests: plan
                .ops
                .iter()
                .map(|op| Prepared::new(&op.name, Request::new(op, authority, base_path, t.keep_alive)))
                .collect(),
            recorder,
            conns: Arc::default(),
            tcp: dial::TcpDialer::new(t),
            waiting: Arc::default(),
            captures,
            responses: plan.ops.iter().map(|op| (op.extract.clone(), op.check.clone())).collect(),
            secrets: Secrets::of(plan),
            failures: Arc::new(FailureSampler::new(plan.ops.len(), DEFAULT_ERROR_SAMPLES)),
            started: Instant::now(),
        }
    }
}

impl Ctx {
    /// How every connection of the run is made.
    fn dialer(&self) -> Dialer<'_> {
        Dialer {
            tcp: &self.tcp,
            addr: self.addr,
            timeout: self.connect_timeout,
            protocol: self.protocol,
            tls: self.tls.as_ref(),
        }
    }
}
