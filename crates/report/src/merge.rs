//! `einv-load merge`: shard folders into one report folder, exactly.
//!
//! Histograms are added bucket by bucket (interval by interval, op by op) and every
//! percentile is computed again from the sums, never averaged; counters are summed; rates
//! are recomputed over the merged duration; the SLO is checked again on the result.

mod check;
mod slo;
mod stream;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::failures::{ErrorSample, FailedExchange, first_per_kind};
use crate::folder::{Folder, Saved, Totals, add, bad, complete, files, reserve_summary};
use crate::histograms::Timing;
use crate::hlog::HlogWriter;
use crate::outcome::ErrorClass;
use crate::stats::Stats;
use crate::summary::{Connections, Parts, RunInfo, Summary, SyncStart};
use crate::timeseries::{TimeseriesRow, TimeseriesWriter};

/// Runs write one interval per second.
const INTERVAL_S: f64 = 1.0;

/// Merge the report folders `dirs` (shards of one run) into `out` (created if missing; the
/// caller makes sure it holds no report) and return the merged summary, also written
/// (last) as summary.json. Every input is read and checked before `out` is touched.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Summary, Error> {
    let folders = dirs.iter().map(|d| Folder::open(d)).collect::<Result<Vec<_>, _>>()?;
    let mut warnings = check::compatible(&folders, out)?;
    let (offsets, skew) = align(&folders)?;
    warnings.extend(skew);
    let runs: Vec<&RunInfo> = folders.iter().map(|f| &f.summary.run).collect();
    let (sync, uneven) = sync_start(&runs);
    warnings.extend(uneven);
    let first = &folders[0].summary;
    let duration_s = folders.iter().zip(&offsets).map(|(f, o)| o + f.summary.run.duration_s).fold(0.0, f64::max);
    let ended_s = folders.iter().zip(&offsets).map(|(f, o)| o + f.summary.run.duration_s + f.summary.run.drain_s);
    let drain_s = (ended_s.fold(0.0, f64::max) - duration_s).max(0.0);
    let merged = summarise(&folders)?;
    // "I/N" of a shard run; folders that were not shards count as one whole run each.
    let shards = first.run.shard.as_deref().and_then(|s| s.split_once('/')?.1.parse().ok()).unwrap_or(1);
    let has_op = |op: &str| merged.ops.contains_key(op);
    let slo = slo::whole_run(&first.slo, shards, has_op, &folders[0].dir)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    // Reserved before the large files, as a run does; dropped on an error, it is removed.
    let reserved = reserve_summary(out, first.ops.len())?;

    let start = folders.iter().filter_map(|f| f.start_time).min().unwrap_or_default();
    let label =
        format!("einv-load {} merge of {} folders of {}", env!("CARGO_PKG_VERSION"), folders.len(), first.run.name);
    let timeseries = write_intervals(out, (&folders, &offsets), std::time::UNIX_EPOCH + start, &label)?;
    for f in &folders {
        let who = f.summary.run.shard.clone().unwrap_or_else(|| f.label());
        warnings.extend(f.summary.warnings.iter().map(|w| format!("{who}: {w}")));
    }
    let checks: Vec<Vec<String>> =
        merged.ops.keys().map(|op| merged.checks.get(op).cloned().unwrap_or_default()).collect();
    let errors = error_sample(&folders, &offsets);
    let mut not_written = Vec::new();
    not_written.extend(errors.as_ref().and_then(|e| e.write(out)));
    let parts = Parts {
        run: RunInfo { drain_s, start: sync, ..run_info(&folders, duration_s) },
        ops: merged.ops.iter().map(|(name, (stats, n))| (name.as_str(), stats, *n)).collect(),
        target_rate: folders.iter().map(|f| f.summary.overall.rate.target_per_s).sum(),
        tags: &merged.tags,
        checks: &checks,
        slo: &slo,
        percentiles: first.percentiles.clone(),
        connections: connections(&folders),
        // Each shard's own warnings (send lag, nothing measured) are carried, named.
        lag_warning: None,
        warnings,
        pool: None,
        interrupted: folders.iter().any(|f| f.summary.interrupted),
        // A shard stopped by abort-on-fail fails the merged run, as it failed its own.
        aborted: folders.iter().find_map(|f| f.summary.aborted.clone()),
        // Stages are a run's (from its own intervals); a merged run's are not summed yet.
        stages: Vec::new(),
        knee: None,
        error_samples: errors.as_ref().map(|e| e.cap),
    };
    let summary = Summary::assemble(parts);
    let errors = errors.filter(|_| not_written.is_empty()).map(|e| e.exchanges).unwrap_or_default();
    let folder = Folder { dir: out.into(), summary, timeseries, start_time: Some(start), errors };
    let totals = Totals::of(merged.ops.iter().map(|(name, (stats, _))| (name.as_str(), &stats.hist)));
    complete(reserved, Saved { folder, totals, pool: None }, not_written)
}

