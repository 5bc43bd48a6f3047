//! Every file einv-load writes goes through [`Output`]: a regular file (new or existing)
//! is written to a temp name beside it and renamed into place, so a reader never sees a
//! torn file; a character device or a FIFO (`/dev/null`, a named pipe, `/dev/stdout` on
//! a terminal) is written through, never replaced; `-` is standard output; anything else
//! (a directory, a block device, a socket) is refused. Replacing a device node with a
//! regular file, as a rename over it would, breaks every other program that uses it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// The temporary name a file is written under before it is renamed into place.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// What [`Output::create`] does when the path already holds a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (atomically): report files, whose folder was checked before the run.
    Replace,
    /// Refuse it: a file the user names is only overwritten when they say so.
    Refuse,
    /// Replace it, unless its folder holds a report: `--force` never destroys a run.
    ReplaceOutsideReports,
}

/// A file of a report that could not be written, and why (summary.json `not_written`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotWritten {
    pub file: String,
    pub error: String,
}

/// An output being written. A regular file is only in place once [`Output::commit`]
/// renames it; dropped before that, its temp file is removed, so a failed or interrupted
/// write leaves nothing behind.
#[derive(Debug)]
pub struct Output {
    path: PathBuf,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    /// A regular file: written to `tmp`, renamed to `target` (the path with any symbolic
    /// links resolved, so that a link keeps pointing at the new file).
    Temp {
        file: File,
        tmp: PathBuf,
        target: PathBuf,
    },
    /// A character device or a FIFO, opened for writing as it is.
    Through(File),
    Stdout(io::Stdout),
    /// Committed (or given up): nothing left to clean up.
    Done,
}

