//! The tidy records the artifact stores. Plain structs: `store` turns them into Parquet.

use serde::{Deserialize, Serialize};

/// One fitted model evaluated under one loss: the unit of the results table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitRow {
    pub experiment: String,
    pub setting: String,
    pub gate_true: String,
    pub gate_fit: String,
    pub expert: String,
    pub estimator: String,
    pub n: u64,
    pub rep: u32,
    /// First 8 bytes (little-endian) of the data stream's 32-byte seed.
    pub seed: u64,
    /// "G*" or "G_bar": what the loss and l2_error are measured against.
    pub target: String,
    pub loss_name: String,
    pub loss: f64,
    pub loss_mass: f64,
    pub loss_overfitted: f64,
    pub loss_single: f64,
    /// |A_j| for every target atom, joined by '|', e.g. "2|1|1|1|1|1|1|1".
    pub cells: String,
    pub empty_cells: u32,
    pub overfitted_cells: u32,
    /// ||f_fit - f_target||_L2(mu) on the setting's evaluation sample.
    pub l2_error: f64,
    /// Largest d_beta1 + d_eta among over-fitted / singly fitted atoms (NaN if none).
    pub param_err_over: f64,
    pub param_err_single: f64,
    /// Largest sup_x |h(x; eta) - h(x; eta_target)| among over-fitted / singly fitted atoms.
    pub expert_err_over: f64,
    pub expert_err_single: f64,
    pub train_mse: f64,
    pub grad_norm: f64,
    pub iterations: u64,
    pub evaluations: u64,
    pub termination: String,
    pub wall_s: f64,
}

/// One parameter value of a mixture, in long form. `kind` is "fit", "start", "truth" or "gbar".
/// Truth rows have estimator "" and n = rep = 0; G_bar rows have estimator "" and n = rep = 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamRow {
    pub experiment: String,
    pub setting: String,
    pub kind: String,
    pub gate: String,
    pub expert: String,
    pub estimator: String,
    pub n: u64,
    pub rep: u32,
    pub atom: u32,
    /// "beta0", "beta1", "a" or "b".
    pub param: String,
    pub index: u32,
    pub value: f64,
}

/// One fitted rate: loss ~ C n^slope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateRow {
    pub experiment: String,
    pub setting: String,
    pub gate_fit: String,
    pub expert: String,
    pub estimator: String,
    pub loss_name: String,
    /// "log_mean" (the paper's) or "all_reps".
    pub method: String,
    pub slope: f64,
    pub se: f64,
    pub boot_se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub intercept: f64,
    pub n_min: f64,
    pub n_max: f64,
    pub n_values: u32,
    pub reps: u32,
    /// Fits left out of the regression because their loss was not finite and positive, or they diverged.
    pub excluded: u32,
    /// The exponent the theory predicts for this loss (NaN where the theory gives no power law).
    pub theory: f64,
    pub theory_label: String,
    /// "consistent", "not consistent" (at 95%), or "no power-law prediction".
    pub verdict: String,
}
