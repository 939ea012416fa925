use approx::assert_abs_diff_eq;
use proptest::prelude::*;
use rand::RngExt;
use smoe_metrics::*;
use smoe_model::{seed, sigmoid, Atom, Expert, Gate, Mixture, Spec};

const TOL: f64 = 1e-12;

fn atom(beta0: f64, beta1: f64, a: f64, b: f64) -> Atom {
    Atom { beta0, beta1: vec![beta1], a: vec![a], b }
}

fn mix(gate: Gate, atoms: &[Atom]) -> Mixture {
    Mixture::from_atoms(gate, Expert::Relu, atoms).unwrap()
}

/// Hand-worked: one true atom (0, 0, 1, 0) fitted by two atoms.
/// D1 = mass |1/2 + 1/2 - 1/2| + (0.1^2 + 0.2^2) + (0.1^2 + 0) = 0.5 + 0.05 + 0.01.
#[test]
fn d1_hand_worked_overfitted_cell() {
    let truth = mix(Gate::Sigmoid, &[atom(0.0, 0.0, 1.0, 0.0)]);
    let fit = mix(Gate::Sigmoid, &[atom(0.0, 0.1, 1.0, 0.2), atom(0.0, -0.1, 1.0, 0.0)]);
    let l = voronoi_loss(LossKind::D1, &fit, &truth);
    assert_abs_diff_eq!(l.parts.mass, 0.5, epsilon = TOL);
    assert_abs_diff_eq!(l.parts.overfitted, 0.06, epsilon = TOL);
    assert_abs_diff_eq!(l.parts.single, 0.0, epsilon = TOL);
    assert_abs_diff_eq!(l.total, 0.56, epsilon = TOL);
    assert_eq!(l.cells.cardinalities(), vec![2]);
    // D2 with r = 1: 0.5 + (0.1 + 0 + 0.2) + (0.1 + 0 + 0)
    let l2 = voronoi_loss(LossKind::D2 { r: 1.0 }, &fit, &truth);
    assert_abs_diff_eq!(l2.total, 0.9, epsilon = TOL);
}

/// Hand-worked singly fitted cell: D1 = |d_beta1| + |d_beta0| + |d_eta| = 0.3 + 0.5 + 0.4.
/// D2 with r = 2 = 0.25 + 0.09 + 0.16 + 0.
#[test]
fn d1_and_d2_hand_worked_single_cell() {
    let truth = mix(Gate::Sigmoid, &[atom(0.0, 0.0, 1.0, 0.0)]);
    let fit = mix(Gate::Sigmoid, &[atom(0.5, 0.3, 1.4, 0.0)]);
    let l = voronoi_loss(LossKind::D1, &fit, &truth);
    assert_abs_diff_eq!(l.total, 1.2, epsilon = TOL);
    assert_abs_diff_eq!(l.parts.mass, 0.0, epsilon = TOL);
    let l2 = voronoi_loss(LossKind::D2 { r: 2.0 }, &fit, &truth);
    assert_abs_diff_eq!(l2.total, 0.5, epsilon = TOL);
}

/// D3 against a two-atom G_bar: (0.1 + 0 + 0.3) + (0 + 0 + 0.4).
#[test]
fn d3_hand_worked() {
    let gbar = mix(Gate::Sigmoid, &[atom(0.0, 0.0, 1.0, 0.0), atom(1.0, 2.0, -1.0, 0.0)]);
    let fit = mix(Gate::Sigmoid, &[atom(1.0, 2.0, -1.0, -0.4), atom(0.1, 0.0, 1.0, 0.3)]);
    let l = voronoi_loss(LossKind::D3, &fit, &gbar);
    assert_abs_diff_eq!(l.total, 0.8, epsilon = TOL);
    assert_eq!(l.cells.assignment, vec![1, 0]);
}

