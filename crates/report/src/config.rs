//! Experiment configs: one YAML file per experiment, parsed strictly and validated before use.
//!
//! Every error names the file, the field, the offending value and what is allowed.

use serde::{Deserialize, Serialize};
use smoe_estimator::{Estimator, EstimatorParams, Init, InitParams};
use smoe_metrics::LossKind;
use smoe_model::{Expert, Gate, Spec, TruthParams, TruthRecipe};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A config error: file, field, value and what is allowed.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The true mixing measure G*.
    Truth,
    /// The L2 projection G_bar of f* onto k-atom mixtures of the fit's gate.
    Gbar,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::Truth => "G*",
            Target::Gbar => "G_bar",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConfig {
    pub gate: Gate,
    pub target: Target,
    pub losses: Vec<LossKind>,
    /// The paper's predicted exponents, by quantity (a loss name such as "D1", or "l2_error").
    #[serde(default)]
    pub theory: Vec<TheoryEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheoryEntry {
    pub quantity: String,
    /// Predicted slope of log(quantity) on log(n); null where the theory predicts no power law.
    pub exponent: Option<f64>,
    /// Where the prediction comes from, and its form (e.g. "Thm 2: D1 ~ n^-1/2").
    pub source: String,
}

/// A config that has been parsed and validated, with its source path and content hash.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub path: PathBuf,
    pub sha256: String,
    pub config: ExperimentConfig,
    pub n_values: Vec<u64>,
    pub init: Init,
    pub estimators: Vec<(String, Estimator)>,
    pub settings: Vec<Setting>,
}

#[derive(Clone, Debug)]
pub struct Setting {
    pub name: String,
    pub recipe: TruthRecipe,
    pub fits: Vec<FitConfig>,
}

impl Setting {
    pub fn fit_spec(&self, fit: &FitConfig, cfg: &ExperimentConfig) -> Spec {
        Spec { gate: fit.gate, expert: self.recipe.params().expert, k: cfg.k, d: cfg.d }
    }
}

