//! The Regime-2 target G_bar: the k-atom mixture closest to f* in L2(mu), approximated by the
//! converged least-squares fit to a large noiseless reference sample.

use crate::{fit_lbfgs, Fit, LbfgsParams};
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
pub fn population_fit<R: Rng + ?Sized>(truth: &Mixture, start: &Mixture, n_ref: usize, lbfgs: &LbfgsParams, rng: &mut R) -> Fit {
    let sample = reference_sample(truth, n_ref, rng);
    fit_lbfgs(lbfgs, start, &sample)
}
