//! The model's rules, written once: what a profile's `[model]`, `serve`'s flags
//! and the live target all accept. [`ModelSpec::problems`] finds every value that cannot
//! work, each keyed as `[model]` names it.

use std::time::Duration;

use crate::{Hold, Kind, MAX_LEDGER_WINDOW, ModelSpec, Operation, ServerLimits, Stall, Step};

/// Most connections in a pool, workers, and connections served at once: far beyond any
/// real service, small enough that nothing sized by them overflows.
const MAX_COUNT: usize = 1_000_000;
/// Most requests waiting for a worker, and the largest rate-limit bucket.
pub const MAX_QUEUE: usize = 100_000_000;
/// Longest order number the live target can be told to accept, in characters.
const MAX_ORDER_NO: usize = 4096;

/// A value of the model that cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key as `[model]` names it: `pool-size`, `stall.for`, `issue-hold`, `ops.get.hold`.
    /// `serve`'s flag for it is `--` and the part before any dot.
    pub key: String,
    /// What is wrong, in words that name the key (they are read without it too).
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem { key: key.into(), message: message.into() });
    }

    /// A count of at least 1 and at most `max`.
    fn count(&mut self, key: &str, v: usize, max: usize) {
        match v {
            0 => self.fail(key, format!("{key} must be at least 1")),
            v if v > max => self.fail(key, format!("{key} must be at most {max}, got {v}")),
            _ => {}
        }
    }

    /// A window of `length` in every `every` (`keys`: the window's, its `every`'s and
    /// its `for`'s).
    fn window(&mut self, keys: [&str; 3], w: Stall) {
        let [name, every, length] = keys;
        if w.every.is_zero() {
            self.fail(every, format!("{name}: `every` must be more than 0"));
        }
        if w.length.is_zero() {
            self.fail(length, format!("{name}: `for` must be more than 0"));
        } else if !w.every.is_zero() && w.length >= w.every {
            let message = format!("{name}: `for` ({:?}) must be shorter than `every` ({:?})", w.length, w.every);
            self.fail(length, message);
        }
    }

    fn hold(&mut self, key: &str, hold: &Hold) {
        if let Hold::LogNormal { p50, p99 } = *hold
            && (p50.is_zero() || p99 < p50)
        {
            self.fail(key, format!("{key}: a lognormal hold needs 0 < p50 <= p99, got p50 {p50:?} and p99 {p99:?}"));
        }
    }
}

/// The longest hand-off delay: a parked thread that takes longer is not waking, it is stuck.
const MAX_HANDOFF_DELAY: Duration = Duration::from_secs(1);
/// The coldest start: holds at most this many times their length.
const MAX_COLD_FACTOR: f64 = 100.0;

