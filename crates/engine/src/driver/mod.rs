//! The live driver: one request loop (`worker`) fed either by the open-loop dispatcher
//! (through the engine's `connections`) or by a closed-loop source.

mod connections;
pub mod dial;
mod dispatch;
mod feed;
pub mod http;
mod pacer;
mod secrets;
pub mod tls;
mod worker;

#[cfg(test)]
mod testing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use einv_report::{DEFAULT_ERROR_SAMPLES, FailureSampler, Recorder};
use einv_workload::Captures;
use einv_workload::requests::Tag;
use http_body_util::Full;
use hyper::header::{CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};

pub use dispatch::{Drive, Driven, closed_loop, open_loop};
pub use feed::{Feed, Skipped};
pub use http::ConnStats;
pub use secrets::Secrets;

use crate::profile::{Op, Plan, Protocol, ResponseCheck};

/// One request to send: which global arrival, which op, and when it should have gone out.
#[derive(Debug, Clone)]
pub struct Job {
    pub index: u64,
    pub op: usize,
    pub intended: Instant,
    /// It found every connection busy and waited in the queue.
    pub queued: bool,
    /// What this request does not share with its op's static request.
    pub parts: Option<Box<Parts>>,
}

/// The per-request parts of a request, ready to send; the rest is the op's [`Prepared`].
#[derive(Debug, Clone, Default)]
pub struct Parts {
    /// The rendered path (with the target's base path).
    pub uri: Option<Uri>,
    /// Values of the op's templated headers, in template order.
    pub headers: Vec<HeaderValue>,
    pub body: Option<Bytes>,
    /// Sent wrong on purpose.
    pub tag: Option<Tag>,
}

/// Everything workers share, read-only during the run.
#[derive(Debug)]
pub struct Ctx {
    pub addr: SocketAddr,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub keep_alive: bool,
    pub protocol: Protocol,
    /// Set for TLS targets: every new connection makes a TLS handshake.
    pub tls: Option<tls::TlsClient>,
    pub requests: Vec<Prepared>,
    pub recorder: Arc<Recorder>,
    pub conns: Arc<ConnStats>,
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

/// An op's request, built once; each send clones its cheap parts.
#[derive(Debug)]
pub struct Prepared {
    /// The op's name, for what is logged about it.
    pub name: String,
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
            name: op.name.clone(),
            method: op.method.clone(),
            uri,
            headers,
            body: op.body.clone(),
            base_path: base_path.into(),
            templated,
        }
    }

    /// The request to send: the op's static request with this request's parts put in.
    fn request(&self, parts: Option<&Parts>) -> Request<Full<Bytes>> {
        let body = parts.and_then(|p| p.body.clone()).unwrap_or_else(|| self.body.clone());
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = parts.and_then(|p| p.uri.clone()).unwrap_or_else(|| self.uri.clone());
        let mut headers = self.headers.clone();
        for (name, value) in self.templated.iter().zip(parts.map_or(&[][..], |p| &p.headers)) {
            headers.insert(name.clone(), value.clone());
        }
        *req.headers_mut() = headers;
        req
    }

    /// `METHOD path` of the request this op sends with `parts` (unmasked).
    pub fn request_line(&self, parts: Option<&Parts>) -> String {
        let uri = parts.and_then(|p| p.uri.as_ref()).unwrap_or(&self.uri);
        format!("{} {uri}", self.method)
    }

    /// The name of the `i`-th templated header.
    pub fn templated_header(&self, i: usize) -> Option<&HeaderName> {
        self.templated.get(i)
    }

    /// The URI of a rendered path (base path included), if it is a valid one.
    pub fn uri_for(&self, path: &[u8]) -> Option<Uri> {
        let full = [self.base_path.as_bytes(), path].concat();
        Uri::try_from(if full.is_empty() { b"/".to_vec() } else { full }).ok()
    }
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
            tls: None,
            requests: plan.ops.iter().map(|op| Prepared::new(op, authority, base_path, t.keep_alive)).collect(),
            recorder,
            conns: Arc::new(ConnStats { dialer: dial::Dialer::new(t), ..ConnStats::default() }),
            waiting: Arc::default(),
            captures,
            responses: plan.ops.iter().map(|op| (op.extract.clone(), op.check.clone())).collect(),
            secrets: Secrets::of(plan),
            failures: Arc::new(FailureSampler::new(plan.ops.len(), DEFAULT_ERROR_SAMPLES)),
            started: Instant::now(),
        }
    }
}
