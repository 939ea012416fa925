//! The paper's own comparison: each gate fitted to a truth of its own gate. The title's claim
//! comes from comparing the rates of the sigmoid-gated model under sigmoid truths (the paper's
//! theorems) with those of the softmax-gated model under softmax truths (earlier work). Here a
//! sigmoid fit of a sigmoid truth is set beside a softmax fit of a softmax truth whose recipe is
//! the same in everything but the gate (expert, gate and expert scales, which gate slopes are
//! zero; d, k*, k, noise, the n grid), on the same metrics against each one's own truth.
//!
//! The two sides saw different data, so nothing is paired: the bootstrap resamples each side's
//! replications independently. Levels and the verdict follow the same-data comparison's rule
//! (`smoe_metrics::judge_comparison`); where the curves share no level in range there is no
//! pair-by-pair fallback (there are no pairs), and the row is *not comparable*.
//!
//! The comparison is `smoe_metrics::compare_curves` with the unpaired bootstrap, the same code
//! as the same-data comparison's paired one; its ChaCha stream is derived from the comparison's
//! identity only (both sides, estimator, quantity).

use super::claims::f2;
use super::comparison::{per_level, COMPARED, LEVELS};
use super::{grouped, is_theorems_estimator};
use smoe_experiment::config::TruthConfig;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{FitRow, Quantity};
use smoe_metrics::{compare_curves, judge_comparison, Cell, ComparativeVerdict, Comparison, CurveComparison, Resampling};
use smoe_model::{seed, Gate};
use std::fmt::Write as _;

/// One metric of one pair of own-truth fits.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnTruthComparison {
    /// (experiment, setting) of the sigmoid fit of the sigmoid truth.
    pub sigmoid: (String, String),
    /// (experiment, setting) of the softmax fit of the softmax truth.
    pub softmax: (String, String),
    pub estimator: String,
    pub quantity: Quantity,
    /// Upper-half slopes of log(mean) on log(n) of each side, with 95% intervals.
    pub sigmoid_slope: (f64, f64, f64),
    pub softmax_slope: (f64, f64, f64),
    pub comparison: Comparison,
    pub verdict: ComparativeVerdict,
}

impl OwnTruthComparison {
    /// Its rows of data/tables/own_truth.csv: one per common level, or one with level 0 if none.
    pub fn rows(&self) -> Vec<crate::rows::OwnTruthRow> {
        let row = |level: u32, (eps, r, lo, hi): (f64, f64, f64, f64)| crate::rows::OwnTruthRow {
            sigmoid_experiment: self.sigmoid.0.clone(),
            sigmoid_setting: self.sigmoid.1.clone(),
            softmax_experiment: self.softmax.0.clone(),
            softmax_setting: self.softmax.1.clone(),
            estimator: self.estimator.clone(),
            quantity: self.quantity,
            verdict: super::comparison::stated_verdict(self.quantity, self.verdict).to_string(),
            sigmoid_slope: self.sigmoid_slope.0,
            sigmoid_slope_low: self.sigmoid_slope.1,
            sigmoid_slope_high: self.sigmoid_slope.2,
            softmax_slope: self.softmax_slope.0,
            softmax_slope_low: self.softmax_slope.1,
            softmax_slope_high: self.softmax_slope.2,
            level,
            eps,
            log2_ratio: r,
            log2_ratio_low: lo,
            log2_ratio_high: hi,
        };
        per_level(&self.comparison.ratios, row)
    }
}

/// Whether two truth recipes are the same in everything but the gate.
fn same_but_gate(a: &TruthConfig, b: &TruthConfig) -> bool {
    a.expert == b.expert
        && a.gate_var == b.gate_var
        && a.expert_var == b.expert_var
        && a.zero_gate_slope == b.zero_gate_slope
        && a.zero_expert_slope == b.zero_expert_slope
        && a.two_point.is_none()
        && b.two_point.is_none()
}

