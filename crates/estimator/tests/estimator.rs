use smoe_estimator::*;
use smoe_metrics::{l2_error, ols, voronoi_loss, LossKind};
use smoe_model::{draw_inputs, draw_sample, seed, sigmoid, Expert, Gate, Mixture, Sample, Spec, TruthParams};

fn truth(gate: Gate, expert: Expert, d: usize, k_star: usize, zero: Vec<usize>, s: u64) -> Mixture {
    TruthParams { gate, expert, d, k_star, gate_var: None, expert_var: None, zero_gate_slope: zero, zero_expert_slope: vec![] }
        .check()
        .unwrap()
        .draw(&mut seed::stream(s, &[("purpose", "truth")]))
}

fn init(sd: f64, split: MassSplit) -> Init {
    InitParams { noise: InitNoise::Fixed { sd }, split_atom: 1, mass_split: split }.check().unwrap()
}

const LBFGS: LbfgsParams = LbfgsParams { memory: 10, tol_grad: 1e-9, tol_cost: 0.0, max_iters: 3000 };

#[test]
fn split_start_reproduces_the_truth_function() {
    let mut rng = seed::stream(1, &[("test", "x")]);
    let x = draw_inputs(300, 3, &mut rng);
    // sigmoid, Regime 1 (beta1 = 0 on the split atom): gates of the copies sum to the original
    let t = truth(Gate::Sigmoid, Expert::Relu, 3, 2, vec![1, 2], 1);
    let c = init(0.0, MassSplit::Share).centre(&t, Gate::Sigmoid, Expert::Relu, 4).unwrap();
    assert_eq!(c.k(), 4);
    assert!((3.0 * sigmoid(c.beta0(0)) - sigmoid(t.beta0(0))).abs() < 1e-12);
    for (a, b) in c.predict(&x).iter().zip(t.predict(&x)) {
        assert!((a - b).abs() < 1e-12);
    }
    // softmax: masses add up, for any beta1
    let t = truth(Gate::Softmax, Expert::Gelu, 3, 2, vec![], 2);
    let c = init(0.0, MassSplit::Share).centre(&t, Gate::Softmax, Expert::Gelu, 3).unwrap();
    for (a, b) in c.predict(&x).iter().zip(t.predict(&x)) {
        assert!((a - b).abs() < 1e-12);
    }
    // copy doubles the sigmoid gate, so the function changes
    let c = init(0.0, MassSplit::Copy).centre(&t, Gate::Sigmoid, Expert::Gelu, 3).unwrap();
    assert_eq!(c.beta0(0), t.beta0(0));
    assert_eq!(c.beta0(2), t.beta0(0));
}

#[test]
fn init_validation_names_the_field() {
    let t = truth(Gate::Sigmoid, Expert::Relu, 2, 2, vec![1, 2], 1);
    let e = InitParams { noise: InitNoise::Fixed { sd: -1.0 }, split_atom: 1, mass_split: MassSplit::Share }.check().unwrap_err();
    assert!(e.to_string().contains("init.noise.sd"), "{e}");
    let e = init(0.1, MassSplit::Share).centre(&t, Gate::Sigmoid, Expert::Relu, 1).unwrap_err();
    assert!(e.to_string().contains("k*"), "{e}");
    let e = InitParams { noise: InitNoise::None, split_atom: 3, mass_split: MassSplit::Share }
        .check()
        .unwrap()
        .centre(&t, Gate::Sigmoid, Expert::Relu, 3)
        .unwrap_err();
    assert!(e.to_string().contains("split_atom"), "{e}");
    assert!(SgdParams { epochs: 10, learning_rate: 0.0, batch_size: 32, shuffle: true }.check().is_err());
    assert!(SgdParams { epochs: 10, learning_rate: 0.1, batch_size: 0, shuffle: true }.check().is_err());
    assert!(LbfgsParams { tol_grad: f64::NAN, ..LBFGS }.check().is_err());
}

#[test]
fn shrinking_noise_schedule() {
    let s = InitNoise::Shrinking { sd: 0.1, n0: 1000.0, power: 0.5 };
    assert!((s.sd(1000) - 0.1).abs() < 1e-15);
    assert!((s.sd(4000) - 0.05).abs() < 1e-15);
    assert_eq!(InitNoise::None.sd(10), 0.0);
}

