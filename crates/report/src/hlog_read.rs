//! Reading an interval log back, bounded: a line at a time, each at most
//! [`RECORD_LIMIT`](einv_core::input::RECORD_LIMIT) (1 MiB) long, and each histogram expanded to at most
//! [`MAX_EXPANDED`] bytes. A log is input (`report`, `merge`, `compare`, holds taken
//! `from-report`): neither a file without line breaks nor a line that inflates to
//! gigabytes, nor a header that claims a 4 GB payload, may take the memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use einv_core::input::{self, Bounded, InputError};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogHistogram, IntervalLogIterator, LogEntry};

use crate::Error;

pub(crate) const V2_COOKIE: u32 = 0x1c84_9303 | 0x10;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9304 | 0x10;
/// cookie, payload length, normalizing offset, digits (u32 each), low, high (u64), ratio (f64).
pub(crate) const V2_HEADER: usize = 40;
/// The most one histogram may take uncompressed. Ours (1 µs..1 h, 3 digits) need at most
/// ~210 kB: 23,552 counters of up to 9 bytes; a foreign 5-digit one can need tens of MB.
const MAX_EXPANDED: u64 = 16 << 20;

/// The lines of one interval log, read one at a time.
pub(crate) struct LogReader {
    path: PathBuf,
    lines: BufReader<Bounded<File>>,
    line: Vec<u8>,
    number: u64,
}

impl LogReader {
    /// Open the log at `path` (a regular file).
    pub fn open(path: &Path) -> Result<LogReader, Error> {
        let file = input::open(path).map_err(|e| Error::input(path, &e))?;
        Ok(LogReader { path: path.into(), lines: BufReader::new(Bounded::new(file)), line: Vec::new(), number: 0 })
    }

    /// Move to the next line; `false` at the end of the log.
    pub fn advance(&mut self) -> Result<bool, Error> {
        self.line.clear();
        self.number += 1;
        self.lines.get_mut().renew();
        match self.lines.read_until(b'\n', &mut self.line) {
            Ok(n) => Ok(n > 0),
            Err(e) => Err(match InputError::from_io(&e) {
                Some(too_long) => self.bad(too_long.to_string()),
                None => Error::io(&self.path, e),
            }),
        }
    }

    /// The entry on the current line: `None` for a comment or the column legend (and
    /// before the first line). Each line of a log stands alone, so parsing one at a time is parsing the log.
    pub fn entry(&self) -> Result<Option<LogEntry<'_>>, Error> {
        match IntervalLogIterator::new(&self.line).next() {
            None => Ok(None),
            Some(Ok(entry)) => Ok(Some(entry)),
            Some(Err(_)) => Err(self.bad("not an interval log line (a comment, a header or an interval)".into())),
        }
    }

    /// An error about the current line.
    pub fn bad(&self, message: String) -> Error {
        Error::Format { path: self.path.clone(), message: format!("line {}: {message}", self.number) }
    }
}

/// Decodes a log's histograms (base64, then HdrHistogram V2, deflated or not), reusing
/// its buffers from one interval to the next.
pub(crate) struct Decoder {
    raw: Vec<u8>,
    expanded: Vec<u8>,
    deserializer: Deserializer,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { raw: Vec::new(), expanded: Vec::new(), deserializer: Deserializer::new() }
    }
}

impl Decoder {
    /// The uncompressed V2 encoding of `ilh`'s histogram: its header is checked to fit in
    /// the bytes there are, so a decoder trusting it allocates no more than that.
    pub fn expand(&mut self, ilh: &IntervalLogHistogram<'_>) -> Result<&[u8], String> {
        self.raw.clear();
        BASE64.decode_vec(ilh.encoded_histogram(), &mut self.raw).map_err(|e| format!("bad base64 histogram: {e}"))?;
        let raw = &self.raw;
        self.expanded.clear();
        match raw.get(..4).map(be_u32) {
            Some(V2_COMPRESSED_COOKIE) => {
                let len = raw.get(4..8).map_or(0, be_u32) as usize;
                let compressed = raw.get(8..8 + len).ok_or("truncated histogram")?;
                let inflater = flate2::read::ZlibDecoder::new(compressed);
                inflater
                    .take(MAX_EXPANDED + 1)
                    .read_to_end(&mut self.expanded)
                    .map_err(|e| format!("bad histogram: {e}"))?;
                if self.expanded.len() as u64 > MAX_EXPANDED {
                    return Err(format!("a histogram expands to more than {}", input::size(MAX_EXPANDED)));
                }
            }
            Some(V2_COOKIE) => self.expanded.extend_from_slice(raw),
            _ => return Err("not an HdrHistogram V2 histogram".into()),
        }
        let v2 = &self.expanded;
        if v2.len() < V2_HEADER || be_u32(v2) != V2_COOKIE {
            return Err("bad histogram cookie".into());
        }
        if be_u32(&v2[4..]) as usize > v2.len() - V2_HEADER {
            return Err("truncated histogram payload".into());
        }
        Ok(v2)
    }

