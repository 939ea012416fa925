//! G_bar, the Regime-2 target: computed once per (setting, fit) and cached under the hash of
//! exactly what it depends on, so configs that differ only in estimators, sample sizes,
//! replications, losses or rates share it.

use crate::config::{GbarConfig, TruthConfig};
use crate::error::ExperimentError;
use crate::fsio::{atomic_write_bytes, sha256_bytes};
use crate::plan::Experiment;
use crate::rows::GbarCheckRow;
use serde::{Deserialize, Serialize};
use smoe_estimator::{fit_in_halves, reference_sample, ActiveBounds, MassSplit, Termination};
use smoe_metrics::{l2_error, voronoi_loss, LossKind};
use smoe_model::{Gate, Mixture, Spec};
use std::path::{Path, PathBuf};

/// A computed G_bar with its settling check: the cache file's content.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GbarRecord {
    pub setting: String,
    pub gate: Gate,
    pub n_ref: usize,
    pub check_n_ref: usize,
    pub theta_bits: Vec<u64>,
    pub termination: Termination,
    pub iterations: u64,
    /// Mean squared error of G_bar on its reference sample (the squared L2 distance to f*).
    pub objective: f64,
    pub grad_norm: f64,
    /// Projected gradient norm on Theta, and the noise's gradient scale it is judged against
    /// (here the residual of the projection plays the noise).
    pub proj_grad_norm: f64,
    pub noise_grad: Option<f64>,
    /// Entries of G_bar on a wall of Theta.
    pub active: ActiveBounds,
    pub check_termination: Termination,
    /// D3 distance between G_bar on n_ref points and on check_n_ref points.
    pub d3_shift: f64,
    /// L2(mu) distance between the two regression functions.
    pub l2_shift: f64,
    /// D3 distance G_bar moved in the second half of its iteration budget.
    pub d3_drift: f64,
    /// L2(mu) distance the regression function moved in the second half.
    pub l2_drift: f64,
}

impl GbarRecord {
    /// G_bar as a mixture of the fit's shape.
    pub fn mixture(&self, spec: Spec) -> Result<Mixture, ExperimentError> {
        Ok(Mixture::from_theta(spec, from_bits(&self.theta_bits))?)
    }

    /// The row of gbar_check.csv: the settling numbers and G_bar's two closest atoms.
    pub fn check_row(&self, spec: Spec) -> Result<GbarCheckRow, ExperimentError> {
        let m = self.mixture(spec)?;
        let locs: Vec<Vec<f64>> = m.atoms().iter().map(|a| a.location()).collect();
        let mut closest = (f64::INFINITY, 0, 0);
        for i in 0..locs.len() {
            for j in i + 1..locs.len() {
                let dist = locs[i].iter().zip(&locs[j]).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
                if dist < closest.0 {
                    closest = (dist, i + 1, j + 1);
                }
            }
        }
        Ok(GbarCheckRow {
            setting: self.setting.clone(),
            gate: self.gate,
            n_ref: self.n_ref,
            check_n_ref: self.check_n_ref,
            termination: self.termination,
            iterations: self.iterations,
            objective: self.objective,
            grad_norm: self.grad_norm,
            proj_grad_over_noise: self.noise_grad.map_or(f64::NAN, |s| self.proj_grad_norm / s),
            active_walls: self.active.total(),
            check_termination: self.check_termination,
            d3_shift: self.d3_shift,
            l2_shift: self.l2_shift,
            d3_drift: self.d3_drift,
            l2_drift: self.l2_drift,
            closest_atoms: format!("{}-{}", closest.1, closest.2),
            closest_distance: closest.0,
        })
    }
}

/// IEEE-754 bit patterns of a parameter vector (exact, NaN-safe).
pub fn bits(theta: &[f64]) -> Vec<u64> {
    theta.iter().map(|v| v.to_bits()).collect()
}

pub fn from_bits(b: &[u64]) -> Vec<f64> {
    b.iter().map(|&v| f64::from_bits(v)).collect()
}

/// Everything a G_bar depends on, and nothing else.
#[derive(Serialize)]
struct GbarIdentity<'a> {
    code: &'a str,
    seed: u64,
    stream: &'a str,
    d: usize,
    k_star: usize,
    k: usize,
    eval_n: usize,
    split_atom: usize,
    mass_split: &'a MassSplit,
    setting: &'a str,
    truth: &'a TruthConfig,
    theta_box: Option<&'a smoe_estimator::ThetaBox>,
    gate: &'a str,
    gbar: &'a GbarConfig,
}

