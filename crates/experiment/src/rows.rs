//! The tidy records the artifact writes, with typed fields, and the one place where typed values
//! meet their text form in tidy files ([`Label`]).
//!
//! Parquet and CSV columns keep plain string encodings (a tidy, language-neutral format); the
//! conversion both ways is [`Label`], implemented here for every typed column.

use serde::{Deserialize, Serialize, Serializer};
use smoe_estimator::Termination;
use smoe_metrics::{LossKind, RateMethod};
use smoe_model::{Expert, Gate};
use std::fmt;
use std::str::FromStr;

/// What a fit's losses and L2 error are measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The true mixing measure G*.
    Truth,
    /// The L2 projection G_bar of f* onto k-atom mixtures of the fit's gate.
    Gbar,
}

impl Target {
    /// "G*" or "G_bar", as in tables and captions.
    pub fn name(self) -> &'static str {
        match self {
            Target::Truth => "G*",
            Target::Gbar => "G_bar",
        }
    }
}

/// A typed value with a text form for tidy files: `from_label(&v.label()) == Some(v)`.
pub trait Label: Sized {
    fn label(&self) -> String;
    fn from_label(s: &str) -> Option<Self>;
}

/// The value whose serde name is `s` (for enums whose serde names are their `name()`s, checked
/// by a test), so that a variant added upstream is read back without a change here.
fn from_serde_name<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    use serde::de::{value::Error, IntoDeserializer};
    T::deserialize(IntoDeserializer::<Error>::into_deserializer(s)).ok()
}

impl Label for Gate {
    fn label(&self) -> String {
        self.name().into()
    }
    fn from_label(s: &str) -> Option<Self> {
        from_serde_name(s)
    }
}

