//! Cell-level summaries: mean, sd and Monte Carlo error per (setting, fit, estimator, quantity, n).

use super::grouped;
use crate::error::Result;
use crate::store;
use serde::Serialize;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{not_converged, sci6, FitRow, Quantity};
use smoe_metrics::summarise;
use smoe_model::Gate;
use std::path::Path;

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
    /// Fits that stopped without meeting their convergence test (L-BFGS max_iters / line search).
    pub not_converged: usize,
    #[serde(rename = "fits_with_empty_cells")]
    pub empty_cells: usize,
}

/// The summary table of an experiment's fits.
pub fn summary(exp: &Experiment, fits: &[FitRow]) -> Vec<SummaryRow> {
    let mut out = Vec::new();
    for g in grouped(exp, fits) {
        let (cells, _) = g.cells();
        for ((&n, rows), cell) in g.by_n.iter().zip(cells) {
            let vals = cell.losses;
            let s = summarise(&vals);
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
                excluded: rows.len() - vals.len(),
                not_converged: rows.iter().filter(|r| not_converged(r.termination)).count(),
                empty_cells: rows.iter().filter(|r| r.empty_cells > 0).count(),
            });
        }
    }
    out
}

impl SummaryRow {
    /// The columns of summary.csv.
    pub const HEADER: [&'static str; 13] = [
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
        "not_converged",
        "fits_with_empty_cells",
    ];
}

/// Write summary.csv, atomically.
pub fn write_summary_csv(path: &Path, rows: &[SummaryRow]) -> Result<()> {
    store::write_csv(path, &SummaryRow::HEADER, rows)
}
