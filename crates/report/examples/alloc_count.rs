//! The recording path's claim, checkable on a busy machine: recording a request and
//! draining a second's worth allocate nothing (beyond the first time a status code is
//! seen). Run it for 2 and for 50 one-second intervals of 10,000 requests each (6 ops, 8
//! slots); the heap totals must be the same:
//!
//! ```sh
//! cargo build --release -p einv-report --example alloc_count
//! for n in 2 50; do valgrind ./target/release/examples/alloc_count $n 2>&1 | grep 'total heap usage'; done
//! ```
//!
//! `valgrind --tool=callgrind` on the same two runs gives the instructions per request:
//! (I(50) - I(2)) / 480,000.
use std::time::Duration;

use einv_report::{Outcome, Phases, Recorder, Sample, Stats};

fn main() {
    let intervals: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let rec = Recorder::new(6, 8);
    let mut interval = vec![Stats::new(); 6];
    let mut i = 0u64;
    for _ in 0..intervals {
        for _ in 0..10_000 {
            i = i.wrapping_add(7919);
            let sample = Sample {
                latency: Duration::from_micros(500 + i % 20_000),
                service: Some(Duration::from_micros(400 + i % 10_000)),
                send_lag: Duration::from_micros(i % 300),
                outcome: Outcome::Response(if i.is_multiple_of(10) { 503 } else { 200 }),
                queued: i.is_multiple_of(3),
                failed_check: None,
                tag: i.is_multiple_of(50).then_some(1),
                expects_rejection: false,
                phases: Phases {
                    connect: i.is_multiple_of(1000).then(|| Duration::from_micros(80 + i % 50)),
                    tls: i.is_multiple_of(2000).then(|| Duration::from_micros(900)),
                    ttfb: Some(Duration::from_micros(300 + i % 9_000)),
                },
            };
            rec.record((i % 8) as usize, (i % 6) as usize, &sample);
        }
        rec.drain_into(&mut interval);
        interval.iter_mut().for_each(Stats::reset);
    }
    println!("{i}");
}
