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
    #[serde(with = "float")]
    pub loss: f64,
    #[serde(with = "float")]
    pub loss_mass: f64,
    #[serde(with = "float")]
    pub loss_overfitted: f64,
    #[serde(with = "float")]
    pub loss_single: f64,
    /// The same loss at the fit's starting point: how far the estimator moved the parameters.
    #[serde(with = "float")]
    pub start_loss: f64,
    /// |A_j| for every target atom, joined by '|', e.g. "2|1|1|1|1|1|1|1".
    pub cells: String,
    pub empty_cells: u32,
    pub overfitted_cells: u32,
    /// ||f_fit - f_target||_L2(mu) on the setting's evaluation sample.
    #[serde(with = "float")]
    pub l2_error: f64,
    /// Largest d_beta1 + d_eta among over-fitted / singly fitted atoms (NaN if none).
    #[serde(with = "float")]
    pub param_err_over: f64,
    #[serde(with = "float")]
    pub param_err_single: f64,
    /// Largest sup_x |h(x; eta) - h(x; eta_target)| among over-fitted / singly fitted atoms.
    #[serde(with = "float")]
    pub expert_err_over: f64,
    #[serde(with = "float")]
    pub expert_err_single: f64,
    #[serde(with = "float")]
    pub train_mse: f64,
    #[serde(with = "float")]
    pub grad_norm: f64,
    pub iterations: u64,
    pub evaluations: u64,
    pub termination: String,
    #[serde(with = "float")]
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
    #[serde(with = "float")]
    pub slope: f64,
    #[serde(with = "float")]
    pub se: f64,
    #[serde(with = "float")]
    pub boot_se: f64,
    #[serde(with = "float")]
    pub ci_low: f64,
    #[serde(with = "float")]
    pub ci_high: f64,
    #[serde(with = "float")]
    pub intercept: f64,
    #[serde(with = "float")]
    pub n_min: f64,
    #[serde(with = "float")]
    pub n_max: f64,
    pub n_values: u32,
    pub reps: u32,
    /// Fits left out of the regression because their loss was not finite and positive, or they diverged.
    pub excluded: u32,
    /// The exponent the theory predicts for this loss (NaN where the theory gives no power law).
    #[serde(with = "float")]
    pub theory: f64,
    pub theory_label: String,
    /// "consistent", "not consistent" (at 95%), or "no power-law prediction".
    pub verdict: String,
    /// q of the logarithmic-rate model L ~ C (log n)^-q fitted to the same points.
    #[serde(with = "float")]
    pub log_rate_q: f64,
    /// AIC(log rate) - AIC(power law): positive favours the power law; |delta| > 2 is a preference.
    #[serde(with = "float")]
    pub delta_aic: f64,
}

/// JSON has no NaN or infinity: write them as strings "NaN", "inf", "-inf" and read both forms.
/// Finite values use serde_json's shortest round-trip form, so the journal is bit-exact.
pub mod float {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Str(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Num(v) => Ok(v),
            Repr::Str(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!("not a number: {other:?}"))),
            },
        }
    }
}