/// The cache file of the G_bar of (setting `si`, fit `fi`): named by the hash of its identity;
/// `code` is the code fingerprint.
pub fn cache_path(exp: &Experiment, si: usize, fi: usize, cache_dir: &Path, code: &str) -> PathBuf {
    let cfg = &exp.config;
    let setting = &exp.settings[si];
    let gate = setting.fits[fi].gate.name();
    let id = GbarIdentity {
        code,
        seed: cfg.seed,
        stream: exp.stream_key(),
        d: cfg.d,
        k_star: cfg.k_star,
        k: cfg.k,
        eval_n: cfg.eval_n,
        split_atom: cfg.init.split_atom,
        mass_split: &cfg.init.mass_split,
        setting: &setting.name,
        truth: &setting.truth_config,
        theta_box: exp.theta_box.as_ref(),
        gate,
        gbar: cfg.gbar.as_ref().expect("validated: gbar section present"),
    };
    let key = sha256_bytes(serde_json::to_string(&id).expect("serialisable").as_bytes());
    cache_dir.join(format!("{}-{}-{gate}-{}.json", exp.stream_key(), setting.name, &key[..16]))
}

/// Read a cached G_bar.
pub fn load(path: &Path) -> Result<GbarRecord, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(ExperimentError::io(path))?;
    serde_json::from_str(&text).map_err(|source| ExperimentError::GbarCache { path: path.to_owned(), source })
}

/// Compute G_bar for (setting, fit), or load it from the cache written by an earlier run (an
/// unreadable cache file is recomputed and replaced).
pub fn compute_or_load(exp: &Experiment, truth: &Mixture, si: usize, fi: usize, path: &Path) -> Result<GbarRecord, ExperimentError> {
    if let Ok(rec) = load(path) {
        return Ok(rec);
    }
    let setting = &exp.settings[si];
    let fit = &setting.fits[fi];
    let g = exp.config.gbar.as_ref().expect("validated: gbar section present");
    let spec = setting.fit_spec(fit, &exp.config);
    let gate = fit.gate.name();
    // the split start, perturbed so that the copies can separate; both reference fits share it
    let start = exp
        .init
        .perturbed_centre(
            truth,
            spec,
            g.start_noise_sd,
            &mut exp.stream(&[("setting", &setting.name), ("fit", gate), ("purpose", "gbar_start")]),
        )
        .expect("validated init");
    let optimizer = g.optimizer.clone().check().expect("validated optimizer");
    let reference =
        reference_sample(truth, g.n_ref, &mut exp.stream(&[("setting", &setting.name), ("fit", gate), ("purpose", "gbar_reference")]));
    let bounds = exp.bounds(&spec);
    let (mid, main) = fit_in_halves(&optimizer, &start, &reference, &bounds);
    drop(reference);
    let check_sample =
        reference_sample(truth, g.check_n_ref, &mut exp.stream(&[("setting", &setting.name), ("fit", gate), ("purpose", "gbar_check")]));
    let (_, check) = fit_in_halves(&optimizer, &start, &check_sample, &bounds);
    let x = exp.eval_inputs(si);
    let rec = GbarRecord {
        setting: setting.name.clone(),
        gate: fit.gate,
        n_ref: g.n_ref,
        check_n_ref: g.check_n_ref,
        theta_bits: bits(&main.mixture.theta),
        termination: main.report.termination,
        iterations: main.report.iterations,
        objective: main.report.objective,
        grad_norm: main.report.grad_norm,
        proj_grad_norm: main.report.proj_grad_norm,
        noise_grad: main.report.noise_grad,
        active: main.report.active,
        check_termination: check.report.termination,
        d3_shift: voronoi_loss(LossKind::D3, &check.mixture, &main.mixture).total,
        l2_shift: l2_error(&check.mixture, &main.mixture, &x),
        d3_drift: voronoi_loss(LossKind::D3, &main.mixture, &mid.mixture).total,
        l2_drift: l2_error(&main.mixture, &mid.mixture, &x),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(ExperimentError::io(dir))?;
    }
    atomic_write_bytes(path, serde_json::to_string_pretty(&rec).expect("serialisable").as_bytes()).map_err(ExperimentError::io(path))?;
    Ok(rec)
}
