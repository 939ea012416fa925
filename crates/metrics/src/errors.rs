//! Function-level and per-atom errors.

use crate::VoronoiCells;
use serde::{Deserialize, Serialize};
use smoe_model::Mixture;

/// ||f_fitted - f_target||_{L2(mu)}, estimated on an evaluation sample x (n x d) drawn from mu.
pub fn l2_error(fitted: &Mixture, target: &Mixture, x: &[f64]) -> f64 {
    let a = fitted.predict(x);
    let b = target.predict(x);
    let n = a.len().max(1) as f64;
    (a.iter().zip(&b).map(|(u, v)| (u - v) * (u - v)).sum::<f64>() / n).sqrt()
}

/// Errors of one fitted atom against the reference atom of its Voronoi cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtomError {
    pub atom: usize,
    pub cell: usize,
    /// Whether the cell holds two or more fitted atoms.
    pub overfitted: bool,
    pub d_beta0: f64,
    pub d_beta1: f64,
    /// ||(a, b) - (a*, b*)||.
    pub d_eta: f64,
    /// sup_x |h(x; eta) - h(x; eta*)| over [-1, 1]^d: exact for affine experts
    /// (||a - a*||_1 + |b - b*|), otherwise the maximum over the evaluation sample (a lower bound).
    pub expert_sup: f64,
}

/// Per-atom parameter and expert errors of `fitted` against `reference` on the given cells.
pub fn atom_errors(fitted: &Mixture, reference: &Mixture, cells: &VoronoiCells, x: &[f64]) -> Vec<AtomError> {
    let d = fitted.d();
    let expert = fitted.spec.expert;
    cells
        .assignment
        .iter()
        .enumerate()
        .map(|(i, &j)| {
            let da: Vec<f64> = fitted.a(i).iter().zip(reference.a(j)).map(|(u, v)| u - v).collect();
            let db = fitted.b(i) - reference.b(j);
            let d_beta1 = fitted.beta1(i).iter().zip(reference.beta1(j)).map(|(u, v)| (u - v).powi(2)).sum::<f64>().sqrt();
            let d_eta = (da.iter().map(|v| v * v).sum::<f64>() + db * db).sqrt();
            let expert_sup = if expert.is_affine() {
                da.iter().map(|v| v.abs()).sum::<f64>() + db.abs()
            } else {
                x.chunks_exact(d).map(|row| (fitted.expert_at(i, row) - reference.expert_at(j, row)).abs()).fold(0.0, f64::max)
            };
            AtomError {
                atom: i,
                cell: j,
                overfitted: cells.cells[j].len() > 1,
                d_beta0: (fitted.beta0(i) - reference.beta0(j)).abs(),
                d_beta1,
                d_eta,
                expert_sup,
            }
        })
        .collect()
}

/// Largest parameter error (d_beta1 + d_eta) and expert error over over-fitted and singly
/// fitted atoms: (param_over, param_single, expert_over, expert_single); NaN where none.
pub fn split_atom_errors(errors: &[AtomError]) -> [f64; 4] {
    let max_of = |over: bool, f: &dyn Fn(&AtomError) -> f64| errors.iter().filter(|e| e.overfitted == over).map(f).fold(f64::NAN, f64::max);
    [
        max_of(true, &|e| e.d_beta1 + e.d_eta),
        max_of(false, &|e| e.d_beta1 + e.d_eta),
        max_of(true, &|e| e.expert_sup),
        max_of(false, &|e| e.expert_sup),
    ]
}

/// g_i(x) h_i(x) for every atom i (rows) at every input row of `x` (columns): the term atom i
/// adds to the regression function.
pub fn contributions(m: &Mixture, x: &[f64]) -> Vec<Vec<f64>> {
    let d = m.d();
    let mut out = vec![Vec::with_capacity(x.len() / d.max(1)); m.k()];
    for p in x.chunks_exact(d) {
        let g = m.gates_at(p);
        for (i, o) in out.iter_mut().enumerate() {
            o.push(g[i] * m.expert_at(i, p));
        }
    }
    out
}

fn l2_between(u: &[f64], v: &[f64]) -> f64 {
    (u.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / u.len().max(1) as f64).sqrt()
}

/// The contribution error, an expert error that no gate normalisation can move: each fitted
/// atom's contribution g_i h_i is assigned to the true atom whose contribution is closest in
/// L2(mu) (mu: the rows of `x`), and the error is the largest, over the true atoms, L2(mu) error
/// of their cell's summed contributions (a cell no fitted atom joins is charged the whole true
/// contribution). A gate's normalisation (sigmoid values need not sum to one, softmax values
/// do), the trade of a gate intercept against the scale of a positively homogeneous expert, and
/// the softmax gauge leave every contribution unchanged, so they leave this error unchanged,
/// while they move [`matched_expert_error`] (docs/PROTOCOL.md 11c).
pub fn contribution_error(fitted: &Mixture, truth: &Mixture, x: &[f64]) -> f64 {
    let (fit, truth) = (contributions(fitted, x), contributions(truth, x));
    let mut cells: Vec<Vec<f64>> = truth.iter().map(|t| vec![0.0; t.len()]).collect();
    for c in &fit {
        let j = (0..truth.len()).min_by(|&a, &b| l2_between(c, &truth[a]).total_cmp(&l2_between(c, &truth[b]))).expect("a truth has atoms");
        for (s, v) in cells[j].iter_mut().zip(c) {
            *s += v;
        }
    }
    cells.iter().zip(&truth).map(|(s, t)| l2_between(s, t)).fold(0.0, f64::max)
}

/// The expert error with one matching rule for every gate: each expert of the truth is matched
/// to the fitted expert closest to it in sup norm, sup_x |h(x; eta_i) - h(x; eta*_j)| over
/// [-1, 1]^d (exact for affine experts, the maximum over the evaluation inputs `x` otherwise),
/// and the largest of these errors over the true experts is returned. Gates play no part, so a
/// sigmoid and a softmax fit of the same data are scored against the same truth by the same rule
/// (unlike the Voronoi losses, whose cells, weights and target differ between the gates).
pub fn matched_expert_error(fitted: &Mixture, truth: &Mixture, x: &[f64]) -> f64 {
    let d = fitted.d();
    let expert = fitted.spec.expert;
    let sup = |i: usize, j: usize| -> f64 {
        if expert.is_affine() {
            fitted.a(i).iter().zip(truth.a(j)).map(|(u, v)| (u - v).abs()).sum::<f64>() + (fitted.b(i) - truth.b(j)).abs()
        } else {
            x.chunks_exact(d).map(|row| (fitted.expert_at(i, row) - truth.expert_at(j, row)).abs()).fold(0.0, f64::max)
        }
    };
    (0..truth.k()).map(|j| (0..fitted.k()).map(|i| sup(i, j)).fold(f64::INFINITY, f64::min)).fold(0.0, f64::max)
}
