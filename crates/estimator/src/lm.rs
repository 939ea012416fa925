//! Levenberg-Marquardt for the least-squares fit: Gauss-Newton steps, damped.
//!
//! Each iteration takes the gradient of the mean squared error on the whole sample and the
//! Gauss-Newton matrix (2/m) J^T J on its first `hessian_n` rows (all rows if 0; the rows are iid,
//! so the first m are a random subsample), and solves (H + lambda diag(H)) delta = -g by Cholesky.
//! A step is kept only if it lowers the full-sample objective; lambda falls after a good step and
//! rises after a poor one (gain ratio of actual to predicted decrease). The fixed point is a zero of
//! the full-sample gradient whatever the subsample, which only sets the speed. Where L-BFGS creeps
//! along the flat valleys of an over-specified mixture, these steps see the curvature and cross them.

use crate::error::{non_negative, positive};
use crate::fit::{Fit, FitReport, Termination};
use crate::{Estimator, EstimatorError};
use serde::{Deserialize, Serialize};
use smoe_model::{kernel, Mixture, Sample, Workspace};

/// Unchecked Levenberg-Marquardt settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmParams {
    /// Stop when the gradient norm of the mean squared error falls below this.
    pub tol_grad: f64,
    /// Stop when an accepted step lowers the objective by less than this fraction of it
    /// (0 disables the test).
    #[serde(default)]
    pub tol_rel_cost: f64,
    pub max_iters: u64,
    /// Rows of the sample used for the Gauss-Newton matrix (0: all).
    #[serde(default)]
    pub hessian_n: usize,
}

impl LmParams {
    pub fn check(self) -> Result<Estimator, EstimatorError> {
        if self.max_iters == 0 {
            return Err(EstimatorError::invalid("max_iters", 0, "an integer >= 1"));
        }
        positive("tol_grad", self.tol_grad)?;
        non_negative("tol_rel_cost", self.tol_rel_cost)?;
        Ok(Estimator::Lm(self))
    }
}

