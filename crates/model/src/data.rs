//! Simulated data: X ~ Uniform([-1, 1]^d), Y = f(X) + N(0, nu).

use crate::{Mixture, ModelError};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Normal};

/// A sample of n inputs (row-major n x d) and responses.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub d: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Sample {
    pub fn n(&self) -> usize {
        self.y.len()
    }
}

/// n x d inputs, i.i.d. uniform on [-1, 1], drawn row by row.
pub fn draw_inputs<R: Rng + ?Sized>(n: usize, d: usize, rng: &mut R) -> Vec<f64> {
    (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Draw (X, Y) with Y = f(X) + eps, eps ~ N(0, noise_var). All inputs are drawn first, then all
/// noise terms, from the same stream.
pub fn draw_sample<R: Rng + ?Sized>(truth: &Mixture, n: usize, noise_var: f64, rng: &mut R) -> Result<Sample, ModelError> {
    if !(noise_var.is_finite() && noise_var >= 0.0) {
        return Err(ModelError::invalid("noise_var", noise_var, "a finite variance >= 0"));
    }
    let d = truth.d();
    let x = draw_inputs(n, d, rng);
    let mut y = truth.predict(&x);
    let noise = Normal::new(0.0, noise_var.sqrt()).expect("checked variance");
    for v in &mut y {
        *v += noise.sample(rng);
    }
    Ok(Sample { d, x, y })
}
