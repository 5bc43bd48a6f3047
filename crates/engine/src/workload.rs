//! A plan's workload, ready to render: the op mix, templates, invoice generator,
//! feeders, captures, and the one stream of arrivals that every command walks
//! (the live dispatcher, `simulate`, `sweep` and `generate`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use einv_report::{Span, StageKind};
use einv_workload::feeder::Feeder;
use einv_workload::invoice::InvoiceGen;
use einv_workload::requests::{OpTemplate, Requests, Tag};
use einv_workload::trace::TraceReader;
use einv_workload::{Captures, Mix, Schedule, Stage, derive_seed};

use crate::driver::Secrets;
use crate::error::{Error, ProfileError};
use crate::profile::{Bodies, Load, Plan, Shard};

#[derive(Debug)]
pub struct Workload {
    pub requests: Requests,
    /// Per op: whether it has templates to render.
    pub dynamic: Vec<bool>,
    pub schedule: Option<Schedule>,
    pub captures: Arc<Captures>,
    /// The mix again, for arrivals that carry no op of their own (the requests' copy is
    /// lent to the renderer while the arrivals are walked).
    mix: Mix,
    /// A replay's trace, read afresh for each walk of the arrivals.
    replay: Option<Replay>,
    /// The profile, named when a trace can no longer be opened.
    file: PathBuf,
}

#[derive(Debug)]
struct Replay {
    trace: PathBuf,
    speed: f64,
    ops: HashMap<String, usize>,
    bodies: Arc<Bodies>,
}

impl Workload {
    pub fn new(plan: &Plan) -> Result<Workload, Error> {
        // Validation catches nearly all of these; what is left (a schedule too thin to hold
        // one arrival, a feeder file changed since) is still the profile's fault.
        let secrets = Secrets::of(plan);
        let bad = |key: &str, e: einv_workload::Error| {
            Error::from(ProfileError::unlocated(&plan.file, key, secrets.mask(&e.to_string())))
        };
        let weights: Vec<u32> = plan.ops.iter().map(|o| o.weight).collect();
        let mix = Mix::new(&weights, derive_seed(plan.seed, "mix")).map_err(|e| bad("op", e))?;
        let schedule = plan.load.schedule(plan.seed).transpose().map_err(|e| bad("load", e))?;
        let w = &plan.workload;
        let invoices = InvoiceGen::new(&w.invoice, derive_seed(plan.seed, "invoice-parties"))
            .map_err(|e| bad("workload.invoice", e))?;
        let mut feeders = Vec::new();
        for (i, f) in plan.feeders.iter().enumerate() {
            let seed = derive_seed(plan.seed, &format!("feeder-{}", f.name));
            feeders.push(Feeder::open(&f.path, f.mode, seed).map_err(|e| bad(&format!("feeder[{i}]"), e))?);
        }
        let captures = Arc::new(Captures::new(w.captures.len(), w.capture_size));
        let templates: Vec<OpTemplate> = plan.ops.iter().map(|o| o.template.clone().unwrap_or_default()).collect();
        let dynamic = plan.ops.iter().map(|o| o.template.is_some()).collect();
        let requests = Requests::new(plan.seed, templates, mix.clone(), invoices, feeders, captures.clone(), w.faults);
        let replay = match &plan.load {
            Load::Replay { trace, speed, bodies, .. } => Some(Replay {
                trace: trace.clone(),
                speed: *speed,
                ops: plan.ops.iter().enumerate().map(|(i, o)| (o.name.clone(), i)).collect(),
                bodies: bodies.clone(),
            }),
            _ => None,
        };
        Ok(Workload { requests, dynamic, schedule, captures, mix, replay, file: plan.file.clone() })
    }

    /// The arrivals `shard` sends, in time order: the schedule's, or the trace's (read
    /// afresh). `None` for a closed loop, which follows the responses instead.
    pub fn arrivals(&self, shard: Shard) -> Result<Option<Arrivals>, Error> {
        let timeline = match (&self.replay, &self.schedule) {
            (Some(r), _) => {
                let reader = TraceReader::open(&r.trace, r.speed)
                    .map_err(|e| Error::from(ProfileError::unlocated(&self.file, "load.trace", e)))?;
                Timeline::Trace { reader: Box::new(reader), ops: r.ops.clone(), bodies: r.bodies.clone() }
            }
            (None, Some(s)) => Timeline::Schedule(Box::new(s.clone())),
            (None, None) => return Ok(None),
        };
        Ok(Some(Arrivals { timeline, mix: self.mix.clone(), shard }))
    }

    /// A closed loop's requests for `shard`, in order: global index and op. They have no
    /// times (they follow the responses); the driver hands the same indices out to its
    /// users one by one.
    pub fn closed_requests(&self, shard: Shard) -> impl Iterator<Item = (u64, usize)> + use<> {
        let mix = self.mix.clone();
        (0..).map(move |k| {
            let index = shard.global(k);
            (index, mix.pick(index))
        })
    }

