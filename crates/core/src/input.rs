//! Reading input files without trusting them: regular files only, and nothing read
//! without a bound.
//!
//! A profile names files (traces, feeders, body files, report folders), and a name can be
//! anything: `/dev/zero` never ends, a FIFO never answers, a 20 GB file does not fit in
//! memory. So every input is opened by [`open`], which refuses anything but a regular file
//! (a symlink to one is fine) before it could block; a file read whole goes through
//! [`read`] with a [`Cap`] on its size; a streamed file is read through [`Bounded`], which
//! fails a record (a line, or a CSV record with quoted line breaks) longer than
//! [`RECORD_LIMIT`], so input without line breaks cannot grow memory.
//!
//! ```
//! use einv_core::input::{self, Cap};
//!
//! let dir = std::env::temp_dir();
//! let err = input::read(&dir, Cap { bytes: 1024, what: "a note" }).unwrap_err();
//! assert_eq!(err.to_string(), "is a directory; expected a regular file");
//! ```

use std::borrow::Cow;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// The longest record (line) a streamed input may have: 1 MiB.
pub const RECORD_LIMIT: usize = 1 << 20;

/// Bytes a [`Bounded`] reader lets through beyond [`RECORD_LIMIT`]: the buffer of the
/// reader above it (8 KiB for csv and `BufReader`) may already hold the start of a record
/// when it is renewed, so a record of exactly the limit always passes.
const SLACK: u64 = 64 << 10;

/// How many characters of a value an error message quotes.
const CLIP_CHARS: usize = 80;
/// The longest word (a run without white space) and message [`clip_message`] leaves
/// whole: far longer than any path or value a message names on purpose.
const WORD_CHARS: usize = 500;
const MESSAGE_CHARS: usize = 2_000;

/// The most bytes read from a file read whole, and what such a file is, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub bytes: u64,
    /// "a profile", "a replay body file": the subject of "... may be at most 4 MiB".
    pub what: &'static str,
}

/// Why an input file was not read. The messages leave the path out: callers put it in
/// front, with a line number when they know one.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Missing, no permission, ... (the source's text is the message; no `#[source]`, or
    /// a chain printer would repeat it).
    #[error("cannot open: {0}")]
    Open(io::Error),
    #[error("is {kind}; expected a regular file")]
    NotRegular { kind: &'static str },
    #[error("is larger than {what} may be ({})", size(*limit))]
    TooLarge { what: &'static str, limit: u64 },
    #[error("is not UTF-8 text (invalid byte at offset {at})")]
    NotUtf8 { at: usize },
    #[error("has a line longer than {} (expected text with line breaks)", size(*limit as u64))]
    RecordTooLong { limit: usize },
    #[error("cannot read: {0}")]
    Read(io::Error),
}

impl InputError {
    /// The input error inside `e`, when [`Bounded`] raised it (readers above it, such as
    /// csv's, hand it on as an `io::Error`).
    pub fn from_io(e: &io::Error) -> Option<&InputError> {
        e.get_ref()?.downcast_ref::<InputError>()
    }
}

/// Open `path` for reading if it is a regular file (after following symlinks).
///
/// The type is checked before opening, because opening a FIFO blocks until a writer comes
/// and opening some devices does something; and again on the opened file, in case the name
/// was pointed elsewhere in between (opened non-blocking, so even then nothing hangs).
pub fn open(path: &Path) -> Result<File, InputError> {
    open_regular(path).map(|(file, _)| file)
}

fn open_regular(path: &Path) -> Result<(File, Metadata), InputError> {
    check_regular(&std::fs::metadata(path).map_err(InputError::Open)?)?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(InputError::Open)?;
    let meta = file.metadata().map_err(InputError::Open)?;
    check_regular(&meta)?;
    Ok((file, meta))
}

fn check_regular(meta: &Metadata) -> Result<(), InputError> {
    if meta.is_file() {
        return Ok(());
    }
    Err(InputError::NotRegular { kind: kind_of(meta.file_type()) })
}

fn kind_of(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kinds = [
            (t.is_fifo(), "a named pipe (FIFO)"),
            (t.is_char_device(), "a character device"),
            (t.is_block_device(), "a block device"),
            (t.is_socket(), "a socket"),
        ];
        if let Some((_, kind)) = kinds.iter().find(|(is, _)| *is) {
            return kind;
        }
    }
    if t.is_dir() { "a directory" } else { "a special file" }
}

