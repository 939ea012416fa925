use thiserror::Error;

/// Errors of the estimator crate: invalid hyperparameters. Not converging is not an error: it is
/// recorded in [`crate::FitReport::termination`].
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum EstimatorError {
    #[error("invalid value for `{field}`: {value} (allowed: {allowed})")]
    InvalidParam { field: &'static str, value: String, allowed: String },
    #[error(transparent)]
    Model(#[from] smoe_model::ModelError),
}

impl EstimatorError {
    pub fn invalid(field: &'static str, value: impl std::fmt::Display, allowed: impl Into<String>) -> Self {
        EstimatorError::InvalidParam { field, value: value.to_string(), allowed: allowed.into() }
    }
}

pub(crate) fn positive(field: &'static str, v: f64) -> Result<f64, EstimatorError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(EstimatorError::invalid(field, v, "a finite number > 0"))
    }
}

pub(crate) fn non_negative(field: &'static str, v: f64) -> Result<f64, EstimatorError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(EstimatorError::invalid(field, v, "a finite number >= 0"))
    }
}
