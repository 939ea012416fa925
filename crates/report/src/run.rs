//! Work units: planning, running (resumable, shardable, parallel), and merging into tidy rows.
//!
//! A work unit is one fit: (experiment, setting, fitted gate, estimator, n, replication). Its
//! random streams derive from its identity only (see `smoe_model::seed`):
//! ("experiment" is the experiment's family name when it has one, so variants share data.)
//! * truth:     (experiment, setting, purpose=truth)
//! * eval:      (experiment, setting, purpose=eval)
//! * data:      (experiment, setting, n, rep, purpose=data)  -- shared by every fit of that data
//! * init:      (experiment, setting, fit, n, rep, purpose=init) -- shared by the estimators
//! * sgd:       (experiment, setting, fit, estimator, n, rep, purpose=sgd)
//! * gbar:      (experiment, setting, fit, purpose=gbar_start | gbar_reference | gbar_check)
//!
//! Finished units are appended to a journal (one JSON line each, flushed) under
//! data/raw/<experiment>/<fingerprint>/; a restarted run skips them, so an interruption loses
//! at most the units in flight.

use crate::config::{Experiment, Target};
use crate::rows::{FitRow, ParamRow};
use serde::{Deserialize, Serialize};
use smoe_estimator::{fit_in_halves, reference_sample, Bounds, Fit};
use smoe_metrics::{atom_errors, l2_error, split_atom_errors, voronoi_loss, LossKind};
use smoe_model::{draw_inputs, draw_sample, seed, Mixture};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One fit to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub setting: usize,
    pub fit: usize,
    pub estimator: usize,
    pub n: u64,
    pub rep: u32,
}

/// A slice of the plan: units whose plan index is congruent to `index` mod `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parse "i/N" (0 <= i < N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?} is not allowed (write i/N with 0 <= i < N, e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// What the journal keeps of a finished unit: its rows and fitted parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JournalEntry {
    pub key: String,
    pub rows: Vec<FitRow>,
    /// Fitted theta as IEEE-754 bit patterns (exact, NaN-safe).
    pub theta_bits: Vec<u64>,
}

impl Experiment {
    /// Every unit, in canonical order: settings, fits, estimators, n, replications.
    pub fn units(&self) -> Vec<Unit> {
        let mut out = Vec::new();
        for (si, s) in self.settings.iter().enumerate() {
            for fi in 0..s.fits.len() {
                for ei in 0..self.estimators.len() {
                    for &n in &self.n_values {
                        for rep in 0..self.config.replications {
                            out.push(Unit { setting: si, fit: fi, estimator: ei, n, rep });
                        }
                    }
                }
            }
        }
        out
    }

    pub fn shard_units(&self, shard: Shard) -> Vec<Unit> {
        self.units().into_iter().enumerate().filter(|(i, _)| i % shard.count == shard.index).map(|(_, u)| u).collect()
    }

    pub fn unit_key(&self, u: &Unit) -> String {
        let s = &self.settings[u.setting];
        format!("{}/{}/{}/{}/n={}/rep={}", self.id(), s.name, s.fits[u.fit].gate, self.estimators[u.estimator].0, u.n, u.rep)
    }

    pub fn stream(&self, parts: &[(&str, &str)]) -> rand_chacha::ChaCha20Rng {
        let mut id = vec![("experiment", self.stream_key())];
        id.extend_from_slice(parts);
        seed::stream(self.config.seed, &id)
    }

    pub fn truth(&self, setting: usize) -> Mixture {
        let s = &self.settings[setting];
        s.recipe.draw(&mut self.stream(&[("setting", &s.name), ("purpose", "truth")]))
    }

    pub fn eval_inputs(&self, setting: usize) -> Vec<f64> {
        let s = &self.settings[setting];
        draw_inputs(self.config.eval_n, self.config.d, &mut self.stream(&[("setting", &s.name), ("purpose", "eval")]))
    }
}