/// The shards' failing exchanges on the merged time axis, and of those the first per op
/// and class, as many as the largest cap of the shards keeps (none when no shard kept any).
fn error_sample(folders: &[Folder], offsets: &[f64]) -> Option<ErrorSample> {
    let cap = folders.iter().filter_map(|f| f.summary.error_samples).max()?;
    let all = folders
        .iter()
        .zip(offsets)
        .flat_map(|(f, offset)| f.errors.iter().map(move |e| FailedExchange { at_s: e.at_s + offset, ..e.clone() }));
    Some(ErrorSample { cap, exchanges: first_per_kind(all.collect(), cap) })
}

/// Each folder's offset (seconds) on the merged time axis. Every shard's interval k
/// covers second k of its own schedule, so shards started together line up by index:
/// bucketing their wall-clock times instead would split one schedule second of two shards
/// started 0.4 s apart over two buckets. Shards started more than an interval apart did
/// not load the target together, so they line up by wall-clock time (bucketed to the
/// second) and the merged time series shows what the target saw at once.
fn align(folders: &[Folder]) -> Result<(Vec<f64>, Option<String>), Error> {
    if let Some(f) = folders.iter().find(|f| f.start_time.is_none()) {
        return Err(bad(&f.dir, "histograms.hlog has no StartTime header"));
    }
    let starts: Vec<f64> = folders.iter().filter_map(|f| f.start_time.map(|t| t.as_secs_f64())).collect();
    let (lo, hi) = starts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    if hi - lo <= INTERVAL_S {
        return Ok((vec![0.0; folders.len()], None));
    }
    let warning = format!(
        "the folders started up to {:.1} s apart: their intervals are lined up by wall-clock time, \
         so the merged time series shows the load the target saw at once",
        hi - lo
    );
    Ok((starts.iter().map(|s| s - lo).collect(), Some(warning)))
}

/// The merged run's common start, when its shards had one (`run --start-at`): the spread
/// of the shards' actual starts (latest less earliest), the latest's lateness and the
/// arrivals missed in all; a warning when they were not given the same instant (or only
/// some were), which is then no common start.
fn sync_start(runs: &[&RunInfo]) -> (Option<SyncStart>, Option<String>) {
    let starts: Vec<&SyncStart> = runs.iter().filter_map(|r| r.start.as_ref()).collect();
    let Some(first) = starts.first() else { return (None, None) };
    if starts.len() < runs.len() || starts.iter().any(|s| s.at != first.at) {
        let ats: Vec<String> = runs.iter().map(|r| r.start.as_ref().map_or("none".into(), |s| s.at.clone())).collect();
        return (None, Some(format!("the shards were not started at one --start-at instant ({})", ats.join(", "))));
    }
    let (lo, hi) = starts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), s| (lo.min(s.late_ms), hi.max(s.late_ms)));
    let start = SyncStart {
        at: first.at.clone(),
        late_ms: hi,
        missed: starts.iter().map(|s| s.missed).sum(),
        spread_ms: Some(hi - lo),
    };
    (Some(start), None)
}

/// histograms.hlog and timeseries.csv of the merged run, written one merged interval
/// at a time (each timeseries row computed from that interval's merged histograms); the
/// rows as written.
fn write_intervals(
    out: &Path,
    (folders, offsets): (&[Folder], &[f64]),
    start: std::time::SystemTime,
    label: &str,
) -> Result<Vec<TimeseriesRow>, Error> {
    let (hlog_path, csv_path) = (out.join(files::HLOG), out.join(files::TIMESERIES));
    let mut hlog = HlogWriter::create(&hlog_path, start, label)?;
    let mut csv = TimeseriesWriter::create(&csv_path)?;
    let mut rows = Vec::new();
    stream::for_each_interval(folders, offsets, |key, iv| {
        let (at, length) = (secs(key as f64), secs(iv.length));
        for (op, hists) in &iv.ops {
            hlog.write_op(op, hists, at, length)?;
        }
        hlog.write(&iv.overall, at, length, None)?;
        let mut stats = Stats::new();
        stats.hist[Timing::Latency] = iv.overall.clone();
        for hists in iv.ops.values() {
            for t in [Timing::Service, Timing::SendLag] {
                add(&mut stats.hist[t], &hists[t], &csv_path)?;
            }
        }
        (stats.sent, stats.ok) = (iv.counts.sent, iv.counts.ok);
        for (class, &n) in ErrorClass::ALL.iter().zip(&iv.counts.errors_by_class) {
            stats.errors.add(*class, n);
        }
        let c = &iv.counts;
        let row = TimeseriesRow::new(key as f64, iv.length, c.target_rate, (c.connections, c.in_flight_max), &stats);
        csv.write(&row)?;
        rows.push(row.as_written());
        Ok(())
    })?;
    hlog.finish()?;
    csv.finish()?;
    Ok(rows)
}

fn secs(s: f64) -> std::time::Duration {
    std::time::Duration::from_secs_f64(s.max(0.0))
}

