//! `merge` is exact: k shard folders merged give the percentiles of one histogram holding
//! every value, and every counter adds up.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use einv_report::{
    Connections, FailedExchange, FailureKind, FailureSampler, Finish, Limit, Limits, Metric, Outcome, Phases, RunInfo,
    RunLog, Sample, SloSpec, Stats, Summary, new_histogram, read_errors_jsonl, read_hlog, read_timeseries,
};

const OPS: [&str; 2] = ["issue", "query"];
const SECONDS: u64 = 5;

/// xorshift: random enough, and the same values every time.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One request: (shard, second, op, sample).
fn requests(k: u64, n: usize) -> Vec<(u64, u64, usize, Sample)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|_| {
            // Log-uniform from 50 us to ~5 s, so every HDR bucket size is exercised.
            let us = (50.0 * 10f64.powf((rng.next() % 10_000) as f64 / 2_500.0)) as u64;
            // Some requests opened a connection, most of those over TLS; all got a first byte.
            let connect = rng.next().is_multiple_of(5).then(|| Duration::from_micros(50 + rng.next() % 5_000));
            let tls = connect
                .filter(|_| !rng.next().is_multiple_of(4))
                .map(|_| Duration::from_micros(200 + rng.next() % 20_000));
            let status = [200, 200, 200, 200, 200, 200, 200, 404, 500, 503][(rng.next() % 10) as usize];
            let sample = Sample {
                latency: Duration::from_micros(us),
                service: Some(Duration::from_micros(us / 2 + 1)),
                send_lag: Duration::from_micros(us / 2),
                outcome: Outcome::Response(status),
                queued: rng.next().is_multiple_of(5),
                failed_check: rng.next().is_multiple_of(17).then_some(1),
                tag: rng.next().is_multiple_of(20).then_some((rng.next() % 2) as usize),
                expects_rejection: false,
                phases: Phases { connect, tls, ttfb: Some(Duration::from_micros(1 + rng.next() % 300_000)) },
            };
            (rng.next() % k, rng.next() % SECONDS, (rng.next() % 2) as usize, sample)
        })
        .collect()
}

/// Write a report folder holding the requests `pick` selects, as a run started at `start`.
fn folder(
    dir: &Path,
    reqs: &[(u64, u64, usize, Sample)],
    pick: impl Fn(u64) -> bool,
    shard: Option<String>,
    start: SystemTime,
) -> Summary {
    std::fs::create_dir_all(dir).unwrap();
    let ops: Vec<String> = OPS.iter().map(|s| s.to_string()).collect();
    let mut log = RunLog::create(dir, &ops, start, "test").unwrap();
    let mut scheduled = vec![0u64; OPS.len()];
    let failures = FailureSampler::new(OPS.len(), 3);
    for second in 0..SECONDS {
        let mut interval = vec![Stats::new(); OPS.len()];
        for (i, (_, _, op, s)) in reqs.iter().enumerate().filter(|(_, (sh, sec, ..))| pick(*sh) && *sec == second) {
            interval[*op].record(s);
            scheduled[*op] += 1;
            offer(&failures, (second, i, *op), s);
        }
        let (at, len) = (Duration::from_secs(second), Duration::from_secs(1));
        log.push(at, len, 100.0, (4, 0), &mut interval).unwrap();
    }
    let fraction = if shard.is_some() { 1.0 / 3.0 } else { 1.0 };
    let finish = Finish {
        run: RunInfo {
            name: "merge-test".into(),
            profile: "profiles/merge-test.toml".into(),
            seed: 7,
            target: "builtin".into(),
            mode: "open".into(),
            started_at: humanish(start),
            duration_s: SECONDS as f64,
            drain_s: 0.0,
            planned_duration_s: SECONDS as f64,
            shard,
            start: None,
            threads: None,
        },
        scheduled,
        target_rate: 300.0 * fraction,
        slo: SloSpec {
            overall: Limits::from([
                (Metric::Percentile(einv_report::Quantile::P99), Limit::Time(Duration::from_millis(1000))),
                (Metric::ErrorRate, Limit::Value(0.5)),
            ]),
            ..SloSpec::default()
        },
        // A list of the profile's own, which the merged report keeps.
        percentiles: [50.0, 99.0, 99.99].map(|p| einv_report::Quantile::from_percent(p).unwrap()).into(),
        connections: Connections { limit: 8, opened: 5, max_open: 4, http2: 0, max_in_flight: 0, streams: 0 },
        lag_warning: Duration::from_secs(3600),
        interrupted: false,
        tags: vec![("duplicate".into(), false), ("bad_check_digit".into(), true)],
        checks: vec![vec!["rejected".into(), "status in [200]".into()]; OPS.len()],
        errors: Some(failures.take()),
        pool: None,
    };
    log.finish(finish).unwrap()
}