/// A computed G_bar with its settling check.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GbarRecord {
    pub setting: String,
    pub gate: String,
    pub n_ref: usize,
    pub check_n_ref: usize,
    pub theta_bits: Vec<u64>,
    pub termination: String,
    pub iterations: u64,
    /// Mean squared error of G_bar on its reference sample (the squared L2 distance to f*).
    pub objective: f64,
    pub grad_norm: f64,
    pub check_termination: String,
    /// D3 distance between G_bar on n_ref points and on check_n_ref points.
    pub d3_shift: f64,
    /// L2(mu) distance between the two regression functions.
    pub l2_shift: f64,
    /// D3 distance G_bar moved in the second half of its iteration budget.
    pub d3_drift: f64,
    /// L2(mu) distance the regression function moved in the second half.
    pub l2_drift: f64,
}

fn bits(theta: &[f64]) -> Vec<u64> {
    theta.iter().map(|v| v.to_bits()).collect()
}

pub fn from_bits(b: &[u64]) -> Vec<f64> {
    b.iter().map(|&v| f64::from_bits(v)).collect()
}

/// Everything shared by the units of an experiment: truths, evaluation inputs, targets.
pub struct Context<'a> {
    pub exp: &'a Experiment,
    pub truths: Vec<Mixture>,
    pub eval_x: Vec<Vec<f64>>,
    /// targets[setting][fit]
    pub targets: Vec<Vec<Mixture>>,
    pub gbars: Vec<GbarRecord>,
}

/// Content fingerprint of what an experiment's results depend on: its config and the code that
/// computes results ([`code_fingerprint`]). Results are stale exactly when it changes.
pub fn fingerprint(exp: &Experiment, code: &str) -> String {
    crate::manifest::sha256_bytes(format!("config {}\ncode {code}", exp.sha256).as_bytes())[..16].to_string()
}

/// Content fingerprint of the code that computes results: Cargo.lock, the sources of the
/// computing crates, and of the report crate only what computes results (not figures or tables).
pub fn code_fingerprint(root: &Path) -> String {
    let mut parts = vec![format!("Cargo.lock {}", crate::manifest::sha256_file(&root.join("Cargo.lock")).unwrap_or_default())];
    let mut files: Vec<PathBuf> = Vec::new();
    for krate in ["model", "estimator", "metrics"] {
        let dir = root.join("crates").join(krate).join("src");
        files.extend(std::fs::read_dir(&dir).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect::<Vec<_>>()).unwrap_or_default());
    }
    for f in ["config.rs", "run.rs", "rows.rs"] {
        files.push(root.join("crates/report/src").join(f));
    }
    files.retain(|f| f.extension().is_some_and(|e| e == "rs"));
    files.sort();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(&f).display().to_string();
        parts.push(format!("{rel} {}", crate::manifest::sha256_file(&f).unwrap_or_default()));
    }
    crate::manifest::sha256_bytes(parts.join("\n").as_bytes())[..16].to_string()
}

/// Everything a G_bar depends on, and nothing else: configs that differ only in estimators,
/// sample sizes, replications, losses or rates share their G_bars.
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
    mass_split: &'a smoe_estimator::MassSplit,
    setting: &'a str,
    truth: &'a crate::config::TruthConfig,
    gate: &'a str,
    gbar: &'a crate::config::GbarConfig,
}

/// The cache file of the G_bar of (setting `si`, fit `fi`): named by the hash of its identity.
pub fn gbar_cache_path(exp: &Experiment, si: usize, fi: usize, cache_dir: &Path, code: &str) -> PathBuf {
    let cfg = &exp.config;
    let setting = &cfg.settings[si];
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
        truth: &setting.truth,
        gate,
        gbar: cfg.gbar.as_ref().expect("validated: gbar section present"),
    };
    let key = crate::manifest::sha256_bytes(serde_json::to_string(&id).expect("serialisable").as_bytes());
    cache_dir.join(format!("{}-{}-{gate}-{}.json", exp.stream_key(), setting.name, &key[..16]))
}

