//! From fits to numbers, without IO: cell summaries and fitted rates of every (setting, fit,
//! estimator, quantity), and beyond the paper's figures the claims table, the sample-size
//! comparison and the sensitivity of slopes to the initialisation and the optimiser.

mod claims;
mod rates;
mod sample_size;
mod sensitivity;
mod summary;

pub use claims::{claims_markdown, verdict, AIC_THRESHOLD, CLAIM_RULE, MAX_HALF_WIDTH};
pub use rates::{bootstrap_label, rates};
pub use sample_size::sample_complexity_markdown;
pub use sensitivity::sensitivity_markdown;
pub use summary::summary;

use smoe_estimator::Termination;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{FitRow, Quantity};
use smoe_metrics::Cell;
use smoe_model::Gate;
use std::collections::BTreeMap;

use crate::rows::{RateRow, SummaryRow};

/// An experiment's results as the tables and figures read them: its fits, their summary and
/// its fitted rates.
#[derive(Clone, Debug)]
pub struct Results {
    pub fits: Vec<FitRow>,
    pub sum: Vec<SummaryRow>,
    pub rates: Vec<RateRow>,
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
/// losses, then [`Quantity::FIT`], then each loss at the start), then by n.
pub fn grouped<'a>(exp: &'a Experiment, fits: &'a [FitRow]) -> Vec<Group<'a>> {
    let mut out = Vec::new();
    for s in &exp.settings {
        for f in &s.fits {
            for (e, _) in &exp.estimators {
                let qs =
                    f.losses.iter().map(|&l| Quantity::Loss(l)).chain(Quantity::FIT).chain(f.losses.iter().map(|&l| Quantity::Start(l)));
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

impl Group<'_> {
    /// The usable values of the group's quantity in each n cell (diverged fits and values that
    /// are not finite and positive are left out), and how many fits were left out in all.
    pub fn cells(&self) -> (Vec<Cell>, usize) {
        let mut excluded = 0;
        let cells = self
            .by_n
            .iter()
            .map(|(&n, rows)| {
                let losses: Vec<f64> = rows.iter().filter_map(|r| self.quantity.value(r).filter(|&v| usable(r, v))).collect();
                excluded += rows.len() - losses.len();
                Cell { n: n as f64, losses }
            })
            .collect();
        (cells, excluded)
    }
}
