//! Initialisation "near the truth": the true atoms, the over-fitted atom duplicated, plus noise.

use crate::error::{non_negative, positive};
use crate::EstimatorError;
use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use smoe_model::{logit, sigmoid, Expert, Gate, Mixture, Spec};

/// How the initial parameters are perturbed, as a function of the sample size n.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum InitNoise {
    /// Start exactly at the (split) truth.
    None,
    /// i.i.d. N(0, sd^2) added to every parameter.
    Fixed { sd: f64 },
    /// sd(n) = sd * (n / n0)^(-power): the start approaches the truth as n grows.
    Shrinking { sd: f64, n0: f64, power: f64 },
}

impl InitNoise {
    pub fn sd(&self, n: usize) -> f64 {
        match *self {
            InitNoise::None => 0.0,
            InitNoise::Fixed { sd } => sd,
            InitNoise::Shrinking { sd, n0, power } => sd * (n as f64 / n0).powf(-power),
        }
    }
    fn check(&self) -> Result<(), EstimatorError> {
        match *self {
            InitNoise::None => Ok(()),
            InitNoise::Fixed { sd } => non_negative("init.noise.sd", sd).map(|_| ()),
            InitNoise::Shrinking { sd, n0, power } => {
                non_negative("init.noise.sd", sd)?;
                positive("init.noise.n0", n0)?;
                non_negative("init.noise.power", power).map(|_| ())
            }
        }
    }
}

/// How the gate mass of the duplicated true atom is shared among its copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MassSplit {
    /// The copies share the original weight equally: sigmoid gates sigmoid(beta0)/m each
    /// (so the gates sum to the original gate at beta1 = 0), softmax masses exp(beta0)/m each.
    Share,
    /// Every copy keeps the original beta0 (m copies multiply the atom's gate by m).
    Copy,
}

/// Unchecked initialisation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitParams {
    pub noise: InitNoise,
    /// The true atom (numbered 1..=k*) that receives the k - k* extra fitted atoms.
    pub split_atom: usize,
    pub mass_split: MassSplit,
}

/// Validated initialisation settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Init(InitParams);

impl InitParams {
    pub fn check(self) -> Result<Init, EstimatorError> {
        self.noise.check()?;
        if self.split_atom == 0 {
            return Err(EstimatorError::invalid("init.split_atom", 0, "an atom number >= 1"));
        }
        Ok(Init(self))
    }
}

impl Init {
    pub fn params(&self) -> &InitParams {
        &self.0
    }

    /// The noise-free start: the truth's atoms, with `split_atom` repeated so there are k atoms,
    /// in a fit with gate `gate` and expert `expert`. Atoms keep the truth's order; copies go last.
    pub fn centre(&self, truth: &Mixture, gate: Gate, expert: Expert, k: usize) -> Result<Mixture, EstimatorError> {
        let k_star = truth.k();
        if k < k_star {
            return Err(EstimatorError::invalid("k", k, format!("an integer >= k* = {k_star}")));
        }
        let j = self.0.split_atom;
        if j > k_star {
            return Err(EstimatorError::invalid("init.split_atom", j, format!("atom numbers 1..={k_star}")));
        }
        let mut atoms = truth.atoms();
        let copies = k - k_star + 1;
        if copies > 1 {
            let split = &mut atoms[j - 1];
            if self.0.mass_split == MassSplit::Share {
                split.beta0 = match gate {
                    Gate::Sigmoid => logit(sigmoid(split.beta0) / copies as f64),
                    Gate::Softmax => split.beta0 - (copies as f64).ln(),
                };
            }
            let dup = split.clone();
            for _ in 1..copies {
                atoms.push(dup.clone());
            }
        }
        Ok(Mixture::from_atoms(gate, expert, &atoms)?)
    }

    /// The start for sample size n: [`Init::centre`] plus N(0, sd(n)^2) on every free parameter.
    pub fn start<R: Rng + ?Sized>(&self, truth: &Mixture, spec: Spec, n: usize, rng: &mut R) -> Result<Mixture, EstimatorError> {
        self.perturbed_centre(truth, spec, self.0.noise.sd(n), rng)
    }

    /// [`Init::centre`] plus N(0, sd^2) on every free parameter. A start with sd = 0 keeps the
    /// copies of the split atom identical, and gradient-based fits never separate them (the
    /// symmetric subspace is invariant): G_bar must be computed from a perturbed start.
    pub fn perturbed_centre<R: Rng + ?Sized>(&self, truth: &Mixture, spec: Spec, sd: f64, rng: &mut R) -> Result<Mixture, EstimatorError> {
        let mut m = self.centre(truth, spec.gate, spec.expert, spec.k)?;
        if !(sd.is_finite() && sd >= 0.0) {
            return Err(EstimatorError::invalid("sd", sd, "a finite number >= 0"));
        }
        if sd > 0.0 {
            let normal = Normal::new(0.0, sd).expect("checked sd");
            for v in m.theta.iter_mut() {
                *v += normal.sample(rng);
            }
            if !spec.expert.has_slope() {
                for i in 0..spec.k {
                    let o = spec.a_offset(i);
                    m.theta[o..o + spec.d].iter_mut().for_each(|v| *v = 0.0);
                }
            }
        }
        Ok(m)
    }
}
