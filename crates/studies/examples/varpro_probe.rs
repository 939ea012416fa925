//! A probe, not part of the pipeline: how many iterations does variable projection (Golub-Pereyra,
//! Kaufman's Jacobian) need on the slow fits, against the project's Levenberg-Marquardt?
//!
//! With linear experts the model is linear in every expert parameter once the gate parameters are
//! fixed: f(x) = sum_i g_i(x; gamma) (a_i . x + b_i). Variable projection eliminates alpha = (a, b)
//! by a bounded linear least-squares solve at every gamma and runs Levenberg-Marquardt on gamma
//! alone; Kaufman's Gauss-Newton matrix of the reduced problem is the Schur complement
//! H_gg - H_ga H_aa^-1 H_ag of the full Gauss-Newton matrix. This probe is the exact form (the
//! linear solve on all rows, the Schur complement of the full-sample matrix): its iteration count
//! is the most variable projection can give, whatever a faster implementation does per iteration.
//!
//!   cargo run --release -p smoe-studies --example varpro_probe -- workflow/e1_regime1.yaml linear 1000 1 3
//!
//! Results and what they mean: docs/PROTOCOL.md, section 3f.
#[allow(dead_code)] // shared by the probes: this one needs only `lse_units`
mod common;

use smoe_estimator::{Bounds, Estimator, LmParams};
use smoe_experiment::plan::{Experiment, UnitInputs};
use smoe_model::{kernel, Expert, Gate, Mixture, Sample, Spec, Workspace};
use std::time::Instant;

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Indices of the gate parameters and of the expert parameters in theta's layout (2k weight rows
/// of d, then 2k intercepts).
fn groups(spec: &Spec) -> (Vec<usize>, Vec<usize>) {
    let (k, d) = (spec.k, spec.d);
    let gate: Vec<usize> = (0..k * d).chain((0..k).map(|i| 2 * k * d + i)).collect();
    let expert: Vec<usize> = (k * d..2 * k * d).chain((0..k).map(|i| 2 * k * d + k + i)).collect();
    (gate, expert)
}

/// Lower Cholesky factor of the q x q matrix a (row-major) in place; false if not positive definite.
fn chol(a: &mut [f64], q: usize) -> bool {
    for j in 0..q {
        let mut v = a[j * q + j] - (0..j).map(|t| a[j * q + t] * a[j * q + t]).sum::<f64>();
        if !(v > 0.0 && v.is_finite()) {
            return false;
        }
        v = v.sqrt();
        a[j * q + j] = v;
        for i in j + 1..q {
            let s = a[i * q + j] - (0..j).map(|t| a[i * q + t] * a[j * q + t]).sum::<f64>();
            a[i * q + j] = s / v;
        }
    }
    true
}

fn chol_solve(l: &[f64], q: usize, b: &mut [f64]) {
    for i in 0..q {
        let s: f64 = (0..i).map(|t| l[i * q + t] * b[t]).sum();
        b[i] = (b[i] - s) / l[i * q + i];
    }
    for i in (0..q).rev() {
        let s: f64 = (i + 1..q).map(|t| l[t * q + i] * b[t]).sum();
        b[i] = (b[i] - s) / l[i * q + i];
    }
}

fn sub(h: &[f64], p: usize, rows: &[usize], cols: &[usize]) -> Vec<f64> {
    rows.iter().flat_map(|&i| cols.iter().map(move |&j| h[i * p + j])).collect()
}

struct State {
    theta: Vec<f64>,
    f: f64,
    grad: Vec<f64>,
    h: Vec<f64>,
    /// inner projected-Newton passes of the bounded linear solve, and whether the box bound alpha
    inner: u32,
    binds: bool,
}

