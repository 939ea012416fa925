//! Convergence-rate regressions: slope of log(loss) on log(n), OLS via linfa-linear, with a
//! bootstrap over replications.

use linfa::prelude::*;
use linfa::Dataset;
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// Losses of all replications at one sample size.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub n: f64,
    pub losses: Vec<f64>,
}

/// Mean, standard deviation and Monte Carlo standard error (sd / sqrt(R)) of a cell.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    pub mean: f64,
    pub sd: f64,
    pub mcse: f64,
    pub reps: usize,
}

pub fn summarise(losses: &[f64]) -> CellSummary {
    let r = losses.len();
    let mean = losses.iter().sum::<f64>() / r as f64;
    let var = if r > 1 { losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (r - 1) as f64 } else { f64::NAN };
    CellSummary { mean, sd: var.sqrt(), mcse: (var / r as f64).sqrt(), reps: r }
}

/// How the rate is regressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateMethod {
    /// The paper's way: log of the mean loss over replications against log n.
    LogMean,
    /// Every replication's log loss against log n.
    AllReps,
}

impl RateMethod {
    pub fn name(self) -> &'static str {
        match self {
            RateMethod::LogMean => "log_mean",
            RateMethod::AllReps => "all_reps",
        }
    }
}

/// A fitted rate loss ~ C n^slope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateFit {
    pub method: RateMethod,
    pub slope: f64,
    pub intercept: f64,
    /// OLS standard error of the slope (residual-based).
    pub se: f64,
    /// Bootstrap (over replications within each n) standard error of the slope.
    pub boot_se: f64,
    /// Bootstrap 95% percentile interval of the slope.
    pub ci_low: f64,
    pub ci_high: f64,
    pub n_min: f64,
    pub n_max: f64,
    pub n_values: usize,
    /// Smallest number of replications in any cell.
    pub reps: usize,
}

/// OLS of y on x with linfa-linear: (intercept, slope, slope standard error).
pub fn ols(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let m = x.len();
    let records = Array2::from_shape_vec((m, 1), x.to_vec()).expect("column vector");
    let targets = Array1::from(y.to_vec());
    let model = LinearRegression::new().fit(&Dataset::new(records, targets)).expect("OLS on distinct x values");
    let slope = model.params()[0];
    let intercept = model.intercept();
    let xbar = x.iter().sum::<f64>() / m as f64;
    let sxx: f64 = x.iter().map(|v| (v - xbar).powi(2)).sum();
    let rss: f64 = x.iter().zip(y).map(|(u, v)| (v - intercept - slope * u).powi(2)).sum();
    let se = if m > 2 { (rss / (m - 2) as f64 / sxx).sqrt() } else { f64::NAN };
    (intercept, slope, se)
}

fn points(cells: &[Cell], method: RateMethod) -> (Vec<f64>, Vec<f64>) {
    match method {
        RateMethod::LogMean => cells.iter().map(|c| (c.n.ln(), summarise(&c.losses).mean.ln())).unzip(),
        RateMethod::AllReps => cells.iter().flat_map(|c| c.losses.iter().map(move |l| (c.n.ln(), l.ln()))).unzip(),
    }
}

/// Fit log(loss) = intercept + slope log(n). Cells need at least one positive, finite loss;
/// non-positive or non-finite losses must be filtered out by the caller (and counted there).
/// The bootstrap resamples replications with replacement within each n, `n_boot` times.
pub fn fit_rate<R: Rng + ?Sized>(cells: &[Cell], method: RateMethod, n_boot: usize, rng: &mut R) -> Option<RateFit> {
    let cells: Vec<&Cell> = cells.iter().filter(|c| !c.losses.is_empty()).collect();
    if cells.len() < 2 {
        return None;
    }
    let owned: Vec<Cell> = cells.iter().map(|c| (*c).clone()).collect();
    let (x, y) = points(&owned, method);
    let (intercept, slope, se) = ols(&x, &y);
    let mut boot: Vec<f64> = (0..n_boot)
        .map(|_| {
            let resampled: Vec<Cell> = owned
                .iter()
                .map(|c| Cell { n: c.n, losses: (0..c.losses.len()).map(|_| c.losses[rng.random_range(0..c.losses.len())]).collect() })
                .collect();
            let (bx, by) = points(&resampled, method);
            ols(&bx, &by).1
        })
        .collect();
    boot.sort_by(f64::total_cmp);
    let (ci_low, ci_high, boot_se) = if boot.is_empty() {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        let q = |p: f64| boot[((p * (boot.len() - 1) as f64).round() as usize).min(boot.len() - 1)];
        let mb = boot.iter().sum::<f64>() / boot.len() as f64;
        let sd = (boot.iter().map(|b| (b - mb).powi(2)).sum::<f64>() / (boot.len().max(2) - 1) as f64).sqrt();
        (q(0.025), q(0.975), sd)
    };
    Some(RateFit {
        method,
        slope,
        intercept,
        se,
        boot_se,
        ci_low,
        ci_high,
        n_min: owned.iter().map(|c| c.n).fold(f64::INFINITY, f64::min),
        n_max: owned.iter().map(|c| c.n).fold(0.0, f64::max),
        n_values: owned.len(),
        reps: owned.iter().map(|c| c.losses.len()).min().unwrap_or(0),
    })
}