/// Whether two experiments share d, k*, k, the noise and the n grid.
fn same_design(a: &Experiment, b: &Experiment) -> bool {
    let (x, y) = (&a.config, &b.config);
    x.d == y.d && x.k_star == y.k_star && x.k == y.k && x.noise_var == y.noise_var && a.n_values == b.n_values
}

/// Every finite, usable value of one (setting, fit gate, estimator, quantity), by n.
fn cells(exp: &Experiment, fits: &[FitRow], setting: &str, gate: Gate, estimator: &str, q: Quantity) -> Option<Vec<Cell>> {
    let groups = grouped(exp, fits);
    let g = groups.iter().find(|g| g.setting == setting && g.gate == gate && g.estimator == estimator && g.quantity == q)?;
    Some(
        g.paired_values()
            .into_iter()
            .map(|(n, v)| Cell { n: n as f64, losses: v.into_iter().map(|(_, x)| x).filter(|x| x.is_finite()).collect() })
            .collect(),
    )
}

/// The pairs (sigmoid side, softmax side) of the own-truth comparison among `exps`, as indices
/// (experiment, setting): each setting with a sigmoid truth and a sigmoid fit, against each
/// setting of another experiment with a softmax truth of the same recipe and design and a softmax
/// fit.
pub fn own_truth_pairs(exps: &[&Experiment]) -> Vec<((usize, usize), (usize, usize))> {
    let mut out = Vec::new();
    for (ia, a) in exps.iter().enumerate() {
        for (ja, sa) in a.settings.iter().enumerate() {
            if sa.truth_config.gate != Gate::Sigmoid || !sa.fits.iter().any(|f| f.gate == Gate::Sigmoid) {
                continue;
            }
            for (ib, b) in exps.iter().enumerate().filter(|(ib, b)| *ib != ia && same_design(a, b)) {
                for (jb, sb) in b.settings.iter().enumerate() {
                    if sb.truth_config.gate == Gate::Softmax
                        && sb.fits.iter().any(|f| f.gate == Gate::Softmax)
                        && same_but_gate(&sa.truth_config, &sb.truth_config)
                    {
                        out.push(((ia, ja), (ib, jb)));
                    }
                }
            }
        }
    }
    out
}

/// Every own-truth comparison among `exps` ([`own_truth_pairs`]), by the theorems' estimator
/// (least squares) where both sides have it, on the same-data comparison's metrics. The bootstrap
/// is named by both sides, so the result depends on nothing else.
pub fn own_truth_comparisons(exps: &[(&Experiment, &[FitRow])]) -> Vec<OwnTruthComparison> {
    let plain: Vec<&Experiment> = exps.iter().map(|(e, _)| *e).collect();
    let mut out = Vec::new();
    for ((ia, ja), (ib, jb)) in own_truth_pairs(&plain) {
        let ((a, fa), (b, fb)) = (exps[ia], exps[ib]);
        let (sa, sb) = (&a.settings[ja], &b.settings[jb]);
        for (est, _) in a.estimators.iter().filter(|(n, e)| is_theorems_estimator(e) && b.estimators.iter().any(|(m, _)| m == n)) {
            for q in COMPARED {
                let (Some(sig), Some(soft)) =
                    (cells(a, fa, &sa.name, Gate::Sigmoid, est, q), cells(b, fb, &sb.name, Gate::Softmax, est, q))
                else {
                    continue;
                };
                let mut rng = seed::stream(
                    a.config.seed ^ b.config.seed,
                    &[
                        ("sigmoid", &format!("{}/{}", a.id(), sa.name)),
                        ("softmax", &format!("{}/{}", b.id(), sb.name)),
                        ("estimator", est),
                        ("quantity", &q.to_string()),
                        ("purpose", "own-truth comparison"),
                    ],
                );
                let Some(CurveComparison { comparison: c, sigmoid: s_sig, softmax: s_soft }) =
                    compare_curves(&sig, &soft, LEVELS, a.config.rates.n_boot, Resampling::Unpaired, &mut rng)
                else {
                    continue;
                };
                let verdict = judge_comparison(&c);
                out.push(OwnTruthComparison {
                    sigmoid: (a.id().to_string(), sa.name.clone()),
                    softmax: (b.id().to_string(), sb.name.clone()),
                    estimator: est.clone(),
                    quantity: q,
                    sigmoid_slope: (s_sig.slope, s_sig.low, s_sig.high),
                    softmax_slope: (s_soft.slope, s_soft.low, s_soft.high),
                    comparison: c,
                    verdict,
                });
            }
        }
    }
    out
}

