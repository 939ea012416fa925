//! How the bounded Levenberg-Marquardt fit converges on the paper's units: for the units of one
//! experiment setting at one n (each unit's own data and start, reproduced from its stream
//! identity exactly as the experiment runner draws them), fit with LM over Theta and report
//! termination, iterations, projected gradient, relative change, active walls, the Voronoi loss
//! and time.
//!
//! `cargo run --release -p smoe-studies --example lm_study -- E1|E2|E3 relu|linear N REPS [HESSIAN_N,..] [TOL_GRAD] [TOL_REL]`
//!
//! E2 and E3 are scored here against the split start (the study is about convergence, not about
//! the target). With `GBAR=1` (and `N_REF`, `MAX_ITERS`) it fits the setting's G_bar instead (the
//! noiseless reference sample and perturbed split start the runner uses) in two halves and prints
//! the D3 drift between them. `MAX_ITERS` caps the fits; `LBFGS=1` adds the capped L-BFGS fit.
use smoe_estimator::{Bounds, InitNoise, InitParams, LbfgsParams, LmParams, MassSplit, ThetaBox};
use smoe_metrics::{voronoi_loss, LossKind};
use smoe_model::{draw_sample, seed, Expert, Gate, Spec, TruthParams};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (exp, setting) = (args[1].as_str(), args[2].as_str());
    let n_arg: usize = args[3].parse().unwrap();
    let grid: Vec<usize> = if n_arg == 0 {
        (0..10).map(|i| (1000f64.ln() + (100000f64.ln() - 1000f64.ln()) * i as f64 / 9.0).exp().round() as usize).collect()
    } else {
        vec![n_arg]
    };
    let reps: u32 = args[4].parse().unwrap();
    let hessians: Vec<usize> = args.get(5).map(|s| s.split(',').map(|v| v.parse().unwrap()).collect()).unwrap_or(vec![0]);
    let tol_grad: f64 = args.get(6).map(|s| s.parse().unwrap()).unwrap_or(1e-6);
    let tol_rel: f64 = args.get(7).map(|s| s.parse().unwrap()).unwrap_or(1e-9);
    let with_lbfgs = std::env::var("LBFGS").is_ok();
    let (seed_master, truth_gate, zero) = match exp {
        "E1" => (20240513u64, Gate::Sigmoid, (1..=8).collect::<Vec<usize>>()),
        "E2" => (20240514, Gate::Sigmoid, vec![8]),
        "E3" => (20240515, Gate::Softmax, vec![8]),
        _ => panic!("E1, E2 or E3"),
    };
    let expert = match setting {
        "relu" => Expert::Relu,
        "linear" => Expert::Linear,
        "gelu" => Expert::Gelu,
        _ => panic!("relu or linear"),
    };
    let fit_gate = Gate::Sigmoid;
    let recipe = TruthParams {
        gate: truth_gate,
        expert,
        d: 32,
        k_star: 8,
        gate_var: None,
        expert_var: None,
        zero_gate_slope: zero,
        zero_expert_slope: vec![],
    }
    .check()
    .unwrap();
    let truth = recipe.draw(&mut seed::stream(seed_master, &[("experiment", exp), ("setting", setting), ("purpose", "truth")]));
    let spec = Spec::new(fit_gate, expert, 9, 32).unwrap();
    let init = InitParams { noise: InitNoise::Fixed { sd: 0.01 }, split_atom: 1, mass_split: MassSplit::Share }.check().unwrap();
    let centre = init.centre(&truth, fit_gate, expert, 9).unwrap();
    let bx = ThetaBox { gate_intercept: [-5.0, 5.0], gate_slope: [-2.0, 2.0], expert_slope: [-3.0, 3.0], expert_intercept: [-3.0, 3.0] };
    let bounds = bx.bounds(&spec);
    let (loss, reference) = match exp {
        "E1" if expert == Expert::Relu => (LossKind::D1, truth.clone()),
        "E1" => (LossKind::D2 { r: 2.0 }, truth.clone()),
        _ => (LossKind::D3, centre.clone()),
    };
    if std::env::var("GBAR").is_ok() {
        let n_ref: usize = std::env::var("N_REF").ok().map(|v| v.parse().unwrap()).unwrap_or(200_000);
        let gate = fit_gate.name();
        let start = init
            .perturbed_centre(
                &truth,
                spec,
                0.01,
                &mut seed::stream(seed_master, &[("experiment", exp), ("setting", setting), ("fit", gate), ("purpose", "gbar_start")]),
            )
            .unwrap();
        let sample = smoe_estimator::reference_sample(
            &truth,
            n_ref,
            &mut seed::stream(seed_master, &[("experiment", exp), ("setting", setting), ("fit", gate), ("purpose", "gbar_reference")]),
        );
        let max_iters = std::env::var("MAX_ITERS").ok().map(|v| v.parse().unwrap()).unwrap_or(600);
        for &h in &hessians {
            let e = LmParams { tol_grad, tol_rel_cost: tol_rel, max_iters, hessian_n: h }.check().unwrap();
            let t = Instant::now();
            let (mid, end) = smoe_estimator::fit_in_halves(&e, &start, &sample, &bounds);
            let s = t.elapsed().as_secs_f64();
            let drift = voronoi_loss(LossKind::D3, &end.mixture, &mid.mixture).total;
            let r = &end.report;
            println!(
                "gbar h{h}: mid {} {} it, end {} {} it, objective {:.6e}, pg/noise {:.3}, active {}, D3 drift {drift:.3e}, {s:.1} s",
                mid.report.termination.name(),
                mid.report.iterations,
                r.termination.name(),
                r.iterations,
                r.objective,
                r.proj_grad_norm / r.noise_grad.unwrap_or(f64::NAN),
                r.active.total()
            );
        }
        return;
    }
    println!("n,rep,estimator,termination,iterations,evaluations,objective,grad_norm,proj_grad,rel_change,pg_over_noise,active,loss,margin,time_s");
    for &n in &grid {
        for rep in 0..reps {
            let (ns, rs) = (n.to_string(), rep.to_string());
            let data = draw_sample(
                &truth,
                n,
                0.01,
                &mut seed::stream(seed_master, &[("experiment", exp), ("setting", setting), ("n", &ns), ("rep", &rs), ("purpose", "data")]),
            )
            .unwrap();
            let start = init
                .start(
                    &truth,
                    spec,
                    n,
                    &mut seed::stream(
                        seed_master,
                        &[("experiment", exp), ("setting", setting), ("fit", "sigmoid"), ("n", &ns), ("rep", &rs), ("purpose", "init")],
                    ),
                )
                .unwrap();
            let mut ests: Vec<(String, smoe_estimator::Estimator, Bounds)> = hessians
                .iter()
                .map(|&h| {
                    let max_iters = std::env::var("MAX_ITERS").ok().map(|v| v.parse().unwrap()).unwrap_or(500);
                    let e = LmParams { tol_grad, tol_rel_cost: tol_rel, max_iters, hessian_n: h }.check().unwrap();
                    (format!("lm-h{h}"), e, bounds.clone())
                })
                .collect();
            if with_lbfgs {
                let e = LbfgsParams { memory: 10, tol_grad: 1e-8, tol_cost: 0.0, max_iters: 300 }.check().unwrap();
                ests.push(("lbfgs-300".into(), e, Bounds::unbounded(spec.n_params())));
            }
            for (name, est, b) in &ests {
                let t = Instant::now();
                let f = est.fit(&start, &data, b, &mut seed::stream(0, &[]));
                let s = t.elapsed().as_secs_f64();
                let r = &f.report;
                let (margin, group) = bx.margin(&spec, &f.mixture.theta);
                println!(
                    "{n},{rep},{name},{},{},{},{:.8e},{:.3e},{:.3e},{:.3e},{:.3},{},{:.4e},{margin:.3}:{},{s:.2}",
                    r.termination.name(),
                    r.iterations,
                    r.evaluations,
                    r.objective,
                    r.grad_norm,
                    r.proj_grad_norm,
                    r.rel_change.unwrap_or(f64::NAN),
                    r.proj_grad_norm / r.noise_grad.unwrap_or(f64::NAN),
                    r.active.total(),
                    voronoi_loss(loss, &f.mixture, &reference).total,
                    group.name()
                );
            }
        }
    }
}