fn identifier_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Experiment {
    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Experiment, ConfigError> {
        let file = path.display().to_string();
        let err = |message: String| ConfigError { file: file.clone(), message };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        Self::from_str(&text, path)
    }

    pub fn from_str(text: &str, path: &Path) -> Result<Experiment, ConfigError> {
        let file = path.display().to_string();
        let err = |message: String| ConfigError { file: file.clone(), message };
        let config: ExperimentConfig = yaml_serde::from_str(text).map_err(|e| err(e.to_string()))?;
        let sha256 = crate::manifest::sha256_bytes(text.as_bytes());
        let c = &config;
        if !identifier_ok(&c.experiment) {
            return Err(err(format!("field `experiment`: {:?} is not allowed (letters, digits, '-' and '_' only)", c.experiment)));
        }
        if let Some(f) = &c.family {
            if !identifier_ok(f) {
                return Err(err(format!("field `family`: {f:?} is not allowed (letters, digits, '-' and '_' only)")));
            }
        }
        let positive = |field: &str, v: usize| {
            if v == 0 {
                Err(err(format!("field `{field}`: 0 is not allowed (an integer >= 1)")))
            } else {
                Ok(())
            }
        };
        positive("d", c.d)?;
        positive("k_star", c.k_star)?;
        positive("eval_n", c.eval_n)?;
        positive("replications", c.replications as usize)?;
        if c.k < c.k_star {
            return Err(err(format!("field `k`: {} is not allowed (an integer >= k_star = {})", c.k, c.k_star)));
        }
        if !(c.noise_var.is_finite() && c.noise_var >= 0.0) {
            return Err(err(format!("field `noise_var`: {} is not allowed (a finite variance >= 0)", c.noise_var)));
        }
        let n_values = c.n_grid.values();
        match &c.n_grid {
            NGrid::LogSpaced { min, max, count } => {
                if *min == 0 || max < min || *count == 0 {
                    return Err(err(format!(
                        "field `n_grid`: log_spaced {{min: {min}, max: {max}, count: {count}}} is not allowed (1 <= min <= max, count >= 1)"
                    )));
                }
            }
            NGrid::List { values } => {
                if values.is_empty() || values.contains(&0) {
                    return Err(err(format!("field `n_grid.values`: {values:?} is not allowed (a non-empty list of integers >= 1)")));
                }
            }
        }
        let mut sorted = n_values.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != n_values.len() {
            return Err(err(format!("field `n_grid`: {n_values:?} has repeated sample sizes (each n must appear once)")));
        }
        let init = c.init.clone().check().map_err(|e| err(format!("field `init`: {e}")))?;
        if c.init.split_atom > c.k_star {
            return Err(err(format!("field `init.split_atom`: {} is not allowed (atom numbers 1..={})", c.init.split_atom, c.k_star)));
        }
        if c.estimators.is_empty() {
            return Err(err("field `estimators`: empty (name at least one estimator)".into()));
        }
        let mut estimators = Vec::new();
        for (name, p) in &c.estimators {
            if !identifier_ok(name) {
                return Err(err(format!("field `estimators`: name {name:?} is not allowed (letters, digits, '-' and '_')")));
            }
            let e = p.clone().check().map_err(|e| err(format!("field `estimators.{name}`: {e}")))?;
            estimators.push((name.clone(), e));
        }
        if let Some(g) = &c.gbar {
            positive("gbar.n_ref", g.n_ref)?;
            positive("gbar.check_n_ref", g.check_n_ref)?;
            if matches!(g.optimizer, EstimatorParams::Sgd(_)) {
                return Err(err(
                    "field `gbar.optimizer.kind`: sgd is not allowed (lm or lbfgs: G_bar is a converged least-squares fit)".into()
                ));
            }
            g.optimizer.clone().check().map_err(|e| err(format!("field `gbar.optimizer`: {e}")))?;
            if !(g.start_noise_sd.is_finite() && g.start_noise_sd > 0.0) {
                return Err(err(format!(
                    "field `gbar.start_noise_sd`: {} is not allowed (a finite number > 0: from a symmetric start the split copies never separate)",
                    g.start_noise_sd
                )));
            }
        }
        if c.settings.is_empty() {
            return Err(err("field `settings`: empty (define at least one setting)".into()));
        }
        let mut settings = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for (si, s) in c.settings.iter().enumerate() {
            let at = format!("settings[{si}]");
            if !identifier_ok(&s.name) || !names.insert(s.name.clone()) {
                return Err(err(format!(
                    "field `{at}.name`: {:?} is not allowed (a unique identifier: letters, digits, '-', '_')",
                    s.name
                )));
            }
            let t = &s.truth;
            let recipe = TruthParams {
                gate: t.gate,
                expert: t.expert,
                d: c.d,
                k_star: c.k_star,
                gate_var: t.gate_var,
                expert_var: t.expert_var,
                zero_gate_slope: t.zero_gate_slope.clone(),
                zero_expert_slope: t.zero_expert_slope.clone(),
            }
            .check()
            .map_err(|e| err(format!("field `{at}.truth`: {e}")))?;
            if s.fits.is_empty() {
                return Err(err(format!("field `{at}.fits`: empty (at least one fit)")));
            }
            let mut gates = std::collections::BTreeSet::new();
            for (fi, f) in s.fits.iter().enumerate() {
                let fat = format!("{at}.fits[{fi}]");
                if !gates.insert(f.gate.name()) {
                    return Err(err(format!("field `{fat}.gate`: {} appears twice in this setting (one fit per gate)", f.gate)));
                }
                if f.losses.is_empty() {
                    return Err(err(format!("field `{fat}.losses`: empty (allowed: d1, d2 {{r >= 1}}, d3, softmax)")));
                }
                for l in &f.losses {
                    match l {
                        LossKind::D2 { r } if !(r.is_finite() && *r >= 1.0) => {
                            return Err(err(format!("field `{fat}.losses`: d2 with r = {r} is not allowed (r >= 1)")));
                        }
                        LossKind::Softmax if f.gate != Gate::Softmax => {
                            return Err(err(format!("field `{fat}.losses`: softmax loss needs a softmax fit (gate is {})", f.gate)));
                        }
                        LossKind::D1 | LossKind::D2 { .. } if f.gate != Gate::Sigmoid => {
                            return Err(err(format!("field `{fat}.losses`: {} needs a sigmoid fit (gate is {})", l.name(), f.gate)));
                        }
                        LossKind::Softmax if t.gate != Gate::Softmax || f.target != Target::Truth => {
                            return Err(err(format!("field `{fat}.losses`: softmax loss compares to a softmax truth (target: truth)")));
                        }
                        _ => {}
                    }
                }
                if f.target == Target::Gbar && c.gbar.is_none() {
                    return Err(err(format!("field `{fat}.target`: gbar needs a top-level `gbar` section")));
                }
                if f.target == Target::Truth && f.gate != t.gate {
                    return Err(err(format!(
                        "field `{fat}.target`: truth is not allowed for a {} fit of a {} truth (the fit is misspecified: use gbar)",
                        f.gate, t.gate
                    )));
                }
                let quantities: Vec<String> =
                    f.losses.iter().map(|l| l.name()).chain(crate::pipeline::FIT_QUANTITIES.iter().map(|q| q.to_string())).collect();
                for th in &f.theory {
                    if !quantities.contains(&th.quantity) {
                        return Err(err(format!(
                            "field `{fat}.theory.quantity`: {:?} is not allowed (one of {quantities:?})",
                            th.quantity
                        )));
                    }
                    if let Some(x) = th.exponent {
                        if !x.is_finite() {
                            return Err(err(format!("field `{fat}.theory.exponent`: {x} is not allowed (a finite number or null)")));
                        }
                    }
                }
            }
            settings.push(Setting { name: s.name.clone(), recipe, fits: s.fits.clone() });
        }
        Ok(Experiment { path: path.to_path_buf(), sha256, n_values, init, estimators, settings, config })
    }

    pub fn id(&self) -> &str {
        &self.config.experiment
    }

    /// The name that identifies this experiment's random streams: its family, or its own id.
    pub fn stream_key(&self) -> &str {
        self.config.family.as_deref().unwrap_or(&self.config.experiment)
    }
}
