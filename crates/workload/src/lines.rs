//! Line numbers for CSV records, counted the way an editor counts them.
//!
//! csv's `Position::line` is the count of `\n` bytes before the point where the parser
//! *began* a record. That point lies before the blank lines the parser skips and, with
//! CRLF line ends, before the `\n` of the previous line's end (BurntSushi/rust-csv#395).
//! So a trace or feeder saved on Windows had its problems reported one line early, one
//! after blank lines named the first blank line, and one with bare-CR line ends named
//! line 1 throughout. [`LineCount`] sits under the csv reader, sees every byte, and
//! remembers where recent lines start; pinned at the parser's position before a record,
//! it gives the line of that record's first byte.

use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom};

/// The csv reader's buffer, set by the readers that use [`LineCount`]: the parser never
/// stands more than this far behind the bytes read.
pub(crate) const CSV_BUFFER: usize = 8 << 10;

/// How far back line starts are remembered: past the csv buffer, so the start of the next
/// record is always among them when it is pinned.
const WINDOW: u64 = 2 * CSV_BUFFER as u64;

/// A reader that counts lines (`\r\n`, `\n` or a bare `\r` ends one, as csv's parser
/// takes them) and knows which line a record starts on.
#[derive(Debug)]
pub(crate) struct LineCount<R> {
    inner: R,
    count: Count,
}

/// What [`LineCount`] knows of the bytes read so far.
#[derive(Debug)]
struct Count {
    /// Bytes read, and the line of the next byte.
    offset: u64,
    line: u64,
    /// Whether the next byte starts a line, and whether the last one was `\r`.
    at_line_start: bool,
    after_cr: bool,
    /// (offset, line) of the first byte of each non-blank line in the last [`WINDOW`] bytes.
    starts: VecDeque<(u64, u64)>,
    /// The line of the pinned record, once its first byte has been read.
    record_line: Option<u64>,
}

impl<R> LineCount<R> {
    pub(crate) fn new(inner: R) -> LineCount<R> {
        LineCount { inner, count: Count::new() }
    }

    pub(crate) fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The next record starts at byte `offset` (csv's position before it reads one): its
    /// line is that of the first non-blank line from there.
    pub(crate) fn pin(&mut self, offset: u64) {
        let starts = &mut self.count.starts;
        while starts.front().is_some_and(|&(at, _)| at < offset) {
            starts.pop_front();
        }
        self.count.record_line = starts.front().map(|&(_, line)| line);
    }

    /// The line the pinned record starts on; until its first byte is read (a read failed
    /// in the blank lines before it), the line reading stopped on.
    pub(crate) fn record_line(&self) -> u64 {
        self.count.record_line.unwrap_or(self.count.line)
    }
}

impl Count {
    fn new() -> Count {
        Count { offset: 0, line: 1, at_line_start: true, after_cr: false, starts: VecDeque::new(), record_line: None }
    }

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\r' => self.line += 1,
                b'\n' if !self.after_cr => self.line += 1,
                b'\n' => {}
                _ if self.at_line_start => {
                    self.starts.push_back((self.offset, self.line));
                    // A record pinned before its first byte was read starts here.
                    self.record_line = self.record_line.or(Some(self.line));
                }
                _ => {}
            }
            self.at_line_start = b == b'\r' || b == b'\n';
            self.after_cr = b == b'\r';
            self.offset += 1;
        }
        let keep_from = self.offset.saturating_sub(WINDOW);
        while self.starts.front().is_some_and(|&(at, _)| at < keep_from) {
            self.starts.pop_front();
        }
    }
}

impl<R: Read> Read for LineCount<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.scan(&buf[..n]);
        Ok(n)
    }
}

impl<R: Seek> Seek for LineCount<R> {
    /// Only back to the top (all the readers ask for: a feeder starts its next pass there),
    /// where the count starts afresh.
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        if pos != SeekFrom::Start(0) {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "line counting seeks to the start only"));
        }
        self.inner.seek(pos)?;
        self.count = Count::new();
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// The line of every record of `text`, read the way the feeder and trace readers do.
    fn record_lines(text: &[u8]) -> Vec<u64> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(CSV_BUFFER)
            .from_reader(LineCount::new(Cursor::new(text.to_vec())));
        let (mut record, mut lines) = (csv::ByteRecord::new(), Vec::new());
        loop {
            let offset = reader.position().byte();
            reader.get_mut().pin(offset);
            if !reader.read_byte_record(&mut record).unwrap() {
                return lines;
            }
            lines.push(reader.get_ref().record_line());
        }
    }

    #[test]
    fn every_line_end_counts_once() {
        assert_eq!(record_lines(b"a\nb\r\nc\rd\n\re"), [1, 2, 3, 4, 6]);
        assert_eq!(record_lines(b"\n\r\n\r\na\r\n\r\n"), [4]);
    }

    #[test]
    fn records_far_apart_keep_their_lines() {
        // A quoted field of 20,000 lines and a run of 30,000 blank lines: both far longer
        // than the csv buffer, so the starts the next record needs were read long ago.
        let mut text = b"a,\"".to_vec();
        text.extend(b"x\r\n".repeat(20_000));
        text.extend(b"\"\r\nb\r\n");
        text.extend(b"\r\n".repeat(30_000));
        text.extend(b"c\n");
        assert_eq!(record_lines(&text), [1, 20_002, 50_003]);
    }

    #[test]
    fn remembered_starts_stay_within_the_window() {
        let mut lines = LineCount::new(Cursor::new(b"a\n".repeat(100_000)));
        io::copy(&mut lines, &mut io::sink()).unwrap();
        assert!(lines.count.starts.len() as u64 <= WINDOW / 2, "{} starts kept", lines.count.starts.len());
    }

    #[test]
    fn a_seek_to_the_top_counts_afresh() {
        let mut lines = LineCount::new(Cursor::new(b"h\r\n\r\nx\n".to_vec()));
        io::copy(&mut lines, &mut io::sink()).unwrap();
        assert_eq!(lines.seek(SeekFrom::Start(0)).unwrap(), 0);
        lines.pin(0);
        io::copy(&mut lines, &mut io::sink()).unwrap();
        assert_eq!(lines.record_line(), 1, "h is on line 1 again");
        lines.pin(3);
        assert_eq!(lines.record_line(), 3, "x is on line 3");
        assert!(lines.seek(SeekFrom::Start(2)).is_err(), "only to the top");
    }
}
