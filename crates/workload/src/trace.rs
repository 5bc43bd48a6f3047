//! Trace replay: a CSV of recorded traffic replayed with its own timing, sped up or slowed
//! down.
//!
//! # Format
//!
//! A header line naming the columns, then one request per line:
//!
//! | column   | required | meaning |
//! |----------|----------|---------|
//! | `offset` | yes | when the request was sent, from the trace start: seconds as a decimal number (`0.125`) or a duration (`125ms`, `1.5s`, `1m30s`; units `ns`, `us`, `µs`, `ms`, `s`, `m`, `min`, `h`) |
//! | `op`     | yes | the name of an op of the profile |
//! | `body`   | no  | a file holding the request body, relative to the trace file's folder (which the engine confines it to, unless `[load] body-root` names another); empty = the op's own body |
//!
//! Other columns are ignored, so exports with extra fields replay as they are. Offsets must
//! be ≥ 0 and never decrease from one line to the next; equal offsets are a burst. Entry
//! `index` is the 0-based data row number, the global arrival index the engine shards by,
//! and `at = offset / speed`.
//!
//! The reader streams: memory does not grow with the trace, and a line may be at most
//! [`RECORD_LIMIT`](einv_core::input::RECORD_LIMIT) (1 MiB) long. Only a regular file is
//! read. Problems are reported when the reader reaches them, naming the file and line;
//! after the first error it stops. Op names and body files are checked by the engine
//! against the profile, not here.
//!
//! `profiles/traces/sample-invoices.csv` is a generated example: about 60 s of an invoice
//! API around its peak, a non-homogeneous Poisson process (Python `random.Random(20240611)`,
//! thinning) whose rate climbs from 20/s to 80/s over 35 s, bursts at 140/s for 2.5 s, then
//! falls to 25/s; ops drawn independently with weights issue 35, query 35, verify_taxpayer
//! 15, download 8, red_flush 4, payment_callback 3.

use std::path::{Path, PathBuf};
use std::time::Duration;

use csv::StringRecord;
use einv_core::input::clip;

use crate::Error;
use crate::feeder::{CsvReader, data_error, open_csv, read_record, record_line};

/// Fastest allowed replay: beyond this, a recorded second shrinks below a millisecond.
const MAX_SPEED: f64 = 1000.0;

/// One recorded request, with its offset already scaled by the replay speed.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    /// The 0-based data row number: the global arrival index.
    pub index: u64,
    /// The 1-based line of the trace file it was read from, for messages.
    pub line: u64,
    /// When to send it, from the start of the replay (`offset / speed`).
    pub at: Duration,
    pub op: String,
    /// The request body file, resolved against the trace's folder; `None` = the op's body.
    pub body: Option<PathBuf>,
}

/// Streams [`TraceEntry`]s from a trace file, in file order.
#[derive(Debug)]
pub struct TraceReader {
    path: PathBuf,
    folder: PathBuf,
    reader: CsvReader,
    record: StringRecord,
    speed: f64,
    columns: Columns,
    next_index: u64,
    /// The previous line's offset in seconds, as written (before the speed applies).
    previous: f64,
    stopped: bool,
}

#[derive(Debug, Clone, Copy)]
struct Columns {
    offset: usize,
    op: usize,
    body: Option<usize>,
}

impl TraceReader {
    /// Open a trace and read its header; `speed` 2 replays twice as fast (see [`check_speed`]).
    pub fn open(path: &Path, speed: f64) -> Result<TraceReader, Error> {
        check_speed(speed).map_err(|m| data_error(path, None, format!("replay speed: {m}")))?;
        let (reader, header) = open_csv(path)?;
        let columns = find_columns(path, &header, record_line(&reader))?;
        Ok(TraceReader {
            path: path.to_path_buf(),
            folder: path.parent().unwrap_or(Path::new("")).to_path_buf(),
            reader,
            record: StringRecord::new(),
            speed,
            columns,
            next_index: 0,
            previous: 0.0,
            stopped: false,
        })
    }

