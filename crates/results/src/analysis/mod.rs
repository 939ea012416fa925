//! From fits to numbers, without IO: cell summaries and fitted rates of every (setting, fit,
//! estimator, quantity), and beyond the paper's figures the claims table, the sample-size
//! comparison and the sensitivity of slopes to the initialisation and the optimiser.

mod budget;
mod claims;
mod comparison;
mod convergence;
mod lower_bound;
mod own_truth;
mod phase;
mod rates;
mod replication;
mod run_times;
mod sensitivity;
mod settling;
mod spread;
mod summary;
mod verdicts;

pub use budget::{budget_markdown, budget_pairs, BudgetPair};
pub use claims::{claim_rows, claims_markdown, verdict_counts, LowerBoundRow, Unsettled};
pub use comparison::{
    across_truths_markdown, comparison_markdown, comparisons, is_judged, stated_verdict, Apart, GateComparison, COMPARED, COMPARISON_RULE,
    NOT_JUDGED,
};
pub use convergence::{convergence, convergence_markdown, ConvergenceRow, TARGET_SHARE};
pub use lower_bound::{lower_bound_markdown, lower_bound_rows};
pub use own_truth::{own_truth_comparisons, own_truth_markdown, OwnTruthComparison, OWN_TRUTH_RULE};
pub use phase::{phase_cells, phase_heatmaps, phase_markdown, Heatmap, PhaseCell};
pub use rates::{bootstrap_label, min_cells, rates, well_populated, MIN_N_VALUES, MIN_USABLE_SHARE};
pub use replication::{
    best_candidate, candidates, curve_summaries, protocol_search_markdown, replication_markdown, status_rule, summary_markdown,
    CurveSummary, Ours,
};
pub use run_times::{run_times, run_times_markdown, RunTimeRow, REFERENCE_CORES};
pub use sensitivity::sensitivity_markdown;
pub use settling::{
    gbar_settling, settling_markdown, GbarSettling, SettlingInput, GBAR_REASONS, GBAR_RULE, GBAR_SETTLED_FRACTION, REPRODUCED_FRACTION,
};
pub use spread::{base_of, spread_markdown, spread_rows, truth_spread};
pub use summary::summary;
pub use verdicts::{
    curve_verdict, describe as estimator_rule, is_theorems_estimator, judge_claim, rate_row_verdict, ClaimVerdict, CurveVerdict,
    TruthSpread, RULES,
};

use smoe_estimator::Termination;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{FitRow, Quantity};
use smoe_metrics::Cell;
use smoe_model::Gate;
use std::collections::BTreeMap;

use crate::rows::{RateRow, SummaryRow};

// our readings of a paper curve, for the overlay figure (publish::overlay)
pub use replication::ours;

/// An experiment's results as the tables and figures read them: its fits, their summary, its
/// fitted rates, the Cramér-Rao floor of its losses and, for a two-point experiment, the
/// distances between the members of its pairs.
#[derive(Clone, Debug)]
pub struct Results {
    pub fits: Vec<FitRow>,
    pub sum: Vec<SummaryRow>,
    pub rates: Vec<RateRow>,
    pub floors: Vec<smoe_experiment::rows::FloorRow>,
    pub pairs: Vec<smoe_experiment::rows::PairRow>,
    /// The paper's reported curves of this experiment.
    pub paper: Vec<crate::paper::PaperCurve>,
}

/// The fits of one (setting, fitted gate, estimator, quantity), by n.
#[derive(Clone, Debug)]
pub struct Group<'a> {
    pub setting: &'a str,
    pub gate: Gate,
    pub estimator: &'a str,
    pub quantity: Quantity,
    pub by_n: BTreeMap<u64, Vec<&'a FitRow>>,
}