impl Output {
    /// Open `path` for writing, as the module documentation says. A FIFO blocks here until
    /// a reader opens it, as a shell redirection does.
    pub fn create(path: &Path, existing: Existing) -> Result<Output, Error> {
        let refuse = |message: String| Error::Output { path: path.into(), message };
        if path.as_os_str() == "-" {
            return Ok(Output { path: path.into(), sink: Sink::Stdout(io::stdout()) });
        }
        let target = match fs::metadata(path) {
            Ok(m) if writes_through(&m.file_type()) => {
                let file = OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, e))?;
                return Ok(Output { path: path.into(), sink: Sink::Through(file) });
            }
            Ok(m) if m.is_file() => {
                check_existing(path, existing).map_err(refuse)?;
                path.canonicalize().map_err(|e| Error::io(path, e))?
            }
            Ok(m) => return Err(refuse(format!("is {}: cannot write a file there", kind(&m.file_type())))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if fs::symlink_metadata(path).is_ok() {
                    return Err(refuse("is a symbolic link to nothing: cannot write a file there".into()));
                }
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
                    return Err(refuse(format!("cannot be written: its folder {} does not exist", dir.display())));
                }
                path.to_path_buf()
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let tmp = temp_path(&target);
        let file = create_temp(&tmp)?;
        Ok(Output { path: path.into(), sink: Sink::Temp { file, tmp, target } })
    }

    /// Open `path` to stream lines into while a run goes on (`--json-stream`): `-`, a
    /// device or a FIFO as [`Output::create`] opens them; a regular file is created (or
    /// truncated) and written in place, not under a temp name, so that a reader
    /// (`tail -f`) sees each line as it is written.
    pub fn stream(path: &Path) -> Result<Output, Error> {
        let regular = match fs::metadata(path) {
            Ok(m) => m.is_file(),
            // Nothing there yet (and no link to nothing): a new regular file.
            Err(e) => e.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(path).is_err(),
        };
        if !regular || path.as_os_str() == "-" {
            return Output::create(path, Existing::Refuse);
        }
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(Output { path: path.into(), sink: Sink::Through(file) })
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finish the file: flushed, and (a regular file) synced and renamed into place.
    pub fn commit(mut self) -> Result<(), Error> {
        match std::mem::replace(&mut self.sink, Sink::Done) {
            Sink::Temp { file, tmp, target } => {
                let synced = file.sync_all().map_err(|e| Error::io(&tmp, e));
                drop(file);
                let renamed = synced.and_then(|()| fs::rename(&tmp, &target).map_err(|e| Error::io(&self.path, e)));
                if renamed.is_err() {
                    let _ = fs::remove_file(&tmp);
                }
                renamed
            }
            Sink::Through(mut f) => f.flush().map_err(|e| Error::io(&self.path, e)),
            Sink::Stdout(mut s) => s.flush().map_err(|e| Error::io(&self.path, e)),
            Sink::Done => Ok(()),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Temp { file, .. } | Sink::Through(file) => file.write(buf),
            Sink::Stdout(s) => s.write(buf),
            Sink::Done => Err(io::Error::other("output already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Temp { file, .. } | Sink::Through(file) => file.flush(),
            Sink::Stdout(s) => s.flush(),
            Sink::Done => Ok(()),
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Sink::Temp { tmp, .. } = &self.sink {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Write `bytes` to `path` through an [`Output`] that replaces a regular file: the
/// writer of every report file.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut out = Output::create(path, Existing::Replace)?;
    out.write_all(bytes).map_err(|e| Error::io(path, e))?;
    out.commit()
}

/// Space for a small file set aside when its folder is made, so that it can still be
/// written however full the disk gets in between: summary.json, which says what the run
/// measured and which of its other files are missing. The space is real bytes (a
/// placeholder of spaces, fsynced), overwritten in place at the end, where a filesystem
/// that overwrites in place (ext4, xfs, tmpfs) needs no new block.
#[derive(Debug)]
pub(crate) struct Reserved {
    path: PathBuf,
    tmp: PathBuf,
    file: File,
    filled: bool,
}

impl Reserved {
    pub(crate) fn new(path: &Path, size: u64) -> Result<Reserved, Error> {
        let tmp = temp_path(path);
        let file = create_temp(&tmp)?;
        // Made first, so that a failure from here on removes the placeholder (Drop).
        let reserved = Reserved { path: path.into(), tmp, file, filled: false };
        let io = |e| Error::io(&reserved.tmp, e);
        let block = [b' '; 8192];
        let mut left = size;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            (&reserved.file).write_all(&block[..n]).map_err(io)?;
            left -= n as u64;
        }
        reserved.file.sync_all().map_err(io)?;
        Ok(reserved)
    }

    /// Write `bytes` over the placeholder, cut it to their length and rename it into
    /// place. Longer than the reservation, the rest needs new space like any write.
    pub(crate) fn fill(mut self, bytes: &[u8]) -> Result<(), Error> {
        let io = |e| Error::io(&self.tmp, e);
        let mut f = &self.file;
        f.rewind().map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.set_len(bytes.len() as u64).map_err(io)?;
        f.sync_all().map_err(io)?;
        fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        self.filled = true;
        Ok(())
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        // Filled, it was renamed away; otherwise the placeholder must not be left behind.
        if !self.filled {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A file streamed while a run goes on (histograms.hlog, timeseries.csv, pool.csv). Its
/// first write error (a full disk) stops that file, not the run: the file's writer is
/// dropped, which removes its temp file and frees its space for the rest of the report,
/// and the error is kept for summary.json. The run's totals are in memory, so the summary
/// stays exact.
#[derive(Debug)]
pub(crate) struct Streamed<W> {
    file: &'static str,
    state: Result<W, String>,
}

impl<W> Streamed<W> {
    pub(crate) fn new(file: &'static str, writer: W) -> Self {
        Streamed { file, state: Ok(writer) }
    }

    /// Write with `f`, unless an earlier write failed; `at_s` (seconds into the run) goes
    /// into the error message.
    pub(crate) fn write(&mut self, at_s: f64, f: impl FnOnce(&mut W) -> Result<(), Error>) {
        if let Ok(w) = &mut self.state
            && let Err(e) = f(w)
        {
            tracing::warn!("{e}: stopped writing {} at {at_s:.0} s; the run goes on", self.file);
            self.state = Err(format!("{e} (at {at_s:.0} s of the run)"));
        }
    }

    /// Finish the file with `f`; what was not written, if anything.
    pub(crate) fn finish(self, f: impl FnOnce(W) -> Result<(), Error>) -> Option<NotWritten> {
        let error = match self.state {
            Ok(w) => f(w).err()?.to_string(),
            Err(e) => e,
        };
        Some(NotWritten { file: self.file.into(), error })
    }
}

/// Create `tmp` for writing. A stale temp file (a regular file left by a run that was
/// killed) is replaced; anything else there is refused rather than written through.
fn create_temp(tmp: &Path) -> Result<File, Error> {
    let open = || OpenOptions::new().write(true).create_new(true).open(tmp);
    match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = fs::symlink_metadata(tmp).map_err(|e| Error::io(tmp, e))?;
            if !meta.is_file() {
                let message = format!("is {}, in the way of the temporary file", kind(&meta.file_type()));
                return Err(Error::Output { path: tmp.into(), message });
            }
            fs::remove_file(tmp).map_err(|e| Error::io(tmp, e))?;
            open().map_err(|e| Error::io(tmp, e))
        }
        other => other.map_err(|e| Error::io(tmp, e)),
    }
}

/// `Existing` applied to the regular file at `path`; `Err` is why it is refused.
fn check_existing(path: &Path, existing: Existing) -> Result<(), String> {
    match existing {
        Existing::Replace => Ok(()),
        Existing::Refuse => Err("already exists: use --force to replace it".into()),
        Existing::ReplaceOutsideReports => {
            let dir = path.canonicalize().ok().and_then(|p| p.parent().map(Path::to_path_buf));
            match dir.filter(|d| crate::folder::files::holds_report(d)) {
                Some(d) => Err(format!("belongs to the report folder {}: never replaced", d.display())),
                None => Ok(()),
            }
        }
    }
}

/// Character devices and FIFOs are written through (they exist on Unix only).
fn writes_through(t: &fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        t.is_char_device() || t.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = t;
        false
    }
}

fn kind(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream's lines are in the file as soon as they are written, not at the end; an
    /// earlier file is replaced, a directory refused.
    #[test]
    fn a_streamed_file_shows_each_line_as_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("live.jsonl");
        write_file(&p, b"an earlier run\n").unwrap();
        let mut out = Output::stream(&p).unwrap();
        out.write_all(b"{}\n").unwrap();
        out.flush().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{}\n", "readable before the end");
        out.commit().unwrap();
        assert!(!temp_path(&p).exists());
        assert!(Output::stream(dir.path()).is_err());
    }

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        write_file(&p, b"old").unwrap();
        write_file(&p, b"new").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert!(!temp_path(&p).exists());
    }

    #[test]
    fn an_output_dropped_before_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        let mut out = Output::create(&p, Existing::Refuse).unwrap();
        out.write_all(b"half").unwrap();
        drop(out);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn existing_files_are_refused_or_replaced_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        fs::write(&p, "mine").unwrap();
        let e = Output::create(&p, Existing::Refuse).unwrap_err();
        assert!(e.is_bad_input() && e.to_string().contains("--force"), "{e}");
        let mut out = Output::create(&p, Existing::ReplaceOutsideReports).unwrap();
        out.write_all(b"new").unwrap();
        out.commit().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        fs::write(dir.path().join("summary.json"), "{}").unwrap();
        let e = Output::create(&p, Existing::ReplaceOutsideReports).unwrap_err();
        assert!(e.to_string().contains("belongs to the report folder"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_keeps_pointing_at_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let (real, link) = (dir.path().join("real.txt"), dir.path().join("link.txt"));
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_file(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn a_directory_or_a_stray_temp_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_file(dir.path(), b"x").unwrap_err();
        assert!(e.is_bad_input() && e.to_string().contains("is a directory"), "{e}");
        let e = write_file(&dir.path().join("no/such/folder/a.txt"), b"x").unwrap_err();
        assert!(e.is_bad_input() && e.to_string().contains("does not exist"), "{e}");
        let p = dir.path().join("a.txt");
        fs::create_dir(temp_path(&p)).unwrap();
        let e = write_file(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("in the way of the temporary file"), "{e}");
        // A stale regular temp file is only a leftover: replaced.
        let q = dir.path().join("b.txt");
        fs::write(temp_path(&q), "stale").unwrap();
        write_file(&q, b"x").unwrap();
        assert_eq!(fs::read(&q).unwrap(), b"x");
    }

    #[test]
    fn a_reservation_is_filled_in_place_and_a_dropped_one_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        let r = Reserved::new(&p, 20_000).unwrap();
        assert_eq!(fs::metadata(temp_path(&p)).unwrap().len(), 20_000);
        r.fill(b"{}").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{}");
        assert!(!temp_path(&p).exists());
        drop(Reserved::new(&dir.path().join("other.json"), 10).unwrap());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
