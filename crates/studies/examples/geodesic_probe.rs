//! A probe, not part of the pipeline: does geodesic acceleration (Transtrum and Sethna 2012, a
//! second-order correction of the Levenberg-Marquardt step along the curved, flat valleys of a
//! sloppy model) cut the iterations of the least-squares fit while reaching the same minima?
//!
//! It refits units of a config exactly as the run did (same sample, start, box, stream,
//! convergence test) three ways: the project's estimator (`Estimator::fit`), a replica of its
//! loop in this file (which must give the same iterations and objective, the check that the
//! replica is the project's algorithm), and the same loop with the geodesic acceleration: with v
//! the damped Gauss-Newton step on the free entries, the directional second derivative of the
//! fitted function along v, f''_v = (f(theta + h v) - 2 f(theta) + f(theta - h v)) / h^2 on the
//! Gauss-Newton rows, gives the acceleration a = -(H + lambda D)^-1 (2/m) J^T f''_v, and the step
//! is v + a/2; it is refused (lambda rises) when 2 |a|_D > alpha |v|_D, i.e. when the
//! second-order term is not small against the first (alpha = 0.75, the authors' value).
//!
//! The replica column takes two other changes, chosen by environment variables: `REUSE=K`
//! rebuilds the Gauss-Newton matrix only every K iterations (and at once when a step with a stale
//! matrix is refused, and before the convergence test is accepted), `PATTERN=K` extrapolates the
//! displacement of every K accepted steps (1, 2, 4, ... times while the objective falls).
//! `ADAPT=R` (with `REUSE`) also rebuilds the matrix after any accepted step whose gain ratio is
//! below R. `GATE=softmax` picks the softmax fits of a setting, `NO_GEO=1` skips the geodesic column.
//! `TRACE=1` prints the objective, damping and projected gradient every 10 iterations to stderr;
//! the time spent in the Gauss-Newton product, the Cholesky solves and the objective goes to
//! stderr after each replica. (In data/geodesic_probe.log, written before these were kept per
//! fit, the GN-builds count is cumulative over a run and from the second unit of a run on these
//! times include the previous unit's geodesic fit; the first unit of each run is clean.)
//!
//!   cargo run --release -p smoe-studies --example geodesic_probe -- workflow/e1_regime1.yaml linear 10000 0 3
//!
//! Arguments: config, setting, n, first rep, last rep [, alpha].
#[allow(dead_code)] // this probe needs only `lse_units` of the shared module
mod common;

use smoe_estimator::{cholesky_solve, Bounds, Estimator, LmParams};
use smoe_experiment::plan::{Experiment, UnitInputs};
use smoe_model::{kernel, Gate, Mixture, Sample, Workspace};
use std::time::Instant;

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn quadratic_form(h: &[f64], s: &[f64]) -> f64 {
    let p = s.len();
    (0..p).map(|i| s[i] * h[i * p..(i + 1) * p].iter().zip(s).map(|(hv, sv)| hv * sv).sum::<f64>()).sum()
}

struct Out {
    iterations: u64,
    evaluations: u64,
    objective: f64,
    converged: bool,
    refused_by_alpha: u64,
    theta: Vec<f64>,
    cost: Cost,
}

/// What one fit spent: Gauss-Newton products (count and seconds), Cholesky solves and
/// full-sample evaluations (seconds), and accepted pattern moves.
#[derive(Default)]
struct Cost {
    gn_builds: u64,
    gn_s: f64,
    cholesky_s: f64,
    loss_s: f64,
    pattern_moves: u64,
}

/// Rebuild the Gauss-Newton matrix at theta, counted and timed.
fn rebuild(spec: &smoe_model::Spec, theta: &[f64], xh: &[f64], h: &mut [f64], ws: &mut Workspace, cost: &mut Cost) {
    let t = Instant::now();
    kernel::gauss_newton(spec, theta, xh, h, ws);
    cost.gn_s += t.elapsed().as_secs_f64();
    cost.gn_builds += 1;
}

const LAMBDA0: f64 = 1e-3;
const LAMBDA_MIN: f64 = 1e-12;
const LAMBDA_MAX: f64 = 1e12;
const SETTLE_WINDOW: usize = 5;
const FD_H: f64 = 0.1;

