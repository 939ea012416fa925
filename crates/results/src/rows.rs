//! The report's own tidy rows: fitted rates ([`RateRow`], looked up by [`RateKey`]) and cell
//! summaries ([`SummaryRow`]). A leaf module: the store writes them, the analysis computes them.

use serde::{Deserialize, Serialize};
use smoe_experiment::rows::{sci6, Label, Quantity};
use smoe_metrics::RateMethod;
use smoe_model::{Expert, Gate};

/// Which sample sizes a rate is fitted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NRange {
    /// The whole n grid (the paper's way).
    Full,
    /// The largest half of the n grid: closer to the asymptotic regime the theorems describe
    /// (at n = 10^3 a 9-atom fit in d = 32 has 594 parameters for 1000 points).
    UpperHalf,
}

impl Label for NRange {
    fn label(&self) -> String {
        match self {
            NRange::Full => "full",
            NRange::UpperHalf => "upper_half",
        }
        .into()
    }
    fn from_label(s: &str) -> Option<Self> {
        [NRange::Full, NRange::UpperHalf].into_iter().find(|r| r.label() == s)
    }
}

/// One fitted rate: loss ~ C n^slope.
#[derive(Clone, Debug, PartialEq)]
pub struct RateRow {
    pub experiment: String,
    pub setting: String,
    pub gate_fit: Gate,
    pub expert: Expert,
    pub estimator: String,
    /// The quantity whose rate this is (column name kept from when only losses had rates).
    pub loss_name: Quantity,
    /// Log of the mean (the paper's) or every replication.
    pub method: RateMethod,
    pub n_range: NRange,
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
    /// Degenerate fits (a Voronoi cell left empty) left out of a quantity that reads the cells.
    pub degenerate: u32,
    /// The exponent the theory predicts for this loss (NaN where the theory gives no power law).
    pub theory: f64,
    pub theory_label: String,
    /// "consistent", "not consistent" (at 95%), or "no power-law prediction".
    pub verdict: String,
    /// q of the logarithmic-rate model L ~ C (log n)^-q fitted to the same points.
    pub log_rate_q: f64,
    /// AIC(log rate) - AIC(power law): positive favours the power law; |delta| > 2 is a preference.
    pub delta_aic: f64,
}

/// What identifies a rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateKey<'a> {
    pub experiment: &'a str,
    pub setting: &'a str,
    pub gate: Gate,
    pub estimator: &'a str,
    pub quantity: Quantity,
    pub method: RateMethod,
    pub n_range: NRange,
}

impl<'a> RateKey<'a> {
    /// The paper's rate (log of the mean over the full n range) of a quantity.
    pub fn paper(experiment: &'a str, setting: &'a str, gate: Gate, estimator: &'a str, quantity: Quantity) -> Self {
        RateKey { experiment, setting, gate, estimator, quantity, method: RateMethod::LogMean, n_range: NRange::Full }
    }

    /// The same rate by another method or over another n range.
    pub fn with(self, method: RateMethod, n_range: NRange) -> Self {
        RateKey { method, n_range, ..self }
    }
}

impl RateRow {
    pub fn key(&self) -> RateKey<'_> {
        RateKey {
            experiment: &self.experiment,
            setting: &self.setting,
            gate: self.gate_fit,
            estimator: &self.estimator,
            quantity: self.loss_name,
            method: self.method,
            n_range: self.n_range,
        }
    }
}

/// The rate with this key, if it was fitted.
pub fn find_rate<'a>(rates: &'a [RateRow], key: &RateKey<'_>) -> Option<&'a RateRow> {
    rates.iter().find(|r| r.key() == *key)
}

