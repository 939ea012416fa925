//! Expert activation functions phi and gating functions.

use crate::ModelError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The activation phi of a ridge expert h(x; a, b) = phi(a.x + b).
///
/// `Constant` is the input-independent expert of the paper: its slope `a` is fixed at zero
/// (never fitted), so h(x; a, b) = b.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Expert {
    Relu,
    /// Exact GELU, u * Phi(u) with the normal CDF written through erfc.
    Gelu,
    /// Identity: the linear expert a.x + b.
    Linear,
    /// Polynomial u^p, p >= 1.
    Poly(u32),
    Sigmoid,
    Tanh,
    /// Input-independent expert: a is held at zero, h = b.
    Constant,
}

pub const EXPERT_NAMES: &str = "relu, gelu, linear, poly:<p> (p >= 1), sigmoid, tanh, constant";

const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

impl Expert {
    /// phi(u).
    #[inline(always)]
    pub fn phi(self, u: f64) -> f64 {
        match self {
            Expert::Relu => u.max(0.0),
            Expert::Gelu => u * normal_cdf(u),
            Expert::Linear | Expert::Constant => u,
            Expert::Poly(p) => u.powi(p as i32),
            Expert::Sigmoid => sigmoid(u),
            Expert::Tanh => u.tanh(),
        }
    }

    /// (phi(u), phi'(u)). ReLU's derivative at 0 is taken as 0.
    #[inline(always)]
    pub fn phi_and_deriv(self, u: f64) -> (f64, f64) {
        match self {
            Expert::Relu => {
                if u > 0.0 {
                    (u, 1.0)
                } else {
                    (0.0, 0.0)
                }
            }
            Expert::Gelu => {
                let cdf = normal_cdf(u);
                let pdf = FRAC_1_SQRT_2PI * (-0.5 * u * u).exp();
                (u * cdf, cdf + u * pdf)
            }
            Expert::Linear | Expert::Constant => (u, 1.0),
            Expert::Poly(p) => {
                let pm1 = u.powi(p as i32 - 1);
                (pm1 * u, p as f64 * pm1)
            }
            Expert::Sigmoid => {
                let s = sigmoid(u);
                (s, s * (1.0 - s))
            }
            Expert::Tanh => {
                let t = u.tanh();
                (t, 1.0 - t * t)
            }
        }
    }

    /// Whether the slope `a` is a free parameter (false only for the input-independent expert).
    pub fn has_slope(self) -> bool {
        !matches!(self, Expert::Constant)
    }

    /// Whether phi is affine, so that sup over the cube of |h1 - h2| has a closed form.
    pub fn is_affine(self) -> bool {
        matches!(self, Expert::Linear | Expert::Constant | Expert::Poly(1))
    }
}

/// Standard normal CDF, accurate in both tails.
#[inline(always)]
pub fn normal_cdf(u: f64) -> f64 {
    0.5 * libm::erfc(-u * std::f64::consts::FRAC_1_SQRT_2)
}

/// The logistic function, written so it never overflows.
#[inline(always)]
pub fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// exp(x) without branches or calls, so loops over it vectorise. Cody-Waite reduction
/// x = k ln 2 + r, |r| <= ln 2 / 2, a degree-13 Taylor polynomial for exp(r) (truncation error
/// below 2e-16 relative), and 2^k assembled from its bits. Inputs are clamped to [-708, 709], so
/// the result is always a normal number; NaN propagates. Agrees with `f64::exp` to a few ulp.
// The ln 2 split keeps fdlibm's published digits; max/min (not clamp) keep the reduction free of
// NaN handling, which is done once at the end.
#[allow(clippy::excessive_precision, clippy::manual_clamp)]
#[inline(always)]
pub fn exp_fast(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238_164_9e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    // 1.5 * 2^52: adding it rounds to an integer held in the low mantissa bits
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    const C: [f64; 14] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    ];
    let nan = x.is_nan();
    let x = x.max(-708.0).min(709.0);
    let t = x * LOG2E + MAGIC;
    let k = t - MAGIC;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = C[13];
    let mut i = 13;
    while i > 0 {
        i -= 1;
        p = p * r + C[i];
    }
    let ki = (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    let y = p * f64::from_bits(((ki + 1023) as u64) << 52);
    if nan {
        f64::NAN
    } else {
        y
    }
}

/// The logistic function through [`exp_fast`]: branch-free, for the vectorised kernel.
#[inline(always)]
pub fn sigmoid_fast(t: f64) -> f64 {
    1.0 / (1.0 + exp_fast(-t))
}

/// Inverse of the logistic function.
pub fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

impl fmt::Display for Expert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expert::Relu => write!(f, "relu"),
            Expert::Gelu => write!(f, "gelu"),
            Expert::Linear => write!(f, "linear"),
            Expert::Poly(p) => write!(f, "poly:{p}"),
            Expert::Sigmoid => write!(f, "sigmoid"),
            Expert::Tanh => write!(f, "tanh"),
            Expert::Constant => write!(f, "constant"),
        }
    }
}

impl FromStr for Expert {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "relu" => Expert::Relu,
            "gelu" => Expert::Gelu,
            "linear" => Expert::Linear,
            "sigmoid" => Expert::Sigmoid,
            "tanh" => Expert::Tanh,
            "constant" => Expert::Constant,
            other => match other.strip_prefix("poly:").map(str::parse::<u32>) {
                Some(Ok(p)) if p >= 1 => Expert::Poly(p),
                _ => return Err(ModelError::invalid("expert", format!("{other:?}"), EXPERT_NAMES)),
            },
        })
    }
}

impl TryFrom<String> for Expert {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Expert> for String {
    fn from(e: Expert) -> String {
        e.to_string()
    }
}

/// The gating function of the mixture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// Unnormalised sigmoid gates, each in (0, 1); atom weight sigmoid(beta0).
    Sigmoid,
    /// Softmax gates summing to one; atom weight exp(beta0); invariant to a common shift.
    Softmax,
}

impl Gate {
    /// The weight w(beta0) the mixing measure puts on an atom.
    pub fn weight(self, beta0: f64) -> f64 {
        match self {
            Gate::Sigmoid => sigmoid(beta0),
            Gate::Softmax => beta0.exp(),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Gate::Sigmoid => "sigmoid",
            Gate::Softmax => "softmax",
        }
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
