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
pub const COMPARED: [Quantity; 3] = [Quantity::ContributionErr, Quantity::ExpertErrMatched, Quantity::L2ToTruth];

pub use crate::columns::NOT_JUDGED;

/// Whether comparisons of `q` are judged: only metrics that no gate normalisation can move.
pub fn is_judged(q: Quantity) -> bool {
    !matches!(q, Quantity::ExpertErrMatched)
}

/// The verdict a comparison of `q` states: the rule's, or [`NOT_JUDGED`].
pub fn stated_verdict(q: Quantity, v: ComparativeVerdict) -> &'static str {
    if is_judged(q) {
        v.label()
    } else {
        NOT_JUDGED
    }
}

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
    /// The paired fits compared pair by pair (all n): the verdict where the two mean curves share
    /// no error level in range, and a count shown for every comparison.
    pub apart: Apart,
}

/// The rows of a comparison's table: one per common level (numbered from 1, the largest error
/// first), or one with level 0 and NaN in the level's columns when the curves share none.
pub(crate) fn per_level<R>(ratios: &[(f64, f64, f64, f64)], row: impl Fn(u32, (f64, f64, f64, f64)) -> R) -> Vec<R> {
    if ratios.is_empty() {
        vec![row(0, (f64::NAN, f64::NAN, f64::NAN, f64::NAN))]
    } else {
        ratios.iter().enumerate().map(|(i, &t)| row(i as u32 + 1, t)).collect()
    }
}

impl GateComparison {
    /// Its rows of comparisons.csv: one per common level, or one with level 0 if none.
    pub fn rows(&self) -> Vec<crate::rows::ComparisonRow> {
        let c = &self.comparison;
        let row = |level: u32, (eps, r, lo, hi): (f64, f64, f64, f64)| crate::rows::ComparisonRow {
            experiment: self.experiment.clone(),
            setting: self.setting.clone(),
            estimator: self.estimator.clone(),
            quantity: self.quantity,
            verdict: stated_verdict(self.quantity, self.verdict).to_string(),
            slope_diff: c.slope_diff,
            slope_diff_low: c.slope_diff_low,
            slope_diff_high: c.slope_diff_high,
            level,
            eps,
            log2_ratio: r,
            log2_ratio_low: lo,
            log2_ratio_high: hi,
            sigmoid_lower: self.apart.sigmoid_lower,
            pairs: self.apart.pairs,
        };
        per_level(&c.ratios, row)
    }
}

/// Two curves that share no error level in the measured range: one lies wholly below the other,
/// so n_softmax / n_sigmoid cannot be read inside the range. Judged pair by pair instead.
#[derive(Clone, Debug, PartialEq)]
pub struct Apart {
    /// Paired fits (all n) in which the sigmoid fit's error is below the softmax fit's.
    pub sigmoid_lower: usize,
    pub pairs: usize,
    /// log2(mean softmax / mean sigmoid) at each n: (n, ratio).
    pub log2_mean_ratio: Vec<(f64, f64)>,
}

impl Apart {
    /// How two paired curves lie apart: the pairs where sigmoid is lower, and the mean ratios.
    pub fn of(sig: &[Cell], soft: &[Cell]) -> Apart {
        let mut lower = 0;
        let mut pairs = 0;
        let mut ratios = Vec::new();
        for (a, b) in sig.iter().zip(soft) {
            lower += a.losses.iter().zip(&b.losses).filter(|(x, y)| x < y).count();
            pairs += a.losses.len();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            ratios.push((a.n, (mean(&b.losses) / mean(&a.losses)).log2()));
        }
        Apart { sigmoid_lower: lower, pairs, log2_mean_ratio: ratios }
    }