#[test]
fn sgd_is_deterministic_and_reduces_the_objective() {
    let t = truth(Gate::Sigmoid, Expert::Relu, 4, 2, vec![1, 2], 3);
    let data = draw_sample(&t, 2000, 0.01, &mut seed::stream(3, &[("purpose", "data")])).unwrap();
    let spec = Spec::new(Gate::Sigmoid, Expert::Relu, 3, 4).unwrap();
    let start = init(0.2, MassSplit::Share).start(&t, spec, 2000, &mut seed::stream(3, &[("purpose", "init")])).unwrap();
    let sgd = SgdParams { epochs: 10, learning_rate: 0.1, batch_size: 32, shuffle: true }.check().unwrap();
    let f1 = sgd.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(3, &[("purpose", "sgd")]));
    let f2 = sgd.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(3, &[("purpose", "sgd")]));
    assert_eq!(f1, f2);
    let (obj0, _) = objective_and_grad_norm(&spec, &start.theta, &data, &mut Default::default());
    assert!(f1.report.objective < obj0, "{} !< {obj0}", f1.report.objective);
    assert_eq!(f1.report.termination, Termination::EpochsCompleted);
    assert_eq!(f1.report.iterations, 10 * 2000u64.div_ceil(32));
}

#[test]
fn divergence_is_recorded_not_panicked() {
    let t = truth(Gate::Sigmoid, Expert::Poly(3), 4, 2, vec![1, 2], 4);
    let data = draw_sample(&t, 500, 0.01, &mut seed::stream(4, &[("purpose", "data")])).unwrap();
    let spec = Spec::new(Gate::Sigmoid, Expert::Poly(3), 3, 4).unwrap();
    let start = init(1.0, MassSplit::Share).start(&t, spec, 500, &mut seed::stream(4, &[("purpose", "init")])).unwrap();
    let sgd = SgdParams { epochs: 10, learning_rate: 1e6, batch_size: 8, shuffle: true }.check().unwrap();
    let f = sgd.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(4, &[("purpose", "sgd")]));
    assert_eq!(f.report.termination, Termination::Diverged);
    assert!(f.mixture.theta.iter().all(|v| v.is_finite()));
}

#[test]
fn lbfgs_reaches_a_stationary_point() {
    let t = truth(Gate::Sigmoid, Expert::Gelu, 4, 2, vec![2], 5);
    let data = draw_sample(&t, 3000, 0.01, &mut seed::stream(5, &[("purpose", "data")])).unwrap();
    let spec = Spec::new(Gate::Sigmoid, Expert::Gelu, 2, 4).unwrap();
    let start = init(0.05, MassSplit::Share).start(&t, spec, 3000, &mut seed::stream(5, &[("purpose", "init")])).unwrap();
    let f = LBFGS.check().unwrap().fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(5, &[]));
    assert!(matches!(f.report.termination, Termination::Converged | Termination::LineSearchFailed), "{:?}", f.report);
    assert!(f.report.grad_norm < 1e-6, "{:?}", f.report);
    // exactly specified: the fit is close to the noise level
    assert!((f.report.objective - 0.01).abs() < 0.002, "{:?}", f.report);
    // it is a least-squares fit: no worse on the training data than the true parameters
    let mut t_fit = t.clone();
    t_fit.spec = spec;
    let (at_truth, _) = objective_and_grad_norm(&spec, &t_fit.theta, &data, &mut Default::default());
    assert!(f.report.objective <= at_truth, "{} > {at_truth}", f.report.objective);
}

