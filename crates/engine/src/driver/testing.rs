//! What the driver's unit tests share: a small HTTP/1.1 server on 127.0.0.1:0 that counts
//! what it gets and answers as told, and a context for the driver aimed at it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use einv_report::{Recorder, Stats};
use einv_workload::Captures;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::Ctx;
use crate::profile::Plan;

/// How long a test waits for something at most: a bound on a hang, never a claim on speed.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How the test server answers each request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// This status and body, on a keep-alive connection, after holding it for `delay`.
    Answer { status: u16, body: &'static str, delay: Duration },
    /// 200, then it closes the connection without saying so beforehand.
    AnswerThenClose,
    /// Never: the request is read and counted, and the connection kept open.
    Hold,
}

impl Reply {
    pub const OK: Reply = Reply::Answer { status: 200, body: "", delay: Duration::ZERO };
}

/// The server; dropping it stops it.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    seen: Arc<Seen>,
    task: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Seen {
    connections: AtomicU64,
    paths: Mutex<Vec<String>>,
}

impl Server {
    pub async fn start(reply: Reply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    seen.connections.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(serve(stream, reply, seen.clone()));
                }
            }
        });
        Server { addr, seen, task }
    }

    /// The paths of the requests read so far, in order.
    pub fn paths(&self) -> Vec<String> {
        self.seen.paths.lock().unwrap().clone()
    }

    pub fn requests(&self) -> usize {
        self.seen.paths.lock().unwrap().len()
    }

    pub fn connections(&self) -> u64 {
        self.seen.connections.load(Ordering::Relaxed)
    }

    /// Wait until at least `n` requests have come in (at most [`PATIENCE`]).
    pub async fn wait_for_requests(&self, n: usize) {
        let waited = tokio::time::timeout(PATIENCE, async {
            while self.requests() < n {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        waited.await.unwrap_or_else(|_| panic!("{} of {n} requests came", self.requests()));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: read each request (head and content-length body), answer as told.
async fn serve(mut stream: TcpStream, reply: Reply, seen: Arc<Seen>) {
    let mut buf = Vec::new();
    loop {
        let Some(head_end) = read_until_head_end(&mut stream, &mut buf).await else { return };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let length: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            if read_more(&mut stream, &mut buf).await.is_none() {
                return;
            }
        }
        buf.drain(..head_end + length);
        let path = head.split(' ').nth(1).unwrap_or("").to_string();
        seen.paths.lock().unwrap().push(path);
        let (status, body, delay) = match reply {
            Reply::Answer { status, body, delay } => (status, body, delay),
            Reply::AnswerThenClose => (200, "", Duration::ZERO),
            Reply::Hold => return std::future::pending().await,
        };
        tokio::time::sleep(delay).await;
        let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        if stream.write_all(answer.as_bytes()).await.is_err() || matches!(reply, Reply::AnswerThenClose) {
            return;
        }
    }
}

/// The end of the request head in `buf` (reading more as needed); `None` at the end.
async fn read_until_head_end(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        read_more(stream, buf).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}

/// A plan with ops `issue` (POST /i, weight 1) and `query` (GET /q, weight 3) and the
/// given `[load]` (and any further tables), sending to an http:// target.
pub fn plan(load: &str) -> Plan {
    let src = format!(
        "schema = 1\nname = \"t\"\nseed = 5\n[target]\nurl = \"http://127.0.0.1:9\"\nrequest-timeout = \"5s\"\n\
         {load}\n[[op]]\nname = \"issue\"\nweight = 1\nmethod = \"POST\"\npath = \"/i\"\nbody = \"{{}}\"\n\
         [[op]]\nname = \"query\"\nweight = 3\npath = \"/q\"\n"
    );
    Plan::parse(&src, Path::new("t.toml")).unwrap()
}

/// The driver's context for `plan`, aimed at `addr`, recording into a recorder of its own.
pub fn ctx(plan: &Plan, addr: SocketAddr) -> Arc<Ctx> {
    let recorder = Arc::new(Recorder::new(plan.ops.len(), 2));
    let captures = Arc::new(Captures::new(plan.workload.captures.len(), 16));
    Arc::new(Ctx::new(plan, addr, ("127.0.0.1", ""), recorder, captures))
}

/// Everything recorded so far, per op.
pub fn recorded(ctx: &Ctx) -> Vec<Stats> {
    let mut stats: Vec<Stats> = ctx.requests.iter().map(|_| Stats::new()).collect();
    ctx.recorder.drain_into(&mut stats);
    stats
}
