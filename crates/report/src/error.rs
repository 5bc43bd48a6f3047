use std::path::{Path, PathBuf};

/// Everything that can go wrong while recording or rendering a report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("chart {chart}: {message}")]
    Chart { chart: &'static str, message: String },
    #[error("summary.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("histogram serialization: {0}")]
    Histogram(String),
    /// A report folder given as input (to `merge`, `compare`) is missing, incomplete or
    /// does not fit with the others: the user's mistake, not a failure of the tool.
    #[error("{}: {message}", path.display())]
    Input { path: PathBuf, message: String },
    /// An output path einv-load will not write: a directory, a block device, an existing
    /// file it was not allowed to replace.
    #[error("{}: {message}", path.display())]
    Output { path: PathBuf, message: String },
    /// The folder given to [`crate::Saved::load`] has no summary.json.
    #[error("{path}: not a report folder (no summary.json)")]
    NotReport { path: PathBuf },
}

impl Error {
    /// True when the user can fix this by pointing at other folders or flags.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Error::Input { .. } | Error::Output { .. } | Error::NotReport { .. })
    }

    /// True when a write failed because the reader went away (`einv-load ... | head`):
    /// a normal end for output to a pipe, not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// An input file that was refused or could not be read (the user's to fix).
    pub(crate) fn input(path: &Path, e: &einv_core::input::InputError) -> Self {
        Error::Input { path: path.into(), message: e.to_string() }
    }

    pub(crate) fn csv(path: &Path, source: csv::Error) -> Self {
        Error::Csv { path: path.into(), source }
    }
}
