//! The one request loop. Every schedule (open or closed loop) feeds it through a
//! [`Source`]; it sends, measures from the intended time, and records.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use einv_report::{BODY_BYTES, ErrorClass, FailedExchange, FailureKind, Outcome, Phases, Sample, is_final_status};
use tokio::sync::watch;

use super::connections::WorkerInbox;
use super::link::Link;
use super::transport::{Conn, MAX_KEPT_BODY, SendError};
use crate::profile::ResponseCheck;
use einv_workload::requests::Tag;

use super::{Ctx, Job};

/// Where a worker's jobs come from.
pub enum Source {
    /// Open loop: jobs handed over by the dispatcher.
    Connections { first: Option<Job>, inbox: WorkerInbox },
    /// Closed loop: the next job starts when the last one ends (plus think time).
    Closed(super::dispatch::ClosedSource),
}

impl Source {
    async fn next(&mut self) -> Option<Job> {
        match self {
            Source::Connections { first, inbox } => match first.take() {
                Some(job) => Some(job),
                None => inbox.next().await,
            },
            Source::Closed(src) => src.next().await,
        }
    }
}

/// Run jobs from `source` on one connection (opened on first use, reopened after errors),
/// or on a stream of the connection `link` shares among its slots, until the source is
/// exhausted or the run is `cut`.
pub async fn run(ctx: Arc<Ctx>, mut source: Source, mut cut: watch::Receiver<bool>, link: Option<Arc<Link>>) {
    let mut conn = Line { conn: None, link };
    while let Some(job) = source.next().await {
        if let Some(sample) = execute(&ctx, &mut conn, &job, &mut cut).await {
            ctx.recorder.record(recorder_slot(), job.op, &sample);
        }
    }
}

/// What a worker sends on: its connection, or its handle on the one its `link` shares.
#[derive(Debug, Default)]
pub struct Line {
    conn: Option<Conn>,
    link: Option<Arc<Link>>,
}

/// The recorder slot of the thread this runs on. Tasks move between the runtime's
/// threads, but a thread runs one at a time: with a slot per thread no record ever waits
/// for another, and the recorder needs no more slots than the runtime has threads.
pub fn recorder_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SLOT.with(|slot| *slot)
}

/// Send `job` and measure it. Its deadline is its intended time + the request timeout,
/// so time spent queued for a connection and time on the wire share one budget. `None`
/// when the run was cut before it was sent: it then counts as unsent.
async fn execute(ctx: &Ctx, line: &mut Line, job: &Job, cut: &mut watch::Receiver<bool>) -> Option<Sample> {
    let deadline = job.intended + ctx.request_timeout;
    let sent = Instant::now();
    if sent >= deadline {
        let sample = expired(sent - job.intended, job);
        keep_failure(ctx, job, (&sample, &[]), sent);
        return Some(sample);
    }
    if *cut.borrow() {
        return None;
    }
    let mut phases = Phases::default();
    let exchanged = tokio::select! {
        biased;
        done = tokio::time::timeout_at(deadline.into(), exchange(ctx, line, job, &mut phases)) => done.ok(),
        // The drain's limit: what is still in flight is recorded as a timeout, now.
        _ = cut.wait_for(|c| *c) => None,
    };
    let (outcome, body) = exchanged.unwrap_or_else(|| {
        // The connection still has a request in flight: it cannot be reused (an HTTP/2
        // handle goes; the stream is reset, the connection stays with its other slots).
        let stalled = line.conn.take().is_some_and(|c| c.flow_stalled());
        (Outcome::Failed(if stalled { ErrorClass::FlowStalled } else { ErrorClass::Timeout }), Vec::new())
    });
    let end = Instant::now();
    let tag = job.parts.as_ref().and_then(|p| p.tag);
    let expects_rejection = tag.is_some_and(|t| t.expects_rejection());
    let failed_check = match outcome {
        Outcome::Response(status) => inspect(ctx, job.op, status, &body, tag),
        Outcome::Failed(_) => None,
    };
    let sample = Sample {
        latency: end.saturating_duration_since(job.intended),
        service: Some(end - sent),
        send_lag: sent.saturating_duration_since(job.intended),
        outcome,
        queued: job.queued,
        failed_check,
        tag: tag.map(|t| t.index()),
        expects_rejection,
        phases,
    };
    keep_failure(ctx, job, (&sample, &body), sent);
    Some(sample)
}