/// Levenberg-Marquardt on the same exactly specified problem: it converges (gradient below
/// tolerance) in far fewer iterations than L-BFGS needs, to the same objective.
#[test]
fn levenberg_marquardt_converges_on_a_well_posed_fit() {
    let t = truth(Gate::Sigmoid, Expert::Gelu, 4, 2, vec![2], 5);
    let data = draw_sample(&t, 3000, 0.01, &mut seed::stream(5, &[("purpose", "data")])).unwrap();
    let spec = Spec::new(Gate::Sigmoid, Expert::Gelu, 2, 4).unwrap();
    let start = init(0.05, MassSplit::Share).start(&t, spec, 3000, &mut seed::stream(5, &[("purpose", "init")])).unwrap();
    let lm = LmParams { tol_grad: 1e-9, tol_rel_cost: 1e-12, max_iters: 200, hessian_n: 0 }.check().unwrap();
    let f = lm.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(5, &[]));
    assert_eq!(f.report.termination, Termination::Converged, "{:?}", f.report);
    assert!(f.report.grad_norm < 1e-9 && f.report.iterations < 50, "{:?}", f.report);
    let l = LBFGS.check().unwrap().fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(5, &[]));
    assert!(
        (f.report.objective - l.report.objective).abs() < 1e-9 * l.report.objective.max(1.0),
        "{} vs {}",
        f.report.objective,
        l.report.objective
    );
    // a Gauss-Newton matrix from a subsample changes the speed, not the fixed point
    let sub = LmParams { tol_grad: 1e-9, tol_rel_cost: 1e-12, max_iters: 400, hessian_n: 500 }.check().unwrap();
    let g = sub.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(5, &[]));
    assert_eq!(g.report.termination, Termination::Converged, "{:?}", g.report);
    assert!((g.report.objective - f.report.objective).abs() < 1e-10, "{} vs {}", g.report.objective, f.report.objective);
}

/// The recovery test of issue 2: d = 4, k* = 2, k = 3, Regime 1, ReLU experts. As n grows from
/// 200 to 20000, D1 falls and ||f_hat - f*||_L2 falls roughly like n^{-1/2}.
#[test]
fn converged_estimator_recovers_the_truth_as_n_grows() {
    let t = truth(Gate::Sigmoid, Expert::Relu, 4, 2, vec![1, 2], 6);
    let spec = Spec::new(Gate::Sigmoid, Expert::Relu, 3, 4).unwrap();
    let x_eval = draw_inputs(20_000, 4, &mut seed::stream(6, &[("purpose", "eval")]));
    let est = LBFGS.check().unwrap();
    let ns = [200usize, 2000, 20_000];
    let reps = 4;
    let mut log_n = Vec::new();
    let mut log_l2 = Vec::new();
    let mut mean_d1 = Vec::new();
    for &n in &ns {
        let mut l2s = Vec::new();
        let mut d1s = Vec::new();
        for rep in 0..reps {
            let id = [("n", n.to_string()), ("rep", rep.to_string())];
            let id: Vec<(&str, &str)> = id.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let data = draw_sample(&t, n, 0.01, &mut seed::stream(6, &[&id[..], &[("purpose", "data")]].concat())).unwrap();
            let start =
                init(0.05, MassSplit::Share).start(&t, spec, n, &mut seed::stream(6, &[&id[..], &[("purpose", "init")]].concat())).unwrap();
            let f = est.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(6, &[]));
            l2s.push(l2_error(&f.mixture, &t, &x_eval));
            d1s.push(voronoi_loss(LossKind::D1, &f.mixture, &t).total);
        }
        log_n.push((n as f64).ln());
        log_l2.push((l2s.iter().sum::<f64>() / reps as f64).ln());
        mean_d1.push(d1s.iter().sum::<f64>() / reps as f64);
    }
    assert!(mean_d1[0] > mean_d1[1] && mean_d1[1] > mean_d1[2], "D1 means {mean_d1:?}");
    let (_, slope, _) = ols(&log_n, &log_l2);
    assert!((-0.7..=-0.3).contains(&slope), "L2 slope {slope}");
}

#[test]
fn population_fit_of_a_sigmoid_regime2_truth_moves_away_from_the_split_start() {
    // Regime 2: the split atom has a non-zero gate slope, so the split start is not the truth
    // function and the population fit G_bar differs from it.
    let t = truth(Gate::Sigmoid, Expert::Relu, 3, 2, vec![2], 7);
    let c = init(0.0, MassSplit::Share).centre(&t, Gate::Sigmoid, Expert::Relu, 3).unwrap();
    let x = draw_inputs(5000, 3, &mut seed::stream(7, &[("purpose", "x")]));
    let before = l2_error(&c, &t, &x);
    assert!(before > 1e-4, "the split start should not reproduce a Regime-2 truth ({before})");
    let g = population_fit(
        &t,
        &c,
        20_000,
        &Estimator::Lbfgs(LBFGS),
        &Bounds::unbounded(c.theta.len()),
        &mut seed::stream(7, &[("purpose", "gbar")]),
    );
    let after = l2_error(&g.mixture, &t, &x);
    assert!(after < before, "{after} !< {before}");
}