/// Group a fits table by (setting, fit, estimator, quantity) in config order (for each fit: its
/// losses, then [`Quantity::FIT`], then each loss at the start, then each loss against the start), then by n.
pub fn grouped<'a>(exp: &'a Experiment, fits: &'a [FitRow]) -> Vec<Group<'a>> {
    let mut out = Vec::new();
    for s in &exp.settings {
        for f in &s.fits {
            for (e, _) in &exp.estimators {
                let qs = f
                    .losses
                    .iter()
                    .map(|&l| Quantity::Loss(l))
                    .chain(Quantity::FIT)
                    .chain(f.losses.iter().map(|&l| Quantity::Start(l)))
                    .chain(f.losses.iter().map(|&l| Quantity::VsStart(l)));
                for quantity in qs {
                    // per-fit quantities repeat on every loss row of a fit: take the first loss's
                    let loss = quantity.loss().unwrap_or(f.losses[0]);
                    let mut by_n: BTreeMap<u64, Vec<&'a FitRow>> = BTreeMap::new();
                    for r in fits.iter().filter(|r| r.setting == s.name && r.gate_fit == f.gate && &r.estimator == e && r.loss_name == loss)
                    {
                        by_n.entry(r.n).or_default().push(r);
                    }
                    out.push(Group { setting: &s.name, gate: f.gate, estimator: e, quantity, by_n });
                }
            }
        }
    }
    out
}

/// Whether a fit's value enters summaries and rates: not diverged, finite and positive.
fn usable(r: &FitRow, v: f64) -> bool {
    r.termination != Termination::Diverged && v.is_finite() && v > 0.0
}

/// Whether a quantity reads the fit's Voronoi cells (a loss, or a per-atom error by cell): such a
/// quantity is left out for a degenerate fit, one that leaves a cell of its target empty.
/// A loss against the fit's own start reads the start's cells, not the target's: the target's
/// degeneracy does not apply to it.
pub fn uses_cells(q: Quantity) -> bool {
    !matches!(
        q,
        Quantity::L2Error
            | Quantity::L2ToTruth
            | Quantity::ExpertErrMatched
            | Quantity::ContributionErr
            | Quantity::Displacement
            | Quantity::VsStart(_)
    )
}

/// A fit that leaves a Voronoi cell of its target empty (e.g. every atom in one cell).
pub fn degenerate(r: &FitRow) -> bool {
    r.empty_cells > 0
}

/// The cells of a group with the counts of what was left out.
#[derive(Clone, Debug)]
pub struct Cells {
    pub cells: Vec<Cell>,
    /// Diverged fits and values that are not finite and positive.
    pub excluded: usize,
    /// Degenerate fits left out of a quantity that reads the Voronoi cells.
    pub degenerate: usize,
}

impl Group<'_> {
    /// The usable values of the group's quantity in each n cell: diverged fits, values that are
    /// not finite and positive, and (for quantities that read the cells) degenerate fits are left
    /// out, and counted.
    pub fn cells(&self) -> Cells {
        let (mut excluded, mut degenerate_fits) = (0, 0);
        let cells = self
            .by_n
            .iter()
            .map(|(&n, rows)| {
                let mut losses = Vec::with_capacity(rows.len());
                for r in rows {
                    if uses_cells(self.quantity) && degenerate(r) {
                        degenerate_fits += 1;
                    } else if let Some(v) = self.quantity.value(r).filter(|&v| usable(r, v)) {
                        losses.push(v);
                    } else {
                        excluded += 1;
                    }
                }
                Cell { n: n as f64, losses }
            })
            .collect();
        Cells { cells, excluded, degenerate: degenerate_fits }
    }

    /// The values of every fit in each n cell in replication order (NaN where unusable), for
    /// comparisons paired by replication.
    pub fn paired_values(&self) -> Vec<(u64, Vec<(u32, f64)>)> {
        self.by_n
            .iter()
            .map(|(&n, rows)| {
                let mut v: Vec<(u32, f64)> = rows
                    .iter()
                    .map(|r| {
                        let ok = !(uses_cells(self.quantity) && degenerate(r));
                        (r.rep, self.quantity.value(r).filter(|&x| ok && usable(r, x)).unwrap_or(f64::NAN))
                    })
                    .collect();
                v.sort_by_key(|p| p.0);
                (n, v)
            })
            .collect()
    }
}