impl ModelSpec {
    /// Every value of the model that cannot work (none: the model can run).
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        p.count("pool-size", self.pool_size, MAX_COUNT);
        if self.acquire_timeout.is_zero() {
            p.fail("acquire-timeout", "acquire-timeout must be more than 0");
        }
        for (op, hold) in Operation::ALL.iter().zip(&self.holds) {
            p.hold(op.hold_key(), hold);
        }
        self.resources.iter().for_each(|r| p.resource(r));
        self.op_problems(&mut p);
        p.hold("overhead", &self.overhead);
        p.hold("wire", &self.wire);
        self.window_problems(&mut p);
        if !(0.0..=1.0).contains(&self.reset_rate) {
            p.fail("reset-rate", format!("reset-rate must be a fraction from 0 to 1, got {}", self.reset_rate));
        }
        if let Some(w) = self.workers {
            p.count("workers", w, MAX_COUNT);
        }
        match self.queue_limit {
            Some(_) if self.workers.is_none() => {
                p.fail("queue-limit", "queue-limit needs workers: with unlimited workers no request waits for one");
            }
            Some(q) if q > MAX_QUEUE => {
                p.fail("queue-limit", format!("queue-limit must be at most {MAX_QUEUE}, got {q}"))
            }
            _ => {}
        }
        if let Some(r) = self.rate_limit {
            if !(r.rate.is_finite() && r.rate > 0.0) {
                p.fail("rate-limit.rate", format!("rate-limit needs a rate > 0 requests/s, got {}", r.rate));
            }
            p.count("rate-limit.burst", r.burst as usize, MAX_QUEUE);
        }
        p.0.extend(self.limits.problems());
        p.0
    }

    /// The windows of the faults, the pauses and the warm-up.
    fn window_problems(&self, p: &mut Problems) {
        if let Some(w) = self.stall {
            p.window(["stall", "stall.every", "stall.for"], w);
        }
        if let Some(w) = self.pause
            && (w.length.is_zero() || w.length >= w.every)
        {
            let (pause, every) = (w.length, w.every);
            p.fail("pause", format!("pause ({pause:?}) must be more than 0 and shorter than pause-every ({every:?})"));
        }
        if let Some(w) = self.warm_up {
            if w.length.is_zero() {
                p.fail("warm-up", "warm-up must be more than 0");
            }
            if !(1.0..=MAX_COLD_FACTOR).contains(&w.cold_factor) {
                let message = format!("cold-factor must be from 1 to {MAX_COLD_FACTOR}, got {}", w.cold_factor);
                p.fail("cold-factor", message);
            }
        }
        if let Some(w) = self.error_burst {
            p.window(["error-burst", "error-burst.every", "error-burst.for"], w);
        }
        if let Some(s) = self.slow_body {
            p.window(["slow-body", "slow-body.every", "slow-body.for"], s.window);
        }
    }

    /// Every op's steps (given, or the default ones for its hold) and hold.
    fn op_problems(&self, p: &mut Problems) {
        let list = self.resource_list();
        for op in &self.ops {
            match &op.steps {
                Some(steps) => p.steps(&op.name, steps, &list),
                None => {
                    if let Err(why) = self.default_steps(&list, &op.hold) {
                        // An op without an entry has no key of its own: the resources are the cause.
                        let key = if op.defaulted { "resources".to_string() } else { format!("ops.{}", op.name) };
                        p.fail(&key, format!("op {:?} has no steps, and {why}", op.name));
                    }
                }
            }
        }
        // A defaulted op's hold is an invoice op's, checked under its own key.
        for op in self.ops.iter().filter(|o| !o.defaulted) {
            p.hold(&format!("ops.{}.hold", op.name), &op.hold);
        }
    }
}

impl Problems {
    /// A named resource's figures.
    fn resource(&mut self, r: &crate::Resource) {
        let key = |k: &str| format!("resources.{}.{k}", r.name);
        match r.kind {
            Kind::RateLimit(l) => {
                if !(l.rate.is_finite() && l.rate > 0.0) {
                    self.fail(&key("rate"), format!("a rate limit needs a rate > 0 requests/s, got {}", l.rate));
                }
                self.count(&key("burst"), l.burst as usize, MAX_QUEUE);
            }
            Kind::Cpu => self.count(&key("cores"), r.size, MAX_COUNT),
            _ => self.count(&key("size"), r.size, MAX_COUNT),
        }
        if r.acquire_timeout.is_some_and(|t| t.is_zero()) {
            self.fail(&key("acquire-timeout"), "acquire-timeout must be more than 0");
        }
        if let Some(q) = r.queue_limit.filter(|&q| q > MAX_QUEUE) {
            self.fail(&key("queue-limit"), format!("queue-limit must be at most {MAX_QUEUE}, got {q}"));
        }
        if let crate::Discipline::Barging { handoff_delay } = &r.discipline {
            if r.kind != Kind::Pool {
                self.fail(&key("discipline"), "a queue discipline applies to kind = \"pool\" only");
            }
            self.hold(&key("handoff-delay"), handoff_delay);
            let typical = handoff_delay.mean();
            if typical > MAX_HANDOFF_DELAY {
                let message =
                    format!("handoff-delay must be at most {MAX_HANDOFF_DELAY:?} on average, got {typical:?}");
                self.fail(&key("handoff-delay"), message);
            }
        }
    }