    fn read_entry(&mut self) -> Result<Option<TraceEntry>, Error> {
        if !read_record(&mut self.reader, &self.path, &mut self.record)? {
            return Ok(None);
        }
        let line = record_line(&self.reader);
        let fail = |message: String| Err(data_error(&self.path, Some(line), message));
        let field = |i: usize| self.record.get(i).unwrap_or("").trim();

        let offset_text = field(self.columns.offset);
        let Some(offset) = parse_offset(offset_text) else {
            let offset = clip(offset_text);
            return fail(format!("bad offset \"{offset}\": write seconds like 0.125 or a duration like 125ms"));
        };
        if offset < 0.0 {
            return fail(format!("offset {offset} s is negative"));
        }
        if offset < self.previous {
            return fail(format!("offset {offset} s is before the previous line's {} s", self.previous));
        }
        let op = field(self.columns.op);
        if op.is_empty() {
            return fail("the op is empty".into());
        }
        let Ok(at) = Duration::try_from_secs_f64(offset / self.speed) else {
            return fail(format!("offset {offset} s is too large"));
        };
        let body = self.columns.body.map(field).filter(|b| !b.is_empty()).map(|b| self.folder.join(b));
        let entry = TraceEntry { index: self.next_index, line, at, op: op.to_string(), body };
        self.previous = offset;
        self.next_index += 1;
        Ok(Some(entry))
    }
}

impl Iterator for TraceReader {
    type Item = Result<TraceEntry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.stopped {
            return None;
        }
        let result = self.read_entry();
        // One bad line is reported once; later lines would only repeat or hide it.
        self.stopped = !matches!(result, Ok(Some(_)));
        result.transpose()
    }
}

/// Check a replay speed: finite, > 0 and at most 1000.
pub fn check_speed(speed: f64) -> Result<(), String> {
    if !speed.is_finite() || speed <= 0.0 {
        return Err(format!("must be a number > 0, got {speed}"));
    }
    if speed > MAX_SPEED {
        return Err(format!("must be at most {MAX_SPEED}, got {speed}"));
    }
    Ok(())
}

/// Locate the columns by name. Unknown and unnamed columns are ignored; the two required
/// ones must appear exactly once, or the replay would depend on which copy we picked.
fn find_columns(path: &Path, header: &StringRecord, line: u64) -> Result<Columns, Error> {
    let line = Some(line);
    let find = |name: &str| -> Result<Option<usize>, Error> {
        let mut hits = header.iter().enumerate().filter(|(_, c)| c.trim() == name).map(|(i, _)| i);
        let first = hits.next();
        if hits.next().is_some() {
            return Err(data_error(path, line, format!("the header names column \"{name}\" twice")));
        }
        Ok(first)
    };
    let required = |name: &str| {
        find(name)?.ok_or_else(|| {
            let message = format!("the header has no \"{name}\" column (required: offset, op; optional: body)");
            data_error(path, line, message)
        })
    };
    Ok(Columns { offset: required("offset")?, op: required("op")?, body: find("body")? })
}

/// Seconds from a decimal number (`0.125`) or a duration string (`125ms`, `1m30s`).
fn parse_offset(text: &str) -> Option<f64> {
    let secs = match text.parse::<f64>() {
        Ok(secs) => secs,
        Err(_) => parse_duration(text)?,
    };
    secs.is_finite().then_some(secs)
}