/// alpha*(gamma): the bounded linear least-squares solve for the expert parameters at the gate
/// parameters in `theta` (projected Newton on the quadratic, exact in one pass when no bound binds).
fn project_alpha(spec: &Spec, mut theta: Vec<f64>, sample: &Sample, bounds: &Bounds, ws: &mut Workspace) -> State {
    let p = theta.len();
    let (_, ex) = groups(spec);
    let mut h = vec![0.0; p * p];
    kernel::gauss_newton(spec, &theta, &sample.x, &mut h, ws);
    let mut grad = vec![0.0; p];
    let mut f = kernel::loss_grad(spec, &theta, &sample.x, &sample.y, Some(&mut grad), ws);
    let mut inner = 0;
    let mut binds = false;
    for _ in 0..20 {
        let held = bounds.held(&theta, &grad);
        let free: Vec<usize> = ex.iter().copied().filter(|&i| !held[i]).collect();
        binds |= free.len() < ex.len();
        let q = free.len();
        let a0 = sub(&h, p, &free, &free);
        let max_diag = (0..q).map(|r| a0[r * q + r]).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
        let mut ridge = 1e-10;
        let a = loop {
            let mut a = a0.clone();
            for r in 0..q {
                a[r * q + r] += ridge * max_diag;
            }
            if chol(&mut a, q) {
                break Some(a);
            }
            ridge *= 100.0;
            if ridge >= 1.0 {
                break None;
            }
        };
        let Some(a) = a else { break };
        let mut delta: Vec<f64> = free.iter().map(|&i| -grad[i]).collect();
        chol_solve(&a, q, &mut delta);
        let mut trial = theta.clone();
        for (&i, dl) in free.iter().zip(&delta) {
            trial[i] += dl;
        }
        bounds.project(&mut trial);
        let mut tg = vec![0.0; p];
        let ft = kernel::loss_grad(spec, &trial, &sample.x, &sample.y, Some(&mut tg), ws);
        inner += 1;
        if ft.is_nan() || ft >= f {
            break;
        }
        let done = (f - ft) <= 1e-13 * f;
        theta = trial;
        grad = tg;
        f = ft;
        let pg_alpha = norm(&ex.iter().map(|&i| bounds.projected_gradient(&theta[i..i + 1], &grad[i..i + 1])[0]).collect::<Vec<_>>());
        if done || pg_alpha <= 1e-9 * norm(&grad).max(1e-300) {
            break;
        }
    }
    State { theta, f, grad, h, inner, binds }
}

struct Outcome {
    iterations: u64,
    objective: f64,
    converged: bool,
    inner: u32,
    binds: u32,
}

