//! Criterion benches of the recording hot path: one sample into a slot, and the
//! once-a-second drain of every slot.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use einv_report::{Outcome, Phases, Recorder, Sample, Stats};

fn record(c: &mut Criterion) {
    let rec = Recorder::new(6, 8);
    let mut i = 0u64;
    // A keep-alive request: a time to first byte, and a connect one time in a thousand.
    let phases = |i: u64| Phases {
        connect: i.is_multiple_of(1000).then(|| Duration::from_micros(80 + i % 50)),
        tls: None,
        ttfb: Some(Duration::from_micros(300 + i % 9_000)),
    };
    for (name, timed) in [("recorder/record", false), ("recorder/record-with-phases", true)] {
        c.bench_function(name, |b| {
            b.iter(|| {
                i = i.wrapping_add(7919);
                let sample = Sample {
                    latency: Duration::from_micros(500 + i % 20_000),
                    service: Some(Duration::from_micros(400 + i % 10_000)),
                    send_lag: Duration::from_micros(i % 300),
                    outcome: Outcome::Response(200),
                    queued: false,
                    failed_check: None,
                    tag: None,
                    expects_rejection: false,
                    phases: if timed { phases(i) } else { Phases::default() },
                };
                rec.record(black_box(3), (i % 6) as usize, &sample)
            })
        });
    }
    let mut interval = vec![Stats::new(); 6];
    c.bench_function("recorder/drain-6-ops-8-slots", |b| {
        b.iter(|| {
            rec.drain_into(&mut interval);
            interval.iter_mut().for_each(Stats::reset);
        })
    });
}

criterion_group!(benches, record);
criterion_main!(benches);
