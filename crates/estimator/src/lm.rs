//! Levenberg-Marquardt for the least-squares fit over a box (the compact Theta of the theorems).
//!
//! Each iteration takes the gradient of the mean squared error on the whole sample and the
//! Gauss-Newton matrix (2/m) J^T J on its first `hessian_n` rows (all rows if 0; the rows are iid,
//! so the first m are a random subsample). Entries held at a bound by the gradient stay fixed; on
//! the others it solves (H + lambda diag(H)) delta = -g by Cholesky and projects theta + delta onto
//! the box. A step is kept only if it lowers the full-sample objective; lambda falls after a good
//! step and rises after a poor one (gain ratio of actual to predicted decrease). As lambda grows
//! the step turns into a short projected scaled-gradient step, which lowers the objective unless
//! theta is a first-order point: so the fixed point is a zero of the projected gradient (the KKT
//! conditions of the box), whatever the subsample, which only sets the speed. Where L-BFGS creeps
//! along the flat valleys of an over-specified mixture, these steps see the curvature and cross them.
//!
//! Convergence is a stated test, not a budget: the fit is `Converged` when the projected gradient
//! norm is at most `tol_grad` and the last accepted step lowered the objective by at most
//! `tol_rel_cost` of its value (or no step can lower it any more).

use crate::bounds::{ActiveBounds, Bounds};
use crate::error::{non_negative, positive};
use crate::outcome::{norm, Fit, FitReport, Termination};
use crate::EstimatorError;
use serde::{Deserialize, Serialize};
use smoe_model::{kernel, Mixture, Sample, Spec, Workspace};

/// Unchecked Levenberg-Marquardt settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmParams {
    /// Converged needs the projected gradient norm at most this fraction of the noise's gradient
    /// scale sqrt(2 f tr(H) / n) ...
    pub tol_grad: f64,
    /// ... and the relative decrease of the objective over the last five accepted steps at most this.
    pub tol_rel_cost: f64,
    pub max_iters: u64,
    /// Rows of the sample used for the Gauss-Newton matrix (0: all).
    #[serde(default)]
    pub hessian_n: usize,
}

impl LmParams {
    /// The checks of [`LmParams::check`] (which wraps the parameters in an `Estimator`).
    pub(crate) fn validate(&self) -> Result<(), EstimatorError> {
        if self.max_iters == 0 {
            return Err(EstimatorError::invalid("max_iters", 0, "an integer >= 1"));
        }
        positive("tol_grad", self.tol_grad)?;
        non_negative("tol_rel_cost", self.tol_rel_cost)?;
        Ok(())
    }
}

/// Initial damping, its bounds, and the factors applied after good and poor steps.
const LAMBDA0: f64 = 1e-3;
const LAMBDA_MIN: f64 = 1e-12;
const LAMBDA_MAX: f64 = 1e12;

/// Accepted steps over which the relative decrease of the objective is measured.
const SETTLE_WINDOW: usize = 5;

/// Columns per block of the blocked Cholesky factorisation.
const CHOL_BLOCK: usize = 48;

/// Solve a * x = b for symmetric positive-definite a (p x p, row-major; its lower triangle is
/// overwritten by the Cholesky factor L, its strict upper triangle is neither read nor written).
/// Returns false, leaving b unspecified, if a is not numerically positive definite.
///
/// Right-looking blocked factorisation: each block column is factored in place, then the
/// trailing matrix is updated by matrix products (matrixmultiply's dgemm), which is where
/// almost all of the p^3/3 flops go.
pub fn cholesky_solve(a: &mut [f64], b: &mut [f64]) -> bool {
    cholesky_solve_by(a, b, lower_trailing_update)
}

/// The trailing update of the blocked Cholesky factorisation after block column k0..k1:
/// A[k1.., k1..] -= P P^T with P = L[k1.., k0..k1], on and below the diagonal only (the upper half
/// is never read): one product per block of CHOL_BLOCK rows, over the columns up to that block's
/// end. Each entry is the same sum, in the same order, as in the product over the full square
/// (the test `lower_trailing_update_matches_the_full_square` checks this bit for bit).
fn lower_trailing_update(a: &mut [f64], p: usize, k0: usize, k1: usize) {
    assert_eq!(a.len(), p * p, "a must be p x p");
    for r0 in (k1..p).step_by(CHOL_BLOCK) {
        let r1 = (r0 + CHOL_BLOCK).min(p);
        let base = a.as_mut_ptr();
        // SAFETY: rows r0..r1 and k1..r1 of P are rows of a at columns k0..k1 (row stride p);
        // the updated block is rows r0..r1, columns k1..r1. P and the updated block do not
        // overlap (columns < k1 vs >= k1), and every extent lies inside the p x p matrix.
        unsafe {
            matrixmultiply::dgemm(
                r1 - r0,
                k1 - k0,
                r1 - k1,
                -1.0,
                base.add(r0 * p + k0),
                p as isize,
                1,
                base.add(k1 * p + k0),
                1,
                p as isize,
                1.0,
                base.add(r0 * p + k1),
                p as isize,
                1,
            );
        }
    }
}

