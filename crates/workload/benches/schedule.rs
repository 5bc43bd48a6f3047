//! Criterion benches of schedule generation and op picking.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use einv_workload::{Arrivals, Mix, Schedule, Stage};

fn schedule(c: &mut Criterion) {
    let stages = [Stage::Ramp { from: 1000.0, to: 9000.0, duration: Duration::from_secs(20) }];
    for (name, arrivals) in [("uniform", Arrivals::Uniform), ("poisson", Arrivals::Poisson)] {
        c.bench_function(&format!("schedule/{name}/100k-arrivals"), |b| {
            b.iter(|| Schedule::new(&stages, arrivals, 7).unwrap().count())
        });
    }
    let mix = Mix::new(&[40, 30, 10, 10, 5, 5], 9).unwrap();
    c.bench_function("mix/pick", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(mix.pick(i))
        })
    });
}

criterion_group!(benches, schedule);
criterion_main!(benches);
