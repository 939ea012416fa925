//! Cell-level summaries: mean, sd and Monte Carlo error per (setting, fit, estimator, quantity, n).

use super::grouped;
use crate::rows::SummaryRow;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{not_converged, FitRow};
use smoe_metrics::summarise;

/// The summary table of an experiment's fits.
pub fn summary(exp: &Experiment, fits: &[FitRow]) -> Vec<SummaryRow> {
    let mut out = Vec::new();
    for g in grouped(exp, fits) {
        let cells = g.cells().cells;
        for ((&n, rows), cell) in g.by_n.iter().zip(cells) {
            let vals = cell.losses;
            let s = summarise(&vals);
            let all: Vec<f64> = rows.iter().filter_map(|r| g.quantity.value(r).filter(|&v| super::usable(r, v))).collect();
            let mean_all = if all.is_empty() { f64::NAN } else { all.iter().sum::<f64>() / all.len() as f64 };
            let degenerate = if super::uses_cells(g.quantity) { rows.iter().filter(|r| super::degenerate(r)).count() } else { 0 };
            out.push(SummaryRow {
                experiment: exp.id().into(),
                setting: g.setting.into(),
                gate_fit: g.gate,
                estimator: g.estimator.into(),
                quantity: g.quantity,
                n,
                mean: s.mean,
                sd: s.sd,
                mcse: s.mcse,
                reps: vals.len(),
                excluded: rows.len() - vals.len() - degenerate,
                degenerate,
                not_converged: rows.iter().filter(|r| not_converged(r.termination)).count(),
                at_walls: rows.iter().filter(|r| r.active_walls() > 0).count(),
                empty_cells: rows.iter().filter(|r| r.empty_cells > 0).count(),
                mean_all,
            });
        }
    }
    out
}
