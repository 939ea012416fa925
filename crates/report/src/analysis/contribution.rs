//! An expert error that no gate normalisation can move (issue 25.1): each atom's contribution
//! g_i(x) h_i(x), the term it adds to the regression function, against the true atoms'. A gate's
//! normalisation (sigmoid values need not sum to one, softmax values do), the trade of a gate
//! intercept against the scale of a positively homogeneous expert, and the softmax gauge all
//! leave every contribution unchanged, so they leave this error unchanged; the expert error of
//! `smoe_metrics::matched_expert_error` is moved by the first two. Measured by the probe
//! crates/studies/examples/contribution_probe.rs on the fitted parameters (params.parquet); it
//! moves into the scoring of `smoe_metrics` with the next full rerun (docs/PROTOCOL.md 11c).

use smoe_model::Mixture;

/// g_i(x) h_i(x) for every atom i (rows) at every point (columns).
pub fn contributions(m: &Mixture, x: &[f64], d: usize) -> Vec<Vec<f64>> {
    let mut out = vec![Vec::with_capacity(x.len() / d); m.k()];
    for p in x.chunks(d) {
        let g = m.gates_at(p);
        for (i, o) in out.iter_mut().enumerate() {
            o.push(g[i] * m.expert_at(i, p));
        }
    }
    out
}

fn l2(u: &[f64], v: &[f64]) -> f64 {
    (u.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / u.len() as f64).sqrt()
}

/// The contribution error of a fit against the truth (see the module doc).
pub fn contribution_error(fit: &[Vec<f64>], truth: &[Vec<f64>]) -> f64 {
    let mut cells: Vec<Vec<f64>> = truth.iter().map(|t| vec![0.0; t.len()]).collect();
    for c in fit {
        let j = (0..truth.len()).min_by(|&a, &b| l2(c, &truth[a]).total_cmp(&l2(c, &truth[b]))).expect("atoms");
        for (s, v) in cells[j].iter_mut().zip(c) {
            *s += v;
        }
    }
    cells.iter().zip(truth).map(|(s, t)| l2(s, t)).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoe_model::{Atom, Expert, Gate};

    fn atom(beta0: f64, a: [f64; 2], b: f64) -> Atom {
        Atom { beta1: vec![0.0, 0.0], a: a.to_vec(), beta0, b }
    }

    #[test]
    fn a_softmax_fit_that_reproduces_a_sigmoid_truth_has_no_contribution_error() {
        // sigmoid truth with constant gates s_j (zero gate slopes), ReLU experts
        let truth_atoms = [atom(0.3, [1.0, -0.5], 0.2), atom(-0.4, [-0.7, 0.8], 0.1), atom(1.1, [0.2, 0.9], -0.3)];
        let truth = Mixture::from_atoms(Gate::Sigmoid, Expert::Relu, &truth_atoms).unwrap();
        let s: Vec<f64> = (0..3).map(|j| truth.gates_at(&[0.0, 0.0])[j]).collect();
        let total: f64 = s.iter().sum();
        assert!(total > 1.2, "the gates do not sum to one: {total}");
        // softmax weights s_j / total (logits ln s_j), experts scaled by total (ReLU is homogeneous)
        let fit_atoms: Vec<Atom> = truth_atoms
            .iter()
            .zip(&s)
            .map(|(t, sj)| Atom { beta1: vec![0.0, 0.0], a: t.a.iter().map(|v| v * total).collect(), beta0: sj.ln(), b: t.b * total })
            .collect();
        let fit = Mixture::from_atoms(Gate::Softmax, Expert::Relu, &fit_atoms).unwrap();
        let x: Vec<f64> = (0..400).flat_map(|i| [((i * 37) % 200) as f64 / 100.0 - 1.0, ((i * 91) % 200) as f64 / 100.0 - 1.0]).collect();
        // the same regression function
        let (f, g) = (truth.predict(&x), fit.predict(&x));
        assert!(f.iter().zip(&g).all(|(a, b)| (a - b).abs() < 1e-12));
        // no contribution error, while the experts differ by the factor total
        let e = contribution_error(&contributions(&fit, &x, 2), &contributions(&truth, &x, 2));
        assert!(e < 1e-12, "{e}");
        let matched = smoe_metrics::matched_expert_error(&fit, &truth, &x);
        assert!(matched > 0.1, "the matched expert error sees the inflation: {matched}");
    }

    #[test]
    fn a_missing_atom_is_charged_its_whole_contribution() {
        let t = [atom(0.0, [1.0, 0.0], 0.5), atom(0.0, [0.0, 1.0], 0.5)];
        let truth = Mixture::from_atoms(Gate::Sigmoid, Expert::Relu, &t).unwrap();
        // the fit doubles atom 0 and loses atom 1
        let fit = Mixture::from_atoms(Gate::Sigmoid, Expert::Relu, &[t[0].clone(), t[0].clone()]).unwrap();
        let x: Vec<f64> = (0..200).flat_map(|i| [(i % 20) as f64 / 10.0 - 1.0, (i / 20) as f64 / 5.0 - 1.0]).collect();
        let (cf, ct) = (contributions(&fit, &x, 2), contributions(&truth, &x, 2));
        let norm = |v: &[f64]| (v.iter().map(|a| a * a).sum::<f64>() / v.len() as f64).sqrt();
        // atom 0's cell holds two copies (twice its contribution): error ||c0||; atom 1's is empty: ||c1||
        let e = contribution_error(&cf, &ct);
        assert!((e - norm(&ct[0]).max(norm(&ct[1]))).abs() < 1e-12, "{e}");
    }
}