/// The project's loop (crates/estimator/src/lm.rs), with the geodesic acceleration when `alpha`
/// is given.
fn lm(p: &LmParams, start: &Mixture, sample: &Sample, bounds: &Bounds, alpha: Option<f64>) -> Out {
    let spec = start.spec;
    let np = start.theta.len();
    let d = sample.d;
    let mut ws = Workspace::default();
    let mut theta = start.theta.clone();
    bounds.project(&mut theta);
    let mut grad = vec![0.0; np];
    let mut f = kernel::loss_grad(&spec, &theta, &sample.x, &sample.y, Some(&mut grad), &mut ws);
    let mut evaluations = 1u64;
    let mut cost = Cost::default();
    let m = if p.hessian_n == 0 { sample.n() } else { p.hessian_n.min(sample.n()) };
    let xh = &sample.x[..m * d];
    let mut h = vec![0.0; np * np];
    let mut a = Vec::with_capacity(np * np);
    let mut a2 = Vec::with_capacity(np * np);
    let mut delta = Vec::with_capacity(np);
    let mut step = vec![0.0; np];
    let mut trial = vec![0.0; np];
    let mut trial_grad = vec![0.0; np];
    let mut lambda = LAMBDA0;
    let mut iterations = 0u64;
    let mut refused_by_alpha = 0u64;
    let mut converged = false;
    let mut rel_change = f64::INFINITY;
    let mut recent = std::collections::VecDeque::with_capacity(SETTLE_WINDOW + 1);
    recent.push_back(f);
    let mut trace_scale = f64::INFINITY;
    let n = sample.n() as f64;
    let (mut f0, mut fp, mut fm, mut yacc) = (vec![0.0; m], vec![0.0; m], vec![0.0; m], vec![0.0; m]);
    let mut vfull = vec![0.0; np];
    let pattern: Option<usize> = if alpha.is_none() { std::env::var("PATTERN").ok().map(|v| v.parse().expect("PATTERN")) } else { None };
    let mut history: std::collections::VecDeque<Vec<f64>> = Default::default();
    let mut since_pattern = 0usize;
    let reuse: usize = std::env::var("REUSE").ok().map_or(1, |v| v.parse().expect("REUSE"));
    let mut h_age = usize::MAX;
    let mut force_fresh = false;
    let adapt: f64 = std::env::var("ADAPT").ok().map_or(f64::NEG_INFINITY, |v| v.parse().expect("ADAPT"));
    let mut gacc = vec![0.0; np];
    loop {
        let pg = norm(&bounds.projected_gradient(&theta, &grad));
        if std::env::var_os("TRACE").is_some() && iterations % 10 == 0 {
            let on_wall = theta.iter().zip(bounds.held(&theta, &grad)).filter(|(_, h)| *h).count();
            eprintln!(
                "{iterations} {f:.10e} lambda {lambda:.1e} pg/noise {:.3e} held {on_wall} rel5 {rel_change:.2e}",
                pg / (trace_scale * f.sqrt())
            );
        }
        if rel_change <= p.tol_rel_cost && pg <= p.tol_grad * trace_scale * f.sqrt() {
            if h_age > 1 && h_age != usize::MAX {
                // the noise scale of a stale H: rebuild at theta and test again
                rebuild(&spec, &theta, xh, &mut h, &mut ws, &mut cost);
                h_age = 1;
                trace_scale = (2.0 * (0..np).map(|i| h[i * np + i]).sum::<f64>() / n).sqrt();
                if pg <= p.tol_grad * trace_scale * f.sqrt() {
                    converged = true;
                    break;
                }
            } else {
                converged = true;
                break;
            }
        }
        if iterations >= p.max_iters {
            break;
        }
        iterations += 1;
        if h_age >= reuse || force_fresh {
            rebuild(&spec, &theta, xh, &mut h, &mut ws, &mut cost);
            h_age = 0;
            force_fresh = false;
        }
        h_age += 1;
        let max_diag = (0..np).map(|i| h[i * np + i]).fold(0.0f64, f64::max).max(f64::MIN_POSITIVE);
        trace_scale = (2.0 * (0..np).map(|i| h[i * np + i]).sum::<f64>() / n).sqrt();
        let held = bounds.held(&theta, &grad);
        let free: Vec<usize> = (0..np).filter(|&i| !held[i]).collect();
        let nf = free.len();
        if alpha.is_some() {
            kernel::predict_into(&spec, &theta, xh, &mut f0, &mut ws);
        }
        let accepted = loop {
            if lambda > LAMBDA_MAX {
                break false;
            }
            a.clear();
            for &i in &free {
                a.extend(free.iter().map(|&j| h[i * np + j]));
            }
            for (r, &i) in free.iter().enumerate() {
                a[r * nf + r] += lambda * (h[i * np + i] + 1e-12 * max_diag);
            }
            a2.clone_from(&a);
            delta.clear();
            delta.extend(free.iter().map(|&i| -grad[i]));
            let t0 = Instant::now();
            let ok = cholesky_solve(&mut a, &mut delta);
            cost.cholesky_s += t0.elapsed().as_secs_f64();
            if !ok {
                lambda *= 10.0;
                continue;
            }
            trial.copy_from_slice(&theta);
            if let Some(alpha) = alpha {
                // the directional second derivative of f along v, on the Gauss-Newton rows
                vfull.iter_mut().for_each(|v| *v = 0.0);
                for (&i, dl) in free.iter().zip(&delta) {
                    vfull[i] = *dl;
                }
                let plus: Vec<f64> = theta.iter().zip(&vfull).map(|(t, v)| t + FD_H * v).collect();
                let minus: Vec<f64> = theta.iter().zip(&vfull).map(|(t, v)| t - FD_H * v).collect();
                kernel::predict_into(&spec, &plus, xh, &mut fp, &mut ws);
                kernel::predict_into(&spec, &minus, xh, &mut fm, &mut ws);
                for s in 0..m {
                    let fvv = (fp[s] - 2.0 * f0[s] + fm[s]) / (FD_H * FD_H);
                    // residual f - y = fvv, so the gradient is (2/m) J^T fvv
                    yacc[s] = f0[s] - fvv;
                }
                kernel::loss_grad(&spec, &theta, xh, &yacc, Some(&mut gacc), &mut ws);
                let mut acc: Vec<f64> = free.iter().map(|&i| -gacc[i]).collect();
                assert!(cholesky_solve(&mut a2, &mut acc), "factored once already");
                let dn = |v: &[f64]| free.iter().zip(v).map(|(&i, x)| h[i * np + i] * x * x).sum::<f64>().sqrt();
                if 2.0 * dn(&acc) > alpha * dn(&delta) {
                    refused_by_alpha += 1;
                    lambda *= 4.0;
                    continue;
                }
                for ((&i, dl), ac) in free.iter().zip(&delta).zip(&acc) {
                    trial[i] += dl + 0.5 * ac;
                }
            } else {
                for (&i, dl) in free.iter().zip(&delta) {
                    trial[i] += dl;
                }
            }
            bounds.project(&mut trial);
            for ((s, t), th) in step.iter_mut().zip(&trial).zip(&theta) {
                *s = t - th;
            }
            let g_dot: f64 = grad.iter().zip(&step).map(|(g, s)| g * s).sum();
            let predicted = -(g_dot + 0.5 * quadratic_form(&h, &step));
            let t0 = Instant::now();
            let ft = kernel::loss_grad(&spec, &trial, &sample.x, &sample.y, Some(&mut trial_grad), &mut ws);
            cost.loss_s += t0.elapsed().as_secs_f64();
            evaluations += 1;
            if ft.is_finite() && ft < f {
                let rho = (f - ft) / predicted.max(f64::MIN_POSITIVE);
                if rho < adapt {
                    // the (possibly stale) model predicted poorly: a fresh matrix next iteration
                    force_fresh = true;
                }
                lambda = if rho > 0.75 {
                    (lambda / 3.0).max(LAMBDA_MIN)
                } else if rho < 0.25 {
                    lambda * 2.0
                } else {
                    lambda
                };
                recent.push_back(ft);
                if recent.len() > SETTLE_WINDOW {
                    let oldest = recent.pop_front().expect("non-empty");
                    rel_change = (oldest - ft) / oldest;
                }
                std::mem::swap(&mut theta, &mut trial);
                std::mem::swap(&mut grad, &mut trial_grad);
                f = ft;
                break true;
            }
            if h_age > 1 {
                rebuild(&spec, &theta, xh, &mut h, &mut ws, &mut cost);
                h_age = 1;
                continue;
            }
            lambda *= 4.0;
        };
        if accepted {
            if let Some(kp) = pattern {
                history.push_back(theta.clone());
                if history.len() > kp + 1 {
                    history.pop_front();
                }
                since_pattern += 1;
                if history.len() == kp + 1 && since_pattern >= kp && iterations > 20 {
                    since_pattern = 0;
                    let old = history.front().expect("full").clone();
                    let dir: Vec<f64> = theta.iter().zip(&old).map(|(a, b)| a - b).collect();
                    let mut best: Option<(f64, Vec<f64>, Vec<f64>)> = None;
                    let mut t = 1.0;
                    while t <= 64.0 {
                        let mut cand: Vec<f64> = theta.iter().zip(&dir).map(|(a, b)| a + t * b).collect();
                        bounds.project(&mut cand);
                        let mut cg = vec![0.0; np];
                        let fc = kernel::loss_grad(&spec, &cand, &sample.x, &sample.y, Some(&mut cg), &mut ws);
                        evaluations += 1;
                        let bar = best.as_ref().map_or(f, |b| b.0);
                        if fc.is_finite() && fc < bar {
                            best = Some((fc, cand, cg));
                            t *= 2.0;
                        } else {
                            break;
                        }
                    }
                    if let Some((fc, cand, cg)) = best {
                        cost.pattern_moves += 1;
                        recent.push_back(fc);
                        if recent.len() > SETTLE_WINDOW {
                            let oldest = recent.pop_front().expect("non-empty");
                            rel_change = (oldest - fc) / oldest;
                        }
                        theta = cand;
                        grad = cg;
                        f = fc;
                        history.clear();
                        history.push_back(theta.clone());
                    }
                }
            }
        }
        if !accepted {
            let pg = norm(&bounds.projected_gradient(&theta, &grad));
            converged = pg <= p.tol_grad * trace_scale * f.sqrt();
            break;
        }
    }
    Out { iterations, evaluations, objective: f, converged, refused_by_alpha, theta, cost }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, setting, n, rep0, rep1, alpha) = match args.as_slice() {
        [c, s, n, r0, r1] => (c, s, n, r0, r1, 0.75),
        [c, s, n, r0, r1, a] => (c, s, n, r0, r1, a.parse().expect("ALPHA")),
        _ => {
            eprintln!("usage: geodesic_probe CONFIG SETTING N FIRST_REP LAST_REP [ALPHA]");
            std::process::exit(2);
        }
    };
    let (n, rep0, rep1): (u64, u32, u32) = (n.parse().expect("N"), rep0.parse().expect("FIRST_REP"), rep1.parse().expect("LAST_REP"));
    let exp = Experiment::load(std::path::Path::new(config)).unwrap_or_else(|e| panic!("{e}"));
    let gate = match std::env::var("GATE").as_deref() {
        Ok("softmax") => Gate::Softmax,
        Ok("sigmoid") => Gate::Sigmoid,
        Ok(other) => panic!("GATE={other}: allowed sigmoid, softmax"),
        Err(_) => exp.settings.iter().find(|s| s.name == *setting).map(|s| s.fits[0].gate).unwrap_or(Gate::Sigmoid),
    };
    let units = common::lse_units(&exp, setting, gate, n, rep0..=rep1);
    println!("== {config} {setting} n={n} reps {rep0}-{rep1} alpha {alpha}");
    println!("rep | LM: iters, objective, converged, s | replica: iters, objective | geodesic: iters, evals, objective, converged, s, refused by alpha | max |theta diff|");
    for u in &units {
        let UnitInputs { data, start, bounds, mut stream, .. } = exp.unit_inputs(u, &exp.truth(u.setting));
        let est = &exp.estimators[u.estimator].1;
        let Estimator::Lm(ref params) = *est else { panic!("lse is not LM") };
        let t = Instant::now();
        let run = est.fit(&start, &data, &bounds, &mut stream);
        let t_run = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let replica = lm(params, &start, &data, &bounds, None);
        let t_rep = t.elapsed().as_secs_f64();
        let c = &replica.cost;
        eprintln!("replica time: GN {:.2} s, Cholesky {:.2} s, loss_grad {:.2} s", c.gn_s, c.cholesky_s, c.loss_s);
        let t = Instant::now();
        let geo = if std::env::var_os("NO_GEO").is_some() {
            Out {
                iterations: 0,
                evaluations: 0,
                objective: f64::NAN,
                converged: false,
                refused_by_alpha: 0,
                theta: run.mixture.theta.clone(),
                cost: Cost::default(),
            }
        } else {
            lm(params, &start, &data, &bounds, Some(alpha))
        };
        let t_geo = t.elapsed().as_secs_f64();
        let diff = run.mixture.theta.iter().zip(&geo.theta).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        println!(
            "{} | {} {:.10e} {} {:.2} | {} {} {:.10e} {} {:.2} pattern moves {} GN builds {} | {} {} {:.10e} {} {:.2} {} | {:.3e}",
            u.rep,
            run.report.iterations,
            run.report.objective,
            run.report.termination.meets_criterion(),
            t_run,
            replica.iterations,
            replica.evaluations,
            replica.objective,
            replica.converged,
            t_rep,
            replica.cost.pattern_moves,
            replica.cost.gn_builds,
            geo.iterations,
            geo.evaluations,
            geo.objective,
            geo.converged,
            t_geo,
            geo.refused_by_alpha,
            diff
        );
    }
}