/// A sequence of `<number><unit>` parts, summed. Not humantime: recorded traces carry
/// fractions (`1.5s`, `12.75ms`), which humantime does not take. Sub-second units divide
/// rather than multiply so `300ms` is exactly the same f64 as `0.3`.
fn parse_duration(text: &str) -> Option<f64> {
    let is_number = |c: char| c.is_ascii_digit() || c == '.';
    let mut rest = text;
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !is_number(c)).unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(is_number).unwrap_or(rest.len());
        total += match rest[..unit_end].trim() {
            "ns" => number / 1e9,
            "us" | "µs" => number / 1e6,
            "ms" => number / 1e3,
            "s" => number,
            "m" | "min" => number * 60.0,
            "h" => number * 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn write_trace(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("trace.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn read_all(path: &Path, speed: f64) -> Vec<TraceEntry> {
        TraceReader::open(path, speed).unwrap().collect::<Result<_, _>>().unwrap()
    }

    /// The error the reader stops on, as a user sees it.
    fn first_error(text: &str) -> (PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = write_trace(&dir, text);
        let mut reader = TraceReader::open(&path, 1.0).unwrap();
        let err = reader.find_map(Result::err).unwrap().to_string();
        assert!(reader.next().is_none(), "the reader stops after an error");
        (path, err)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn speed_scales_the_recorded_timing() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_trace(&dir, "offset,op\n0,issue\n0.5,query\n1.5,issue\n");
        let at = |speed| read_all(&path, speed).iter().map(|e| e.at).collect::<Vec<_>>();
        assert_eq!(at(1.0), [ms(0), ms(500), ms(1500)]);
        assert_eq!(at(2.0), [ms(0), ms(250), ms(750)]);
        assert_eq!(at(0.5), [ms(0), ms(1000), ms(3000)]);
    }

    #[test]
    fn entries_carry_the_row_index_and_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_trace(&dir, "tenant,op,offset,status\nt1,issue,0,200\n\nt2, query ,0,500\n");
        let entries = read_all(&path, 1.0);
        let got: Vec<_> = entries.iter().map(|e| (e.index, e.op.as_str(), e.body.clone())).collect();
        assert_eq!(got, [(0, "issue", None), (1, "query", None)]);
    }

    #[test]
    fn offsets_may_be_duration_strings() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_trace(&dir, "offset,op\n250us,a\n125ms,a\n0.3,a\n300ms,a\n1.5s,a\n1m30s,a\n1h,a\n");
        let at: Vec<_> = read_all(&path, 1.0).iter().map(|e| e.at).collect();
        let secs = |s: u64| Duration::from_secs(s);
        assert_eq!(at, [Duration::from_micros(250), ms(125), ms(300), ms(300), ms(1500), secs(90), secs(3600)]);
    }

    #[test]
    fn decreasing_offsets_are_rejected_with_the_line() {
        let (path, err) = first_error("offset,op\n0,issue\n1.5,query\n1.2,issue\n2,issue\n");
        assert_eq!(err, format!("{}:4: offset 1.2 s is before the previous line's 1.5 s", path.display()));
    }

    #[test]
    fn bad_offsets_name_the_line_and_value() {
        let (_, err) = first_error("offset,op\n0,issue\n0.1s5,query\n");
        assert!(err.ends_with("trace.csv:3: bad offset \"0.1s5\": write seconds like 0.125 or a duration like 125ms"));
        let (_, err) = first_error("offset,op\n-1,issue\n");
        assert!(err.ends_with(":2: offset -1 s is negative"), "{err}");
        let (_, err) = first_error("offset,op\nNaN,issue\n");
        assert!(err.contains(":2: bad offset \"NaN\""), "{err}");
    }

    #[test]
    fn empty_ops_name_the_line() {
        let (_, err) = first_error("offset,op\n0,issue\n0.2,  \n");
        assert!(err.ends_with("trace.csv:3: the op is empty"), "{err}");
        let (_, err) = first_error("offset,op\n0,issue\n0.2\n");
        assert!(err.ends_with("trace.csv:3: the op is empty"), "a short row has no op: {err}");
    }

    /// Windows line ends (CRLF), blank lines and bare CR line ends: the line named is the
    /// one an editor shows (csv's own count named the line before, or line 1 throughout).
    #[test]
    fn lines_are_counted_as_an_editor_counts_them() {
        for (text, line) in [
            ("offset,op\r\n0,issue\r\n-1,query\r\n", 3),
            ("offset,op\n\n0,issue\n\n\n-1,query\n", 6),
            ("offset,op\r\n\r\n0,issue\r\n\r\n-1,query\r\n", 5),
            ("offset,op\r0,issue\r-1,query\r", 3),
            ("offset,op\r\n0,\"multi\r\nline\"\r\n-1,query\r\n", 4),
        ] {
            let (_, err) = first_error(text);
            assert!(err.ends_with(&format!("trace.csv:{line}: offset -1 s is negative")), "{text:?}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<_> =
            read_all(&write_trace(&dir, "offset,op\r\n0,a\r\n\r\n1,b\r\n"), 1.0).iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4]);
        let err = TraceReader::open(&write_trace(&dir, "\r\n\r\noffset,op,op\r\n"), 1.0).unwrap_err().to_string();
        assert!(err.ends_with("trace.csv:3: the header names column \"op\" twice"), "{err}");
    }

    #[test]
    fn headers_must_name_offset_and_op_once() {
        let dir = tempfile::tempdir().unwrap();
        let open = |text: &str| TraceReader::open(&write_trace(&dir, text), 1.0).unwrap_err().to_string();
        let err = open("time,op\n0,issue\n");
        assert!(
            err.ends_with("trace.csv:1: the header has no \"offset\" column (required: offset, op; optional: body)")
        );
        assert!(open("offset,op,op\n0,a,b\n").ends_with(":1: the header names column \"op\" twice"));
        assert!(open("").contains("the file is empty"));
    }

    #[test]
    fn body_paths_are_relative_to_the_trace_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("replay")).unwrap();
        let path = dir.path().join("replay").join("t.csv");
        std::fs::write(&path, "offset,op,body\n0,issue,bodies/one.json\n0.1,query,\n").unwrap();
        let entries = read_all(&path, 1.0);
        assert_eq!(entries[0].body, Some(dir.path().join("replay").join("bodies/one.json")));
        assert_eq!(entries[1].body, None, "an empty body means the op's own body");
    }

    #[test]
    fn only_regular_files_are_replayed() {
        let dir = tempfile::tempdir().unwrap();
        for (path, kind) in crate::feeder::tests::special_files(dir.path()) {
            let err = TraceReader::open(&path, 1.0).unwrap_err().to_string();
            assert_eq!(err, format!("{}: is {kind}; expected a regular file", path.display()));
        }
    }

    #[test]
    fn a_line_longer_than_a_mebibyte_stops_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = b"offset,op\n0,issue\n0.5,".to_vec();
        text.extend(std::iter::repeat_n(b'q', 3 << 20));
        let path = dir.path().join("trace.csv");
        std::fs::write(&path, text).unwrap();
        let mut reader = TraceReader::open(&path, 1.0).unwrap();
        assert_eq!(reader.next().unwrap().unwrap().line, 2);
        let err = reader.next().unwrap().unwrap_err().to_string();
        assert_eq!(err, format!("{}:3: has a line longer than 1 MiB (expected text with line breaks)", path.display()));
        assert!(reader.next().is_none());
    }

    #[test]
    fn a_long_bad_offset_is_quoted_short() {
        let long = "9x".repeat(250_000);
        let (_, err) = first_error(&format!("offset,op\n{long},issue\n"));
        assert!(err.ends_with(&format!(
            ":2: bad offset \"{}...\": write seconds like 0.125 or a duration like 125ms",
            &long[..80]
        )));
        assert!(err.len() < 300, "{} bytes", err.len());
    }

    #[test]
    fn speed_must_be_positive_finite_and_bounded() {
        assert!(check_speed(1.0).is_ok() && check_speed(1000.0).is_ok() && check_speed(0.01).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1000.5] {
            assert!(check_speed(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let err = TraceReader::open(&write_trace(&dir, "offset,op\n"), 0.0).unwrap_err().to_string();
        assert!(err.ends_with("trace.csv: replay speed: must be a number > 0, got 0"), "{err}");
    }

    #[test]
    fn the_sample_trace_replays_fully_with_the_intended_mix() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../profiles/traces/sample-invoices.csv");
        let entries = read_all(&path, 1.0);
        assert!((2_800..=3_600).contains(&entries.len()), "{} lines", entries.len());
        let last = entries.last().unwrap().at;
        assert!(last > Duration::from_secs(55) && last <= Duration::from_secs(60), "{last:?}");
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for e in &entries {
            *counts.entry(&e.op).or_default() += 1;
        }
        let share = |op| counts.get(op).copied().unwrap_or(0) as f64 / entries.len() as f64;
        let intended = [
            ("issue", 0.35),
            ("query", 0.35),
            ("verify_taxpayer", 0.15),
            ("download", 0.08),
            ("red_flush", 0.04),
            ("payment_callback", 0.03),
        ];
        for (op, want) in intended {
            assert!((share(op) - want).abs() < 0.03, "{op}: {:.3}", share(op));
        }
        assert_eq!(counts.len(), intended.len(), "no other ops");
        // The peak is busier than the start: the trace is not a constant rate.
        let per_second = |from: u64| entries.iter().filter(|e| e.at.as_secs() == from).count();
        assert!(per_second(36) > 3 * per_second(1), "{} vs {}", per_second(36), per_second(1));
    }
}