impl Label for Expert {
    fn label(&self) -> String {
        self.to_string()
    }
    fn from_label(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl Label for Termination {
    fn label(&self) -> String {
        self.name().into()
    }
    fn from_label(s: &str) -> Option<Self> {
        from_serde_name(s)
    }
}

impl Label for Target {
    fn label(&self) -> String {
        self.name().into()
    }
    fn from_label(s: &str) -> Option<Self> {
        [Target::Truth, Target::Gbar].into_iter().find(|t| t.name() == s)
    }
}

impl Label for RateMethod {
    fn label(&self) -> String {
        self.name().into()
    }
    fn from_label(s: &str) -> Option<Self> {
        from_serde_name(s)
    }
}

impl Label for LossKind {
    fn label(&self) -> String {
        self.name()
    }
    /// "D1", "D1h", "D2_r<r>", "D3", "Dsoftmax", "Dsoftmax_r1" (the inverse of `LossKind::name`).
    fn from_label(s: &str) -> Option<Self> {
        match s {
            "D1" => Some(LossKind::D1),
            "D1h" => Some(LossKind::D1h),
            "D3" => Some(LossKind::D3),
            "Dsoftmax" => Some(LossKind::Softmax),
            "Dsoftmax_r1" => Some(LossKind::SoftmaxR1),
            _ => s.strip_prefix("D2_r").and_then(|r| r.parse().ok()).map(|r| LossKind::D2 { r }),
        }
    }
}

/// Whether a fit stopped without meeting its convergence test (budget exhausted, or no
/// acceptable line-search step).
pub fn not_converged(t: Termination) -> bool {
    matches!(t, Termination::MaxIters | Termination::LineSearchFailed)
}

/// What is measured on a fit: one of its losses (or that loss at the fit's starting point), the
/// L2 error of the regression function, or a per-atom error. Text form: the loss name ("D1"),
/// "start:D1", or the snake_case name of the quantity ("l2_error").
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Quantity {
    Loss(LossKind),
    /// The loss at the fit's starting point: how far the estimator moved the parameters.
    Start(LossKind),
    /// The loss against the noise-free split start of the fit's initialisation (instead of its
    /// target): how far the fit ended from where the protocol put it.
    VsStart(LossKind),
    /// ||f_fit - f_target||_L2(mu).
    L2Error,
    /// The largest expert error over all atoms.
    ExpertErr,
    /// Largest d_beta1 + d_eta among over-fitted / singly fitted atoms.
    ParamErrOver,
    ParamErrSingle,
    /// Largest sup_x |h(x; eta) - h(x; eta_target)| among over-fitted / singly fitted atoms.
    ExpertErrOver,
    ExpertErrSingle,
    /// The expert error with one matching rule for both gates, against the truth G*.
    ExpertErrMatched,
    /// The contribution error against G* (`smoe_metrics::contribution_error`): no gate
    /// normalisation moves it.
    ContributionErr,
    /// ||f_fit - f*||_L2(mu) against the truth whatever the target.
    L2ToTruth,
    /// ||theta_hat - theta_start||: how far the estimator moved.
    Displacement,
}

impl Quantity {
    /// Quantities measured on every fit besides its losses, in table order.
    pub const FIT: [Quantity; 10] = [
        Quantity::L2Error,
        Quantity::ExpertErr,
        Quantity::ParamErrOver,
        Quantity::ParamErrSingle,
        Quantity::ExpertErrOver,
        Quantity::ExpertErrSingle,
        Quantity::ExpertErrMatched,
        Quantity::ContributionErr,
        Quantity::L2ToTruth,
        Quantity::Displacement,
    ];

    /// Whether the quantity is the same on every loss row of a fit (not a loss).
    pub fn per_fit(self) -> bool {
        !matches!(self, Quantity::Loss(_) | Quantity::Start(_) | Quantity::VsStart(_))
    }

    /// The loss a row must carry for this quantity to be read from it (None: any row of the fit).
    pub fn loss(self) -> Option<LossKind> {
        match self {
            Quantity::Loss(l) | Quantity::Start(l) | Quantity::VsStart(l) => Some(l),
            _ => None,
        }
    }

    /// The value of this quantity on a row; None if the row holds another loss.
    pub fn value(self, row: &FitRow) -> Option<f64> {
        match self {
            Quantity::Loss(l) => (row.loss_name == l).then_some(row.loss),
            Quantity::Start(l) => (row.loss_name == l).then_some(row.start_loss),
            Quantity::VsStart(l) => (row.loss_name == l).then_some(row.loss_vs_start),
            Quantity::L2Error => Some(row.l2_error),
            Quantity::ExpertErr => Some(row.expert_err_over.max(row.expert_err_single)),
            Quantity::ParamErrOver => Some(row.param_err_over),
            Quantity::ParamErrSingle => Some(row.param_err_single),
            Quantity::ExpertErrOver => Some(row.expert_err_over),
            Quantity::ExpertErrSingle => Some(row.expert_err_single),
            Quantity::ExpertErrMatched => Some(row.expert_err_matched),
            Quantity::ContributionErr => Some(row.contribution_err),
            Quantity::L2ToTruth => Some(row.l2_to_truth),
            Quantity::Displacement => Some(row.displacement),
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::Loss(l) => f.write_str(&l.name()),
            Quantity::Start(l) => write!(f, "start:{}", l.name()),
            Quantity::VsStart(l) => write!(f, "vs_start:{}", l.name()),
            Quantity::L2Error => f.write_str("l2_error"),
            Quantity::ExpertErr => f.write_str("expert_err"),
            Quantity::ParamErrOver => f.write_str("param_err_over"),
            Quantity::ParamErrSingle => f.write_str("param_err_single"),
            Quantity::ExpertErrOver => f.write_str("expert_err_over"),
            Quantity::ExpertErrSingle => f.write_str("expert_err_single"),
            Quantity::ExpertErrMatched => f.write_str("expert_err_matched"),
            Quantity::ContributionErr => f.write_str("contribution_err"),
            Quantity::L2ToTruth => f.write_str("l2_to_truth"),
            Quantity::Displacement => f.write_str("displacement"),
        }
    }
}

impl FromStr for Quantity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(q) = Quantity::FIT.into_iter().find(|q| q.to_string() == s) {
            return Ok(q);
        }
        if let Some(l) = s.strip_prefix("vs_start:") {
            return LossKind::from_label(l).map(Quantity::VsStart).ok_or_else(|| format!("unknown quantity {s:?}"));
        }
        match s.strip_prefix("start:") {
            Some(l) => LossKind::from_label(l).map(Quantity::Start),
            None => LossKind::from_label(s).map(Quantity::Loss),
        }
        .ok_or_else(|| {
            format!(
                "unknown quantity {s:?} (allowed: a loss name D1, D1h, D2_r<r>, D3, Dsoftmax, Dsoftmax_r1; start:<loss>; vs_start:<loss>; or one of {:?})",
                Quantity::FIT.map(|q| q.to_string())
            )
        })
    }
}