/// One row per (setting, fit, estimator, quantity, n); a row of summary.csv.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SummaryRow {
    pub experiment: String,
    pub setting: String,
    pub gate_fit: Gate,
    pub estimator: String,
    pub quantity: Quantity,
    pub n: u64,
    #[serde(serialize_with = "sci6")]
    pub mean: f64,
    #[serde(serialize_with = "sci6")]
    pub sd: f64,
    #[serde(serialize_with = "sci6")]
    pub mcse: f64,
    pub reps: usize,
    /// Fits left out: diverged, or a value that is not finite and positive.
    pub excluded: usize,
    /// Degenerate fits (a Voronoi cell left empty) left out of a quantity that reads the cells.
    pub degenerate: usize,
    /// Fits that stopped without meeting their convergence test (budget exhausted, or no step
    /// lowers the objective away from a first-order point).
    pub not_converged: usize,
    /// Fits with at least one entry on a wall of Theta (or beyond it, for the unconstrained ones).
    pub at_walls: usize,
    #[serde(rename = "fits_with_empty_cells")]
    pub empty_cells: usize,
    /// Mean over every fit whose value is finite and positive, degenerate fits included (the
    /// paper's reading: its Voronoi losses are defined with empty cells too).
    #[serde(serialize_with = "sci6")]
    pub mean_all: f64,
}

impl SummaryRow {
    /// The columns of summary.csv.
    pub const HEADER: [&'static str; 16] = [
        "experiment",
        "setting",
        "gate_fit",
        "estimator",
        "quantity",
        "n",
        "mean",
        "sd",
        "mcse",
        "reps",
        "excluded",
        "degenerate",
        "not_converged",
        "at_walls",
        "fits_with_empty_cells",
        "mean_all",
    ];
}

/// One row per same-data gate comparison and common error level; a row of comparisons.csv. A
/// comparison whose curves share no level in range has one row with `level` 0 (and NaN in the
/// level's columns): it is judged pair by pair (`sigmoid_lower` of `pairs`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparisonRow {
    pub experiment: String,
    pub setting: String,
    pub estimator: String,
    pub quantity: Quantity,
    /// The verdict of the comparison (the same on each of its rows).
    pub verdict: String,
    #[serde(serialize_with = "sci6")]
    pub slope_diff: f64,
    #[serde(serialize_with = "sci6")]
    pub slope_diff_low: f64,
    #[serde(serialize_with = "sci6")]
    pub slope_diff_high: f64,
    /// 1, 2, ...: the common level, from the largest error down; 0: no common level.
    pub level: u32,
    #[serde(serialize_with = "sci6")]
    pub eps: f64,
    #[serde(serialize_with = "sci6")]
    pub log2_ratio: f64,
    #[serde(serialize_with = "sci6")]
    pub log2_ratio_low: f64,
    #[serde(serialize_with = "sci6")]
    pub log2_ratio_high: f64,
    /// Paired fits (all n) in which the sigmoid fit's error is below the softmax fit's.
    pub sigmoid_lower: usize,
    pub pairs: usize,
}

impl ComparisonRow {
    /// The columns of comparisons.csv.
    pub const HEADER: [&'static str; 15] = [
        "experiment",
        "setting",
        "estimator",
        "quantity",
        "verdict",
        "slope_diff",
        "slope_diff_low",
        "slope_diff_high",
        "level",
        "eps",
        "log2_ratio",
        "log2_ratio_low",
        "log2_ratio_high",
        "sigmoid_lower",
        "pairs",
    ];
}

/// The verdict text of a claim whose curve has too few usable values of n for a slope.
pub const NO_SLOPE: &str = "no slope";

