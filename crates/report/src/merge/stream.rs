//! The folders' interval logs merged one interval at a time. Each log is in time order,
//! so the merged intervals come out in order by always taking the earliest next interval
//! of any log: only one merged interval is decoded at once, whatever the run's length
//! (an hour of six ops decoded whole takes tens of gigabytes).

use std::collections::BTreeMap;
use std::path::PathBuf;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::LogEntry;

use crate::Error;
use crate::folder::{Folder, add, bad, files, unreadable};
use crate::histograms::{Histograms, new_histogram};
use crate::hlog::{decode, parse_tag};
use crate::hlog_read::{Decoder, LogReader};
use crate::timeseries::TimeseriesRow;

/// One merged interval: every folder's histograms and counters that fall in it.
#[derive(Debug)]
pub(super) struct Interval {
    pub length: f64,
    pub overall: Histogram<u64>,
    pub ops: BTreeMap<String, Histograms>,
    /// Summed counters (sent, ok, errors, target rate, connections, in flight).
    pub counts: TimeseriesRow,
}

/// Hand `f` every merged interval, in time order, keyed by its start second on the
/// merged axis (a folder's interval starting at `s` lands at `round(offset + s)`).
pub(super) fn for_each_interval(
    folders: &[Folder],
    offsets: &[f64],
    mut f: impl FnMut(i64, &Interval) -> Result<(), Error>,
) -> Result<(), Error> {
    let key = |offset: f64, start_s: f64| (offset + start_s).round() as i64;
    // The counters are small: all of them, summed per key, up front.
    let mut rows: BTreeMap<i64, (f64, TimeseriesRow)> = BTreeMap::new();
    for (folder, &offset) in folders.iter().zip(offsets) {
        for r in &folder.timeseries {
            let (length, c) = rows.entry(key(offset, r.start_s)).or_default();
            *length = length.max(r.length_s);
            (c.sent, c.ok, c.errors) = (c.sent + r.sent, c.ok + r.ok, c.errors + r.errors);
            c.target_rate += r.target_rate;
            c.connections += r.connections;
            // Summed as summary.json's max_in_flight is: the shards' peaks may not coincide.
            c.in_flight_max += r.in_flight_max;
            c.errors_by_class.iter_mut().zip(&r.errors_by_class).for_each(|(a, b)| *a += b);
        }
    }
    let mut cursors: Vec<Cursor> = folders
        .iter()
        .zip(offsets)
        .map(|(folder, &offset)| {
            let path = folder.dir.join(files::HLOG);
            let log = LogReader::open(&path).map_err(|e| unreadable(&path, e))?;
            Ok(Cursor { path, log, offset, key: None, ended: false })
        })
        .collect::<Result<_, Error>>()?;
    let mut decoder = Decoder::default();
    loop {
        let mut next = rows.keys().next().copied();
        for c in &mut cursors {
            if let Some(k) = c.next_key()? {
                next = Some(next.map_or(k, |n| n.min(k)));
            }
        }
        let Some(at) = next else { return Ok(()) };
        let (length, counts) = rows.remove(&at).unwrap_or_default();
        let mut iv = Interval { length, overall: new_histogram(), ops: BTreeMap::new(), counts };
        for c in &mut cursors {
            while c.next_key()? == Some(at) {
                c.add_next(&mut iv, &mut decoder)?;
            }
        }
        f(at, &iv)?;
    }
}

/// One folder's log, read an interval at a time.
struct Cursor {
    path: PathBuf,
    log: LogReader,
    offset: f64,
    /// The merged key of the interval on the log's current line, until it is merged.
    key: Option<i64>,
    ended: bool,
}

impl Cursor {
    /// The merged key of the next histogram, skipping header entries; `None` at the end.
    fn next_key(&mut self) -> Result<Option<i64>, Error> {
        while self.key.is_none() && !self.ended {
            self.ended = !self.log.advance().map_err(|e| unreadable(&self.path, e))?;
            if let Some(LogEntry::Interval(ilh)) = self.log.entry().map_err(|e| unreadable(&self.path, e))? {
                self.key = Some((self.offset + ilh.start_timestamp().as_secs_f64()).round() as i64);
            }
        }
        Ok(self.key)
    }

    /// Decode the next histogram (the caller has seen its key) into `iv`.
    fn add_next(&mut self, iv: &mut Interval, decoder: &mut Decoder) -> Result<(), Error> {
        let path = &self.path;
        let Some(LogEntry::Interval(ilh)) = self.log.entry().map_err(|e| unreadable(path, e))? else { return Ok(()) };
        self.key = None;
        let e = decode(&ilh, decoder).map_err(|m| unreadable(path, self.log.bad(m)))?;
        iv.length = iv.length.max(e.length.as_secs_f64());
        let Some(tag) = &e.tag else {
            return add(&mut iv.overall, &e.histogram, path);
        };
        let (op, t) = parse_tag(tag).ok_or_else(|| bad(path, format!("unknown tag {tag:?}")))?;
        add(&mut iv.ops.entry(op.to_string()).or_default()[t], &e.histogram, path)
    }
}
