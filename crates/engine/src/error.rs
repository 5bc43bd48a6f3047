use std::fmt;
use std::path::PathBuf;

/// Everything that can stop the engine. [`Error::is_bad_input`] tells the CLI which exit
/// code to use: bad input (2) or a run that could not be carried out (3).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// An input file refused before it was read (not a regular file, too large, ...).
    #[error("{}: {error}", path.display())]
    Input { path: PathBuf, error: einv_core::input::InputError },
    #[error("{0}")]
    Profile(ProfileErrors),
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
    #[error("built-in target: {0}")]
    Target(#[from] einv_poolsim::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl Error {
    /// True when the user can fix this by changing the profile, a flag or a path.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Read { .. }
            | Error::Input { .. }
            | Error::Profile(_)
            | Error::Flag { .. }
            | Error::Folder { .. }
            | Error::Saved(_) => true,
            // An input report folder that is missing, incomplete or from another run.
            Error::Report(e) => e.is_bad_input(),
            _ => false,
        }
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
