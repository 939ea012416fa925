//! Why a least-squares fit *stalls* (`line_search_failed`: no step, however short, lowers the
//! objective although the projected gradient is above its tolerance), tested fit by fit.
//!
//! The objective of a ReLU mixture is only piecewise smooth: the term of sample s is not
//! differentiable where an expert's pre-activation a_i.x_s + b_i is zero. The kernel takes
//! ReLU'(0) = 0 (one side's gradient), so at such a kink the gradient it reports is one element of
//! the Clarke subdifferential, g(t) = g0 + sum_j t_j v_j with t_j in [0, 1] over the kink points
//! j (v_j the term's gradient on the expert's parameters with ReLU' = 1). A point is first-order
//! (Clarke stationary) when some element is zero, which the smooth test, applied to one element,
//! cannot see. For each stalled fit this module refits it (its data, start and estimator derived
//! exactly as in the run), counts the samples at a kink, and finds the smallest projected norm
//! of an element of the subdifferential, which the convergence test's tolerance then judges.
//! Nothing here changes a result: it explains the stalls, in figures/convergence.md.

use crate::error::{ReportError, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smoe_estimator::{Bounds, Estimator, Fit, Termination};
use smoe_experiment::paths::Paths;
use smoe_experiment::plan::{Experiment, Unit, UnitInputs};
use smoe_experiment::rows::FitRow;
use smoe_model::{dot, kernel, Expert, Mixture, Sample, Workspace};
use std::fmt::Write as _;
use std::path::PathBuf;

/// A sample sits at a kink of expert i when |a_i.x + b_i| is at most this fraction of
/// sum_j |a_ij x_j| + |b_i| (the size of the terms of the sum: a few rounding errors of it).
pub const KINK_REL_TOL: f64 = 1e-9;

/// The wider band counted to show the gap around the kinks.
const NEAR_REL: f64 = 1e-6;

/// The kink analysis of one fitted mixture on its sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KinkCheck {
    /// (sample, expert) pairs at a kink.
    pub kink_points: usize,
    /// (sample, expert) pairs within 1e-6 (relative) of a kink: with `kink_points`, shows the gap
    /// between the samples pinned to a kink and the rest.
    pub near_points: usize,
    /// Smallest |a_i.x_s + b_i| / (sum_j |a_ij x_sj| + |b_i|) over every sample and ReLU expert
    /// away from the kinks (how close the next sample is): None without ReLU experts. (An
    /// Option, not NaN: JSON has no NaN, so a NaN would be written as null and the record could
    /// not be read back, and every report would redo the stall analysis.)
    pub nearest_off_kink: Option<f64>,
    /// Norm of the projected gradient the kernel reports (ReLU'(0) = 0).
    pub pg: f64,
    /// Smallest projected norm of an element of the Clarke subdifferential.
    pub clarke_pg: f64,
}

/// The kink analysis of `m` on `sample` within the box `bounds` (module docs).
pub fn kink_check(m: &Mixture, sample: &Sample, bounds: &Bounds) -> KinkCheck {
    let spec = m.spec;
    let (n, d) = (sample.n(), sample.d);
    let mut g0 = vec![0.0; m.theta.len()];
    kernel::loss_grad(&spec, &m.theta, &sample.x, &sample.y, Some(&mut g0), &mut Workspace::default());
    let pg = norm(&bounds.projected_gradient(&m.theta, &g0));
    let mut nearest = f64::INFINITY;
    let mut near_points = 0;
    // per kink point: the term's gradient on (a_i, b_i) with ReLU' = 1, and whether g0 holds it
    let mut kinks: Vec<(usize, Vec<f64>, bool)> = Vec::new();
    if spec.expert == Expert::Relu {
        let fitted = m.predict(&sample.x);
        for (s, (x, f)) in sample.x.chunks_exact(d).zip(&fitted).enumerate() {
            let mut gates: Option<Vec<f64>> = None;
            for i in 0..m.k() {
                let u = dot(m.a(i), x) + m.b(i);
                let scale = m.a(i).iter().zip(x).map(|(a, v)| (a * v).abs()).sum::<f64>() + m.b(i).abs();
                let rel = u.abs() / scale.max(f64::MIN_POSITIVE);
                near_points += usize::from(rel <= NEAR_REL);
                if rel > KINK_REL_TOL {
                    nearest = nearest.min(rel);
                    continue;
                }
                let g = gates.get_or_insert_with(|| m.gates_at(x))[i];
                let c = 2.0 / n as f64 * (f - sample.y[s]) * g;
                let mut v: Vec<f64> = x.iter().map(|xv| c * xv).collect();
                v.push(c);
                kinks.push((i, v, u > 0.0));
            }
        }
    }
    let held = bounds.held(&m.theta, &g0);
    // g = g0 + sum t_j v_j - (what the kernel counted: u > 0 counts as one side), from t = 0
    let mut g = g0;
    for (i, v, counted) in &kinks {
        if *counted {
            add(&mut g, &spec, *i, v, -1.0);
        }
    }
    // minimise |M g|^2 (M: the held entries masked) over t in [0, 1]^m by exact coordinate
    // descent (convex)
    let mut t = vec![0.0; kinks.len()];
    for _ in 0..200 {
        let mut moved = 0.0f64;
        for (j, (i, v, _)) in kinks.iter().enumerate() {
            let (mut num, mut den) = (0.0, 0.0);
            for (c, vc) in expert_coords(&spec, *i).zip(v) {
                if !held[c] {
                    num += g[c] * vc;
                    den += vc * vc;
                }
            }
            if den == 0.0 {
                continue;
            }
            let new = (t[j] - num / den).clamp(0.0, 1.0);
            if new != t[j] {
                add(&mut g, &spec, *i, v, new - t[j]);
                moved = moved.max((new - t[j]).abs());
                t[j] = new;
            }
        }
        if moved < 1e-12 {
            break;
        }
    }
    let masked: Vec<f64> = g.iter().zip(&held).map(|(v, &h)| if h { 0.0 } else { *v }).collect();
    let clarke_pg = if kinks.is_empty() { pg } else { norm(&masked).min(pg) };
    KinkCheck { kink_points: kinks.len(), near_points, nearest_off_kink: nearest.is_finite().then_some(nearest), pg, clarke_pg }
}

