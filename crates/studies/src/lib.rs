//! Studies and probes of the estimator and of the runs, kept out of the product crates: each is
//! an example of this crate (`cargo run --release -p smoe-studies --example <name>`), written
//! against the product's public API only. Their logs are in `data/*.log`; PROTOCOL.md and
//! REPLICATION.md cite them.
//!
//! | example | what it measures |
//! |---|---|
//! | `kernel_profile` | time per evaluation of the model's kernels |
//! | `lm_study` | Levenberg-Marquardt against L-BFGS on one truth |
//! | `fit_study` | the least-squares estimators on units of a config |
//! | `gbar_study` | the G_bar fit: optimiser, sample size, repeatability |
//! | `newton_probe` | the full Hessian at each fit's end and a Newton polish from there |
//! | `multistart_probe` | refits from several starts of the run's recipe: which local minimum |
//! | `export_units` | a config's units as plain text, for a prototype outside Rust |
