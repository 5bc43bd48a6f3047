use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogHistogram, IntervalLogWriterBuilder, LogEntry, Tag};

use crate::Error;
use crate::histograms::{HIGHEST_US, Histograms, SIGFIG, Timing};
use crate::hlog_read::{Decoder, LogReader};
use crate::write::{Existing, Output};

/// `"issue:latency"` -> `("issue", Timing::Latency)`: the op and the timing of an op's
/// histogram in histograms.hlog (untagged entries are the overall latency).
pub(crate) fn parse_tag(tag: &str) -> Option<(&str, Timing)> {
    let (op, timing) = tag.rsplit_once(':')?;
    Some((op, Timing::from_name(timing)?))
}

/// Streams an HdrHistogram interval log (format 1.3, V2 deflate-compressed histograms),
/// readable by HdrHistogram's own tools (HistogramLogProcessor, the Rust crate's
/// `IntervalLogIterator`). Values are microseconds. The log is in place once
/// [`HlogWriter::finish`] returns (see [`Output`]); until then it is `histograms.hlog.tmp`.
pub struct HlogWriter {
    out: BufWriter<Output>,
    serializer: V2DeflateSerializer,
    /// Each histogram is logged at the full range, 1 µs to an hour, through this one:
    /// ours are auto-sized in memory, but readers that add a log's histograms into the
    /// first they read (HdrHistogram's tools, the Rust crate) need one range throughout.
    full: Histogram<u64>,
    path: PathBuf,
}

impl std::fmt::Debug for HlogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HlogWriter").field("path", &self.path).finish_non_exhaustive()
    }
}

impl HlogWriter {
    /// Create the log and write its header; interval timestamps are offsets from `start`.
    pub fn create(path: &Path, start: SystemTime, comment: &str) -> Result<Self, Error> {
        let mut out = BufWriter::new(Output::create(path, Existing::Replace)?);
        let mut serializer = V2DeflateSerializer::new();
        let header = IntervalLogWriterBuilder::new()
            .add_comment(comment)
            .add_comment("values in microseconds; untagged = overall latency from intended send time")
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut out, &mut serializer);
        header.map_err(|e| Error::io(path, e))?;
        writeln!(out, "#[Histogram log format version 1.3]").map_err(|e| Error::io(path, e))?;
        writeln!(out, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"")
            .map_err(|e| Error::io(path, e))?;
        let mut full = Histogram::new_with_bounds(1, HIGHEST_US, SIGFIG).expect("constant histogram bounds are valid");
        // Values are in range (record_us), so it never grows; auto only so add cannot fail.
        full.auto(true);
        Ok(Self { out, serializer, full, path: path.into() })
    }

    /// Append one interval histogram; `tag` must not contain ',' or whitespace.
    pub fn write(
        &mut self,
        h: &Histogram<u64>,
        start: Duration,
        length: Duration,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        let tag = match tag {
            Some(t) => Some(Tag::new(t).ok_or_else(|| Error::Histogram(format!("bad hlog tag {t:?}")))?),
            None => None,
        };
        // A writer with no header options writes nothing up front, so one per call is free
        // and avoids holding borrows of `out` and `serializer` in this struct.
        let h = match h.high() >= HIGHEST_US {
            true => h,
            false => {
                self.full.reset();
                self.full.add(h).map_err(|e| Error::Histogram(format!("{e:?}")))?;
                &self.full
            }
        };
        let mut w = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.out, &mut self.serializer)
            .map_err(|e| Error::io(&self.path, e))?;
        w.write_histogram(h, start, length, tag).map_err(|e| Error::Histogram(e.to_string()))
    }

    /// Append op `op`'s histograms of one interval, each tagged `<op>:<timing>`: every
    /// timing but the phases, which only when they happened (see [`Timing::is_phase`]).
    pub fn write_op(&mut self, op: &str, hists: &Histograms, start: Duration, length: Duration) -> Result<(), Error> {
        for (t, h) in hists.iter().filter(|(t, h)| !t.is_phase() || !h.is_empty()) {
            self.write(h, start, length, Some(&format!("{op}:{}", t.name())))?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }

    /// Write what is buffered and put the log in place.
    pub fn finish(self) -> Result<(), Error> {
        let out = self.out.into_inner().map_err(|e| Error::io(&self.path, e.into_error()))?;
        out.commit()
    }
}

/// One histogram read back from an interval log.
#[derive(Debug)]
pub struct HlogEntry {
    pub tag: Option<String>,
    pub start: Duration,
    pub length: Duration,
    pub histogram: Histogram<u64>,
}

