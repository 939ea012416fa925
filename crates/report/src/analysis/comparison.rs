//! The comparative claim (sigmoid gating needs fewer samples than softmax gating), tested only
//! where it can be: the same metric against the same target for both gates, on the same data.
//! The metrics are the L2 error of the regression function to f* and the expert error with one
//! matching rule for both gates (`smoe_metrics::matched_expert_error`), both against the truth G*;
//! the two gates' fits of one (n, replication) saw the same sample, so the comparison is paired.

use super::claims::f2;
use super::grouped;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{FitRow, Quantity};
use smoe_metrics::{compare_gates, judge_comparison, Cell, ComparativeVerdict, Comparison};
use smoe_model::{seed, Gate};
use std::fmt::Write as _;

/// The quantities both gates are compared on.
pub const COMPARED: [Quantity; 2] = [Quantity::ExpertErrMatched, Quantity::L2ToTruth];

/// Levels of the error at which n_softmax / n_sigmoid is read.
pub const LEVELS: usize = 3;

/// One comparison of the two gates.
#[derive(Clone, Debug, PartialEq)]
pub struct GateComparison {
    pub experiment: String,
    pub setting: String,
    pub estimator: String,
    pub quantity: Quantity,
    pub comparison: Comparison,
    pub verdict: ComparativeVerdict,
}

/// Paired cells of the two gates: at every n, the replications where both have a usable value.
fn paired_cells(exp: &Experiment, fits: &[FitRow], setting: &str, estimator: &str, q: Quantity) -> Option<(Vec<Cell>, Vec<Cell>)> {
    let groups = grouped(exp, fits);
    let find = |gate: Gate| groups.iter().find(|g| g.setting == setting && g.gate == gate && g.estimator == estimator && g.quantity == q);
    let (sig, soft) = (find(Gate::Sigmoid)?.paired_values(), find(Gate::Softmax)?.paired_values());
    let mut a = Vec::new();
    let mut b = Vec::new();
    for ((n, x), (m, y)) in sig.iter().zip(&soft) {
        if n != m {
            return None;
        }
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for (rx, vx) in x {
            if let Some((_, vy)) = y.iter().find(|(ry, _)| ry == rx) {
                if vx.is_finite() && vy.is_finite() {
                    xs.push(*vx);
                    ys.push(*vy);
                }
            }
        }
        if !xs.is_empty() {
            a.push(Cell { n: *n as f64, losses: xs });
            b.push(Cell { n: *n as f64, losses: ys });
        }
    }
    Some((a, b))
}

/// Every comparison of an experiment whose settings are fitted by both gates.
pub fn comparisons(exp: &Experiment, fits: &[FitRow]) -> Vec<GateComparison> {
    let mut out = Vec::new();
    for st in exp.settings.iter().filter(|s| s.has_both_gates()) {
        for (est, _) in &exp.estimators {
            for q in COMPARED {
                let Some((sig, soft)) = paired_cells(exp, fits, &st.name, est, q) else { continue };
                let mut rng = seed::stream(
                    exp.config.seed,
                    &[
                        ("experiment", exp.id()),
                        ("setting", &st.name),
                        ("estimator", est),
                        ("quantity", &q.to_string()),
                        ("purpose", "comparison"),
                    ],
                );
                let Some(c) = compare_gates(&sig, &soft, LEVELS, exp.config.rates.n_boot, &mut rng) else { continue };
                let verdict = judge_comparison(&c);
                out.push(GateComparison {
                    experiment: exp.id().into(),
                    setting: st.name.clone(),
                    estimator: est.clone(),
                    quantity: q,
                    comparison: c,
                    verdict,
                });
            }
        }
    }
    out
}

/// The rule of the comparison table, in words.
pub const COMPARISON_RULE: &str = "Both gates are fitted to the same samples (replication r of one n is the same data for both), started from the same split truth, by the same estimator; both are scored against the truth G* by the same metric: the L2 error of the regression function (`l2_to_truth`) and the expert error with one matching rule (`expert_err_matched`: each true expert matched to the fitted expert closest in sup norm, the largest error over the true experts). n(eps) is where the mean curve crosses eps (log-log interpolation between measured points); it is read only at levels that both curves cross inside the measured n range (three levels log-spaced between the larger of the two minima and the smaller of the two maxima), never extrapolated, and a level neither curve reaches is never counted as a win. Intervals: paired bootstrap (replication indices resampled within each n, applied to both gates), 95%. *sigmoid better*: the interval of log2(n_softmax / n_sigmoid) lies above 0 at every level; *softmax better*: below 0 at every level; *mixed*: above at some levels and below at others; *no difference* otherwise. The slope difference (sigmoid minus softmax, upper half of the n grid) is shown beside.";

/// The log2 ratios of a comparison at its common levels, as "eps: ratio [low, high]; ...".
pub fn levels_text(c: &Comparison) -> String {
    if c.ratios.is_empty() {
        return "no level both curves cross in range".to_string();
    }
    c.ratios.iter().map(|(e, v, l, h)| format!("{e:.2e}: {} [{}, {}]", f2(*v), f2(*l), f2(*h))).collect::<Vec<_>>().join("; ")
}

/// The comparison table.
pub fn comparison_markdown(rows: &[GateComparison]) -> String {
    let mut s = String::from("| experiment / setting | estimator | quantity | slope difference, sigmoid − softmax [95% CI] | log2 n_softmax(eps) / n_sigmoid(eps) [95% CI] at common levels eps | verdict |\n|---|---|---|---|---|---|\n");
    for r in rows {
        let c = &r.comparison;
        let levels = levels_text(c);
        let _ = writeln!(
            s,
            "| {} / {} | {} | {} | {} [{}, {}] | {} | **{}** |",
            r.experiment,
            r.setting,
            r.estimator,
            r.quantity,
            f2(c.slope_diff),
            f2(c.slope_diff_low),
            f2(c.slope_diff_high),
            levels,
            r.verdict.label()
        );
    }
    s
}
