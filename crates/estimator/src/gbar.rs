//! The Regime-2 target G_bar: the k-atom mixture closest to f* in L2(mu), approximated by the
//! converged least-squares fit to a large noiseless reference sample.

use crate::{Bounds, Estimator, Fit};
use rand::Rng;
use smoe_model::{draw_inputs, Mixture, Sample};

/// A noiseless reference sample: X ~ U([-1,1]^d), Y = f*(X). Without noise the least-squares fit
/// targets the L2(mu) projection directly; the noise would only add variance.
pub fn reference_sample<R: Rng + ?Sized>(truth: &Mixture, n_ref: usize, rng: &mut R) -> Sample {
    let x = draw_inputs(n_ref, truth.d(), rng);
    let y = truth.predict(&x);
    Sample { d: truth.d(), x, y }
}

/// G_bar from `start` (the noise-free initialisation of the fit's structure) on `n_ref` points.
/// `optimizer` should be a converged least-squares fit (L-BFGS or Levenberg-Marquardt); SGD,
/// which uses a random stream of its own, is given a fixed one.
pub fn population_fit<R: Rng + ?Sized>(
    truth: &Mixture,
    start: &Mixture,
    n_ref: usize,
    optimizer: &Estimator,
    bounds: &Bounds,
    rng: &mut R,
) -> Fit {
    let sample = reference_sample(truth, n_ref, rng);
    fit_in_halves(optimizer, start, &sample, bounds).1
}

/// A least-squares fit run in two halves of its iteration budget, the second restarted from the
/// end of the first: returns (midpoint, end). How far the end moved from the midpoint shows
/// whether the fit has settled (an unsettled G_bar is an uncertain target).
pub fn fit_in_halves(optimizer: &Estimator, start: &Mixture, sample: &Sample, bounds: &Bounds) -> (Fit, Fit) {
    let budget = optimizer.max_iters().unwrap_or(1);
    let mut rng = smoe_model::seed::stream(0, &[("purpose", "gbar_sgd")]);
    let mid = optimizer.with_max_iters(budget / 2).fit(start, sample, bounds, &mut rng);
    let mut end = optimizer.with_max_iters(budget - budget / 2).fit(&mid.mixture, sample, bounds, &mut rng);
    end.report.iterations += mid.report.iterations;
    end.report.evaluations += mid.report.evaluations;
    (mid, end)
}
