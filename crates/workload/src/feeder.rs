//! CSV feeders: rows of test data (taxpayer ids, buyer names, tokens, ...) fed to request
//! templates.
//!
//! The first line of the file names the columns; every later line is one row with exactly
//! that many fields (standard CSV quoting, blank lines skipped, fields not trimmed). The
//! file is streamed, never loaded whole: memory depends on the row size and, in
//! [`FeedMode::Random`], on the [`RANDOM_WINDOW`], never on the number of rows. A bad row is
//! reported when the feeder reaches it, not at [`Feeder::open`].
//!
//! Only a regular file is read (a FIFO or a device is refused at [`Feeder::open`]), and a
//! row, like a trace's, may be at most [`RECORD_LIMIT`](einv_core::input::RECORD_LIMIT) (1 MiB) long: input without line
//! breaks is an error, not memory.

use std::fs::File;
use std::path::{Path, PathBuf};

use csv::{Position, StringRecord};
use einv_core::input::{self, Bounded, InputError, clip};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::Error;
use crate::lines::{CSV_BUFFER, LineCount};

/// How many rows a [`FeedMode::Random`] feeder keeps in memory to draw from.
pub const RANDOM_WINDOW: usize = 10_000;

/// The order in which a [`Feeder`] hands out rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedMode {
    /// Rows in file order, once; then the feeder is exhausted.
    Sequential,
    /// Uniform, seeded draws from a window of up to [`RANDOM_WINDOW`] rows; never exhausted.
    ///
    /// Files of at most [`RANDOM_WINDOW`] rows are held whole and every draw is uniform over
    /// the whole file. Larger files are not: the feeder keeps a window of rows read from the
    /// stream, draws a slot uniformly, and refills that slot with the next row of the stream
    /// (wrapping at the end). Each row therefore gets its turn about once per pass over the
    /// file, and a draw is uniform over the window, not over the file: rows far ahead in the
    /// file cannot come up yet. That trade buys memory independent of file size and no
    /// up-front pass over a multi-gigabyte feeder.
    Random,
    /// Rows in file order, starting over at the top after the last row; never exhausted.
    Circular,
}

/// A stream of rows from one CSV file, handed out in [`FeedMode`] order.
///
/// Call [`Feeder::next_row`] from one thread, in arrival order: the sequence of rows is a
/// function of the file, the mode and the seed alone.
#[derive(Debug)]
pub struct Feeder {
    mode: FeedMode,
    columns: Vec<String>,
    stream: Stream,
    /// The row returned last; its strings are reused so steady state does not allocate.
    row: Vec<String>,
    /// Sequential and Circular read into this; Random into its window slots.
    scratch: StringRecord,
    window: Vec<StringRecord>,
    /// The window holds every row of the file, so draws need no refill.
    window_is_whole_file: bool,
    rng: Pcg64Mcg,
    exhausted: bool,
}

impl Feeder {
    /// Open `path` and read its header line; the rows are read as [`Feeder::next_row`] asks.
    pub fn open(path: &Path, mode: FeedMode, seed: u64) -> Result<Feeder, Error> {
        let (reader, columns) = open_csv(path)?;
        check_columns(path, &columns, record_line(&reader))?;
        Ok(Feeder {
            mode,
            stream: Stream { path: path.to_path_buf(), reader, width: columns.len(), rows_this_pass: 0 },
            columns: columns.iter().map(|c| c.trim().to_string()).collect(),
            row: Vec::new(),
            scratch: StringRecord::new(),
            window: Vec::new(),
            window_is_whole_file: false,
            rng: Pcg64Mcg::seed_from_u64(seed),
            exhausted: false,
        })
    }

