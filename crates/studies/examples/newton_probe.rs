//! A probe, not part of the pipeline: does a Newton step (the Gauss-Newton matrix plus the
//! residual term sum_s r_s d2f_s) cut the Levenberg-Marquardt iterations of the slow fits?
//!
//! The converged sweep's cost is dominated by the least-squares fits of over-specified
//! mixtures with linear experts (E2 `linear`: a median of 274-444 iterations at n <= 12915).
//! Along the directions that split one true atom between two fitted ones the Gauss-Newton
//! matrix J^T J is nearly singular, and what curvature there is comes partly from the residual
//! term that Gauss-Newton drops. This probe refits some units of a config exactly as the run
//! did (same sample, start, bounds, criterion) with the project's LM, and again with the same
//! loop whose matrix also holds the residual term (sigmoid gate, linear or ReLU experts, for
//! which phi'' = 0), and prints iterations, objective, termination and wall time of both.
//!
//!   cargo run --release -p smoe-studies --example newton_probe -- workflow/e2_regime2.yaml linear 4642 1 4
//!
//! Arguments: config, setting, n, first rep, last rep. The estimator is the config's `lse`.
#[allow(dead_code)] // the shared module's `gbar_inputs` serves the G_bar probes
mod common;

use smoe_estimator::{cholesky_solve, Bounds, Estimator, LmParams};
use smoe_experiment::plan::{Experiment, UnitInputs};
use smoe_metrics::{l2_error, voronoi_loss};
use smoe_model::{kernel, Expert, Gate, Mixture, Sample, Spec, Workspace};
use std::time::Instant;

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// (2/n) sum_s r_s d2 f(x_s)/d theta2 for a sigmoid gate and an expert with phi'' = 0: per atom i,
/// with u = gate pre-activation and v = expert pre-activation, the (gate, gate) block gets
/// r sigma''(u) phi(v) xt xt^T and the (gate, expert) blocks r sigma'(u) phi'(v) xt xt^T, where
/// xt = (x, 1). Added into h (p x p, theta's layout: 2k weight rows of d, then 2k intercepts).
fn add_residual_term(spec: &Spec, theta: &[f64], sample: &Sample, resid: &[f64], h: &mut [f64]) {
    let (k, d) = (spec.k, spec.d);
    let m = 2 * k;
    let p = spec.n_params();
    let n = sample.n();
    let scale = 2.0 / n as f64;
    let d1 = d + 1;
    let mut xt = vec![0.0; n * d1];
    for s in 0..n {
        xt[s * d1..s * d1 + d].copy_from_slice(&sample.x[s * d..(s + 1) * d]);
        xt[s * d1 + d] = 1.0;
    }
    // the parameter index of coordinate a of row `row` (a = d: its intercept)
    let idx = |row: usize, a: usize| if a < d { row * d + a } else { m * d + row };
    let mut wx = vec![0.0; n * d1];
    let mut muu = vec![0.0; d1 * d1];
    let mut muv = vec![0.0; d1 * d1];
    for i in 0..k {
        let (wg, we) = (&theta[i * d..(i + 1) * d], &theta[(k + i) * d..(k + i + 1) * d]);
        let (cg, ce) = (theta[m * d + i], theta[m * d + k + i]);
        let mut w_uu = vec![0.0; n];
        let mut w_uv = vec![0.0; n];
        for s in 0..n {
            let x = &sample.x[s * d..(s + 1) * d];
            let u: f64 = cg + wg.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
            let v: f64 = ce + we.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
            let g = 1.0 / (1.0 + (-u).exp());
            let (phi, dphi) = match spec.expert {
                Expert::Linear => (v, 1.0),
                Expert::Relu => (v.max(0.0), if v > 0.0 { 1.0 } else { 0.0 }),
                other => panic!("the probe handles linear and ReLU experts, not {other:?}"),
            };
            w_uu[s] = scale * resid[s] * g * (1.0 - g) * (1.0 - 2.0 * g) * phi;
            w_uv[s] = scale * resid[s] * g * (1.0 - g) * dphi;
        }
        for (w, out) in [(&w_uu, &mut muu), (&w_uv, &mut muv)] {
            for s in 0..n {
                for a in 0..d1 {
                    wx[s * d1 + a] = w[s] * xt[s * d1 + a];
                }
            }
            // out = xt^T wx (d1 x d1)
            // SAFETY: xt and wx are n x d1 row-major, out is d1 x d1; the strides stay inside them.
            unsafe {
                matrixmultiply::dgemm(
                    d1,
                    n,
                    d1,
                    1.0,
                    xt.as_ptr(),
                    1,
                    d1 as isize,
                    wx.as_ptr(),
                    d1 as isize,
                    1,
                    0.0,
                    out.as_mut_ptr(),
                    d1 as isize,
                    1,
                );
            }
        }
        for a in 0..d1 {
            for b in 0..d1 {
                let (ga, gb, eb) = (idx(i, a), idx(i, b), idx(k + i, b));
                h[ga * p + gb] += muu[a * d1 + b];
                h[ga * p + eb] += muv[a * d1 + b];
                h[eb * p + ga] += muv[a * d1 + b];
            }
        }
    }
}

