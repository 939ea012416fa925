//! Experiment configs as written in YAML: one file per experiment, parsed strictly
//! (`deny_unknown_fields`). Plain data: [`crate::plan::Experiment::load`] validates a config and
//! plans its work units.

use crate::rows::{Quantity, Target};
use serde::{Deserialize, Serialize};
use smoe_estimator::{EstimatorParams, InitParams, MassSplit, ThetaBox};
use smoe_metrics::LossKind;
use smoe_model::{Expert, Gate};
use std::collections::BTreeMap;

/// What an experiment is for. In YAML: `role: main`, `role: protocol_search`, `role: two_point`,
/// `role: phase_column`, `role: budget_check`, or `role: !truth_variability {base: E1}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Role {
    /// One of the paper's figures or an experiment beyond it: drawn, and read in the claims.
    Main,
    /// A protocol-search family (a `protocol_grid` of SGD readings on a main experiment's data).
    ProtocolSearch,
    /// The settings of experiment `base` with several truth draws each (`truth_draws`): widens
    /// the main experiment's intervals.
    TruthVariability { base: String },
    /// A lower-bound experiment: two-point truths moving with n (`truth.two_point`).
    TwoPoint,
    /// A column of the phase diagram over gate strength.
    PhaseColumn,
    /// Units of its family's experiment rerun with another iteration budget.
    BudgetCheck,
}

impl Role {
    /// Every role's YAML name, for error messages.
    pub const NAMES: [&'static str; 6] = ["main", "protocol_search", "truth_variability", "two_point", "phase_column", "budget_check"];

    pub fn name(&self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::ProtocolSearch => "protocol_search",
            Role::TruthVariability { .. } => "truth_variability",
            Role::TwoPoint => "two_point",
            Role::PhaseColumn => "phase_column",
            Role::BudgetCheck => "budget_check",
        }
    }
}

/// The top-level fields of a config that describe an experiment without entering any of its
/// results: a config text that changes only these leaves every unit as it was (`smoe recertify`
/// may carry results across such a change, after checking units bit for bit).
pub const DESCRIPTIVE_FIELDS: [&str; 3] = ["role", "title", "paper_ref"];

