//! Issue 23.2: what an absolute stopping rule would do to the G_bars of the sweep.
//!
//! For every G_bar fit of CONFIG (or the SETTINGS named), it recomputes the committed G_bar
//! exactly as `smoe_experiment::gbar::compute_or_load` does (same start, reference sample, box and
//! `fit_in_halves`), and then the same fit capped at each iteration of a ladder (the cap does not
//! enter the steps, so a fit capped at m is the first m iterations of the uncapped one, for
//! m <= budget / 2). For each rung it prints the objective (the squared L2 distance to f* on the
//! reference sample), its square root, the projected gradient against its own noise scale, and
//! the D3 and L2 distances to the committed G_bar; and the first rung at which the proposed rule
//! `sqrt(objective) <= fraction * sigma * sqrt(p / n_max)` holds (sigma the noise sd, p the
//! fit's parameter count, n_max the largest n of the grid: the L2 error of a p-parameter
//! least-squares fit at the largest sample, scaled by `fraction`).
//!
//! `cargo run --release -p smoe-studies --example gbar_stop_probe -- CONFIG [SETTING ...]`
//! (LADDER=25,50,100,150,200 and FRACTION=0.01 by default).
use smoe_estimator::{fit_in_halves, Fit};
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::Target;
use smoe_metrics::{l2_error, voronoi_loss, LossKind};
use std::time::Instant;

#[allow(dead_code)] // this probe needs only `gbar_inputs` of the shared module
mod common;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let exp = Experiment::load(std::path::Path::new(&args[1])).expect("config");
    let ladder: Vec<u64> = std::env::var("LADDER")
        .unwrap_or_else(|_| "25,50,100,150,200".into())
        .split(',')
        .map(|v| v.parse().expect("LADDER: comma-separated integers"))
        .collect();
    let fraction: f64 = std::env::var("FRACTION").ok().map_or(0.01, |s| s.parse().expect("FRACTION: a number"));
    let g = exp.config.gbar.as_ref().expect("the config has a gbar section");
    let optimizer = g.optimizer.clone().check().expect("valid optimizer");
    let budget = optimizer.max_iters().expect("a capped optimizer");
    let sigma = exp.config.noise_var.sqrt();
    let n_max = *exp.n_values.iter().max().expect("n grid") as f64;
    println!(
        "experiment,setting,gate,p,tol_l2,rung,iterations,termination,objective,l2_to_fstar,proj_grad_over_noise,d3_to_gbar,l2_to_gbar,seconds,meets_rule"
    );
    for (si, setting) in exp.settings.iter().enumerate() {
        if args.len() > 2 && !args[2..].contains(&setting.name) {
            continue;
        }
        for (fi, fit) in setting.fits.iter().enumerate().filter(|(_, f)| f.target == Target::Gbar) {
            let (_, spec, start, reference) = common::gbar_inputs(&exp, si, fi);
            let gate = fit.gate.name();
            let bounds = exp.bounds(&spec);
            let x = exp.eval_inputs(si);
            let p = spec.n_params();
            let tol = fraction * sigma * (p as f64 / n_max).sqrt();
            let t = Instant::now();
            let (_, end) = fit_in_halves(&optimizer, &start, &reference, &bounds);
            let end_s = t.elapsed().as_secs_f64();
            let row = |label: &str, f: &Fit, s: f64| {
                let l2 = f.report.objective.sqrt();
                println!(
                    "{},{},{gate},{p},{tol:.3e},{label},{},{},{:.4e},{:.3e},{:.3e},{:.4e},{:.3e},{s:.1},{}",
                    exp.id(),
                    setting.name,
                    f.report.iterations,
                    f.report.termination.name(),
                    f.report.objective,
                    l2,
                    f.report.noise_grad.map_or(f64::NAN, |n| f.report.proj_grad_norm / n),
                    voronoi_loss(LossKind::D3, &f.mixture, &end.mixture).total,
                    l2_error(&f.mixture, &end.mixture, &x),
                    if l2 <= tol { "yes" } else { "no" }
                );
            };
            for &m in ladder.iter().filter(|&&m| m <= budget / 2) {
                let t = Instant::now();
                let f = optimizer.with_max_iters(m).fit(&start, &reference, &bounds, &mut smoe_model::seed::stream(0, &[]));
                row(&format!("cap {m}"), &f, t.elapsed().as_secs_f64());
            }
            row("committed", &end, end_s);
        }
    }
}