fn cholesky_solve_by(a: &mut [f64], b: &mut [f64], trailing_update: fn(&mut [f64], usize, usize, usize)) -> bool {
    let p = b.len();
    assert_eq!(a.len(), p * p, "a must be p x p");
    for k0 in (0..p).step_by(CHOL_BLOCK) {
        let k1 = (k0 + CHOL_BLOCK).min(p);
        // the diagonal block, unblocked (earlier blocks are already subtracted)
        for i in k0..k1 {
            for j in k0..=i {
                let dot: f64 = (k0..j).map(|t| a[i * p + t] * a[j * p + t]).sum();
                let v = a[i * p + j] - dot;
                if j == i {
                    if !(v > 0.0 && v.is_finite()) {
                        return false;
                    }
                    a[i * p + i] = v.sqrt();
                } else {
                    a[i * p + j] = v / a[j * p + j];
                }
            }
        }
        // the panel below it: L[i, k0..k1] for i >= k1
        for i in k1..p {
            for j in k0..k1 {
                let dot: f64 = (k0..j).map(|t| a[i * p + t] * a[j * p + t]).sum();
                a[i * p + j] = (a[i * p + j] - dot) / a[j * p + j];
            }
        }
        trailing_update(a, p, k0, k1);
    }
    // L y = b, then L^T x = y
    for i in 0..p {
        let row = &a[i * p..i * p + i];
        let s: f64 = row.iter().zip(&b[..i]).map(|(l, y)| l * y).sum();
        b[i] = (b[i] - s) / a[i * p + i];
    }
    for i in (0..p).rev() {
        let mut v = b[i];
        for r in i + 1..p {
            v -= a[r * p + i] * b[r];
        }
        b[i] = v / a[i * p + i];
    }
    true
}

/// s^T H s for a p x p row-major H.
fn quadratic_form(h: &[f64], s: &[f64]) -> f64 {
    let p = s.len();
    (0..p).map(|i| s[i] * h[i * p..(i + 1) * p].iter().zip(s).map(|(hv, sv)| hv * sv).sum::<f64>()).sum()
}

