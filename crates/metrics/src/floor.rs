//! A statistical floor for a loss: what an unbiased estimator could at best reach at sample size n.
//!
//! With Gaussian noise of variance nu, the Fisher information of one observation at parameters
//! theta is I = E[grad f grad f^T] / nu, and the Cramér-Rao bound says an unbiased estimator from n
//! observations has covariance at least I^-1 / n. The floor draws theta ~ N(theta_target,
//! nu I^+ / n) (the pseudo-inverse where a direction is not identified: those directions get no
//! variance, so the floor is a lower bound on what is identified) and pushes the draws through the
//! loss by Monte Carlo. A reported mean loss below the floor cannot be the error of an estimator
//! of the target: it must be, for instance, an optimiser that never left a start near the target.

use crate::{voronoi_loss, LossKind};
use linfa_linalg::eigh::Eigh;
use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use smoe_model::{kernel, Mixture, Workspace};

/// The eigen-decomposition of the per-observation information E[grad f grad f^T] at a target.
#[derive(Clone, Debug)]
pub struct FisherFloor {
    target: Mixture,
    /// Identified directions: (eigenvalue, unit eigenvector) with eigenvalue above the cut.
    directions: Vec<(f64, Vec<f64>)>,
    /// Directions below `rel_cut` times the largest eigenvalue: not identified at first order.
    pub null_dims: usize,
    /// Share of the null space on each parameter group (gate intercepts, gate slopes, expert
    /// slopes, expert intercepts): sum over null eigenvectors of their squared entries per group,
    /// divided by the number of null directions.
    pub null_groups: [f64; 4],
}

impl FisherFloor {
    /// From the Gauss-Newton matrix at `target` on the inputs `x` (n x d, drawn from mu). An
    /// eigenvalue below `rel_cut` times the largest is treated as zero.
    pub fn new(target: &Mixture, x: &[f64], rel_cut: f64) -> FisherFloor {
        let spec = target.spec;
        let p = spec.n_params();
        let mut h = vec![0.0; p * p];
        kernel::gauss_newton(&spec, &target.theta, x, &mut h, &mut Workspace::default());
        // (2/m) J^T J = 2 E[grad f grad f^T]
        let info = Array2::from_shape_vec((p, p), h.iter().map(|v| v / 2.0).collect()).expect("p x p");
        let (values, vectors) = info.eigh().expect("a symmetric matrix has an eigen-decomposition");
        let largest = values.iter().cloned().fold(0.0f64, f64::max);
        let mut directions = Vec::new();
        let mut null_groups = [0.0; 4];
        let mut null_dims = 0;
        for (c, &lambda) in values.iter().enumerate() {
            let v: Vec<f64> = vectors.column(c).to_vec();
            if lambda > rel_cut * largest {
                directions.push((lambda, v));
            } else {
                null_dims += 1;
                for (i, x) in v.iter().enumerate() {
                    null_groups[group(&spec, i)] += x * x;
                }
            }
        }
        if null_dims > 0 {
            null_groups.iter_mut().for_each(|g| *g /= null_dims as f64);
        }
        FisherFloor { target: target.clone(), directions, null_dims, null_groups }
    }

    /// One draw theta ~ N(theta_target, noise_var I^+ / n).
    pub fn draw<R: Rng + ?Sized>(&self, noise_var: f64, n: f64, rng: &mut R) -> Mixture {
        let mut m = self.target.clone();
        let scale = (noise_var / n).sqrt();
        for (lambda, v) in &self.directions {
            let z: f64 = StandardNormal.sample(rng);
            let c = scale * z / lambda.sqrt();
            m.theta.iter_mut().zip(v).for_each(|(t, vi)| *t += c * vi);
        }
        m
    }

    /// Mean and standard deviation of `kind` against `reference` over `draws` draws at sample size n.
    pub fn expected_loss<R: Rng + ?Sized>(
        &self,
        kind: LossKind,
        reference: &Mixture,
        noise_var: f64,
        n: f64,
        draws: usize,
        rng: &mut R,
    ) -> (f64, f64) {
        let losses: Vec<f64> = (0..draws).map(|_| voronoi_loss(kind, &self.draw(noise_var, n, rng), reference).total).collect();
        let s = crate::summarise(&losses);
        (s.mean, s.sd)
    }

    pub fn identified_dims(&self) -> usize {
        self.directions.len()
    }
}

/// 0 gate intercept, 1 gate slope, 2 expert slope, 3 expert intercept.
fn group(spec: &smoe_model::Spec, i: usize) -> usize {
    let (k, d) = (spec.k, spec.d);
    if i < k * d {
        1
    } else if i < 2 * k * d {
        2
    } else if i < 2 * k * d + k {
        0
    } else {
        3
    }
}
