//! Turning arrivals into jobs: which op, rendered how, or skipped for want of data.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use einv_report::Recorder;
use einv_workload::Schedule;
use einv_workload::requests::{Rendered, Requests};
use einv_workload::trace::TraceReader;

use super::Job;

/// Where arrivals come from: a rate schedule (ops from the mix) or a recorded trace.
#[derive(Debug)]
pub enum Timeline {
    Schedule(Box<Schedule>),
    // Boxed: a csv reader is large and the schedule variant is the common one.
    Trace { reader: Box<TraceReader>, ops: HashMap<String, usize> },
}

/// One arrival: its global index, offset, and (replay) its op and body file.
#[derive(Debug)]
pub struct Planned {
    pub index: u64,
    pub at: Duration,
    pub op: Option<usize>,
    pub body: Option<PathBuf>,
}

impl Iterator for Timeline {
    type Item = Planned;

    fn next(&mut self) -> Option<Planned> {
        match self {
            Timeline::Schedule(s) => s.next().map(|a| Planned { index: a.index, at: a.at, op: None, body: None }),
            Timeline::Trace { reader, ops } => match reader.next()? {
                Ok(e) => Some(Planned { index: e.index, at: e.at, op: ops.get(&e.op).copied(), body: e.body }),
                // The trace was read through at validation; a change since then ends the replay.
                Err(e) => {
                    tracing::error!("trace: {e}; the replay stops here");
                    None
                }
            },
        }
    }
}

/// Renders jobs. Static ops (no placeholders) skip rendering altogether.
#[derive(Debug)]
pub struct Feed {
    requests: Requests,
    dynamic: Vec<bool>,
    recorder: Arc<Recorder>,
    /// Replay bodies, read once per file.
    bodies: HashMap<PathBuf, Arc<Vec<u8>>>,
}

impl Feed {
    pub fn new(requests: Requests, dynamic: Vec<bool>, recorder: Arc<Recorder>) -> Feed {
        Feed { requests, dynamic, recorder, bodies: HashMap::new() }
    }

    pub fn op_of(&self, index: u64) -> usize {
        self.requests.op_of(index)
    }

    pub fn is_dynamic(&self, op: usize) -> bool {
        self.dynamic.get(op).copied().unwrap_or(false)
    }

    /// The job for arrival `index` of op `op`, or `None` if it must be skipped (then it
    /// is counted as skipped).
    pub fn job(&mut self, index: u64, op: usize, intended: Instant, body: Option<&PathBuf>) -> Option<Job> {
        let mut rendered = None;
        if self.is_dynamic(op) || body.is_some() {
            let mut r = Rendered::default();
            match self.requests.render(index, op, false, &mut r) {
                Ok(Ok(())) => {}
                Ok(Err(_skip)) => {
                    self.recorder.skip(0, op);
                    return None;
                }
                Err(e) => {
                    tracing::error!("{e}");
                    self.recorder.skip(0, op);
                    return None;
                }
            }
            if let Some(path) = body {
                r.body = self.body(path).to_vec();
            }
            rendered = Some(Box::new(r));
        }
        Some(Job { index, op, intended, queued: false, rendered })
    }

    fn body(&mut self, path: &PathBuf) -> Arc<Vec<u8>> {
        self.bodies
            .entry(path.clone())
            .or_insert_with(|| {
                Arc::new(std::fs::read(path).unwrap_or_else(|e| {
                    tracing::error!("{}: {e}; sending an empty body", path.display());
                    Vec::new()
                }))
            })
            .clone()
    }
}
