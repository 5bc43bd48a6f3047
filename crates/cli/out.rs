//! Standard output for what the commands print. Rust ignores SIGPIPE, so `print!` to a
//! pipe whose reader has gone (`einv-load validate p | head -1`) panics; here that is a
//! normal end: the rest of the text has no reader and is dropped. And what a command
//! says on stderr about how it ended, with its exit code.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use einv_engine::{Finished, Shortfall, Verdict};

/// Print `text` to standard output.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// The exit code of a verdict.
pub fn exit(verdict: &Verdict) -> ExitCode {
    ExitCode::from(verdict.code())
}

/// Say on stderr what keeps a finished report (`what`: "run", "simulation", "merge") from
/// being a verdict on the target, then exit as the verdict says. Files of the report that
/// could not be written are warned about first, derived ones too (`einv-load report DIR`
/// writes them again).
pub fn finish(s: &einv_report::Summary, what: Finished, folder: &std::path::Path) -> ExitCode {
    for n in &s.not_written {
        eprintln!("warning: {} was not written: {}", n.file, n.error);
    }
    let verdict = Verdict::of(s, what);
    if let Verdict::NotCarriedOut(Some(why)) = &verdict {
        match why {
            Shortfall::DataNotWritten(files) => {
                eprintln!("error: the report folder is missing its data files {}", files.join(", "));
            }
            Shortfall::Interrupted => {
                let what = if what == Finished::Simulation { "simulation" } else { "run" };
                eprintln!("{what} interrupted: partial report written to {}", folder.display());
            }
            Shortfall::NothingMeasured(why) => eprintln!("{why}"),
        }
    }
    exit(&verdict)
}
