//! Truth recipes of the paper's simulation template (SPEC section 5).

use crate::{Atom, Expert, Gate, Mixture, ModelError};
use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

/// Unchecked description of how the true mixing measure G* is drawn.
///
/// Atoms are numbered 1..=k_star as in the paper. Draw order, from one ChaCha20 stream: for atom
/// 1, 2, ...: beta0, then the d entries of beta1 (skipped, not drawn, when its gate slope is zero),
/// then the d entries of a (skipped when its expert slope is zero), then b.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthParams {
    pub gate: Gate,
    pub expert: Expert,
    pub d: usize,
    pub k_star: usize,
    /// Variance of beta0* and of each entry of a non-zero beta1*; `None` = 0.01 / d.
    #[serde(default)]
    pub gate_var: Option<f64>,
    /// Variance of each entry of a* and of b*; `None` = 1 / d.
    #[serde(default)]
    pub expert_var: Option<f64>,
    /// Atom numbers whose gate slope beta1* is zero (Regime 1: all of them).
    pub zero_gate_slope: Vec<usize>,
    /// Atom numbers whose expert slope a* is zero (input-independent true experts).
    #[serde(default)]
    pub zero_expert_slope: Vec<usize>,
}

/// Validated truth recipe; only this can draw a truth.
#[derive(Clone, Debug, PartialEq)]
pub struct TruthRecipe {
    params: TruthParams,
    gate_var: f64,
    expert_var: f64,
}

fn check_var(field: &'static str, v: f64) -> Result<f64, ModelError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(ModelError::invalid(field, v, "a finite variance >= 0"))
    }
}

fn check_atoms(field: &'static str, atoms: &[usize], k_star: usize) -> Result<(), ModelError> {
    for &j in atoms {
        if j == 0 || j > k_star {
            return Err(ModelError::invalid(field, j, format!("atom numbers 1..={k_star}")));
        }
    }
    Ok(())
}

impl TruthParams {
    pub fn check(self) -> Result<TruthRecipe, ModelError> {
        if self.d == 0 {
            return Err(ModelError::invalid("d", self.d, "an integer >= 1"));
        }
        if self.k_star == 0 {
            return Err(ModelError::invalid("k_star", self.k_star, "an integer >= 1"));
        }
        let gate_var = check_var("gate_var", self.gate_var.unwrap_or(0.01 / self.d as f64))?;
        let expert_var = check_var("expert_var", self.expert_var.unwrap_or(1.0 / self.d as f64))?;
        check_atoms("zero_gate_slope", &self.zero_gate_slope, self.k_star)?;
        check_atoms("zero_expert_slope", &self.zero_expert_slope, self.k_star)?;
        Ok(TruthRecipe { params: self, gate_var, expert_var })
    }
}

impl TruthRecipe {
    pub fn params(&self) -> &TruthParams {
        &self.params
    }

    /// Draw G* from `rng`. Called once per experiment with the experiment's truth stream.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Mixture {
        let p = &self.params;
        let gate_sd = Normal::new(0.0, self.gate_var.sqrt()).expect("checked variance");
        let expert_sd = Normal::new(0.0, self.expert_var.sqrt()).expect("checked variance");
        let atoms: Vec<Atom> = (1..=p.k_star)
            .map(|j| {
                let beta0 = gate_sd.sample(rng);
                let beta1 = if p.zero_gate_slope.contains(&j) { vec![0.0; p.d] } else { (0..p.d).map(|_| gate_sd.sample(rng)).collect() };
                let a = if p.zero_expert_slope.contains(&j) || !p.expert.has_slope() {
                    vec![0.0; p.d]
                } else {
                    (0..p.d).map(|_| expert_sd.sample(rng)).collect()
                };
                let b = expert_sd.sample(rng);
                Atom { beta0, beta1, a, b }
            })
            .collect();
        Mixture::from_atoms(p.gate, p.expert, &atoms).expect("atoms have consistent shapes")
    }
}
