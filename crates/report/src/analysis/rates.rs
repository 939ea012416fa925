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

/// Fit rates for every (setting, fit, estimator, quantity): log of the mean (the paper's way)
/// and every replication over the full n grid, and log of the mean on its upper half.
pub fn rates(exp: &Experiment, fits: &[FitRow]) -> Vec<RateRow> {
    let mut out = Vec::new();
    for g in grouped(exp, fits) {
        let c = g.cells();
        let (cells, excluded, degenerate) = (c.cells, c.excluded as u32, c.degenerate as u32);
        let s = exp.settings.iter().find(|s| s.name == g.setting).expect("setting of the config");
        let fcfg = s.fits.iter().find(|f| f.gate == g.gate).expect("fit of the config");
        let theory = fcfg.theory.iter().find(|t| t.quantity == g.quantity);
        let upper = cells[cells.len() / 2..].to_vec();
        let q = g.quantity.to_string();
        for (method, n_range, cells) in [
            (RateMethod::LogMean, NRange::Full, &cells),
            (RateMethod::AllReps, NRange::Full, &cells),
            (RateMethod::LogMean, NRange::UpperHalf, &upper),
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
