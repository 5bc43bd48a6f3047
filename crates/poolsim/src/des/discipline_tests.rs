//! The model options that make it more like a real service: a pool's queue discipline
//! (HikariCP's barging hand-off), cores, pauses and a warm-up.

use super::*;
use crate::{Stall, WarmUp};

const MS: Duration = Duration::from_millis(1);

fn resource(name: &str, kind: Kind, size: usize, timeout: Option<Duration>) -> Resource {
    let (when_dry, discipline) = (WhenDry::Status(500), Discipline::Fifo);
    Resource { name: name.into(), kind, size, acquire_timeout: timeout, queue_limit: None, when_dry, discipline }
}

/// 4 workers (kept) in front of 2 connections held 10 ms, which give up after 30 ms.
/// FIFO, at most 2 wait for a connection, each at most 10 ms: none can time out.
fn service(discipline: Discipline) -> Service {
    let mut db = resource("db", Kind::Pool, 2, Some(30 * MS));
    db.discipline = discipline;
    let resources = vec![resource("workers", Kind::Workers, 4, None), db];
    let steps = vec![Step::Keep(0), Step::Hold(1, Hold::Constant(10 * MS))];
    Service { resources, ops: vec![steps], invoice: Vec::new(), tempo: Tempo::default() }
}

/// `n` requests at `rate` a second through `service`, of `hold` each: all completions.
fn run(service: &Service, n: u32, rate: f64, times: &[Duration]) -> Vec<Completion> {
    let mut sim = Sim::for_service(service, None);
    let mut out = Vec::new();
    for i in 0..n {
        sim.offer_op(0, Duration::from_secs_f64(f64::from(i) / rate), 0, times, &mut |c| out.push(c));
    }
    sim.finish(&mut |c| out.push(c));
    out
}

fn timeouts(out: &[Completion]) -> usize {
    out.iter().filter(|c| c.outcome == SimOutcome::PoolTimeout).count()
}

#[test]
fn barging_starves_waiters_into_timeouts_past_the_knee_where_fifo_proves_none() {
    let barging = service(Discipline::Barging { handoff_delay: Hold::Constant(Duration::from_micros(50)) });
    let fifo = service(Discipline::Fifo);
    // The pool serves 200/s: below it both serve everyone; past it (the workers' queue
    // grows without end) FIFO still times out no one, and barging does.
    for rate in [100.0, 150.0, 300.0, 400.0, 1000.0] {
        let (b, f) = (run(&barging, 2000, rate, &[10 * MS]), run(&fifo, 2000, rate, &[10 * MS]));
        assert_eq!(timeouts(&f), 0, "fifo at {rate}/s");
        assert_eq!(b.len(), 2000);
        if rate < 200.0 {
            assert_eq!(timeouts(&b), 0, "barging below the knee, {rate}/s");
        } else {
            assert!(timeouts(&b) > 100, "barging past the knee, {rate}/s: {} timeouts", timeouts(&b));
            assert!(b.iter().all(|c| c.outcome != SimOutcome::PoolTimeout || c.status == Some(500)));
        }
    }
}

#[test]
fn a_barging_waiter_keeps_its_deadline_and_the_served_wait_less() {
    let barging = service(Discipline::Barging { handoff_delay: Hold::Constant(Duration::from_micros(50)) });
    let out = run(&barging, 2000, 400.0, &[10 * MS]);
    let timed_out = out.iter().filter(|c| c.outcome == SimOutcome::PoolTimeout);
    // Gave up 30 ms after asking, not 30 ms after its last lost hand-off.
    assert!(timed_out.clone().all(|c| c.waited == 30 * MS), "{:?}", timed_out.take(3).collect::<Vec<_>>());
    let fifo = run(&service(Discipline::Fifo), 2000, 400.0, &[10 * MS]);
    let served_wait = |out: &[Completion]| {
        let ok: Vec<_> = out.iter().filter(|c| c.outcome == SimOutcome::Ok).collect();
        ok.iter().map(|c| c.waited).sum::<Duration>() / ok.len() as u32
    };
    assert!(served_wait(&out) < served_wait(&fifo), "the served wait less for the pool under barging");
}

/// The race is a draw: a waiter wakes in a random time, the worker that gave the unit
/// back asks again after its own path (answering, taking the next request). The longer
/// that path against the wake-ups, the fewer hand-offs are lost and the fewer waiters
/// starve; with no path at all every hand-off is lost.
#[test]
fn the_longer_a_newcomer_takes_to_ask_the_fewer_waiters_starve() {
    let wake = Hold::Exponential { mean: Duration::from_micros(100) };
    let mut service = service(Discipline::Barging { handoff_delay: wake });
    let path = |us: u64| Duration::from_micros(us);
    let starved: Vec<usize> = [0, 50, 150, 400]
        .iter()
        .map(|&us| {
            service.ops[0] =
                vec![Step::Keep(0), Step::Hold(1, Hold::Constant(10 * MS)), Step::Wait(Hold::Constant(path(us)))];
            timeouts(&run(&service, 4000, 400.0, &[10 * MS, path(us)]))
        })
        .collect();
    assert!(starved.windows(2).all(|w| w[0] > w[1]), "timeouts fall as the path grows: {starved:?}");
    assert!(starved[3] > 0, "a few still starve: {starved:?}");
}

