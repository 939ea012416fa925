//! The stages behind the command-line program: run, merge, rates, summaries.

use crate::config::Experiment;
use crate::rows::{FitRow, ParamRow, RateRow};
use crate::run::{
    code_fingerprint, fingerprint, from_bits, gbar_cache_path, param_rows, read_journals, Context, Journal, JournalEntry, Shard,
};
use crate::store;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use smoe_metrics::{fit_rate, summarise, Cell, RateMethod};
use smoe_model::{seed, Mixture};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Where an experiment's files live under the artifact root, and the fingerprint of its inputs,
/// computed once so that every stage of one invocation agrees on it.
pub struct Paths {
    pub root: PathBuf,
    pub id: String,
    /// Of the experiment's results: config and code.
    pub fingerprint: String,
    /// Of the code alone (part of every G_bar's cache key).
    pub code: String,
}

impl Paths {
    pub fn new(root: &Path, exp: &Experiment) -> Paths {
        let code = code_fingerprint(root);
        Paths { root: root.to_path_buf(), id: exp.id().to_string(), fingerprint: fingerprint(exp, &code), code }
    }
    pub fn data(&self) -> PathBuf {
        self.root.join("data").join(&self.id)
    }
    pub fn journal_dir(&self) -> PathBuf {
        self.root.join("data").join("raw").join(&self.id).join(&self.fingerprint)
    }
    /// G_bars, shared by every experiment (each file is named by what its G_bar depends on).
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("data").join("cache").join("gbar")
    }
    pub fn fits(&self) -> PathBuf {
        self.data().join("fits.parquet")
    }
    pub fn params(&self) -> PathBuf {
        self.data().join("params.parquet")
    }
    pub fn rates(&self) -> PathBuf {
        self.data().join("rates.parquet")
    }
    pub fn summary(&self) -> PathBuf {
        self.data().join("summary.csv")
    }
    pub fn gbar_check(&self) -> PathBuf {
        self.data().join("gbar_check.csv")
    }
    pub fn fingerprint_file(&self) -> PathBuf {
        self.data().join("fingerprint.txt")
    }
}

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

/// Run the units of `shard` that are not yet in the journal.
pub fn run(exp: &Experiment, paths: &Paths, shard: Shard, estimator: Option<&str>, progress: bool) -> Result<RunSummary> {
    let t0 = std::time::Instant::now();
    let done = read_journals(&paths.journal_dir())?;
    let mut units = exp.shard_units(shard);
    if let Some(name) = estimator {
        let Some(ei) = exp.estimators.iter().position(|(n, _)| n == name) else {
            let names: Vec<&str> = exp.estimators.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!("--estimator {name:?} is not an estimator of {} (allowed: {names:?})", exp.id()).into());
        };
        units.retain(|u| u.estimator == ei);
    }
    let planned = units.len();
    units.retain(|u| !done.contains_key(&exp.unit_key(u)));
    let skipped = planned - units.len();
    let ctx = Context::prepare(exp, &paths.cache_dir(), &paths.code)?;
    let journal = Journal::open(&paths.journal_dir().join(format!("shard-{}-of-{}.jsonl", shard.index, shard.count)))?;
    let pb = if progress { ProgressBar::new(units.len() as u64) } else { ProgressBar::hidden() };
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} fits, eta {eta}").expect("valid template"),
    );
    pb.set_prefix(exp.id().to_string());
    // larger n first: the longest units start early, so the tail of the run stays short
    units.sort_by(|a, b| b.n.cmp(&a.n));
    let entries: Vec<Result<JournalEntry>> = units
        .par_iter()
        .map(|u| {
            let e = ctx.run_unit(u);
            journal.append(&e)?;
            pb.inc(1);
            Ok(e)
        })
        .collect();
    pb.finish_and_clear();
    let mut s = RunSummary { planned, skipped, ran: units.len(), wall_s: t0.elapsed().as_secs_f64(), ..Default::default() };
    for e in entries {
        let e = e?;
        match e.rows[0].termination.as_str() {
            "max_iters" | "line_search_failed" => s.not_converged += 1,
            "diverged" => s.diverged += 1,
            _ => {}
        }
    }
    Ok(s)
}

/// A unit's result without its wall time, as JSON (bitwise: NaN compares equal to NaN here).
fn comparable(e: &JournalEntry) -> String {
    let rows: Vec<FitRow> = e.rows.iter().map(|r| FitRow { wall_s: 0.0, ..r.clone() }).collect();
    serde_json::to_string(&(rows, &e.theta_bits)).expect("serialisable")
}

