//! The model in words, for `einv-load validate` and `serve`.

use std::fmt;

use crate::{Hold, Kind, ModelSpec, Operation, Resource, Step, WhenDry};

/// A named resource in words: `db: pool 20, acquire timeout 500ms, 500 when dry`.
fn resource(r: &Resource) -> String {
    let mut words = match r.kind {
        Kind::RateLimit(l) => format!("{}: rate limit {}/s burst {}", r.name, l.rate, l.burst),
        // Cores never run dry: a request waits for one as long as it takes.
        Kind::Cpu => return format!("{}: cpu {} cores, first come first served", r.name, r.size),
        _ => format!("{}: {} {}", r.name, r.kind.as_str(), r.size),
    };
    if let Some(t) = r.acquire_timeout {
        words.push_str(&format!(", acquire timeout {t:?}"));
    }
    if let Some(q) = r.queue_limit {
        words.push_str(&format!(", queue-limit {q}"));
    }
    match r.when_dry {
        WhenDry::Status(s) => words.push_str(&format!(", {s} when dry")),
        WhenDry::NoAnswer => words.push_str(", no answer when dry"),
    }
    if let crate::Discipline::Barging { handoff_delay } = &r.discipline {
        words.push_str(&format!(", barging hand-off (waiters wake in {handoff_delay})"));
    }
    words
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::Constant(d) => write!(f, "{d:?}"),
            Hold::Exponential { mean } => write!(f, "exponential mean {mean:?}"),
            Hold::LogNormal { p50, p99 } => write!(f, "lognormal p50 {p50:?} p99 {p99:?}"),
            Hold::Empirical(e) => {
                write!(f, "measured ({} samples, p50 {:?}, mean {:?})", e.count(), e.at(0.5), e.mean())
            }
        }
    }
}

impl ModelSpec {
    /// Labelled lines describing the service: ("service", ...), ("holds", ...), ("default",
    /// ...) naming the ops without a model entry, ("limits", ...), ("faults", ...).
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut service = Vec::new();
        if self.resources.is_empty() {
            service.push(format!("pool {}, acquire timeout {:?}", self.pool_size, self.acquire_timeout));
            service.push(self.workers.map_or("workers unlimited".into(), |w| format!("workers {w}")));
            if let Some(q) = self.queue_limit {
                service.push(format!("queue-limit {q}"));
            }
            service.push(format!("overhead {}", self.overhead));
            if let Some(r) = self.rate_limit {
                service.push(format!("rate-limit {}/s burst {}", r.rate, r.burst));
            }
        } else {
            service.extend(self.resources.iter().map(resource));
        }
        let resources = self.resource_list();
        let named = |r: usize| resources.get(r).map_or("?", |r| r.name.as_str());
        let holds: Vec<String> = match self.ops.is_empty() {
            true => Operation::ALL.iter().map(|&op| format!("{} {}", op.as_str(), self.hold(op))).collect(),
            false => self
                .ops
                .iter()
                .map(|op| match &op.steps {
                    None => format!("{} {}", op.name, op.hold),
                    Some(steps) => {
                        let steps: Vec<String> = steps
                            .iter()
                            .map(|s| match s {
                                Step::Keep(r) => named(*r).to_string(),
                                Step::Hold(r, h) => format!("{} {h}", named(*r)),
                                Step::Wait(h) => format!("wait {h}"),
                            })
                            .collect();
                        format!("{}: {}", op.name, steps.join(" → "))
                    }
                })
                .collect(),
        };
        let defaulted: Vec<String> = self
            .ops
            .iter()
            .filter(|op| op.defaulted)
            .map(|op| format!("{} (as {})", op.name, Operation::default_for(&op.name).hold_key()))
            .collect();
        let mut faults = Vec::new();
        if let Some(s) = self.stall {
            faults.push(format!("stall {:?} every {:?}", s.length, s.every));
        }
        if let Some(s) = self.error_burst {
            faults.push(format!("error-burst {:?} every {:?}", s.length, s.every));
        }
        if self.reset_rate > 0.0 {
            faults.push(format!("reset-rate {}", self.reset_rate));
        }
        if let Some(s) = self.slow_body {
            faults.push(format!("slow-body {:?} every {:?} at {} B/s", s.window.length, s.window.every, s.bytes_per_s));
        }
        let l = &self.limits;
        let connections = l.max_connections.map_or("fit the open-file limit".into(), |n| n.to_string());
        let limits = format!(
            "body {} B, order-no {} chars, header-timeout {:?}, idle-timeout {:?}, connections {connections}, \
             ledger-window {} invoices",
            l.max_body, l.max_order_no, l.header_timeout, l.idle_timeout, l.ledger_window
        );
        // Named resources and steps have commas of their own.
        let sep = if self.resources.is_empty() && self.ops.iter().all(|o| o.steps.is_none()) { ", " } else { "; " };
        let mut out = vec![("service", service.join(sep)), ("holds", holds.join(sep))];
        if !defaulted.is_empty() {
            let line = format!("no [model.ops] entry, so the default hold: {}", defaulted.join(", "));
            out.push(("default", line));
        }
        out.push(("limits", limits));
        if !faults.is_empty() {
            out.push(("faults", faults.join(", ")));
        }
        out.extend(self.timing().map(|t| ("timing", t)));
        if self.wire != Hold::Constant(std::time::Duration::ZERO) {
            out.push((
                "wire",
                format!("{} added to every simulated answer (the live target has a real one)", self.wire),
            ));
        }
        out
    }

    /// The pauses and the warm-up in words, if there are any.
    fn timing(&self) -> Option<String> {
        let mut tempo = Vec::new();
        if let Some(p) = self.pause {
            tempo.push(format!("pause {:?} every {:?} (no step makes progress in it)", p.length, p.every));
        }
        if let Some(w) = self.warm_up {
            tempo.push(format!("warm-up {:?}: holds {}x at the start, 1x at its end", w.length, w.cold_factor));
        }
        (!tempo.is_empty()).then(|| tempo.join(", "))
    }
}
