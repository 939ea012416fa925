//! Experiment configs as written in YAML: one file per experiment, parsed strictly
//! (`deny_unknown_fields`). Plain data: [`crate::plan::Experiment::load`] validates a config and
//! plans its work units.

use crate::rows::{Quantity, Target};
use serde::{Deserialize, Serialize};
use smoe_estimator::{EstimatorParams, InitParams};
use smoe_metrics::LossKind;
use smoe_model::{Expert, Gate};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Short identifier, used in file names and seeds (letters, digits, '-', '_').
    pub experiment: String,
    pub title: String,
    /// Which figure or table of the paper this reproduces (free text).
    pub paper_ref: String,
    /// Experiments of one family share their truth, data and evaluation streams: the family
    /// name (default: the experiment's own) stands for the experiment in every stream identity.
    /// Variants of a family (e.g. another initialisation) are then compared on the same data.
    #[serde(default)]
    pub family: Option<String>,
    /// What distinguishes this member of its family (free text, for tables).
    #[serde(default)]
    pub variant: Option<String>,
    /// Master seed of the experiment; every stream derives from it and a unit's identity.
    pub seed: u64,
    pub d: usize,
    pub k_star: usize,
    /// Number of fitted atoms (k > k* in the paper's over-specified setting).
    pub k: usize,
    /// Variance nu of the Gaussian noise.
    pub noise_var: f64,
    pub n_grid: NGrid,
    pub replications: u32,
    /// Size of the evaluation sample for ||f_hat - f_target||_L2 and expert errors.
    pub eval_n: usize,
    pub init: InitParams,
    /// Named estimators; every fit is run with each of them.
    pub estimators: BTreeMap<String, EstimatorParams>,
    /// How G_bar is computed (needed by fits whose target is gbar).
    #[serde(default)]
    pub gbar: Option<GbarConfig>,
    pub rates: RateConfig,
    pub settings: Vec<SettingConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NGrid {
    /// `count` values log-spaced from `min` to `max`, rounded to integers.
    LogSpaced {
        min: u64,
        max: u64,
        count: usize,
    },
    List {
        values: Vec<u64>,
    },
}

impl NGrid {
    pub fn values(&self) -> Vec<u64> {
        match self {
            NGrid::List { values } => values.clone(),
            NGrid::LogSpaced { min, max, count } => {
                if *count == 1 {
                    return vec![*min];
                }
                let (a, b) = ((*min as f64).ln(), (*max as f64).ln());
                (0..*count).map(|i| (a + (b - a) * i as f64 / (*count - 1) as f64).exp().round() as u64).collect()
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GbarConfig {
    /// Size of the noiseless reference sample.
    pub n_ref: usize,
    /// Size of the second reference sample used to check that G_bar has settled.
    pub check_n_ref: usize,
    /// Standard deviation of the noise added to the noise-free split start of the G_bar fit.
    /// Must be > 0: from an exactly symmetric start the copies of the split atom never separate.
    pub start_noise_sd: f64,
    /// The least-squares optimiser: `kind: lm` (Levenberg-Marquardt) or `kind: lbfgs`.
    pub optimizer: EstimatorParams,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    /// Bootstrap resamples for the slope's confidence interval.
    pub n_boot: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingConfig {
    pub name: String,
    pub truth: TruthConfig,
    pub fits: Vec<FitConfig>,
}

/// The truth recipe of a setting (d and k* come from the experiment).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthConfig {
    pub gate: Gate,
    pub expert: Expert,
    #[serde(default)]
    pub gate_var: Option<f64>,
    #[serde(default)]
    pub expert_var: Option<f64>,
    pub zero_gate_slope: Vec<usize>,
    #[serde(default)]
    pub zero_expert_slope: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConfig {
    pub gate: Gate,
    pub target: Target,
    pub losses: Vec<LossKind>,
    /// The paper's predicted exponents, by quantity (one of the fit's losses, such as "D1", or a
    /// per-fit quantity such as "l2_error").
    #[serde(default)]
    pub theory: Vec<TheoryEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheoryEntry {
    pub quantity: Quantity,
    /// Predicted slope of log(quantity) on log(n); null where the theory predicts no power law.
    pub exponent: Option<f64>,
    /// Where the prediction comes from, and its form (e.g. "Thm 2: D1 ~ n^-1/2").
    pub source: String,
}