    /// The mean intended rate for this shard: the schedule's, or the trace's (0 for
    /// closed loop, which has none).
    pub fn target_rate(&self, load: &Load, shard: Shard) -> f64 {
        let per_run = match (load, &self.schedule) {
            (_, Some(s)) => s.mean_rate(),
            (Load::Replay { arrivals, duration, .. }, None) => *arrivals as f64 / duration.as_secs_f64().max(1e-9),
            _ => 0.0,
        };
        shard.share(per_run)
    }
}

/// One arrival of a shard, resolved: its global index, its intended send offset from the
/// run's start, its op, and (replay) the trace's own body for it.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub index: u64,
    pub at: Duration,
    pub op: usize,
    pub body: Option<Bytes>,
}

/// A shard's arrivals: the global timeline with the other shards' arrivals left out and
/// every op resolved.
#[derive(Debug)]
pub struct Arrivals {
    timeline: Timeline,
    mix: Mix,
    shard: Shard,
}

impl Iterator for Arrivals {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        loop {
            let (index, at, op, body) = self.timeline.next()?;
            if self.shard.owns(index) {
                let op = op.unwrap_or_else(|| self.mix.pick(index));
                return Some(Arrival { index, at, op, body });
            }
        }
    }
}

/// Where arrivals come from: a rate schedule (ops from the mix) or a recorded trace.
#[derive(Debug)]
enum Timeline {
    Schedule(Box<Schedule>),
    // Boxed: a csv reader is large and the schedule variant is the common one.
    Trace { reader: Box<TraceReader>, ops: HashMap<String, usize>, bodies: Arc<Bodies> },
}

impl Timeline {
    /// The next global arrival: index, offset, and (replay) its op and body.
    fn next(&mut self) -> Option<(u64, Duration, Option<usize>, Option<Bytes>)> {
        match self {
            Timeline::Schedule(s) => s.next().map(|a| (a.index, a.at, None, None)),
            // The trace was read through at validation; a change since then ends the replay.
            Timeline::Trace { reader, ops, bodies } => match reader.next()? {
                Ok(e) => {
                    let body = match &e.body {
                        None => None,
                        Some(path) => match bodies.get(path) {
                            Some(body) => Some(body.clone()),
                            None => {
                                let path = path.display();
                                tracing::error!(
                                    "trace line {}: body file {path} is new since validation; the replay stops here",
                                    e.line
                                );
                                return None;
                            }
                        },
                    };
                    Some((e.index, e.at, ops.get(&e.op).copied(), body))
                }
                Err(e) => {
                    tracing::error!("trace: {e}; the replay stops here");
                    None
                }
            },
        }
    }
}

/// How fast `shard` means to send over `[from, to)` of `schedule`, per second (`to` must
/// be after `from`).
pub fn intended_rate(schedule: &Schedule, shard: Shard, from: Duration, to: Duration) -> f64 {
    let count = schedule.intended_count_until(to) - schedule.intended_count_until(from);
    shard.share(count / (to - from).as_secs_f64())
}

/// The steps of one `steps` stage that get statistics of their own: beyond this only the
/// stage has (summary.json holds about 1 kB a step).
const MAX_STEP_SPANS: u32 = 60;

/// The spans of an open-loop schedule to keep statistics for: each stage, and each step
/// of a `steps` stage, with what `shard` means to send in it. None for a closed loop or a
/// replay, which have no stages.
pub fn spans(load: &Load, schedule: Option<&Schedule>, shard: Shard) -> Vec<Span> {
    let (Load::Open { stages, .. }, Some(schedule)) = (load, schedule) else { return Vec::new() };
    let scheduled = |from: Duration, to: Duration| {
        let n = schedule.intended_count_until(to) - schedule.intended_count_until(from);
        shard.share(n).round() as u64
    };
    let mut out = Vec::new();
    let mut start = Duration::ZERO;
    for (i, stage) in stages.iter().enumerate() {
        let end = start + stage.duration();
        let (kind, from, to) = match *stage {
            Stage::Ramp { from, to, .. } if from == to => (StageKind::Constant, from, to),
            Stage::Ramp { from, to, .. } => (StageKind::Ramp, from, to),
            Stage::Steps { from, to, .. } => (StageKind::Steps, from, to),
            Stage::Spike { base, peak, .. } => (StageKind::Spike, base, peak),
        };
        let (from, to) = (shard.share(from), shard.share(to));
        out.push(Span {
            kind,
            stage: i,
            step: None,
            start,
            end,
            from_per_s: from,
            to_per_s: to,
            scheduled: scheduled(start, end),
        });
        if let Stage::Steps { steps, step, .. } = *stage
            && steps <= MAX_STEP_SPANS
        {
            for k in 0..steps {
                let (a, b) = (start + step * k, start + step * (k + 1));
                let rate = shard.share(schedule.rate_at(a));
                out.push(Span {
                    kind: StageKind::Step,
                    stage: i,
                    step: Some(k as usize),
                    start: a,
                    end: b,
                    from_per_s: rate,
                    to_per_s: rate,
                    scheduled: scheduled(a, b),
                });
            }
        }
        start = end;
    }
    out
}

