//! The live driver: one request loop ([`worker`]) fed either by the open-loop dispatcher
//! (through the connection [`pool`]) or by a closed-loop source.

mod dispatch;
pub mod http;
mod pacer;
mod pool;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use einv_report::Recorder;
use http_body_util::Full;
use hyper::header::{CONNECTION, HOST, HeaderMap, HeaderValue};
use hyper::{Method, Request, Uri};

pub use dispatch::{Drive, closed_loop, open_loop};
pub use http::ConnStats;

use crate::profile::{Op, Plan};

/// One request to send: which global arrival, which op, and when it should have gone out.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub index: u64,
    pub op: usize,
    pub intended: Instant,
    /// It found every connection busy and waited in the queue.
    pub queued: bool,
}

/// Everything workers share, read-only during the run.
#[derive(Debug)]
pub struct Ctx {
    pub addr: SocketAddr,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub keep_alive: bool,
    pub requests: Vec<Prepared>,
    pub recorder: Arc<Recorder>,
    pub conns: Arc<ConnStats>,
}

/// An op's request, built once; each send clones its cheap parts.
#[derive(Debug)]
pub struct Prepared {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Prepared {
    pub fn new(op: &Op, authority: &str, base_path: &str, keep_alive: bool) -> Prepared {
        let mut headers = HeaderMap::new();
        if let Ok(host) = HeaderValue::from_str(authority) {
            headers.insert(HOST, host);
        }
        if !keep_alive {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        for (k, v) in &op.headers {
            headers.insert(k.clone(), v.clone());
        }
        // An empty op path means the target URL itself. Validated at load time, so the
        // parse cannot fail here.
        let path = match (base_path, op.path.as_str()) {
            ("", "") => "/".to_string(),
            (base, p) => format!("{base}{p}"),
        };
        let uri = path.parse().unwrap_or_default();
        Prepared { method: op.method.clone(), uri, headers, body: op.body.clone() }
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}

impl Ctx {
    pub fn new(plan: &Plan, addr: SocketAddr, authority: &str, base_path: &str, recorder: Arc<Recorder>) -> Ctx {
        let t = &plan.target;
        Ctx {
            addr,
            connect_timeout: t.connect_timeout,
            request_timeout: t.request_timeout,
            keep_alive: t.keep_alive,
            requests: plan.ops.iter().map(|op| Prepared::new(op, authority, base_path, t.keep_alive)).collect(),
            recorder,
            conns: Arc::default(),
        }
    }
}