impl<'a> Context<'a> {
    /// Draw the truths and evaluation inputs, and compute (or load from `cache_dir`) each G_bar;
    /// `code` is the [`code_fingerprint`].
    pub fn prepare(exp: &'a Experiment, cache_dir: &Path, code: &str) -> std::io::Result<Context<'a>> {
        use rayon::prelude::*;
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
        let computed: Vec<std::io::Result<GbarRecord>> =
            jobs.par_iter().map(|&(si, fi)| gbar(exp, &truths[si], si, fi, &gbar_cache_path(exp, si, fi, cache_dir, code))).collect();
        let mut gbars = Vec::new();
        let mut targets: Vec<Vec<Mixture>> =
            exp.settings.iter().enumerate().map(|(si, s)| vec![truths[si].clone(); s.fits.len()]).collect();
        for ((si, fi), rec) in jobs.into_iter().zip(computed) {
            let rec = rec?;
            let spec = exp.settings[si].fit_spec(&exp.settings[si].fits[fi], &exp.config);
            targets[si][fi] = Mixture::from_theta(spec, from_bits(&rec.theta_bits)).expect("cached G_bar has the fit's shape");
            gbars.push(rec);
        }
        Ok(Context { exp, truths, eval_x, targets, gbars })
    }

    /// Run one unit.
    pub fn run_unit(&self, u: &Unit) -> JournalEntry {
        let exp = self.exp;
        let cfg = &exp.config;
        let setting = &exp.settings[u.setting];
        let fit_cfg = &setting.fits[u.fit];
        let (est_name, estimator) = &exp.estimators[u.estimator];
        let truth = &self.truths[u.setting];
        let (n, rep) = (u.n.to_string(), u.rep.to_string());
        let gate = fit_cfg.gate.name();
        let data_id = [("experiment", exp.stream_key()), ("setting", setting.name.as_str()), ("n", &n), ("rep", &rep), ("purpose", "data")];
        let data_seed = seed::derive_seed(cfg.seed, &data_id);
        let data = draw_sample(truth, u.n as usize, cfg.noise_var, &mut seed::stream(cfg.seed, &data_id)).expect("validated noise");
        let spec = setting.fit_spec(fit_cfg, cfg);
        let start = exp
            .init
            .start(
                truth,
                spec,
                u.n as usize,
                &mut exp.stream(&[("setting", &setting.name), ("fit", gate), ("n", &n), ("rep", &rep), ("purpose", "init")]),
            )
            .expect("validated init");
        let t0 = std::time::Instant::now();
        let Fit { mixture, report } = estimator.fit(
            &start,
            &data,
            &Bounds::unbounded(spec.n_params()),
            &mut exp.stream(&[
                ("setting", &setting.name),
                ("fit", gate),
                ("estimator", est_name),
                ("n", &n),
                ("rep", &rep),
                ("purpose", "sgd"),
            ]),
        );
        let wall_s = t0.elapsed().as_secs_f64();
        let target = &self.targets[u.setting][u.fit];
        let x_eval = &self.eval_x[u.setting];
        let l2 = l2_error(&mixture, target, x_eval);
        let rows = fit_cfg
            .losses
            .iter()
            .map(|&kind| {
                let loss = voronoi_loss(kind, &mixture, target);
                // atom errors in the gauge the loss uses (the canonical one for softmax gates)
                let errs = if mixture.spec.gate == smoe_model::Gate::Softmax {
                    let (f, t) = (smoe_metrics::canonical_softmax_gauge(&mixture), smoe_metrics::canonical_softmax_gauge(target));
                    split_atom_errors(&atom_errors(&f, &t, &loss.cells, x_eval))
                } else {
                    split_atom_errors(&atom_errors(&mixture, target, &loss.cells, x_eval))
                };
                FitRow {
                    experiment: exp.id().to_string(),
                    setting: setting.name.clone(),
                    gate_true: setting.recipe.params().gate.name().into(),
                    gate_fit: gate.into(),
                    expert: setting.recipe.params().expert.to_string(),
                    estimator: est_name.clone(),
                    n: u.n,
                    rep: u.rep,
                    seed: seed::seed_label(&data_seed),
                    target: fit_cfg.target.label().into(),
                    loss_name: kind.name(),
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
                    train_mse: report.objective,
                    grad_norm: report.grad_norm,
                    iterations: report.iterations,
                    evaluations: report.evaluations,
                    termination: report.termination.name().into(),
                    wall_s,
                }
            })
            .collect();
        JournalEntry { key: exp.unit_key(u), rows, theta_bits: bits(&mixture.theta) }
    }
}

/// Compute G_bar for (setting, fit), or load it from the cache written by an earlier run.
fn gbar(exp: &Experiment, truth: &Mixture, si: usize, fi: usize, path: &Path) -> std::io::Result<GbarRecord> {
    let setting = &exp.settings[si];
    let fit = &setting.fits[fi];
    let g = exp.config.gbar.as_ref().expect("validated: gbar section present");
    if let Ok(text) = std::fs::read_to_string(path) {
        if let Ok(rec) = serde_json::from_str::<GbarRecord>(&text) {
            return Ok(rec);
        }
    }
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
    let (mid, main) = fit_in_halves(&optimizer, &start, &reference, &Bounds::unbounded(spec.n_params()));
    drop(reference);
    let check_sample =
        reference_sample(truth, g.check_n_ref, &mut exp.stream(&[("setting", &setting.name), ("fit", gate), ("purpose", "gbar_check")]));
    let (_, check) = fit_in_halves(&optimizer, &start, &check_sample, &Bounds::unbounded(spec.n_params()));
    let x = exp.eval_inputs(si);
    let rec = GbarRecord {
        setting: setting.name.clone(),
        gate: gate.into(),
        n_ref: g.n_ref,
        check_n_ref: g.check_n_ref,
        theta_bits: bits(&main.mixture.theta),
        termination: main.report.termination.name().into(),
        iterations: main.report.iterations,
        objective: main.report.objective,
        grad_norm: main.report.grad_norm,
        check_termination: check.report.termination.name().into(),
        d3_shift: voronoi_loss(LossKind::D3, &check.mixture, &main.mixture).total,
        l2_shift: l2_error(&check.mixture, &main.mixture, &x),
        d3_drift: voronoi_loss(LossKind::D3, &main.mixture, &mid.mixture).total,
        l2_drift: l2_error(&main.mixture, &mid.mixture, &x),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::manifest::atomic_write_bytes(path, serde_json::to_string_pretty(&rec).expect("serialisable").as_bytes())?;
    Ok(rec)
}

/// Read every journal file in `dir`: key -> entry. A torn last line (from a kill mid-write) is ignored.
pub fn read_journals(dir: &Path) -> std::io::Result<BTreeMap<String, Vec<JournalEntry>>> {
    let mut out: BTreeMap<String, Vec<JournalEntry>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(out) };
    let mut files: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "jsonl")).collect();
    files.sort();
    for f in files {
        let reader = std::io::BufReader::new(std::fs::File::open(&f)?);
        for line in reader.lines() {
            let line = line?;
            if let Ok(e) = serde_json::from_str::<JournalEntry>(&line) {
                out.entry(e.key.clone()).or_default().push(e);
            }
        }
    }
    Ok(out)
}

