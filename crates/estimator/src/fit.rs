//! The estimators behind one validated [`Estimator`]: paper-faithful minibatch SGD and the unconstrained
//! L-BFGS fit here, Levenberg-Marquardt over Theta in `lm` (which this module dispatches to).

use crate::bounds::{ActiveBounds, Bounds};
use crate::error::positive;
use crate::lm::fit_lm;
use crate::outcome::{norm, Fit, FitReport, Termination};
use crate::EstimatorError;
use argmin::core::{CostFunction, Error as ArgminError, Executor, Gradient, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use smoe_model::{kernel, Mixture, Sample, Spec, Workspace};
use std::cell::RefCell;

/// Unchecked SGD settings. The paper: 10 epochs, learning rate 0.1; batch size not given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgdParams {
    pub epochs: usize,
    pub learning_rate: f64,
    pub batch_size: usize,
    /// Reshuffle the sample at the start of every epoch (from the unit's "sgd" stream).
    pub shuffle: bool,
}

/// Unchecked L-BFGS settings for the converged least-squares fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LbfgsParams {
    /// Number of correction pairs kept.
    pub memory: usize,
    /// Stop when the gradient norm of the mean squared error falls below this.
    pub tol_grad: f64,
    /// Stop when successive objectives differ by less than this (0 disables the test).
    #[serde(default)]
    pub tol_cost: f64,
    pub max_iters: u64,
}

/// Estimator choice as written in configs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EstimatorParams {
    Sgd(SgdParams),
    Lbfgs(LbfgsParams),
    Lm(crate::LmParams),
}

/// A validated estimator; only this can fit.
#[derive(Clone, Debug, PartialEq)]
pub enum Estimator {
    Sgd(SgdParams),
    Lbfgs(LbfgsParams),
    Lm(crate::LmParams),
}

impl SgdParams {
    pub fn check(self) -> Result<Estimator, EstimatorError> {
        if self.epochs == 0 {
            return Err(EstimatorError::invalid("epochs", 0, "an integer >= 1"));
        }
        if self.batch_size == 0 {
            return Err(EstimatorError::invalid("batch_size", 0, "an integer >= 1"));
        }
        positive("learning_rate", self.learning_rate)?;
        Ok(Estimator::Sgd(self))
    }
}

impl LbfgsParams {
    pub fn check(self) -> Result<Estimator, EstimatorError> {
        if self.memory == 0 {
            return Err(EstimatorError::invalid("memory", 0, "an integer >= 1"));
        }
        if self.max_iters == 0 {
            return Err(EstimatorError::invalid("max_iters", 0, "an integer >= 1"));
        }
        positive("tol_grad", self.tol_grad)?;
        crate::error::non_negative("tol_cost", self.tol_cost)?;
        Ok(Estimator::Lbfgs(self))
    }
}

impl crate::LmParams {
    pub fn check(self) -> Result<Estimator, EstimatorError> {
        self.validate()?;
        Ok(Estimator::Lm(self))
    }
}

impl EstimatorParams {
    pub fn check(self) -> Result<Estimator, EstimatorError> {
        match self {
            EstimatorParams::Sgd(p) => p.check(),
            EstimatorParams::Lbfgs(p) => p.check(),
            EstimatorParams::Lm(p) => p.check(),
        }
    }
}

impl Estimator {
    /// Fit a mixture of structure `start.spec` to `sample`, starting from `start`, over the box
    /// `bounds` (Theta). Levenberg-Marquardt keeps the fit inside it; SGD (the paper's optimiser)
    /// and L-BFGS are unconstrained and only report how many entries end on or beyond a wall.
    /// `rng` is used only by SGD (shuffling).
    pub fn fit<R: Rng + ?Sized>(&self, start: &Mixture, sample: &Sample, bounds: &Bounds, rng: &mut R) -> Fit {
        let mut fit = match self {
            Estimator::Sgd(p) => fit_sgd(p, start, sample, rng),
            Estimator::Lbfgs(p) => fit_lbfgs(p, start, sample),
            Estimator::Lm(p) => return fit_lm(p, start, sample, bounds),
        };
        fit.report.active = ActiveBounds::of(&start.spec, bounds, &fit.mixture.theta);
        fit
    }

