//! The experiment crate's errors. Each names what it is about (file, field, unit); the cause, if
//! any, is chained as its `source`, not folded into the message.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExperimentError {
    #[error("{}: cannot read the config", path.display())]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not YAML, an unknown key, a value of the wrong type (the source names the field).
    #[error("{file}")]
    ParseConfig {
        file: String,
        #[source]
        source: yaml_serde::Error,
    },
    /// A value the config may not have: names the field, the value and what is allowed.
    #[error("{file}: field `{field}`: {problem}")]
    InvalidConfig { file: String, field: String, problem: String },
    /// Estimator or initialisation parameters rejected by their `check()`.
    #[error("{file}: field `{field}`")]
    InvalidEstimator {
        file: String,
        field: String,
        #[source]
        source: smoe_estimator::EstimatorError,
    },
    /// A truth recipe rejected by its `check()`.
    #[error("{file}: field `{field}`")]
    InvalidTruth {
        file: String,
        field: String,
        #[source]
        source: smoe_model::ModelError,
    },
    #[error("--shard {arg:?} is not allowed (write i/N with 0 <= i < N, e.g. 0/4)")]
    BadShard { arg: String },
    #[error("--estimator {name:?} is not an estimator of {experiment} (allowed: {allowed:?})")]
    UnknownEstimator { experiment: String, name: String, allowed: Vec<String> },
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a valid G_bar record", path.display())]
    GbarCache {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{experiment}: {missing} of {planned} planned units have no result (first: {first}); run the missing shards first")]
    Incomplete { experiment: String, missing: usize, planned: usize, first: String },
    #[error("unit {key} appears {count} times with different results: the journal is inconsistent")]
    Inconsistent { key: String, count: usize },
    #[error("stored parameters do not fit the mixture")]
    Model(#[from] smoe_model::ModelError),
}

impl ExperimentError {
    /// Whether the error is about what the user gave (a config, an argument), not about running.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Self::ReadConfig { .. }
                | Self::ParseConfig { .. }
                | Self::InvalidConfig { .. }
                | Self::InvalidEstimator { .. }
                | Self::InvalidTruth { .. }
                | Self::BadShard { .. }
                | Self::UnknownEstimator { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ExperimentError {
        let path = path.into();
        move |source| ExperimentError::Io { path, source }
    }
}

/// An error and its causes on one line, joined by ": " (what `anyhow` prints with `{:#}`).
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