/// Appends entries to a journal file, one flushed line each; safe to share between threads.
pub struct Journal {
    file: Mutex<std::fs::File>,
}

impl Journal {
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)?;
        }
        let mut file = std::fs::OpenOptions::new().create(true).append(true).read(true).open(path)?;
        // a torn last line must not swallow the next entry
        let len = file.metadata()?.len();
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(Journal { file: Mutex::new(file) })
    }

    pub fn append(&self, e: &JournalEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_string(e).expect("serialisable");
        line.push('\n');
        let mut f = self.file.lock().expect("journal lock");
        f.write_all(line.as_bytes())?;
        f.flush()
    }
}

/// Long-form parameter rows of a mixture.
pub fn param_rows(m: &Mixture, base: &ParamRow) -> Vec<ParamRow> {
    let mut out = Vec::with_capacity(m.theta.len());
    for i in 0..m.k() {
        let mut push = |param: &str, index: usize, value: f64| {
            out.push(ParamRow { atom: i as u32, param: param.into(), index: index as u32, value, ..base.clone() });
        };
        push("beta0", 0, m.beta0(i));
        for (j, v) in m.beta1(i).iter().enumerate() {
            push("beta1", j, *v);
        }
        for (j, v) in m.a(i).iter().enumerate() {
            push("a", j, *v);
        }
        push("b", 0, m.b(i));
    }
    out
}
