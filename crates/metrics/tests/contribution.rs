//! The contribution error (docs/PROTOCOL.md 11c): a softmax fit that reproduces a sigmoid truth
//! exactly has none, and a lost atom is charged its whole contribution.
use smoe_metrics::{contribution_error, contributions, matched_expert_error};
use smoe_model::Mixture;
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
    let e = contribution_error(&fit, &truth, &x);
    assert!(e < 1e-12, "{e}");
    let matched = matched_expert_error(&fit, &truth, &x);
    assert!(matched > 0.1, "the matched expert error sees the inflation: {matched}");
}

#[test]
fn a_missing_atom_is_charged_its_whole_contribution() {
    let t = [atom(0.0, [1.0, 0.0], 0.5), atom(0.0, [0.0, 1.0], 0.5)];
    let truth = Mixture::from_atoms(Gate::Sigmoid, Expert::Relu, &t).unwrap();
    // the fit doubles atom 0 and loses atom 1
    let fit = Mixture::from_atoms(Gate::Sigmoid, Expert::Relu, &[t[0].clone(), t[0].clone()]).unwrap();
    let x: Vec<f64> = (0..200).flat_map(|i| [(i % 20) as f64 / 10.0 - 1.0, (i / 20) as f64 / 5.0 - 1.0]).collect();
    let (cf, ct) = (contributions(&fit, &x), contributions(&truth, &x));
    let norm = |v: &[f64]| (v.iter().map(|a| a * a).sum::<f64>() / v.len() as f64).sqrt();
    // atom 0's cell holds two copies (twice its contribution): error ||c0||; atom 1's is empty: ||c1||
    let e = contribution_error(&fit, &truth, &x);
    assert_eq!(cf.len(), 2);
    assert!((e - norm(&ct[0]).max(norm(&ct[1]))).abs() < 1e-12, "{e}");
}

#[test]
fn the_softmax_gauge_and_label_switching_leave_the_contribution_error_unchanged() {
    let mk = |beta1: [f64; 2], beta0: f64, a: [f64; 2], b: f64| Atom { beta1: beta1.to_vec(), a: a.to_vec(), beta0, b };
    let truth =
        Mixture::from_atoms(Gate::Softmax, Expert::Relu, &[mk([0.5, -0.2], 0.1, [1.0, 0.3], 0.2), mk([-0.4, 0.6], -0.3, [-0.5, 0.9], 0.1)])
            .unwrap();
    let fit_atoms =
        [mk([0.45, -0.1], 0.2, [0.9, 0.35], 0.25), mk([-0.3, 0.5], -0.2, [-0.6, 0.8], 0.05), mk([0.1, 0.1], -2.0, [0.2, 0.2], 0.0)];
    let fit = Mixture::from_atoms(Gate::Softmax, Expert::Relu, &fit_atoms).unwrap();
    // every gate shifted by one (beta1, beta0): the same softmax gate values
    let shifted: Vec<Atom> =
        fit_atoms.iter().map(|t| Atom { beta1: vec![t.beta1[0] + 0.7, t.beta1[1] - 1.3], beta0: t.beta0 + 2.5, ..t.clone() }).collect();
    let gauge = Mixture::from_atoms(Gate::Softmax, Expert::Relu, &shifted).unwrap();
    let relabelled =
        Mixture::from_atoms(Gate::Softmax, Expert::Relu, &[fit_atoms[2].clone(), fit_atoms[0].clone(), fit_atoms[1].clone()]).unwrap();
    let x: Vec<f64> = (0..300).flat_map(|i| [((i * 37) % 150) as f64 / 75.0 - 1.0, ((i * 53) % 150) as f64 / 75.0 - 1.0]).collect();
    let e = contribution_error(&fit, &truth, &x);
    assert!(e > 1e-3, "a fit that differs from the truth has an error: {e}");
    assert!((contribution_error(&gauge, &truth, &x) - e).abs() < 1e-12);
    assert!((contribution_error(&relabelled, &truth, &x) - e).abs() < 1e-12);
}
