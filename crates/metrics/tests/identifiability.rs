//! An invariance the paper's losses do not account for.
//!
//! For an atom whose gate slope is zero, sigmoid(beta0) * phi(a.x + b) with a positively
//! homogeneous phi (ReLU, linear) is unchanged when (beta0, a, b) becomes
//! (beta0', lambda a, lambda b) with lambda = sigmoid(beta0) / sigmoid(beta0'). The regression
//! function cannot tell these parameters apart, so no estimator can, yet D1 and D3 measure the
//! distance between them. GELU is not homogeneous, and softmax gating couples every atom's
//! gate through its normaliser, so neither has this exact invariance.

use smoe_metrics::{l2_error, voronoi_loss, LossKind};
use smoe_model::{draw_inputs, logit, seed, sigmoid, Expert, Gate, Mixture, TruthParams};

fn regime1_truth(expert: Expert) -> Mixture {
    TruthParams {
        gate: Gate::Sigmoid,
        expert,
        d: 4,
        k_star: 2,
        gate_var: None,
        expert_var: None,
        zero_gate_slope: vec![1, 2],
        zero_expert_slope: vec![],
    }
    .check()
    .unwrap()
    .draw(&mut seed::stream(11, &[("purpose", "truth")]))
}

/// Move atom 0 along the invariance: new beta0' = beta0 + 0.8, slope and intercept rescaled.
fn rescaled(m: &Mixture) -> Mixture {
    let mut out = m.clone();
    let s = m.spec;
    let (b0, b0_new) = (m.beta0(0), m.beta0(0) + 0.8);
    let lambda = sigmoid(b0) / sigmoid(b0_new);
    out.theta[s.beta0_offset(0)] = b0_new;
    out.theta[s.b_offset(0)] *= lambda;
    for t in 0..s.d {
        out.theta[s.a_offset(0) + t] *= lambda;
    }
    assert!((logit(sigmoid(b0_new)) - b0_new).abs() < 1e-12);
    out
}

#[test]
fn homogeneous_experts_at_zero_gate_slope_are_not_identifiable() {
    let x = draw_inputs(5000, 4, &mut seed::stream(11, &[("purpose", "x")]));
    for expert in [Expert::Relu, Expert::Linear] {
        let t = regime1_truth(expert);
        let moved = rescaled(&t);
        // the same regression function...
        assert!(l2_error(&moved, &t, &x) < 1e-12, "{expert}");
        // ...at a parameter loss far from zero
        let d1 = voronoi_loss(LossKind::D1, &moved, &t).total;
        let d3 = voronoi_loss(LossKind::D3, &moved, &t).total;
        assert!(d1 > 0.5 && d3 > 0.5, "{expert}: D1 {d1}, D3 {d3}");
    }
}

#[test]
fn gelu_experts_and_softmax_gates_do_not_have_this_invariance() {
    let x = draw_inputs(5000, 4, &mut seed::stream(11, &[("purpose", "x")]));
    let t = regime1_truth(Expert::Gelu);
    assert!(l2_error(&rescaled(&t), &t, &x) > 1e-3);
    let mut soft = regime1_truth(Expert::Relu);
    soft.spec.gate = Gate::Softmax;
    assert!(l2_error(&rescaled(&soft), &soft, &x) > 1e-3);
}

/// The homogeneity-quotient loss D1h is zero on the whole orbit of the truth (the trade of beta0
/// against the scale of (a, b), and the split of an atom into parallel copies that add up), where
/// D1 is not; and it still sees a change of the regression function.
#[test]
fn the_homogeneity_quotient_loss_is_zero_on_the_orbit() {
    let x = draw_inputs(5000, 4, &mut seed::stream(11, &[("purpose", "x")]));
    let t = regime1_truth(Expert::Relu);
    let moved = rescaled(&t);
    assert!(voronoi_loss(LossKind::D1h, &moved, &t).total < 1e-12);
    // split atom 0 into copies carrying 30% and 70% of (a, b), same gate
    let mut atoms = t.atoms();
    let mut copy = atoms[0].clone();
    copy.a.iter_mut().for_each(|v| *v *= 0.7);
    copy.b *= 0.7;
    atoms[0].a.iter_mut().for_each(|v| *v *= 0.3);
    atoms[0].b *= 0.3;
    atoms.push(copy);
    let split = Mixture::from_atoms(Gate::Sigmoid, Expert::Relu, &atoms).unwrap();
    assert!(l2_error(&split, &t, &x) < 1e-12, "the split reproduces f*");
    assert!(voronoi_loss(LossKind::D1h, &split, &t).total < 1e-12);
    assert!(voronoi_loss(LossKind::D1, &split, &t).total > 0.1);
    // a real change of f is seen
    let mut off = t.clone();
    off.theta[t.spec.b_offset(1)] += 0.3;
    assert!(l2_error(&off, &t, &x) > 1e-3);
    assert!(voronoi_loss(LossKind::D1h, &off, &t).total > 0.1);
}

/// Linear experts at a zero gate slope are not identified at all in an over-fitted cell: two
/// copies of a true atom with equal gates and intercepts b* + delta and b* - delta give exactly f*
/// for every delta (the gates are constants, and sum_i sigmoid(beta0_i)(a.x + b_i) depends on the
/// intercepts only through their gate-weighted sum), while D2,r grows like 2 delta^r. So no
/// estimator can drive D2,r to zero in the worst case, whatever n.
#[test]
fn linear_experts_in_an_over_fitted_cell_are_not_identified() {
    let x = draw_inputs(5000, 4, &mut seed::stream(12, &[("purpose", "x")]));
    let t = regime1_truth(Expert::Linear);
    for delta in [0.01, 0.3, 1.5] {
        let mut atoms = t.atoms();
        let w = sigmoid(atoms[0].beta0);
        let mut first = atoms[0].clone();
        first.beta0 = logit(w / 2.0);
        let mut second = first.clone();
        first.b += delta;
        second.b -= delta;
        atoms[0] = first;
        atoms.push(second);
        let split = Mixture::from_atoms(Gate::Sigmoid, Expert::Linear, &atoms).unwrap();
        assert!(l2_error(&split, &t, &x) < 1e-12, "delta {delta}: the same regression function");
        let d2 = voronoi_loss(LossKind::D2 { r: 2.0 }, &split, &t).total;
        assert!((d2 - 2.0 * delta * delta).abs() < 1e-9, "delta {delta}: D2,2 = {d2}, expected {}", 2.0 * delta * delta);
    }
}
