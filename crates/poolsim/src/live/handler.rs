//! The built-in target's service: admission, the database pool, and the answers (the
//! invoice API's, or the profile's own ops').

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::body::Body;
use super::ledger::{Issued, Ledger, Reversal, Status};
use super::resources::{Clock, Dry, Live};
use super::routes::{Invoice, NO_PREFIX, Routes, Served};
use crate::{Hold, Kind, ModelSpec, ServerLimits, Service, Step, WhenDry};

/// A downloaded invoice file: the size of a typical e-invoice PDF's first part.
static PDF: [u8; 16 * 1024] = [b'%'; 16 * 1024];

pub(super) struct State {
    pub(super) spec: ModelSpec,
    /// The connection slots (`max-connections`), here for /metrics.
    pub(super) connections: super::conn::Slots,
    /// Every op's steps, and the resources they take.
    service: Service,
    pub(super) resources: Vec<Live>,
    /// Per resource, its answers when it runs dry (refused, timed out), made once.
    dry_answers: Vec<[Option<Response<Bytes>>; 2]>,
    routes: Routes,
    started: Instant,
    ledger: Mutex<Ledger>,
    timer: einv_timer::Timer,
    /// Answers of the profile's own ops so far: each answer's `${id}`.
    answered: AtomicU64,
    /// Requests received, /metrics itself left out: the count a load test is checked by.
    pub(super) requests: AtomicU64,
}

