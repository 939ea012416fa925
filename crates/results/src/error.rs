//! The report crate's errors. Each names the file (or table) concerned; the cause is chained as
//! the `source`.

use smoe_experiment::ExperimentError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: reading Parquet", path.display())]
    ParquetRead {
        path: PathBuf,
        #[source]
        source: polars::prelude::PolarsError,
    },
    #[error("{}: column `{column}`: {problem}", path.display())]
    Column { path: PathBuf, column: &'static str, problem: String },
    /// Building an in-memory frame failed (no file involved).
    #[error("building the {table} frame")]
    Frame {
        table: &'static str,
        #[source]
        source: polars::prelude::PolarsError,
    },
    #[error("{}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("{}: could not register or read the embedded DejaVuSans.ttf as font family \"sans-serif\"", path.display())]
    Font { path: PathBuf },
    #[error("{}: invalid figure data: {msg}", path.display())]
    InvalidFigure { path: PathBuf, msg: String },
    #[error("{}: drawing failed: {msg}", path.display())]
    Draw { path: PathBuf, msg: String },
    #[error("{}: invalid manifest JSON", path.display())]
    ManifestJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: not a relative path inside the output root", path.display())]
    NotRelative { path: PathBuf },
    #[error("{count} files do not match the manifest")]
    Verify { count: usize },
    #[error("{command}")]
    Child {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("recertifying {experiment}: {problem}")]
    Recertify { experiment: String, problem: String },
    #[error("extending the budget of {experiment}: {problem}")]
    Extend { experiment: String, problem: String },
    #[error("{command} failed: {stderr}")]
    ChildFailed { command: String, stderr: String },
}

impl ReportError {
    /// Whether the error is about what the user gave (a config, an argument), not about running.
    pub fn is_input(&self) -> bool {
        matches!(self, ReportError::Experiment(e) if e.is_input()) || matches!(self, ReportError::Extend { .. })
    }

    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ReportError {
        let path = path.into();
        move |source| ReportError::Io { path, source }
    }

    pub fn csv(path: impl Into<PathBuf>) -> impl FnOnce(csv::Error) -> ReportError {
        let path = path.into();
        move |source| ReportError::Csv { path, source }
    }
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// Run `cmd` to completion and return its stdout; `command` names it in the error if it cannot
/// start or exits unsuccessfully (then with its stderr).
pub fn checked_output(cmd: &mut std::process::Command, command: String) -> Result<Vec<u8>> {
    let out = cmd.output().map_err(|source| ReportError::Child { command: command.clone(), source })?;
    if !out.status.success() {
        return Err(ReportError::ChildFailed { command, stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string() });
    }
    Ok(out.stdout)
}
