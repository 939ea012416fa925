//! The compact parameter space Theta of the theorems: a box, one interval per parameter group.
//!
//! The paper's results are about the least-squares estimator over a compact Theta. Without one,
//! the fit of an over-specified mixture can slide to infinity along a valley (a sigmoid gate deep
//! in its tail times a positively homogeneous expert trades its intercept against the expert's
//! scale), so that the estimator, and G_bar, do not exist as finite points.

use crate::EstimatorError;
use serde::{Deserialize, Serialize};
use smoe_model::Spec;

/// Theta as written in configs: a closed interval `[lo, hi]` for every coordinate of each group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThetaBox {
    /// beta0, the gate intercepts.
    pub gate_intercept: [f64; 2],
    /// Every coordinate of beta1, the gate slopes.
    pub gate_slope: [f64; 2],
    /// Every coordinate of a, the expert slopes.
    pub expert_slope: [f64; 2],
    /// b, the expert intercepts.
    pub expert_intercept: [f64; 2],
}

/// The four parameter groups of an atom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamGroup {
    GateIntercept,
    GateSlope,
    ExpertSlope,
    ExpertIntercept,
}

impl ParamGroup {
    pub const ALL: [ParamGroup; 4] =
        [ParamGroup::GateIntercept, ParamGroup::GateSlope, ParamGroup::ExpertSlope, ParamGroup::ExpertIntercept];

    pub fn name(self) -> &'static str {
        match self {
            ParamGroup::GateIntercept => "gate_intercept",
            ParamGroup::GateSlope => "gate_slope",
            ParamGroup::ExpertSlope => "expert_slope",
            ParamGroup::ExpertIntercept => "expert_intercept",
        }
    }

    /// The group of entry `index` of theta (see [`smoe_model::Mixture`] for the layout).
    pub fn of(spec: &Spec, index: usize) -> ParamGroup {
        let (k, d) = (spec.k, spec.d);
        if index < k * d {
            ParamGroup::GateSlope
        } else if index < 2 * k * d {
            ParamGroup::ExpertSlope
        } else if index < 2 * k * d + k {
            ParamGroup::GateIntercept
        } else {
            ParamGroup::ExpertIntercept
        }
    }
}

impl ThetaBox {
    pub fn interval(&self, g: ParamGroup) -> [f64; 2] {
        match g {
            ParamGroup::GateIntercept => self.gate_intercept,
            ParamGroup::GateSlope => self.gate_slope,
            ParamGroup::ExpertSlope => self.expert_slope,
            ParamGroup::ExpertIntercept => self.expert_intercept,
        }
    }

    /// Every interval must be finite with lo < 0 < hi (Theta must hold the zero slopes of the
    /// truths and be compact).
    pub fn check(&self) -> Result<(), EstimatorError> {
        for g in ParamGroup::ALL {
            let [lo, hi] = self.interval(g);
            if !(lo.is_finite() && hi.is_finite() && lo < 0.0 && 0.0 < hi) {
                return Err(EstimatorError::invalid(
                    match g {
                        ParamGroup::GateIntercept => "theta_box.gate_intercept",
                        ParamGroup::GateSlope => "theta_box.gate_slope",
                        ParamGroup::ExpertSlope => "theta_box.expert_slope",
                        ParamGroup::ExpertIntercept => "theta_box.expert_intercept",
                    },
                    format!("[{lo}, {hi}]"),
                    "a finite interval [lo, hi] with lo < 0 < hi",
                ));
            }
        }
        Ok(())
    }

    /// Per-entry bounds for a mixture of structure `spec`.
    pub fn bounds(&self, spec: &Spec) -> Bounds {
        let p = spec.n_params();
        let (mut lower, mut upper) = (vec![0.0; p], vec![0.0; p]);
        for i in 0..p {
            let [lo, hi] = self.interval(ParamGroup::of(spec, i));
            lower[i] = lo;
            upper[i] = hi;
        }
        Bounds { lower, upper }
    }

    /// How far inside Theta a parameter vector lies: the smallest distance of any entry to its
    /// bound, relative to the interval's half-width (1 at the centre, 0 on the boundary, negative
    /// outside), and the group where it is smallest.
    pub fn margin(&self, spec: &Spec, theta: &[f64]) -> (f64, ParamGroup) {
        let mut worst = (f64::INFINITY, ParamGroup::GateIntercept);
        for (i, &v) in theta.iter().enumerate() {
            let g = ParamGroup::of(spec, i);
            let [lo, hi] = self.interval(g);
            let m = (v - lo).min(hi - v) / ((hi - lo) / 2.0);
            if m < worst.0 {
                worst = (m, g);
            }
        }
        worst
    }
}

/// Lower and upper bound of every entry of theta.
#[derive(Clone, Debug, PartialEq)]
pub struct Bounds {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

impl Bounds {
    /// No bounds (every entry free on the real line).
    pub fn unbounded(p: usize) -> Bounds {
        Bounds { lower: vec![f64::NEG_INFINITY; p], upper: vec![f64::INFINITY; p] }
    }

    pub fn len(&self) -> usize {
        self.lower.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// The projection of theta onto the box (in place).
    pub fn project(&self, theta: &mut [f64]) {
        for ((t, &lo), &hi) in theta.iter_mut().zip(&self.lower).zip(&self.upper) {
            *t = t.clamp(lo, hi);
        }
    }

    /// The projected gradient theta - P(theta - g): zero exactly at a first-order (KKT) point of
    /// the box-constrained problem; it equals g where no bound is near.
    pub fn projected_gradient(&self, theta: &[f64], g: &[f64]) -> Vec<f64> {
        theta.iter().zip(g).zip(self.lower.iter().zip(&self.upper)).map(|((&t, &gi), (&lo, &hi))| t - (t - gi).clamp(lo, hi)).collect()
    }

    /// Entries held at a bound by the gradient (at the lower bound with g > 0, or at the upper
    /// bound with g < 0): they stay fixed in a projected Newton step.
    pub fn held(&self, theta: &[f64], g: &[f64]) -> Vec<bool> {
        theta
            .iter()
            .zip(g)
            .zip(self.lower.iter().zip(&self.upper))
            .map(|((&t, &gi), (&lo, &hi))| (t <= lo && gi > 0.0) || (t >= hi && gi < 0.0))
            .collect()
    }
}

/// Entries of theta on a bound, counted by group and side: which walls of Theta the fit touches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveBounds {
    pub gate_intercept_lo: u32,
    pub gate_intercept_hi: u32,
    pub gate_slope: u32,
    pub expert_slope: u32,
    pub expert_intercept: u32,
}

impl ActiveBounds {
    pub fn of(spec: &Spec, bounds: &Bounds, theta: &[f64]) -> ActiveBounds {
        let mut a = ActiveBounds::default();
        for (i, &t) in theta.iter().enumerate() {
            let (lo, hi) = (bounds.lower[i], bounds.upper[i]);
            if !(t <= lo || t >= hi) || (lo == hi) {
                continue;
            }
            match ParamGroup::of(spec, i) {
                ParamGroup::GateIntercept if t <= lo => a.gate_intercept_lo += 1,
                ParamGroup::GateIntercept => a.gate_intercept_hi += 1,
                ParamGroup::GateSlope => a.gate_slope += 1,
                ParamGroup::ExpertSlope => a.expert_slope += 1,
                ParamGroup::ExpertIntercept => a.expert_intercept += 1,
            }
        }
        a
    }

    pub fn total(&self) -> u32 {
        self.gate_intercept_lo + self.gate_intercept_hi + self.gate_slope + self.expert_slope + self.expert_intercept
    }
}