/// Offer a failing request to the sampler as a run would: timed within its second by its
/// index, so that every folder orders a second's failures the same way.
fn offer(failures: &FailureSampler, (second, i, op): (u64, usize, usize), s: &Sample) {
    let kind = match (s.outcome.error(), s.failed_check) {
        (Some(class), _) => FailureKind::Error(class),
        (None, Some(_)) => FailureKind::Check,
        (None, None) => return,
    };
    let Outcome::Response(status) = s.outcome else { return };
    failures.offer(op, kind, || FailedExchange {
        at_s: second as f64 + i as f64 * 1e-6,
        op: OPS[op].into(),
        request: format!("GET /{i}"),
        status: Some(status),
        class: kind.as_str().into(),
        check: s.failed_check.map(|_| "status in [200]".into()),
        body: format!("answer {i}"),
    });
}

fn humanish(t: SystemTime) -> String {
    format!("{}", t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis())
}

fn shards(root: &Path, reqs: &[(u64, u64, usize, Sample)], k: u64, apart: Duration) -> Vec<PathBuf> {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    (0..k)
        .map(|j| {
            let dir = root.join(format!("shard{j}"));
            folder(&dir, reqs, |s| s == j, Some(format!("{j}/{k}")), t0 + apart * j as u32);
            dir
        })
        .collect()
}

/// Merge `dirs` into a new folder `merged` under `root`: (that folder, the summary).
fn merged_into(root: &Path, dirs: &[PathBuf]) -> (PathBuf, Summary) {
    let out = root.join("merged");
    std::fs::create_dir(&out).unwrap();
    let merged = einv_report::merge(dirs, &out).unwrap();
    (out, merged)
}

#[test]
fn merged_percentiles_equal_one_histogram_of_all_values() {
    let root = tempfile::tempdir().unwrap();
    let reqs = requests(3, 20_000);
    let dirs = shards(root.path(), &reqs, 3, Duration::from_millis(300));
    let (out, merged) = merged_into(root.path(), &dirs);

    // One histogram holding every timed latency, straight from the values.
    let mut all = new_histogram();
    for (_, _, _, s) in &reqs {
        all.record(s.latency.as_micros() as u64).unwrap();
    }
    let lat = &merged.overall.latency_ms;
    let ms = |q: f64| all.value_at_quantile(q) as f64 / 1000.0;
    assert_eq!(lat.count, reqs.len() as u64);
    let q = |p: f64| lat.get(einv_report::Quantile::from_percent(p).unwrap()).unwrap();
    assert_eq!((q(50.0), q(90.0), q(99.0), q(99.9), q(99.99)), (ms(0.5), ms(0.9), ms(0.99), ms(0.999), ms(0.9999)));
    assert_eq!(lat.max, all.max() as f64 / 1000.0);

    // The same run recorded in one folder: every figure of summary.json agrees.
    let one = folder(&root.path().join("one"), &reqs, |_| true, None, SystemTime::UNIX_EPOCH);
    assert_eq!(merged.overall, one.overall);
    assert_eq!(merged.ops, one.ops);
    assert_eq!(merged.slo, one.slo);
    assert_eq!(merged.overall.requests.sent, 20_000);
    assert_eq!(
        merged.connections,
        Connections { limit: 24, opened: 15, max_open: 12, http2: 0, max_in_flight: 0, streams: 0 }
    );
    assert!(merged.overall.injected["duplicate"].sent > 0);
    let tls = reqs.iter().filter(|(_, _, _, s)| s.phases.tls.is_some()).count() as u64;
    assert!(tls > 1_000 && merged.overall.phases.tls.count == tls, "every TLS handshake merged: {tls}");
    assert_eq!(merged.overall.phases.tls, one.overall.phases.tls);
    assert!(merged.warnings.is_empty(), "{:?}", merged.warnings);
    assert!(merged.ops["query"].failed_checks["status in [200]"] > 100);

    // The failing exchanges: the first 3 per op and class of all shards, as one run keeps them.
    let sample = read_errors_jsonl(&out.join("errors.jsonl")).unwrap();
    let one_sample = read_errors_jsonl(&root.path().join("one/errors.jsonl")).unwrap();
    assert_eq!(sample, one_sample);
    assert_eq!(sample.len(), OPS.len() * 3 * 3, "2 ops x (http_4xx, http_5xx, check_failed) x 3");
    assert_eq!(merged.error_samples, Some(3));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains(&sample[0].body) && html.contains("Failing exchanges"));

    // Interval by interval too: the time series and the interval log.
    let rows = read_timeseries(&out.join("timeseries.csv")).unwrap();
    let one_rows = read_timeseries(&root.path().join("one/timeseries.csv")).unwrap();
    assert_eq!(rows.len(), SECONDS as usize);
    for (a, b) in rows.iter().zip(&one_rows) {
        assert_eq!(
            (a.sent, a.errors, a.latency_p99_ms, a.service_p99_ms),
            (b.sent, b.errors, b.latency_p99_ms, b.service_p99_ms)
        );
        assert_eq!(a.connections, 12);
    }
    let total: u64 = read_hlog(&out.join("histograms.hlog"))
        .unwrap()
        .iter()
        .filter(|e| e.tag.is_none())
        .map(|e| e.histogram.len())
        .sum();
    assert_eq!(total, reqs.len() as u64);
    for f in ["latency.hgrm", "service.hgrm", "latency-spectrum.svg", "latency-timeline.svg"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("latency.hgrm")).unwrap(),
        std::fs::read_to_string(root.path().join("one/latency.hgrm")).unwrap()
    );
}

