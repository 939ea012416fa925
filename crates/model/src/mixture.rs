//! The mixture of experts f_G and its flat parameter layout.

use crate::{Expert, Gate, ModelError};
use serde::{Deserialize, Serialize};

/// The structure of a mixture: gate, expert, number of atoms and input dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Spec {
    pub gate: Gate,
    pub expert: Expert,
    pub k: usize,
    pub d: usize,
}

impl Spec {
    pub fn new(gate: Gate, expert: Expert, k: usize, d: usize) -> Result<Self, ModelError> {
        if k == 0 {
            return Err(ModelError::invalid("k", k, "an integer >= 1"));
        }
        if d == 0 {
            return Err(ModelError::invalid("d", d, "an integer >= 1"));
        }
        Ok(Spec { gate, expert, k, d })
    }

    /// Number of parameters: k atoms of (beta0, beta1, a, b), 2d + 2 each.
    pub fn n_params(&self) -> usize {
        2 * self.k * (self.d + 1)
    }

    /// Offset of beta1_i in theta (a row of the weight matrix W).
    #[inline]
    pub fn beta1_offset(&self, i: usize) -> usize {
        i * self.d
    }
    #[inline]
    pub fn a_offset(&self, i: usize) -> usize {
        (self.k + i) * self.d
    }
    #[inline]
    pub fn beta0_offset(&self, i: usize) -> usize {
        2 * self.k * self.d + i
    }
    #[inline]
    pub fn b_offset(&self, i: usize) -> usize {
        2 * self.k * self.d + self.k + i
    }
}

/// One atom: gate intercept beta0, gate slope beta1, expert slope a and intercept b.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Atom {
    pub beta0: f64,
    pub beta1: Vec<f64>,
    pub a: Vec<f64>,
    pub b: f64,
}

impl Atom {
    /// The atom's location omega = (beta1, a, b): beta0 is not part of it.
    pub fn location(&self) -> Vec<f64> {
        let mut w = Vec::with_capacity(2 * self.a.len() + 1);
        w.extend_from_slice(&self.beta1);
        w.extend_from_slice(&self.a);
        w.push(self.b);
        w
    }
}

/// A mixture of experts with its parameters.
///
/// Layout of `theta` (length 2k(d+1)), chosen so that the two linear maps of the model form
/// one matrix product: first the weight matrix W (2k x d, row-major), whose rows 0..k are the
/// gate slopes beta1_i and rows k..2k the expert slopes a_i; then the bias vector c (2k), whose
/// entries 0..k are beta0_i and k..2k are b_i. For input x, z = W x + c holds every gate
/// logit followed by every expert pre-activation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mixture {
    pub spec: Spec,
    pub theta: Vec<f64>,
}

impl Mixture {
    pub fn zeros(spec: Spec) -> Self {
        Mixture { theta: vec![0.0; spec.n_params()], spec }
    }

    pub fn from_theta(spec: Spec, theta: Vec<f64>) -> Result<Self, ModelError> {
        if theta.len() != spec.n_params() {
            return Err(ModelError::Shape(format!(
                "theta has {} entries, a {}-atom mixture in dimension {} needs {}",
                theta.len(),
                spec.k,
                spec.d,
                spec.n_params()
            )));
        }
        Ok(Mixture { spec, theta })
    }

    pub fn from_atoms(gate: Gate, expert: Expert, atoms: &[Atom]) -> Result<Self, ModelError> {
        let d = atoms.first().map(|a| a.a.len()).unwrap_or(0);
        let spec = Spec::new(gate, expert, atoms.len(), d)?;
        let mut m = Mixture::zeros(spec);
        for (i, atom) in atoms.iter().enumerate() {
            if atom.beta1.len() != d || atom.a.len() != d {
                return Err(ModelError::Shape(format!("atom {i} has a dimension other than {d}")));
            }
            m.set_atom(i, atom);
        }
        Ok(m)
    }

    pub fn k(&self) -> usize {
        self.spec.k
    }
    pub fn d(&self) -> usize {
        self.spec.d
    }
    pub fn beta0(&self, i: usize) -> f64 {
        self.theta[self.spec.beta0_offset(i)]
    }
    pub fn b(&self, i: usize) -> f64 {
        self.theta[self.spec.b_offset(i)]
    }
    pub fn beta1(&self, i: usize) -> &[f64] {
        let o = self.spec.beta1_offset(i);
        &self.theta[o..o + self.spec.d]
    }
    pub fn a(&self, i: usize) -> &[f64] {
        let o = self.spec.a_offset(i);
        &self.theta[o..o + self.spec.d]
    }

    /// The weight w(beta0_i) of atom i in the mixing measure.
    pub fn weight(&self, i: usize) -> f64 {
        self.spec.gate.weight(self.beta0(i))
    }

    pub fn atom(&self, i: usize) -> Atom {
        Atom { beta0: self.beta0(i), beta1: self.beta1(i).to_vec(), a: self.a(i).to_vec(), b: self.b(i) }
    }

    pub fn atoms(&self) -> Vec<Atom> {
        (0..self.k()).map(|i| self.atom(i)).collect()
    }

    pub fn set_atom(&mut self, i: usize, atom: &Atom) {
        let s = self.spec;
        self.theta[s.beta0_offset(i)] = atom.beta0;
        self.theta[s.b_offset(i)] = atom.b;
        self.theta[s.beta1_offset(i)..s.beta1_offset(i) + s.d].copy_from_slice(&atom.beta1);
        self.theta[s.a_offset(i)..s.a_offset(i) + s.d].copy_from_slice(&atom.a);
    }

    /// The same mixture with its atoms reordered: atom j of the result is atom perm[j] of self.
    pub fn permuted(&self, perm: &[usize]) -> Mixture {
        let mut out = Mixture::zeros(self.spec);
        for (j, &i) in perm.iter().enumerate() {
            out.set_atom(j, &self.atom(i));
        }
        out
    }

    /// f_G(x) for every row of x (n x d, row-major).
    pub fn predict(&self, x: &[f64]) -> Vec<f64> {
        let n = x.len() / self.spec.d;
        let mut out = vec![0.0; n];
        crate::kernel::predict_into(&self.spec, &self.theta, x, &mut out, &mut crate::Workspace::default());
        out
    }

    /// The gate values (g_1..g_k) at one input x.
    pub fn gates_at(&self, x: &[f64]) -> Vec<f64> {
        let logits: Vec<f64> = (0..self.k()).map(|i| dot(self.beta1(i), x) + self.beta0(i)).collect();
        match self.spec.gate {
            Gate::Sigmoid => logits.iter().map(|&t| crate::sigmoid(t)).collect(),
            Gate::Softmax => softmax(&logits),
        }
    }

    /// The expert value h(x; a_i, b_i) at one input x.
    pub fn expert_at(&self, i: usize, x: &[f64]) -> f64 {
        self.spec.expert.phi(dot(self.a(i), x) + self.b(i))
    }
}

pub fn dot(u: &[f64], v: &[f64]) -> f64 {
    u.iter().zip(v).map(|(a, b)| a * b).sum()
}

/// Numerically stable softmax.
pub fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|&t| (t - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|t| t / s).collect()
}
