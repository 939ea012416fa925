//! A probe, not part of the pipeline: how much does a unit's loss depend on which local minimum
//! its least-squares fit reaches?
//!
//! The theorems are about the least-squares estimator, a global minimiser over Theta; the run
//! computes a local one, reached by Levenberg-Marquardt from the split truth plus a small noise
//! (docs/PROTOCOL.md 2, 3c). For each unit this refits from K starts: start 0 is the run's own
//! (the row in fits.parquet), starts 1..K-1 are the same recipe with other noise draws (streams
//! keyed by the unit and "multistart"/j). It prints, per unit, the run's objective and loss, the
//! loss of the start with the lowest objective (the best local minimum found), and the range of
//! the loss over the K endpoints; then, per n, the medians over the reps.
//!
//!   cargo run --release -p smoe-studies --example multistart_probe -- workflow/e2_regime2.yaml linear 4 0 3 1000 4642 21544 100000
//!
//! Arguments: [--gate sigmoid|softmax] config, setting, K, first rep, last rep, then the sample
//! sizes. The estimator is the config's `lse`, the fit the setting's fit with that gate
//! (default sigmoid). Per n it also prints, for both choices of start, the median L2 distance
//! of the fitted function to the truth and the median matched expert error (the two errors of
//! the sample-complexity comparison).
#[allow(dead_code)] // the shared module's `gbar_inputs` serves the G_bar probes
mod common;

use smoe_experiment::plan::{Experiment, UnitInputs};
use smoe_metrics::{l2_error, matched_expert_error, voronoi_loss};
use smoe_model::Gate;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let gate = if args.first().is_some_and(|a| a == "--gate") {
        let g = args.get(1).cloned().unwrap_or_default();
        args.drain(..2);
        match g.as_str() {
            "sigmoid" => Gate::Sigmoid,
            "softmax" => Gate::Softmax,
            other => {
                eprintln!("--gate: '{other}' is not one of sigmoid, softmax");
                std::process::exit(2);
            }
        }
    } else {
        Gate::Sigmoid
    };
    if args.len() < 6 {
        eprintln!("usage: multistart_probe [--gate sigmoid|softmax] CONFIG SETTING K FIRST_REP LAST_REP N...");
        std::process::exit(2);
    }
    let (config, setting) = (&args[0], &args[1]);
    let k: usize = args[2].parse().expect("K");
    let (rep0, rep1): (u32, u32) = (args[3].parse().expect("FIRST_REP"), args[4].parse().expect("LAST_REP"));
    let ns: Vec<u64> = args[5..].iter().map(|a| a.parse().expect("N")).collect();
    let exp = Experiment::load(std::path::Path::new(config)).unwrap_or_else(|e| panic!("{e}"));
    let ctx = common::context(&exp);
    println!("# {config} setting {setting}, {} gate: {k} starts per unit (start 0: the run's)", gate.name());
    println!(
        "n rep | run: objective, loss, L2 | best of {k}: start, objective, loss, L2 | loss over the {k} endpoints: min max | converged"
    );
    let mut summary = Vec::new();
    for &n in &ns {
        let units = common::lse_units(&exp, setting, gate, n, rep0..=rep1);
        let (mut run_loss, mut best_loss, mut spread) = (Vec::new(), Vec::new(), Vec::new());
        let (mut run_l2, mut best_l2, mut run_expert, mut best_expert) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for u in &units {
            let UnitInputs { truth, data, start, bounds, mut stream, spec, .. } = exp.unit_inputs(u, &exp.truth(u.setting));
            let estimator = &exp.estimators[u.estimator].1;
            let fit_cfg = &exp.settings[u.setting].fits[u.fit];
            let kind = fit_cfg.losses[0];
            let target = &ctx.targets[u.setting][u.fit];
            let x_eval = &ctx.eval_x[u.setting];
            let (ns_, rs) = (n.to_string(), u.rep.to_string());
            let mut ends = Vec::new();
            for j in 0..k {
                let s = if j == 0 {
                    start.clone()
                } else {
                    let js = j.to_string();
                    let mut rng = exp.stream(&[
                        ("setting", &exp.settings[u.setting].name),
                        ("n", &ns_),
                        ("rep", &rs),
                        ("purpose", "multistart"),
                        ("start", &js),
                    ]);
                    exp.inits[u.estimator].start(&truth, spec, n as usize, &mut rng).expect("validated init")
                };
                let fit = estimator.fit(&s, &data, &bounds, &mut stream);
                let loss = voronoi_loss(kind, &fit.mixture, target).total;
                let l2 = l2_error(&fit.mixture, &truth, x_eval);
                let expert = matched_expert_error(&fit.mixture, &truth, x_eval);
                ends.push((fit.report.objective, loss, l2, fit.report.termination.meets_criterion(), expert));
            }
            let best = (0..k).min_by(|&a, &b| ends[a].0.total_cmp(&ends[b].0)).expect("K >= 1");
            let lo = ends.iter().map(|e| e.1).fold(f64::INFINITY, f64::min);
            let hi = ends.iter().map(|e| e.1).fold(f64::NEG_INFINITY, f64::max);
            let conv = ends.iter().filter(|e| e.3).count();
            println!(
                "{n} {} | {:.6e} {:.4} {:.3e} | {best} {:.6e} {:.4} {:.3e} | {lo:.4} {hi:.4} | {conv}/{k}",
                u.rep, ends[0].0, ends[0].1, ends[0].2, ends[best].0, ends[best].1, ends[best].2
            );
            run_loss.push(ends[0].1);
            best_loss.push(ends[best].1);
            spread.push(hi / lo);
            run_l2.push(ends[0].2);
            best_l2.push(ends[best].2);
            run_expert.push(ends[0].4);
            best_expert.push(ends[best].4);
        }
        summary.push(format!(
            "{n} | {:.4} {:.4} | {:.2} | {:.4e} {:.4e} | {:.4e} {:.4e}",
            median(run_loss),
            median(best_loss),
            median(spread),
            median(run_l2),
            median(best_l2),
            median(run_expert),
            median(best_expert)
        ));
    }
    println!(
        "n | median loss: run, best of {k} | median max/min loss over the starts | median L2 to the truth: run, best of {k} \
         | median matched expert error: run, best of {k}"
    );
    for line in summary {
        println!("{line}");
    }
}