/// The key columns of an experiment's parameter rows; `param_rows` fills in the values.
fn param_base(exp: &Experiment, setting: &str, kind: &str, spec: &smoe_model::Spec, estimator: &str, n: u64, rep: u32) -> ParamRow {
    ParamRow {
        experiment: exp.id().into(),
        setting: setting.into(),
        kind: kind.into(),
        gate: spec.gate.name().into(),
        expert: spec.expert.to_string(),
        estimator: estimator.into(),
        n,
        rep,
        atom: 0,
        param: String::new(),
        index: 0,
        value: 0.0,
    }
}

/// Merge every journal of the current fingerprint into fits.parquet and params.parquet,
/// checking that every planned unit appears, and that repeated units agree exactly.
pub fn merge(exp: &Experiment, paths: &Paths) -> Result<usize> {
    let journals = read_journals(&paths.journal_dir())?;
    let units = exp.units();
    let mut missing = Vec::new();
    let mut fits = Vec::new();
    let mut params = Vec::new();
    for (si, s) in exp.settings.iter().enumerate() {
        let truth = exp.truth(si);
        let base = param_base(exp, &s.name, "truth", &truth.spec, "", 0, 0);
        params.extend(param_rows(&truth, &base));
    }
    let ctx_gbars = gbar_records(exp, paths)?;
    for (rec, spec) in &ctx_gbars {
        let m = Mixture::from_theta(*spec, from_bits(&rec.theta_bits))?;
        let base = param_base(exp, &rec.setting, "gbar", spec, "", 0, 0);
        params.extend(param_rows(&m, &base));
    }
    for u in &units {
        let key = exp.unit_key(u);
        let Some(entries) = journals.get(&key) else {
            missing.push(key);
            continue;
        };
        let first = &entries[0];
        if entries.iter().any(|e| comparable(e) != comparable(first)) {
            return Err(format!("unit {key} appears {} times with different results: the journal is inconsistent", entries.len()).into());
        }
        fits.extend(first.rows.iter().cloned());
        let s = &exp.settings[u.setting];
        let spec = s.fit_spec(&s.fits[u.fit], &exp.config);
        let m = Mixture::from_theta(spec, from_bits(&first.theta_bits))?;
        let base = param_base(exp, &s.name, "fit", &spec, &exp.estimators[u.estimator].0, u.n, u.rep);
        params.extend(param_rows(&m, &base));
    }
    if !missing.is_empty() {
        return Err(format!(
            "{}: {} of {} planned units have no result (first: {}); run the missing shards first",
            exp.id(),
            missing.len(),
            units.len(),
            missing[0]
        )
        .into());
    }
    std::fs::create_dir_all(paths.data())?;
    store::write_fits(&paths.fits(), &fits)?;
    store::write_params(&paths.params(), &params)?;
    let mut csv = String::from("setting,gate,n_ref,check_n_ref,termination,iterations,objective,grad_norm,check_termination,d3_shift,l2_shift,d3_drift,l2_drift,closest_atoms,closest_distance\n");
    for (r, spec) in &ctx_gbars {
        // how close G_bar's two nearest atoms are: a near-split target behaves like an
        // over-fitted cell at moderate n
        let m = Mixture::from_theta(*spec, from_bits(&r.theta_bits))?;
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
        csv.push_str(&format!(
            "{},{},{},{},{},{},{:.4e},{:.3e},{},{:.3e},{:.3e},{:.3e},{:.3e},{}-{},{:.3e}\n",
            r.setting,
            r.gate,
            r.n_ref,
            r.check_n_ref,
            r.termination,
            r.iterations,
            r.objective,
            r.grad_norm,
            r.check_termination,
            r.d3_shift,
            r.l2_shift,
            r.d3_drift,
            r.l2_drift,
            closest.1,
            closest.2,
            closest.0
        ));
    }
    crate::manifest::atomic_write_bytes(&paths.gbar_check(), csv.as_bytes())?;
    crate::manifest::atomic_write_bytes(&paths.fingerprint_file(), format!("{}\n", paths.fingerprint).as_bytes())?;
    Ok(fits.len())
}

fn gbar_records(exp: &Experiment, paths: &Paths) -> Result<Vec<(crate::run::GbarRecord, smoe_model::Spec)>> {
    let mut out = Vec::new();
    for (si, s) in exp.settings.iter().enumerate() {
        for (fi, f) in s.fits.iter().enumerate() {
            if f.target == crate::config::Target::Gbar {
                let path = gbar_cache_path(exp, si, fi, &paths.cache_dir(), &paths.code);
                let rec: crate::run::GbarRecord =
                    serde_json::from_str(&std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?)?;
                out.push((rec, s.fit_spec(f, &exp.config)));
            }
        }
    }
    Ok(out)
}

/// Quantities measured on every fit besides its losses: the L2 error of the regression function
/// and the per-atom errors (largest over over-fitted / singly fitted atoms; `expert_err` is the
/// largest expert error over all atoms).
pub const FIT_QUANTITIES: [&str; 6] =
    ["l2_error", "expert_err", "param_err_over", "param_err_single", "expert_err_over", "expert_err_single"];

