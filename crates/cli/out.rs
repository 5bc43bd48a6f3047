//! Standard output for what the commands print. Rust ignores SIGPIPE, so `print!` to a
//! pipe whose reader has gone (`einv-load validate p | head -1`) panics; here that is a
//! normal end: the rest of the text has no reader and is dropped.

use std::io::Write;

use anyhow::Context;

/// Print `text` to standard output.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