impl State {
    pub(super) fn new(spec: ModelSpec, timer: einv_timer::Timer) -> Self {
        let max_connections = spec.limits.connections_for(super::conn::open_file_limit());
        let service = spec.service();
        Self {
            resources: service.resources.iter().map(|r| Live::new(r.clone(), &timer)).collect(),
            dry_answers: service
                .resources
                .iter()
                .map(|r| [Dry::Refused, Dry::TimedOut].map(|d| dry_answer(r, d)))
                .collect(),
            routes: Routes::new(&spec),
            service,
            connections: super::conn::Slots::new(max_connections),
            ledger: Mutex::new(Ledger::new(spec.limits.ledger_window)),
            spec,
            started: Instant::now(),
            timer,
            answered: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// A uniform draw in [0, 1) from the service's stream.
    fn draw(&self) -> f64 {
        with_rng(rand::RngExt::random)
    }

    pub(super) fn issued(&self) -> u64 {
        self.ledger().issued()
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The service's way of dropping a connection: hyper closes it without an answer.
#[derive(Debug)]
pub(super) struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for Reset {}

pub(super) async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Reset> {
    let resp = serve(&state, req).await?;
    // The slow-body fault: in its windows the answer trickles out after its headers.
    let slow = state.spec.slow_body.filter(|s| s.active_at(state.started.elapsed()));
    Ok(resp.map(|bytes| match slow {
        Some(s) => Body::slow(bytes, s.bytes_per_s),
        None => Full::new(bytes).into(),
    }))
}

async fn serve(state: &State, req: Request<Incoming>) -> Result<Response<Bytes>, Reset> {
    let served = state.routes.resolve(&state.spec, req.method(), req.uri().path());
    if !matches!(served, Served::Metrics) {
        state.requests.fetch_add(1, Ordering::Relaxed);
    }
    let limits = &state.spec.limits;
    // Read the whole body before answering so the connection stays usable (keep-alive).
    let body = match read_body(req.into_body(), limits).await {
        Ok(body) => body,
        Err(unread) => return Ok(unread.answer(limits)),
    };
    let Some(steps) = served.steps(&state.service) else {
        return Ok(match served {
            Served::Health => json(StatusCode::OK, to_json(&Answer { status: Some("ok"), ..Answer::default() })),
            Served::Metrics => super::metrics::render(state),
            _ => json(StatusCode::NOT_FOUND, error_body("E404", "no such route")),
        });
    };
    // At the door: the op's leading kept resources (rate limits, a request worker), kept
    // until the answer is built; then the request is looked at, then the rest of its steps.
    let door = steps.iter().take_while(|s| matches!(s, Step::Keep(_))).count();
    let mut kept = Vec::new();
    if let Err((r, dry)) = super::resources::run(steps, (0, door), &state.resources, state, &mut kept).await {
        drop(kept);
        return Ok(state.dry(r, dry).await);
    }
    // Input validation costs CPU, not a database connection: bad invoices are refused first.
    let order_no = match &served {
        Served::Invoice(Invoice::Issue, _) => match super::validate::invoice(&body, limits.max_order_no) {
            Ok(order_no) => Some(order_no),
            Err((code, msg)) => return Ok(json(StatusCode::BAD_REQUEST, error_body(code, &msg))),
        },
        _ => None,
    };
    if let Some(refused) = faults(state).await? {
        return Ok(refused);
    }
    let all = (door, steps.len());
    if let Err((r, dry)) = super::resources::run(steps, all, &state.resources, state, &mut kept).await {
        drop(kept);
        return Ok(state.dry(r, dry).await);
    }
    Ok(match served {
        Served::Own(i) => own_answer(state, i),
        Served::Invoice(route, _) => answer(state, route, order_no.as_deref().unwrap_or_default(), fingerprint(&body)),
        _ => json(StatusCode::NOT_FOUND, error_body("E404", "no such route")),
    })
}

impl Clock for State {
    fn now(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// A draw from `hold` (constant ones without taking the lock).
    fn sample(&self, hold: &Hold) -> std::time::Duration {
        match hold {
            Hold::Constant(d) => *d,
            hold => with_rng(|rng| hold.sample(rng)),
        }
    }

    fn step_end(&self, start: Instant, d: std::time::Duration) -> Instant {
        let tempo = &self.service.tempo;
        if tempo.is_steady() {
            return start + d;
        }
        let since = start.saturating_duration_since(self.started);
        self.started + tempo.end(since, d)
    }

    async fn sleep_until(&self, at: Instant) {
        if at > Instant::now() {
            self.timer.sleep_until(at).await;
        }
    }
}

/// The service's randomness (hold times, resets): one seeded stream per server thread,
/// so that requests on different threads never wait for each other's draws. The service
/// is random, not the seed.
pub(super) fn with_rng<T>(f: impl FnOnce(&mut rand_pcg::Pcg64Mcg) -> T) -> T {
    static STREAMS: AtomicU64 = AtomicU64::new(0x5eed);
    thread_local! {
        static RNG: RefCell<rand_pcg::Pcg64Mcg> = RefCell::new(rand::SeedableRng::seed_from_u64(
            STREAMS.fetch_add(1, Ordering::Relaxed),
        ));
    }
    RNG.with(|rng| f(&mut rng.borrow_mut()))
}

impl State {
    /// The answer of a request resource `r` ran dry for: its `when-dry` status, or none
    /// at all (the client's timeout ends the exchange).
    async fn dry(&self, r: usize, dry: Dry) -> Response<Bytes> {
        let answer = &self.dry_answers[r][usize::from(dry == Dry::TimedOut)];
        match answer {
            Some(resp) => resp.clone(),
            None => std::future::pending().await,
        }
    }
}

/// What resource `res` answers a request it ran dry for (`None`: nothing at all).
fn dry_answer(res: &crate::Resource, dry: Dry) -> Option<Response<Bytes>> {
    let status = match res.when_dry {
        WhenDry::Status(s) => StatusCode::from_u16(s).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        WhenDry::NoAnswer => return None,
    };
    let why = match (&res.kind, dry) {
        (Kind::RateLimit(_), _) => "rate limit exceeded",
        (_, Dry::Refused) => "request queue full",
        (Kind::Pool, Dry::TimedOut) => "connection acquire timed out",
        (Kind::Workers, Dry::TimedOut) => "no worker within the acquire timeout",
        (Kind::Cpu, Dry::TimedOut) => "no core within the acquire timeout",
    };
    let code = format!("E{}", status.as_u16());
    let mut resp = json(status, error_body(&code, &format!("{} exhausted: {why}", res.name)));
    if status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static("1"));
    }
    Some(resp)
}

/// Injected faults: a dropped connection (hyper closes it when the service fails), a 503
/// burst from a failing dependency (its answer), or a stall (waited out here).
async fn faults(state: &State) -> Result<Option<Response<Bytes>>, Reset> {
    if state.spec.reset_rate > 0.0 && state.draw() < state.spec.reset_rate {
        return Err(Reset);
    }
    if let Some(burst) = state.spec.error_burst
        && !burst.wait_at(state.started.elapsed()).is_zero()
    {
        let body = error_body("E503", "dependency unavailable (injected burst)");
        return Ok(Some(json(StatusCode::SERVICE_UNAVAILABLE, body)));
    }
    if let Some(stall) = state.spec.stall {
        let wait = stall.wait_at(state.started.elapsed());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
    Ok(None)
}

/// The answer of the profile's op `i`: its response template (or the echo), with the
/// next id.
fn own_answer(state: &State, i: usize) -> Response<Bytes> {
    let op = &state.spec.ops[i];
    let id = state.answered.fetch_add(1, Ordering::Relaxed) + 1;
    static ECHO: std::sync::LazyLock<crate::Response> = std::sync::LazyLock::new(crate::Response::echo);
    let response = op.response.as_ref().unwrap_or(&ECHO);
    let mut resp = Response::new(Bytes::from(response.render(id, &op.name)));
    *resp.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    resp.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(response.content_type));
    resp
}

/// Why a request body was not read whole.
enum Unread {
    /// Longer than max-body: refused before the rest is read.
    TooLarge,
    /// Nothing came for header-timeout.
    Stalled,
    Broken,
}

impl Unread {
    fn answer(self, limits: &ServerLimits) -> Response<Bytes> {
        match self {
            Unread::TooLarge => {
                let msg = format!("request body larger than {} bytes", limits.max_body);
                closing(json(StatusCode::PAYLOAD_TOO_LARGE, error_body("E413", &msg)))
            }
            Unread::Stalled => {
                let msg = format!("request body paused longer than {:?}", limits.header_timeout);
                closing(json(StatusCode::REQUEST_TIMEOUT, error_body("E408", &msg)))
            }
            Unread::Broken => json(StatusCode::BAD_REQUEST, error_body("E4000", "unreadable body")),
        }
    }
}

/// The request body, at most `limits.max_body` of it: a declared length over the limit
/// is refused before a byte is read, a chunked body as soon as it passes the limit.
async fn read_body(mut body: Incoming, limits: &ServerLimits) -> Result<Bytes, Unread> {
    use hyper::body::Body as _;
    if body.size_hint().lower() > limits.max_body {
        return Err(Unread::TooLarge);
    }
    let (mut chunks, mut len) = (Vec::new(), 0u64);
    loop {
        let frame = match tokio::time::timeout(limits.header_timeout, body.frame()).await {
            Err(_) => return Err(Unread::Stalled),
            Ok(None) => break,
            Ok(Some(frame)) => frame.map_err(|_| Unread::Broken)?,
        };
        if let Ok(data) = frame.into_data() {
            len += data.len() as u64;
            if len > limits.max_body {
                return Err(Unread::TooLarge);
            }
            chunks.push(data);
        }
    }
    // Most bodies arrive in one chunk: pass it on without a copy.
    if chunks.len() == 1 {
        return Ok(chunks.swap_remove(0));
    }
    let mut all = BytesMut::with_capacity(len as usize);
    chunks.iter().for_each(|c| all.extend_from_slice(c));
    Ok(all.freeze())
}

/// `resp`, closing the connection after it: the request's body was not read to its end.
fn closing(mut resp: Response<Bytes>) -> Response<Bytes> {
    resp.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    resp
}

/// A payload's identity for idempotency checks (not a security hash).
fn fingerprint(body: &[u8]) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    let mut h = DefaultHasher::new();
    h.write(body);
    h.finish()
}

fn answer(state: &State, route: Invoice, order_no: &str, fingerprint: u64) -> Response<Bytes> {
    let not_found = || json(StatusCode::NOT_FOUND, error_body("E404", "invoice not found"));
    let archived = || {
        let window = state.spec.limits.ledger_window;
        json(StatusCode::GONE, error_body("E410", &format!("invoice archived: older than the last {window} issued")))
    };
    match route {
        Invoice::Issue => match state.ledger().issue(order_no, fingerprint) {
            Issued::New(seq) => json(StatusCode::OK, to_json(&Answer { msg: Some("issued"), ..Answer::invoice(seq) })),
            Issued::Duplicate(seq) => json(
                StatusCode::OK,
                to_json(&Answer { msg: Some("already issued"), duplicate: Some(true), ..Answer::invoice(seq) }),
            ),
            Issued::Conflict(_) => {
                json(StatusCode::CONFLICT, error_body("E4091", "order_no already used for a different invoice"))
            }
        },
        Invoice::Query(Some(seq)) => {
            let status = match state.ledger().status(seq) {
                Status::Issued => "issued",
                Status::Reversed => "reversed",
                Status::Archived => return archived(),
                Status::Unknown => return not_found(),
            };
            json(StatusCode::OK, to_json(&Answer { status: Some(status), ..Answer::invoice(seq) }))
        }
        Invoice::RedFlush(Some(seq)) => match state.ledger().reverse(seq) {
            Reversal::Done => {
                json(StatusCode::OK, to_json(&Answer { status: Some("reversed"), ..Answer::invoice(seq) }))
            }
            Reversal::AlreadyReversed => json(StatusCode::CONFLICT, error_body("E4090", "invoice already reversed")),
            Reversal::Archived => archived(),
            Reversal::Unknown => not_found(),
        },
        Invoice::Download(Some(seq)) => match state.ledger().status(seq) {
            Status::Issued | Status::Reversed => {
                let mut resp = Response::new(Bytes::from_static(&PDF));
                resp.headers_mut()
                    .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/pdf"));
                resp
            }
            Status::Archived => archived(),
            Status::Unknown => not_found(),
        },
        Invoice::Verify(tax_id) => {
            let valid = einv_core::uscc::is_valid(&tax_id);
            let answer = Answer { code: Some(OK), tax_id: Some(&tax_id), valid: Some(valid), ..Answer::default() };
            json(StatusCode::OK, to_json(&answer))
        }
        Invoice::Callback => {
            json(StatusCode::OK, to_json(&Answer { code: Some(OK), msg: Some("received"), ..Answer::default() }))
        }
        _ => not_found(),
    }
}

/// The `code` of a request that succeeded.
const OK: &str = "0000";

/// The body of every JSON answer: its fields in this order, the absent ones left out.
#[derive(Debug, Default, serde::Serialize)]
struct Answer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate: Option<bool>,
}

impl Answer<'_> {
    /// A successful answer about invoice `seq`.
    fn invoice(seq: u64) -> Self {
        Answer { code: Some(OK), invoice_no: Some(format!("{NO_PREFIX}{seq:016}")), ..Answer::default() }
    }
}

fn to_json(answer: &Answer) -> String {
    // Strings, bools and absent fields: serializing cannot fail.
    serde_json::to_string(answer).unwrap_or_default()
}

fn error_body(code: &str, msg: &str) -> String {
    to_json(&Answer { code: Some(code), msg: Some(msg), ..Answer::default() })
}

pub(super) fn json(status: StatusCode, body: String) -> Response<Bytes> {
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_the_bytes_clients_read() {
        let issued = to_json(&Answer { msg: Some("already issued"), duplicate: Some(true), ..Answer::invoice(7) });
        assert_eq!(
            issued,
            r#"{"code":"0000","invoice_no":"26110000000000000007","msg":"already issued","duplicate":true}"#
        );
        let verified =
            to_json(&Answer { code: Some(OK), tax_id: Some("9\"1"), valid: Some(false), ..Answer::default() });
        assert_eq!(verified, r#"{"code":"0000","tax_id":"9\"1","valid":false}"#);
        assert_eq!(error_body("E404", "no such route"), r#"{"code":"E404","msg":"no such route"}"#);
        assert_eq!(to_json(&Answer { status: Some("ok"), ..Answer::default() }), r#"{"status":"ok"}"#);
    }
}