/// Levenberg-Marquardt on the gate parameters of the reduced problem, with the project's
/// damping rule and convergence test (projected gradient of the full theta against the noise's
/// gradient scale, settled objective over five accepted steps).
fn varpro(p: &LmParams, start: &Mixture, sample: &Sample, bounds: &Bounds) -> Outcome {
    let spec = start.spec;
    let np = start.theta.len();
    let (gate, _) = groups(&spec);
    let mut ws = Workspace::default();
    let mut theta = start.theta.clone();
    bounds.project(&mut theta);
    let mut st = project_alpha(&spec, theta, sample, bounds, &mut ws);
    let (mut inner, mut binds) = (st.inner, st.binds as u32);
    let mut lambda = 1e-3;
    let mut iterations = 0u64;
    let mut rel_change = f64::INFINITY;
    let mut recent = std::collections::VecDeque::new();
    recent.push_back(st.f);
    let mut converged = false;
    loop {
        let trace_scale = (2.0 * (0..np).map(|i| st.h[i * np + i]).sum::<f64>() / sample.n() as f64).sqrt();
        let pg = norm(&bounds.projected_gradient(&st.theta, &st.grad));
        if rel_change <= p.tol_rel_cost && pg <= p.tol_grad * trace_scale * st.f.sqrt() {
            converged = true;
            break;
        }
        if iterations >= p.max_iters {
            break;
        }
        iterations += 1;
        // the Schur complement on the free gate entries, eliminating the free expert entries
        let held = bounds.held(&st.theta, &st.grad);
        let (gate_all, ex_all) = groups(&spec);
        let gf: Vec<usize> = gate_all.iter().copied().filter(|&i| !held[i]).collect();
        let ef: Vec<usize> = ex_all.iter().copied().filter(|&i| !held[i]).collect();
        let (qg, qe) = (gf.len(), ef.len());
        let hee0 = sub(&st.h, np, &ef, &ef);
        let md = (0..qe).map(|r| hee0[r * qe + r]).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
        // H_aa is singular when a gate weight vanishes (that expert is not identified): the
        // smallest ridge, relative to its largest diagonal entry, that makes it factor
        let mut ridge = 1e-10;
        let hee = loop {
            let mut a = hee0.clone();
            for r in 0..qe {
                a[r * qe + r] += ridge * md;
            }
            if chol(&mut a, qe) {
                break a;
            }
            ridge *= 100.0;
            assert!(ridge < 1.0, "H_aa not positive definite with any ridge");
        };
        let mut s = sub(&st.h, np, &gf, &gf);
        let heg = sub(&st.h, np, &ef, &gf); // qe x qg
        let mut x = vec![0.0; qe * qg]; // columns: H_aa^-1 H_ag
        for c in 0..qg {
            let mut col: Vec<f64> = (0..qe).map(|r| heg[r * qg + c]).collect();
            chol_solve(&hee, qe, &mut col);
            for r in 0..qe {
                x[r * qg + c] = col[r];
            }
        }
        for a in 0..qg {
            for b in 0..qg {
                s[a * qg + b] -= (0..qe).map(|r| heg[r * qg + a] * x[r * qg + b]).sum::<f64>();
            }
        }
        let sd: Vec<f64> = (0..qg).map(|r| s[r * qg + r]).collect();
        let max_sd = sd.iter().copied().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
        let accepted = loop {
            if lambda > 1e12 {
                break false;
            }
            let mut a = s.clone();
            for r in 0..qg {
                a[r * qg + r] += lambda * (sd[r].max(0.0) + 1e-12 * max_sd);
            }
            if !chol(&mut a, qg) {
                lambda *= 10.0;
                continue;
            }
            let mut delta: Vec<f64> = gf.iter().map(|&i| -st.grad[i]).collect();
            chol_solve(&a, qg, &mut delta);
            let mut trial = st.theta.clone();
            for (&i, dl) in gf.iter().zip(&delta) {
                trial[i] += dl;
            }
            bounds.project(&mut trial);
            let step: Vec<f64> = gf.iter().map(|&i| trial[i] - st.theta[i]).collect();
            let g_dot: f64 = gf.iter().zip(&step).map(|(&i, s)| st.grad[i] * s).sum();
            let quad: f64 = (0..qg).map(|a| step[a] * (0..qg).map(|b| s[a * qg + b] * step[b]).sum::<f64>()).sum();
            let predicted = -(g_dot + 0.5 * quad);
            let t = project_alpha(&spec, trial, sample, bounds, &mut ws);
            inner += t.inner;
            if t.f.is_finite() && t.f < st.f {
                let rho = (st.f - t.f) / predicted.max(f64::MIN_POSITIVE);
                lambda = if rho > 0.75 {
                    (lambda / 3.0).max(1e-12)
                } else if rho < 0.25 {
                    lambda * 2.0
                } else {
                    lambda
                };
                recent.push_back(t.f);
                if recent.len() > 5 {
                    let oldest = recent.pop_front().expect("non-empty");
                    rel_change = (oldest - t.f) / oldest;
                }
                binds += t.binds as u32;
                st = t;
                break true;
            }
            lambda *= 4.0;
        };
        if !accepted {
            let trace_scale = (2.0 * (0..np).map(|i| st.h[i * np + i]).sum::<f64>() / sample.n() as f64).sqrt();
            converged = norm(&bounds.projected_gradient(&st.theta, &st.grad)) <= p.tol_grad * trace_scale * st.f.sqrt();
            break;
        }
    }
    let _ = gate;
    Outcome { iterations, objective: st.f, converged, inner, binds }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, setting, n, rep0, rep1] = args.as_slice() else {
        eprintln!("usage: varpro_probe CONFIG SETTING N FIRST_REP LAST_REP");
        std::process::exit(2);
    };
    let (n, rep0, rep1): (u64, u32, u32) = (n.parse().expect("N"), rep0.parse().expect("FIRST_REP"), rep1.parse().expect("LAST_REP"));
    let exp = Experiment::load(std::path::Path::new(config)).unwrap_or_else(|e| panic!("{e}"));
    let gate = exp.settings.iter().find(|s| s.name == *setting).map(|s| s.fits[0].gate).unwrap_or(Gate::Sigmoid);
    let units = common::lse_units(&exp, setting, gate, n, rep0..=rep1);
    println!(
        "rep | LM: iters, objective, converged, s | VarPro: iters, objective, converged, s, inner solves, steps where the box binds alpha"
    );
    for u in &units {
        let UnitInputs { data, start, bounds, mut stream, .. } = exp.unit_inputs(u, &exp.truth(u.setting));
        assert_eq!(start.spec.expert, Expert::Linear, "variable projection here needs linear experts");
        let Estimator::Lm(ref params) = exp.estimators[u.estimator].1 else { panic!("lse is not LM") };
        let est = &exp.estimators[u.estimator].1;
        let t = Instant::now();
        let a = est.fit(&start, &data, &bounds, &mut stream);
        let ta = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let b = varpro(params, &start, &data, &bounds);
        let tb = t.elapsed().as_secs_f64();
        println!(
            "{} | {} {:.10e} {} {:.2} | {} {:.10e} {} {:.2} {} {}",
            u.rep,
            a.report.iterations,
            a.report.objective,
            a.report.termination.meets_criterion(),
            ta,
            b.iterations,
            b.objective,
            b.converged,
            tb,
            b.inner,
            b.binds
        );
    }
}