/// The least-squares fit by Levenberg-Marquardt from `start`, over the box `bounds` (the start is
/// projected onto it first).
pub(crate) fn fit_lm(p: &LmParams, start: &Mixture, sample: &Sample, bounds: &Bounds) -> Fit {
    let spec = start.spec;
    let np = start.theta.len();
    assert_eq!(bounds.len(), np, "bounds must cover theta");
    let d = sample.d;
    let mut ws = Workspace::default();
    let mut theta = start.theta.clone();
    bounds.project(&mut theta);
    let mut grad = vec![0.0; np];
    let mut f = kernel::loss_grad(&spec, &theta, &sample.x, &sample.y, Some(&mut grad), &mut ws);
    let mut evaluations = 1u64;
    if !f.is_finite() {
        let s = Stop { termination: Termination::Diverged, iterations: 0, evaluations, rel_change: f64::NAN, noise_grad: None };
        return finish(spec, theta, s, sample, bounds, "non-finite objective at the start".into());
    }
    let m = if p.hessian_n == 0 { sample.n() } else { p.hessian_n.min(sample.n()) };
    let xh = &sample.x[..m * d];
    let mut h = vec![0.0; np * np];
    let mut a = Vec::with_capacity(np * np);
    let mut delta = Vec::with_capacity(np);
    let mut step = vec![0.0; np];
    let mut trial = vec![0.0; np];
    let mut trial_grad = vec![0.0; np];
    let mut lambda = LAMBDA0;
    let mut termination = Termination::MaxIters;
    let mut detail = String::new();
    let mut iterations = 0u64;
    // relative decrease of the objective over the last SETTLE_WINDOW accepted steps (infinite
    // until there have been that many)
    let mut rel_change = f64::INFINITY;
    let mut recent = std::collections::VecDeque::with_capacity(SETTLE_WINDOW + 1);
    recent.push_back(f);
    // sqrt(2 tr(H) / n), times sqrt(f) gives the noise's gradient scale; set with each H
    let mut trace_scale = f64::INFINITY;
    let n = sample.n() as f64;
    loop {
        let pg = norm(&bounds.projected_gradient(&theta, &grad));
        if rel_change <= p.tol_rel_cost && pg <= p.tol_grad * trace_scale * f.sqrt() {
            termination = Termination::Converged;
            break;
        }
        if iterations >= p.max_iters {
            break;
        }
        iterations += 1;
        kernel::gauss_newton(&spec, &theta, xh, &mut h, &mut ws);
        let max_diag = (0..np).map(|i| h[i * np + i]).fold(0.0f64, f64::max).max(f64::MIN_POSITIVE);
        trace_scale = (2.0 * (0..np).map(|i| h[i * np + i]).sum::<f64>() / n).sqrt();
        let held = bounds.held(&theta, &grad);
        let free: Vec<usize> = (0..np).filter(|&i| !held[i]).collect();
        let nf = free.len();
        let accepted = loop {
            if lambda > LAMBDA_MAX {
                break false;
            }
            // the damped Gauss-Newton system on the free entries
            a.clear();
            for &i in &free {
                a.extend(free.iter().map(|&j| h[i * np + j]));
            }
            for (r, &i) in free.iter().enumerate() {
                // Marquardt's scaling, plus a floor so that columns without curvature stay solvable
                a[r * nf + r] += lambda * (h[i * np + i] + 1e-12 * max_diag);
            }
            delta.clear();
            delta.extend(free.iter().map(|&i| -grad[i]));
            if !cholesky_solve(&mut a, &mut delta) {
                lambda *= 10.0;
                continue;
            }
            trial.copy_from_slice(&theta);
            for (&i, dl) in free.iter().zip(&delta) {
                trial[i] += dl;
            }
            bounds.project(&mut trial);
            for ((s, t), th) in step.iter_mut().zip(&trial).zip(&theta) {
                *s = t - th;
            }
            // predicted decrease of the quadratic model along the projected step
            let g_dot: f64 = grad.iter().zip(&step).map(|(g, s)| g * s).sum();
            let predicted = -(g_dot + 0.5 * quadratic_form(&h, &step));
            let ft = kernel::loss_grad(&spec, &trial, &sample.x, &sample.y, Some(&mut trial_grad), &mut ws);
            evaluations += 1;
            if ft.is_finite() && ft < f {
                let rho = (f - ft) / predicted.max(f64::MIN_POSITIVE);
                lambda = if rho > 0.75 {
                    (lambda / 3.0).max(LAMBDA_MIN)
                } else if rho < 0.25 {
                    lambda * 2.0
                } else {
                    lambda
                };
                recent.push_back(ft);
                if recent.len() > SETTLE_WINDOW {
                    let oldest = recent.pop_front().expect("non-empty");
                    rel_change = (oldest - ft) / oldest;
                }
                std::mem::swap(&mut theta, &mut trial);
                std::mem::swap(&mut grad, &mut trial_grad);
                f = ft;
                break true;
            }
            lambda *= 4.0;
        };
        if !accepted {
            // no step, however short, lowers the objective: a first-order point to the precision
            // of the arithmetic, or a stall
            rel_change = 0.0;
            let pg = norm(&bounds.projected_gradient(&theta, &grad));
            if pg <= p.tol_grad * trace_scale * f.sqrt() {
                termination = Termination::Converged;
            } else {
                termination = Termination::LineSearchFailed;
                detail = format!("no step lowers the objective (damping above {LAMBDA_MAX:e}); projected gradient {pg:e}");
            }
            break;
        }
    }
    let noise_grad = (trace_scale * f.sqrt()).is_finite().then_some(trace_scale * f.sqrt());
    let s = Stop { termination, iterations, evaluations, rel_change, noise_grad };
    finish(spec, theta, s, sample, bounds, detail)
}

struct Stop {
    termination: Termination,
    iterations: u64,
    evaluations: u64,
    rel_change: f64,
    noise_grad: Option<f64>,
}

