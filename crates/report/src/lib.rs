//! The boundary crate: experiment configs (YAML), running work units, tidy results in Parquet,
//! rate tables, figures, the manifest. Only this crate (and the binary) touches files.

pub mod analysis;
pub mod bench;
pub mod config;
pub mod figures;
pub mod manifest;
pub mod pipeline;
pub mod publish;
pub mod rows;
pub mod run;
pub mod store;