/// One claim of the paper against one measured curve (theory entry, fit, estimator), judged by
/// the rule of its kind; a row of data/tables/claims.csv (figures/claims.md prints the same rows).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClaimRow {
    /// The theory entry's `source` (e.g. "Thm 2: D1 ~ n^-1/2").
    pub theorem: String,
    /// The claim's kind (`ClaimKind::label`), or "no theorem".
    pub claim_kind: String,
    pub experiment: String,
    pub setting: String,
    pub gate_fit: String,
    /// `G*` or `G_bar`.
    pub target: String,
    pub quantity: Quantity,
    pub estimator: String,
    /// What the claim predicts, as claims.md prints it (e.g. "≤ -0.50 (log factor)").
    pub predicted: String,
    /// The predicted exponent (NaN for a slow rate or no theorem).
    #[serde(serialize_with = "sci6")]
    pub exponent: f64,
    /// Upper-half slope of log(mean) on log(n) with its 95% interval (NaN: no slope).
    #[serde(serialize_with = "sci6")]
    pub slope: f64,
    #[serde(serialize_with = "sci6")]
    pub slope_low: f64,
    #[serde(serialize_with = "sci6")]
    pub slope_high: f64,
    /// The sd of the upper-half slopes across truth draws (NaN: no draws), and their number.
    #[serde(serialize_with = "sci6")]
    pub truth_sd: f64,
    pub truth_draws: usize,
    /// The slope on the full n grid (NaN: none).
    #[serde(serialize_with = "sci6")]
    pub full_slope: f64,
    /// The verdict (`Verdict::label`), or [`NO_SLOPE`].
    pub verdict: String,
    /// Why the G_bar this curve is measured against is not settled (empty: settled, or G*).
    pub gbar_caveat: String,
}

impl ClaimRow {
    /// The columns of claims.csv.
    pub const HEADER: [&'static str; 18] = [
        "theorem",
        "claim_kind",
        "experiment",
        "setting",
        "gate_fit",
        "target",
        "quantity",
        "estimator",
        "predicted",
        "exponent",
        "slope",
        "slope_low",
        "slope_high",
        "truth_sd",
        "truth_draws",
        "full_slope",
        "verdict",
        "gbar_caveat",
    ];
}

/// One metric of the paper's own comparison (each gate fitted to a truth of its own gate) at one
/// common error level; a row of data/tables/own_truth.csv. A comparison whose curves share no level
/// in range has one row with `level` 0 (NaN in the level's columns).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OwnTruthRow {
    pub sigmoid_experiment: String,
    pub sigmoid_setting: String,
    pub softmax_experiment: String,
    pub softmax_setting: String,
    pub estimator: String,
    pub quantity: Quantity,
    /// The comparison's verdict (the same on each of its rows).
    pub verdict: String,
    #[serde(serialize_with = "sci6")]
    pub sigmoid_slope: f64,
    #[serde(serialize_with = "sci6")]
    pub sigmoid_slope_low: f64,
    #[serde(serialize_with = "sci6")]
    pub sigmoid_slope_high: f64,
    #[serde(serialize_with = "sci6")]
    pub softmax_slope: f64,
    #[serde(serialize_with = "sci6")]
    pub softmax_slope_low: f64,
    #[serde(serialize_with = "sci6")]
    pub softmax_slope_high: f64,
    /// 1, 2, ...: the common level, from the largest error down; 0: no common level.
    pub level: u32,
    #[serde(serialize_with = "sci6")]
    pub eps: f64,
    #[serde(serialize_with = "sci6")]
    pub log2_ratio: f64,
    #[serde(serialize_with = "sci6")]
    pub log2_ratio_low: f64,
    #[serde(serialize_with = "sci6")]
    pub log2_ratio_high: f64,
}

impl OwnTruthRow {
    /// The columns of own_truth.csv.
    pub const HEADER: [&'static str; 18] = [
        "sigmoid_experiment",
        "sigmoid_setting",
        "softmax_experiment",
        "softmax_setting",
        "estimator",
        "quantity",
        "verdict",
        "sigmoid_slope",
        "sigmoid_slope_low",
        "sigmoid_slope_high",
        "softmax_slope",
        "softmax_slope_low",
        "softmax_slope_high",
        "level",
        "eps",
        "log2_ratio",
        "log2_ratio_low",
        "log2_ratio_high",
    ];
}

