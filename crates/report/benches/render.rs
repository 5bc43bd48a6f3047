//! Criterion bench of rendering a report: a one-hour run (3,600 one-second intervals,
//! four ops, pool gauges) turned into every derived file (charts, index.html, summary.md,
//! junit.xml, .hgrm) written to disk; and reading such a folder back (`einv-load report`).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use einv_report::{
    Connections, Finish, Limit, Limits, Metric, Outcome, Phases, PoolInterval, PoolLog, RunInfo, RunLog, Sample, Saved,
    SloSpec, Stats, render_folder,
};

const SECONDS: u64 = 3600;
const OPS: [&str; 4] = ["issue", "query", "red_flush", "download"];

/// Record the hour into `dir` (a few hundred requests a second, a slow spell and an
/// error burst so every chart has something to draw) and return it as `report` reads it.
fn one_hour(dir: &std::path::Path) -> Saved {
    let ops: Vec<String> = OPS.iter().map(|s| s.to_string()).collect();
    let mut log = RunLog::create(dir, &ops, SystemTime::now(), "bench").unwrap();
    let mut pool = PoolLog::create(dir, 100).unwrap();
    let mut interval = vec![Stats::new(); OPS.len()];
    for s in 0..SECONDS {
        let slow = if (1800..1900).contains(&s) { 20 } else { 1 };
        for i in 0..200u64 {
            let ms = (1 + (i * 37 + s * 11) % 30) * slow;
            let outcome = if slow > 1 && i % 10 == 0 { Outcome::Response(503) } else { Outcome::Response(200) };
            let sample = Sample {
                latency: Duration::from_millis(ms),
                service: Some(Duration::from_millis(ms / 2 + 1)),
                send_lag: Duration::from_micros(i * 3),
                outcome,
                queued: false,
                failed_check: None,
                tag: None,
                expects_rejection: false,
                phases: Phases {
                    connect: (i == 0).then(|| Duration::from_micros(120)),
                    tls: None,
                    ttfb: Some(Duration::from_millis(ms / 2)),
                },
            };
            interval[(i % 4) as usize].record(&sample);
        }
        let start = Duration::from_secs(s);
        log.push(start, Duration::from_secs(1), 200.0, (30 + s % 7, 0), &mut interval).unwrap();
        let mut p = PoolInterval { active: 60 + s % 40, pending: s % 5, mean_active: 70.0, ..Default::default() };
        pool.push(start.as_secs_f64(), 1.0, &mut p);
    }
    assert_eq!(pool.finish().2, None);
    let finish = Finish {
        run: RunInfo {
            name: "one-hour".into(),
            profile: "bench.toml".into(),
            seed: 1,
            target: "http://127.0.0.1:1".into(),
            mode: "open".into(),
            started_at: "2026-11-21T00:00:00Z".into(),
            duration_s: SECONDS as f64,
            drain_s: 0.0,
            planned_duration_s: SECONDS as f64,
            shard: None,
            start: None,
            threads: None,
        },
        scheduled: vec![SECONDS * 50; OPS.len()],
        target_rate: 200.0,
        slo: SloSpec {
            overall: Limits::from([
                (Metric::Percentile(einv_report::Quantile::P99), Limit::Time(Duration::from_millis(200))),
                (Metric::ErrorRate, Limit::Value(0.01)),
            ]),
            ..SloSpec::default()
        },
        percentiles: einv_report::Quantile::DEFAULT.into(),
        connections: Connections { limit: 64, opened: 40, max_open: 37, http2: 0, max_in_flight: 0, streams: 0 },
        lag_warning: Duration::from_millis(10),
        interrupted: false,
        tags: Vec::new(),
        checks: Vec::new(),
        errors: None,
        pool: None,
    };
    log.finish(finish).unwrap();
    Saved::load(dir).unwrap()
}

fn render(c: &mut Criterion) {
    let data = tempfile::tempdir().unwrap();
    let saved = one_hour(data.path());
    assert_eq!(saved.folder.timeseries.len(), SECONDS as usize);
    let out = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("report");
    group.sample_size(20);
    group.bench_function("render one-hour run (3600 intervals, 4 ops)", |b| {
        b.iter(|| black_box(render_folder(out.path(), black_box(&saved)).unwrap()))
    });
    group.bench_function("load one-hour folder (summary, csv, hlog)", |b| {
        b.iter(|| black_box(Saved::load(data.path()).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