    /// The steps of op `name` over `list`.
    fn steps(&mut self, name: &str, steps: &[Step], list: &[crate::Resource]) {
        // (resource, step) of each unit kept to the end of the request.
        let mut kept: Vec<(usize, usize)> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let key = format!("ops.{name}.steps[{i}]");
            let taken = match step {
                Step::Keep(r) | Step::Hold(r, _) => *r,
                Step::Wait(h) => {
                    self.hold(&format!("{key}.hold"), h);
                    continue;
                }
            };
            let Some(res) = list.get(taken) else {
                let n = list.len();
                self.fail(&key, format!("{key} uses resource {taken}, and the model has {n}"));
                continue;
            };
            // A second unit taken while one is kept waits for itself once the resource
            // runs dry: every request holds one and waits for another, for ever.
            if let Some(&(_, j)) = kept.iter().find(|(k, _)| *k == taken) {
                let name = &res.name;
                let message = format!(
                    "{key}: {name} is kept from steps[{j}] to the end of the request, so this second unit of it \
                     waits for itself when {name} runs dry; use {name} once, or give each use a hold"
                );
                self.fail(&format!("{key}.use"), message);
            }
            match (step, &res.kind) {
                (Step::Hold(..), Kind::RateLimit(_)) => {
                    self.fail(&format!("{key}.hold"), "a rate limit is passed at once: it takes no hold");
                }
                (Step::Keep(_), Kind::RateLimit(_)) => {}
                (Step::Keep(_), _) => kept.push((taken, i)),
                (Step::Hold(_, h), _) => self.hold(&format!("{key}.hold"), h),
                (Step::Wait(_), _) => {}
            }
        }
    }
}

impl ServerLimits {
    /// Every limit that cannot work.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        if self.max_body == 0 {
            p.fail("max-body", "max-body must be at least 1 byte");
        }
        p.count("max-order-no", self.max_order_no, MAX_ORDER_NO);
        for (key, d) in [("header-timeout", self.header_timeout), ("idle-timeout", self.idle_timeout)] {
            if d == Duration::ZERO {
                p.fail(key, "header-timeout and idle-timeout must be more than 0");
            }
        }
        if let Some(n) = self.max_connections {
            p.count("max-connections", n, MAX_COUNT);
        }
        if !(1..=MAX_LEDGER_WINDOW).contains(&self.ledger_window) {
            let message = format!("ledger-window must be from 1 to {MAX_LEDGER_WINDOW}, got {}", self.ledger_window);
            p.fail("ledger-window", message);
        }
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RateLimit, SlowBody};

    #[test]
    fn the_default_model_can_run() {
        assert_eq!(ModelSpec::default().problems(), []);
    }

    /// Ops over named resources: a rate limit given a hold, and an op with no steps where
    /// the default ones cannot be made (two pools), each found by the model's own rules.
    #[test]
    fn steps_the_model_cannot_run_are_found_in_problems() {
        let ms = Duration::from_millis;
        let res = |name: &str, kind: Kind| crate::Resource {
            name: name.into(),
            kind,
            size: 4,
            acquire_timeout: None,
            queue_limit: None,
            when_dry: crate::WhenDry::Status(500),
            discipline: crate::Discipline::Fifo,
        };
        let limit = Kind::RateLimit(RateLimit { rate: 10.0, burst: 1 });
        let op = |name: &str, steps: Option<Vec<Step>>| crate::ModelOp {
            name: name.into(),
            route: crate::Route::new("GET", "/"),
            hold: Hold::Constant(ms(1)),
            response: None,
            steps,
            defaulted: false,
        };
        let spec = ModelSpec {
            resources: vec![res("limiter", limit), res("db", Kind::Pool), res("cache", Kind::Pool)],
            ops: vec![op("pay", Some(vec![Step::Hold(0, Hold::Constant(ms(1)))])), op("get", None)],
            ..ModelSpec::default()
        };
        let keys: Vec<String> = spec.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["ops.pay.steps[0].hold", "ops.get"]);
    }

    #[test]
    fn every_problem_is_found_and_keyed() {
        let ms = Duration::from_millis;
        let mut spec = ModelSpec {
            pool_size: 0,
            stall: Some(Stall { every: ms(100), length: ms(100) }),
            slow_body: Some(SlowBody { window: Stall { every: ms(0), length: ms(0) }, bytes_per_s: 1 }),
            queue_limit: Some(5),
            rate_limit: Some(RateLimit { rate: f64::NAN, burst: 0 }),
            reset_rate: 1.5,
            ..ModelSpec::default()
        };
        spec.set_hold(Operation::Download, Hold::LogNormal { p50: ms(9), p99: ms(5) });
        spec.limits.idle_timeout = Duration::ZERO;
        let problems = spec.problems();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "pool-size",
                "download-hold",
                "stall.for",
                "slow-body.every",
                "slow-body.for",
                "reset-rate",
                "queue-limit",
                "rate-limit.rate",
                "rate-limit.burst",
                "idle-timeout"
            ]
        );
        assert!(spec.validate().is_err());
    }
}
