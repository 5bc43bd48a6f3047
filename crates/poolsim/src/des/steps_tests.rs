//! Ops of several steps over named resources: holding, keeping, and which one runs dry.

use super::*;

const MS: Duration = Duration::from_millis(1);

fn resource(name: &str, kind: Kind, size: usize, timeout: Option<Duration>, when_dry: u16) -> Resource {
    let when_dry = WhenDry::Status(when_dry);
    let discipline = Discipline::Fifo;
    Resource { name: name.into(), kind, size, acquire_timeout: timeout, queue_limit: None, when_dry, discipline }
}

/// workers (kept) → db 5 ms → gateway 80 ms → db 3 ms.
fn service(workers: usize, db: usize, gateway: usize) -> Service {
    let resources = vec![
        resource("workers", Kind::Workers, workers, None, 503),
        resource("db", Kind::Pool, db, Some(500 * MS), 500),
        resource("gateway", Kind::Pool, gateway, Some(200 * MS), 503),
    ];
    let h = |ms| Hold::Constant(ms * MS);
    let steps = vec![Step::Keep(0), Step::Hold(1, h(5)), Step::Hold(2, h(80)), Step::Hold(1, h(3))];
    Service { resources, ops: vec![steps], invoice: Vec::new(), tempo: Tempo::default() }
}

fn offer_all(sim: &mut Sim, n: u64, gap: Duration) -> Vec<Completion> {
    let mut out = Vec::new();
    for i in 0..n {
        let times = [5 * MS, 80 * MS, 3 * MS];
        sim.offer_op(0, gap * i as u32, 0, &times, &mut |c| out.push(c));
    }
    sim.finish(&mut |c| out.push(c));
    out
}

#[test]
fn a_request_holds_each_resource_for_its_step_and_keeps_its_worker_to_the_end() {
    let mut sim = Sim::for_service(&service(1, 5, 5), None);
    let out = offer_all(&mut sim, 2, Duration::ZERO);
    let ends: Vec<Duration> = out.iter().map(|c| c.end).collect();
    assert_eq!(ends, [88 * MS, 176 * MS], "one worker, kept: the second waits for the whole first");
    assert_eq!((out[1].queued, out[1].waited, out[1].held), (88 * MS, Duration::ZERO, 88 * MS));
    // db was held 8 ms by each, the gateway 80 ms: their integrals say so.
    assert_eq!(sim.gauge(1).busy_ns, 2 * 8 * 1_000_000);
    assert_eq!(sim.gauge(2).busy_ns, 2 * 80 * 1_000_000);
    assert_eq!(sim.names(), ["workers", "db", "gateway"]);
}

#[test]
fn the_tightest_resource_is_the_one_that_runs_dry() {
    // 1,000/s: db 10 x 8 ms serves 1,250/s, the gateway 40 x 80 ms only 500/s.
    let mut sim = Sim::for_service(&service(1000, 10, 40), Some(Duration::from_secs(5)));
    let out = offer_all(&mut sim, 3000, MS);
    let dry: Vec<&Completion> = out.iter().filter(|c| c.outcome != SimOutcome::Ok).collect();
    assert!(dry.len() > 1000, "{} failed", dry.len());
    assert!(dry.iter().all(|c| c.dry == Some(2) && c.status == Some(503)), "the gateway, answering 503");
    assert_eq!(sim.gauge(1).timeouts, 0);
    assert_eq!(sim.gauge(2).timeouts, dry.len() as u64);
    // A request that gave up at the gateway never took the second db step.
    let failed = dry[0];
    assert_eq!(failed.held, 5 * MS, "{failed:?}");
    assert_eq!(failed.end - failed.arrival, failed.waited + 5 * MS);
}

#[test]
fn a_full_queue_refuses_at_once_with_the_resources_answer() {
    let mut s = service(1, 5, 5);
    s.resources[0].queue_limit = Some(1);
    let mut sim = Sim::for_service(&s, None);
    let out = offer_all(&mut sim, 3, Duration::ZERO);
    let refused: Vec<&Completion> = out.iter().filter(|c| c.outcome == SimOutcome::QueueFull).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!((refused[0].end, refused[0].dry, refused[0].status), (Duration::ZERO, Some(0), Some(503)));
}

#[test]
fn a_resource_that_gives_no_answer_leaves_the_client_to_time_out() {
    let mut s = service(10, 1, 5);
    s.resources[1].when_dry = WhenDry::NoAnswer;
    s.resources[1].acquire_timeout = Some(2 * MS);
    let mut sim = Sim::for_service(&s, Some(Duration::from_secs(2)));
    let out = offer_all(&mut sim, 2, Duration::ZERO);
    let lost = out.iter().find(|c| c.outcome != SimOutcome::Ok).unwrap();
    assert_eq!((lost.outcome, lost.status, lost.dry), (SimOutcome::ClientTimeout, None, Some(1)));
    assert_eq!(lost.end, Duration::from_secs(2), "the client's timeout ends it");
    assert_eq!(sim.gauge(1).timeouts, 1);
}

/// A request that gave up waiting for a worker had no thread to run its handler: it is
/// answered at its deadline, its trailing waits not spent (the live target does the same).
#[test]
fn a_request_that_never_got_a_worker_spends_no_trailing_wait() {
    let resources = vec![resource("workers", Kind::Workers, 1, Some(2 * MS), 503)];
    let steps = vec![Step::Keep(0), Step::Wait(Hold::Constant(10 * MS))];
    let service = Service { resources, ops: vec![steps], invoice: Vec::new(), tempo: Tempo::default() };
    let mut sim = Sim::for_service(&service, None);
    let mut out = Vec::new();
    for _ in 0..2 {
        sim.offer_op(0, Duration::ZERO, 0, &[10 * MS], &mut |c| out.push(c));
    }
    sim.finish(&mut |c| out.push(c));
    let failed = out.iter().find(|c| c.outcome == SimOutcome::PoolTimeout).unwrap();
    assert_eq!((failed.end, failed.status), (2 * MS, Some(503)), "{failed:?}");
}