/// The value of quantity `q` on a row (a loss name, or one of [`FIT_QUANTITIES`]).
pub fn quantity(row: &FitRow, q: &str) -> Option<f64> {
    match q {
        "l2_error" => Some(row.l2_error),
        "expert_err" => Some(row.expert_err_over.max(row.expert_err_single)),
        "param_err_over" => Some(row.param_err_over),
        "param_err_single" => Some(row.param_err_single),
        "expert_err_over" => Some(row.expert_err_over),
        "expert_err_single" => Some(row.expert_err_single),
        _ if q == row.loss_name => Some(row.loss),
        _ => q.strip_prefix("start:").filter(|l| *l == row.loss_name).map(|_| row.start_loss),
    }
}

/// Cell-level summary: one row per (setting, fit, estimator, quantity, n).
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    pub experiment: String,
    pub setting: String,
    pub gate_fit: String,
    pub estimator: String,
    pub quantity: String,
    pub n: u64,
    pub mean: f64,
    pub sd: f64,
    pub mcse: f64,
    pub reps: usize,
    /// Fits left out: diverged, or a value that is not finite and positive.
    pub excluded: usize,
    /// Fits that stopped without meeting their convergence test (L-BFGS max_iters / line search).
    pub not_converged: usize,
    pub empty_cells: usize,
}

type GroupKey = (String, String, String, String);

/// Group a fits table by (setting, gate_fit, estimator, quantity) then n, preserving first-seen order.
pub fn grouped<'a>(exp: &Experiment, fits: &'a [FitRow]) -> Vec<(GroupKey, BTreeMap<u64, Vec<&'a FitRow>>)> {
    let mut out: Vec<(GroupKey, BTreeMap<u64, Vec<&'a FitRow>>)> = Vec::new();
    for s in &exp.settings {
        for f in &s.fits {
            for (e, _) in &exp.estimators {
                let qs: Vec<String> = f
                    .losses
                    .iter()
                    .map(|l| l.name())
                    .chain(FIT_QUANTITIES.iter().map(|q| q.to_string()))
                    .chain(f.losses.iter().map(|l| format!("start:{}", l.name())))
                    .collect();
                for q in qs {
                    let mut by_n: BTreeMap<u64, Vec<&'a FitRow>> = BTreeMap::new();
                    for r in fits.iter().filter(|r| r.setting == s.name && r.gate_fit == f.gate.name() && &r.estimator == e) {
                        // fit-level quantities repeat on every loss row of a fit: take the first loss's
                        let pick = if FIT_QUANTITIES.contains(&q.as_str()) {
                            r.loss_name == f.losses[0].name()
                        } else {
                            r.loss_name == q.strip_prefix("start:").unwrap_or(&q)
                        };
                        if pick {
                            by_n.entry(r.n).or_default().push(r);
                        }
                    }
                    out.push(((s.name.clone(), f.gate.name().to_string(), e.clone(), q), by_n));
                }
            }
        }
    }
    out
}

fn usable(r: &FitRow, v: f64) -> bool {
    r.termination != "diverged" && v.is_finite() && v > 0.0
}

/// The usable values of quantity `q` in each n cell (diverged fits and values that are not
/// finite and positive are left out), and how many fits were left out in all.
pub fn cells(by_n: &BTreeMap<u64, Vec<&FitRow>>, q: &str) -> (Vec<Cell>, usize) {
    let mut excluded = 0;
    let cells = by_n
        .iter()
        .map(|(&n, rows)| {
            let losses: Vec<f64> = rows.iter().filter_map(|r| quantity(r, q).filter(|&v| usable(r, v))).collect();
            excluded += rows.len() - losses.len();
            Cell { n: n as f64, losses }
        })
        .collect();
    (cells, excluded)
}

pub fn summary(exp: &Experiment, fits: &[FitRow]) -> Vec<SummaryRow> {
    let mut out = Vec::new();
    for ((setting, gate, est, q), by_n) in grouped(exp, fits) {
        let (cells, _) = cells(&by_n, &q);
        for ((n, rows), cell) in by_n.into_iter().zip(cells) {
            let vals = cell.losses;
            let s = summarise(&vals);
            out.push(SummaryRow {
                experiment: exp.id().into(),
                setting: setting.clone(),
                gate_fit: gate.clone(),
                estimator: est.clone(),
                quantity: q.clone(),
                n,
                mean: s.mean,
                sd: s.sd,
                mcse: s.mcse,
                reps: vals.len(),
                excluded: rows.len() - vals.len(),
                not_converged: rows.iter().filter(|r| matches!(r.termination.as_str(), "max_iters" | "line_search_failed")).count(),
                empty_cells: rows.iter().filter(|r| r.empty_cells > 0).count(),
            });
        }
    }
    out
}

pub fn summary_csv(rows: &[SummaryRow]) -> String {
    let mut s =
        String::from("experiment,setting,gate_fit,estimator,quantity,n,mean,sd,mcse,reps,excluded,not_converged,fits_with_empty_cells\n");
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{:.6e},{:.6e},{:.6e},{},{},{},{}\n",
            r.experiment,
            r.setting,
            r.gate_fit,
            r.estimator,
            r.quantity,
            r.n,
            r.mean,
            r.sd,
            r.mcse,
            r.reps,
            r.excluded,
            r.not_converged,
            r.empty_cells
        ));
    }
    s
}

