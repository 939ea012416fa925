//! Estimators of the mixing measure: initialisation near the truth, the paper's minibatch SGD,
//! the converged least-squares fit (L-BFGS via argmin, or Levenberg-Marquardt), and the Regime-2
//! target G_bar.
//!
//! Every fit returns a [`FitReport`] with its termination reason, iterations, final objective
//! and gradient norm; a fit that fails to converge or diverges is recorded, never a panic.
//!
//! ```
//! use smoe_estimator::{InitParams, InitNoise, MassSplit, LbfgsParams};
//! use smoe_model::{seed, draw_sample, Expert, Gate, Spec, TruthParams};
//! let truth = TruthParams { gate: Gate::Sigmoid, expert: Expert::Relu, d: 2, k_star: 2,
//!     gate_var: None, expert_var: None, zero_gate_slope: vec![1, 2], zero_expert_slope: vec![] }
//!     .check().unwrap().draw(&mut seed::stream(1, &[("purpose", "truth")]));
//! let init = InitParams { noise: InitNoise::Fixed { sd: 0.01 }, split_atom: 1, mass_split: MassSplit::Share }
//!     .check().unwrap();
//! let spec = Spec::new(Gate::Sigmoid, Expert::Relu, 3, 2).unwrap();
//! let start = init.start(&truth, spec, 500, &mut seed::stream(1, &[("purpose", "init")])).unwrap();
//! let data = draw_sample(&truth, 500, 0.01, &mut seed::stream(1, &[("purpose", "data")])).unwrap();
//! let est = LbfgsParams { memory: 10, tol_grad: 1e-8, tol_cost: 0.0, max_iters: 500 }.check().unwrap();
//! let fit = est.fit(&start, &data, &mut seed::stream(1, &[("purpose", "sgd")]));
//! assert!(fit.report.objective < 0.02);
//! ```

mod error;
mod fit;
mod gbar;
mod init;
mod lm;

pub use error::EstimatorError;
pub use fit::{
    fit_lbfgs, fit_sgd, objective_and_grad_norm, Estimator, EstimatorParams, Fit, FitReport, LbfgsParams, SgdParams, Termination,
};
pub use gbar::{fit_in_halves, population_fit, reference_sample};
pub use init::{Init, InitNoise, InitParams, MassSplit};
pub use lm::{cholesky_solve, fit_lm, LmParams};