/// From the exactly symmetric split start the two copies of the split atom stay identical (the
/// symmetric subspace is invariant under the gradient flow), so the "population fit" is only a
/// critical point of the symmetric subspace; a perturbed start lets them separate. (Here both
/// reach f* almost exactly: with more atoms than k* a mixture can reproduce f* by switching an
/// atom off, so the L2 projection of a Regime-2 truth is f* itself; see docs/PROTOCOL.md.)
#[test]
fn gbar_needs_a_perturbed_start() {
    // a strong gate slope on the split atom, so that Regime 2 matters at this small size
    let t = TruthParams {
        gate: Gate::Sigmoid,
        expert: Expert::Relu,
        d: 3,
        k_star: 2,
        gate_var: Some(1.0),
        expert_var: None,
        zero_gate_slope: vec![2],
        zero_expert_slope: vec![],
    }
    .check()
    .unwrap()
    .draw(&mut seed::stream(8, &[("purpose", "truth")]));
    let spec = Spec::new(Gate::Sigmoid, Expert::Relu, 3, 3).unwrap();
    let init = init(0.0, MassSplit::Share);
    let lbfgs = Estimator::Lbfgs(LbfgsParams { max_iters: 2000, ..LBFGS });
    let lm = LmParams { tol_grad: 1e-12, tol_rel_cost: 1e-12, max_iters: 200, hessian_n: 0 }.check().unwrap();
    let copies_apart =
        |m: &Mixture| m.atom(0).location().iter().zip(m.atom(2).location()).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    for optimizer in [lbfgs, lm] {
        let symmetric = population_fit(
            &t,
            &init.centre(&t, Gate::Sigmoid, Expert::Relu, 3).unwrap(),
            20_000,
            &optimizer,
            &Bounds::unbounded(spec.n_params()),
            &mut seed::stream(8, &[("purpose", "ref")]),
        );
        // L-BFGS treats the copies identically to the last bit; a Cholesky solve does not (its
        // elimination order breaks the tie at rounding level), but the copies stay together
        let apart = copies_apart(&symmetric.mixture);
        if optimizer.kind() == "lbfgs" {
            assert_eq!(apart, 0.0);
        } else {
            assert!(apart < 1e-6, "{}: {apart}", optimizer.kind());
        }
        let start = init.perturbed_centre(&t, spec, 0.01, &mut seed::stream(8, &[("purpose", "start")])).unwrap();
        let broken = population_fit(
            &t,
            &start,
            20_000,
            &optimizer,
            &Bounds::unbounded(spec.n_params()),
            &mut seed::stream(8, &[("purpose", "ref")]),
        );
        assert!(copies_apart(&broken.mixture) > 1e-2, "{}: {}", optimizer.kind(), copies_apart(&broken.mixture));
    }
}

fn theta_box(gate_intercept: [f64; 2], gate_slope: [f64; 2], expert_slope: [f64; 2], expert_intercept: [f64; 2]) -> ThetaBox {
    let b = ThetaBox { gate_intercept, gate_slope, expert_slope, expert_intercept };
    b.check().unwrap();
    b
}

const LM_TIGHT: LmParams = LmParams { tol_grad: 1e-10, tol_rel_cost: 1e-12, max_iters: 200, hessian_n: 0 };