/// Initial damping, its bounds, and the factors applied after good and poor steps.
const LAMBDA0: f64 = 1e-3;
const LAMBDA_MIN: f64 = 1e-12;
const LAMBDA_MAX: f64 = 1e12;

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Solve a * x = b for symmetric positive-definite a (p x p, row-major; its lower triangle is
/// overwritten by the Cholesky factor). Returns false, leaving b unspecified, if a is not
/// numerically positive definite.
pub fn cholesky_solve(a: &mut [f64], b: &mut [f64]) -> bool {
    let p = b.len();
    assert_eq!(a.len(), p * p, "a must be p x p");
    // row by row (Cholesky-Banachiewicz): L[i][j] = (a[i][j] - L[i][..j] . L[j][..j]) / L[j][j]
    for i in 0..p {
        let (done, rest) = a.split_at_mut(i * p);
        let row_i = &mut rest[..p];
        for j in 0..=i {
            let lj = if j == i { &row_i[..j] } else { &done[j * p..j * p + j] };
            let dot: f64 = row_i[..j].iter().zip(lj).map(|(x, y)| x * y).sum();
            let v = row_i[j] - dot;
            if j == i {
                if !(v > 0.0 && v.is_finite()) {
                    return false;
                }
                row_i[i] = v.sqrt();
            } else {
                row_i[j] = v / done[j * p + j];
            }
        }
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

/// The least-squares fit by Levenberg-Marquardt from `start`.
pub fn fit_lm(p: &LmParams, start: &Mixture, sample: &Sample) -> Fit {
    let spec = start.spec;
    let np = start.theta.len();
    let d = sample.d;
    let mut ws = Workspace::default();
    let mut theta = start.theta.clone();
    let mut grad = vec![0.0; np];
    let mut f = kernel::loss_grad(&spec, &theta, &sample.x, &sample.y, Some(&mut grad), &mut ws);
    let mut evaluations = 1u64;
    if !f.is_finite() {
        return finish(
            spec,
            start.theta.clone(),
            Termination::Diverged,
            0,
            evaluations,
            sample,
            "non-finite objective at the start".into(),
        );
    }
    let m = if p.hessian_n == 0 { sample.n() } else { p.hessian_n.min(sample.n()) };
    let xh = &sample.x[..m * d];
    let mut h = vec![0.0; np * np];
    let mut a = vec![0.0; np * np];
    let mut delta = vec![0.0; np];
    let mut trial = vec![0.0; np];
    let mut trial_grad = vec![0.0; np];
    let mut lambda = LAMBDA0;
    let mut termination = Termination::MaxIters;
    let mut detail = String::new();
    let mut iterations = 0u64;
    while iterations < p.max_iters {
        if norm(&grad) <= p.tol_grad {
            termination = Termination::Converged;
            break;
        }
        iterations += 1;
        kernel::gauss_newton(&spec, &theta, xh, &mut h, &mut ws);
        let max_diag = (0..np).map(|i| h[i * np + i]).fold(0.0f64, f64::max).max(f64::MIN_POSITIVE);
        let accepted = loop {
            if lambda > LAMBDA_MAX {
                break false;
            }
            a.copy_from_slice(&h);
            for i in 0..np {
                // Marquardt's scaling, plus a floor so that columns without curvature stay solvable
                a[i * np + i] += lambda * (h[i * np + i] + 1e-12 * max_diag);
            }
            delta.iter_mut().zip(&grad).for_each(|(dl, g)| *dl = -g);
            if !cholesky_solve(&mut a, &mut delta) {
                lambda *= 10.0;
                continue;
            }
            // predicted decrease of the quadratic model: -(g.delta + delta.H.delta / 2)
            let g_dot: f64 = grad.iter().zip(&delta).map(|(g, dl)| g * dl).sum();
            let mut dhd = 0.0;
            for i in 0..np {
                let row = &h[i * np..(i + 1) * np];
                dhd += delta[i] * row.iter().zip(&delta).map(|(hv, dl)| hv * dl).sum::<f64>();
            }
            let predicted = -(g_dot + 0.5 * dhd);
            trial.iter_mut().zip(theta.iter().zip(&delta)).for_each(|(t, (th, dl))| *t = th + dl);
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
                let decrease = f - ft;
                std::mem::swap(&mut theta, &mut trial);
                std::mem::swap(&mut grad, &mut trial_grad);
                let before = f;
                f = ft;
                break decrease >= p.tol_rel_cost * before;
            }
            lambda *= 4.0;
        };
        if !accepted {
            if lambda > LAMBDA_MAX {
                termination = Termination::LineSearchFailed;
                detail = format!("no step lowers the objective (damping above {LAMBDA_MAX:e})");
            } else {
                termination = Termination::Converged;
                detail = format!("relative decrease below tol_rel_cost = {:e}", p.tol_rel_cost);
            }
            break;
        }
    }
    if termination == Termination::MaxIters && norm(&grad) <= p.tol_grad {
        termination = Termination::Converged;
    }
    finish(spec, theta, termination, iterations, evaluations, sample, detail)
}

fn finish(
    spec: smoe_model::Spec,
    theta: Vec<f64>,
    termination: Termination,
    iterations: u64,
    evaluations: u64,
    sample: &Sample,
    detail: String,
) -> Fit {
    let (objective, grad_norm) = crate::objective_and_grad_norm(&spec, &theta, sample, &mut Workspace::default());
    let termination = if objective.is_finite() { termination } else { Termination::Diverged };
    Fit { mixture: Mixture { spec, theta }, report: FitReport { termination, iterations, evaluations, objective, grad_norm, detail } }
}

#[cfg(test)]
mod tests {
    use super::cholesky_solve;

    /// A hand-worked system: [[4, 2], [2, 3]] x = [2, 1] has x = [0.5, 0].
    #[test]
    fn cholesky_solves_a_hand_worked_system() {
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 1.0];
        assert!(cholesky_solve(&mut a, &mut b));
        assert!((b[0] - 0.5).abs() < 1e-15 && b[1].abs() < 1e-15, "{b:?}");
    }

    /// A random SPD system of size 37: the solution satisfies the system; an indefinite one is refused.
    #[test]
    fn cholesky_solves_random_spd_and_refuses_indefinite() {
        let p = 37;
        let r: Vec<f64> = (0..p * p).map(|i| ((i * 7919 % 101) as f64 / 50.0) - 1.0).collect();
        let mut a = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..p {
                a[i * p + j] = (0..p).map(|c| r[i * p + c] * r[j * p + c]).sum::<f64>() + if i == j { 0.5 } else { 0.0 };
            }
        }
        let b: Vec<f64> = (0..p).map(|i| (i as f64).sin()).collect();
        let (mut f, mut x) = (a.clone(), b.clone());
        assert!(cholesky_solve(&mut f, &mut x));
        for i in 0..p {
            let lhs: f64 = (0..p).map(|j| a[i * p + j] * x[j]).sum();
            assert!((lhs - b[i]).abs() < 1e-9, "row {i}: {lhs} vs {}", b[i]);
        }
        let mut bad = vec![1.0, 2.0, 2.0, 1.0];
        assert!(!cholesky_solve(&mut bad, &mut [1.0, 1.0]));
    }
}
