//! Criterion bench of the discrete-event engine: simulated requests per CPU-second.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use einv_poolsim::RateLimit;
use einv_poolsim::des::{Arrival, PoolParams, ServiceParams, Sim};

fn des(c: &mut Criterion) {
    // Pool 200, hold 20 ms, 9,000 arrivals/s evenly spaced (90 % load), 100k requests.
    let n = 100_000u64;
    let mut group = c.benchmark_group("des");
    group.throughput(Throughput::Elements(n));
    group.bench_function("pool200-rho0.9-100k-requests", |b| {
        b.iter(|| {
            let params = PoolParams { size: 200, acquire_timeout: Some(Duration::from_secs(1)), client_timeout: None };
            let mut sim = Sim::new(params);
            let mut done = 0u64;
            let mut emit = |_| done += 1;
            for i in 0..n {
                // Holds vary a little so connections free at different times.
                let hold = Duration::from_micros(15_000 + (i * 7919) % 10_000);
                sim.arrive(0, Duration::from_nanos(i * 1_000_000_000 / 9_000), hold, &mut emit);
            }
            sim.finish(&mut emit);
            done
        })
    });
    // The same load through 250 workers (queue bound 500), a rate limit above the load,
    // and 1 ms of handler overhead: the cost of the service in front of the pool.
    group.bench_function("pool200-workers250-ratelimit-100k-requests", |b| {
        b.iter(|| {
            let params = PoolParams { size: 200, acquire_timeout: Some(Duration::from_secs(1)), client_timeout: None };
            let service = ServiceParams {
                workers: Some(250),
                queue_limit: Some(500),
                rate_limit: Some(RateLimit { rate: 10_000.0, burst: 200 }),
            };
            let mut sim = Sim::with_service(params, service);
            let mut done = 0u64;
            let mut emit = |_| done += 1;
            for i in 0..n {
                let hold = Duration::from_micros(15_000 + (i * 7919) % 10_000);
                let at = Duration::from_nanos(i * 1_000_000_000 / 9_000);
                sim.offer(Arrival { tag: 0, at, hold, overhead: Duration::from_millis(1) }, &mut emit);
            }
            sim.finish(&mut emit);
            done
        })
    });
    group.finish();
}

criterion_group!(benches, des);
criterion_main!(benches);