/// The entries of theta holding expert i's slope a_i (d of them), then its intercept b_i: the
/// layout of a kink vector.
fn expert_coords(spec: &smoe_model::Spec, i: usize) -> impl Iterator<Item = usize> {
    let a0 = spec.a_offset(i);
    (a0..a0 + spec.d).chain(std::iter::once(spec.b_offset(i)))
}

/// g[a_i, b_i] += w * v.
fn add(g: &mut [f64], spec: &smoe_model::Spec, i: usize, v: &[f64], w: f64) {
    for (c, vc) in expert_coords(spec, i).zip(v) {
        g[c] += w * vc;
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// One stalled fit, refitted and analysed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StallRow {
    pub setting: String,
    pub gate_fit: String,
    pub estimator: String,
    pub n: u64,
    pub rep: u32,
    /// The convergence test's tolerance on projected gradient / noise scale.
    pub tol_grad: f64,
    /// The noise's gradient scale of the run.
    pub noise_grad: f64,
    /// Whether the refit ended where the run did (same termination and objective to 1e-13).
    pub reproduced: bool,
    pub check: KinkCheck,
}

impl StallRow {
    /// Clarke stationary within the convergence test's tolerance.
    pub fn clarke_stationary(&self) -> bool {
        self.reproduced && self.check.clarke_pg <= self.tol_grad * self.noise_grad
    }
}

/// data/<experiment>/stalls.json: the analysis of every stalled fit, and the fits.parquet it
/// was made from (recomputed when that changes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StallRecord {
    pub fits_sha256: String,
    pub rows: Vec<StallRow>,
}

/// Where an experiment's stall analysis lives (only while it has stalled fits).
pub fn record_path(paths: &Paths) -> PathBuf {
    paths.data().join("stalls.json")
}

/// Refit one unit exactly as the run did: its sample, start, bounds and random stream, by the
/// run's own derivation ([`Experiment::unit_inputs`]).
pub fn refit(exp: &Experiment, u: &Unit) -> (Sample, Fit) {
    let UnitInputs { data, start, bounds, mut stream, .. } = exp.unit_inputs(u, &exp.truth(u.setting));
    let fitted = exp.estimators[u.estimator].1.fit(&start, &data, &bounds, &mut stream);
    (data, fitted)
}