    /// Column names from the header line (surrounding spaces trimmed), in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The position of column `name` in every row.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The next row, one field per column. `Ok(None)` only once a Sequential feeder has
    /// handed out its last row; Circular and Random feeders never run out, and fail instead
    /// if the file has no data rows.
    pub fn next_row(&mut self) -> Result<Option<&[String]>, Error> {
        match self.mode {
            FeedMode::Sequential => {
                if self.exhausted || !self.stream.read(&mut self.scratch)? {
                    self.exhausted = true;
                    return Ok(None);
                }
                copy_row(&mut self.row, &self.scratch);
            }
            FeedMode::Circular => {
                self.stream.read_wrapping(&mut self.scratch)?;
                copy_row(&mut self.row, &self.scratch);
            }
            FeedMode::Random => self.draw()?,
        }
        Ok(Some(&self.row))
    }

    /// Draw a window slot into `self.row`, then refill the slot from the stream.
    fn draw(&mut self) -> Result<(), Error> {
        if self.window.is_empty() {
            self.fill_window()?;
        }
        let slot = self.rng.random_range(0..self.window.len());
        copy_row(&mut self.row, &self.window[slot]);
        if !self.window_is_whole_file {
            self.stream.read_wrapping(&mut self.window[slot])?;
        }
        Ok(())
    }

    fn fill_window(&mut self) -> Result<(), Error> {
        while self.window.len() < RANDOM_WINDOW {
            let mut record = StringRecord::new();
            if !self.stream.read(&mut record)? {
                self.window_is_whole_file = true;
                break;
            }
            self.window.push(record);
        }
        if self.window.is_empty() {
            return Err(self.stream.no_rows());
        }
        Ok(())
    }
}

/// The CSV reader of one feeder, positioned somewhere in the data section.
#[derive(Debug)]
struct Stream {
    path: PathBuf,
    reader: CsvReader,
    width: usize,
    rows_this_pass: u64,
}

impl Stream {
    /// Read the next data row into `record`; `false` at the end of the file.
    fn read(&mut self, record: &mut StringRecord) -> Result<bool, Error> {
        if !read_record(&mut self.reader, &self.path, record)? {
            return Ok(false);
        }
        if record.len() != self.width {
            let message = format!("this row has {} fields, but the header names {} columns", record.len(), self.width);
            return Err(data_error(&self.path, Some(record_line(&self.reader)), message));
        }
        self.rows_this_pass += 1;
        Ok(true)
    }

    /// Read the next data row, starting over at the top of the data at the end of the file.
    fn read_wrapping(&mut self, record: &mut StringRecord) -> Result<(), Error> {
        if self.read(record)? {
            return Ok(());
        }
        if self.rows_this_pass == 0 {
            return Err(self.no_rows());
        }
        // Back to the top of the file and past the header, as on the first pass: after a
        // seek csv strips a byte-order mark from the next record, so seeking straight to
        // the first data row would strip one that row starts with.
        self.reader.seek(Position::new()).map_err(|e| csv_error(&self.path, None, &e))?;
        self.rows_this_pass = 0;
        // A file that shrank to its header (or less) while we were reading lands here.
        if read_record(&mut self.reader, &self.path, record)? && self.read(record)? {
            Ok(())
        } else {
            Err(self.no_rows())
        }
    }

    fn no_rows(&self) -> Error {
        data_error(&self.path, None, "no data rows after the header line".into())
    }
}

/// A CSV input file, read through a [`Bounded`] reader, its lines counted by [`LineCount`].
pub(crate) type CsvReader = csv::Reader<LineCount<Bounded<File>>>;

/// Open a CSV file and read its header line (the column names as written, untrimmed).
///
/// Rows may have any number of fields ("flexible"), so callers can report a wrong count in
/// their own words, with the line number.
pub(crate) fn open_csv(path: &Path) -> Result<(CsvReader, StringRecord), Error> {
    let file = input::open(path).map_err(|e| data_error(path, None, e.to_string()))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(CSV_BUFFER)
        .from_reader(LineCount::new(Bounded::new(file)));
    start_record(&mut reader);
    let header = reader.headers().cloned().map_err(|e| csv_error(path, Some(record_line(&reader)), &e))?;
    if header.is_empty() {
        let message = "the file is empty; its first line must name the columns".to_string();
        return Err(data_error(path, None, message));
    }
    Ok((reader, header))
}

