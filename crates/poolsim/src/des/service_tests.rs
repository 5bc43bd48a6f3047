//! What stands in front of the pool: workers, their queue bound, the rate limit, and the
//! handler's overhead.

use super::*;
use crate::RateLimit;

const MS: Duration = Duration::from_millis(1);

fn sim(size: usize, service: ServiceParams) -> Sim {
    let params = PoolParams { size, acquire_timeout: Some(Duration::from_secs(10)), client_timeout: None };
    Sim::with_service(params, service)
}

/// `n` requests at `rate` a second, evenly spaced, each holding `hold`; all completions.
fn run(sim: &mut Sim, n: u64, rate: f64, hold: Duration, overhead: Duration) -> Vec<Completion> {
    let mut out = Vec::new();
    for i in 0..n {
        let at = Duration::from_secs_f64(i as f64 / rate);
        sim.offer(Arrival { tag: 0, at, hold, overhead }, &mut |c| out.push(c));
    }
    sim.finish(&mut |c| out.push(c));
    out
}

fn count(cs: &[Completion], outcome: SimOutcome) -> usize {
    cs.iter().filter(|c| c.outcome == outcome).count()
}

#[test]
fn fewer_workers_than_connections_cap_concurrency() {
    // 100 requests at once, 10 ms each: a pool of 10 alone would finish in 100 ms, but
    // only 4 workers serve at a time, so the last answer comes at 25 x 10 ms.
    let mut s = sim(10, ServiceParams { workers: Some(4), ..ServiceParams::default() });
    let mut max_busy = 0;
    let mut out = Vec::new();
    for _ in 0..100 {
        s.offer(Arrival { tag: 0, at: Duration::ZERO, hold: 10 * MS, overhead: Duration::ZERO }, &mut |c| out.push(c));
        max_busy = max_busy.max(s.gauges().0);
    }
    assert_eq!(s.workers(), (4, 96));
    s.finish(&mut |c| out.push(c));
    assert_eq!(max_busy, 4, "never more connections in use than workers");
    assert_eq!(out.iter().map(|c| c.end).max(), Some(250 * MS));
    assert_eq!(count(&out, SimOutcome::Ok), 100);
    let last = out.iter().max_by_key(|c| c.end).unwrap();
    assert_eq!((last.queued, last.waited), (240 * MS, Duration::ZERO), "the wait is for a worker, not the pool");

    let mut unlimited = sim(10, ServiceParams::default());
    let out = run(&mut unlimited, 100, 1e9, 10 * MS, Duration::ZERO);
    assert!(out.iter().map(|c| c.end).max().unwrap() < 101 * MS);
}

#[test]
fn a_queue_bound_refuses_with_503_only_at_overload() {
    // 10 workers x 10 ms = 1,000 requests/s.
    let service = ServiceParams { workers: Some(10), queue_limit: Some(20), ..ServiceParams::default() };
    let below = run(&mut sim(100, service), 8_000, 800.0, 10 * MS, Duration::ZERO);
    assert_eq!(count(&below, SimOutcome::QueueFull), 0, "80 % load never fills the queue");
    assert_eq!(count(&below, SimOutcome::Ok), 8_000);
    let over = run(&mut sim(100, service), 20_000, 2_000.0, 10 * MS, Duration::ZERO);
    let (ok, full) = (count(&over, SimOutcome::Ok), count(&over, SimOutcome::QueueFull));
    assert_eq!(ok + full, 20_000);
    // 10 s at 1,000/s served (plus the queue's 20 and the workers' 10 at the end).
    assert!((10_000..=10_040).contains(&ok), "served {ok}");
    let refused = over.iter().find(|c| c.outcome == SimOutcome::QueueFull).unwrap();
    assert_eq!(refused.end, refused.arrival, "a refusal is immediate");
    // A bounded queue bounds the wait: 20 ahead at 1 ms each.
    let worst = over.iter().filter(|c| c.outcome == SimOutcome::Ok).map(|c| c.end - c.arrival).max().unwrap();
    assert!(worst <= 31 * MS, "worst latency {worst:?}");
}

#[test]
fn a_token_bucket_passes_rate_times_time_plus_burst() {
    let rate_limit = Some(RateLimit { rate: 1_000.0, burst: 50 });
    let mut s = sim(1_000_000, ServiceParams { rate_limit, ..ServiceParams::default() });
    // 5,000/s for 2 s: 10,000 offered, 1,000 x 2 s + 50 let through (the last arrival is
    // at 1.9998 s, so the bucket has refilled 1,999.8 tokens by then).
    let out = run(&mut s, 10_000, 5_000.0, MS, Duration::ZERO);
    let passed = count(&out, SimOutcome::Ok);
    assert!((2_048..=2_050).contains(&passed), "passed {passed}");
    assert_eq!(count(&out, SimOutcome::RateLimited), 10_000 - passed);
    // Below the rate, nothing is refused.
    let mut s = sim(1_000_000, ServiceParams { rate_limit, ..ServiceParams::default() });
    assert_eq!(count(&run(&mut s, 1_000, 900.0, MS, Duration::ZERO), SimOutcome::RateLimited), 0);
}

#[test]
fn overhead_adds_to_latency_and_holds_the_worker_not_the_connection() {
    let service = ServiceParams { workers: Some(1), ..ServiceParams::default() };
    let out = run(&mut sim(1, service), 10, 100.0, 5 * MS, 2 * MS);
    for c in &out {
        assert_eq!((c.end - c.arrival, c.held), (7 * MS, 5 * MS), "{c:?}");
    }
    // One worker, 5 ms in the pool + 2 ms after: 7 ms per request, so requests 5 ms apart
    // queue for the worker (not for the pool, which it frees 2 ms early).
    let out = run(&mut sim(1, service), 3, 200.0, 5 * MS, 2 * MS);
    let ends: Vec<_> = out.iter().map(|c| c.end).collect();
    assert_eq!(ends, [7 * MS, 14 * MS, 21 * MS]);
    assert!(out.iter().all(|c| c.waited.is_zero()));
}

#[test]
fn a_pool_timeout_frees_the_worker_for_the_next_request() {
    // One connection held 1 s; acquire timeout 50 ms; two workers. The second request
    // times out at 50 ms and its worker then serves the third, which times out at 100 ms.
    let params = PoolParams { size: 1, acquire_timeout: Some(50 * MS), client_timeout: None };
    let mut s = Sim::with_service(params, ServiceParams { workers: Some(2), ..ServiceParams::default() });
    let mut out = Vec::new();
    for _ in 0..3 {
        s.offer(Arrival { tag: 0, at: Duration::ZERO, hold: 1000 * MS, overhead: Duration::ZERO }, &mut |c| {
            out.push(c)
        });
    }
    s.finish(&mut |c| out.push(c));
    let mut timeouts: Vec<_> = out.iter().filter(|c| c.outcome == SimOutcome::PoolTimeout).map(|c| c.end).collect();
    timeouts.sort();
    assert_eq!(timeouts, [50 * MS, 100 * MS]);
}
