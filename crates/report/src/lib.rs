//! Stores, analyses and draws what the experiment crate computes, and runs the `smoe`
//! subcommands: tidy rows in Parquet (polars), summaries and rates with the claims, sample-size
//! and sensitivity tables, figures (plotters, embedded font), tables and figures/REPORT.md, the
//! manifest of every output, the benchmark, and `smoe all`'s staleness check and stages.
//!
//! ```no_run
//! use smoe_experiment::paths::Root;
//! use smoe_report::{commands, publish};
//! use std::path::Path;
//! let exps = commands::load(&["workflow/smoke.yaml".into()]).unwrap();
//! let root = Root::open(Path::new(".")).unwrap();
//! let figure_files = publish::figures(&exps, &root).unwrap();
//! ```

pub mod analysis;
pub mod bench;
pub mod commands;
pub mod dictionary;
mod error;
pub mod figures;
pub mod manifest;
pub mod paper;
pub mod provenance;
pub mod publish;
pub mod rows;
pub mod stalls;
pub mod store;

pub use error::{ReportError, Result};
/// The provenance procedures under their former paths (`smoe_report::recertify`, `::extend`).
pub use provenance::{extend, recertify};