/// Method label of the rate fitted (log of the mean) on the largest half of the n grid only.
pub const UPPER_HALF: &str = "log_mean_upper_half";

/// Fit rates for every (setting, fit, estimator, quantity): log of the mean (the paper's way),
/// every replication, and log of the mean on the upper half of the n grid.
pub fn rates(exp: &Experiment, fits: &[FitRow]) -> Vec<RateRow> {
    let mut out = Vec::new();
    for ((setting, gate, est, q), by_n) in grouped(exp, fits) {
        let (cells, excluded) = cells(&by_n, &q);
        let excluded = excluded as u32;
        let s = exp.settings.iter().find(|s| s.name == setting).expect("setting of the config");
        let fcfg = s.fits.iter().find(|f| f.gate.name() == gate).expect("fit of the config");
        let theory = fcfg.theory.iter().find(|t| t.quantity == q);
        // The largest half of the n grid: closer to the asymptotic regime the theorems describe
        // (at n = 10^3 a 9-atom fit in d = 32 has 594 parameters for 1000 points).
        let upper = cells[cells.len() / 2..].to_vec();
        for (method_label, method, cells) in [
            ("log_mean", RateMethod::LogMean, &cells),
            ("all_reps", RateMethod::AllReps, &cells),
            (UPPER_HALF, RateMethod::LogMean, &upper),
        ] {
            let mut rng = seed::stream(
                exp.config.seed,
                &[
                    ("experiment", exp.id()),
                    ("setting", &setting),
                    ("fit", &gate),
                    ("estimator", &est),
                    ("quantity", &q),
                    ("method", method_label),
                    ("purpose", "bootstrap"),
                ],
            );
            let Some(fit) = fit_rate(cells, method, exp.config.rates.n_boot, &mut rng) else { continue };
            let cmp = smoe_metrics::compare_power_vs_log_rate(cells, method);
            let (th, label, verdict) = match theory.and_then(|t| t.exponent.map(|x| (x, t.source.clone()))) {
                Some((x, src)) => (x, src, if smoe_metrics::consistent(&fit, x) { "consistent" } else { "not consistent" }),
                None => (f64::NAN, theory.map(|t| t.source.clone()).unwrap_or_default(), "no power-law prediction"),
            };
            out.push(RateRow {
                experiment: exp.id().into(),
                setting: setting.clone(),
                gate_fit: gate.clone(),
                expert: s.recipe.params().expert.to_string(),
                estimator: est.clone(),
                loss_name: q.clone(),
                method: method_label.into(),
                slope: fit.slope,
                se: fit.se,
                boot_se: fit.boot_se,
                ci_low: fit.ci_low,
                ci_high: fit.ci_high,
                intercept: fit.intercept,
                n_min: fit.n_min,
                n_max: fit.n_max,
                n_values: fit.n_values as u32,
                reps: fit.reps as u32,
                excluded,
                theory: th,
                theory_label: label,
                verdict: verdict.into(),
                log_rate_q: cmp.map_or(f64::NAN, |c| c.log_rate_q),
                delta_aic: cmp.map_or(f64::NAN, |c| c.delta_aic),
            });
        }
    }
    out
}

/// Compute and write the summary table and rates of an experiment from its fits.parquet.
pub fn write_rates(exp: &Experiment, paths: &Paths) -> Result<(Vec<SummaryRow>, Vec<RateRow>)> {
    let fits = store::read_fits(&paths.fits())?;
    let sum = summary(exp, &fits);
    crate::manifest::atomic_write_bytes(&paths.summary(), summary_csv(&sum).as_bytes())?;
    let r = rates(exp, &fits);
    store::write_rates(&paths.rates(), &r)?;
    Ok((sum, r))
}

/// Whether the experiment's merged results are current: same fingerprint, fits present.
pub fn is_current(paths: &Paths) -> bool {
    std::fs::read_to_string(paths.fingerprint_file()).map(|s| s.trim() == paths.fingerprint).unwrap_or(false) && paths.fits().exists()
}
