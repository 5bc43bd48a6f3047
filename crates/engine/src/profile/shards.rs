//! `[shards]`: how many processes a run needs, and the limits of one process that say so.
//! `validate` warns when one process would be over them; `einv-load k8s` sizes each pod's
//! resource requests from the same figures.

use super::raw::RawShards;
use super::validate::Check;
use super::{Load, Plan};

/// Requests per second one process sends on one core, an estimate kept well under what was
/// measured: ~13,600/s at saturation on one slow, throttled core against nginx (issue 14's
/// peer table; 0.6x wrk there). Scaling past one core per process is not measured yet, so a
/// process planned above this is warned about and its pod asks for a core per this much.
pub const RATE_PER_CORE: f64 = 10_000.0;
/// Connections one process holds open, an estimate: the built-in target's default cap
/// (what fits a usual open-file limit), the most any test here has held from one process.
pub const CONNECTIONS_PER_PROCESS: usize = 10_000;
/// The most shards `[shards] count` (and `k8s --shards`) take: far more nodes than a load
/// test gets, small enough that a typo is caught.
pub const MAX_SHARDS: u64 = 1_000;

/// `[shards]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shards {
    pub count: u64,
    pub note: Option<String>,
}

pub(super) fn spec(c: &mut Check, raw: RawShards) -> Shards {
    let count = c.required("shards.count", raw.count).unwrap_or(1);
    let count = c.count("shards.count", count, (1, MAX_SHARDS as i64)) as u64;
    Shards { count, note: raw.note }
}

/// What one of `count` processes of a plan carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerShard {
    /// Highest planned rate, requests/s (`None`: closed loop, which follows the responses).
    pub peak_rate: Option<f64>,
    /// Connections it may hold open (each process has the profile's `connections`).
    pub connections: usize,
}

impl Plan {
    /// The shards the profile asks for (1 without `[shards]`).
    pub fn shard_count(&self) -> u64 {
        self.shards.as_ref().map_or(1, |s| s.count)
    }

    /// What each of `count` shards carries.
    pub fn per_shard(&self, count: u64) -> PerShard {
        PerShard { peak_rate: self.load.peak_rate().map(|r| r / count as f64), connections: self.target.connections }
    }

    /// Warnings for `validate`: one process of the profile's split over the estimated
    /// limits of one process, with the count that would bring it under them.
    pub fn shard_warnings(&self) -> Vec<String> {
        self.per_shard_warnings(self.shard_count())
    }

    /// The same for a split into `count` shards.
    pub fn per_shard_warnings(&self, count: u64) -> Vec<String> {
        let each = self.per_shard(count);
        let mut out = Vec::new();
        let split = if count == 1 { "one process".to_string() } else { format!("each of {count} shards") };
        if let Some(peak) = each.peak_rate.filter(|r| *r > RATE_PER_CORE) {
            let need = (peak * count as f64 / RATE_PER_CORE).ceil();
            out.push(format!(
                "{split} would send {peak:.0}/s at the peak, over the ~{RATE_PER_CORE:.0}/s one process is \
                 estimated to hold on a core: its send lag may grow; [shards] count = {need} keeps each under it"
            ));
        }
        if each.connections > CONNECTIONS_PER_PROCESS {
            out.push(format!(
                "{split} may open {} connections, over the ~{CONNECTIONS_PER_PROCESS} one process is estimated to \
                 hold: lower target.connections (it is per process) and raise [shards] count",
                each.connections
            ));
        }
        out
    }

    /// `validate`'s line about the split.
    pub(super) fn shards_line(&self) -> Option<String> {
        let s = self.shards.as_ref()?;
        let each = self.per_shard(s.count);
        let rate = each.peak_rate.map_or("closed loop".to_string(), |r| format!("peak {r:.1}/s"));
        let note = s.note.as_deref().map_or(String::new(), |n| format!(" ({n})"));
        Some(format!("{} processes, each {rate}, up to {} connections{note}", s.count, each.connections))
    }
}

impl Load {
    /// The highest rate the load plans, requests/s: a schedule's highest stage rate, a
    /// replay's mean (its bursts are the trace's); `None` for closed loop.
    pub fn peak_rate(&self) -> Option<f64> {
        use einv_workload::Stage;
        match self {
            Load::Open { stages, .. } => Some(
                stages
                    .iter()
                    .map(|s| match *s {
                        Stage::Ramp { from, to, .. } | Stage::Steps { from, to, .. } => from.max(to),
                        Stage::Spike { base, peak, .. } => base.max(peak),
                    })
                    .fold(0.0, f64::max),
            ),
            Load::Replay { arrivals, duration, .. } => Some(*arrivals as f64 / duration.as_secs_f64().max(1e-9)),
            Load::Closed { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn plan(rate: u32, connections: u32, shards: &str) -> Plan {
        let src = format!(
            "schema = 1\nname = \"t\"\n[target]\nurl = \"http://127.0.0.1:1\"\nconnections = {connections}\n\
             [load]\n[[load.stage]]\nkind = \"ramp\"\nfrom = 10\nto = {rate}\nduration = \"10s\"\n\
             [[op]]\nname = \"q\"\nmethod = \"get\"\npath = \"/\"\n{shards}"
        );
        Plan::parse(&src, Path::new("p.toml")).unwrap()
    }

    /// A split under the limits says so quietly; over them, the warning names the count
    /// that would do.
    #[test]
    fn validate_warns_when_one_process_is_over_its_estimated_limits() {
        let ok = plan(25_000, 64, "[shards]\ncount = 3\nnote = \"25k/s peak\"\n");
        assert!(ok.shard_warnings().is_empty());
        assert_eq!(ok.shards_line().unwrap(), "3 processes, each peak 8333.3/s, up to 64 connections (25k/s peak)");
        let alone = plan(25_000, 64, "");
        let w = alone.shard_warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("one process would send 25000/s at the peak") && w[0].contains("count = 3"), "{w:?}");
        let many = plan(100, 20_000, "[shards]\ncount = 2\n");
        assert!(many.shard_warnings()[0].starts_with("each of 2 shards may open 20000 connections"));
    }

    #[test]
    fn a_count_out_of_range_is_refused_with_its_line() {
        let src = "schema = 1\nname = \"t\"\n[target]\nurl = \"builtin\"\n[load]\n[[load.stage]]\n\
                   kind = \"constant\"\nrate = 10\nduration = \"1s\"\n[[op]]\nname = \"q\"\nmethod = \"get\"\n\
                   path = \"/\"\n[shards]\ncount = 0\n";
        let e = Plan::parse(src, Path::new("p.toml")).unwrap_err().to_string();
        assert_eq!(e, "p.toml:15: shards.count: must be from 1 to 1000, got 0");
    }
}