/// Softmax: an exact split of the truth has loss 0 in any gauge; a shift of one b by 0.2 on an
/// atom of mass 1/2 costs 0.5 * 0.2, whatever gauge the fit is given in.
#[test]
fn softmax_loss_hand_worked_and_gauge_invariant() {
    let h = 0.5f64.ln();
    let truth = mix(Gate::Softmax, &[atom(h, 1.0, 1.0, 0.0), atom(h, -1.0, 2.0, 0.0)]);
    let q = 0.25f64.ln();
    let split = mix(Gate::Softmax, &[atom(q, 1.0, 1.0, 0.0), atom(h, -1.0, 2.0, 0.0), atom(q, 1.0, 1.0, 0.0)]);
    assert_abs_diff_eq!(voronoi_loss(LossKind::Softmax, &split, &truth).total, 0.0, epsilon = TOL);
    let shift = |m: &Mixture, t0: f64, t1: f64| {
        let mut s = m.clone();
        for i in 0..m.k() {
            s.theta[m.spec.beta0_offset(i)] += t0;
            s.theta[m.spec.beta1_offset(i)] += t1;
        }
        s
    };
    assert_abs_diff_eq!(voronoi_loss(LossKind::Softmax, &shift(&split, 3.0, 0.7), &truth).total, 0.0, epsilon = 1e-12);
    let moved = mix(Gate::Softmax, &[atom(h, 1.0, 1.0, 0.2), atom(h, -1.0, 2.0, 0.0)]);
    for (t0, t1) in [(0.0, 0.0), (3.0, 0.7), (-2.0, -5.0)] {
        let l = voronoi_loss(LossKind::Softmax, &shift(&moved, t0, t1), &shift(&truth, -t1, t0));
        assert_abs_diff_eq!(l.total, 0.1, epsilon = 1e-12);
    }
}

/// D3 between two softmax mixtures (the softmax fit of a sigmoid truth against its own G_bar)
/// is computed in the canonical gauge too.
#[test]
fn d3_of_softmax_mixtures_is_gauge_invariant() {
    let a = mix(Gate::Softmax, &[atom(0.2, 1.0, 1.0, 0.0), atom(-0.3, -1.0, 2.0, 0.5)]);
    let b = mix(Gate::Softmax, &[atom(0.25, 1.1, 1.0, 0.1), atom(-0.3, -0.9, 2.2, 0.5)]);
    let mut shifted = b.clone();
    for i in 0..2 {
        shifted.theta[b.spec.beta0_offset(i)] += 2.0;
        shifted.theta[b.spec.beta1_offset(i)] -= 3.0;
    }
    let l = voronoi_loss(LossKind::D3, &b, &a).total;
    assert!(l > 0.1);
    assert_abs_diff_eq!(voronoi_loss(LossKind::D3, &shifted, &a).total, l, epsilon = 1e-12);
}

#[test]
fn empty_cells_are_flagged() {
    let truth = mix(Gate::Sigmoid, &[atom(0.0, 0.0, 1.0, 0.0), atom(0.0, 0.0, -1.0, 0.0)]);
    let fit = mix(Gate::Sigmoid, &[atom(0.0, 0.0, 1.0, 0.1), atom(0.0, 0.0, 0.9, 0.0)]);
    let cells = voronoi_cells(&fit, &truth);
    assert_eq!(cells.cardinalities(), vec![2, 0]);
    assert_eq!(cells.empty_cells(), 1);
    assert_eq!(cells.overfitted_cells(), 1);
}

#[test]
fn voronoi_ties_go_to_the_lowest_index() {
    let truth = mix(Gate::Sigmoid, &[atom(0.0, 0.0, 1.0, 0.0), atom(0.0, 0.0, -1.0, 0.0)]);
    let fit = mix(Gate::Sigmoid, &[atom(0.0, 0.0, 0.0, 0.0)]);
    assert_eq!(voronoi_cells(&fit, &truth).assignment, vec![0]);
}

/// f differs by sigmoid(beta0) * delta when one linear expert's intercept moves by delta at beta1 = 0.
#[test]
fn l2_error_hand_worked() {
    let t = Mixture::from_atoms(Gate::Sigmoid, Expert::Linear, &[atom(0.3, 0.0, 1.0, 0.0)]).unwrap();
    let f = Mixture::from_atoms(Gate::Sigmoid, Expert::Linear, &[atom(0.3, 0.0, 1.0, 0.5)]).unwrap();
    let mut rng = seed::stream(2, &[("test", "l2")]);
    let x: Vec<f64> = (0..100).map(|_| rng.random_range(-1.0..1.0)).collect();
    assert_abs_diff_eq!(l2_error(&f, &t, &x), sigmoid(0.3) * 0.5, epsilon = TOL);
    assert_eq!(l2_error(&t, &t, &x), 0.0);
}

