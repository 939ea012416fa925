//! How far a capped L-BFGS fit is from the converged least-squares estimator, in the losses the
//! experiments measure: for the units of one setting at one n, fit the unit's own data from its
//! own start with L-BFGS at several iteration budgets and with Levenberg-Marquardt.
//! `cargo run --release -p smoe-studies --example fit_study -- CONFIG SETTING N REPS [BUDGETS]`
use smoe_estimator::{Bounds, Estimator, LbfgsParams, LmParams};
use smoe_experiment::plan::Experiment;
use smoe_metrics::voronoi_loss;
use smoe_model::{draw_sample, seed};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let exp = Experiment::load(std::path::Path::new(&args[1])).expect("config");
    let si = exp.settings.iter().position(|s| s.name == args[2]).expect("setting");
    let n: u64 = args[3].parse().unwrap();
    let reps: u32 = args[4].parse().unwrap();
    let budgets: Vec<u64> = args.get(5).map(|s| s.split(',').map(|v| v.parse().unwrap()).collect()).unwrap_or(vec![300, 1000, 3000]);
    let cfg = &exp.config;
    let setting = &exp.settings[si];
    let fit_cfg = &setting.fits[0];
    assert_eq!(fit_cfg.target, smoe_experiment::rows::Target::Truth, "this study scores against G*");
    let truth = exp.truth(si);
    let spec = setting.fit_spec(fit_cfg, cfg);
    let gate = fit_cfg.gate.name();
    let loss_kind = fit_cfg.losses[0];
    let mut estimators: Vec<(String, Estimator)> = budgets
        .iter()
        .map(|&b| (format!("lbfgs-{b}"), LbfgsParams { memory: 10, tol_grad: 1e-8, tol_cost: 0.0, max_iters: b }.check().unwrap()))
        .collect();
    estimators.push(("lm-full".into(), LmParams { tol_grad: 1e-8, tol_rel_cost: 1e-12, max_iters: 200, hessian_n: 0 }.check().unwrap()));
    println!("rep,estimator,termination,iterations,evaluations,objective,grad_norm,loss,time_s");
    for rep in 0..reps {
        let (ns, rs) = (n.to_string(), rep.to_string());
        let data_id = [("experiment", exp.stream_key()), ("setting", setting.name.as_str()), ("n", &ns), ("rep", &rs), ("purpose", "data")];
        let data = draw_sample(&truth, n as usize, cfg.noise_var, &mut seed::stream(cfg.seed, &data_id)).unwrap();
        let start = exp
            .init
            .start(
                &truth,
                spec,
                n as usize,
                &mut exp.stream(&[("setting", setting.name.as_str()), ("fit", gate), ("n", &ns), ("rep", &rs), ("purpose", "init")]),
            )
            .unwrap();
        for (name, est) in &estimators {
            let t = Instant::now();
            let f = est.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(0, &[]));
            let s = t.elapsed().as_secs_f64();
            let r = &f.report;
            println!(
                "{rep},{name},{},{},{},{:.6e},{:.3e},{:.4e},{s:.2}",
                r.termination.name(),
                r.iterations,
                r.evaluations,
                r.objective,
                r.grad_norm,
                voronoi_loss(loss_kind, &f.mixture, &truth).total
            );
        }
    }
}
