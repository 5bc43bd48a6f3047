//! Standard output for what the commands print. Rust ignores SIGPIPE, so `print!` to a
//! pipe whose reader has gone (`einv-load validate p | head -1`) panics; here that is a
//! normal end: the rest of the text has no reader and is dropped. And what a command
//! says on stderr about files it could not write.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

/// Print `text` to standard output.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// Say on stderr which files of a report could not be written (a full disk). Exit code 3
/// when data files are among them: the summary printed is the run's result, but the
/// folder cannot be rendered again or merged. Derived files alone are a warning
/// (`einv-load report DIR` writes them again).
pub fn not_written(s: &einv_report::Summary) -> Option<ExitCode> {
    for n in &s.not_written {
        eprintln!("warning: {} was not written: {}", n.file, n.error);
    }
    let missing = s.missing_data();
    if missing.is_empty() {
        return None;
    }
    eprintln!("error: the report folder is missing its data files {}", missing.join(", "));
    Some(ExitCode::from(3))
}