/// The rule of the own-truth table, in words.
pub const OWN_TRUTH_RULE: &str = include_str!("../../text/own_truth_rule.md");

/// The own-truth table.
pub fn own_truth_markdown(rows: &[OwnTruthComparison]) -> String {
    let mut s = String::from("| sigmoid truth, sigmoid fit | softmax truth, softmax fit | estimator | quantity | slope, sigmoid [95% CI] | slope, softmax [95% CI] | log2 n_softmax(eps) / n_sigmoid(eps) [95% CI] at common levels eps | verdict |\n|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let c = &r.comparison;
        let levels = if c.ratios.is_empty() {
            "no level both curves cross in range".to_string()
        } else {
            c.ratios.iter().map(|(e, v, l, h)| format!("{e:.2e}: {} [{}, {}]", f2(*v), f2(*l), f2(*h))).collect::<Vec<_>>().join("; ")
        };
        let slope = |(v, l, h): (f64, f64, f64)| format!("{} [{}, {}]", f2(v), f2(l), f2(h));
        let _ = writeln!(
            s,
            "| {} / {} | {} / {} | {} | {} | {} | {} | {} | **{}** |",
            r.sigmoid.0,
            r.sigmoid.1,
            r.softmax.0,
            r.softmax.1,
            r.estimator,
            r.quantity,
            slope(r.sigmoid_slope),
            slope(r.softmax_slope),
            levels,
            super::comparison::stated_verdict(r.quantity, r.verdict)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str) -> Experiment {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow").join(name);
        Experiment::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn each_sigmoid_truth_meets_the_softmax_truth_of_its_recipe() {
        let exps = [
            config("e3_softmax_truth.yaml"),
            config("e6_sigmoid_truth_both_gates.yaml"),
            config("phase_sig_relu.yaml"),
            config("phase_sof_relu.yaml"),
            config("phase_sof_linear.yaml"),
            config("e2_regime2.yaml"),
        ];
        let refs: Vec<&Experiment> = exps.iter().collect();
        let named: Vec<(String, String)> = own_truth_pairs(&refs)
            .into_iter()
            .map(|((ia, ja), (ib, jb))| {
                (format!("{}/{}", exps[ia].id(), exps[ia].settings[ja].name), format!("{}/{}", exps[ib].id(), exps[ib].settings[jb].name))
            })
            .collect();
        let want = |a: &str, b: &str| (a.to_string(), b.to_string());
        // E6 (sigmoid truth, E2's recipe) against E3 (softmax truth) per expert; each phase scale
        // against the same scale and expert; E2 fits only the sigmoid gate of its sigmoid truth,
        // so it pairs with E3 too (same recipe and design); never across experts or scales
        assert!(named.contains(&want("E6/relu", "E3/relu")) && named.contains(&want("E6/linear", "E3/linear")), "{named:?}");
        for g in ["g001", "g01", "g1", "g10"] {
            assert!(named.contains(&want(&format!("PH_sig_relu/{g}"), &format!("PH_sof_relu/{g}"))), "{named:?}");
        }
        assert!(!named.iter().any(|(a, b)| a.starts_with("PH_sig_relu") && b.starts_with("PH_sof_linear")), "{named:?}");
        assert!(!named.iter().any(|(a, b)| a.starts_with("E6") && b.starts_with("PH_")), "{named:?}");
        assert!(!named.iter().any(|(a, b)| a.ends_with("/g001") && !b.ends_with("/g001")), "{named:?}");
        assert!(!named.iter().any(|(a, _)| a.starts_with("E3") || a.starts_with("PH_sof")), "{named:?}");
    }
}