/// Read the next record into `record`; `false` at the end of the file. A record longer
/// than [`RECORD_LIMIT`](einv_core::input::RECORD_LIMIT) fails here, having taken no more memory than that.
pub(crate) fn read_record(reader: &mut CsvReader, path: &Path, record: &mut StringRecord) -> Result<bool, Error> {
    start_record(reader);
    reader.read_record(record).map_err(|e| csv_error(path, Some(record_line(reader)), &e))
}

/// Get `reader` ready for its next record: a fresh length budget, and the line count
/// pinned where the record begins.
fn start_record(reader: &mut CsvReader) {
    let offset = reader.position().byte();
    let lines = reader.get_mut();
    lines.pin(offset);
    lines.get_mut().renew();
}

/// The line the record read last starts on, as an editor counts lines.
pub(crate) fn record_line(reader: &CsvReader) -> u64 {
    reader.get_ref().record_line()
}

/// Feeder columns are looked up by name, so every name must be present and distinct.
fn check_columns(path: &Path, header: &StringRecord, line: u64) -> Result<(), Error> {
    let line = Some(line);
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        if name.is_empty() {
            return Err(data_error(path, line, format!("column {} has an empty name", i + 1)));
        }
        if header.iter().take(i).any(|earlier| earlier.trim() == name) {
            return Err(data_error(path, line, format!("duplicate column name \"{}\"", clip(name))));
        }
    }
    Ok(())
}

fn copy_row(row: &mut Vec<String>, record: &StringRecord) {
    row.resize_with(record.len(), String::new);
    for (dst, src) in row.iter_mut().zip(record) {
        dst.clear();
        dst.push_str(src);
    }
}

pub(crate) fn data_error(path: &Path, line: Option<u64>, message: String) -> Error {
    Error::Data { path: path.to_path_buf(), line, message: input::clip_message(message) }
}