/// The shards' totals added per op, with the arrivals scheduled for each.
struct Merged {
    ops: BTreeMap<String, (Stats, u64)>,
    /// Every injected-fault tag of the folders, and whether each expects a rejection.
    tags: Vec<(String, bool)>,
    /// Per op, every check that failed in any folder (indices of the merged `Stats`).
    checks: BTreeMap<String, Vec<String>>,
}

fn summarise(folders: &[Folder]) -> Result<Merged, Error> {
    let mut tags: Vec<(String, bool)> = Vec::new();
    for op in folders.iter().flat_map(|f| f.summary.ops.values()) {
        for (name, inj) in &op.injected {
            if !tags.iter().any(|(t, _)| t == name) {
                tags.push((name.clone(), inj.expected == "reject"));
            }
        }
    }
    let names: Vec<String> = tags.iter().map(|(t, _)| t.clone()).collect();
    let mut checks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (op, summary) in folders.iter().flat_map(|f| &f.summary.ops) {
        let known = checks.entry(op.clone()).or_default();
        for name in summary.failed_checks.keys() {
            if !known.contains(name) {
                known.push(name.clone());
            }
        }
    }
    let mut ops: BTreeMap<String, (Stats, u64)> = BTreeMap::new();
    for f in folders {
        let Totals { ops: hists, .. } = f.totals()?;
        for (name, h) in hists {
            let saved = &f.summary.ops[&name];
            let path = f.dir.join(files::SUMMARY);
            let op_checks = checks.get(&name).map_or(&[][..], Vec::as_slice);
            let stats =
                Stats::from_saved(saved, h, &names, op_checks).map_err(|m| bad(&path, format!("ops.{name}.{m}")))?;
            let entry = ops.entry(name).or_insert_with(|| (Stats::new(), 0));
            entry.0.merge(&stats);
            entry.1 += saved.requests.scheduled;
        }
    }
    Ok(Merged { ops, tags, checks })
}

fn run_info(folders: &[Folder], duration_s: f64) -> RunInfo {
    let first = &folders[0].summary.run;
    let mut targets: Vec<&str> = Vec::new();
    for f in folders {
        if !targets.contains(&f.summary.run.target.as_str()) {
            targets.push(&f.summary.run.target);
        }
    }
    let target = match targets.len() {
        0 | 1 => first.target.clone(),
        n if n <= 3 => targets.join(", "),
        n => format!("{} and {} more", targets[..2].join(", "), n - 2),
    };
    RunInfo {
        target,
        started_at: folders.iter().map(|f| f.summary.run.started_at.clone()).min().unwrap_or_default(),
        duration_s,
        planned_duration_s: folders.iter().map(|f| f.summary.run.planned_duration_s).fold(0.0, f64::max),
        shard: None,
        start: None,
        threads: folders.iter().map(|f| f.summary.run.threads).sum(),
        ..first.clone()
    }
}

/// Client connections of all the load generators together. `max_open` is the sum of each
/// one's maximum: an upper bound, since they need not have peaked at the same moment.
fn connections(folders: &[Folder]) -> Connections {
    folders.iter().fold(Connections::default(), |a, f| {
        let c = &f.summary.connections;
        Connections {
            limit: a.limit + c.limit,
            opened: a.opened + c.opened,
            max_open: a.max_open + c.max_open,
            http2: a.http2 + c.http2,
            max_in_flight: a.max_in_flight + c.max_in_flight,
            // The same profile on every shard: the same per-connection slots.
            streams: a.streams.max(c.streams),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(start: Option<(&str, f64, u64)>) -> RunInfo {
        RunInfo {
            name: "r".into(),
            profile: "p.toml".into(),
            seed: 1,
            target: "t".into(),
            mode: "open".into(),
            started_at: String::new(),
            duration_s: 1.0,
            drain_s: 0.0,
            planned_duration_s: 1.0,
            shard: None,
            start: start.map(|(at, late_ms, missed)| SyncStart { at: at.into(), late_ms, missed, spread_ms: None }),
            threads: None,
        }
    }

    /// The spread is the latest actual start less the earliest; missed arrivals add up.
    #[test]
    fn a_common_start_reports_its_spread_and_what_was_missed() {
        let at = "2026-12-02T16:00:00Z";
        let runs = [run(Some((at, 0.2, 0))), run(Some((at, 1500.7, 150))), run(Some((at, 3.0, 0)))];
        let (start, warning) = sync_start(&runs.iter().collect::<Vec<_>>());
        let start = start.unwrap();
        assert_eq!(warning, None);
        assert!((start.spread_ms.unwrap() - 1500.5).abs() < 1e-9);
        assert_eq!((start.late_ms, start.missed), (1500.7, 150));
        let other = [run(Some((at, 0.2, 0))), run(Some(("2026-12-02T16:05:00Z", 0.1, 0)))];
        let (start, warning) = sync_start(&other.iter().collect::<Vec<_>>());
        assert!(start.is_none() && warning.unwrap().contains("not started at one --start-at instant"));
        let (start, warning) = sync_start(&[&run(None), &run(None)]);
        assert!(start.is_none() && warning.is_none());
    }
}