/// A request whose deadline passed before it could be sent (it waited for a connection)
/// is not sent: a client would have given up by now. It counts as a timeout, timed from
/// its intended send, and this keeps the queue bounded by rate × request timeout.
fn expired(waited: Duration, job: &Job) -> Sample {
    Sample {
        latency: waited,
        service: None,
        send_lag: waited,
        outcome: Outcome::Failed(ErrorClass::Timeout),
        queued: job.queued,
        failed_check: None,
        tag: job.parts.as_ref().and_then(|p| p.tag).map(|t| t.index()),
        expects_rejection: false,
        phases: Phases::default(),
    }
}

/// Check a response and feed the captures from it; the index of the check it failed
/// first, if any. Only successful first submissions feed captures: a rejected invoice has
/// no number to query, and a duplicate's answer repeats a number the capture already holds.
fn inspect(ctx: &Ctx, op: usize, status: u16, body: &[u8], tag: Option<Tag>) -> Option<u16> {
    let (extract, check) = &ctx.responses[op];
    let expects_rejection = tag.is_some_and(|t| t.expects_rejection());
    if extract.is_empty() && !check.needs_body() {
        return failed_check(check, status, None, expects_rejection);
    }
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if status < 300
        && tag != Some(Tag::Duplicate)
        && !expects_rejection
        && let Some(json) = &json
    {
        for (capture, pointer) in extract {
            match json.pointer(pointer) {
                Some(serde_json::Value::String(s)) => ctx.captures.put(*capture, s.clone()),
                Some(v @ serde_json::Value::Number(_)) => ctx.captures.put(*capture, v.to_string()),
                _ => {}
            }
        }
    }
    failed_check(check, status, json.as_ref(), expects_rejection)
}

/// The check an answer with `status` (and body `json`) fails first, if any.
fn failed_check(check: &ResponseCheck, status: u16, json: Option<&serde_json::Value>, reject: bool) -> Option<u16> {
    match status {
        // Not an answer at all (an unsolicited 101, a status 999): an error, not a check.
        s if !is_final_status(s) => None,
        // An invoice sent invalid on purpose must be refused; the op's own checks describe
        // a valid answer and do not apply.
        s if reject => (!(400..500).contains(&s)).then_some(ResponseCheck::REJECTION),
        // No check configured: errors are counted as errors, never also as failed checks.
        _ if check.is_empty() => None,
        s => check.first_failure(s, json),
    }
}

/// What a request's failure is, for the sample: its error class, else a failed check.
fn failure_kind(outcome: Outcome, failed_check: Option<u16>, expects_rejection: bool) -> Option<FailureKind> {
    match outcome.error() {
        Some(ErrorClass::Http4xx) if expects_rejection => failed_check.map(|_| FailureKind::Check),
        Some(class) => Some(FailureKind::Error(class)),
        None => failed_check.map(|_| FailureKind::Check),
    }
}

/// Keep a failed exchange for errors.jsonl while its op and kind have room (the first
/// ones), `${env.*}` values masked; its description is only made then.
fn keep_failure(ctx: &Ctx, job: &Job, (sample, body): (&Sample, &[u8]), sent: Instant) {
    let Some(kind) = failure_kind(sample.outcome, sample.failed_check, sample.expects_rejection) else { return };
    ctx.failures.offer(job.op, kind, || {
        let op = &ctx.requests[job.op];
        let check = sample.failed_check.and_then(|i| ctx.responses[job.op].1.names().into_iter().nth(i.into()));
        let exchange = FailedExchange {
            // To the microsecond: finer than the clock means nothing.
            at_s: (sent.saturating_duration_since(ctx.started).as_secs_f64() * 1e6).round() / 1e6,
            op: op.name.clone(),
            request: FailedExchange::request_line(ctx.secrets.mask(&op.request.request_line(job.parts.as_deref()))),
            status: match sample.outcome {
                Outcome::Response(status) => Some(status),
                Outcome::Failed(_) => None,
            },
            class: kind.as_str().into(),
            check: check.map(|c| ctx.secrets.mask(&c)),
            body: ctx.secrets.mask(&FailedExchange::body_start(body)),
        };
        tracing::debug!(
            "op {}: {} {} -> {}: {}",
            exchange.op,
            exchange.class,
            exchange.request,
            exchange.status.map_or("no answer".into(), |s| s.to_string()),
            exchange.body
        );
        exchange
    });
}