/// Read the regular file `path` whole, if it holds at most `cap.bytes` bytes.
pub fn read(path: &Path, cap: Cap) -> Result<Vec<u8>, InputError> {
    let (file, meta) = open_regular(path)?;
    let too_large = InputError::TooLarge { what: cap.what, limit: cap.bytes };
    if meta.len() > cap.bytes {
        return Err(too_large);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte past the cap tells a file that grew since the look at its length.
    file.take(cap.bytes + 1).read_to_end(&mut bytes).map_err(InputError::Read)?;
    if bytes.len() as u64 > cap.bytes {
        return Err(too_large);
    }
    Ok(bytes)
}

/// [`read`] a text file.
pub fn read_to_string(path: &Path, cap: Cap) -> Result<String, InputError> {
    String::from_utf8(read(path, cap)?).map_err(|e| InputError::NotUtf8 { at: e.utf8_error().valid_up_to() })
}

/// A reader that fails once more than [`RECORD_LIMIT`] bytes (plus a little slack) have
/// been read since the last [`Bounded::renew`]. Renew it before each record.
#[derive(Debug)]
pub struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R> Bounded<R> {
    pub fn new(inner: R) -> Bounded<R> {
        Bounded { inner, left: budget() }
    }

    /// Start a new record: the full budget again.
    pub fn renew(&mut self) {
        self.left = budget();
    }
}

fn budget() -> u64 {
    RECORD_LIMIT as u64 + SLACK
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let e = InputError::RecordTooLong { limit: RECORD_LIMIT };
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Bounded<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.renew();
        self.inner.seek(pos)
    }
}

/// `value` for an error message: at most 80 characters of it, then "...". A value from an
/// input file can be megabytes long; the message only has to say which one it was.
pub fn clip(value: &str) -> Cow<'_, str> {
    clip_to(value, CLIP_CHARS)
}

fn clip_to(value: &str, chars: usize) -> Cow<'_, str> {
    match value.char_indices().nth(chars) {
        None => Cow::Borrowed(value),
        Some((end, _)) => Cow::Owned(format!("{}...", &value[..end])),
    }
}

/// `message` with every word (a run without white space, such as a quoted value) cut at
/// 500 characters, then cut at 2,000: the net under messages that quote values of input
/// files without [`clip`]ping them, so none can be megabytes long.
pub fn clip_message(message: String) -> String {
    let long_word = message.split_whitespace().any(|w| w.chars().nth(WORD_CHARS).is_some());
    if !long_word && message.chars().nth(MESSAGE_CHARS).is_none() {
        return message;
    }
    let mut out = String::with_capacity(MESSAGE_CHARS + 3);
    for part in message.split_inclusive(char::is_whitespace) {
        let word = part.trim_end_matches(char::is_whitespace);
        out.push_str(&clip_to(word, WORD_CHARS));
        out.push_str(&part[word.len()..]);
        if out.chars().nth(MESSAGE_CHARS).is_some() {
            break;
        }
    }
    clip_to(&out, MESSAGE_CHARS).into_owned()
}

