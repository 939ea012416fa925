//! Budget checks: a config titled "Budget check: ..." reruns some units of the experiment of its
//! family (same streams, so the same data and starts) with another iteration budget. Fits that
//! stop before either cap must repeat the family's numbers exactly (a cap changes nothing before
//! it is reached); for the others, the change of the losses shows how much the cap moved the
//! results.

use smoe_estimator::Termination;
use smoe_experiment::rows::FitRow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One fit and loss, in the family's run and in the budget check.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetPair {
    pub setting: String,
    pub gate: String,
    pub n: u64,
    pub rep: u32,
    pub loss_name: String,
    pub base_termination: Termination,
    pub base_iterations: u64,
    pub check_termination: Termination,
    pub check_iterations: u64,
    pub base_loss: f64,
    pub check_loss: f64,
    pub base_l2: f64,
    pub check_l2: f64,
    pub base_objective: f64,
    pub check_objective: f64,
}

impl BudgetPair {
    /// Whether every reported number of the fit is the same in both runs (bits).
    pub fn identical(&self) -> bool {
        self.base_termination == self.check_termination
            && self.base_iterations == self.check_iterations
            && self.base_loss.to_bits() == self.check_loss.to_bits()
            && self.base_l2.to_bits() == self.check_l2.to_bits()
            && self.base_objective.to_bits() == self.check_objective.to_bits()
    }

    /// Whether the fit stopped at the iteration cap in either run.
    pub fn capped(&self) -> bool {
        self.base_termination == Termination::MaxIters || self.check_termination == Termination::MaxIters
    }

    fn rel(a: f64, b: f64) -> f64 {
        (b - a) / a.abs().max(f64::MIN_POSITIVE)
    }
}

/// Pair the budget check's rows with the family run's rows of the same fit and loss.
pub fn budget_pairs(base: &[FitRow], check: &[FitRow]) -> Vec<BudgetPair> {
    let key = |r: &FitRow| (r.setting.clone(), r.gate_fit.name(), r.estimator.clone(), r.n, r.rep, r.loss_name.name());
    let by_key: BTreeMap<_, &FitRow> = base.iter().map(|r| (key(r), r)).collect();
    check
        .iter()
        .filter_map(|c| {
            let b = by_key.get(&key(c))?;
            Some(BudgetPair {
                setting: c.setting.clone(),
                gate: c.gate_fit.name().into(),
                n: c.n,
                rep: c.rep,
                loss_name: c.loss_name.name(),
                base_termination: b.termination,
                base_iterations: b.iterations,
                check_termination: c.termination,
                check_iterations: c.iterations,
                base_loss: b.loss,
                check_loss: c.loss,
                base_l2: b.l2_to_truth,
                check_l2: c.l2_to_truth,
                base_objective: b.train_mse,
                check_objective: c.train_mse,
            })
        })
        .collect()
}

/// The budget-check section: one row per fit and loss, and what it shows.
pub fn budget_markdown(base_id: &str, check_id: &str, check_cap: Option<u64>, pairs: &[BudgetPair]) -> String {
    let mut s = format!(
        "\n## Budget check: {check_id} reruns fits of {base_id} with {} iterations\n\nSame data, starts and streams as {base_id}; only the iteration cap differs. *identical*: every reported number (termination, iterations, loss, L2 distance to the truth, objective) has the same bits in both runs, as it must for a fit that stopped before either cap.\n\n| setting / fit | n | rep | loss | {base_id}: stop (iterations) | {check_id}: stop (iterations) | loss {base_id} | loss {check_id} | change | L2 to truth change | objective change | identical |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        check_cap.map_or("another budget of".into(), |c| c.to_string()),
    );
    for p in pairs {
        let _ = writeln!(
            s,
            "| {} / {} | {} | {} | {} | {} ({}) | {} ({}) | {:.4e} | {:.4e} | {:+.2}% | {:+.2}% | {:+.1e} | {} |",
            p.setting,
            p.gate,
            p.n,
            p.rep,
            p.loss_name,
            p.base_termination.name(),
            p.base_iterations,
            p.check_termination.name(),
            p.check_iterations,
            p.base_loss,
            p.check_loss,
            100.0 * BudgetPair::rel(p.base_loss, p.check_loss),
            100.0 * BudgetPair::rel(p.base_l2, p.check_l2),
            BudgetPair::rel(p.base_objective, p.check_objective),
            if p.identical() { "yes" } else { "no" }
        );
    }
    // a fit that stopped before either cap follows the same path in both runs
    let free: Vec<&BudgetPair> = pairs.iter().filter(|p| !p.capped()).collect();
    let capped: Vec<&BudgetPair> = pairs.iter().filter(|p| p.capped()).collect();
    let changes: Vec<f64> = capped.iter().map(|p| BudgetPair::rel(p.base_loss, p.check_loss).abs()).collect();
    let largest = changes.iter().copied().fold(f64::NAN, f64::max);
    let median = super::convergence::median(changes);
    let _ = writeln!(
        s,
        "\nRows whose fit stopped before the cap in both runs: {} of {} identical. Rows whose fit stopped at the cap in one run: {}; their loss differs by {:.2}% (median absolute change; largest {:.2}%).",
        free.iter().filter(|p| p.identical()).count(),
        free.len(),
        capped.len(),
        100.0 * median,
        100.0 * largest
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(bt: Termination, ct: Termination, bl: f64, cl: f64) -> BudgetPair {
        BudgetPair {
            setting: "linear".into(),
            gate: "softmax".into(),
            n: 10,
            rep: 0,
            loss_name: "Dsoftmax".into(),
            base_termination: bt,
            base_iterations: 5,
            check_termination: ct,
            check_iterations: if bt == ct { 5 } else { 9 },
            base_loss: bl,
            check_loss: cl,
            base_l2: 1.0,
            check_l2: 1.0,
            base_objective: 0.5,
            check_objective: 0.5,
        }
    }

    /// A converged fit repeated bit for bit counts as identical; one changed bit does not; the
    /// summary reports the capped fit's change (2.00%) apart from the fits that stopped before the cap.
    #[test]
    fn identical_fits_and_changes_are_reported() {
        let same = pair(Termination::Converged, Termination::Converged, 0.25, 0.25);
        assert!(same.identical());
        let bit = pair(Termination::Converged, Termination::Converged, 0.25, f64::from_bits(0.25f64.to_bits() + 1));
        assert!(!bit.identical());
        let capped = pair(Termination::MaxIters, Termination::Converged, 1.0, 0.98);
        let text = budget_markdown("E3", "BC3", Some(5000), &[same, bit, capped]);
        assert!(text.contains("before the cap in both runs: 1 of 2 identical"), "{text}");
        assert!(text.contains("at the cap in one run: 1; their loss differs by 2.00%"), "{text}");
        assert!(text.contains("| -2.00% |"), "{text}");
    }
}
