//! How G_bar's L-BFGS fit settles: objective, gradient norm, D3 distance to the longest run, and
//! time, for a ladder of iteration budgets. `cargo run --release -p smoe-studies --example gbar_study -- CONFIG SETTING`
use smoe_estimator::{Bounds, LbfgsParams, LmParams};
use smoe_experiment::plan::Experiment;
use smoe_metrics::{l2_error, voronoi_loss, LossKind};
use std::time::Instant;

#[allow(dead_code)] // this study needs only `gbar_inputs` of the shared module
mod common;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let exp = Experiment::load(std::path::Path::new(&args[1])).expect("config");
    let si = exp.settings.iter().position(|s| s.name == args[2]).expect("setting");
    let budgets: Vec<u64> =
        args.get(3).map(|s| s.split(',').map(|v| v.parse().unwrap()).collect()).unwrap_or(vec![100, 200, 400, 700, 1000, 2000]);
    let setting = &exp.settings[si];
    let fi = setting.fits.iter().position(|f| f.target == smoe_experiment::rows::Target::Gbar).expect("gbar fit");
    let (_, spec, start, sample) = common::gbar_inputs(&exp, si, fi);
    let x = exp.eval_inputs(si);
    let lm_hessian: Vec<usize> =
        std::env::var("LM_HESSIAN_N").ok().map(|s| s.split(',').map(|v| v.parse().unwrap()).collect()).unwrap_or_default();
    let lm_iters: u64 = std::env::var("LM_ITERS").ok().map(|s| s.parse().unwrap()).unwrap_or(100);
    let mut fits = Vec::new();
    for &hn in &lm_hessian {
        let p = LmParams { tol_grad: 1e-13, tol_rel_cost: 1e-15, max_iters: lm_iters, hessian_n: hn }.check().expect("valid");
        let t = Instant::now();
        let f = p.fit(&start, &sample, &Bounds::unbounded(spec.n_params()), &mut smoe_model::seed::stream(0, &[]));
        let s = t.elapsed().as_secs_f64();
        eprintln!(
            "lm hessian_n={hn}: {} {} iters {:.3e} {:.3e} {s:.1}s {}",
            f.report.termination.name(),
            f.report.iterations,
            f.report.objective,
            f.report.grad_norm,
            f.report.detail
        );
        fits.push((hn as u64 + 1_000_000, f, s));
    }
    for &b in &budgets {
        let p = LbfgsParams { memory: 10, tol_grad: 1e-10, tol_cost: 0.0, max_iters: b }.check().expect("valid");
        let t = Instant::now();
        let f = p.fit(&start, &sample, &Bounds::unbounded(spec.n_params()), &mut smoe_model::seed::stream(0, &[]));
        let s = t.elapsed().as_secs_f64();
        fits.push((b, f, s));
    }
    for (b, f, _) in &fits {
        let m = &f.mixture;
        let atoms: Vec<String> = (0..m.k())
            .map(|i| {
                let nb = m.beta1(i).iter().map(|v| v * v).sum::<f64>().sqrt();
                let na = m.a(i).iter().map(|v| v * v).sum::<f64>().sqrt();
                format!("[{i}: |b1| {nb:.3} b0 {:.3} |a| {na:.3} b {:.3}]", m.beta0(i), m.b(i))
            })
            .collect();
        eprintln!("budget {b}: {}", atoms.join(" "));
    }
    let last = &fits.last().unwrap().1.mixture;
    println!("budget,iters,evals,term,objective,grad_norm,d3_to_last,l2_to_last,time_s");
    for (b, f, s) in &fits {
        println!(
            "{b},{},{},{},{:.6e},{:.3e},{:.4e},{:.3e},{s:.1}",
            f.report.iterations,
            f.report.evaluations,
            f.report.termination.name(),
            f.report.objective,
            f.report.grad_norm,
            voronoi_loss(LossKind::D3, &f.mixture, last).total,
            l2_error(&f.mixture, last, &x)
        );
    }
}