/// One least-squares experiment cell (setting, fit, estimator) by how its fits stopped; a row of
/// data/tables/convergence.csv (figures/convergence.md prints the same rows).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConvergenceRow {
    pub experiment: String,
    pub setting: String,
    pub gate_fit: String,
    pub estimator: String,
    pub fits: usize,
    /// Fits that met the convergence criterion (`termination` = `converged`).
    pub converged: usize,
    pub max_iters: usize,
    /// No step lowers the objective although the projected gradient is above its tolerance.
    pub stalled: usize,
    pub diverged: usize,
    /// Fits with at least one parameter on a wall of Theta, and on each wall.
    pub at_walls: usize,
    pub walls_gate_intercept_low: usize,
    pub walls_gate_intercept_high: usize,
    pub walls_gate_slope: usize,
    pub walls_expert_slope: usize,
    pub walls_expert_intercept: usize,
    /// Fits leaving a Voronoi cell of their target empty.
    pub degenerate: usize,
    #[serde(serialize_with = "sci6")]
    pub median_iterations: f64,
    /// Median of projected gradient / the noise's gradient scale (the convergence test's ratio).
    #[serde(serialize_with = "sci6")]
    pub median_pg_ratio: f64,
}

impl ConvergenceRow {
    /// The fits on each wall, in the order gate intercept low / high, gate slope, expert slope,
    /// expert intercept.
    pub fn walls(&self) -> [usize; 5] {
        [
            self.walls_gate_intercept_low,
            self.walls_gate_intercept_high,
            self.walls_gate_slope,
            self.walls_expert_slope,
            self.walls_expert_intercept,
        ]
    }
    /// The columns of data/tables/convergence.csv.
    pub const HEADER: [&'static str; 18] = [
        "experiment",
        "setting",
        "gate_fit",
        "estimator",
        "fits",
        "converged",
        "max_iters",
        "stalled",
        "diverged",
        "at_walls",
        "walls_gate_intercept_low",
        "walls_gate_intercept_high",
        "walls_gate_slope",
        "walls_expert_slope",
        "walls_expert_intercept",
        "degenerate",
        "median_iterations",
        "median_pg_ratio",
    ];
}

/// One G_bar (experiment, setting, fit) against the smallest losses measured against it; a row of
/// data/tables/gbar_settling.csv (the settling table of figures/REPORT.md prints the same rows).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SettlingRow {
    pub experiment: String,
    pub setting: String,
    pub gate_fit: String,
    /// How the G_bar fit stopped.
    pub termination: String,
    /// Its objective, the squared L2 distance to f* (NaN: not recorded).
    #[serde(serialize_with = "sci6")]
    pub objective: f64,
    pub active_walls: u32,
    /// D3 between the two halves of its budget, and to an independent G_bar.
    #[serde(serialize_with = "sci6")]
    pub d3_drift: f64,
    #[serde(serialize_with = "sci6")]
    pub d3_shift: f64,
    /// The smallest mean D3 and L2 error measured against it (any estimator, any n).
    #[serde(serialize_with = "sci6")]
    pub smallest_d3: f64,
    #[serde(serialize_with = "sci6")]
    pub smallest_l2: f64,
    /// d3_drift / smallest_d3.
    #[serde(serialize_with = "sci6")]
    pub drift_fraction: f64,
    /// `settled` or `not settled`.
    pub verdict: String,
    /// Why not settled, read off its own numbers; `–` where settled.
    pub why: String,
}

impl SettlingRow {
    /// The columns of data/tables/gbar_settling.csv.
    pub const HEADER: [&'static str; 13] = [
        "experiment",
        "setting",
        "gate_fit",
        "termination",
        "objective",
        "active_walls",
        "d3_drift",
        "d3_shift",
        "smallest_d3",
        "smallest_l2",
        "drift_fraction",
        "verdict",
        "why",
    ];
}

/// One headline slope measured on one truth draw of a truth-variability experiment, beside the
/// same slope on the base experiment's single truth; a row of data/tables/truth_spread.csv
/// (figures/truth_spread.md prints their mean and sd per base row).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpreadRow {
    /// The base experiment, its setting, fit and estimator, and the quantity.
    pub experiment: String,
    pub setting: String,
    pub gate_fit: String,
    pub estimator: String,
    pub quantity: String,
    /// The upper-half slope on the base experiment's truth (NaN: no slope).
    #[serde(serialize_with = "sci6")]
    pub single_slope: f64,
    /// The truth-variability experiment and its setting of this draw (e.g. `TV1`, `relu_t3`).
    pub draw_experiment: String,
    pub draw_setting: String,
    /// The upper-half slope on this draw's truth.
    #[serde(serialize_with = "sci6")]
    pub draw_slope: f64,
}

