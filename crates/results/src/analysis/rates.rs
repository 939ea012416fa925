//! Fitted rates loss ~ C n^slope of every (setting, fit, estimator, quantity), by method and
//! n range.

use super::grouped;
use crate::rows::{NRange, RateRow};
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::FitRow;
use smoe_metrics::{compare_power_vs_log_rate, consistent, fit_rate, RateMethod};
use smoe_model::seed;

/// The method's name in the bootstrap stream's identity (part of the seed derivation: changing
/// it changes the bootstrap draws). The upper-half fit keeps the name it had when the n range
/// was folded into the method, "log_mean_upper_half".
pub fn bootstrap_label(method: RateMethod, n_range: NRange) -> String {
    match n_range {
        NRange::Full => method.name().into(),
        NRange::UpperHalf => format!("{}_upper_half", method.name()),
    }
}

/// A cell (one n) enters a rate fit only when at least this share of its fits is usable (not
/// degenerate for a quantity that reads the Voronoi cells, not diverged, finite and positive):
/// otherwise its mean is the mean of a selected minority (the fits that happened to keep every
/// cell of the target), not of the estimator, and a slope through such means measures the
/// selection.
pub const MIN_USABLE_SHARE: f64 = 0.5;

/// Fewest cells (values of n) a rate is fitted on: two (a line), and at least half of the n
/// values of its range (the full grid or its upper half) must be well populated.
pub const MIN_N_VALUES: usize = 2;

/// How many well-populated cells a rate over a range of `range` values of n needs.
pub fn min_cells(range: usize) -> usize {
    MIN_N_VALUES.max(range.div_ceil(2))
}

/// Fit rates for every (setting, fit, estimator, quantity): log of the mean (the paper's way)
/// and every replication over the full n grid, and log of the mean on its upper half; each on
/// the cells where at least [`MIN_USABLE_SHARE`] of the fits are usable, and only when
/// [`min_cells`] such cells remain (otherwise no rate row: the tables say why).
pub fn rates(exp: &Experiment, fits: &[FitRow]) -> Vec<RateRow> {
    let mut out = Vec::new();
    for g in grouped(exp, fits) {
        let c = g.cells();
        let (excluded, degenerate) = (c.excluded as u32, c.degenerate as u32);
        let kept: Vec<bool> = g.by_n.values().zip(&c.cells).map(|(rows, cell)| well_populated(cell.losses.len(), rows.len())).collect();
        let half = c.cells.len() / 2;
        let pick = |from: usize| -> Vec<_> { c.cells.iter().zip(&kept).skip(from).filter(|(_, &k)| k).map(|(c, _)| c.clone()).collect() };
        let (cells, upper) = (pick(0), pick(half));
        let (need_full, need_upper) = (min_cells(c.cells.len()), min_cells(c.cells.len() - half));
        let s = exp.settings.iter().find(|s| s.name == g.setting).expect("setting of the config");
        let fcfg = s.fits.iter().find(|f| f.gate == g.gate).expect("fit of the config");
        let theory = fcfg.theory.iter().find(|t| t.quantity == g.quantity);
        let q = g.quantity.to_string();
        for (method, n_range, cells, need) in [
            (RateMethod::LogMean, NRange::Full, &cells, need_full),
            (RateMethod::AllReps, NRange::Full, &cells, need_full),
            (RateMethod::LogMean, NRange::UpperHalf, &upper, need_upper),
        ] {
            let mut rng = seed::stream(
                exp.config.seed,
                &[
                    ("experiment", exp.id()),
                    ("setting", g.setting),
                    ("fit", g.gate.name()),
                    ("estimator", g.estimator),
                    ("quantity", &q),
                    ("method", &bootstrap_label(method, n_range)),
                    ("purpose", "bootstrap"),
                ],
            );
            if cells.len() < need {
                continue;
            }
            let Some(fit) = fit_rate(cells, method, exp.config.rates.n_boot, &mut rng) else { continue };
            let cmp = compare_power_vs_log_rate(cells, method);
            let (th, label, verdict) = match theory.and_then(|t| t.exponent.map(|x| (x, t.source.clone()))) {
                Some((x, src)) => (x, src, if consistent(&fit, x) { "consistent" } else { "not consistent" }),
                None => (f64::NAN, theory.map(|t| t.source.clone()).unwrap_or_default(), "no power-law prediction"),
            };
            out.push(RateRow {
                experiment: exp.id().into(),
                setting: g.setting.into(),
                gate_fit: g.gate,
                expert: s.recipe.params().expert,
                estimator: g.estimator.into(),
                loss_name: g.quantity,
                method,
                n_range,
                slope: fit.slope,
                se: fit.se,
                boot_se: fit.boot_se,
                ci_low: fit.ci_low,
                ci_high: fit.ci_high,
                intercept: fit.intercept,
                n_min: fit.n_min,
                n_max: fit.n_max,
                n_values: fit.n_values as u32,
                reps: fit.reps as u32,
                excluded,
                degenerate,
                theory: th,
                theory_label: label,
                verdict: verdict.into(),
                log_rate_q: cmp.map_or(f64::NAN, |c| c.log_rate_q),
                delta_aic: cmp.map_or(f64::NAN, |c| c.delta_aic),
            });
        }
    }
    out
}

/// Whether a cell with `usable` of its `fits` usable enters a rate fit ([`MIN_USABLE_SHARE`]).
pub fn well_populated(usable: usize, fits: usize) -> bool {
    fits > 0 && usable as f64 >= MIN_USABLE_SHARE * fits as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_needs_half_its_fits_usable() {
        assert!(well_populated(10, 20));
        assert!(well_populated(20, 20));
        assert!(!well_populated(9, 20));
        assert!(!well_populated(1, 20));
        assert!(!well_populated(0, 0));
    }

    #[test]
    fn a_rate_needs_half_its_range_well_populated_and_two_cells() {
        assert_eq!(min_cells(10), 5);
        assert_eq!(min_cells(5), 3);
        assert_eq!(min_cells(3), 2);
        assert_eq!(min_cells(2), 2);
        assert_eq!(min_cells(1), 2);
    }
}