#[test]
fn expert_sup_error_is_exact_for_linear_experts() {
    let spec = Spec::new(Gate::Sigmoid, Expert::Linear, 1, 2).unwrap();
    let t = Mixture::from_theta(spec, vec![0.0, 0.0, 1.0, 2.0, 0.0, 0.5]).unwrap();
    let f = Mixture::from_theta(spec, vec![0.0, 0.0, 1.1, 1.8, 0.0, 0.4]).unwrap();
    let cells = voronoi_cells(&f, &t);
    let e = atom_errors(&f, &t, &cells, &[0.0, 0.0]);
    assert_abs_diff_eq!(e[0].expert_sup, 0.1 + 0.2 + 0.1, epsilon = TOL);
    assert!(!e[0].overfitted);
}

#[test]
fn rate_of_an_exact_power_law_is_recovered() {
    let cells: Vec<Cell> = [1e3, 1e4, 1e5].iter().map(|&n: &f64| Cell { n, losses: vec![3.0 * n.powf(-0.5); 5] }).collect();
    let mut rng = seed::stream(0, &[("test", "rate")]);
    for method in [RateMethod::LogMean, RateMethod::AllReps] {
        let fit = fit_rate(&cells, method, 200, &mut rng).unwrap();
        assert_abs_diff_eq!(fit.slope, -0.5, epsilon = 1e-10);
        assert_abs_diff_eq!(fit.intercept, 3.0f64.ln(), epsilon = 1e-9);
        assert!(fit.se < 1e-8);
        assert_eq!((fit.n_values, fit.reps), (3, 5));
    }
}

#[test]
fn bootstrap_interval_covers_the_slope_of_noisy_data() {
    let mut rng = seed::stream(0, &[("test", "noisy")]);
    let cells: Vec<Cell> = (0..8)
        .map(|i| {
            let n = 1000.0 * 2f64.powi(i);
            Cell { n, losses: (0..20).map(|_| n.powf(-0.5) * (rng.random_range(-0.3..0.3) as f64).exp()).collect() }
        })
        .collect();
    let fit = fit_rate(&cells, RateMethod::LogMean, 500, &mut rng).unwrap();
    assert!(fit.ci_low < fit.slope && fit.slope < fit.ci_high);
    assert!(consistent(&fit, -0.5), "{fit:?}");
    assert!(!consistent(&fit, -0.25));
    assert!(fit.boot_se > 0.0 && fit.boot_se < 0.05);
}

#[test]
fn cell_summary_hand_worked() {
    let s = summarise(&[1.0, 2.0, 3.0, 4.0]);
    assert_abs_diff_eq!(s.mean, 2.5, epsilon = TOL);
    assert_abs_diff_eq!(s.sd, (5.0f64 / 3.0).sqrt(), epsilon = TOL);
    assert_abs_diff_eq!(s.mcse, (5.0f64 / 3.0).sqrt() / 2.0, epsilon = TOL);
}

fn arb_mixture(gate: Gate, k: usize, d: usize) -> impl Strategy<Value = Mixture> {
    prop::collection::vec(-2.0f64..2.0, 2 * k * (d + 1))
        .prop_map(move |theta| Mixture::from_theta(Spec::new(gate, Expert::Gelu, k, d).unwrap(), theta).unwrap())
}

const KINDS: [LossKind; 5] = [LossKind::D1, LossKind::D2 { r: 1.0 }, LossKind::D2 { r: 2.0 }, LossKind::D3, LossKind::Softmax];

proptest! {
    #[test]
    fn losses_are_nonnegative_zero_at_truth_and_permutation_invariant(
        truth in arb_mixture(Gate::Sigmoid, 3, 2),
        fit in arb_mixture(Gate::Sigmoid, 4, 2),
        perm in Just(vec![3usize, 1, 0, 2]).prop_shuffle(),
    ) {
        for kind in KINDS {
            let (t, f) = if kind == LossKind::Softmax {
                let mut t = truth.clone(); t.spec.gate = Gate::Softmax;
                let mut f = fit.clone(); f.spec.gate = Gate::Softmax;
                (t, f)
            } else { (truth.clone(), fit.clone()) };
            let l = voronoi_loss(kind, &f, &t).total;
            prop_assert!(l >= 0.0);
            prop_assert!(voronoi_loss(kind, &t, &t).total.abs() < 1e-12);
            let lp = voronoi_loss(kind, &f.permuted(&perm), &t).total;
            prop_assert!((l - lp).abs() <= 1e-12 * (1.0 + l.abs()), "{kind:?}: {l} vs {lp}");
            let tp = voronoi_loss(kind, &f, &t.permuted(&[2, 0, 1])).total;
            prop_assert!((l - tp).abs() <= 1e-12 * (1.0 + l.abs()));
        }
    }
}

