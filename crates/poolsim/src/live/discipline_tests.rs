//! The live target runs the model's options as the simulator does: a barging pool starves
//! its waiters into timeouts where a FIFO one provably cannot time out; pauses stop every
//! step and a warm-up stretches holds. Counts and lower bounds only: a busy machine only
//! makes a request slower.

use std::time::{Duration, Instant};

use super::Server;
use super::test_client::{exchange, request};
use crate::{Discipline, Hold, Kind, ModelOp, ModelSpec, Resource, Route, Stall, Step, WarmUp, WhenDry};

const MS: Duration = Duration::from_millis(1);

fn resource(name: &str, kind: Kind, size: usize, timeout: Option<Duration>, discipline: Discipline) -> Resource {
    let when_dry = WhenDry::Status(500);
    Resource { name: name.into(), kind, size, acquire_timeout: timeout, queue_limit: None, when_dry, discipline }
}

/// `GET /work`: a worker (kept), then a connection of `db` held `hold`.
fn spec(db: Resource, hold: Duration) -> ModelSpec {
    let steps = vec![Step::Keep(0), Step::Hold(1, Hold::Constant(hold))];
    let op = ModelOp {
        name: "work".into(),
        route: Route::new("GET", "/work"),
        hold: Hold::Constant(hold),
        response: None,
        steps: Some(steps),
        defaulted: false,
    };
    let workers = resource("workers", Kind::Workers, 4, None, Discipline::Fifo);
    ModelSpec { resources: vec![workers, db], ops: vec![op], ..ModelSpec::default() }
}

/// `n` requests at once: how many were answered 500.
fn errors_of(spec: ModelSpec, n: usize) -> usize {
    let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 2).unwrap();
    let addr = server.addr();
    let answers: Vec<_> =
        (0..n).map(|_| std::thread::spawn(move || exchange(addr, &request("GET", "/work", "", true)))).collect();
    let answers: Vec<String> = answers.into_iter().map(|a| a.join().unwrap()).collect();
    server.stop();
    assert!(answers.iter().all(|a| a.starts_with("HTTP/1.1 200") || a.starts_with("HTTP/1.1 500")), "{answers:?}");
    answers.iter().filter(|a| a.starts_with("HTTP/1.1 500")).count()
}

#[test]
fn a_barging_pool_times_out_waiters_where_a_fifo_one_cannot() {
    // 4 workers, 2 connections held 5 ms, 250 ms to get one; 200 requests at once, so
    // the pool is busy for 500 ms. FIFO, at most 2 wait, each about 5 ms: none times out,
    // with 50 times the slack a busy machine's late timers need. Barging, the request a
    // freed worker takes next asks while the woken waiter is still waking (20 ms here: a
    // freed worker's next request reaches the pool sooner even on a busy machine, where
    // 3 ms once let the waiters win), takes the connection, and the waiters starve for as
    // long as requests queue.
    let db = |d| resource("db", Kind::Pool, 2, Some(250 * MS), d);
    let fifo = errors_of(spec(db(Discipline::Fifo), 5 * MS), 200);
    let barging = errors_of(spec(db(Discipline::Barging { handoff_delay: Hold::Constant(20 * MS) }), 5 * MS), 200);
    assert_eq!(fifo, 0, "a FIFO pool's waiters are served in time");
    assert!(barging > 0, "a barging pool's waiters starve into 500s");
}

#[test]
fn a_pause_stops_a_hold_and_a_cold_start_stretches_it() {
    let db = resource("db", Kind::Pool, 10, Some(Duration::from_secs(10)), Discipline::Fifo);
    // 30 ms pauses in every 40 ms: 30 ms of work needs three 10 ms runs, so at least two
    // pauses pass during it.
    let pause = Some(Stall { every: 40 * MS, length: 30 * MS });
    let took = |spec: ModelSpec| {
        let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
        let start = Instant::now();
        let answer = exchange(server.addr(), &request("GET", "/work", "", true));
        let took = start.elapsed();
        server.stop();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        took
    };
    let paused = took(ModelSpec { pause, ..spec(db.clone(), 30 * MS) });
    assert!(paused >= 90 * MS, "30 ms of work and two 30 ms pauses took {paused:?}");
    // Three times as long at the start of a 1,000 s warm-up.
    let warm_up = Some(WarmUp { length: Duration::from_secs(1000), cold_factor: 3.0 });
    let cold = took(ModelSpec { warm_up, ..spec(db, 30 * MS) });
    assert!(cold >= 89 * MS, "a 30 ms hold at 3x took {cold:?}");
}
