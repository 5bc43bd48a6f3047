use rand::{RngExt, SeedableRng};
use rand_distr::Exp1;
use rand_pcg::Pcg64Mcg;

use super::*;

/// Erlang C: the probability that an arrival waits, for `c` servers at offered load `a`
/// (= λ/μ, in servers), computed independently of the simulator.
fn erlang_c(c: usize, a: f64) -> f64 {
    let (mut sum, mut term) = (0.0, 1.0);
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let top = term * c as f64 / (c as f64 - a);
    top / (sum + top)
}

/// The simulator's estimates, with batch-means standard errors.
#[derive(Debug)]
struct Estimate {
    p_wait: f64,
    mean_wait: f64,
    /// Relative standard errors of the two (sd of the batch means / √batches / estimate).
    p_se: f64,
    w_se: f64,
}

const BATCHES: usize = 32;

/// Per batch: (share of arrivals that waited, mean wait in seconds).
type Batches = Vec<(f64, f64)>;

/// Simulate M/M/c with no timeouts for `n` arrivals (hold mean 10 ms). Consecutive
/// arrivals are grouped into 32 batches (the tag carries the batch); with no timeouts
/// every request is served in arrival order, so each batch's waits are its own, and the
/// spread of the batch means gives an honest standard error for a correlated series.
fn simulate_batches(c: usize, rho: f64, n: u64, seed: u64) -> Batches {
    let hold_ns = 10_000_000.0;
    let gap_ns = hold_ns / (rho * c as f64);
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut sim = Sim::new(PoolParams { size: c, acquire_timeout: None, client_timeout: None });
    let mut waited = [0u64; BATCHES];
    let mut wait_ns = [0u128; BATCHES];
    let mut count = [0u64; BATCHES];
    let mut emit = |x: Completion| {
        let b = x.tag as usize;
        count[b] += 1;
        let w = x.waited.as_nanos();
        waited[b] += u64::from(w > 0);
        wait_ns[b] += w;
    };
    let per_batch = n / BATCHES as u64;
    let mut t = 0.0;
    for i in 0..per_batch * BATCHES as u64 {
        let gap: f64 = rng.sample(Exp1);
        let hold: f64 = rng.sample(Exp1);
        t += gap * gap_ns;
        let tag = (i / per_batch) as u32;
        sim.arrive(tag, Duration::from_nanos(t as u64), Duration::from_nanos((hold * hold_ns) as u64), &mut emit);
    }
    sim.finish(&mut emit);
    assert!(count.iter().all(|&k| k == per_batch), "every request completes exactly once");
    let per = per_batch as f64;
    waited.iter().zip(&wait_ns).map(|(&w, &ns)| (w as f64 / per, ns as f64 / 1e9 / per)).collect()
}

/// `n` arrivals in all, as two independent runs on two threads (the machines have two
/// cores); their batches are pooled.
fn simulate(c: usize, rho: f64, n: u64, seed: u64) -> Estimate {
    let batches: Batches = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2).map(|k| s.spawn(move || simulate_batches(c, rho, n / 2, seed * 2 + k))).collect();
        runs.into_iter().flat_map(|r| r.join().expect("simulation thread")).collect()
    });
    let (p_wait, p_se) = mean_and_relative_se(batches.iter().map(|b| b.0));
    let (mean_wait, w_se) = mean_and_relative_se(batches.iter().map(|b| b.1));
    Estimate { p_wait, mean_wait, p_se, w_se }
}

fn mean_and_relative_se(x: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let k = x.clone().count() as f64;
    let mean = x.clone().sum::<f64>() / k;
    let var = x.map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0);
    (mean, (var / k).sqrt() / mean)
}

/// Check one (c, load) point against Erlang C: within 2 % relative, and the run long
/// enough that 2 % is at least 2.5 standard errors, so a pass is not luck and a bias of
/// 2 % would not go unseen. (The standard errors measured: 0.06-0.65 %.)
fn check_erlang_c(c: usize, rho: f64, n: u64) {
    let a = rho * c as f64;
    let p_ref = erlang_c(c, a);
    // Mean wait in M/M/c: P(wait) / (cμ - λ), with μ = 1 / 10 ms.
    let w_ref = p_ref / ((c as f64 - a) / 0.010);
    let e = simulate(c, rho, n, c as u64 * 100 + (rho * 100.0) as u64);
    let rel = |x: f64, y: f64| (x - y) / y;
    let (dp, dw) = (rel(e.p_wait, p_ref), rel(e.mean_wait, w_ref));
    println!(
        "c={c} rho={rho} n={n}: P(wait) {:.6} vs {p_ref:.6} ({:+.2} %, se {:.2} %), \
         mean wait {:.5} ms vs {:.5} ms ({:+.2} %, se {:.2} %)",
        e.p_wait,
        dp * 100.0,
        e.p_se * 100.0,
        e.mean_wait * 1e3,
        w_ref * 1e3,
        dw * 100.0,
        e.w_se * 100.0
    );
    assert!(e.p_se < 0.02 / 2.5 && e.w_se < 0.02 / 2.5, "c={c} rho={rho}: too few arrivals for a 2 % check: {e:?}");
    assert!(dp.abs() < 0.02, "c={c} rho={rho}: P(wait) {:.6} vs Erlang C {p_ref:.6}", e.p_wait);
    assert!(dw.abs() < 0.02, "c={c} rho={rho}: mean wait {:.7} s vs {w_ref:.7} s", e.mean_wait);
}

