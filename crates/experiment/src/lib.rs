//! Plans and runs the experiments and writes their tidy rows: YAML configs validated before use
//! ([`plan::Experiment`]), work units with their random streams, the resumable journal, G_bar
//! and its cache, and the row structs the report crate stores and analyses. It knows files only
//! as configs, journals, caches and atomic writes; no Parquet, no figures.
//!
//! Its sources and those of the crates below it are the *code fingerprint*
//! ([`paths::code_fingerprint`]): results are stale exactly when it or the config changes.
//!
//! ```
//! use smoe_experiment::plan::Experiment;
//! use std::path::Path;
//! let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow/smoke.yaml");
//! let exp = Experiment::load(&smoke).unwrap();
//! let units = exp.units();
//! // one unit per (setting, fit, estimator, n, replication)
//! let fits: usize = exp.settings.iter().map(|s| s.fits.len()).sum();
//! assert_eq!(units.len(), fits * exp.estimators.len() * exp.n_values.len() * exp.config.replications as usize);
//! assert!(exp.unit_key(&units[0]).starts_with("smoke/"));
//! ```

pub mod config;
mod error;
pub mod fsio;
pub mod gbar;
pub mod journal;
pub mod merge;
pub mod paths;
pub mod plan;
pub mod rows;
pub mod run;

pub use error::{chain, ExperimentError};