/// A CSV reading error (I/O, invalid UTF-8, a record too long) located by `line`, else by
/// the parser's line when it knows one.
pub(crate) fn csv_error(path: &Path, line: Option<u64>, err: &csv::Error) -> Error {
    let line = line.or_else(|| err.position().map(Position::line));
    let message = match err.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!("field {} is not valid UTF-8", err.field() + 1),
        csv::ErrorKind::Io(io) => match InputError::from_io(io) {
            Some(e @ InputError::RecordTooLong { .. }) => e.to_string(),
            _ => format!("cannot read: {io}"),
        },
        _ => err.to_string(),
    };
    data_error(path, line, message)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;
    use std::fmt::Write as _;

    use super::*;

    fn write_csv(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A feeder file with `rows` rows: `id,name` where name is `buyer-<id>`.
    fn numbered(dir: &tempfile::TempDir, rows: usize) -> PathBuf {
        let mut text = String::from("id,name\n");
        for i in 0..rows {
            writeln!(text, "{i},buyer-{i}").unwrap();
        }
        write_csv(dir, "numbered.csv", &text)
    }

    fn take(feeder: &mut Feeder, n: usize) -> Vec<Vec<String>> {
        (0..n).map(|_| feeder.next_row().unwrap().unwrap().to_vec()).collect()
    }

    fn ids(rows: &[Vec<String>]) -> Vec<usize> {
        rows.iter().map(|r| r[0].parse().unwrap()).collect()
    }

    #[test]
    fn sequential_gives_rows_in_file_order_then_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_csv(&dir, "buyers.csv", "tax_id, name\n91110000,\"Acme, Ltd\"\n\n91220000,Bolt\n");
        let mut feeder = Feeder::open(&path, FeedMode::Sequential, 1).unwrap();
        assert_eq!(feeder.columns(), ["tax_id", "name"]);
        assert_eq!(feeder.column("name"), Some(1));
        assert_eq!(feeder.column("missing"), None);
        assert_eq!(feeder.next_row().unwrap().unwrap(), ["91110000", "Acme, Ltd"]);
        assert_eq!(feeder.next_row().unwrap().unwrap(), ["91220000", "Bolt"]);
        assert_eq!(feeder.next_row().unwrap(), None);
        assert_eq!(feeder.next_row().unwrap(), None, "an exhausted feeder stays exhausted");
    }

    #[test]
    fn circular_wraps_to_the_first_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = numbered(&dir, 3);
        let mut feeder = Feeder::open(&path, FeedMode::Circular, 1).unwrap();
        assert_eq!(ids(&take(&mut feeder, 8)), [0, 1, 2, 0, 1, 2, 0, 1]);
    }

    /// csv strips a byte-order mark from the first record it reads after a seek, so a
    /// first data row that starts with U+FEFF lost it on every pass after the first (found
    /// by the feeder fuzz target: Circular disagreed with Sequential).
    #[test]
    fn every_pass_gives_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_csv(&dir, "bom.csv", "\u{feff}name\n\u{feff}first\r\nsecond\n");
        let mut feeder = Feeder::open(&path, FeedMode::Circular, 1).unwrap();
        assert_eq!(feeder.columns(), ["name"], "the file's own mark is not part of the name");
        let rows: Vec<String> = take(&mut feeder, 6).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(rows, ["\u{feff}first", "second"].repeat(3));
    }

    #[test]
    fn circular_and_random_fail_on_a_header_only_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_csv(&dir, "header-only.csv", "id,name\n");
        for mode in [FeedMode::Circular, FeedMode::Random] {
            let err = Feeder::open(&path, mode, 1).unwrap().next_row().unwrap_err();
            assert!(err.to_string().contains("no data rows"), "{mode:?}: {err}");
        }
        let mut sequential = Feeder::open(&path, FeedMode::Sequential, 1).unwrap();
        assert_eq!(sequential.next_row().unwrap(), None);
    }

    #[test]
    fn random_is_reproducible_from_the_seed() {
        let dir = tempfile::tempdir().unwrap();
        let path = numbered(&dir, 500);
        let draw = |seed| take(&mut Feeder::open(&path, FeedMode::Random, seed).unwrap(), 200);
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn random_returns_only_rows_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = numbered(&dir, 20);
        let rows = take(&mut Feeder::open(&path, FeedMode::Random, 3).unwrap(), 1_000);
        for row in &rows {
            let id: usize = row[0].parse().unwrap();
            assert!(id < 20);
            assert_eq!(row[1], format!("buyer-{id}"), "fields of one row stay together");
        }
        // A small file is held whole, so 1,000 uniform draws hit all 20 rows.
        assert_eq!(ids(&rows).into_iter().collect::<HashSet<_>>().len(), 20);
    }

    #[test]
    fn random_covers_a_large_file_beyond_its_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = numbered(&dir, 50_000);
        let rows = take(&mut Feeder::open(&path, FeedMode::Random, 11).unwrap(), 50_000);
        let ids = ids(&rows);
        assert!(ids.iter().all(|&id| id < 50_000));
        let distinct: HashSet<_> = ids.iter().collect();
        assert!(distinct.len() > 30_000, "only {} distinct rows", distinct.len());
        assert!(ids.iter().any(|&id| id >= 45_000), "rows past the first window come up");
        // Not file order: a window draw is not a sequential read in disguise.
        assert!(ids.windows(2).filter(|w| w[1] == w[0] + 1).count() < 100);
    }

    #[test]
    fn large_files_stream_in_every_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = numbered(&dir, 200_000);
        let mut sequential = Feeder::open(&path, FeedMode::Sequential, 1).unwrap();
        let mut count = 0;
        while let Some(row) = sequential.next_row().unwrap() {
            assert_eq!(row[0], count.to_string());
            count += 1;
        }
        assert_eq!(count, 200_000);
        let mut circular = Feeder::open(&path, FeedMode::Circular, 1).unwrap();
        let after_wrap = take(&mut circular, 200_002);
        assert_eq!(ids(&after_wrap[199_999..]), [199_999, 0, 1]);
        let mut random = Feeder::open(&path, FeedMode::Random, 1).unwrap();
        assert!(ids(&take(&mut random, 300_000)).iter().all(|&id| id < 200_000));
        assert_eq!(random.window.len(), RANDOM_WINDOW, "the window never grows");
    }

    #[test]
    fn a_row_with_the_wrong_field_count_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_csv(&dir, "short.csv", "id,name\n1,a\n2\n3,c\n");
        let mut feeder = Feeder::open(&path, FeedMode::Sequential, 1).unwrap();
        feeder.next_row().unwrap();
        let err = feeder.next_row().unwrap_err();
        let expected = format!("{}:3: this row has 1 fields, but the header names 2 columns", path.display());
        assert_eq!(err.to_string(), expected);
    }

    /// Windows line ends (CRLF) and blank lines: the line named is the one an editor shows
    /// (csv's own count named the line before the bad row, or the first blank line).
    #[test]
    fn bad_rows_name_the_line_an_editor_shows() {
        let dir = tempfile::tempdir().unwrap();
        let first_error = |text: &[u8], mode| {
            let path = dir.path().join("rows.csv");
            std::fs::write(&path, text).unwrap();
            let mut feeder = Feeder::open(&path, mode, 1)?;
            (0..10).find_map(|_| feeder.next_row().err()).map_or(Ok(()), Err)
        };
        for mode in [FeedMode::Sequential, FeedMode::Circular, FeedMode::Random] {
            let err = first_error(b"id,name\r\n1,a\r\n\r\n2\r\n", mode).unwrap_err().to_string();
            assert!(
                err.ends_with("rows.csv:4: this row has 1 fields, but the header names 2 columns"),
                "{mode:?}: {err}"
            );
            let err = first_error(b"id,name\r\n1,ok\r\n2,caf\xe9\r\n", mode).unwrap_err().to_string();
            assert!(err.ends_with("rows.csv:3: field 2 is not valid UTF-8"), "{mode:?}: {err}");
        }
        let err = first_error(b"\n\nid,,name\n", FeedMode::Sequential).unwrap_err().to_string();
        assert!(err.ends_with("rows.csv:3: column 2 has an empty name"), "{err}");
    }

    #[test]
    fn bad_headers_and_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str, text: &str| {
            let path = write_csv(&dir, name, text);
            Feeder::open(&path, FeedMode::Sequential, 1).unwrap_err().to_string()
        };
        let dup = open("dup.csv", "id,name, id\n1,a,b\n");
        assert!(dup.ends_with("dup.csv:1: duplicate column name \"id\""), "{dup}");
        let blank = open("blank.csv", "id,,name\n");
        assert!(blank.ends_with("blank.csv:1: column 2 has an empty name"), "{blank}");
        let empty = open("empty.csv", "");
        assert!(empty.contains("empty.csv: the file is empty"), "{empty}");
        let missing = Feeder::open(&dir.path().join("nope.csv"), FeedMode::Random, 1).unwrap_err().to_string();
        assert!(missing.contains("nope.csv: cannot open"), "{missing}");
    }

    /// A FIFO and (as root: device nodes need it) a node that reads like /dev/zero, in
    /// `dir`, each with its kind as messages name it.
    pub(crate) fn special_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
        let make = |name: &str, program: &str, args: &[&str]| {
            let path = dir.join(name);
            let made = std::process::Command::new(program).arg(&path).args(args).status().is_ok_and(|s| s.success());
            if !made {
                eprintln!("skipped: `{program} {path:?}` was refused (device nodes need root)");
            }
            made.then_some(path)
        };
        let fifo = make("fifo.csv", "mkfifo", &[]).expect("mkfifo works");
        let mut files = vec![(fifo, "a named pipe (FIFO)")];
        files.extend(make("zero.csv", "mknod", &["c", "1", "5"]).map(|zero| (zero, "a character device")));
        files
    }

    #[test]
    fn only_regular_files_are_opened() {
        let dir = tempfile::tempdir().unwrap();
        for (path, kind) in special_files(dir.path()) {
            for mode in [FeedMode::Sequential, FeedMode::Random] {
                let err = Feeder::open(&path, mode, 1).unwrap_err().to_string();
                assert_eq!(err, format!("{}: is {kind}; expected a regular file", path.display()));
            }
        }
        let err = Feeder::open(dir.path(), FeedMode::Circular, 1).unwrap_err().to_string();
        assert!(err.ends_with(": is a directory; expected a regular file"), "{err}");
    }

    #[test]
    fn a_row_longer_than_a_mebibyte_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let endless = |start: &str, fill: &[u8]| {
            let mut bytes = start.as_bytes().to_vec();
            bytes.extend(fill.iter().cycle().take(3 << 20));
            let path = dir.path().join("huge.csv");
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let too_long = "has a line longer than 1 MiB (expected text with line breaks)";
        // No line break at all: the header itself.
        let path = endless("", b"x");
        let err = Feeder::open(&path, FeedMode::Sequential, 1).unwrap_err().to_string();
        assert_eq!(err, format!("{}:1: {too_long}", path.display()));
        // A row after good ones, in every mode.
        let path = endless("id,name\n1,a\n", b"x");
        for mode in [FeedMode::Sequential, FeedMode::Circular, FeedMode::Random] {
            let mut feeder = Feeder::open(&path, mode, 1).unwrap();
            let err = (0..3).find_map(|_| feeder.next_row().err()).expect("the long row fails").to_string();
            assert_eq!(err, format!("{}:3: {too_long}", path.display()), "{mode:?}");
        }
        // A quoted field with line breaks is one record, bounded as one.
        let path = endless("id,name\n1,\"", b"ab\n");
        let err = Feeder::open(&path, FeedMode::Sequential, 1).unwrap().next_row().unwrap_err().to_string();
        assert_eq!(err, format!("{}:2: {too_long}", path.display()));
    }

    #[test]
    fn a_row_of_a_mebibyte_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let long = "y".repeat(einv_core::input::RECORD_LIMIT - 3);
        let path = write_csv(&dir, "long.csv", &format!("id,name\n1,{long}\n2,b\n"));
        let mut feeder = Feeder::open(&path, FeedMode::Sequential, 1).unwrap();
        assert_eq!(feeder.next_row().unwrap().unwrap()[1].len(), long.len());
        assert_eq!(feeder.next_row().unwrap().unwrap(), ["2", "b"]);
    }

    #[test]
    fn messages_quote_at_most_80_characters_of_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let name = "n".repeat(5000);
        let path = write_csv(&dir, "dup.csv", &format!("{name},{name}\n"));
        let err = Feeder::open(&path, FeedMode::Sequential, 1).unwrap_err().to_string();
        assert!(err.ends_with(&format!(":1: duplicate column name \"{}...\"", &name[..80])), "{err}");
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.csv");
        std::fs::write(&path, b"id,name\n1,ok\n2,caf\xe9\n").unwrap();
        let mut feeder = Feeder::open(&path, FeedMode::Sequential, 1).unwrap();
        feeder.next_row().unwrap();
        let err = feeder.next_row().unwrap_err().to_string();
        assert!(err.ends_with("latin1.csv:3: field 2 is not valid UTF-8"), "{err}");
    }
}
