//! What a fit returns, whichever estimator made it: the fitted mixture, why the fit stopped and
//! how it went.

use crate::bounds::ActiveBounds;
use serde::{Deserialize, Serialize};
use smoe_model::Mixture;
/// Why a fit stopped. Not converging is a result, recorded with the fit, never a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// L-BFGS: gradient norm (or cost change) below tolerance.
    Converged,
    /// L-BFGS: iteration budget exhausted before the tolerance was met.
    MaxIters,
    /// SGD: the fixed number of epochs ran (SGD has no convergence test).
    EpochsCompleted,
    /// L-BFGS: the line search found no acceptable step (usually: at numerical precision).
    LineSearchFailed,
    /// The objective became non-finite; the parameters are those of the last finite point.
    Diverged,
}

impl Termination {
    pub fn name(self) -> &'static str {
        match self {
            Termination::Converged => "converged",
            Termination::MaxIters => "max_iters",
            Termination::EpochsCompleted => "epochs_completed",
            Termination::LineSearchFailed => "line_search_failed",
            Termination::Diverged => "diverged",
        }
    }

    /// Whether the fit met its stated convergence test (a budget exhausted, a stall away from a
    /// first-order point, a divergence, or SGD's fixed epochs do not).
    pub fn meets_criterion(self) -> bool {
        self == Termination::Converged
    }
}

/// What every fit reports besides its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub termination: Termination,
    /// SGD steps, or L-BFGS iterations.
    pub iterations: u64,
    /// Objective (and gradient) evaluations; an SGD step counts as one minibatch evaluation.
    pub evaluations: u64,
    /// Full-sample mean squared error at the returned parameters.
    pub objective: f64,
    /// Euclidean norm of the full-sample gradient at the returned parameters.
    pub grad_norm: f64,
    /// Norm of the projected gradient theta - P(theta - g) on the fit's box (the gradient norm
    /// for the unconstrained fits, SGD and L-BFGS): zero at a first-order point of the box.
    pub proj_grad_norm: f64,
    /// Relative decrease of the objective over the last accepted steps (None where not tracked:
    /// SGD, L-BFGS, or too few steps taken).
    pub rel_change: Option<f64>,
    /// Levenberg-Marquardt: the gradient scale of the noise, sqrt(2 f tr(H) / n) (f the
    /// objective, H the Gauss-Newton matrix), against which the projected gradient is judged.
    pub noise_grad: Option<f64>,
    /// Entries of theta on (or, for the unconstrained fits, beyond) a wall of Theta.
    pub active: ActiveBounds,
    /// Free-text detail (e.g. the line-search message), empty if none.
    pub detail: String,
}

impl FitReport {
    pub(crate) fn unconstrained(
        termination: Termination,
        iterations: u64,
        evaluations: u64,
        objective: f64,
        grad_norm: f64,
        detail: String,
    ) -> Self {
        let active = ActiveBounds::default();
        FitReport {
            termination,
            iterations,
            evaluations,
            objective,
            grad_norm,
            proj_grad_norm: grad_norm,
            rel_change: None,
            noise_grad: None,
            active,
            detail,
        }
    }
}

/// A fitted mixture and how the fit went.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub mixture: Mixture,
    pub report: FitReport,
}

pub(crate) fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}