impl SpreadRow {
    /// The columns of data/tables/truth_spread.csv.
    pub const HEADER: [&'static str; 9] =
        ["experiment", "setting", "gate_fit", "estimator", "quantity", "single_slope", "draw_experiment", "draw_setting", "draw_slope"];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::csv_header;

    #[test]
    fn derived_table_headers_name_the_serialised_fields() {
        let claim = ClaimRow {
            theorem: "Thm 1: D1 ~ n^-1/2".into(),
            claim_kind: "upper bound".into(),
            experiment: "E1".into(),
            setting: "relu".into(),
            gate_fit: "sigmoid".into(),
            target: "G*".into(),
            quantity: Quantity::L2Error,
            estimator: "lse".into(),
            predicted: "≤ -0.50".into(),
            exponent: -0.5,
            slope: -0.6,
            slope_low: -0.7,
            slope_high: -0.5,
            truth_sd: f64::NAN,
            truth_draws: 0,
            full_slope: -0.55,
            verdict: "consistent".into(),
            gbar_caveat: String::new(),
        };
        assert_eq!(csv_header(&claim), ClaimRow::HEADER);
        let own = OwnTruthRow {
            sigmoid_experiment: "E6".into(),
            sigmoid_setting: "relu".into(),
            softmax_experiment: "E3".into(),
            softmax_setting: "relu".into(),
            estimator: "lse".into(),
            quantity: Quantity::L2Error,
            verdict: "no difference".into(),
            sigmoid_slope: -0.4,
            sigmoid_slope_low: -0.5,
            sigmoid_slope_high: -0.3,
            softmax_slope: -0.4,
            softmax_slope_low: -0.5,
            softmax_slope_high: -0.3,
            level: 1,
            eps: 0.01,
            log2_ratio: 0.1,
            log2_ratio_low: -0.2,
            log2_ratio_high: 0.4,
        };
        assert_eq!(csv_header(&own), OwnTruthRow::HEADER);
        let conv = ConvergenceRow {
            experiment: "E1".into(),
            setting: "relu".into(),
            gate_fit: "sigmoid".into(),
            estimator: "lse".into(),
            fits: 200,
            converged: 199,
            max_iters: 1,
            stalled: 0,
            diverged: 0,
            at_walls: 4,
            walls_gate_intercept_low: 0,
            walls_gate_intercept_high: 0,
            walls_gate_slope: 4,
            walls_expert_slope: 0,
            walls_expert_intercept: 0,
            degenerate: 0,
            median_iterations: 48.0,
            median_pg_ratio: 0.03,
        };
        assert_eq!(csv_header(&conv), ConvergenceRow::HEADER);
        let settling = SettlingRow {
            experiment: "E2".into(),
            setting: "relu".into(),
            gate_fit: "sigmoid".into(),
            termination: "max_iters".into(),
            objective: 1e-9,
            active_walls: 0,
            d3_drift: 0.1,
            d3_shift: 0.9,
            smallest_d3: 1.7,
            smallest_l2: 0.01,
            drift_fraction: 0.07,
            verdict: "not settled".into(),
            why: "projection not unique (f* reproduced)".into(),
        };
        assert_eq!(csv_header(&settling), SettlingRow::HEADER);
        let spread = SpreadRow {
            experiment: "E1".into(),
            setting: "relu".into(),
            gate_fit: "sigmoid".into(),
            estimator: "lse".into(),
            quantity: "D1".into(),
            single_slope: -0.47,
            draw_experiment: "TV1".into(),
            draw_setting: "relu_t1".into(),
            draw_slope: -0.55,
        };
        assert_eq!(csv_header(&spread), SpreadRow::HEADER);
    }
}