/// Whether two config texts differ at most in [`DESCRIPTIVE_FIELDS`]: Ok, or the first
/// top-level field that differs otherwise (or why a text does not parse).
pub fn differs_only_in_description(old: &str, new: &str) -> Result<(), String> {
    let parse = |t: &str| -> Result<BTreeMap<String, yaml_serde::Value>, String> {
        let mut m: BTreeMap<String, yaml_serde::Value> = yaml_serde::from_str(t).map_err(|e| e.to_string())?;
        m.retain(|k, _| !DESCRIPTIVE_FIELDS.contains(&k.as_str()));
        Ok(m)
    };
    let (a, b) = (parse(old)?, parse(new)?);
    match a.keys().chain(b.keys()).find(|k| a.get(*k) != b.get(*k)) {
        None => Ok(()),
        Some(k) => Err(format!("field `{k}` differs (only {DESCRIPTIVE_FIELDS:?} may)")),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Short identifier, used in file names and seeds (letters, digits, '-', '_').
    pub experiment: String,
    pub title: String,
    /// Which figure or table of the paper this reproduces (free text).
    pub paper_ref: String,
    /// What the experiment is for, which decides the analyses that read it and where its
    /// results are reported (checked against the config's other fields).
    pub role: Role,
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
    /// Initialisations that replace `init` for some estimators (by estimator name): a protocol
    /// candidate is an estimator with its own start. Every estimator draws its start noise from
    /// the same stream, so candidates differ only by the noise scale and split rule.
    #[serde(default)]
    pub init_overrides: BTreeMap<String, InitParams>,
    /// A grid of SGD protocols (batch size x initial noise x mass split), expanded into
    /// estimators `sgd_b<batch>_sd<noise>_<split>` with their initialisations.
    #[serde(default)]
    pub protocol_grid: Option<ProtocolGrid>,
    /// The compact parameter space Theta: the least-squares fit (`kind: lm`) and G_bar stay inside
    /// it; SGD and L-BFGS are unconstrained and only report the walls they reach.
    #[serde(default)]
    pub theta_box: Option<ThetaBox>,
    /// Independent truth draws per setting: each setting is run as `<name>_t1 .. <name>_tN`
    /// (default 1: the setting as written, one truth).
    #[serde(default)]
    pub truth_draws: Option<u32>,
    /// The Cramér-Rao floor of each loss, written to floor.csv by `smoe merge`.
    #[serde(default)]
    pub floor: Option<FloorConfig>,
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

/// A grid of SGD protocols for the protocol search: every combination becomes an estimator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolGrid {
    pub epochs: usize,
    pub learning_rate: f64,
    pub shuffle: bool,
    pub batch_sizes: Vec<BatchSize>,
    /// Standard deviations of the initial noise (0: start exactly at the split truth).
    pub init_noise_sd: Vec<f64>,
    pub mass_split: Vec<MassSplit>,
}

/// A minibatch size, or the whole sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchSize {
    Rows(usize),
    Full(FullBatch),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FullBatch {
    Full,
}

/// Monte Carlo settings of the Cramér-Rao floor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorConfig {
    /// Draws of the parameters per sample size.
    pub draws: usize,
    /// An eigenvalue of the information below this fraction of the largest counts as not
    /// identified (the Gauss-Newton products are single precision: keep it above 1e-6).
    pub rel_cut: f64,
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
    /// The name that stands for the setting in the truth's stream (default: the setting's own):
    /// settings that name the same stream share the same truth draw.
    #[serde(default)]
    pub stream_name: Option<String>,
    /// A truth that moves with n along a two-point construction of the paper's lower-bound proofs.
    #[serde(default)]
    pub two_point: Option<TwoPointConfig>,
}

/// One member of a two-point (Le Cam) pair whose second member moves with n. Member `one` is the
/// truth as drawn; member `two` replaces the true atom `atom` (numbered from 1; its gate slope
/// must be zero) by two copies:
/// * `thm4` (polynomial experts): intercepts b* + 1/n and b* - 1/n, each with gate weight
///   (sigmoid(beta0*) + n^-(r+1)) / 2;
/// * `thm3` (input-independent experts, a* = 0 on that atom): intercepts b* + c/n and b* + 2c/n,
///   each with gate weight sigmoid(beta0*) / 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwoPointConfig {
    pub construction: Construction,
    pub member: PairMember,
    pub atom: usize,
    /// The scale c of the thm3 shifts.
    #[serde(default = "one")]
    pub c: f64,
    /// The exponent r of the thm4 mass perturbation n^-(r+1).
    #[serde(default = "one")]
    pub r: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Construction {
    Thm3,
    Thm4,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairMember {
    One,
    Two,
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
    /// What kind of statement it is: an upper bound, a minimax lower bound, a slow rate, or none
    /// (a row measured but not judged).
    pub claim: ClaimType,
    /// An upper bound of the form (log n / n)^{1/2} (its local slope is -1/2 + 1/(2 ln n)).
    #[serde(default)]
    pub log_factor: bool,
}

/// The kind of a theory entry's statement (see `smoe_metrics::ClaimKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimType {
    UpperBound,
    LowerBound,
    SlowRate,
    None,
}

impl TheoryEntry {
    /// The claim as the verdict rules take it.
    pub fn claim_kind(&self) -> smoe_metrics::ClaimKind {
        use smoe_metrics::ClaimKind;
        match (self.claim, self.exponent) {
            (ClaimType::UpperBound, Some(exponent)) => ClaimKind::UpperBound { exponent, log_factor: self.log_factor },
            (ClaimType::LowerBound, Some(exponent)) => ClaimKind::LowerBound { exponent },
            (ClaimType::SlowRate, _) => ClaimKind::SlowRate,
            _ => ClaimKind::NoTheorem,
        }
    }
}
