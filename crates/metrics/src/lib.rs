//! Error measures of the paper: Voronoi cells and losses (D1, D2,r, D3, softmax), the
//! regression-function error, per-atom parameter and expert errors, and rate regressions with
//! bootstrap intervals. Pure computation; no IO.
//!
//! ```
//! use smoe_metrics::{voronoi_loss, LossKind};
//! use smoe_model::{seed, Expert, Gate, TruthParams};
//! let truth = TruthParams { gate: Gate::Sigmoid, expert: Expert::Relu, d: 3, k_star: 2,
//!     gate_var: None, expert_var: None, zero_gate_slope: vec![1, 2], zero_expert_slope: vec![] }
//!     .check().unwrap().draw(&mut seed::stream(3, &[("purpose", "truth")]));
//! let at_truth = voronoi_loss(LossKind::D1, &truth, &truth);
//! assert_eq!(at_truth.total, 0.0);
//! ```

mod errors;
mod floor;
mod rate;
mod verdict;
mod voronoi;

pub use errors::{atom_errors, contribution_error, contributions, l2_error, matched_expert_error, split_atom_errors, AtomError};
pub use floor::FisherFloor;
pub use rate::{
    compare_power_vs_log_rate, consistent, fit_rate, ols, sample_size_for, summarise, Cell, CellSummary, ModelComparison, RateFit,
    RateMethod, SampleSize,
};
pub use verdict::{
    compare_curves, compare_gates, inverse_log_local_slope, judge_comparison, local_exponent, n_at_level, ClaimKind, ComparativeVerdict,
    Comparison, CurveComparison, Resampling, SlopeEvidence, SlopeInterval, Verdict, VerdictRules,
};
pub use voronoi::{canonical_softmax_gauge, voronoi_cells, voronoi_loss, LossKind, LossParts, LossValue, VoronoiCells};