/// Send `job` on the worker's connection (opening one if needed); `phases` gets the
/// connect time of a connection opened for it and the time to first byte. Written
/// through a reference so that a request timeout keeps the phases reached so far.
async fn exchange(ctx: &Ctx, line: &mut Line, job: &Job, phases: &mut Phases) -> (Outcome, Vec<u8>) {
    let slot = &mut line.conn;
    let op = job.op;
    let (extract, check) = &ctx.responses[op];
    let whole = !extract.is_empty() || check.needs_body();
    let reject = job.parts.as_ref().and_then(|p| p.tag).is_some_and(|t| t.expects_rejection());
    // Ops that read answers keep them whole; any other keeps the start of a failing one
    // for the report, while its kind has room, and reads nothing of a good answer.
    let keep = |status: u16| match whole {
        true => MAX_KEPT_BODY,
        false => {
            let kind = failure_kind(Outcome::Response(status), failed_check(check, status, None, reject), reject);
            if kind.is_some_and(|k| ctx.failures.wants(op, k)) { BODY_BYTES } else { 0 }
        }
    };
    // At most two tries: a reused connection the server had just closed, then a fresh one.
    for _ in 0..2 {
        let fresh = slot.as_ref().is_none_or(Conn::is_closed);
        if fresh {
            *slot = None;
            let dialer = ctx.dialer();
            // The connect future (TCP, TLS, the HTTP/2 handshake) is ~9 KB: inline, it
            // would make every worker's task that size for the whole run, so it is boxed
            // while it runs, and made only after the connect-rate wait (16,000 users of a
            // paced storm held 12 KiB each before they connected).
            let dial = || async {
                dialer.tcp.turn().await;
                Box::pin(Conn::connect(&dialer, &ctx.conns)).await
            };
            let opened = match &line.link {
                Some(link) => link.stream(dial).await,
                None => dial().await.map(|c| (c, true)),
            };
            match opened {
                Ok((c, opened)) => {
                    if opened {
                        phases.connect = Some(c.connected_in);
                        phases.tls = c.tls_in;
                    }
                    *slot = Some(c)
                }
                Err(class) => return (Outcome::Failed(class), Vec::new()),
            }
        }
        let Some(conn) = slot.as_mut() else { return (Outcome::Failed(ErrorClass::Other), Vec::new()) };
        let result = conn.exchange(&ctx.requests[op], job.parts.as_deref(), &keep).await;
        // After a status that is no final answer the peer is not speaking HTTP/1.1 to us
        // any more (a 101 hands the connection over to another protocol).
        if !result.as_ref().is_ok_and(|r| is_final_status(r.status)) || !ctx.keep_alive {
            *slot = None;
        }
        match result {
            Ok(resp) => {
                phases.ttfb = Some(resp.ttfb);
                return (Outcome::Response(resp.status), resp.body);
            }
            Err(SendError::NotSent) if !fresh => continue,
            // A brand-new connection closed before the request: the server hangs up on us.
            Err(SendError::NotSent) => return (Outcome::Failed(ErrorClass::Reset), Vec::new()),
            Err(SendError::Failed(class)) => return (Outcome::Failed(class), Vec::new()),
        }
    }
    (Outcome::Failed(ErrorClass::Reset), Vec::new())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testing::{self, PATIENCE, Reply, Server};
    use super::*;

    fn job(op: usize, intended: Instant) -> Job {
        Job { index: 0, op, intended, queued: false, parts: None }
    }

    async fn one(ctx: &Ctx, conn: &mut Line, job: &Job) -> Sample {
        let (_cut_tx, mut cut) = watch::channel(false);
        tokio::time::timeout(PATIENCE, execute(ctx, conn, job, &mut cut)).await.unwrap().unwrap()
    }

    /// A request that waited past its whole budget for a connection is not sent: a client
    /// would have given up. It is a timeout, timed from its intended send.
    #[tokio::test]
    async fn a_request_past_its_deadline_is_a_timeout_and_never_sent() {
        let server = Server::start(Reply::OK).await;
        let plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        let ctx = testing::ctx(&plan, server.addr);
        let late = Instant::now() - plan.target.request_timeout - Duration::from_millis(1);
        let sample = one(&ctx, &mut Line::default(), &job(0, late)).await;
        assert_eq!((sample.outcome, sample.service), (Outcome::Failed(ErrorClass::Timeout), None));
        assert!(sample.latency > plan.target.request_timeout);
        assert_eq!((server.connections(), server.requests()), (0, 0));
    }

    /// A port with nothing listening refuses, and that is its class.
    #[tokio::test]
    async fn a_refused_connection_is_counted_as_refused() {
        // Bound but not listening: connects to it are refused, and no one else can take it.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        let ctx = testing::ctx(&plan, socket.local_addr().unwrap());
        let sample = one(&ctx, &mut Line::default(), &job(0, Instant::now())).await;
        assert_eq!(sample.outcome, Outcome::Failed(ErrorClass::ConnectRefused));
        assert_eq!(ctx.conns.opened.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

    /// A keep-alive connection the server closed after answering is not an error of the
    /// next request's: it goes out on a fresh connection, which it times as its connect.
    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced_for_the_next_request() {
        let server = Server::start(Reply::AnswerThenClose).await;
        let plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        let ctx = testing::ctx(&plan, server.addr);
        let mut conn = Line::default();
        for i in 0..3 {
            let sample = one(&ctx, &mut conn, &job(1, Instant::now())).await;
            assert_eq!(sample.outcome, Outcome::Response(200), "request {i}");
            assert!(sample.phases.connect.is_some(), "request {i} opened its connection");
        }
        assert_eq!((server.connections(), server.requests()), (3, 3));
    }

    /// The drain's cut: a request still in flight is recorded as a timeout at once, and
    /// its connection (with a request outstanding) is dropped, never reused.
    #[tokio::test]
    async fn the_cut_records_a_request_in_flight_as_a_timeout() {
        let server = Server::start(Reply::Hold).await;
        let plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        let ctx = testing::ctx(&plan, server.addr);
        let (cut_tx, mut cut) = watch::channel(false);
        let sent = tokio::spawn({
            let ctx = ctx.clone();
            async move {
                let mut conn = Line::default();
                let sample = execute(&ctx, &mut conn, &job(0, Instant::now()), &mut cut).await;
                (sample, conn.conn.is_none())
            }
        });
        server.wait_for_requests(1).await;
        cut_tx.send(true).unwrap();
        let (sample, dropped) = tokio::time::timeout(PATIENCE, sent).await.unwrap().unwrap();
        assert_eq!(sample.map(|s| s.outcome), Some(Outcome::Failed(ErrorClass::Timeout)));
        assert!(dropped, "the connection was given up");
        assert_eq!(ctx.conns.open.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

    /// The op's checks decide `check_failed`, and what it extracts from a good answer
    /// feeds its capture for later requests.
    #[tokio::test]
    async fn answers_are_checked_and_feed_the_captures() {
        let mut plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        plan.workload.captures = vec!["no".into()];
        plan.ops[0].extract = vec![(0, "/no".into())];
        plan.ops[0].check.equals = vec![("/code".into(), serde_json::json!("0000"))];
        for (body, failed) in [(r#"{"code":"0000","no":"A1"}"#, false), (r#"{"code":"9","no":"B2"}"#, true)] {
            let server = Server::start(Reply::Answer { status: 200, body, delay: Duration::ZERO }).await;
            let ctx = testing::ctx(&plan, server.addr);
            let sample = one(&ctx, &mut Line::default(), &job(0, Instant::now())).await;
            assert_eq!(sample.failed_check.is_some(), failed, "{body}");
            // A 2xx answer feeds the capture whatever its checks say: the number it names exists.
            let no = body.split('"').nth(7).map(String::from);
            assert_eq!(ctx.captures.draw(0, 0, false), no, "{body}");
        }
    }

    /// A failing answer is kept for errors.jsonl with its body's start, secrets masked,
    /// only the first few per op and kind; a good answer of an op that reads no body keeps
    /// nothing. A status the op's check refuses is a failed check, named.
    #[tokio::test]
    async fn failing_answers_are_kept_masked_and_capped() {
        let mut plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        plan.ops[0].check.status = vec![201];
        let body = r#"{"error":"token s3cret refused"}"#;
        let server = Server::start(Reply::Answer { status: 500, body, delay: Duration::ZERO }).await;
        let mut ctx = testing::ctx(&plan, server.addr);
        Arc::get_mut(&mut ctx).unwrap().secrets = super::super::Secrets::new(["s3cret"]);
        let mut conn = Line::default();
        for _ in 0..7 {
            assert_eq!(one(&ctx, &mut conn, &job(1, Instant::now())).await.outcome, Outcome::Response(500));
        }
        let kept = ctx.failures.take().exchanges;
        assert_eq!(kept.len(), einv_report::DEFAULT_ERROR_SAMPLES);
        let e = &kept[0];
        assert_eq!(
            (e.op.as_str(), e.request.as_str(), e.status, e.class.as_str()),
            ("query", "GET /q", Some(500), "http_5xx")
        );
        assert_eq!(e.body, r#"{"error":"token *** refused"}"#);

        let ok = Server::start(Reply::Answer { status: 200, body: "fine", delay: Duration::ZERO }).await;
        let ctx = testing::ctx(&plan, ok.addr);
        assert_eq!(one(&ctx, &mut Line::default(), &job(1, Instant::now())).await.failed_check, None);
        let sample = one(&ctx, &mut Line::default(), &job(0, Instant::now())).await;
        assert_eq!(sample.failed_check, Some(1), "status 200 is not in [201]");
        let kept = ctx.failures.take().exchanges;
        assert_eq!(kept.len(), 1, "the good answer is not kept: {kept:?}");
        let e = &kept[0];
        assert_eq!(
            (e.op.as_str(), e.class.as_str(), e.check.as_deref()),
            ("issue", "check_failed", Some("status in [201]"))
        );
        assert_eq!(e.body, "fine", "a status check reads no body, but a failing answer's start is kept");
    }

    /// `protocol = "http2"` in the clear speaks prior-knowledge h2c: against the built-in
    /// target serving HTTP/2, requests are answered over one HTTP/2 connection, reused.
    #[test]
    fn http2_in_the_clear_is_prior_knowledge_h2c() {
        let server =
            einv_poolsim::live::Server::start_h2(Default::default(), "127.0.0.1:0".parse().unwrap(), 1, false).unwrap();
        let mut plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        plan.target.protocol = crate::profile::Protocol::Http2;
        let ctx = testing::ctx(&plan, server.addr());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcomes = rt.block_on(async {
            let mut conn = Line::default();
            let mut outcomes = Vec::new();
            for _ in 0..3 {
                outcomes.push(one(&ctx, &mut conn, &job(1, Instant::now())).await.outcome);
            }
            (outcomes, conn.conn.map(|c| c.protocol()))
        });
        assert!(outcomes.0.iter().all(|o| matches!(o, Outcome::Response(_))), "{outcomes:?}");
        assert_eq!(outcomes.1, Some(crate::profile::Protocol::Http2));
        let count = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!((count(&ctx.conns.opened), count(&ctx.conns.http2)), (1, 1), "one h2 connection, reused");
        server.stop();
    }

    /// An HTTP/2 server that answers each request's stream with RST_STREAM, or (raw
    /// frames: h2's server counts an accepted stream as processed) the connection with
    /// GOAWAY naming no stream processed and an error code.
    async fn h2_refusing(goaway: bool) -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if !goaway {
                        let Ok(mut conn) = h2::server::handshake(stream).await else { return };
                        while let Some(Ok((_req, mut respond))) = conn.accept().await {
                            respond.send_reset(h2::Reason::REFUSED_STREAM);
                        }
                        return;
                    }
                    let _ = stream.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await;
                    let (mut buf, mut chunk) = (Vec::new(), [0u8; 4096]);
                    // Past the 24-byte preface, frames until the request's HEADERS (type 1).
                    let headers = |b: &[u8]| {
                        let mut at = 24;
                        while b.len() >= at + 9 {
                            if b[at + 3] == 1 {
                                return true;
                            }
                            at += 9 + (usize::from(b[at]) << 16 | usize::from(b[at + 1]) << 8 | usize::from(b[at + 2]));
                        }
                        false
                    };
                    while !headers(&buf) {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let ack_and_goaway =
                        [0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xb];
                    let _ = stream.write_all(&ack_and_goaway).await;
                    // Read on rather than close: a close would reset what the client still sends.
                    let _ = tokio::time::timeout(Duration::from_millis(500), async {
                        while stream.read(&mut chunk).await.is_ok_and(|n| n > 0) {}
                    })
                    .await;
                });
            }
        });
        addr
    }

    /// GOAWAY and RST_STREAM from the server are error classes of their own.
    #[tokio::test]
    async fn http2_goaway_and_rst_stream_are_their_own_classes() {
        let mut plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        plan.target.protocol = crate::profile::Protocol::Http2;
        for (goaway, class) in [(false, ErrorClass::StreamReset), (true, ErrorClass::GoAway)] {
            let ctx = testing::ctx(&plan, h2_refusing(goaway).await);
            let sample = one(&ctx, &mut Line::default(), &job(1, Instant::now())).await;
            assert_eq!(sample.outcome, Outcome::Failed(class), "goaway {goaway}");
        }
    }

    /// An HTTP/2 server that answers a GET at once and takes any other request's stream
    /// without ever answering, granting each stream `window` bytes of flow-control window
    /// (0: a body can never be sent).
    async fn h2_holding(window: u32) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let builder =
                        h2::server::Builder::new().initial_window_size(window).handshake::<_, bytes::Bytes>(stream);
                    let Ok(mut conn) = builder.await else { return };
                    // Held, unanswered, while the connection is driven.
                    let mut held = Vec::new();
                    while let Some(Ok((req, mut respond))) = conn.accept().await {
                        match req.method() {
                            &hyper::Method::GET => drop(respond.send_response(hyper::Response::new(()), true)),
                            _ => held.push((req, respond)),
                        }
                    }
                });
            }
        });
        addr
    }

    /// A request whose body waits for a window the server never grants is a flow-control
    /// stall, not a plain timeout; a request the server could take but never answers is a
    /// timeout. (A GET first: until the server's SETTINGS arrive a client may send with
    /// the default window.)
    #[tokio::test]
    async fn http2_a_body_the_server_never_lets_in_is_a_flow_control_stall() {
        let mut plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        plan.target.protocol = crate::profile::Protocol::Http2;
        plan.target.request_timeout = Duration::from_millis(300);
        for (window, class) in [(0, ErrorClass::FlowStalled), (65_535, ErrorClass::Timeout)] {
            let ctx = testing::ctx(&plan, h2_holding(window).await);
            let mut line = Line::default();
            let first = one(&ctx, &mut line, &job(1, Instant::now())).await;
            assert_eq!(first.outcome, Outcome::Response(200), "window {window}: the GET");
            let sample = one(&ctx, &mut line, &job(0, Instant::now())).await;
            assert_eq!(sample.outcome, Outcome::Failed(class), "window {window}: the POST");
            assert!(sample.latency >= plan.target.request_timeout, "timed as a timeout: {:?}", sample.latency);
        }
    }

    /// A worker's task holds its request's future for the whole run, one per connection
    /// (or closed-loop user): it must stay small, with the ~9 KB connect future boxed
    /// while it runs (16,000 held connections cost 12 KiB each before it was).
    #[test]
    fn a_requests_future_is_small_with_the_connect_boxed() {
        let plan = testing::plan("[load]\nmode = \"closed\"\nduration = \"1s\"");
        let ctx = testing::ctx(&plan, "127.0.0.1:9".parse().unwrap());
        let (_cut_tx, mut cut) = watch::channel(false);
        let (mut line, job) = (Line::default(), job(0, Instant::now()));
        let request = std::mem::size_of_val(&execute(&ctx, &mut line, &job, &mut cut));
        let connect = std::mem::size_of_val(&Conn::connect(&ctx.dialer(), &ctx.conns));
        assert!(request < 2048 && request < connect / 4, "a request's future {request} B, a connect's {connect} B");
    }

    /// Each thread records into a slot of its own, and always the same one.
    #[test]
    fn each_thread_has_a_recorder_slot_of_its_own() {
        let here = recorder_slot();
        assert_eq!(recorder_slot(), here);
        let there = std::thread::spawn(recorder_slot).join().unwrap();
        assert_ne!(there, here);
    }
}
