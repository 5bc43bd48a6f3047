use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::Semaphore;

use crate::{ModelSpec, Operation};

const INVOICES: &str = "/api/v1/invoices";
/// Invoice numbers are 20 digits: this prefix and a 16-digit sequence.
const NO_PREFIX: &str = "2611";

pub(super) struct State {
    spec: ModelSpec,
    pool: Semaphore,
    started: Instant,
    issued: AtomicU64,
}

impl State {
    pub(super) fn new(spec: ModelSpec) -> Self {
        let pool = Semaphore::new(spec.pool_size);
        Self { spec, pool, started: Instant::now(), issued: AtomicU64::new(0) }
    }
}

enum Route {
    Issue,
    Query(Option<u64>),
    Health,
    NotFound,
}

fn route(method: &Method, path: &str) -> Route {
    match (method, path) {
        (&Method::POST, INVOICES) => Route::Issue,
        (&Method::GET, "/healthz" | "/") => Route::Health,
        (&Method::GET, p) => match p.strip_prefix(INVOICES).and_then(|r| r.strip_prefix('/')) {
            Some(no) => Route::Query(parse_no(no)),
            None => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}

fn parse_no(no: &str) -> Option<u64> {
    let seq = no.strip_prefix(NO_PREFIX)?;
    if seq.len() != 16 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    seq.parse().ok()
}

pub(super) async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let route = route(req.method(), req.uri().path());
    // Read the whole body before answering so the connection stays usable (keep-alive).
    if req.into_body().collect().await.is_err() {
        return Ok(json(StatusCode::BAD_REQUEST, r#"{"code":"E400","msg":"unreadable body"}"#.into()));
    }
    let op = match route {
        Route::Issue => Operation::Issue,
        Route::Query(_) => Operation::Query,
        Route::Health => return Ok(json(StatusCode::OK, r#"{"status":"ok"}"#.into())),
        Route::NotFound => return Ok(json(StatusCode::NOT_FOUND, r#"{"code":"E404","msg":"no such route"}"#.into())),
    };
    if let Some(stall) = state.spec.stall {
        let wait = stall.wait_at(state.started.elapsed());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
    // The database pool: wait for a connection, give up after the acquire timeout.
    let Ok(Ok(_conn)) = tokio::time::timeout(state.spec.acquire_timeout, state.pool.acquire()).await else {
        let body = r#"{"code":"E500","msg":"database pool exhausted: connection acquire timed out"}"#;
        return Ok(json(StatusCode::INTERNAL_SERVER_ERROR, body.into()));
    };
    let hold = state.spec.hold(op);
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    Ok(match route {
        Route::Issue => {
            let seq = state.issued.fetch_add(1, Ordering::Relaxed) + 1;
            json(StatusCode::OK, format!(r#"{{"code":"0000","invoice_no":"{NO_PREFIX}{seq:016}","msg":"issued"}}"#))
        }
        Route::Query(Some(seq)) if seq >= 1 && seq <= state.issued.load(Ordering::Relaxed) => {
            json(StatusCode::OK, format!(r#"{{"code":"0000","invoice_no":"{NO_PREFIX}{seq:016}","status":"issued"}}"#))
        }
        _ => json(StatusCode::NOT_FOUND, r#"{"code":"E404","msg":"invoice not found"}"#.into()),
    })
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    resp
}
