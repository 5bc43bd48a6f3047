//! The built-in target's door: the token bucket answers 429, a full worker queue 503, and
//! /metrics counts both.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use super::Server;
use crate::{Hold, ModelSpec, RateLimit};

fn send(addr: SocketAddr, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let method = if path == "/metrics" { "GET" } else { "POST" };
    let req = format!("{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

const CALLBACK: &str = "/api/v1/payments/callback";

#[test]
fn an_empty_bucket_answers_429_and_metrics_count_it() {
    // One token, refilled once in 1,000 s: the second request finds the bucket empty.
    let spec = ModelSpec { rate_limit: Some(RateLimit { rate: 0.001, burst: 1 }), ..ModelSpec::default() };
    let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
    assert!(send(server.addr(), CALLBACK).starts_with("HTTP/1.1 200"));
    let refused = send(server.addr(), CALLBACK);
    assert!(refused.starts_with("HTTP/1.1 429") && refused.contains("E429"), "{refused}");
    assert!(refused.to_ascii_lowercase().contains("retry-after: 1"), "{refused}");
    let metrics = send(server.addr(), "/metrics");
    assert!(metrics.contains("einv_rate_limited_total 1"), "{metrics}");
}

#[test]
fn a_full_worker_queue_answers_503_at_once() {
    let mut spec = ModelSpec { workers: Some(1), queue_limit: Some(0), ..ModelSpec::default() };
    spec.set_hold(crate::Operation::PaymentCallback, Hold::Constant(Duration::from_millis(400)));
    let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let addr = server.addr();
    let first = std::thread::spawn(move || send(addr, CALLBACK));
    std::thread::sleep(Duration::from_millis(100));
    let metrics = send(addr, "/metrics");
    assert!(metrics.contains("einv_workers_busy 1"), "{metrics}");
    let started = std::time::Instant::now();
    let refused = send(addr, CALLBACK);
    assert!(refused.starts_with("HTTP/1.1 503") && refused.contains("queue full"), "{refused}");
    assert!(started.elapsed() < Duration::from_millis(200), "refused at once, not after the hold");
    assert!(first.join().unwrap().starts_with("HTTP/1.1 200"));
    assert!(send(addr, "/metrics").contains("einv_queue_full_total 1"));
}
