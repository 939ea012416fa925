//! Voronoi cells and the Voronoi losses D1, D2,r, D3 and the softmax loss (SPEC section 4).

use serde::{Deserialize, Serialize};
use smoe_model::{Gate, Mixture};

/// Assignment of fitted atoms to the nearest reference atom in location omega = (beta1, a, b).
#[derive(Clone, Debug, PartialEq)]
pub struct VoronoiCells {
    /// For fitted atom i, the reference atom j it is sent to.
    pub assignment: Vec<usize>,
    /// For reference atom j, the fitted atoms in its cell A_j (ascending).
    pub cells: Vec<Vec<usize>>,
}

impl VoronoiCells {
    /// |A_j| for every reference atom j.
    pub fn cardinalities(&self) -> Vec<usize> {
        self.cells.iter().map(Vec::len).collect()
    }
    /// Number of reference atoms with no fitted atom: a degenerate fit.
    pub fn empty_cells(&self) -> usize {
        self.cells.iter().filter(|c| c.is_empty()).count()
    }
    /// Number of reference atoms fitted by two or more atoms.
    pub fn overfitted_cells(&self) -> usize {
        self.cells.iter().filter(|c| c.len() > 1).count()
    }
}

fn sq_dist(u: &[f64], v: &[f64]) -> f64 {
    u.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum()
}

fn dist(u: &[f64], v: &[f64]) -> f64 {
    sq_dist(u, v).sqrt()
}

/// Voronoi cells of `fitted` around the atoms of `reference`, in Euclidean distance on
/// omega = (beta1, a, b); ties go to the lowest reference index.
pub fn voronoi_cells(fitted: &Mixture, reference: &Mixture) -> VoronoiCells {
    let refs: Vec<Vec<f64>> = reference.atoms().iter().map(|a| a.location()).collect();
    let mut cells = vec![Vec::new(); reference.k()];
    let assignment: Vec<usize> = fitted
        .atoms()
        .iter()
        .enumerate()
        .map(|(i, atom)| {
            let w = atom.location();
            let mut best = (f64::INFINITY, 0);
            for (j, r) in refs.iter().enumerate() {
                let dj = sq_dist(&w, r);
                if dj < best.0 {
                    best = (dj, j);
                }
            }
            cells[best.1].push(i);
            best.1
        })
        .collect();
    VoronoiCells { assignment, cells }
}

/// Which Voronoi loss.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LossKind {
    /// Regime 1, strongly identifiable experts.
    D1,
    /// Regime 1, polynomial/linear experts, with exponent r >= 1.
    D2 { r: f64 },
    /// Regime 2 (against G_bar), weakly identifiable experts.
    D3,
    /// Softmax gating, in the gauge fixed by [`canonical_softmax_gauge`].
    Softmax,
    /// D1 with the homogeneity of ReLU experts quotiented out (sigmoid gating). At a zero gate
    /// slope, sigmoid(beta0) phi(a.x + b) depends on (beta0, a, b) only through the gated expert
    /// v = sigmoid(beta0) (a, b) when phi is positively homogeneous, so the loss is written in v:
    /// over-fitted cells charge |sum_i v_i - v*_j| plus, per atom, |d_beta1|^2 and the squared
    /// distance of v_i from the ray through v*_j (copies must point the same way and add up);
    /// singly fitted cells charge |d_beta1| + |v_i - v*_j|. It is zero on the whole orbit of the
    /// truth under the trade beta0 <-> scale of (a, b) and the splitting of an atom into parallel
    /// copies; D1 is not.
    D1h,
    /// The softmax loss with exponent-1 terms for the atoms of over-fitted cells (the paper does
    /// not say which form its softmax curves use).
    SoftmaxR1,
}

impl LossKind {
    pub fn name(&self) -> String {
        match self {
            LossKind::D1 => "D1".into(),
            LossKind::D2 { r } => format!("D2_r{r}"),
            LossKind::D3 => "D3".into(),
            LossKind::Softmax => "Dsoftmax".into(),
            LossKind::D1h => "D1h".into(),
            LossKind::SoftmaxR1 => "Dsoftmax_r1".into(),
        }
    }
}

/// The three parts of a Voronoi loss, kept apart so a reader sees which one dominates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossParts {
    /// Mass terms |sum_{i in A_j} w(beta0_i) - w(beta0*_j)| (for D1h: |sum_i v_i - v*_j|).
    pub mass: f64,
    /// Terms of atoms in over-fitted cells (|A_j| > 1).
    pub overfitted: f64,
    /// Terms of atoms in singly fitted cells (|A_j| = 1).
    pub single: f64,
}

/// A loss value with its parts and the cell structure it was computed on.
#[derive(Clone, Debug, PartialEq)]
pub struct LossValue {
    pub total: f64,
    pub parts: LossParts,
    pub cells: VoronoiCells,
}

/// Per-parameter differences of fitted atom i to reference atom j.
struct Diff {
    beta0: f64,
    beta1: f64,
    a: f64,
    b: f64,
    eta: f64,
}

fn diff(fitted: &Mixture, i: usize, reference: &Mixture, j: usize) -> Diff {
    let a = dist(fitted.a(i), reference.a(j));
    let b = (fitted.b(i) - reference.b(j)).abs();
    Diff {
        beta0: (fitted.beta0(i) - reference.beta0(j)).abs(),
        beta1: dist(fitted.beta1(i), reference.beta1(j)),
        a,
        b,
        eta: (a * a + b * b).sqrt(),
    }
}

