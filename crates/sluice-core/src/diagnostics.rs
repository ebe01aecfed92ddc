//! Located problems found while loading a component file.

use std::fmt;

use serde::Serialize;

use crate::source::Source;

/// One problem in a component file, placed by JSON Pointer, line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// JSON Pointer to the offending value (`""` is the whole file).
    pub pointer: String,
    /// 1-based line of the offending value.
    pub line: usize,
    /// 1-based column (in characters) of the offending value.
    pub column: usize,
    /// Name of the step the problem belongs to, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is a plain fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    /// `LINE:COL: POINTER: [step "NAME": ]MESSAGE[ (fix: HINT)]`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() { "(root)" } else { &self.pointer };
        write!(f, "{}:{}: {pointer}: ", self.line, self.column)?;
        if let Some(step) = &self.step {
            write!(f, "step \"{step}\": ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (fix: {hint})")?;
        }
        Ok(())
    }
}

/// A problem before it is placed in the text.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub pointer: String,
    pub step: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    /// Set when the position is known without the pointer (syntax errors).
    pub at: Option<(usize, usize)>,
}

impl Problem {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { pointer: pointer.into(), step: None, message: message.into(), hint: None, at: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn step(mut self, step: Option<&str>) -> Self {
        self.step = step.map(str::to_owned);
        self
    }
}

/// Places every problem in the text, in file order.
pub(crate) fn locate(source: &Source<'_>, problems: Vec<Problem>) -> Vec<Diagnostic> {
    let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
    let needs_parse = problems.iter().any(|p| p.at.is_none());
    let locations = if needs_parse { source.locate_all(&pointers) } else { Vec::new() };
    let mut out: Vec<Diagnostic> = problems
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let (line, column) = p.at.unwrap_or_else(|| locations.get(i).map_or((1, 1), |l| (l.line, l.column)));
            Diagnostic { pointer: p.pointer, line, column, step: p.step, message: p.message, hint: p.hint }
        })
        .collect();
    out.sort_by(|a, b| (a.line, a.column, &a.pointer).cmp(&(b.line, b.column, &b.pointer)));
    out.dedup();
    out
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is not a valid component; every problem found is listed.
    #[error("{origin}: {} problem{} found", .diagnostics.len(), if .diagnostics.len() == 1 { "" } else { "s" })]
    Invalid {
        /// Where the component came from (a file path, or a name given by the caller).
        origin: String,
        /// Every problem found, in file order.
        diagnostics: Vec<Diagnostic>,
    },
    /// The file could not be read.
    #[error("{origin}: cannot read the file: {source}")]
    Io {
        /// The path that was read.
        origin: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}
