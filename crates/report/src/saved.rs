//! A report folder read back from disk: what `einv-load report` re-renders from, and what
//! comparing or merging folders starts from.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Error;
use crate::histograms::{Histograms, Timing};
use crate::hlog::parse_tag;
use crate::hlog_sum::sum_hlog;
use crate::merge::{check_totals, read_summary};
use crate::pool::{POOL_CSV, PoolRow, read_pool_csv};
use crate::runlog::files;
use crate::summary::Summary;
use crate::timeseries::{TimeseriesRow, read_timeseries};

/// Everything a report folder holds that the rendered files are made from.
#[derive(Debug, Clone)]
pub struct Saved {
    /// summary.json.
    pub summary: Summary,
    /// timeseries.csv, one row per interval.
    pub timeseries: Vec<TimeseriesRow>,
    /// Per op, the sum of its intervals in histograms.hlog.
    pub ops: BTreeMap<String, Histograms>,
    /// The whole run: the untagged latency intervals; service and send lag summed over ops.
    pub overall: Histograms,
    /// pool.csv (simulated runs only).
    pub pool: Option<Vec<PoolRow>>,
}

impl Saved {
    /// Read the report folder `dir`, with the checks `merge` and `compare` apply: the
    /// folder is finished, of this schema, with its data files, and histograms.hlog's
    /// counts match summary.json's. Errors name the file that is missing or malformed; a
    /// folder holding no report file at all is [`Error::NotReport`].
    pub fn load(dir: &Path) -> Result<Saved, Error> {
        let saved = Saved::with_summary(dir, read_summary(dir)?)?;
        let counts =
            saved.ops.iter().map(|(name, h)| (name.as_str(), [h[Timing::Latency].len(), h[Timing::Service].len()]));
        check_totals(&dir.join(files::HLOG), &saved.summary, saved.overall[Timing::Latency].len(), counts)?;
        Ok(saved)
    }

    /// The folder `dir` with `summary` in place of its summary.json, which a folder being
    /// written gets last (`merge` renders the merged folder before it is complete).
    pub(crate) fn with_summary(dir: &Path, summary: Summary) -> Result<Saved, Error> {
        let timeseries = read_timeseries(&dir.join(files::TIMESERIES))?;
        let (ops, overall) = load_histograms(&dir.join(files::HLOG))?;
        let pool_path = dir.join(POOL_CSV);
        let pool = if pool_path.exists() { Some(read_pool_csv(&pool_path)?) } else { None };
        Ok(Saved { summary, timeseries, ops, overall, pool })
    }
}

/// Sum histograms.hlog's intervals per tag: `<op>:<kind>` per op, and the untagged
/// overall latency. The overall latency is logged on its own (it is what the run saw);
/// every other overall histogram is the sum of the ops'.
fn load_histograms(path: &Path) -> Result<(BTreeMap<String, Histograms>, Histograms), Error> {
    let mut ops: BTreeMap<String, Histograms> = BTreeMap::new();
    let mut overall = Histograms::default();
    for (tag, histogram) in sum_hlog(path)? {
        let Some(tag) = tag else {
            overall[Timing::Latency] = histogram;
            continue;
        };
        let Some((op, t)) = parse_tag(&tag) else {
            return Err(Error::Format {
                path: path.into(),
                message: format!("unexpected tag {:?}", einv_core::input::clip(&tag)),
            });
        };
        if t != Timing::Latency {
            // Every histogram has the bounds of new_histogram(), so add() cannot fail.
            let _ = overall[t].add(&histogram);
        }
        ops.entry(op.to_string()).or_default()[t] = histogram;
    }
    Ok((ops, overall))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_summary_is_not_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let e = Saved::load(dir.path()).unwrap_err();
        assert!(matches!(e, Error::NotReport { .. }));
        assert!(e.to_string().contains("not a report folder"), "{e}");
    }

    #[test]
    fn a_broken_summary_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(files::SUMMARY), "{\"schema_version\": 1").unwrap();
        let e = Saved::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("summary.json"), "{e}");
    }

    #[test]
    fn a_folder_with_report_files_but_no_summary_is_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(files::HLOG), "").unwrap();
        let e = Saved::load(dir.path()).unwrap_err();
        assert!(e.is_bad_input() && e.to_string().contains("summary.json is missing"), "{e}");
    }
}