/// The injected-fault tags, by index, and whether a correct service rejects each.
pub fn tags() -> Vec<(String, bool)> {
    Tag::ALL.iter().map(|t| (t.as_str().to_string(), t.expects_rejection())).collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn plan(load: &str) -> Plan {
        let src = format!(
            "schema = 1\nname = \"t\"\nseed = 7\n[target]\nurl = \"builtin\"\n{load}\n\
             [[op]]\nname = \"issue\"\nweight = 3\npath = \"/i\"\n\
             [[op]]\nname = \"query\"\nweight = 7\npath = \"/q\"\n"
        );
        Plan::parse(&src, Path::new("t.toml")).unwrap()
    }

    const POISSON: &str =
        "[load]\narrivals = \"poisson\"\n[[load.stage]]\nkind = \"ramp\"\nfrom = 100\nto = 900\nduration = \"2s\"";

    /// n shards' arrivals are the one global schedule split by index: each arrival in
    /// exactly one shard, with the same offset and op as in the whole run.
    #[test]
    fn shards_partition_the_one_schedule() {
        let plan = plan(POISSON);
        let workload = Workload::new(&plan).unwrap();
        let whole: Vec<_> = workload.arrivals(Shard::default()).unwrap().unwrap().collect();
        assert!(whole.len() > 500, "{} arrivals", whole.len());
        assert!(whole.windows(2).all(|w| w[0].at <= w[1].at && w[0].index + 1 == w[1].index));
        let mut merged = Vec::new();
        for i in 0..3 {
            let shard = Shard::new(i, 3).unwrap();
            let part: Vec<_> = workload.arrivals(shard).unwrap().unwrap().collect();
            for (k, a) in part.iter().enumerate() {
                assert_eq!(a.index, shard.global(k as u64), "shard {i}'s {k}-th arrival");
                assert!(shard.owns(a.index));
            }
            merged.extend(part);
        }
        merged.sort_by_key(|a| a.index);
        let key = |a: &Arrival| (a.index, a.at, a.op);
        assert_eq!(merged.iter().map(key).collect::<Vec<_>>(), whole.iter().map(key).collect::<Vec<_>>());
        let issues = whole.iter().filter(|a| a.op == 0).count() as f64 / whole.len() as f64;
        assert!((0.2..0.4).contains(&issues), "issue share {issues} of a 3:7 mix");
    }

    /// A closed loop has no arrival times; its requests carry the shard's global indices
    /// and the ops the mix gives those indices in an open-loop run.
    #[test]
    fn closed_requests_interleave_like_arrivals() {
        let closed = plan("[load]\nmode = \"closed\"\nduration = \"2s\"");
        let workload = Workload::new(&closed).unwrap();
        assert!(workload.arrivals(Shard::default()).unwrap().is_none());
        let shard = Shard::new(1, 4).unwrap();
        let requests: Vec<_> = workload.closed_requests(shard).take(5).collect();
        assert_eq!(requests.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 5, 9, 13, 17]);
        let open = Workload::new(&plan(POISSON)).unwrap();
        let ops: Vec<_> = open.arrivals(shard).unwrap().unwrap().take(5).map(|a| (a.index, a.op)).collect();
        assert_eq!(requests, ops, "the same seed gives index k the same op in both loops");
    }

    /// The per-shard rates: a shard means to send 1/n of the schedule, over any span.
    #[test]
    fn a_shard_means_its_share_of_the_rate() {
        let plan = plan(POISSON);
        let workload = Workload::new(&plan).unwrap();
        let schedule = workload.schedule.as_ref().unwrap();
        let (whole, quarter) = (Shard::default(), Shard::new(3, 4).unwrap());
        assert_eq!(workload.target_rate(&plan.load, whole), 500.0);
        assert_eq!(workload.target_rate(&plan.load, quarter), 125.0);
        let second = |s| intended_rate(schedule, s, Duration::from_secs(1), Duration::from_secs(2));
        assert_eq!((second(whole), second(quarter)), (700.0, 175.0));
        assert_eq!(Shard::new(4, 4), None);
        assert_eq!((whole.label(), quarter.label()), (None, Some("3/4".to_string())));
    }
}