    /// The verdict: a gate is better only if its error is the lower one in every paired fit.
    pub fn verdict(&self) -> ComparativeVerdict {
        if self.pairs > 0 && self.sigmoid_lower == self.pairs {
            ComparativeVerdict::SigmoidBetter
        } else if self.pairs > 0 && self.sigmoid_lower == 0 {
            ComparativeVerdict::SoftmaxBetter
        } else {
            ComparativeVerdict::NotComparable
        }
    }
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
                let apart = Apart::of(&sig, &soft);
                let verdict = if c.ratios.is_empty() { apart.verdict() } else { judge_comparison(&c) };
                out.push(GateComparison {
                    experiment: exp.id().into(),
                    setting: st.name.clone(),
                    estimator: est.clone(),
                    quantity: q,
                    comparison: c,
                    verdict,
                    apart,
                });
            }
        }
    }
    out
}

/// The rule of the comparison table, in words.
pub const COMPARISON_RULE: &str = include_str!("../../text/comparison_rule.md");

/// The log2 ratios of a comparison at its common levels, as "eps: ratio [low, high]; ...", or
/// how the curves lie apart where they share no level.
pub fn levels_text(g: &GateComparison) -> String {
    let c = &g.comparison;
    if c.ratios.is_empty() {
        let a = &g.apart;
        let per_n: Vec<String> = a.log2_mean_ratio.iter().map(|(n, r)| format!("{n}: {}", f2(*r))).collect();
        return format!(
            "no level both curves cross in range; sigmoid lower in {} of {} paired fits; log2 mean softmax / mean sigmoid at n = {}",
            a.sigmoid_lower,
            a.pairs,
            per_n.join(", ")
        );
    }
    c.ratios.iter().map(|(e, v, l, h)| format!("{e:.2e}: {} [{}, {}]", f2(*v), f2(*l), f2(*h))).collect::<Vec<_>>().join("; ")
}

/// The comparison table.
pub fn comparison_markdown(rows: &[GateComparison]) -> String {
    let mut s = String::from("| experiment / setting | estimator | quantity | slope difference, sigmoid − softmax [95% CI] | log2 n_softmax(eps) / n_sigmoid(eps) [95% CI] at common levels eps | verdict |\n|---|---|---|---|---|---|\n");
    for r in rows {
        let c = &r.comparison;
        let levels = levels_text(r);
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
            stated_verdict(r.quantity, r.verdict)
        );
    }
    s
}