#[test]
fn log_rate_and_power_law_are_told_apart() {
    let ns = [1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6];
    let power: Vec<Cell> = ns.iter().map(|&n: &f64| Cell { n, losses: vec![2.0 * n.powf(-0.5)] }).collect();
    let slow: Vec<Cell> = ns.iter().map(|&n: &f64| Cell { n, losses: vec![3.0 / n.ln()] }).collect();
    let p = compare_power_vs_log_rate(&power, RateMethod::LogMean).unwrap();
    let s = compare_power_vs_log_rate(&slow, RateMethod::LogMean).unwrap();
    assert!(p.delta_aic > 2.0, "{p:?}");
    assert!(s.delta_aic < -2.0, "{s:?}");
    assert_abs_diff_eq!(s.log_rate_q, 1.0, epsilon = 1e-9);
}

#[test]
fn sample_size_inverts_the_fitted_curve() {
    let mut rng = seed::stream(0, &[("test", "n_eps")]);
    let cells: Vec<Cell> = [1e3, 1e4, 1e5].iter().map(|&n: &f64| Cell { n, losses: vec![2.0 * n.powf(-0.5); 4] }).collect();
    let out = sample_size_for(&cells, &[2.0 * 1e4f64.powf(-0.5), 2.0 * 1e7f64.powf(-0.5)], 50, &mut rng);
    assert_abs_diff_eq!(out[0].n, 1e4, epsilon = 1e-6);
    assert!(!out[0].extrapolated);
    assert!((out[1].n / 1e7 - 1.0).abs() < 1e-9 && out[1].extrapolated);
    assert!(out[0].lo <= out[0].n && out[0].n <= out[0].hi);
}

/// D1h by hand. Truth: one atom beta0 = 0 (weight 1/2), beta1 = 0, (a, b) = (1, 0): v* = (0.5, 0).
/// Singly fitted by (beta0 = 0, beta1 = 0.3, a = 1.4, b = 0): |d_beta1| + |v - v*| = 0.3 + 0.2.
/// Over-fitted by two atoms of weight 1/2 with (a, b) = (1, 0.2) and (0.2, 0): the sum of the
/// gated experts is (0.6, 0.1), 0.1 * sqrt(2) from v*; the first copy is 0.1 off the ray
/// (v = (0.5, 0.1)), the second on it; beta1 offsets 0.1 and 0.
#[test]
fn d1h_hand_worked() {
    let truth = mix(Gate::Sigmoid, &[atom(0.0, 0.0, 1.0, 0.0)]);
    let single = mix(Gate::Sigmoid, &[atom(0.0, 0.3, 1.4, 0.0)]);
    assert_abs_diff_eq!(voronoi_loss(LossKind::D1h, &single, &truth).total, 0.5, epsilon = TOL);
    let over = mix(Gate::Sigmoid, &[atom(0.0, 0.1, 1.0, 0.2), atom(0.0, 0.0, 0.2, 0.0)]);
    let l = voronoi_loss(LossKind::D1h, &over, &truth);
    assert_abs_diff_eq!(l.parts.mass, 0.1 * 2f64.sqrt(), epsilon = TOL);
    assert_abs_diff_eq!(l.parts.overfitted, 0.01 + 0.01, epsilon = TOL);
    assert_eq!(LossKind::D1h.name(), "D1h");
}

/// The softmax loss with exponent-1 over-fitted terms: an exact split costs nothing, and moving
/// one copy (mass 1/4) by 0.2 in b costs 0.25 * 0.2 (against 0.25 * 0.04 with squares).
#[test]
fn softmax_r1_hand_worked() {
    let h = 0.5f64.ln();
    let q = 0.25f64.ln();
    let truth = mix(Gate::Softmax, &[atom(h, 1.0, 1.0, 0.0), atom(h, -1.0, 2.0, 0.0)]);
    let split = mix(Gate::Softmax, &[atom(q, 1.0, 1.0, 0.0), atom(h, -1.0, 2.0, 0.0), atom(q, 1.0, 1.0, 0.0)]);
    assert_abs_diff_eq!(voronoi_loss(LossKind::SoftmaxR1, &split, &truth).total, 0.0, epsilon = TOL);
    let moved = mix(Gate::Softmax, &[atom(q, 1.0, 1.0, 0.2), atom(h, -1.0, 2.0, 0.0), atom(q, 1.0, 1.0, 0.0)]);
    assert_abs_diff_eq!(voronoi_loss(LossKind::SoftmaxR1, &moved, &truth).total, 0.05, epsilon = TOL);
    assert_abs_diff_eq!(voronoi_loss(LossKind::Softmax, &moved, &truth).total, 0.01, epsilon = TOL);
}