impl TryFrom<String> for Quantity {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Quantity> for String {
    fn from(q: Quantity) -> String {
        q.to_string()
    }
}

impl Label for Quantity {
    fn label(&self) -> String {
        self.to_string()
    }
    fn from_label(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// One fitted model evaluated under one loss: the unit of the results table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitRow {
    pub experiment: String,
    pub setting: String,
    pub gate_true: Gate,
    pub gate_fit: Gate,
    pub expert: Expert,
    pub estimator: String,
    pub n: u64,
    pub rep: u32,
    /// First 8 bytes (little-endian) of the data stream's 32-byte seed.
    pub seed: u64,
    /// What the loss and l2_error are measured against (text form "G*" or "G_bar").
    pub target: Target,
    pub loss_name: LossKind,
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
    /// The expert error with one matching rule for both gates (each true expert matched to the
    /// closest fitted expert in sup norm; the largest over the true experts), against G*.
    #[serde(with = "float")]
    pub expert_err_matched: f64,
    /// The contribution error against G* (each fitted atom's g h assigned to the closest true
    /// atom's in L2(mu); the largest L2 error of a true atom's summed cell): no gate
    /// normalisation moves it.
    #[serde(with = "float")]
    pub contribution_err: f64,
    /// ||f_fit - f*||_L2(mu) against the truth, whatever the fit's target.
    #[serde(with = "float")]
    pub l2_to_truth: f64,
    /// The loss against the noise-free split start of this estimator's initialisation.
    #[serde(with = "float")]
    pub loss_vs_start: f64,
    /// ||theta_hat - theta_start||_2.
    #[serde(with = "float")]
    pub displacement: f64,
    #[serde(with = "float")]
    pub train_mse: f64,
    #[serde(with = "float")]
    pub grad_norm: f64,
    /// Norm of the projected gradient on Theta (the gradient norm for unconstrained fits).
    #[serde(with = "float")]
    pub proj_grad_norm: f64,
    /// The noise's gradient scale sqrt(2 f tr(H) / n) the convergence test divides by (NaN for
    /// SGD and L-BFGS).
    #[serde(with = "float")]
    pub noise_grad: f64,
    /// Relative decrease of the objective over the last five accepted steps (NaN where not tracked).
    #[serde(with = "float")]
    pub rel_change: f64,
    /// Entries on (or, unconstrained, beyond) each wall of Theta.
    pub active_gate_intercept_lo: u32,
    pub active_gate_intercept_hi: u32,
    pub active_gate_slope: u32,
    pub active_expert_slope: u32,
    pub active_expert_intercept: u32,
    pub iterations: u64,
    pub evaluations: u64,
    pub termination: Termination,
    #[serde(with = "float")]
    pub wall_s: f64,
}

impl FitRow {
    /// Entries of the fit on a wall of Theta.
    pub fn active_walls(&self) -> u32 {
        self.active_gate_intercept_lo
            + self.active_gate_intercept_hi
            + self.active_gate_slope
            + self.active_expert_slope
            + self.active_expert_intercept
    }
}

/// The Cramér-Rao floor of a loss at one sample size: what an unbiased estimator of the fit's
/// parameters could at best reach (see `smoe_metrics::FisherFloor`), a row of floor.csv.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloorRow {
    pub setting: String,
    pub gate_fit: Gate,
    pub quantity: Quantity,
    pub n: u64,
    #[serde(serialize_with = "sci4")]
    pub floor_mean: f64,
    #[serde(serialize_with = "sci3")]
    pub floor_sd: f64,
    pub draws: usize,
    /// Directions of the information that are identified / not identified (pseudo-inverse).
    pub identified_dims: usize,
    pub null_dims: usize,
    /// Share of the null space on the gate intercepts, gate slopes, expert slopes, expert intercepts.
    #[serde(serialize_with = "sci3")]
    pub null_gate_intercept: f64,
    #[serde(serialize_with = "sci3")]
    pub null_gate_slope: f64,
    #[serde(serialize_with = "sci3")]
    pub null_expert_slope: f64,
    #[serde(serialize_with = "sci3")]
    pub null_expert_intercept: f64,
}

impl FloorRow {
    pub const HEADER: [&'static str; 13] = [
        "setting",
        "gate_fit",
        "quantity",
        "n",
        "floor_mean",
        "floor_sd",
        "draws",
        "identified_dims",
        "null_dims",
        "null_gate_intercept",
        "null_gate_slope",
        "null_expert_slope",
        "null_expert_intercept",
    ];
}

/// How far apart the two members of a two-point pair are at one n, a row of pair_check.csv: the
/// L2 distance of their regression functions (the data cannot tell them apart when it is below
/// about n^-1/2) and each loss between them (the separation no estimator can beat).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairRow {
    pub setting: String,
    pub n: u64,
    #[serde(serialize_with = "sci4")]
    pub l2_between: f64,
    #[serde(serialize_with = "sci4")]
    pub inv_sqrt_n: f64,
    pub quantity: Quantity,
    #[serde(serialize_with = "sci4")]
    pub loss_between: f64,
}

