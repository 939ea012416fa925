//! The mixture-of-experts model of Nguyen, Ho & Rinaldo (NeurIPS 2024), as pure computation.
//!
//! * [`Mixture`]: f_G(x) = sum_i gate_i(x) phi(a_i.x + b_i) with sigmoid or softmax gates, its
//!   flat parameter layout and evaluation.
//! * [`kernel::loss_grad`]: the fused mean-squared-error and analytic gradient.
//! * [`TruthParams`] / [`TruthRecipe`]: the paper's truth recipes, validated before use.
//! * [`draw_sample`]: X ~ U([-1,1]^d), Y = f(X) + N(0, nu).
//! * [`seed`]: stream seeds derived only from a work unit's identity.
//!
//! This crate does no IO.
//!
//! ```
//! use smoe_model::{seed, draw_sample, Expert, Gate, TruthParams};
//! let recipe = TruthParams {
//!     gate: Gate::Sigmoid, expert: Expert::Relu, d: 4, k_star: 2,
//!     gate_var: None, expert_var: None, zero_gate_slope: vec![1, 2], zero_expert_slope: vec![],
//! }.check().unwrap();
//! let truth = recipe.draw(&mut seed::stream(7, &[("purpose", "truth")]));
//! let data = draw_sample(&truth, 100, 0.01, &mut seed::stream(7, &[("purpose", "data")])).unwrap();
//! assert_eq!(data.n(), 100);
//! ```

mod data;
mod error;
mod expert;
pub mod kernel;
mod mixture;
pub mod seed;
mod truth;

pub use data::{draw_inputs, draw_sample, Sample};
pub use error::ModelError;
pub use expert::{exp_fast, logit, normal_cdf, sigmoid, sigmoid_fast, Expert, Gate, EXPERT_NAMES};
pub use kernel::{loss_grad, Workspace};
pub use mixture::{dot, softmax, Atom, Mixture, Spec};
pub use truth::{TruthParams, TruthRecipe};
