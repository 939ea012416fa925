//! Fitted rates loss ~ C n^slope of every (setting, fit, estimator, quantity), by method and
//! n range, and the one way to look a rate up ([`find_rate`] with a [`RateKey`]).

use super::grouped;
use serde::{Deserialize, Serialize};
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{FitRow, Label, Quantity};
use smoe_metrics::{compare_power_vs_log_rate, consistent, fit_rate, RateMethod};
use smoe_model::{seed, Expert, Gate};

/// Which sample sizes a rate is fitted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NRange {
    /// The whole n grid (the paper's way).
    Full,
    /// The largest half of the n grid: closer to the asymptotic regime the theorems describe
    /// (at n = 10^3 a 9-atom fit in d = 32 has 594 parameters for 1000 points).
    UpperHalf,
}

impl Label for NRange {
    fn label(&self) -> String {
        match self {
            NRange::Full => "full",
            NRange::UpperHalf => "upper_half",
        }
        .into()
    }
    fn from_label(s: &str) -> Option<Self> {
        [NRange::Full, NRange::UpperHalf].into_iter().find(|r| r.label() == s)
    }
}

/// The method's name in the bootstrap stream's identity (part of the seed derivation: changing
/// it changes the bootstrap draws). The upper-half fit keeps the name it had when the n range
/// was folded into the method, "log_mean_upper_half".
pub fn bootstrap_label(method: RateMethod, n_range: NRange) -> String {
    match n_range {
        NRange::Full => method.name().into(),
        NRange::UpperHalf => format!("{}_upper_half", method.name()),
    }
}

/// One fitted rate: loss ~ C n^slope.
#[derive(Clone, Debug, PartialEq)]
pub struct RateRow {
    pub experiment: String,
    pub setting: String,
    pub gate_fit: Gate,
    pub expert: Expert,
    pub estimator: String,
    /// The quantity whose rate this is (column name kept from when only losses had rates).
    pub loss_name: Quantity,
    /// Log of the mean (the paper's) or every replication.
    pub method: RateMethod,
    pub n_range: NRange,
    pub slope: f64,
    pub se: f64,
    pub boot_se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub intercept: f64,
    pub n_min: f64,
    pub n_max: f64,
    pub n_values: u32,
    pub reps: u32,
    /// Fits left out of the regression because their loss was not finite and positive, or they diverged.
    pub excluded: u32,
    /// The exponent the theory predicts for this loss (NaN where the theory gives no power law).
    pub theory: f64,
    pub theory_label: String,
    /// "consistent", "not consistent" (at 95%), or "no power-law prediction".
    pub verdict: String,
    /// q of the logarithmic-rate model L ~ C (log n)^-q fitted to the same points.
    pub log_rate_q: f64,
    /// AIC(log rate) - AIC(power law): positive favours the power law; |delta| > 2 is a preference.
    pub delta_aic: f64,
}

/// What identifies a rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateKey<'a> {
    pub experiment: &'a str,
    pub setting: &'a str,
    pub gate: Gate,
    pub estimator: &'a str,
    pub quantity: Quantity,
    pub method: RateMethod,
    pub n_range: NRange,
}

impl<'a> RateKey<'a> {
    /// The paper's rate (log of the mean over the full n range) of a quantity.
    pub fn paper(experiment: &'a str, setting: &'a str, gate: Gate, estimator: &'a str, quantity: Quantity) -> Self {
        RateKey { experiment, setting, gate, estimator, quantity, method: RateMethod::LogMean, n_range: NRange::Full }
    }

    /// The same rate by another method or over another n range.
    pub fn with(self, method: RateMethod, n_range: NRange) -> Self {
        RateKey { method, n_range, ..self }
    }
}

impl RateRow {
    pub fn key(&self) -> RateKey<'_> {
        RateKey {
            experiment: &self.experiment,
            setting: &self.setting,
            gate: self.gate_fit,
            estimator: &self.estimator,
            quantity: self.loss_name,
            method: self.method,
            n_range: self.n_range,
        }
    }
}

/// The rate with this key, if it was fitted.
pub fn find_rate<'a>(rates: &'a [RateRow], key: &RateKey<'_>) -> Option<&'a RateRow> {
    rates.iter().find(|r| r.key() == *key)
}

/// Fit rates for every (setting, fit, estimator, quantity): log of the mean (the paper's way)
/// and every replication over the full n grid, and log of the mean on its upper half.
pub fn rates(exp: &Experiment, fits: &[FitRow]) -> Vec<RateRow> {
    let mut out = Vec::new();
    for g in grouped(exp, fits) {
        let (cells, excluded) = g.cells();
        let excluded = excluded as u32;
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