/// The stall analysis of an experiment's fits: read from stalls.json when it was made from this
/// fits.parquet, else computed (every stalled fit refitted) and written there. Without stalled
/// fits there is nothing to analyse and no record (a stale one is removed).
pub fn stalls(exp: &Experiment, paths: &Paths, fits: &[FitRow]) -> Result<Vec<StallRow>> {
    let path = record_path(paths);
    let mut seen = std::collections::BTreeSet::new();
    let stalled: Vec<&FitRow> = fits
        .iter()
        .filter(|r| r.termination == Termination::LineSearchFailed)
        .filter(|r| seen.insert((r.setting.clone(), r.gate_fit.name(), r.estimator.clone(), r.n, r.rep)))
        .collect();
    if stalled.is_empty() {
        if path.exists() {
            std::fs::remove_file(&path).map_err(ReportError::io(&path))?;
        }
        return Ok(Vec::new());
    }
    let fits_path = paths.fits();
    let sha = smoe_experiment::fsio::sha256_file(&fits_path).map_err(ReportError::io(&fits_path))?;
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(rec) = serde_json::from_str::<StallRecord>(&text) {
            if rec.fits_sha256 == sha {
                return Ok(rec.rows);
            }
        }
    }
    // each stalled fit is refitted from its unit's identity alone, so the refits run in parallel
    // and the rows keep the order of `stalled`
    let rows: Vec<StallRow> = stalled
        .par_iter()
        .filter_map(|&r| {
            let si = exp.settings.iter().position(|s| s.name == r.setting)?;
            let fi = exp.settings[si].fits.iter().position(|f| f.gate == r.gate_fit)?;
            let ei = exp.estimator_index(&r.estimator).ok()?;
            let Estimator::Lm(lm) = &exp.estimators[ei].1 else { return None };
            let (sample, fit) = refit(exp, &Unit { setting: si, fit: fi, estimator: ei, n: r.n, rep: r.rep });
            let reproduced = fit.report.termination == r.termination
                && (fit.report.objective - r.train_mse).abs() <= 1e-13 * r.train_mse.abs().max(f64::MIN_POSITIVE);
            let spec = fit.mixture.spec;
            Some(StallRow {
                setting: r.setting.clone(),
                gate_fit: r.gate_fit.name().into(),
                estimator: r.estimator.clone(),
                n: r.n,
                rep: r.rep,
                tol_grad: lm.tol_grad,
                noise_grad: r.noise_grad,
                reproduced,
                check: kink_check(&fit.mixture, &sample, &exp.bounds(&spec)),
            })
        })
        .collect();
    let rec = StallRecord { fits_sha256: sha, rows };
    let text = serde_json::to_string_pretty(&rec).expect("serialisable");
    smoe_experiment::fsio::atomic_write_bytes(&path, text.as_bytes()).map_err(ReportError::io(&path))?;
    Ok(rec.rows)
}