/// A hand-worked boundary solution. One atom, d = 1, linear expert, y = 1 everywhere; the slopes
/// are pinned to (-1e-12, 1e-12), so f = sigmoid(beta0) b up to 1e-12. With beta0 <= 1 and
/// b <= 0.5, f cannot exceed sigmoid(1) / 2 = 0.3655 < 1: the least-squares fit is the corner
/// beta0 = 1, b = 0.5, with objective (1 - sigmoid(1)/2)^2 and gradients
/// d/db = -2 r sigmoid(1) < 0 and d/dbeta0 = -2 r sigmoid(1)(1 - sigmoid(1)) b < 0 (r = 1 - f):
/// both push outward, which is what the KKT conditions at an upper bound require.
#[test]
fn bounded_lm_meets_the_kkt_conditions_at_a_hand_worked_corner() {
    let spec = Spec::new(Gate::Sigmoid, Expert::Linear, 1, 1).unwrap();
    let x = draw_inputs(2000, 1, &mut seed::stream(11, &[("purpose", "x")]));
    let data = Sample { d: 1, y: vec![1.0; x.len()], x };
    let pin = [-1e-12, 1e-12];
    let bx = theta_box([-1.0, 1.0], pin, pin, [-0.5, 0.5]);
    let bounds = bx.bounds(&spec);
    let start = Mixture::from_theta(spec, vec![0.0, 0.0, -0.3, 0.1]).unwrap();
    let f = LM_TIGHT.check().unwrap().fit(&start, &data, &bounds, &mut seed::stream(11, &[]));
    let m = &f.mixture;
    assert_eq!(f.report.termination, Termination::Converged, "{:?}", f.report);
    assert_eq!((m.beta0(0), m.b(0)), (1.0, 0.5), "the corner");
    let s1 = sigmoid(1.0);
    let r = 1.0 - 0.5 * s1;
    assert!((f.report.objective - r * r).abs() < 1e-9, "{} vs {}", f.report.objective, r * r);
    let mut g = vec![0.0; 4];
    smoe_model::loss_grad(&spec, &m.theta, &data.x, &data.y, Some(&mut g), &mut Default::default());
    let (gb, gbeta0) = (g[spec.b_offset(0)], g[spec.beta0_offset(0)]);
    assert!((gb - (-2.0 * r * s1)).abs() < 1e-9, "d/db {gb}");
    assert!((gbeta0 - (-2.0 * r * s1 * (1.0 - s1) * 0.5)).abs() < 1e-9, "d/dbeta0 {gbeta0}");
    // KKT: at an upper bound the gradient is <= 0, at a lower bound >= 0, elsewhere 0
    for (i, (&t, &gi)) in m.theta.iter().zip(&g).enumerate() {
        let (lo, hi) = (bounds.lower[i], bounds.upper[i]);
        if t >= hi {
            assert!(gi <= 0.0, "entry {i} at its upper bound with gradient {gi}");
        } else if t <= lo {
            assert!(gi >= 0.0, "entry {i} at its lower bound with gradient {gi}");
        } else {
            assert!(gi.abs() < 1e-10, "free entry {i} with gradient {gi}");
        }
    }
    assert!(f.report.proj_grad_norm < 1e-10, "{:?}", f.report);
    assert_eq!(f.report.active.gate_intercept_hi, 1);
    assert_eq!(f.report.active.expert_intercept, 1);
}

/// When the truth and the fit lie well inside Theta, the box changes nothing: the bounded fit is
/// the unconstrained fit, to the last bit, with no active bound.
#[test]
fn bounded_lm_finds_the_unconstrained_solution_when_bounds_are_inactive() {
    let t = truth(Gate::Sigmoid, Expert::Gelu, 4, 2, vec![2], 5);
    let data = draw_sample(&t, 3000, 0.01, &mut seed::stream(5, &[("purpose", "data")])).unwrap();
    let spec = Spec::new(Gate::Sigmoid, Expert::Gelu, 2, 4).unwrap();
    let start = init(0.05, MassSplit::Share).start(&t, spec, 3000, &mut seed::stream(5, &[("purpose", "init")])).unwrap();
    let wide = theta_box([-10.0, 10.0], [-10.0, 10.0], [-10.0, 10.0], [-10.0, 10.0]);
    let lm = LM_TIGHT.check().unwrap();
    let boxed = lm.fit(&start, &data, &wide.bounds(&spec), &mut seed::stream(5, &[]));
    let free = lm.fit(&start, &data, &Bounds::unbounded(spec.n_params()), &mut seed::stream(5, &[]));
    assert_eq!(boxed.report.termination, Termination::Converged, "{:?}", boxed.report);
    assert_eq!(boxed.report.active.total(), 0);
    let bits = |m: &Mixture| m.theta.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&boxed.mixture), bits(&free.mixture));
    // and it is the least-squares fit L-BFGS finds
    let l = LBFGS.check().unwrap().fit(&start, &data, &Bounds::unbounded(spec.n_params()), &mut seed::stream(5, &[]));
    assert!((boxed.report.objective - l.report.objective).abs() < 1e-9, "{} vs {}", boxed.report.objective, l.report.objective);
}

