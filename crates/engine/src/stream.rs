//! Watching a run live: `--metrics-addr` serves the run so far as OpenMetrics text,
//! `--json-stream` writes one JSON line an interval. Both are fed by the collector's
//! once-an-interval drain ([`Streams::publish`]); nothing is added to the request path.
//!
//! The last interval is published before the report is written, marked `finished`, with
//! the totals that summary.json holds; `--metrics-linger` keeps the endpoint serving them
//! for a while after the report is written, for a last scrape.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use einv_report::{Live, OPENMETRICS_CONTENT_TYPE, Output};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use crate::error::Error;

/// Scrapes served at once; more connections are closed unanswered.
const MAX_SCRAPERS: usize = 8;
/// A scraper slower than this to send its request, or to read the answer, is cut off.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// The latest interval, as scrapes read it.
type Latest = Arc<Mutex<Option<Arc<Live>>>>;

/// What watches a run: the metrics endpoint and the JSON lines, either or both.
#[derive(Debug, Default)]
pub struct Streams {
    latest: Latest,
    listener: Option<std::net::TcpListener>,
    json: Option<Output>,
}

impl Streams {
    /// Bind `metrics` and open `json`, before the run: a taken address or an unwritable
    /// path is refused here (bad input), before anything is sent.
    pub fn open(metrics: Option<SocketAddr>, json: Option<&Path>) -> Result<Streams, Error> {
        let listener = match metrics {
            Some(addr) => Some(bind(addr)?),
            None => None,
        };
        let json = json
            .map(Output::stream)
            .transpose()
            .map_err(|e| Error::Flag { flag: "--json-stream", message: e.to_string() })?;
        Ok(Streams { latest: Latest::default(), listener, json })
    }

    /// Whether anything watches: the collector builds a [`Live`] only then.
    pub fn active(&self) -> bool {
        self.listener.is_some() || self.json.is_some()
    }

    /// Start serving the endpoint on `rt` (from here until the process exits).
    pub fn serve(&mut self, rt: &tokio::runtime::Runtime) -> Result<(), Error> {
        let Some(listener) = self.listener.take() else { return Ok(()) };
        let _guard = rt.enter();
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| bind_error(e.to_string()))?;
        rt.spawn(accept(listener, self.latest.clone()));
        Ok(())
    }

    /// Publish one interval: the endpoint serves it from now on, and the JSON stream gets
    /// its line. A JSON stream that cannot be written stops, with a warning; the run goes on.
    pub fn publish(&mut self, live: Live) {
        if let Some(out) = &mut self.json {
            let written = out.write_all(live.json_line().as_bytes()).and_then(|()| out.flush());
            if let Err(e) = written {
                tracing::warn!("--json-stream {}: {e}; no more lines are written", out.path().display());
                self.json = None;
            }
        }
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(live));
    }

    /// Close the JSON stream (a regular file is complete once this returns).
    pub fn close(&mut self) {
        if let Some(out) = self.json.take()
            && let Err(e) = out.commit()
        {
            tracing::warn!("--json-stream: {e}");
        }
    }
}

fn bind_error(message: String) -> Error {
    Error::Flag { flag: "--metrics-addr", message }
}

/// Bind the endpoint and say where it is (tests and scripts read the line from stderr).
fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, Error> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| bind_error(format!("cannot listen on {addr}: {e}")))?;
    listener.set_nonblocking(true).map_err(|e| bind_error(e.to_string()))?;
    let bound = listener.local_addr().map_err(|e| bind_error(e.to_string()))?;
    if !bound.ip().is_loopback() {
        tracing::warn!(
            "--metrics-addr {bound} is not a loopback address: anyone who can reach it sees the run's metrics"
        );
    }
    // Printed, not logged: the address is what the user asked for, whatever the log level.
    eprintln!("einv-load metrics on http://{bound}/metrics");
    Ok(listener)
}

async fn accept(listener: tokio::net::TcpListener, latest: Latest) {
    let slots = Arc::new(Semaphore::new(MAX_SCRAPERS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors, most likely: wait for some to be freed.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else { continue };
        let latest = latest.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let answer = answer(&req, &latest);
                async move { Ok::<_, Infallible>(answer) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(SCRAPE_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(SCRAPE_TIMEOUT, conn).await;
            drop(slot);
        });
    }
}

/// GET /metrics: the latest interval's text (an empty exposition before the first);
/// anything else: 404 or 405.
fn answer(req: &Request<Incoming>, latest: &Latest) -> Response<Full<Bytes>> {
    let status = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => StatusCode::OK,
        (_, "/metrics") => StatusCode::METHOD_NOT_ALLOWED,
        _ => StatusCode::NOT_FOUND,
    };
    if status != StatusCode::OK {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"GET /metrics\n")));
        *resp.status_mut() = status;
        return resp;
    }
    let live = latest.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let text = live.map_or_else(|| "# EOF\n".to_string(), |l| l.prometheus());
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE));
    resp
}
