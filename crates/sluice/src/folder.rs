//! Reading the folders that `sluice test` and `sluice replay` take: their files, and why a
//! folder cannot be run.

use std::fmt::Display;
use std::path::Path;

use sluice_core::LoadError;

/// Why a folder's tests or replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// A file of the folder is missing or unreadable.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A file of the folder is wrong (its problems, one per line).
    #[error("{0}")]
    Invalid(String),
    /// The machine could not set up a run (the store, the engine, the random key).
    #[error("{0}")]
    Setup(String),
}

impl From<LoadError> for FolderError {
    /// A component file of the folder that does not load: its problems, or why it is unreadable.
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Invalid { origin, diagnostics } => FolderError::located(origin, &diagnostics),
            LoadError::Io { origin, source } => FolderError::Read { path: origin, message: source.to_string() },
        }
    }
}

impl FolderError {
    /// The problems of the file `origin`, one per line, each after the file's name.
    pub(crate) fn located(origin: impl Display, problems: &[impl Display]) -> FolderError {
        let lines: Vec<String> = problems.iter().map(|problem| format!("{origin}:{problem}")).collect();
        FolderError::Invalid(lines.join("\n"))
    }
}

/// The text of the file at `path`.
pub(crate) fn read(path: &Path) -> Result<String, FolderError> {
    std::fs::read_to_string(path)
        .map_err(|e| FolderError::Read { path: path.display().to_string(), message: e.to_string() })
}