    /// Whether the fit stays inside Theta (only Levenberg-Marquardt does).
    pub fn is_bounded(&self) -> bool {
        matches!(self, Estimator::Lm(_))
    }

    /// The iteration budget of an iterative least-squares fit (None for SGD).
    pub fn max_iters(&self) -> Option<u64> {
        match self {
            Estimator::Sgd(_) => None,
            Estimator::Lbfgs(p) => Some(p.max_iters),
            Estimator::Lm(p) => Some(p.max_iters),
        }
    }

    /// The same estimator with another iteration budget (at least 1); SGD is returned unchanged.
    pub fn with_max_iters(&self, max_iters: u64) -> Estimator {
        let max_iters = max_iters.max(1);
        match self {
            Estimator::Sgd(p) => Estimator::Sgd(p.clone()),
            Estimator::Lbfgs(p) => Estimator::Lbfgs(LbfgsParams { max_iters, ..p.clone() }),
            Estimator::Lm(p) => Estimator::Lm(crate::LmParams { max_iters, ..p.clone() }),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Estimator::Sgd(_) => "sgd",
            Estimator::Lbfgs(_) => "lbfgs",
            Estimator::Lm(_) => "lm",
        }
    }
}

/// Full-sample objective and gradient norm at theta.
pub fn objective_and_grad_norm(spec: &Spec, theta: &[f64], sample: &Sample, ws: &mut Workspace) -> (f64, f64) {
    let mut g = vec![0.0; theta.len()];
    let f = kernel::loss_grad(spec, theta, &sample.x, &sample.y, Some(&mut g), ws);
    (f, norm(&g))
}

/// Rows `batch` of `sample`, copied into (xb, yb). The rows are random over a sample larger than
/// the cache, so while copying row r of this batch, row r of the `next` batch is requested: its
/// loads then overlap this batch's arithmetic instead of stalling the next copy. Changes no value.
fn gather_rows(sample: &Sample, batch: &[usize], next: &[usize], xb: &mut [f64], yb: &mut [f64]) {
    let d = sample.d;
    for (r, &i) in batch.iter().enumerate() {
        if let Some(&j) = next.get(r) {
            prefetch(&sample.x[j * d..(j + 1) * d]);
            prefetch(std::slice::from_ref(&sample.y[j]));
        }
        xb[r * d..(r + 1) * d].copy_from_slice(&sample.x[i * d..(i + 1) * d]);
        yb[r] = sample.y[i];
    }
}

/// Hint the CPU to load `values` into cache (a no-op off x86-64). Changes no result.
#[inline(always)]
fn prefetch(values: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    for v in values.iter().step_by(8).chain(values.last()) {
        // SAFETY: prefetching is a hint with no architectural effect; the address is in bounds.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((v as *const f64).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// Minibatch SGD on the mean squared error of each batch; the last, partial batch of an epoch
/// is kept (as PyTorch's DataLoader does by default).
pub(crate) fn fit_sgd<R: Rng + ?Sized>(p: &SgdParams, start: &Mixture, sample: &Sample, rng: &mut R) -> Fit {
    let spec = start.spec;
    let (n, d) = (sample.n(), sample.d);
    let mut theta = start.theta.clone();
    let mut last_good = theta.clone();
    let mut grad = vec![0.0; theta.len()];
    let mut order: Vec<usize> = (0..n).collect();
    let b = p.batch_size.min(n.max(1));
    let mut xb = vec![0.0; b * d];
    let mut yb = vec![0.0; b];
    let mut ws = Workspace::default();
    let mut steps = 0u64;
    let mut termination = Termination::EpochsCompleted;
    'epochs: for _ in 0..p.epochs {
        if p.shuffle {
            order.shuffle(rng);
        }
        let batches = n.div_ceil(b);
        for bi in 0..batches {
            let batch = &order[bi * b..((bi + 1) * b).min(n)];
            let next = order.get((bi + 1) * b..((bi + 2) * b).min(n)).unwrap_or(&[]);
            let m = batch.len();
            gather_rows(sample, batch, next, &mut xb[..m * d], &mut yb[..m]);
            let (xb, yb) = (&xb[..m * d], &yb[..m]);
            let loss = kernel::loss_grad(&spec, &theta, xb, yb, Some(&mut grad), &mut ws);
            steps += 1;
            if !loss.is_finite() || grad.iter().any(|g| !g.is_finite()) {
                termination = Termination::Diverged;
                theta.copy_from_slice(&last_good);
                break 'epochs;
            }
            last_good.copy_from_slice(&theta);
            for (t, g) in theta.iter_mut().zip(&grad) {
                *t -= p.learning_rate * g;
            }
        }
    }
    let (objective, grad_norm) = objective_and_grad_norm(&spec, &theta, sample, &mut ws);
    if !objective.is_finite() {
        termination = Termination::Diverged;
    }
    Fit {
        mixture: Mixture { spec, theta },
        report: FitReport::unconstrained(termination, steps, steps, objective, grad_norm, String::new()),
    }
}

/// The least-squares objective as an argmin problem. One fused pass computes the loss and the
/// gradient together; the result is cached, because the line search asks for both at each point.
struct LeastSquares<'a> {
    spec: Spec,
    sample: &'a Sample,
    cache: RefCell<Cache>,
}

