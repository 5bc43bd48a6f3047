use std::fmt;
use std::path::PathBuf;

use crate::verdict::Verdict;

/// Everything that can stop the engine. [`Error::verdict`] says which exit code that is:
/// bad input (2: the user can fix it) or a run that could not be carried out (3).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// An input file refused before it was read (not a regular file, too large, ...).
    #[error("{}: {error}", path.display())]
    Input { path: PathBuf, error: einv_core::input::InputError },
    #[error("{0}")]
    Profile(ProfileErrors),
    /// A command-line flag (or setting) whose value cannot be used.
    #[error("{flag}: {message}")]
    Flag { flag: &'static str, message: String },
    #[error("report folder {}: {message}", path.display())]
    Folder { path: PathBuf, message: String },
    /// The message already holds the cause; no `#[source]`, or `{:#}` would print it twice.
    #[error("report: {0}")]
    Report(einv_report::Error),
    /// A report folder given as input could not be read back.
    #[error("{0}")]
    Saved(einv_report::Error),
    /// The built-in target could not start (its address is taken, ...).
    #[error("built-in target: {0}")]
    Target(#[from] einv_poolsim::Error),
    /// The target's host name could not be resolved (DNS), or resolves to no address.
    #[error("target.url: cannot resolve {authority}: {message}")]
    Resolve { authority: String, message: String },
    /// TLS to the target could not be set up.
    #[error("target.url: cannot set up TLS: {0}")]
    Tls(String),
    /// The built-in target's certificate could not be written where `--cert-out` says.
    #[error("--cert-out: cannot write the certificate: {0}")]
    Certificate(einv_report::Error),
    /// The open-file limit is too low for the connections asked for, even raised to the
    /// hard limit.
    #[error(
        "target.connections = {connections} needs about {need} open files, but this process may open {limit}: \
         raise the limit (`ulimit -n {need}` in the shell, `LimitNOFILE={need}` in a systemd unit, \
         `--ulimit nofile={need}` for docker) or use fewer connections"
    )]
    FdLimit { connections: usize, need: u64, limit: u64 },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The run's driver stopped without a result (it panicked).
    #[error("the run's driver failed: {0}")]
    Driver(String),
    /// Something validation guarantees did not hold: a bug in einv-load.
    #[error("internal error: {0} (a bug in einv-load)")]
    Internal(&'static str),
}

impl Error {
    /// The exit code's verdict: [`Verdict::BadInput`] when the user can fix this by
    /// changing the profile, a flag or a path, else the run could not be carried out.
    pub fn verdict(&self) -> Verdict {
        let bad_input = match self {
            Error::Read { .. }
            | Error::Input { .. }
            | Error::Profile(_)
            | Error::Flag { .. }
            | Error::Folder { .. }
            | Error::Saved(_)
            | Error::FdLimit { .. } => true,
            // An input report folder that is missing, incomplete or from another run; an
            // output path that is refused.
            Error::Report(e) | Error::Certificate(e) => e.is_bad_input(),
            Error::Target(_)
            | Error::Resolve { .. }
            | Error::Tls(_)
            | Error::Runtime(_)
            | Error::Driver(_)
            | Error::Internal(_) => false,
        };
        if bad_input { Verdict::BadInput } else { Verdict::NotCarriedOut(None) }
    }
}

/// A problem in a profile, located by file, line and key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    pub file: PathBuf,
    /// 1-based line, when the key could be found in the file.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `load.stage[1].rate` (empty for syntax errors).
    pub key: String,
    pub message: String,
}

impl ProfileError {
    /// A problem at `key` (and `line`, when known) of `file`.
    pub fn new(file: &std::path::Path, line: Option<usize>, key: &str, message: impl fmt::Display) -> ProfileError {
        // Values from the profile are quoted in messages, and a profile may hold 4 MiB.
        let message = einv_core::input::clip_message(message.to_string());
        ProfileError { file: file.into(), line, key: key.into(), message }
    }

    /// A problem found after validation (a file changed since, a schedule too thin to
    /// hold one arrival): it names the key, but not a line.
    pub fn unlocated(file: &std::path::Path, key: &str, message: impl fmt::Display) -> ProfileError {
        ProfileError::new(file, None, key, message)
    }
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one profile (validation does not stop at the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileErrors(pub Vec<ProfileError>);

impl fmt::Display for ProfileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<einv_report::Error> for Error {
    fn from(e: einv_report::Error) -> Self {
        Error::Report(e)
    }
}

impl From<ProfileError> for Error {
    fn from(e: ProfileError) -> Self {
        Error::Profile(ProfileErrors(vec![e]))
    }
}
