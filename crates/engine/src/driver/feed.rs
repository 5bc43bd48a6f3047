//! Turning arrivals into jobs: which op, rendered how, or skipped for want of data.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use einv_workload::Mix;
use einv_workload::requests::{Rendered, Requests, Skip};

use super::{Ctx, Job, Parts, valid_value};

/// Why an arrival produced no job (each is counted as skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Its data was missing (empty capture).
    NoData,
    /// Its data made a request that is not valid HTTP (a value with bytes a header or a
    /// URI may not hold): counted as unsendable too.
    Unsendable,
    /// A sequential feeder ran out: later arrivals of its ops will be skipped too.
    Exhausted,
}

/// Renders jobs. Static ops (no placeholders) skip rendering altogether.
#[derive(Debug)]
pub struct Feed {
    requests: Requests,
    dynamic: Vec<bool>,
    ctx: Arc<Ctx>,
    /// Ops already warned about a value that could not be sent (one warning each).
    warned: Vec<bool>,
    rendered: Rendered,
}

impl Feed {
    pub fn new(requests: Requests, dynamic: Vec<bool>, ctx: Arc<Ctx>) -> Feed {
        let warned = vec![false; dynamic.len()];
        Feed { requests, dynamic, ctx, warned, rendered: Rendered::default() }
    }

    /// The mix and which ops need rendering: enough to make static jobs without the feed.
    pub fn statics(&self) -> (Mix, Arc<[bool]>) {
        (self.requests.mix().clone(), self.dynamic.clone().into())
    }

    /// The job for arrival `index` of op `op` (with a replay's body, if any). A skipped
    /// arrival is counted here.
    pub fn job(&mut self, index: u64, op: usize, intended: Instant, body: Option<Bytes>) -> Result<Job, Skipped> {
        let mut parts = None;
        if self.dynamic.get(op).copied().unwrap_or(false) {
            match self.render(index, op) {
                Ok(p) => parts = Some(p),
                Err(skipped) => {
                    self.ctx.recorder.skip(super::worker::recorder_slot(), op, skipped == Skipped::Unsendable);
                    return Err(skipped);
                }
            }
        }
        if let Some(body) = body {
            let p = parts.get_or_insert_with(Box::default);
            p.body = Some(body);
            // The trace's own body replaces whatever fault the generator would have injected.
            p.tag = None;
        }
        Ok(Job { index, op, intended, queued: false, parts })
    }

    fn render(&mut self, index: u64, op: usize) -> Result<Box<Parts>, Skipped> {
        let r = &mut self.rendered;
        match self.requests.render(index, op, false, r) {
            Ok(Ok(())) => {}
            Ok(Err(Skip::FeederExhausted(_))) => return Err(Skipped::Exhausted),
            Ok(Err(Skip::EmptyCapture(_))) => return Err(Skipped::NoData),
            Err(e) => {
                tracing::error!("{}", self.ctx.secrets.mask(&e.to_string()));
                return Err(Skipped::Exhausted);
            }
        }
        let prepared = &self.ctx.requests[op];
        let path = prepared.request.target_for(&r.path);
        let headers: Result<Vec<Bytes>, usize> = r
            .headers
            .iter()
            .enumerate()
            .map(|(i, v)| if valid_value(v) { Ok(Bytes::copy_from_slice(v)) } else { Err(i) })
            .collect();
        let (path, headers) = match (path, headers) {
            (Some(path), Ok(headers)) => (path, headers),
            (_, bad_header) => {
                if !std::mem::replace(&mut self.warned[op], true) {
                    let what = match bad_header {
                        Err(i) => format!("header {}", prepared.request.templated_header(i).unwrap_or("?")),
                        Ok(_) => "path".into(),
                    };
                    // Masked before quoting: Debug would escape a secret out of recognition.
                    let path = self.ctx.secrets.mask(&String::from_utf8_lossy(&r.path));
                    tracing::warn!(
                        "op {}: a rendered request is not valid HTTP (its {what}; path {path:?}); such requests \
                         are not sent and counted as unsendable",
                        prepared.name
                    );
                }
                return Err(Skipped::Unsendable);
            }
        };
        let body = Bytes::copy_from_slice(&r.body);
        Ok(Box::new(Parts { path: Some(path), headers, body: Some(body), tag: r.tag }))
    }
}