/// Whether a theoretical exponent lies in the bootstrap 95% interval of the slope.
pub fn consistent(fit: &RateFit, theory: f64) -> bool {
    fit.ci_low <= theory && theory <= fit.ci_high
}

/// Power law against a logarithmic rate, fitted to the same points on the log scale:
/// log L = a + b log n (power law) and log L = a' - q log log n (L ~ (log n)^-q; q = 1 is 1/log n).
/// Both have two parameters, so AIC differs only through the residual sums of squares.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelComparison {
    /// q of L ~ C (log n)^-q.
    pub log_rate_q: f64,
    pub rss_power: f64,
    pub rss_log_rate: f64,
    /// AIC(log rate) - AIC(power law) = m ln(RSS_log / RSS_power): positive favours the power law.
    /// |delta| > 2 is the usual threshold for a real preference.
    pub delta_aic: f64,
}

pub fn compare_power_vs_log_rate(cells: &[Cell], method: RateMethod) -> Option<ModelComparison> {
    let cells: Vec<Cell> = cells.iter().filter(|c| !c.losses.is_empty()).cloned().collect();
    if cells.len() < 3 {
        return None;
    }
    let (x, y) = points(&cells, method);
    let rss = |x: &[f64]| {
        let (a, b, _) = ols(x, &y);
        x.iter().zip(&y).map(|(u, v)| (v - a - b * u).powi(2)).sum::<f64>()
    };
    let loglog: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let (_, q_slope, _) = ols(&loglog, &y);
    let (rp, rl) = (rss(&x), rss(&loglog));
    Some(ModelComparison { log_rate_q: -q_slope, rss_power: rp, rss_log_rate: rl, delta_aic: y.len() as f64 * (rl / rp).ln() })
}

/// The sample size at which the fitted curve L = C n^slope reaches `eps`, with a bootstrap 95%
/// interval (replications resampled within each n, the rate refitted, n(eps) recomputed).
/// `extrapolated` is true when the point estimate lies outside the n range that was run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleSize {
    pub eps: f64,
    pub n: f64,
    pub lo: f64,
    pub hi: f64,
    pub extrapolated: bool,
}

pub fn sample_size_for<R: Rng + ?Sized>(cells: &[Cell], eps: &[f64], n_boot: usize, rng: &mut R) -> Vec<SampleSize> {
    let cells: Vec<Cell> = cells.iter().filter(|c| !c.losses.is_empty()).cloned().collect();
    if cells.len() < 2 {
        return Vec::new();
    }
    let n_at = |a: f64, b: f64, e: f64| if b < 0.0 { ((e.ln() - a) / b).exp() } else { f64::INFINITY };
    let (x, y) = points(&cells, RateMethod::LogMean);
    let (a, b, _) = ols(&x, &y);
    let boots: Vec<(f64, f64)> = (0..n_boot)
        .map(|_| {
            let resampled: Vec<Cell> = cells
                .iter()
                .map(|c| Cell { n: c.n, losses: (0..c.losses.len()).map(|_| c.losses[rng.random_range(0..c.losses.len())]).collect() })
                .collect();
            let (bx, by) = points(&resampled, RateMethod::LogMean);
            let (ba, bb, _) = ols(&bx, &by);
            (ba, bb)
        })
        .collect();
    let (n_min, n_max) = (cells.iter().map(|c| c.n).fold(f64::INFINITY, f64::min), cells.iter().map(|c| c.n).fold(0.0, f64::max));
    eps.iter()
        .map(|&e| {
            let mut ns: Vec<f64> = boots.iter().map(|&(ba, bb)| n_at(ba, bb, e)).collect();
            ns.sort_by(f64::total_cmp);
            let q = |p: f64| if ns.is_empty() { f64::NAN } else { ns[((p * (ns.len() - 1) as f64).round() as usize).min(ns.len() - 1)] };
            let n = n_at(a, b, e);
            SampleSize { eps: e, n, lo: q(0.025), hi: q(0.975), extrapolated: !(n_min..=n_max).contains(&n) }
        })
        .collect()
}