/// The matched expert error by hand (linear experts, d = 1, exact sup): true experts x and -x + 1;
/// fitted experts 1.5x + 0.1, 0.9x and -x + 1.3: the first true expert's best match is 0.9x (sup
/// 0.1), the second's is -x + 1.3 (sup 0.3). The gates do not matter.
#[test]
fn matched_expert_error_hand_worked() {
    let lin = |gate: Gate, atoms: &[Atom]| Mixture::from_atoms(gate, Expert::Linear, atoms).unwrap();
    let truth = lin(Gate::Sigmoid, &[atom(0.0, 0.0, 1.0, 0.0), atom(0.0, 0.0, -1.0, 1.0)]);
    let fit = lin(Gate::Softmax, &[atom(3.0, 1.0, 1.5, 0.1), atom(-1.0, 0.0, 0.9, 0.0), atom(0.0, 2.0, -1.0, 1.3)]);
    assert_abs_diff_eq!(matched_expert_error(&fit, &truth, &[0.0]), 0.3, epsilon = TOL);
    let other_gates = lin(Gate::Sigmoid, &[atom(0.0, 0.0, 1.5, 0.1), atom(5.0, 0.0, 0.9, 0.0), atom(-5.0, 0.0, -1.0, 1.3)]);
    assert_abs_diff_eq!(matched_expert_error(&other_gates, &truth, &[0.0]), 0.3, epsilon = TOL);
}

/// The Fisher floor by hand. One atom, d = 1, linear expert, at beta0 = beta1 = 0, (a, b) = (1, 0):
/// grad f = (0.25 x^2, 0.5 x, 0.25 x, 0.5) in (beta1, a, beta0, b): d/dbeta0 = 0.25 x and d/da = 0.5 x
/// are collinear (the homogeneity of linear experts at a zero gate slope), so exactly one direction,
/// (2, -1)/sqrt(5) in (beta0, a), is not identified: 4/5 of it on the gate intercept, 1/5 on the
/// expert slope. On the identified directions, draws have E[dtheta^T I dtheta] = nu rank / n.
#[test]
fn fisher_floor_hand_worked() {
    let m = Mixture::from_atoms(Gate::Sigmoid, Expert::Linear, &[atom(0.0, 0.0, 1.0, 0.0)]).unwrap();
    let mut rng = seed::stream(3, &[("test", "floor")]);
    let x: Vec<f64> = (0..20_000).map(|_| rng.random_range(-1.0..1.0)).collect();
    let floor = FisherFloor::new(&m, &x, 1e-9);
    assert_eq!(floor.null_dims, 1);
    assert_eq!(floor.identified_dims(), 3);
    let [gi, gs, es, ei] = floor.null_groups;
    assert_abs_diff_eq!(gi, 0.8, epsilon = 1e-6);
    assert_abs_diff_eq!(es, 0.2, epsilon = 1e-6);
    assert_abs_diff_eq!(gs + ei, 0.0, epsilon = 1e-6);
    // E[grad f grad f^T] on the same inputs, and the quadratic form of the draws
    let grads: Vec<[f64; 4]> = x.iter().map(|&v| [0.25 * v * v, 0.5 * v, 0.25 * v, 0.5]).collect();
    let (nu, n, draws) = (0.01, 1000.0, 4000);
    let mut total = 0.0;
    for _ in 0..draws {
        let d = floor.draw(nu, n, &mut rng);
        let dt: Vec<f64> = d.theta.iter().zip(&m.theta).map(|(a, b)| a - b).collect();
        total += grads.iter().map(|g| g.iter().zip(&dt).map(|(a, b)| a * b).sum::<f64>().powi(2)).sum::<f64>() / x.len() as f64;
    }
    let mean = total / draws as f64;
    // chi-square with 3 degrees of freedom scaled by nu / n: mean 3e-5, sd of the mean 3e-5 sqrt(2/3)/sqrt(4000)
    assert!((mean - 3.0 * nu / n).abs() < 4.0 * 3.0 * nu / n * (2.0f64 / 3.0).sqrt() / (draws as f64).sqrt(), "{mean}");
}
