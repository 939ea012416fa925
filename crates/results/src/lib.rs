//! The results: what the experiment crate computed, stored and analysed. Tidy rows in Parquet
//! (polars) and their data dictionary (docs/DATA.md), summaries, rates, claims, comparisons,
//! convergence and stalls, the paper's reported curves, the manifest of every output, and the
//! provenance of the results (which code produced them: the recertified and budget-extended
//! records). Nothing here draws or writes prose pages: that is `smoe-report`, which reads these
//! types.

pub mod analysis;
pub mod columns;
pub mod dictionary;
pub mod error;
pub mod manifest;
pub mod paper;
pub mod provenance;
pub mod rows;
pub mod stalls;
pub mod store;

pub use error::{ReportError, Result};
/// The provenance procedures under short paths (`smoe_results::recertify`, `::extend`).
pub use provenance::{extend, recertify};