/// A limit for people: "4 MiB", "64 KiB" or "100 bytes".
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Cursor};
    use std::process::Command;

    use super::*;

    const CAP: Cap = Cap { bytes: 16, what: "a test file" };

    /// `mkfifo PATH`, or `mknod PATH c 1 5` (a /dev/zero of our own, which only root may
    /// make: elsewhere the device case is skipped, and says so).
    fn make(path: &Path, program: &str, args: &[&str]) -> bool {
        let made = Command::new(program).arg(path).args(args).status().is_ok_and(|s| s.success());
        if !made {
            eprintln!("skipped: `{program} {path:?}` was refused (device nodes need root)");
        }
        made
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let (fifo, zero) = (dir.path().join("fifo"), dir.path().join("zero"));
        assert!(make(&fifo, "mkfifo", &[]));
        assert_eq!(read(&fifo, CAP).unwrap_err().to_string(), "is a named pipe (FIFO); expected a regular file");
        if make(&zero, "mknod", &["c", "1", "5"]) {
            assert_eq!(open(&zero).unwrap_err().to_string(), "is a character device; expected a regular file");
        }
        assert_eq!(open(dir.path()).unwrap_err().to_string(), "is a directory; expected a regular file");
        let missing = open(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(missing.starts_with("cannot open: "), "{missing}");
        // A symlink to a regular file is that file.
        std::fs::write(dir.path().join("real"), "text").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        assert_eq!(read(&dir.path().join("link"), CAP).unwrap(), b"text");
        std::os::unix::fs::symlink(&fifo, dir.path().join("to-fifo")).unwrap();
        assert!(matches!(open(&dir.path().join("to-fifo")), Err(InputError::NotRegular { .. })));
    }

    #[test]
    fn whole_reads_stop_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [b'x'; 16]).unwrap();
        assert_eq!(read(&path, CAP).unwrap().len(), 16);
        std::fs::write(&path, [b'x'; 17]).unwrap();
        assert_eq!(read(&path, CAP).unwrap_err().to_string(), "is larger than a test file may be (16 bytes)");
        let big = Cap { bytes: 4 << 20, what: "a profile" };
        std::fs::write(&path, vec![b'x'; (4 << 20) + 1]).unwrap();
        assert_eq!(read(&path, big).unwrap_err().to_string(), "is larger than a profile may be (4 MiB)");
        std::fs::write(&path, b"ok\xff").unwrap();
        assert_eq!(read_to_string(&path, CAP).unwrap_err().to_string(), "is not UTF-8 text (invalid byte at offset 2)");
    }

    /// Lines of `input` read the way the hlog reader reads them: renewed per line.
    fn lines(input: Vec<u8>) -> Result<usize, io::Error> {
        let mut r = BufReader::new(Bounded::new(Cursor::new(input)));
        let (mut buf, mut count) = (Vec::new(), 0);
        loop {
            buf.clear();
            r.get_mut().renew();
            if r.read_until(b'\n', &mut buf)? == 0 {
                return Ok(count);
            }
            assert!(buf.len() <= RECORD_LIMIT + 1, "a line never grows past the limit");
            count += 1;
        }
    }

    #[test]
    fn records_of_the_limit_pass_and_longer_ones_fail() {
        let mut ok = vec![b'a'; RECORD_LIMIT - 1];
        ok.push(b'\n');
        let many: Vec<u8> = ok.iter().copied().cycle().take(ok.len() * 5).collect();
        assert_eq!(lines(many).unwrap(), 5, "a budget per record, not per file");
        let err = lines(vec![b'a'; RECORD_LIMIT * 3]).unwrap_err();
        let inner = InputError::from_io(&err).expect("the input error comes through");
        assert_eq!(inner.to_string(), "has a line longer than 1 MiB (expected text with line breaks)");
    }

    #[test]
    fn seeking_renews_the_budget() {
        let mut r = Bounded::new(Cursor::new(vec![b'a'; RECORD_LIMIT * 2]));
        let mut sink = Vec::new();
        assert!((&mut r).take(RECORD_LIMIT as u64).read_to_end(&mut sink).is_ok());
        r.seek(SeekFrom::Start(0)).unwrap();
        assert!((&mut r).take(RECORD_LIMIT as u64).read_to_end(&mut sink).is_ok());
    }

    #[test]
    fn clipped_values_keep_80_characters() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(100);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), 83);
        assert!(clipped.ends_with("é..."));
        assert_eq!(clip(&"x".repeat(80)).len(), 80, "exactly 80 is not cut");
    }

    #[test]
    fn messages_keep_their_words_and_clip_long_values() {
        let short = "expected \"open\", got \"shut\"".to_string();
        assert_eq!(clip_message(short.clone()), short);
        let value = "m".repeat(3_000_000);
        let clipped = clip_message(format!("not a URL: \"{value}\" (invalid character); expected \"http://\""));
        assert_eq!(clipped, format!("not a URL: \"{}... (invalid character); expected \"http://\"", &value[..499]));
        let many = clip_message("word ".repeat(1_000_000));
        assert_eq!(many.chars().count(), 2_003, "many short words are cut at 2,000 characters");
    }
}
