//! The live driver: one request loop ([`worker`]) fed either by the open-loop dispatcher
//! (through the connection [`pool`]) or by a closed-loop source.

mod dispatch;
mod feed;
pub mod http;
mod pacer;
mod pool;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use einv_report::Recorder;
use einv_workload::Pools;
use einv_workload::requests::Rendered;
use http_body_util::Full;
use hyper::header::{CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};

pub use dispatch::{Drive, closed_loop, open_loop};
pub use feed::{Feed, Timeline};
pub use http::ConnStats;

use crate::profile::{Op, Plan, ResponseCheck};

/// One request to send: which global arrival, which op, and when it should have gone out.
#[derive(Debug, Clone)]
pub struct Job {
    pub index: u64,
    pub op: usize,
    pub intended: Instant,
    /// It found every connection busy and waited in the queue.
    pub queued: bool,
    /// The rendered path, headers and body (None: the op's static request).
    pub rendered: Option<Box<Rendered>>,
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
    /// Correlation pools that responses fill.
    pub pools: Arc<Pools>,
    /// Per op: what to extract and check in its responses.
    pub responses: Vec<(Vec<(usize, String)>, ResponseCheck)>,
}

/// An op's request, built once; each send clones its cheap parts.
#[derive(Debug)]
pub struct Prepared {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    base_path: String,
    /// Names of the headers whose values are rendered per request.
    templated: Vec<HeaderName>,
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
        let templated = op
            .template
            .iter()
            .flat_map(|t| t.headers.iter())
            .filter_map(|(name, _)| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect();
        Prepared {
            method: op.method.clone(),
            uri,
            headers,
            body: op.body.clone(),
            base_path: base_path.into(),
            templated,
        }
    }

    /// The request to send: the static one, or with the rendered parts put in.
    fn request(&self, rendered: Option<&Rendered>) -> Request<Full<Bytes>> {
        let Some(r) = rendered else {
            let mut req = Request::new(Full::new(self.body.clone()));
            *req.method_mut() = self.method.clone();
            *req.uri_mut() = self.uri.clone();
            *req.headers_mut() = self.headers.clone();
            return req;
        };
        let mut req = Request::new(Full::new(Bytes::copy_from_slice(&r.body)));
        *req.method_mut() = self.method.clone();
        let path = [self.base_path.as_bytes(), &r.path].concat();
        // A rendered value that makes no valid URI (a feeder cell with spaces) goes to the
        // static path rather than nowhere; validation keeps this rare.
        *req.uri_mut() =
            Uri::try_from(if path.is_empty() { b"/".to_vec() } else { path }).unwrap_or_else(|_| self.uri.clone());
        let mut headers = self.headers.clone();
        for (name, value) in self.templated.iter().zip(&r.headers) {
            if let Ok(v) = HeaderValue::from_bytes(value) {
                headers.insert(name.clone(), v);
            }
        }
        *req.headers_mut() = headers;
        req
    }
}

impl Ctx {
    pub fn new(
        plan: &Plan,
        addr: SocketAddr,
        (authority, base_path): (&str, &str),
        recorder: Arc<Recorder>,
        pools: Arc<Pools>,
    ) -> Ctx {
        let t = &plan.target;
        Ctx {
            addr,
            connect_timeout: t.connect_timeout,
            request_timeout: t.request_timeout,
            keep_alive: t.keep_alive,
            requests: plan.ops.iter().map(|op| Prepared::new(op, authority, base_path, t.keep_alive)).collect(),
            recorder,
            conns: Arc::default(),
            pools,
            responses: plan.ops.iter().map(|op| (op.extract.clone(), op.check.clone())).collect(),
        }
    }
}
