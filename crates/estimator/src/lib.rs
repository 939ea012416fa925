//! Estimators of the mixing measure: initialisation near the truth, the paper's minibatch SGD,
//! the least-squares fit over the compact parameter space Theta ([`ThetaBox`]; Levenberg-Marquardt
//! with bounds, converged by a stated test), the unconstrained L-BFGS fit of earlier runs, and the
//! Regime-2 target G_bar.
//!
//! Every fit returns a [`FitReport`] with its termination reason, iterations, final objective,
//! gradient and projected-gradient norms and the walls of Theta it touches; a fit that fails to
//! converge or diverges is recorded, never a panic. Only validated parameters ([`Estimator`],
//! from `check()`) can fit.
//!
//! ```
//! use smoe_estimator::{InitParams, InitNoise, MassSplit, LmParams, ThetaBox, Termination};
//! use smoe_model::{seed, draw_sample, Expert, Gate, Spec, TruthParams};
//! let truth = TruthParams { gate: Gate::Sigmoid, expert: Expert::Gelu, d: 2, k_star: 2,
//!     gate_var: None, expert_var: None, zero_gate_slope: vec![1, 2], zero_expert_slope: vec![] }
//!     .check().unwrap().draw(&mut seed::stream(1, &[("purpose", "truth")]));
//! let init = InitParams { noise: InitNoise::Fixed { sd: 0.01 }, split_atom: 1, mass_split: MassSplit::Share }
//!     .check().unwrap();
//! let spec = Spec::new(Gate::Sigmoid, Expert::Gelu, 3, 2).unwrap();
//! let start = init.start(&truth, spec, 500, &mut seed::stream(1, &[("purpose", "init")])).unwrap();
//! let data = draw_sample(&truth, 500, 0.01, &mut seed::stream(1, &[("purpose", "data")])).unwrap();
//! let theta = ThetaBox { gate_intercept: [-4.0, 4.0], gate_slope: [-1.0, 1.0],
//!     expert_slope: [-2.0, 2.0], expert_intercept: [-2.0, 2.0] };
//! let est = LmParams { tol_grad: 1e-8, tol_rel_cost: 1e-9, max_iters: 200, hessian_n: 0 }.check().unwrap();
//! let fit = est.fit(&start, &data, &theta.bounds(&spec), &mut seed::stream(1, &[("purpose", "sgd")]));
//! assert_eq!(fit.report.termination, Termination::Converged);
//! assert!(fit.report.objective < 0.02 && fit.report.proj_grad_norm <= 1e-8);
//! ```

mod bounds;
mod error;
mod fit;
mod gbar;
mod init;
mod lm;
mod outcome;

pub use bounds::{ActiveBounds, Bounds, ParamGroup, ThetaBox};
pub use error::EstimatorError;
pub use fit::{objective_and_grad_norm, Estimator, EstimatorParams, LbfgsParams, SgdParams};
pub use gbar::{fit_in_halves, population_fit, reference_sample};
pub use init::{Init, InitNoise, InitParams, MassSplit};
pub use lm::{cholesky_solve, LmParams};
pub use outcome::{Fit, FitReport, Termination};
