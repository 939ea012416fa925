//! The report's own tidy rows: fitted rates ([`RateRow`], looked up by [`RateKey`]) and cell
//! summaries ([`SummaryRow`]). A leaf module: the store writes them, the analysis computes them.

use serde::{Deserialize, Serialize};
use smoe_experiment::rows::{sci6, Label, Quantity};
use smoe_metrics::RateMethod;
use smoe_model::{Expert, Gate};

use crate::columns::*;

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

table_row! {
    /// One fitted rate: loss ~ C n^slope.
    #[derive(Clone, Debug, PartialEq)]
    pub struct RateRow {
        experiment: String => EXPERIMENT,
        setting: String => SETTING,
        gate_fit: Gate => GATE_FIT,
        expert: Expert => EXPERT,
        estimator: String => ESTIMATOR,
        loss_name: Quantity => col("loss_name", Text, NO_UNIT, "The quantity whose rate this is (the name is kept from when only losses had rates); as `quantity` in summary.csv."),
        method: RateMethod => col("method", Text, NO_UNIT, "How the rate is regressed: `log_mean`, log of the mean over replications against log n (the paper's way); `all_reps`, every replication's log value against log n.").one_of(&["log_mean", "all_reps"]),
        n_range: NRange => col("n_range", Text, NO_UNIT, "Which sample sizes: `full`, the whole n grid; `upper_half`, its largest half (closer to the asymptotic regime the theorems describe).").one_of(&["full", "upper_half"]),
        slope: f64 => col("slope", Float64, NO_UNIT, "The fitted exponent: OLS slope of log value on log n."),
        se: f64 => col("se", Float64, NO_UNIT, "OLS standard error of the slope (residual-based); NaN with two n values."),
        boot_se: f64 => col("boot_se", Float64, NO_UNIT, "Bootstrap standard error of the slope (replications resampled within each n)."),
        ci_low: f64 => col("ci_low", Float64, NO_UNIT, "Lower end of the bootstrap 95% percentile interval of the slope."),
        ci_high: f64 => col("ci_high", Float64, NO_UNIT, "Upper end of the bootstrap 95% percentile interval of the slope."),
        intercept: f64 => col("intercept", Float64, NO_UNIT, "The fitted log C (natural log): log value = intercept + slope log n."),
        n_min: f64 => col("n_min", Float64, "samples", "Smallest n in the regression."),
        n_max: f64 => col("n_max", Float64, "samples", "Largest n in the regression."),
        n_values: u32 => col("n_values", UInt32, NO_UNIT, "Number of sample sizes in the regression."),
        reps: u32 => col("reps", UInt32, NO_UNIT, "Smallest number of usable replications at any n of the regression."),
        excluded: u32 => col("excluded", UInt32, "fits", "Fits left out (over the whole n grid) because their value was not finite and positive, or they diverged."),
        degenerate: u32 => col("degenerate", UInt32, "fits", "Degenerate fits (a Voronoi cell of the target left empty) left out of a quantity that reads the cells (losses, per-atom errors); 0 for the L2 errors, the matched expert error and the displacement."),
        theory: f64 => col("theory", Float64, NO_UNIT, "The exponent the theory predicts (the config's `theory`); NaN where it gives no power law or names none."),
        theory_label: String => col("theory_label", Text, NO_UNIT, "Where the prediction comes from (the config's `source`, e.g. `Thm 2: D1 ~ n^-1/2`); empty if the config names none."),
        verdict: String => col("verdict", Text, NO_UNIT, "`consistent` if `theory` lies in [ci_low, ci_high], `not consistent` if not, `no power-law prediction` if `theory` is NaN.").one_of(&["consistent", "not consistent", "no power-law prediction"]),
        log_rate_q: f64 => col("log_rate_q", Float64, NO_UNIT, "q of the logarithmic-rate model value ~ C (log n)^-q fitted to the same points; NaN if not fitted."),
        delta_aic: f64 => col("delta_aic", Float64, NO_UNIT, "AIC(log rate) - AIC(power law): positive favours the power law; |delta| > 2 is a preference. NaN if not compared."),
    }
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

table_row! {
    /// One row per (setting, fit, estimator, quantity, n); a row of summary.csv.
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct SummaryRow {
        experiment: String => EXPERIMENT,
        setting: String => SETTING,
        gate_fit: Gate => GATE_FIT,
        estimator: String => ESTIMATOR,
        quantity: Quantity => col("quantity", Text, NO_UNIT, QUANTITY_TEXT),
        n: u64 => col("n", Integer, "samples", "Sample size."),
        #[serde(serialize_with = "sci6")]
        mean: f64 => col("mean", Scientific(6), "as quantity", "Mean of the usable values; NaN if there are none."),
        #[serde(serialize_with = "sci6")]
        sd: f64 => col("sd", Scientific(6), "as quantity", "Standard deviation of the usable values (divisor reps - 1); NaN with fewer than two."),
        #[serde(serialize_with = "sci6")]
        mcse: f64 => col("mcse", Scientific(6), "as quantity", "Monte Carlo standard error of the mean, sd / sqrt(reps)."),
        reps: usize => col("reps", Integer, "fits", "Usable values."),
        excluded: usize => col("excluded", Integer, "fits", "Fits left out: diverged, or a value that is not finite and positive."),
        degenerate: usize => col("degenerate", Integer, "fits", "Degenerate fits (a Voronoi cell of the target left empty) left out of a quantity that reads the cells; 0 for quantities that do not."),
        not_converged: usize => col("not_converged", Integer, "fits", "Fits that stopped without meeting their convergence test (`max_iters` or `line_search_failed`)."),
        at_walls: usize => col("at_walls", Integer, "fits", "Fits with at least one parameter on a wall of Theta (or beyond it, for the unconstrained SGD)."),
        #[serde(rename = "fits_with_empty_cells")]
        empty_cells: usize => col("fits_with_empty_cells", Integer, "fits", "Fits with at least one empty Voronoi cell (`empty_cells` > 0 in fits.parquet)."),
        #[serde(serialize_with = "sci6")]
        mean_all: f64 => col("mean_all", Scientific(6), "as quantity", "Mean over every fit that did not diverge and whose value is finite and positive, degenerate fits included (the paper's Voronoi losses are defined with empty cells too); equals `mean` for quantities that do not read the cells."),
    }
}

impl SummaryRow {
    /// A cell of one usable value equal to `mean`: sd and mcse zero, nothing excluded, no fit
    /// degenerate, unconverged, at a wall or with an empty cell (hand-worked cases, synthetic
    /// curves; set `reps` for more values).
    pub fn exact(experiment: &str, setting: &str, gate_fit: Gate, estimator: &str, quantity: Quantity, n: u64, mean: f64) -> SummaryRow {
        SummaryRow {
            experiment: experiment.into(),
            setting: setting.into(),
            gate_fit,
            estimator: estimator.into(),
            quantity,
            n,
            mean,
            sd: 0.0,
            mcse: 0.0,
            reps: 1,
            excluded: 0,
            degenerate: 0,
            not_converged: 0,
            at_walls: 0,
            empty_cells: 0,
            mean_all: mean,
        }
    }
}

table_row! {
    /// One row per same-data gate comparison and common error level; a row of comparisons.csv. A
    /// comparison whose curves share no level in range has one row with `level` 0 (and NaN in the
    /// level's columns): it is judged pair by pair (`sigmoid_lower` of `pairs`).
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct ComparisonRow {
        experiment: String => EXPERIMENT,
        setting: String => SETTING,
        estimator: String => ESTIMATOR,
        quantity: Quantity => COMPARED_QUANTITY,
        verdict: String => COMPARISON_VERDICT,
        #[serde(serialize_with = "sci6")]
        slope_diff: f64 => col("slope_diff", Scientific(6), NO_UNIT, "Upper-half slope of log(mean) on log(n), sigmoid minus softmax."),
        #[serde(serialize_with = "sci6")]
        slope_diff_low: f64 => interval_low("slope_diff_low"),
        #[serde(serialize_with = "sci6")]
        slope_diff_high: f64 => interval_high("slope_diff_high"),
        level: u32 => col("level", Integer, NO_UNIT, "1, 2, ...: the common error level, from the largest down; 0: the curves share no level in range (one row, NaN in the level's columns), and the comparison is judged pair by pair."),
        #[serde(serialize_with = "sci6")]
        eps: f64 => EPS,
        #[serde(serialize_with = "sci6")]
        log2_ratio: f64 => LOG2_RATIO,
        #[serde(serialize_with = "sci6")]
        log2_ratio_low: f64 => LOG2_RATIO_LOW,
        #[serde(serialize_with = "sci6")]
        log2_ratio_high: f64 => LOG2_RATIO_HIGH,
        sigmoid_lower: usize => col("sigmoid_lower", Integer, "fits", "Paired fits (all n) in which the sigmoid fit's error is below the softmax fit's."),
        pairs: usize => col("pairs", Integer, "fits", "Paired fits (all n)."),
    }
}

/// The verdict text of a claim whose curve has too few usable values of n for a slope.
pub const NO_SLOPE: &str = "no slope";

table_row! {
    /// One claim of the paper against one measured curve (theory entry, fit, estimator), judged by
    /// the rule of its kind; a row of data/tables/claims.csv (figures/claims.md prints the same rows).
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct ClaimRow {
        theorem: String => col("theorem", Text, NO_UNIT, "The theory entry's `source`: the paper's statement and its form (NeurIPS numbering)."),
        claim_kind: String => col("claim_kind", Text, NO_UNIT, "The kind of statement, which decides the rule.").one_of(&["upper bound", "minimax lower bound", "slow rate", "no theorem"]),
        experiment: String => EXPERIMENT,
        setting: String => SETTING,
        gate_fit: String => col("gate_fit", Text, NO_UNIT, "Gate of the fitted mixture.").one_of(GATES),
        target: String => col("target", Text, NO_UNIT, "What the quantity is measured against: `G*`, the truth, or `G_bar`, the projection of f* onto the fit's model.").one_of(&["G*", "G_bar"]),
        quantity: Quantity => col("quantity", Text, NO_UNIT, "The quantity claimed: a loss name or a column of fits.parquet."),
        estimator: String => ESTIMATOR,
        predicted: String => col("predicted", Text, NO_UNIT, "What the claim predicts, as claims.md prints it (`≤ -0.50`: an upper bound on the slope; `(log factor)`: of the form (log n / n)^1/2)."),
        #[serde(serialize_with = "sci6")]
        exponent: f64 => col("exponent", Scientific(6), NO_UNIT, "The predicted exponent of n (NaN for a slow rate or no theorem)."),
        #[serde(serialize_with = "sci6")]
        slope: f64 => col("slope", Scientific(6), NO_UNIT, "Slope of log(mean) on log(n) on the upper half of the n grid (NaN: no slope)."),
        #[serde(serialize_with = "sci6")]
        slope_low: f64 => interval_low("slope_low"),
        #[serde(serialize_with = "sci6")]
        slope_high: f64 => interval_high("slope_high"),
        #[serde(serialize_with = "sci6")]
        truth_sd: f64 => col("truth_sd", Scientific(6), NO_UNIT, "The sd of the same slope across the truth draws of the truth-variability experiments (NaN: none), added to the interval's allowance."),
        truth_draws: usize => col("truth_draws", Integer, "truths", "The number of those draws (0: none)."),
        #[serde(serialize_with = "sci6")]
        full_slope: f64 => col("full_slope", Scientific(6), NO_UNIT, "The slope on the full n grid, the paper's way (NaN: none)."),
        verdict: String => col("verdict", Text, NO_UNIT, "The verdict by the rule of the claim's kind; `no slope` where too few values of n have enough usable fits.").one_of(&["consistent, sharp", "consistent", "contradicted", "contradicted (the loss grows with n)", "not testable at a fixed truth", "inconclusive", "no claim", "not the theorem's estimator", "no slope"]),
        gbar_caveat: String => col("gbar_caveat", Text, NO_UNIT, "Why the G_bar the curve is measured against is not settled (see figures/sensitivity.md); empty where it is, or where the target is G*."),
    }
}

table_row! {
    /// One metric of the paper's own comparison (each gate fitted to a truth of its own gate) at one
    /// common error level; a row of data/tables/own_truth.csv. A comparison whose curves share no level
    /// in range has one row with `level` 0 (NaN in the level's columns).
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct OwnTruthRow {
        sigmoid_experiment: String => col("sigmoid_experiment", Text, NO_UNIT, "Experiment of the sigmoid side (sigmoid truth, sigmoid fit)."),
        sigmoid_setting: String => col("sigmoid_setting", Text, NO_UNIT, "Its setting."),
        softmax_experiment: String => col("softmax_experiment", Text, NO_UNIT, "Experiment of the softmax side (softmax truth, softmax fit)."),
        softmax_setting: String => col("softmax_setting", Text, NO_UNIT, "Its setting."),
        estimator: String => ESTIMATOR,
        quantity: Quantity => COMPARED_QUANTITY,
        verdict: String => COMPARISON_VERDICT,
        #[serde(serialize_with = "sci6")]
        sigmoid_slope: f64 => col("sigmoid_slope", Scientific(6), NO_UNIT, "Upper-half slope of log(mean) on log(n) of the sigmoid side."),
        #[serde(serialize_with = "sci6")]
        sigmoid_slope_low: f64 => interval_low("sigmoid_slope_low"),
        #[serde(serialize_with = "sci6")]
        sigmoid_slope_high: f64 => interval_high("sigmoid_slope_high"),
        #[serde(serialize_with = "sci6")]
        softmax_slope: f64 => col("softmax_slope", Scientific(6), NO_UNIT, "Upper-half slope of log(mean) on log(n) of the softmax side."),
        #[serde(serialize_with = "sci6")]
        softmax_slope_low: f64 => interval_low("softmax_slope_low"),
        #[serde(serialize_with = "sci6")]
        softmax_slope_high: f64 => interval_high("softmax_slope_high"),
        level: u32 => col("level", Integer, NO_UNIT, "1, 2, ...: the common error level, from the largest down; 0: the curves share no level in range (one row, NaN in the level's columns)."),
        #[serde(serialize_with = "sci6")]
        eps: f64 => EPS,
        #[serde(serialize_with = "sci6")]
        log2_ratio: f64 => LOG2_RATIO,
        #[serde(serialize_with = "sci6")]
        log2_ratio_low: f64 => LOG2_RATIO_LOW,
        #[serde(serialize_with = "sci6")]
        log2_ratio_high: f64 => LOG2_RATIO_HIGH,
    }
}

table_row! {
    /// One least-squares experiment cell (setting, fit, estimator) by how its fits stopped; a row of
    /// data/tables/convergence.csv (figures/convergence.md prints the same rows).
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct ConvergenceRow {
        experiment: String => EXPERIMENT,
        setting: String => SETTING,
        gate_fit: String => col("gate_fit", Text, NO_UNIT, "Gate of the fitted mixture.").one_of(GATES),
        estimator: String => ESTIMATOR,
        fits: usize => col("fits", Integer, "fits", "Least-squares fits of the cell (every n and replication)."),
        converged: usize => col("converged", Integer, "fits", "Fits that met the convergence criterion (`termination` = `converged` in fits.parquet)."),
        max_iters: usize => col("max_iters", Integer, "fits", "Fits that exhausted their iteration budget."),
        stalled: usize => col("stalled", Integer, "fits", "Fits in which no step lowered the objective although the projected gradient was above its tolerance (`line_search_failed`; analysed in figures/convergence.md)."),
        diverged: usize => col("diverged", Integer, "fits", "Fits whose objective became non-finite."),
        at_walls: usize => col("at_walls", Integer, "fits", "Fits with at least one parameter on a wall of Theta."),
        walls_gate_intercept_low: usize => col("walls_gate_intercept_low", Integer, "fits", "Fits with a gate intercept on the low wall."),
        walls_gate_intercept_high: usize => col("walls_gate_intercept_high", Integer, "fits", "Fits with a gate intercept on the high wall."),
        walls_gate_slope: usize => col("walls_gate_slope", Integer, "fits", "Fits with a gate slope on a wall."),
        walls_expert_slope: usize => col("walls_expert_slope", Integer, "fits", "Fits with an expert slope on a wall."),
        walls_expert_intercept: usize => col("walls_expert_intercept", Integer, "fits", "Fits with an expert intercept on a wall."),
        degenerate: usize => col("degenerate", Integer, "fits", "Fits that leave a Voronoi cell of their target empty."),
        #[serde(serialize_with = "sci6")]
        median_iterations: f64 => col("median_iterations", Scientific(6), "steps", "Median iterations per fit."),
        #[serde(serialize_with = "sci6")]
        median_pg_ratio: f64 => col("median_pg_ratio", Scientific(6), NO_UNIT, "Median of the projected gradient over the noise's gradient scale, the convergence test's ratio (the criterion asks for at most `tol_grad`)."),
    }
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
}

table_row! {
    /// One G_bar (experiment, setting, fit) against the smallest losses measured against it; a row of
    /// data/tables/gbar_settling.csv (the settling table of figures/REPORT.md prints the same rows).
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct SettlingRow {
        experiment: String => EXPERIMENT,
        setting: String => SETTING,
        gate_fit: String => col("gate_fit", Text, NO_UNIT, "Gate of the fit, and of its G_bar.").one_of(GATES),
        termination: String => col("termination", Text, NO_UNIT, "Why the G_bar fit stopped (as in gbar_check.csv).").one_of(TERMINATIONS),
        #[serde(serialize_with = "sci6")]
        objective: f64 => col("objective", Scientific(6), "y^2", "Its objective, the squared L2 distance to f* (NaN: not recorded)."),
        active_walls: u32 => col("active_walls", Integer, "entries", "Entries of G_bar on a wall of Theta."),
        #[serde(serialize_with = "sci6")]
        d3_drift: f64 => col("d3_drift", Scientific(6), NO_UNIT, "D3 distance G_bar moved in the second half of its budget."),
        #[serde(serialize_with = "sci6")]
        d3_shift: f64 => col("d3_shift", Scientific(6), NO_UNIT, "D3 distance to the G_bar fitted on the second, larger reference sample."),
        #[serde(serialize_with = "sci6")]
        smallest_d3: f64 => col("smallest_d3", Scientific(6), NO_UNIT, "The smallest mean D3 measured against this G_bar (any estimator, any n; where every fit of a cell is degenerate, the mean over all of them)."),
        #[serde(serialize_with = "sci6")]
        smallest_l2: f64 => col("smallest_l2", Scientific(6), "y", "The smallest mean L2 error measured against it, the same way."),
        #[serde(serialize_with = "sci6")]
        drift_fraction: f64 => col("drift_fraction", Scientific(6), NO_UNIT, "d3_drift / smallest_d3: at most 0.01 for a settled G_bar."),
        verdict: String => col("verdict", Text, NO_UNIT, "Whether G_bar is settled.").one_of(&["settled", "not settled"]),
        why: String => col("why", Text, NO_UNIT, "Why not settled: its L2 distance to f* is below 1% of the smallest L2 error (the projection is not unique), it has entries on the walls of Theta, or it is still moving; `–` where settled.").one_of(&GBAR_REASONS),
    }
}

table_row! {
    /// One headline slope measured on one truth draw of a truth-variability experiment, beside the
    /// same slope on the base experiment's single truth; a row of data/tables/truth_spread.csv
    /// (figures/truth_spread.md prints their mean and sd per base row).
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct SpreadRow {
        experiment: String => col("experiment", Text, NO_UNIT, "The base experiment (the one the truth-variability experiment repeats)."),
        setting: String => col("setting", Text, NO_UNIT, "Its setting."),
        gate_fit: String => col("gate_fit", Text, NO_UNIT, "Gate of the fitted mixture.").one_of(GATES),
        estimator: String => ESTIMATOR,
        quantity: String => col("quantity", Text, NO_UNIT, "The quantity: a loss name or a column of fits.parquet."),
        #[serde(serialize_with = "sci6")]
        single_slope: f64 => col("single_slope", Scientific(6), NO_UNIT, "Upper-half slope of log(mean) on log(n) on the base experiment's truth (NaN: no slope)."),
        draw_experiment: String => col("draw_experiment", Text, NO_UNIT, "The truth-variability experiment of this draw."),
        draw_setting: String => col("draw_setting", Text, NO_UNIT, "Its setting of this draw (`<setting>_t<k>`)."),
        #[serde(serialize_with = "sci6")]
        draw_slope: f64 => col("draw_slope", Scientific(6), NO_UNIT, "The same slope on this draw's truth."),
    }
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