#[test]
fn shards_started_apart_line_up_by_wall_clock_and_stay_exact() {
    let root = tempfile::tempdir().unwrap();
    let reqs = requests(2, 4_000);
    let dirs = shards(root.path(), &reqs, 2, Duration::from_secs(3));
    let (out, merged) = merged_into(root.path(), &dirs);
    assert_eq!(merged.overall.requests.sent, 4_000);
    assert_eq!(merged.run.duration_s, 8.0, "3 s apart, 5 s each");
    assert!(merged.warnings.iter().any(|w| w.contains("3.0 s apart")), "{:?}", merged.warnings);
    let rows = read_timeseries(&out.join("timeseries.csv")).unwrap();
    let starts: Vec<f64> = rows.iter().map(|r| r.start_s).collect();
    assert_eq!(starts, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    assert_eq!(rows.iter().map(|r| r.sent).sum::<u64>(), 4_000);
}

#[test]
fn folders_of_different_runs_or_the_same_shard_twice_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let reqs = requests(2, 500);
    let dirs = shards(root.path(), &reqs, 2, Duration::ZERO);
    let out = root.path().join("merged");

    let err = |dirs: &[PathBuf]| einv_report::merge(dirs, &out).unwrap_err();

    let e = err(&[dirs[0].clone(), dirs[0].clone()]);
    assert!(e.is_bad_input() && e.to_string().contains("count it twice"), "{e}");

    let mut other: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dirs[1].join("summary.json")).unwrap()).unwrap();
    other["run"]["seed"] = 8.into();
    std::fs::write(dirs[1].join("summary.json"), other.to_string()).unwrap();
    let e = err(&dirs);
    assert!(e.is_bad_input() && e.to_string().contains("seed 7 vs 8"), "{e}");

    std::fs::remove_file(dirs[1].join("histograms.hlog")).unwrap();
    let e = err(&dirs);
    assert!(e.to_string().contains("histograms.hlog is missing"), "{e}");
    assert!(!out.exists(), "nothing written on bad input");
}

#[test]
fn a_missing_shard_is_reported_not_hidden() {
    let root = tempfile::tempdir().unwrap();
    let reqs = requests(3, 900);
    let dirs = shards(root.path(), &reqs, 3, Duration::ZERO);
    let (_, merged) = merged_into(root.path(), &dirs[..2]);
    assert!(merged.warnings.iter().any(|w| w.contains("shards 2/3 were not merged")), "{:?}", merged.warnings);
}