#[test]
fn matches_erlang_c_with_10_connections() {
    // Sized so each standard error is below 0.8 % (measured: 0.06-0.6 %).
    for (rho, n) in [(0.5, 20_000_000), (0.8, 12_000_000), (0.9, 32_000_000), (0.95, 96_000_000)] {
        check_erlang_c(10, rho, n);
    }
}

#[test]
fn with_200_connections_at_half_load_nobody_waits() {
    // Erlang C gives P(wait) ≈ 1e-18 here: no simulation can measure that relative to
    // itself; the checkable answer is that none of two million arrivals waits.
    assert!(erlang_c(200, 100.0) < 1e-15);
    let e = simulate(200, 0.5, 2_000_000, 1);
    assert_eq!(e.p_wait, 0.0);
}

// With 200 connections, waits come in rare, clustered excursions to a full pool, so the
// estimates converge slowly: a 2 % check needs 0.3-4 billion arrivals (minutes of CPU).
// These run in release mode from .ci/run (`cargo test --release -p einv-poolsim --lib --
// --ignored erlang`), not in the default debug `cargo test`.

#[test]
#[ignore = "minutes of CPU: run in release (see .ci/run)"]
fn erlang_c_with_200_connections_at_0_95() {
    check_erlang_c(200, 0.95, 256_000_000);
}

#[test]
#[ignore = "minutes of CPU: run in release (see .ci/run)"]
fn erlang_c_with_200_connections_at_0_9() {
    check_erlang_c(200, 0.9, 384_000_000);
}

#[test]
#[ignore = "minutes of CPU: run in release (see .ci/run)"]
fn erlang_c_with_200_connections_at_0_8() {
    check_erlang_c(200, 0.8, 3_840_000_000);
}

#[test]
fn past_capacity_waits_grow_until_the_acquire_timeout_then_fail() {
    // Pool 200, hold 20 ms: 10,000/s at most. Offer 11,000/s, evenly spaced, for 15 s.
    // The backlog grows by 1,000 a second and each wait by 0.1 s a second, so waits reach
    // the 1 s acquire timeout after about 10 s, and from then on requests fail.
    let timeout = Duration::from_secs(1);
    let mut sim = Sim::new(PoolParams { size: 200, acquire_timeout: Some(timeout), client_timeout: None });
    let mut out = Vec::new();
    let mut emit = |x: Completion| out.push(x);
    for i in 0..165_000u64 {
        sim.arrive(0, Duration::from_nanos(i * 1_000_000_000 / 11_000), Duration::from_millis(20), &mut emit);
    }
    sim.finish(&mut emit);
    assert_eq!(out.len(), 165_000);
    out.sort_by_key(|c| c.arrival);
    let ok_before = out.iter().take_while(|c| c.outcome == SimOutcome::Ok).count();
    let first_failure = out[ok_before];
    let at = first_failure.arrival.as_secs_f64();
    assert!((9.0..11.0).contains(&at), "the first pool timeout arrives at {at:.2} s, expected near 10 s");
    assert!(first_failure.waited >= timeout);
    let waits_at = |s: f64| out.iter().find(|c| c.arrival.as_secs_f64() >= s).unwrap().waited.as_secs_f64();
    assert!(waits_at(2.0) < waits_at(5.0) && waits_at(5.0) < waits_at(8.0), "waits grow with the backlog");
    assert!(out.iter().all(|c| c.outcome != SimOutcome::Ok || c.waited <= timeout));
}

#[test]
fn occupancy_never_exceeds_the_pool() {
    let mut sim =
        Sim::new(PoolParams { size: 3, acquire_timeout: Some(Duration::from_millis(5)), client_timeout: None });
    let mut emit = |_| {};
    for i in 0..1000u64 {
        sim.arrive(0, Duration::from_micros(i * 100), Duration::from_millis(1), &mut emit);
        let (busy, _) = sim.gauges();
        assert!(busy <= 3);
    }
    sim.finish(&mut emit);
    assert!(sim.mean_busy() <= 3.0);
}