/// An interval log read back whole.
#[derive(Debug)]
pub struct Hlog {
    /// The log's `#[StartTime: ...]`: when the run started, since the Unix epoch.
    pub start_time: Option<Duration>,
    pub entries: Vec<HlogEntry>,
}

/// Read every histogram of an interval log (as written by [`HlogWriter`]).
pub fn read_hlog(path: &Path) -> Result<Vec<HlogEntry>, Error> {
    Ok(read_interval_log(path)?.entries)
}

/// Read an interval log whole, with its start time (to line up logs of runs started apart).
pub fn read_interval_log(path: &Path) -> Result<Hlog, Error> {
    let mut entries = Vec::new();
    let start_time = for_each_hlog(path, |entry| {
        entries.push(entry);
        Ok(())
    })?;
    Ok(Hlog { start_time, entries })
}

/// The log's `#[StartTime: ...]`, read without decoding a single histogram.
pub fn hlog_start_time(path: &Path) -> Result<Option<Duration>, Error> {
    let mut log = LogReader::open(path)?;
    while log.advance()? {
        match log.entry()? {
            Some(LogEntry::StartTime(t)) => return Ok(Some(t)),
            // The header comes first: past it, there is no start time.
            Some(LogEntry::Interval(_)) => return Ok(None),
            Some(LogEntry::BaseTime(_)) | None => {}
        }
    }
    Ok(None)
}

/// Hand each histogram of an interval log to `f`, one at a time: an hour-long log holds
/// tens of thousands of histograms of ~200 kB each when decoded, far too many to keep.
/// Returns the log's `#[StartTime: ...]`, if it has one.
pub fn for_each_hlog(
    path: &Path,
    mut f: impl FnMut(HlogEntry) -> Result<(), Error>,
) -> Result<Option<Duration>, Error> {
    let mut log = LogReader::open(path)?;
    let mut decoder = Decoder::default();
    let mut start_time = None;
    while log.advance()? {
        match log.entry()? {
            Some(LogEntry::Interval(ilh)) => f(decode(&ilh, &mut decoder).map_err(|m| log.bad(m))?)?,
            Some(LogEntry::StartTime(t)) => {
                start_time.get_or_insert(t);
            }
            Some(LogEntry::BaseTime(_)) | None => {}
        }
    }
    Ok(start_time)
}

/// Decode one interval of a log.
pub(crate) fn decode(ilh: &IntervalLogHistogram<'_>, decoder: &mut Decoder) -> Result<HlogEntry, String> {
    Ok(HlogEntry {
        tag: ilh.tag().map(|t| t.as_str().to_string()),
        start: ilh.start_timestamp(),
        length: ilh.duration(),
        histogram: decoder.histogram(ilh)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new_histogram;

    #[test]
    fn written_log_reads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("histograms.hlog");
        let start = SystemTime::now();
        let mut w = HlogWriter::create(&path, start, "test").unwrap();
        let mut a = new_histogram();
        let mut b = new_histogram();
        for v in 1..=5000u64 {
            a.record(v * 7).unwrap();
            b.record(v * 300).unwrap();
        }
        let sec = Duration::from_secs(1);
        w.write(&a, Duration::ZERO, sec, None).unwrap();
        w.write(&b, sec, sec, Some("issue:latency")).unwrap();
        w.finish().unwrap();
        let log = read_interval_log(&path).unwrap();
        let started = start.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs_f64();
        assert!((log.start_time.unwrap().as_secs_f64() - started).abs() < 0.001);
        let back = log.entries;
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].tag, None);
        assert_eq!(back[1].tag.as_deref(), Some("issue:latency"));
        assert_eq!(back[1].start, sec);
        assert_eq!(back[0].histogram.len(), a.len());
        assert_eq!(back[0].histogram.value_at_quantile(0.99), a.value_at_quantile(0.99));
        assert_eq!(back[1].histogram.max(), b.max());
        // Auto-sized in memory, logged at one range: the first interval read back can take
        // the later, larger ones (as HdrHistogram's tools add a log up).
        assert!(a.high() < b.high() && b.high() < HIGHEST_US, "a and b grew to different sizes");
        assert!(back.iter().all(|e| e.histogram.high() >= HIGHEST_US));
        let mut first = back[0].histogram.clone();
        first.auto(false);
        first.add(&back[1].histogram).unwrap();
        assert_eq!(first.len(), a.len() + b.len());
    }
}