struct Outcome {
    iterations: u64,
    objective: f64,
    converged: bool,
    theta: Vec<f64>,
}

/// The project's LM loop (crates/estimator/src/lm.rs), its matrix optionally the full Hessian
/// (Gauss-Newton on the first hessian_n rows plus the residual term on all rows). Damping stays
/// Marquardt's, scaled by the Gauss-Newton diagonal (the residual term can make a diagonal entry
/// negative).
fn lm(p: &LmParams, start: &Mixture, sample: &Sample, bounds: &Bounds, newton: bool) -> Outcome {
    let spec = start.spec;
    assert_eq!(spec.gate, Gate::Sigmoid, "the probe's residual term is the sigmoid gate's");
    let np = start.theta.len();
    let d = sample.d;
    let mut ws = Workspace::default();
    let mut theta = start.theta.clone();
    bounds.project(&mut theta);
    let mut grad = vec![0.0; np];
    let mut f = kernel::loss_grad(&spec, &theta, &sample.x, &sample.y, Some(&mut grad), &mut ws);
    let m = if p.hessian_n == 0 { sample.n() } else { p.hessian_n.min(sample.n()) };
    let xh = &sample.x[..m * d];
    let mut h = vec![0.0; np * np];
    let mut trial_grad = vec![0.0; np];
    let mut pred = vec![0.0; sample.n()];
    let mut lambda = 1e-3;
    let mut iterations = 0u64;
    let mut rel_change = f64::INFINITY;
    let mut recent = std::collections::VecDeque::new();
    recent.push_back(f);
    let mut trace_scale = f64::INFINITY;
    let n = sample.n() as f64;
    let mut converged = false;
    loop {
        let pg = norm(&bounds.projected_gradient(&theta, &grad));
        if rel_change <= p.tol_rel_cost && pg <= p.tol_grad * trace_scale * f.sqrt() {
            converged = true;
            break;
        }
        if iterations >= p.max_iters {
            break;
        }
        iterations += 1;
        kernel::gauss_newton(&spec, &theta, xh, &mut h, &mut ws);
        let gn_diag: Vec<f64> = (0..np).map(|i| h[i * np + i]).collect();
        let max_diag = gn_diag.iter().copied().fold(0.0f64, f64::max).max(f64::MIN_POSITIVE);
        trace_scale = (2.0 * gn_diag.iter().sum::<f64>() / n).sqrt();
        if newton {
            kernel::predict_into(&spec, &theta, &sample.x, &mut pred, &mut ws);
            let resid: Vec<f64> = pred.iter().zip(&sample.y).map(|(a, b)| a - b).collect();
            add_residual_term(&spec, &theta, sample, &resid, &mut h);
        }
        let held = bounds.held(&theta, &grad);
        let free: Vec<usize> = (0..np).filter(|&i| !held[i]).collect();
        let nf = free.len();
        let accepted = loop {
            if lambda > 1e12 {
                break false;
            }
            let mut a = Vec::with_capacity(nf * nf);
            for &i in &free {
                a.extend(free.iter().map(|&j| h[i * np + j]));
            }
            for (r, &i) in free.iter().enumerate() {
                a[r * nf + r] += lambda * (gn_diag[i] + 1e-12 * max_diag);
            }
            let mut delta: Vec<f64> = free.iter().map(|&i| -grad[i]).collect();
            if !cholesky_solve(&mut a, &mut delta) {
                lambda *= 10.0;
                continue;
            }
            let mut trial = theta.clone();
            for (&i, dl) in free.iter().zip(&delta) {
                trial[i] += dl;
            }
            bounds.project(&mut trial);
            let step: Vec<f64> = trial.iter().zip(&theta).map(|(t, th)| t - th).collect();
            let g_dot: f64 = grad.iter().zip(&step).map(|(g, s)| g * s).sum();
            let quad: f64 = (0..np).map(|i| step[i] * (0..np).map(|j| h[i * np + j] * step[j]).sum::<f64>()).sum();
            let predicted = -(g_dot + 0.5 * quad);
            let ft = kernel::loss_grad(&spec, &trial, &sample.x, &sample.y, Some(&mut trial_grad), &mut ws);
            if ft.is_finite() && ft < f {
                let rho = (f - ft) / predicted.max(f64::MIN_POSITIVE);
                lambda = if rho > 0.75 {
                    (lambda / 3.0).max(1e-12)
                } else if rho < 0.25 {
                    lambda * 2.0
                } else {
                    lambda
                };
                recent.push_back(ft);
                if recent.len() > 5 {
                    let oldest = recent.pop_front().expect("non-empty");
                    rel_change = (oldest - ft) / oldest;
                }
                theta = trial;
                std::mem::swap(&mut grad, &mut trial_grad);
                f = ft;
                break true;
            }
            lambda *= 4.0;
        };
        if !accepted {
            let pg = norm(&bounds.projected_gradient(&theta, &grad));
            converged = pg <= p.tol_grad * trace_scale * f.sqrt();
            break;
        }
    }
    Outcome { iterations, objective: f, converged, theta }
}