struct Cache {
    theta: Vec<f64>,
    loss: f64,
    grad: Vec<f64>,
    ws: Workspace,
    passes: u64,
}

impl LeastSquares<'_> {
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let mut c = self.cache.borrow_mut();
        if c.passes == 0 || c.theta.as_slice() != theta {
            let Cache { ws, grad, .. } = &mut *c;
            let loss = kernel::loss_grad(&self.spec, theta, &self.sample.x, &self.sample.y, Some(grad), ws);
            c.loss = loss;
            c.theta.copy_from_slice(theta);
            c.passes += 1;
        }
        (c.loss, c.grad.clone())
    }
}

impl CostFunction for LeastSquares<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> Result<f64, ArgminError> {
        let (loss, _) = self.eval(p);
        if loss.is_finite() {
            Ok(loss)
        } else {
            Err(argmin::core::ArgminError::InvalidParameter { text: "non-finite objective".into() }.into())
        }
    }
}

impl Gradient for LeastSquares<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Self::Param) -> Result<Vec<f64>, ArgminError> {
        Ok(self.eval(p).1)
    }
}

/// The converged least-squares fit: full-batch L-BFGS with a More-Thuente line search.
pub(crate) fn fit_lbfgs(p: &LbfgsParams, start: &Mixture, sample: &Sample) -> Fit {
    let spec = start.spec;
    let np = start.theta.len();
    let problem = LeastSquares {
        spec,
        sample,
        cache: RefCell::new(Cache { theta: vec![0.0; np], loss: 0.0, grad: vec![0.0; np], ws: Workspace::default(), passes: 0 }),
    };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), p.memory)
        .with_tolerance_grad(p.tol_grad)
        .and_then(|s| s.with_tolerance_cost(p.tol_cost))
        .expect("checked tolerances");
    let run = Executor::new(problem, solver).configure(|state| state.param(start.theta.clone()).max_iters(p.max_iters)).run();
    let mut ws = Workspace::default();
    let (theta, termination, iterations, evaluations, detail) = match run {
        Ok(mut res) => {
            let passes = res.problem.problem.as_ref().map(|pr| pr.cache.borrow().passes).unwrap_or(0);
            let state = &mut res.state;
            let iters = state.get_iter();
            let (term, detail) = match state.get_termination_reason() {
                Some(TerminationReason::SolverConverged) => (Termination::Converged, String::new()),
                Some(TerminationReason::MaxItersReached) => (Termination::MaxIters, String::new()),
                Some(TerminationReason::SolverExit(msg)) => (Termination::LineSearchFailed, msg.clone()),
                Some(other) => (Termination::LineSearchFailed, other.text().to_string()),
                None => (Termination::MaxIters, "no termination reason".into()),
            };
            let theta = state.take_best_param().or_else(|| state.take_param()).unwrap_or_else(|| start.theta.clone());
            (theta, term, iters, passes, detail)
        }
        Err(e) => (start.theta.clone(), Termination::Diverged, 0, 0, e.to_string()),
    };
    let (objective, grad_norm) = objective_and_grad_norm(&spec, &theta, sample, &mut ws);
    let termination = if objective.is_finite() { termination } else { Termination::Diverged };
    Fit {
        mixture: Mixture { spec, theta },
        report: FitReport::unconstrained(termination, iterations, evaluations, objective, grad_norm, detail),
    }
}
