use thiserror::Error;

/// Errors raised by the model crate: always about invalid parameters or shapes.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum ModelError {
    /// A parameter value is outside its allowed range.
    #[error("invalid value for `{field}`: {value} (allowed: {allowed})")]
    InvalidParam { field: &'static str, value: String, allowed: String },
    /// Arrays whose sizes do not agree.
    #[error("shape mismatch: {0}")]
    Shape(String),
}

impl ModelError {
    pub fn invalid(field: &'static str, value: impl std::fmt::Display, allowed: impl Into<String>) -> Self {
        ModelError::InvalidParam { field, value: value.to_string(), allowed: allowed.into() }
    }
}