fn finish(spec: Spec, theta: Vec<f64>, s: Stop, sample: &Sample, bounds: &Bounds, detail: String) -> Fit {
    let mut g = vec![0.0; theta.len()];
    let objective = kernel::loss_grad(&spec, &theta, &sample.x, &sample.y, Some(&mut g), &mut Workspace::default());
    let termination = if objective.is_finite() { s.termination } else { Termination::Diverged };
    let report = FitReport {
        termination,
        iterations: s.iterations,
        evaluations: s.evaluations,
        objective,
        grad_norm: norm(&g),
        proj_grad_norm: norm(&bounds.projected_gradient(&theta, &g)),
        rel_change: s.rel_change.is_finite().then_some(s.rel_change),
        noise_grad: s.noise_grad,
        active: ActiveBounds::of(&spec, bounds, &theta),
        detail,
    };
    Fit { mixture: Mixture { spec, theta }, report }
}

#[cfg(test)]
mod tests {
    use super::{cholesky_solve, cholesky_solve_by};

    /// A hand-worked system: [[4, 2], [2, 3]] x = [2, 1] has x = [0.5, 0].
    #[test]
    fn cholesky_solves_a_hand_worked_system() {
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 1.0];
        assert!(cholesky_solve(&mut a, &mut b));
        assert!((b[0] - 0.5).abs() < 1e-15 && b[1].abs() < 1e-15, "{b:?}");
    }

    /// Random SPD systems of size 37 (one block) and 150 (several blocks and trailing updates):
    /// the solution satisfies the system; an indefinite one is refused.
    #[test]
    fn cholesky_solves_random_spd_and_refuses_indefinite() {
        for p in [37, 150] {
            check_random_spd(p);
        }
        let mut bad = vec![1.0, 2.0, 2.0, 1.0];
        assert!(!cholesky_solve(&mut bad, &mut [1.0, 1.0]));
    }

    /// The trailing update as one product over the full square (the factorisation's original
    /// form): the reference the lower-triangular blocks must equal.
    fn full_trailing_update(a: &mut [f64], p: usize, k0: usize, k1: usize) {
        let m = p - k1;
        if m == 0 {
            return;
        }
        let base = a.as_mut_ptr();
        // SAFETY: as in lower_trailing_update, over the whole trailing square.
        unsafe {
            matrixmultiply::dgemm(
                m,
                k1 - k0,
                m,
                -1.0,
                base.add(k1 * p + k0),
                p as isize,
                1,
                base.add(k1 * p + k0),
                1,
                p as isize,
                1.0,
                base.add(k1 * p + k1),
                p as isize,
                1,
            );
        }
    }

    /// The factor's lower triangle and the solution equal, bit for bit, those of the full-square
    /// update, for one block, several blocks with a ragged end, and the paper's size (p = 594).
    #[test]
    fn lower_trailing_update_matches_the_full_square() {
        for p in [37, 150, 594] {
            let (a, b) = random_spd(p);
            let (mut fa, mut fb) = (a.clone(), b.clone());
            assert!(cholesky_solve(&mut fa, &mut fb));
            let (mut ra, mut rb) = (a.clone(), b.clone());
            assert!(cholesky_solve_by(&mut ra, &mut rb, full_trailing_update));
            for i in 0..p {
                assert_eq!(fb[i].to_bits(), rb[i].to_bits(), "p = {p}, solution entry {i}");
                for j in 0..=i {
                    assert_eq!(fa[i * p + j].to_bits(), ra[i * p + j].to_bits(), "p = {p}, factor entry ({i}, {j})");
                }
            }
        }
    }

    fn random_spd(p: usize) -> (Vec<f64>, Vec<f64>) {
        let r: Vec<f64> = (0..p * p).map(|i| ((i * 7919 % 101) as f64 / 50.0) - 1.0).collect();
        let mut a = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..p {
                a[i * p + j] = (0..p).map(|c| r[i * p + c] * r[j * p + c]).sum::<f64>() + if i == j { 0.5 } else { 0.0 };
            }
        }
        let b: Vec<f64> = (0..p).map(|i| (i as f64).sin()).collect();
        (a, b)
    }

    fn check_random_spd(p: usize) {
        let (a, b) = random_spd(p);
        let (mut f, mut x) = (a.clone(), b.clone());
        assert!(cholesky_solve(&mut f, &mut x));
        for i in 0..p {
            let lhs: f64 = (0..p).map(|j| a[i * p + j] * x[j]).sum();
            assert!((lhs - b[i]).abs() < 1e-9, "p = {p}, row {i}: {lhs} vs {}", b[i]);
        }
    }
}
