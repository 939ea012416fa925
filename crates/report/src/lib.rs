//! Publishes the results of `smoe-results` and runs the `smoe` subcommands: figures (plotters,
//! embedded font), the figure catalog, the Markdown tables and figures/REPORT.md, the benchmark,
//! and `smoe all`'s staleness check and stages. The results' modules are re-exported under their
//! former paths (`smoe_report::store`, `::analysis`, ...).
//!
//! ```no_run
//! use smoe_experiment::paths::Root;
//! use smoe_report::{commands, publish};
//! use std::path::Path;
//! let exps = commands::load(&["workflow/smoke.yaml".into()]).unwrap();
//! let root = Root::open(Path::new(".")).unwrap();
//! let figure_files = publish::figures(&exps, &root).unwrap();
//! ```

pub mod bench;
pub mod commands;
pub mod figures;
pub mod publish;

pub use smoe_results::{analysis, dictionary, error, extend, manifest, paper, provenance, recertify, rows, stalls, store};
pub use smoe_results::{ReportError, Result};