/// The bounded solver is sequential: fits run on a pool of one or two threads give the same bits.
#[test]
fn bounded_lm_gives_the_same_bits_for_1_and_2_threads() {
    use rayon::prelude::*;
    let t = truth(Gate::Sigmoid, Expert::Relu, 4, 2, vec![1, 2], 9);
    let spec = Spec::new(Gate::Sigmoid, Expert::Relu, 3, 4).unwrap();
    let bx = theta_box([-4.0, 4.0], [-1.0, 1.0], [-2.0, 2.0], [-2.0, 2.0]);
    let lm = LmParams { hessian_n: 300, ..LM_TIGHT }.check().unwrap();
    let run = |threads: usize| -> Vec<Vec<u64>> {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
            (0..6u64)
                .into_par_iter()
                .map(|rep| {
                    let r = rep.to_string();
                    let data = draw_sample(&t, 800, 0.01, &mut seed::stream(9, &[("rep", &r), ("purpose", "data")])).unwrap();
                    let start = init(0.05, MassSplit::Share)
                        .start(&t, spec, 800, &mut seed::stream(9, &[("rep", &r), ("purpose", "init")]))
                        .unwrap();
                    let f = lm.fit(&start, &data, &bx.bounds(&spec), &mut seed::stream(9, &[]));
                    f.mixture.theta.iter().map(|v| v.to_bits()).collect()
                })
                .collect()
        })
    };
    assert_eq!(run(1), run(2));
}

/// The projected gradient by hand: free entries keep their gradient; an entry at its lower bound
/// with a positive gradient (pushing out) has 0; one near its bound is cut to the distance.
#[test]
fn projected_gradient_by_hand() {
    let b = Bounds { lower: vec![0.0, 0.0, 0.0, f64::NEG_INFINITY], upper: vec![1.0, 1.0, 1.0, f64::INFINITY] };
    let theta = [0.5, 0.0, 0.9, 3.0];
    let g = [0.2, 0.7, -0.5, -2.0];
    let pg = b.projected_gradient(&theta, &g);
    // 0.5 - clamp(0.3) = 0.2; 0 - clamp(-0.7) = 0; 0.9 - clamp(1.4) = -0.1; 3 - 5 = -2
    let want = [0.2, 0.0, 0.9 - 1.0, -2.0];
    for (p, w) in pg.iter().zip(want) {
        assert!((p - w).abs() < 1e-15, "{pg:?}");
    }
    assert_eq!(b.held(&theta, &g), vec![false, true, false, false]);
}

/// theta's layout by group, and the config check naming the offending group.
#[test]
fn theta_box_layout_and_validation() {
    let spec = Spec::new(Gate::Sigmoid, Expert::Relu, 2, 3).unwrap();
    let bx = theta_box([-4.0, 4.0], [-1.0, 1.0], [-2.0, 2.0], [-3.0, 3.0]);
    let b = bx.bounds(&spec);
    assert_eq!(b.upper[spec.beta1_offset(1) + 2], 1.0);
    assert_eq!(b.upper[spec.a_offset(0)], 2.0);
    assert_eq!(b.upper[spec.beta0_offset(1)], 4.0);
    assert_eq!(b.upper[spec.b_offset(1)], 3.0);
    let bad = ThetaBox { expert_slope: [0.5, 2.0], ..bx.clone() };
    let e = bad.check().unwrap_err().to_string();
    assert!(e.contains("theta_box.expert_slope") && e.contains("lo < 0 < hi"), "{e}");
    let bad = ThetaBox { gate_intercept: [f64::NEG_INFINITY, 2.0], ..bx };
    assert!(bad.check().unwrap_err().to_string().contains("theta_box.gate_intercept"));
}