    /// `ilh`'s histogram, in whatever configuration it was written.
    pub fn histogram(&mut self, ilh: &IntervalLogHistogram<'_>) -> Result<Histogram<u64>, String> {
        self.expand(ilh)?;
        self.deserializer.deserialize(&mut self.expanded.as_slice()).map_err(|e| format!("bad histogram: {e:?}"))
    }
}

pub(crate) fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::{Duration, SystemTime};

    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer, V2Serializer};

    use super::*;
    use crate::hlog::HlogWriter;
    use crate::new_histogram;

    /// A log holding one interval whose histogram is `encoded` (already serialized).
    fn log_with(dir: &tempfile::TempDir, encoded: &[u8]) -> PathBuf {
        let path = dir.path().join("histograms.hlog");
        HlogWriter::create(&path, SystemTime::now(), "test").unwrap().finish().unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        writeln!(f, "0.000,1.000,1.0,{}", BASE64.encode(encoded)).unwrap();
        path
    }

    fn first_histogram(path: &Path) -> Result<Histogram<u64>, String> {
        let mut log = LogReader::open(path).map_err(|e| e.to_string())?;
        let mut decoder = Decoder::default();
        while log.advance().map_err(|e| e.to_string())? {
            if let Some(LogEntry::Interval(ilh)) = log.entry().map_err(|e| e.to_string())? {
                return decoder.histogram(&ilh);
            }
        }
        Err("no interval".into())
    }

    #[test]
    fn deflated_and_plain_histograms_decode_alike() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = new_histogram();
        h.record_n(1234, 5).unwrap();
        let (mut deflated, mut plain) = (Vec::new(), Vec::new());
        V2DeflateSerializer::new().serialize(&h, &mut deflated).unwrap();
        V2Serializer::new().serialize(&h, &mut plain).unwrap();
        assert_eq!(first_histogram(&log_with(&dir, &deflated)).unwrap(), h);
        assert_eq!(first_histogram(&log_with(&dir, &plain)).unwrap(), h);
    }

    #[test]
    fn a_header_claiming_more_than_there_is_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = new_histogram();
        h.record(7).unwrap();
        let mut plain = Vec::new();
        V2Serializer::new().serialize(&h, &mut plain).unwrap();
        // A 4 GB payload length in a 50-byte histogram: decoders trusting it allocate 4 GB.
        plain[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(first_histogram(&log_with(&dir, &plain)).unwrap_err(), "truncated histogram payload");
    }

    #[test]
    fn a_histogram_that_inflates_past_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A valid V2 header, then 20 MiB of zeros: deflate packs it into ~20 kB.
        let mut inner = V2_COOKIE.to_be_bytes().to_vec();
        inner.extend_from_slice(&(20u32 << 20).to_be_bytes());
        inner.resize(V2_HEADER + (20 << 20), 0);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&inner).unwrap();
        let compressed = z.finish().unwrap();
        let mut outer = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
        outer.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
        outer.extend_from_slice(&compressed);
        let err = first_histogram(&log_with(&dir, &outer)).unwrap_err();
        assert_eq!(err, "a histogram expands to more than 16 MiB");
    }

    #[test]
    fn lines_are_bounded_and_errors_name_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("histograms.hlog");
        let mut bytes = b"#[StartTime: 1.000 (seconds since epoch)]\n0.0,".to_vec();
        bytes.extend(std::iter::repeat_n(b'A', einv_core::input::RECORD_LIMIT * 3));
        std::fs::write(&path, bytes).unwrap();
        let mut log = LogReader::open(&path).unwrap();
        assert!(log.advance().unwrap());
        assert!(matches!(log.entry().unwrap(), Some(LogEntry::StartTime(t)) if t == Duration::from_secs(1)));
        let err = log.advance().unwrap_err().to_string();
        let expected =
            format!("{}: line 2: has a line longer than 1 MiB (expected text with line breaks)", path.display());
        assert_eq!(err, expected);
        std::fs::write(&path, "#comment\nnot,a,log\n").unwrap();
        let mut log = LogReader::open(&path).unwrap();
        assert!(log.advance().unwrap() && log.entry().unwrap().is_none());
        assert!(log.advance().unwrap());
        assert!(
            log.entry()
                .unwrap_err()
                .to_string()
                .ends_with(": line 2: not an interval log line (a comment, a header or an interval)")
        );
        assert!(!log.advance().unwrap());
    }
}