/// The smallest shift tau (relative to the largest diagonal entry, on a log grid 1e-12 .. 1)
/// that makes the full Hessian on the coordinates not held at a bound positive definite; 0 when
/// it already is. An indefinite Hessian at a fit's end (tau > 0 well above the single-precision
/// noise of the Gauss-Newton part, about 1e-6) marks a saddle, not a local minimum.
fn indefiniteness(spec: &Spec, theta: &[f64], sample: &Sample, bounds: &Bounds) -> f64 {
    let p = theta.len();
    let mut ws = Workspace::default();
    let mut h = vec![0.0; p * p];
    kernel::gauss_newton(spec, theta, &sample.x, &mut h, &mut ws);
    let mut pred = vec![0.0; sample.n()];
    kernel::predict_into(spec, theta, &sample.x, &mut pred, &mut ws);
    let resid: Vec<f64> = pred.iter().zip(&sample.y).map(|(a, b)| a - b).collect();
    add_residual_term(spec, theta, sample, &resid, &mut h);
    let mut grad = vec![0.0; p];
    kernel::loss_grad(spec, theta, &sample.x, &sample.y, Some(&mut grad), &mut ws);
    let held = bounds.held(theta, &grad);
    let free: Vec<usize> = (0..p).filter(|&i| !held[i]).collect();
    let nf = free.len();
    let max_diag = free.iter().map(|&i| h[i * p + i]).fold(0.0f64, f64::max);
    let pd = |tau: f64| {
        let mut a = Vec::with_capacity(nf * nf);
        for &i in &free {
            a.extend(free.iter().map(|&j| h[i * p + j]));
        }
        for r in 0..nf {
            a[r * nf + r] += tau * max_diag;
        }
        let mut b = vec![0.0; nf];
        cholesky_solve(&mut a, &mut b)
    };
    if pd(0.0) {
        return 0.0;
    }
    (0..=48).map(|e| 10f64.powf(-12.0 + 0.25 * e as f64)).find(|&t| pd(t)).unwrap_or(f64::INFINITY)
}

