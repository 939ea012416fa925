//! Running work units: resumable (the journal), shardable, parallel (rayon).

use crate::error::ExperimentError;
use crate::gbar::{self, bits, GbarRecord};
use crate::journal::{read_journals, Journal, JournalEntry};
use crate::paths::Paths;
use crate::plan::{Experiment, Shard, Unit, UnitInputs};
use crate::rows::{not_converged, FitRow, Target};
use rayon::prelude::*;
use smoe_estimator::{Fit, Termination};
use smoe_metrics::{
    atom_errors, canonical_softmax_gauge, contribution_error, l2_error, matched_expert_error, split_atom_errors, voronoi_loss,
};
use smoe_model::{seed, Gate, Mixture};
use std::path::Path;

/// Everything shared by the units of an experiment: truths, evaluation inputs, targets.
pub struct Context<'a> {
    pub exp: &'a Experiment,
    pub truths: Vec<Mixture>,
    pub eval_x: Vec<Vec<f64>>,
    /// targets[setting][fit]
    pub targets: Vec<Vec<Mixture>>,
    pub gbars: Vec<GbarRecord>,
}

impl<'a> Context<'a> {
    /// Draw the truths and evaluation inputs, and compute (or load from `cache_dir`) each G_bar;
    /// `code` is the code fingerprint.
    pub fn prepare(exp: &'a Experiment, cache_dir: &Path, code: &str) -> Result<Context<'a>, ExperimentError> {
        let truths: Vec<Mixture> = (0..exp.settings.len()).map(|s| exp.truth(s)).collect();
        let eval_x: Vec<Vec<f64>> = (0..exp.settings.len()).map(|s| exp.eval_inputs(s)).collect();
        let mut jobs = Vec::new();
        for (si, s) in exp.settings.iter().enumerate() {
            for (fi, f) in s.fits.iter().enumerate() {
                if f.target == Target::Gbar {
                    jobs.push((si, fi));
                }
            }
        }
        let computed: Vec<Result<GbarRecord, ExperimentError>> = jobs
            .par_iter()
            .map(|&(si, fi)| gbar::compute_or_load(exp, &truths[si], si, fi, &gbar::cache_path(exp, si, fi, cache_dir, code)))
            .collect();
        let mut gbars = Vec::new();
        let mut targets: Vec<Vec<Mixture>> =
            exp.settings.iter().enumerate().map(|(si, s)| vec![truths[si].clone(); s.fits.len()]).collect();
        for ((si, fi), rec) in jobs.into_iter().zip(computed) {
            let rec = rec?;
            targets[si][fi] = rec.mixture(exp.settings[si].fit_spec(&exp.settings[si].fits[fi], &exp.config))?;
            gbars.push(rec);
        }
        Ok(Context { exp, truths, eval_x, targets, gbars })
    }

    /// Run one unit.
    pub fn run_unit(&self, u: &Unit) -> JournalEntry {
        let exp = self.exp;
        let setting = &exp.settings[u.setting];
        let fit_cfg = &setting.fits[u.fit];
        let (est_name, estimator) = &exp.estimators[u.estimator];
        let init = &exp.inits[u.estimator];
        // the truth of this n (a two-point setting's second member moves with n), the sample,
        // the start and the stream: derived from the unit's identity alone
        let UnitInputs { truth, data, data_seed, spec, start, bounds, mut stream } = exp.unit_inputs(u, &self.truths[u.setting]);
        let truth = &truth;
        let t0 = std::time::Instant::now();
        let Fit { mixture, report } = estimator.fit(&start, &data, &bounds, &mut stream);
        let wall_s = t0.elapsed().as_secs_f64();
        let target = match fit_cfg.target {
            Target::Truth => truth,
            Target::Gbar => &self.targets[u.setting][u.fit],
        };
        let x_eval = &self.eval_x[u.setting];
        let l2 = l2_error(&mixture, target, x_eval);
        let l2_to_truth = l2_error(&mixture, truth, x_eval);
        let expert_err_matched = matched_expert_error(&mixture, truth, x_eval);
        let contribution_err = contribution_error(&mixture, truth, x_eval);
        let centre = init.centre(truth, spec.gate, spec.expert, spec.k).expect("validated init");
        let displacement = mixture.theta.iter().zip(&start.theta).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        let active = report.active;
        let rows = fit_cfg
            .losses
            .iter()
            .map(|&kind| {
                let loss = voronoi_loss(kind, &mixture, target);
                // atom errors in the gauge the loss uses (the canonical one for softmax gates)
                let errs = if mixture.spec.gate == Gate::Softmax {
                    // a sigmoid target (a softmax fit scored against a sigmoid truth) has no
                    // softmax gauge: only a softmax-gated mixture is put in it
                    let t = if target.spec.gate == Gate::Softmax { canonical_softmax_gauge(target) } else { target.clone() };
                    let f = canonical_softmax_gauge(&mixture);
                    split_atom_errors(&atom_errors(&f, &t, &loss.cells, x_eval))
                } else {
                    split_atom_errors(&atom_errors(&mixture, target, &loss.cells, x_eval))
                };
                FitRow {
                    experiment: exp.id().to_string(),
                    setting: setting.name.clone(),
                    gate_true: setting.recipe.params().gate,
                    gate_fit: fit_cfg.gate,
                    expert: setting.recipe.params().expert,
                    estimator: est_name.clone(),
                    n: u.n,
                    rep: u.rep,
                    seed: seed::seed_label(&data_seed),
                    target: fit_cfg.target,
                    loss_name: kind,
                    loss: loss.total,
                    loss_mass: loss.parts.mass,
                    loss_overfitted: loss.parts.overfitted,
                    loss_single: loss.parts.single,
                    start_loss: voronoi_loss(kind, &start, target).total,
                    cells: loss.cells.cardinalities().iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|"),
                    empty_cells: loss.cells.empty_cells() as u32,
                    overfitted_cells: loss.cells.overfitted_cells() as u32,
                    l2_error: l2,
                    param_err_over: errs[0],
                    param_err_single: errs[1],
                    expert_err_over: errs[2],
                    expert_err_single: errs[3],
                    expert_err_matched,
                    contribution_err,
                    l2_to_truth,
                    loss_vs_start: voronoi_loss(kind, &mixture, &centre).total,
                    displacement,
                    train_mse: report.objective,
                    grad_norm: report.grad_norm,
                    proj_grad_norm: report.proj_grad_norm,
                    noise_grad: report.noise_grad.unwrap_or(f64::NAN),
                    rel_change: report.rel_change.unwrap_or(f64::NAN),
                    active_gate_intercept_lo: active.gate_intercept_lo,
                    active_gate_intercept_hi: active.gate_intercept_hi,
                    active_gate_slope: active.gate_slope,
                    active_expert_slope: active.expert_slope,
                    active_expert_intercept: active.expert_intercept,
                    iterations: report.iterations,
                    evaluations: report.evaluations,
                    termination: report.termination,
                    wall_s,
                }
            })
            .collect();
        JournalEntry { key: exp.unit_key(u), rows, theta_bits: bits(&mixture.theta) }
    }
}

/// Told about a run's progress (a progress bar, or nothing). Called from worker threads.
pub trait Progress: Sync {
    /// `total` units are about to run for experiment `id`.
    fn start(&self, _id: &str, _total: u64) {}
    /// One unit finished.
    fn unit_done(&self) {}
    fn finish(&self) {}
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    pub planned: usize,
    pub skipped: usize,
    pub ran: usize,
    pub not_converged: usize,
    pub diverged: usize,
    pub wall_s: f64,
}

/// Run the units of `shard` (of one estimator, if named) that are not yet in the journal.
pub fn run(
    exp: &Experiment,
    paths: &Paths,
    shard: Shard,
    estimator: Option<&str>,
    progress: &dyn Progress,
) -> Result<RunSummary, ExperimentError> {
    let t0 = std::time::Instant::now();
    let done = read_journals(&paths.journal_dir())?;
    let mut units = exp.shard_units(shard);
    if let Some(name) = estimator {
        let ei = exp.estimator_index(name)?;
        units.retain(|u| u.estimator == ei);
    }
    let planned = units.len();
    units.retain(|u| !done.contains_key(&exp.unit_key(u)));
    let skipped = planned - units.len();
    let ctx = Context::prepare(exp, &paths.cache_dir(), &paths.code)?;
    let journal = Journal::open(&paths.journal_dir().join(format!("shard-{}-of-{}.jsonl", shard.index, shard.count)))?;
    progress.start(exp.id(), units.len() as u64);
    // larger n first: the longest units start early, so the tail of the run stays short
    units.sort_by_key(|u| std::cmp::Reverse(u.n));
    let entries: Vec<Result<JournalEntry, ExperimentError>> = units
        .par_iter()
        .map(|u| {
            let e = ctx.run_unit(u);
            journal.append(&e)?;
            progress.unit_done();
            Ok(e)
        })
        .collect();
    progress.finish();
    let mut s = RunSummary { planned, skipped, ran: units.len(), wall_s: t0.elapsed().as_secs_f64(), ..Default::default() };
    for e in entries {
        let termination = e?.rows[0].termination;
        if not_converged(termination) {
            s.not_converged += 1;
        } else if termination == Termination::Diverged {
            s.diverged += 1;
        }
    }
    Ok(s)
}