impl PairRow {
    pub const HEADER: [&'static str; 6] = ["setting", "n", "l2_between", "inv_sqrt_n", "quantity", "loss_between"];
}

/// Which mixture a parameter row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    Fit,
    Start,
    Truth,
    Gbar,
}

/// Which parameter of an atom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamName {
    #[serde(rename = "beta0")]
    Beta0,
    #[serde(rename = "beta1")]
    Beta1,
    #[serde(rename = "a")]
    A,
    #[serde(rename = "b")]
    B,
}

impl Label for ParamKind {
    fn label(&self) -> String {
        match self {
            ParamKind::Fit => "fit",
            ParamKind::Start => "start",
            ParamKind::Truth => "truth",
            ParamKind::Gbar => "gbar",
        }
        .into()
    }
    fn from_label(s: &str) -> Option<Self> {
        [ParamKind::Fit, ParamKind::Start, ParamKind::Truth, ParamKind::Gbar].into_iter().find(|k| k.label() == s)
    }
}

impl Label for ParamName {
    fn label(&self) -> String {
        match self {
            ParamName::Beta0 => "beta0",
            ParamName::Beta1 => "beta1",
            ParamName::A => "a",
            ParamName::B => "b",
        }
        .into()
    }
    fn from_label(s: &str) -> Option<Self> {
        [ParamName::Beta0, ParamName::Beta1, ParamName::A, ParamName::B].into_iter().find(|p| p.label() == s)
    }
}

