//! The built-in target's door: the token bucket answers 429, a full worker queue 503, and
//! /metrics counts both.

use std::net::SocketAddr;
use std::time::Duration;

use super::Server;
use super::test_client::{await_metric, exchange, request};
use crate::{Hold, ModelSpec, RateLimit};

fn send(addr: SocketAddr, path: &str) -> String {
    let method = if path == "/metrics" { "GET" } else { "POST" };
    exchange(addr, &request(method, path, "{}", true))
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
    // The only worker is busy for 3 s (slack for a busy machine) and nobody may queue.
    let mut spec = ModelSpec { workers: Some(1), queue_limit: Some(0), ..ModelSpec::default() };
    spec.set_hold(crate::Operation::PaymentCallback, Hold::Constant(Duration::from_millis(3000)));
    let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let addr = server.addr();
    let first = std::thread::spawn(move || send(addr, CALLBACK));
    let metrics = await_metric(addr, "einv_workers_busy 1\n");
    assert!(metrics.contains("einv_workers_busy 1\n"), "{metrics}");
    let refused = send(addr, CALLBACK);
    assert!(refused.starts_with("HTTP/1.1 503") && refused.contains("queue full"), "{refused}");
    // At once, not after the hold: the first request still has the worker.
    let after = send(addr, "/metrics");
    assert!(after.contains("einv_workers_busy 1\n") && after.contains("einv_queue_full_total 1\n"), "{after}");
    assert!(first.join().unwrap().starts_with("HTTP/1.1 200"));
}