/// The comparisons of the truth-variability experiments, tallied per setting of their base
/// experiment: how many of the truth draws give each verdict, beside the base experiment's own.
/// `draws` pairs each comparison with the id of its base experiment.
pub fn across_truths_markdown(base: &[GateComparison], draws: &[(String, GateComparison)]) -> String {
    let mut groups: std::collections::BTreeMap<(String, String, String, String), Vec<&'static str>> = Default::default();
    for (b, c) in draws {
        let setting = super::spread::base_setting(&c.setting).to_string();
        groups
            .entry((b.clone(), setting, c.estimator.clone(), c.quantity.to_string()))
            .or_default()
            .push(stated_verdict(c.quantity, c.verdict));
    }
    let mut s = String::from("| experiment / setting | estimator | quantity | verdict on the experiment's truth | verdicts on the truth draws |\n|---|---|---|---|---|\n");
    for ((b, setting, est, q), verdicts) in &groups {
        let own = base
            .iter()
            .find(|c| &c.experiment == b && &c.setting == setting && &c.estimator == est && &c.quantity.to_string() == q)
            .map_or("–", |c| stated_verdict(c.quantity, c.verdict));
        let mut by_label: std::collections::BTreeMap<&str, usize> = Default::default();
        for v in verdicts {
            *by_label.entry(v).or_default() += 1;
        }
        let mut counts: Vec<(&str, usize)> = by_label.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let tally = counts.iter().map(|(l, k)| format!("{l}: {k} of {}", verdicts.len())).collect::<Vec<_>>().join("; ");
        let _ = writeln!(s, "| {b} / {setting} | {est} | {q} | {own} | {tally} |");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[&[f64]]) -> Vec<Cell> {
        v.iter().enumerate().map(|(i, l)| Cell { n: 1000.0 * 10f64.powi(i as i32), losses: l.to_vec() }).collect()
    }

    #[test]
    fn curves_apart_are_judged_pair_by_pair() {
        let sig = cells(&[&[1.0, 1.2, 0.8], &[0.5, 0.6, 0.4]]);
        let soft = cells(&[&[4.0, 5.0, 4.5], &[3.0, 3.5, 2.5]]);
        let a = Apart::of(&sig, &soft);
        assert_eq!((a.sigmoid_lower, a.pairs), (6, 6));
        assert_eq!(a.verdict(), ComparativeVerdict::SigmoidBetter);
        // log2 of the ratio of means at the first n: 4.5 / 1.0
        assert!((a.log2_mean_ratio[0].1 - 4.5f64.log2()).abs() < 1e-12);
        assert_eq!(Apart::of(&soft, &sig).verdict(), ComparativeVerdict::SoftmaxBetter);
        // one pair the other way round: no verdict
        let soft_one_lower = cells(&[&[4.0, 5.0, 4.5], &[3.0, 0.3, 2.5]]);
        let b = Apart::of(&sig, &soft_one_lower);
        assert_eq!((b.sigmoid_lower, b.pairs), (5, 6));
        assert_eq!(b.verdict(), ComparativeVerdict::NotComparable);
    }

    fn comparison(experiment: &str, setting: &str, verdict: ComparativeVerdict) -> GateComparison {
        let comparison = Comparison { slope_diff: 0.0, slope_diff_low: 0.0, slope_diff_high: 0.0, ratios: Vec::new() };
        GateComparison {
            experiment: experiment.into(),
            setting: setting.into(),
            estimator: "lse".into(),
            quantity: Quantity::L2ToTruth,
            comparison,
            verdict,
            apart: Apart { sigmoid_lower: 0, pairs: 0, log2_mean_ratio: Vec::new() },
        }
    }

    /// Draws are tallied under their base experiment and setting ("relu_t3" is a draw of "relu"),
    /// most frequent verdict first, beside the base experiment's own verdict.
    #[test]
    fn truth_draws_are_tallied_per_base_setting() {
        use ComparativeVerdict::*;
        let base = [comparison("E3", "relu", SoftmaxBetter), comparison("E3", "linear", NoDifference)];
        let draws: Vec<(String, GateComparison)> =
            [("relu_t1", SoftmaxBetter), ("relu_t2", NoDifference), ("relu_t3", SoftmaxBetter), ("linear_t1", SigmoidBetter)]
                .iter()
                .map(|(s, v)| ("E3".to_string(), comparison("TV3", s, *v)))
                .collect();
        let md = across_truths_markdown(&base, &draws);
        assert!(md.contains("| E3 / relu | lse | l2_to_truth | softmax better | softmax better: 2 of 3; no difference: 1 of 3 |"), "{md}");
        assert!(md.contains("| E3 / linear | lse | l2_to_truth | no difference | sigmoid better: 1 of 1 |"), "{md}");
        assert_eq!(md.lines().count(), 4, "a header, a rule and one row per base setting: {md}");
    }

    /// One rule for every judged metric, and none for the one a gate's normalisation moves: the
    /// matched expert error's comparison keeps its measurements but states no verdict, in the
    /// table and in comparisons.csv, whatever the rule would have said.
    #[test]
    fn the_matched_expert_error_is_shown_not_judged() {
        use ComparativeVerdict::*;
        for v in [SigmoidBetter, SoftmaxBetter, NoDifference, Mixed, NotComparable] {
            assert_eq!(stated_verdict(Quantity::ExpertErrMatched, v), NOT_JUDGED);
            assert_eq!(stated_verdict(Quantity::ContributionErr, v), v.label());
            assert_eq!(stated_verdict(Quantity::L2ToTruth, v), v.label());
        }
        let mut c = comparison("E6", "relu", SigmoidBetter);
        c.quantity = Quantity::ExpertErrMatched;
        let md = comparison_markdown(std::slice::from_ref(&c));
        assert!(md.contains(&format!("**{NOT_JUDGED}**")) && !md.contains("sigmoid better"), "{md}");
        assert!(c.rows().iter().all(|r| r.verdict == NOT_JUDGED));
        c.quantity = Quantity::ContributionErr;
        assert!(comparison_markdown(&[c]).contains("**sigmoid better**"));
    }
}