/// The stall section of figures/convergence.md: one row per stalled fit.
pub fn stalls_markdown(per_exp: &[(String, Vec<StallRow>)]) -> String {
    let total: usize = per_exp.iter().map(|(_, r)| r.len()).sum();
    if total == 0 {
        return String::new();
    }
    let mut s = format!(
        "\n## Stalled fits: kinks of the ReLU objective\n\nA fit *stalls* when no step lowers the objective although its projected gradient is above the tolerance. A ReLU mixture's least-squares objective is only piecewise smooth: the term of a sample is not differentiable where an expert's pre-activation a.x + b is zero, and the kernel reports one side's gradient there (ReLU'(0) = 0). Each stalled fit was refitted (same data, start and stream; *reproduced*: same termination and objective) and its samples within {KINK_REL_TOL:e} (relative) of a kink counted; *Clarke*: the smallest projected norm of an element of the Clarke subdifferential (the gradients of either side at each kink and their convex combinations), over the noise's gradient scale. A fit whose Clarke ratio is within the tolerance is a first-order point of the nonsmooth objective that the smooth test, looking at one element, cannot recognise. *next sample*: the smallest relative distance to a kink of every other sample (how isolated the kink is).\n\n| experiment / setting / fit | n | rep | reproduced | samples at a kink | within 1e-6 | next sample | projected gradient / noise | Clarke / noise | tolerance | Clarke stationary |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    let mut explained = 0;
    for (e, rows) in per_exp {
        for r in rows {
            explained += usize::from(r.clarke_stationary());
            let _ = writeln!(
                s,
                "| {e} / {} / {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {} | {} |",
                r.setting,
                r.gate_fit,
                r.n,
                r.rep,
                if r.reproduced { "yes" } else { "**no**" },
                r.check.kink_points,
                r.check.near_points,
                r.check.nearest_off_kink.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1e}")),
                r.check.pg / r.noise_grad,
                r.check.clarke_pg / r.noise_grad,
                r.tol_grad,
                if r.clarke_stationary() { "yes" } else { "no" }
            );
        }
    }
    let _ = writeln!(s, "\n{explained} of {total} stalled fits are Clarke stationary within the tolerance.");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoe_model::{Gate, Spec};

    /// One sigmoid-gated ReLU expert in one dimension: a = 1, b = 0, gate slope and intercept 0.
    fn one_relu_expert() -> Mixture {
        let spec = Spec::new(Gate::Sigmoid, Expert::Relu, 1, 1).unwrap();
        let mut m = Mixture::zeros(spec);
        m.theta[spec.a_offset(0)] = 1.0;
        m
    }

    /// One sigmoid-gated ReLU expert (a = 1, b = 0, gate slope and intercept 0: gate 1/2), two
    /// samples, hand-worked. Sample 0 (x = 0, y = 1) sits on the kink: f = 0, residual -1.
    /// Sample 1 (x = 1, y = 0) is active: f = 1/2, residual 1/2. The reported gradient (mean
    /// squared error, factor 2/n = 1) is sample 1's term alone: 1/2 * (1/2, 1/2) on (a, b) and
    /// 1/2 * sigmoid'(0) * relu(1) * (1, 1) = (1/8, 1/8) on (beta1, beta0). Sample 0's term with
    /// ReLU' = 1 adds t * (-1)(1/2)(x = 0, 1) = (0, -t/2) on (a, b): t = 1/2 cancels b's 1/4, so
    /// the Clarke norm keeps a's 1/4 and the gate's two 1/8.
    #[test]
    fn a_kink_is_recognised_and_its_subdifferential_cancels_a_direction() {
        let m = one_relu_expert();
        let spec = m.spec;
        let sample = Sample { d: 1, x: vec![0.0, 1.0], y: vec![1.0, 0.0] };
        let c = kink_check(&m, &sample, &Bounds::unbounded(spec.n_params()));
        assert_eq!(c.kink_points, 1);
        let reported = (2.0 * 0.25f64.powi(2) + 2.0 * 0.125f64.powi(2)).sqrt();
        assert!((c.pg - reported).abs() < 1e-12, "{} vs {reported}", c.pg);
        let clarke = (0.25f64.powi(2) + 2.0 * 0.125f64.powi(2)).sqrt();
        assert!((c.clarke_pg - clarke).abs() < 1e-12, "{} vs {clarke}", c.clarke_pg);
        assert_eq!(c.nearest_off_kink, Some(1.0));
    }

    /// A bound holding b (at its upper wall with the gradient pushing out) takes b out of both
    /// norms: the kink can then only act on a, where its vector is zero (x = 0).
    #[test]
    fn held_entries_are_left_out() {
        let m = one_relu_expert();
        let spec = m.spec;
        let sample = Sample { d: 1, x: vec![0.0, 1.0], y: vec![1.0, 3.0] };
        // sample 1: residual 1/2 - 3 < 0, so b's gradient is negative: held at an upper bound b <= 0
        let mut bounds = Bounds::unbounded(spec.n_params());
        bounds.upper[spec.b_offset(0)] = 0.0;
        let c = kink_check(&m, &sample, &bounds);
        assert_eq!(c.kink_points, 1);
        assert!((c.clarke_pg - c.pg).abs() <= 1e-15 * c.pg && c.pg > 0.0, "only b could move and it is held: {c:?}");
    }

    /// Away from every kink the subdifferential is the gradient.
    #[test]
    fn no_kink_leaves_the_gradient() {
        let mut m = one_relu_expert();
        let spec = m.spec;
        m.theta[spec.b_offset(0)] = 0.3;
        let sample = Sample { d: 1, x: vec![0.5, -0.9], y: vec![1.0, 0.0] };
        let c = kink_check(&m, &sample, &Bounds::unbounded(spec.n_params()));
        assert_eq!(c.kink_points, 0);
        assert_eq!(c.clarke_pg, c.pg);
        assert!(c.pg > 0.0);
        // -0.9 + 0.3 = -0.6 over 0.9 + 0.3 = 1.2: 0.5; 0.5 + 0.3 = 0.8 over 0.8: 1
        assert!((c.nearest_off_kink.unwrap() - 0.5).abs() < 1e-12);
    }

    /// A record without ReLU experts (no kink distance) is read back as written: the cache of
    /// the stall analysis must hold for smooth experts too, or every report refits their stalls.
    #[test]
    fn a_record_without_relu_experts_round_trips() {
        let check = KinkCheck { kink_points: 0, near_points: 0, nearest_off_kink: None, pg: 0.5, clarke_pg: 0.5 };
        let row = StallRow {
            setting: "gelu".into(),
            gate_fit: "sigmoid".into(),
            estimator: "lse".into(),
            n: 31623,
            rep: 3,
            tol_grad: 0.1,
            noise_grad: 2.0,
            reproduced: true,
            check,
        };
        let rec = StallRecord { fits_sha256: "ab".into(), rows: vec![row] };
        let text = serde_json::to_string_pretty(&rec).unwrap();
        assert!(text.contains("\"nearest_off_kink\": null"), "{text}");
        let back: StallRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, rec);
    }
}