/// The Voronoi loss `kind` of `fitted` against `reference` (G* or G_bar).
///
/// Softmax-gated mixtures (for any loss kind) are first put in the canonical gauge, so the
/// value does not depend on the gauge either was given in.
pub fn voronoi_loss(kind: LossKind, fitted: &Mixture, reference: &Mixture) -> LossValue {
    let gauge = |m: &Mixture| if m.spec.gate == Gate::Softmax { canonical_softmax_gauge(m) } else { m.clone() };
    loss_in_gauge(kind, &gauge(fitted), &gauge(reference))
}

/// sigmoid(beta0_i) (a_i, b_i): the gated expert, invariant under the homogeneity trade.
fn gated_expert(m: &Mixture, i: usize) -> Vec<f64> {
    let w = m.spec.gate.weight(m.beta0(i));
    m.a(i).iter().map(|v| w * v).chain(std::iter::once(w * m.b(i))).collect()
}

/// D1h (see [`LossKind::D1h`]) on given cells.
fn homogeneity_quotient_loss(fitted: &Mixture, reference: &Mixture, cells: &VoronoiCells) -> LossParts {
    let mut parts = LossParts::default();
    for (j, cell) in cells.cells.iter().enumerate() {
        if cell.is_empty() {
            continue;
        }
        let target = gated_expert(reference, j);
        if cell.len() > 1 {
            let mut sum = vec![0.0; target.len()];
            let norm_t = dist(&target, &vec![0.0; target.len()]);
            for &i in cell {
                let v = gated_expert(fitted, i);
                sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
                // squared distance of v from the ray {t v*: t >= 0}
                let along = if norm_t > 0.0 { (v.iter().zip(&target).map(|(a, b)| a * b).sum::<f64>() / norm_t).max(0.0) } else { 0.0 };
                let foot: Vec<f64> = target.iter().map(|t| if norm_t > 0.0 { t / norm_t * along } else { 0.0 }).collect();
                parts.overfitted += dist(fitted.beta1(i), reference.beta1(j)).powi(2) + sq_dist(&v, &foot);
            }
            parts.mass += dist(&sum, &target);
        } else {
            let i = cell[0];
            parts.single += dist(fitted.beta1(i), reference.beta1(j)) + dist(&gated_expert(fitted, i), &target);
        }
    }
    parts
}

fn loss_in_gauge(kind: LossKind, fitted: &Mixture, reference: &Mixture) -> LossValue {
    let cells = voronoi_cells(fitted, reference);
    if kind == LossKind::D1h {
        let parts = homogeneity_quotient_loss(fitted, reference, &cells);
        return LossValue { total: parts.mass + parts.overfitted + parts.single, parts, cells };
    }
    let w = |m: &Mixture, i: usize| m.spec.gate.weight(m.beta0(i));
    let mut parts = LossParts::default();
    for (j, cell) in cells.cells.iter().enumerate() {
        if cell.is_empty() {
            continue;
        }
        let over = cell.len() > 1;
        let mass = (cell.iter().map(|&i| w(fitted, i)).sum::<f64>() - w(reference, j)).abs();
        match kind {
            LossKind::D1 | LossKind::D2 { .. } if over => parts.mass += mass,
            LossKind::Softmax | LossKind::SoftmaxR1 => parts.mass += mass,
            _ => {}
        }
        for &i in cell {
            let df = diff(fitted, i, reference, j);
            let term = match kind {
                LossKind::D1 if over => df.beta1.powi(2) + df.eta.powi(2),
                LossKind::D1 => df.beta1 + df.beta0 + df.eta,
                LossKind::D2 { r } if over => df.beta1.powf(r) + df.a.powf(r) + df.b.powf(r),
                LossKind::D2 { r } => df.beta0.powf(r) + df.beta1.powf(r) + df.a.powf(r) + df.b.powf(r),
                LossKind::D3 => df.beta0 + df.beta1 + df.eta,
                LossKind::Softmax if over => w(fitted, i) * (df.beta1.powi(2) + df.eta.powi(2)),
                LossKind::Softmax | LossKind::SoftmaxR1 => w(fitted, i) * (df.beta1 + df.eta),
                LossKind::D1h => unreachable!("computed by homogeneity_quotient_loss"),
            };
            if over {
                parts.overfitted += term;
            } else {
                parts.single += term;
            }
        }
    }
    LossValue { total: parts.mass + parts.overfitted + parts.single, parts, cells }
}

/// The canonical gauge of a softmax-gated mixture: masses exp(beta0_i) normalised to sum to one
/// (beta0_i minus their log-sum-exp) and gate slopes centred at their mass-weighted mean.
///
/// Both shifts are the unique representatives of the gauge orbit {beta0 + t0, beta1 + t1}; and
/// because splitting an atom into copies with the same location and masses adding up leaves the
/// total mass and the mass-weighted mean unchanged, an exact split of the truth has loss zero.
pub fn canonical_softmax_gauge(m: &Mixture) -> Mixture {
    assert_eq!(m.spec.gate, Gate::Softmax, "the softmax gauge applies to softmax gating only");
    let k = m.k();
    let d = m.d();
    let mx = (0..k).map(|i| m.beta0(i)).fold(f64::NEG_INFINITY, f64::max);
    let lse = mx + (0..k).map(|i| (m.beta0(i) - mx).exp()).sum::<f64>().ln();
    let mut out = m.clone();
    let mut centre = vec![0.0; d];
    for i in 0..k {
        let wi = (m.beta0(i) - lse).exp();
        out.theta[m.spec.beta0_offset(i)] = m.beta0(i) - lse;
        for (c, v) in centre.iter_mut().zip(m.beta1(i)) {
            *c += wi * v;
        }
    }
    for i in 0..k {
        let o = m.spec.beta1_offset(i);
        for (x, c) in out.theta[o..o + d].iter_mut().zip(&centre) {
            *x -= c;
        }
    }
    out
}