/// The Newton matrix (Gauss-Newton on all rows plus the residual term) against central finite
/// differences of the analytic gradient, on the first 300 rows at theta: the largest entry
/// difference over the largest entry (the Gauss-Newton part is single precision, so about 1e-6).
fn check_hessian(spec: &Spec, theta: &[f64], sample: &Sample) -> f64 {
    let rows = sample.n().min(300);
    let d = sample.d;
    let sub = Sample { d, x: sample.x[..rows * d].to_vec(), y: sample.y[..rows].to_vec() };
    let p = theta.len();
    let mut ws = Workspace::default();
    let mut h = vec![0.0; p * p];
    kernel::gauss_newton(spec, theta, &sub.x, &mut h, &mut ws);
    let mut pred = vec![0.0; rows];
    kernel::predict_into(spec, theta, &sub.x, &mut pred, &mut ws);
    let resid: Vec<f64> = pred.iter().zip(&sub.y).map(|(a, b)| a - b).collect();
    add_residual_term(spec, theta, &sub, &resid, &mut h);
    let (mut gp, mut gm) = (vec![0.0; p], vec![0.0; p]);
    let mut worst = 0.0f64;
    let scale = h.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for j in 0..p {
        let step = 1e-5 * (1.0 + theta[j].abs());
        let mut t = theta.to_vec();
        t[j] = theta[j] + step;
        kernel::loss_grad(spec, &t, &sub.x, &sub.y, Some(&mut gp), &mut ws);
        t[j] = theta[j] - step;
        kernel::loss_grad(spec, &t, &sub.x, &sub.y, Some(&mut gm), &mut ws);
        for i in 0..p {
            let fd = (gp[i] - gm[i]) / (2.0 * step);
            worst = worst.max((fd - h[i * p + j]).abs());
        }
    }
    worst / scale
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, setting, n, rep0, rep1] = args.as_slice() else {
        eprintln!("usage: newton_probe CONFIG SETTING N FIRST_REP LAST_REP");
        std::process::exit(2);
    };
    let (n, rep0, rep1): (u64, u32, u32) = (n.parse().expect("N"), rep0.parse().expect("FIRST_REP"), rep1.parse().expect("LAST_REP"));
    let exp = Experiment::load(std::path::Path::new(config)).unwrap_or_else(|e| panic!("{e}"));
    let units = common::lse_units(&exp, setting, Gate::Sigmoid, n, rep0..=rep1);
    let probe_unit = &units[0];
    let inputs = exp.unit_inputs(probe_unit, &exp.truth(probe_unit.setting));
    let err = check_hessian(&inputs.start.spec, &inputs.start.theta, &inputs.data);
    println!("Newton matrix against finite differences of the gradient (300 rows, at the start): {err:.2e} of its largest entry");
    assert!(err < 1e-4, "the residual term disagrees with finite differences ({err:e})");
    // the fits' targets (the truth, or G_bar from the cache of the current code, else computed)
    let ctx = common::context(&exp);
    let fit_cfg = &exp.settings[probe_unit.setting].fits[probe_unit.fit];
    let kind = fit_cfg.losses[0];
    println!("loss: {kind:?} against the fit's target ({:?}); L2: distance of the fitted function to the truth", fit_cfg.target);
    println!(
        "rep | LM: iters, objective, converged, s, tau, loss, L2 | Newton-LM: iters, objective, converged, s, tau, loss, L2 \
         | max |theta diff| | Newton-LM from LM's end: iters, objective"
    );
    for u in &units {
        let UnitInputs { truth, data, start, bounds, .. } = exp.unit_inputs(u, &exp.truth(u.setting));
        let Estimator::Lm(ref params) = exp.estimators[u.estimator].1 else { panic!("lse is not LM") };
        let t = Instant::now();
        let a = lm(params, &start, &data, &bounds, false);
        let ta = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let b = lm(params, &start, &data, &bounds, true);
        let tb = t.elapsed().as_secs_f64();
        let diff = a.theta.iter().zip(&b.theta).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        let (tau_a, tau_b) = (indefiniteness(&start.spec, &a.theta, &data, &bounds), indefiniteness(&start.spec, &b.theta, &data, &bounds));
        let c = lm(params, &Mixture { spec: start.spec, theta: a.theta.clone() }, &data, &bounds, true);
        let target = &ctx.targets[u.setting][u.fit];
        let x_eval = &ctx.eval_x[u.setting];
        let scores = |theta: &[f64]| {
            let m = Mixture { spec: start.spec, theta: theta.to_vec() };
            (voronoi_loss(kind, &m, target).total, l2_error(&m, &truth, x_eval))
        };
        let ((la, l2a), (lb, l2b)) = (scores(&a.theta), scores(&b.theta));
        println!(
            "{} | {} {:.10e} {} {:.2} {:.1e} {:.4} {:.3e} | {} {:.10e} {} {:.2} {:.1e} {:.4} {:.3e} | {:.3e} | {} {:.10e}",
            u.rep,
            a.iterations,
            a.objective,
            a.converged,
            ta,
            tau_a,
            la,
            l2a,
            b.iterations,
            b.objective,
            b.converged,
            tb,
            tau_b,
            lb,
            l2b,
            diff,
            c.iterations,
            c.objective
        );
    }
}