/// A waiter that loses its hand-off waits again behind everyone who asked meanwhile
/// (HikariCP's fair hand-off queue), not in its old place. One connection held 10 ms:
/// A holds it, B and C wait; as A gives it back, N asks and takes it while B wakes. B
/// then waits behind C, so C is served before B although B asked first.
#[test]
fn a_waiter_that_loses_its_hand_off_goes_to_the_end_of_the_line() {
    let mut db = resource("db", Kind::Pool, 1, None);
    db.discipline = Discipline::Barging { handoff_delay: Hold::Constant(Duration::from_micros(50)) };
    let steps = vec![Step::Hold(0, Hold::Constant(10 * MS))];
    let service = Service { resources: vec![db], ops: vec![steps], invoice: Vec::new(), tempo: Tempo::default() };
    let mut sim = Sim::for_service(&service, None);
    let mut out = Vec::new();
    for (tag, at) in [(0, 0), (1, 1), (2, 2), (3, 10)] {
        sim.offer_op(tag, at * MS, 0, &[10 * MS], &mut |c| out.push(c));
    }
    sim.finish(&mut |c| out.push(c));
    let order: Vec<u32> = out.iter().map(|c| c.tag).collect();
    assert_eq!(order, [0, 3, 2, 1], "A, the newcomer N, then C ahead of B");
}

#[test]
fn cores_serve_cpu_work_first_come_first_served() {
    // 2 cores, 10 ms of CPU each: three at once, the third waits for a core.
    let resources = vec![resource("cpu", Kind::Cpu, 2, None)];
    let steps = vec![Step::Hold(0, Hold::Constant(10 * MS))];
    let service = Service { resources, ops: vec![steps], invoice: Vec::new(), tempo: Tempo::default() };
    let mut sim = Sim::for_service(&service, None);
    let mut out = Vec::new();
    for _ in 0..3 {
        sim.offer_op(0, Duration::ZERO, 0, &[10 * MS], &mut |c| out.push(c));
    }
    sim.finish(&mut |c| out.push(c));
    let ends: Vec<Duration> = out.iter().map(|c| c.end).collect();
    assert_eq!(ends, [10 * MS, 10 * MS, 20 * MS]);
}

#[test]
fn pauses_stop_every_step_and_a_warm_up_stretches_holds() {
    let pause = Stall { every: 100 * MS, length: 12 * MS };
    let resources = vec![resource("db", Kind::Pool, 10, None)];
    let steps = vec![Step::Hold(0, Hold::Constant(10 * MS)), Step::Wait(Hold::Constant(5 * MS))];
    let mut service = Service { resources, ops: vec![steps], invoice: Vec::new(), tempo: Tempo::default() };
    service.tempo.pause = Some(pause);
    let mut sim = Sim::for_service(&service, None);
    let mut out = Vec::new();
    // At 80 ms: 8 ms of the hold, the 12 ms pause, 2 ms more, then the 5 ms wait.
    // At 90 ms (in the pause): it waits for the pause's end, then takes 15 ms.
    for at in [0, 80, 90] {
        sim.offer_op(0, at * MS, 0, &[10 * MS, 5 * MS], &mut |c| out.push(c));
    }
    sim.finish(&mut |c| out.push(c));
    let ends: Vec<Duration> = out.iter().map(|c| c.end).collect();
    assert_eq!(ends, [15 * MS, 107 * MS, 115 * MS]);
    assert_eq!(out[1].held, 22 * MS, "a hold across a pause holds its connection through it");

    service.tempo = Tempo { pause: None, warm_up: Some(WarmUp { length: 1000 * MS, cold_factor: 3.0 }) };
    let mut sim = Sim::for_service(&service, None);
    let mut out = Vec::new();
    for at in [0, 500, 1000] {
        sim.offer_op(0, at * MS, 0, &[10 * MS, 5 * MS], &mut |c| out.push(c));
    }
    sim.finish(&mut |c| out.push(c));
    let took: Vec<Duration> = out.iter().map(|c| c.end - c.arrival).collect();
    // 3x cold at the start: the hold 30 ms, the wait (starting at 30 ms, a little warmer) 14.7.
    assert_eq!(took[0], 30 * MS + Duration::from_micros(14_700), "{took:?}");
    assert!(took[1] > 15 * MS && took[1] < 45 * MS && took[2] == 15 * MS, "{took:?}");
}