/// One parameter value of a mixture, in long form. Truth and G_bar rows have estimator "" and
/// n = rep = 0.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamRow {
    pub experiment: String,
    pub setting: String,
    pub kind: ParamKind,
    pub gate: Gate,
    pub expert: Expert,
    pub estimator: String,
    pub n: u64,
    pub rep: u32,
    pub atom: u32,
    pub param: ParamName,
    pub index: u32,
    pub value: f64,
}

/// One G_bar's settling check, a row of gbar_check.csv (numbers rounded for reading).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GbarCheckRow {
    pub setting: String,
    pub gate: Gate,
    pub n_ref: usize,
    pub check_n_ref: usize,
    pub termination: Termination,
    pub iterations: u64,
    #[serde(serialize_with = "sci4")]
    pub objective: f64,
    #[serde(serialize_with = "sci3")]
    pub grad_norm: f64,
    /// Projected gradient over the residual's gradient scale (the convergence test's ratio).
    #[serde(serialize_with = "sci3")]
    pub proj_grad_over_noise: f64,
    /// Entries of G_bar on a wall of Theta.
    pub active_walls: u32,
    pub check_termination: Termination,
    /// D3 distance between G_bar on n_ref points and on check_n_ref points.
    #[serde(serialize_with = "sci3")]
    pub d3_shift: f64,
    /// L2(mu) distance between the two regression functions.
    #[serde(serialize_with = "sci3")]
    pub l2_shift: f64,
    /// D3 distance G_bar moved in the second half of its iteration budget.
    #[serde(serialize_with = "sci3")]
    pub d3_drift: f64,
    /// L2(mu) distance the regression function moved in the second half.
    #[serde(serialize_with = "sci3")]
    pub l2_drift: f64,
    /// The two closest atoms of G_bar ("i-j", 1-based): a near-split target behaves like an
    /// over-fitted cell at moderate n.
    pub closest_atoms: String,
    #[serde(serialize_with = "sci3")]
    pub closest_distance: f64,
}

impl GbarCheckRow {
    /// The columns of gbar_check.csv.
    pub const HEADER: [&'static str; 17] = [
        "setting",
        "gate",
        "n_ref",
        "check_n_ref",
        "termination",
        "iterations",
        "objective",
        "grad_norm",
        "proj_grad_over_noise",
        "active_walls",
        "check_termination",
        "d3_shift",
        "l2_shift",
        "d3_drift",
        "l2_drift",
        "closest_atoms",
        "closest_distance",
    ];
}

/// Scientific notation with 3 / 4 / 6 decimals, for CSV columns meant to be read.
pub fn sci3<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:.3e}"))
}
pub fn sci4<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:.4e}"))
}
pub fn sci6<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:.6e}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for q in Quantity::FIT.into_iter().chain([
            Quantity::Loss(LossKind::D1),
            Quantity::Loss(LossKind::D2 { r: 1.5 }),
            Quantity::Start(LossKind::D3),
            Quantity::Loss(LossKind::Softmax),
        ]) {
            assert_eq!(Quantity::from_label(&q.label()), Some(q), "{q}");
        }
        assert_eq!(Quantity::Start(LossKind::D2 { r: 2.0 }).label(), "start:D2_r2");
        assert!("D4".parse::<Quantity>().unwrap_err().contains("D4"));
        for t in [
            Termination::Converged,
            Termination::MaxIters,
            Termination::EpochsCompleted,
            Termination::LineSearchFailed,
            Termination::Diverged,
        ] {
            assert_eq!(Termination::from_label(&t.label()), Some(t));
        }
        assert_eq!(Target::from_label("G_bar"), Some(Target::Gbar));
        assert_eq!(ParamName::from_label("beta1"), Some(ParamName::Beta1));
        assert_eq!(ParamKind::from_label("gbar"), Some(ParamKind::Gbar));
        assert_eq!(Gate::from_label("softmax"), Some(Gate::Softmax));
        assert_eq!(RateMethod::from_label("all_reps"), Some(RateMethod::AllReps));
    }
}
