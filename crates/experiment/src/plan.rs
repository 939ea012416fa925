//! A validated experiment and its plan: the work units, their keys, and the random streams and
//! truths they draw from.
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

use crate::config::{BatchSize, Construction, ExperimentConfig, FitConfig, NGrid, PairMember, Role, SettingConfig, TwoPointConfig};
use crate::error::ExperimentError;
use crate::fsio::sha256_bytes;
use crate::rows::{Quantity, Target};
use smoe_estimator::{Bounds, Estimator, EstimatorParams, Init, InitNoise, InitParams, SgdParams, ThetaBox};
use smoe_metrics::LossKind;
use smoe_model::{draw_inputs, draw_sample, logit, seed, sigmoid, Gate, Mixture, Sample, Spec, TruthParams, TruthRecipe};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A config that has been parsed and validated, with its source path and content hash.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub path: PathBuf,
    pub sha256: String,
    pub config: ExperimentConfig,
    pub n_values: Vec<u64>,
    pub init: Init,
    pub estimators: Vec<(String, Estimator)>,
    /// The initialisation of each estimator (the config's `init` unless overridden).
    pub inits: Vec<Init>,
    /// Theta, if the config gives one.
    pub theta_box: Option<ThetaBox>,
    pub settings: Vec<Setting>,
}

#[derive(Clone, Debug)]
pub struct Setting {
    pub name: String,
    pub recipe: TruthRecipe,
    pub fits: Vec<FitConfig>,
    /// The name of the setting in its truth's stream.
    pub truth_stream: String,
    /// The truth's config as written (with its stream name resolved), part of G_bar's identity.
    pub truth_config: crate::config::TruthConfig,
    pub two_point: Option<TwoPointConfig>,
}

impl Setting {
    pub fn fit_spec(&self, fit: &FitConfig, cfg: &ExperimentConfig) -> Spec {
        Spec { gate: fit.gate, expert: self.recipe.params().expert, k: cfg.k, d: cfg.d }
    }

    /// Whether the setting is fitted with both gates (sigmoid against softmax on the same data).
    pub fn has_both_gates(&self) -> bool {
        self.fits.iter().any(|f| f.gate == Gate::Sigmoid) && self.fits.iter().any(|f| f.gate == Gate::Softmax)
    }
}

fn identifier_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Validation of one config file: every error names the file, the field, the value and what
/// is allowed.
struct Checker {
    file: String,
}

impl Checker {
    fn invalid(&self, field: impl Into<String>, problem: impl Into<String>) -> ExperimentError {
        ExperimentError::InvalidConfig { file: self.file.clone(), field: field.into(), problem: problem.into() }
    }

    fn positive(&self, field: &str, v: usize) -> Result<(), ExperimentError> {
        if v == 0 {
            Err(self.invalid(field, "0 is not allowed (an integer >= 1)"))
        } else {
            Ok(())
        }
    }

    fn estimator(&self, field: &str, p: &EstimatorParams) -> Result<Estimator, ExperimentError> {
        p.clone().check().map_err(|source| ExperimentError::InvalidEstimator { file: self.file.clone(), field: field.into(), source })
    }
}

impl Experiment {
    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Experiment, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::ReadConfig { path: path.to_owned(), source })?;
        Self::from_str(&text, path)
    }

    /// Parse and validate a config's text; `path` names it in errors and in the plan.
    pub fn from_str(text: &str, path: &Path) -> Result<Experiment, ExperimentError> {
        let file = path.display().to_string();
        let config: ExperimentConfig =
            yaml_serde::from_str(text).map_err(|source| ExperimentError::ParseConfig { file: file.clone(), source })?;
        let sha256 = sha256_bytes(text.as_bytes());
        let ck = Checker { file };
        let c = &config;
        if !identifier_ok(&c.experiment) {
            return Err(ck.invalid("experiment", format!("{:?} is not allowed (letters, digits, '-' and '_' only)", c.experiment)));
        }
        if let Some(f) = &c.family {
            if !identifier_ok(f) {
                return Err(ck.invalid("family", format!("{f:?} is not allowed (letters, digits, '-' and '_' only)")));
            }
        }
        ck.positive("d", c.d)?;
        ck.positive("k_star", c.k_star)?;
        ck.positive("eval_n", c.eval_n)?;
        ck.positive("replications", c.replications as usize)?;
        if c.k < c.k_star {
            return Err(ck.invalid("k", format!("{} is not allowed (an integer >= k_star = {})", c.k, c.k_star)));
        }
        if !(c.noise_var.is_finite() && c.noise_var >= 0.0) {
            return Err(ck.invalid("noise_var", format!("{} is not allowed (a finite variance >= 0)", c.noise_var)));
        }
        let n_values = c.n_grid.values();
        match &c.n_grid {
            NGrid::LogSpaced { min, max, count } => {
                if *min == 0 || max < min || *count == 0 {
                    return Err(ck.invalid(
                        "n_grid",
                        format!("log_spaced {{min: {min}, max: {max}, count: {count}}} is not allowed (1 <= min <= max, count >= 1)"),
                    ));
                }
            }
            NGrid::List { values } => {
                if values.is_empty() || values.contains(&0) {
                    return Err(ck.invalid("n_grid.values", format!("{values:?} is not allowed (a non-empty list of integers >= 1)")));
                }
            }
        }
        let mut sorted = n_values.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != n_values.len() {
            return Err(ck.invalid("n_grid", format!("{n_values:?} has repeated sample sizes (each n must appear once)")));
        }
        let init = c.init.clone().check().map_err(|source| ExperimentError::InvalidEstimator {
            file: ck.file.clone(),
            field: "init".into(),
            source,
        })?;
        if c.init.split_atom > c.k_star {
            return Err(ck.invalid("init.split_atom", format!("{} is not allowed (atom numbers 1..={})", c.init.split_atom, c.k_star)));
        }
        let (all_estimators, overrides) = expand_protocol_grid(&ck, c)?;
        if all_estimators.is_empty() {
            return Err(ck.invalid("estimators", "empty (name at least one estimator)"));
        }
        let mut estimators = Vec::new();
        let mut inits = Vec::new();
        for (name, p) in &all_estimators {
            if !identifier_ok(name) {
                return Err(ck.invalid("estimators", format!("name {name:?} is not allowed (letters, digits, '-' and '_')")));
            }
            estimators.push((name.clone(), ck.estimator(&format!("estimators.{name}"), p)?));
            let init = match overrides.get(name) {
                Some(o) => {
                    if o.split_atom > c.k_star {
                        return Err(ck.invalid(
                            format!("init_overrides.{name}.split_atom"),
                            format!("{} is not allowed (atom numbers 1..={})", o.split_atom, c.k_star),
                        ));
                    }
                    o.clone().check().map_err(|source| ExperimentError::InvalidEstimator {
                        file: ck.file.clone(),
                        field: format!("init_overrides.{name}"),
                        source,
                    })?
                }
                None => init.clone(),
            };
            inits.push(init);
        }
        for name in c.init_overrides.keys() {
            if !all_estimators.contains_key(name) {
                let allowed: Vec<&String> = all_estimators.keys().collect();
                return Err(ck.invalid("init_overrides", format!("{name:?} is not an estimator (allowed: {allowed:?})")));
            }
        }
        if let Some(b) = &c.theta_box {
            b.check().map_err(|source| ExperimentError::InvalidEstimator { file: ck.file.clone(), field: "theta_box".into(), source })?;
        }
        let needs_box = estimators.iter().any(|(_, e)| e.is_bounded())
            || c.gbar.as_ref().is_some_and(|g| matches!(g.optimizer, EstimatorParams::Lm(_)));
        if needs_box && c.theta_box.is_none() {
            return Err(ck.invalid("theta_box", "missing (an lm fit is the least-squares fit over Theta: give theta_box with gate_intercept, gate_slope, expert_slope and expert_intercept intervals)"));
        }
        if c.truth_draws == Some(0) {
            return Err(ck.invalid("truth_draws", "0 is not allowed (an integer >= 1)"));
        }
        if let Some(f) = &c.floor {
            ck.positive("floor.draws", f.draws)?;
            if !(f.rel_cut.is_finite() && f.rel_cut > 0.0 && f.rel_cut < 1.0) {
                return Err(ck.invalid("floor.rel_cut", format!("{} is not allowed (a number in (0, 1))", f.rel_cut)));
            }
        }
        if let Some(g) = &c.gbar {
            ck.positive("gbar.n_ref", g.n_ref)?;
            ck.positive("gbar.check_n_ref", g.check_n_ref)?;
            if matches!(g.optimizer, EstimatorParams::Sgd(_)) {
                return Err(ck.invalid("gbar.optimizer.kind", "sgd is not allowed (lm or lbfgs: G_bar is a converged least-squares fit)"));
            }
            ck.estimator("gbar.optimizer", &g.optimizer)?;
            if !(g.start_noise_sd.is_finite() && g.start_noise_sd > 0.0) {
                return Err(ck.invalid(
                    "gbar.start_noise_sd",
                    format!(
                        "{} is not allowed (a finite number > 0: from a symmetric start the split copies never separate)",
                        g.start_noise_sd
                    ),
                ));
            }
        }
        if c.settings.is_empty() {
            return Err(ck.invalid("settings", "empty (define at least one setting)"));
        }
        let mut settings = Vec::new();
        let mut names = BTreeSet::new();
        let written = expand_truth_draws(&c.settings, c.truth_draws.unwrap_or(1));
        for (si, s) in written.iter().enumerate() {
            let at = format!("settings[{si}]");
            if !identifier_ok(&s.name) || !names.insert(s.name.clone()) {
                return Err(ck.invalid(
                    format!("{at}.name"),
                    format!("{:?} is not allowed (a unique identifier: letters, digits, '-', '_')", s.name),
                ));
            }
            let t = &s.truth;
            let recipe = TruthParams {
                gate: t.gate,
                expert: t.expert,
                d: c.d,
                k_star: c.k_star,
                gate_var: t.gate_var,
                expert_var: t.expert_var,
                zero_gate_slope: t.zero_gate_slope.clone(),
                zero_expert_slope: t.zero_expert_slope.clone(),
            }
            .check()
            .map_err(|source| ExperimentError::InvalidTruth { file: ck.file.clone(), field: format!("{at}.truth"), source })?;
            if s.fits.is_empty() {
                return Err(ck.invalid(format!("{at}.fits"), "empty (at least one fit)"));
            }
            let mut gates = BTreeSet::new();
            for (fi, f) in s.fits.iter().enumerate() {
                let fat = format!("{at}.fits[{fi}]");
                if !gates.insert(f.gate.name()) {
                    return Err(ck.invalid(format!("{fat}.gate"), format!("{} appears twice in this setting (one fit per gate)", f.gate)));
                }
                check_fit(&ck, &fat, f, t.gate, c.gbar.is_some())?;
            }
            if let Some(tp) = &t.two_point {
                check_two_point(&ck, &format!("{at}.truth.two_point"), tp, t, c.k_star, c.k, s)?;
            }
            let truth_stream = t.stream_name.clone().unwrap_or_else(|| s.name.clone());
            if !identifier_ok(&truth_stream) {
                return Err(ck.invalid(
                    format!("{at}.truth.stream_name"),
                    format!("{truth_stream:?} is not allowed (letters, digits, '-' and '_')"),
                ));
            }
            let truth_config = crate::config::TruthConfig { stream_name: Some(truth_stream.clone()), ..t.clone() };
            settings.push(Setting {
                name: s.name.clone(),
                recipe,
                fits: s.fits.clone(),
                truth_stream,
                truth_config,
                two_point: t.two_point.clone(),
            });
        }
        check_role(&ck, c, &settings)?;
        let theta_box = c.theta_box.clone();
        let exp = Experiment { path: path.to_path_buf(), sha256, n_values, init, estimators, inits, theta_box, settings, config };
        exp.check_live_two_point_experts(&ck)?;
        Ok(exp)
    }

    pub fn id(&self) -> &str {
        &self.config.experiment
    }

    /// The name that identifies this experiment's random streams: its family, or its own id.
    pub fn stream_key(&self) -> &str {
        self.config.family.as_deref().unwrap_or(&self.config.experiment)
    }

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

    /// The units of one shard of the canonical order.
    pub fn shard_units(&self, shard: Shard) -> Vec<Unit> {
        self.units().into_iter().enumerate().filter(|(i, _)| i % shard.count == shard.index).map(|(_, u)| u).collect()
    }

    /// The unit's identity in the journal: experiment/setting/gate/estimator/n=../rep=..
    pub fn unit_key(&self, u: &Unit) -> String {
        let s = &self.settings[u.setting];
        format!("{}/{}/{}/{}/n={}/rep={}", self.id(), s.name, s.fits[u.fit].gate, self.estimators[u.estimator].0, u.n, u.rep)
    }

    /// The index of the estimator called `name`.
    pub fn estimator_index(&self, name: &str) -> Result<usize, ExperimentError> {
        self.estimators.iter().position(|(n, _)| n == name).ok_or_else(|| ExperimentError::UnknownEstimator {
            experiment: self.id().into(),
            name: name.into(),
            allowed: self.estimators.iter().map(|(n, _)| n.clone()).collect(),
        })
    }

    /// The random stream of `parts` (after the experiment's stream key).
    pub fn stream(&self, parts: &[(&str, &str)]) -> rand_chacha::ChaCha20Rng {
        let mut id = vec![("experiment", self.stream_key())];
        id.extend_from_slice(parts);
        seed::stream(self.config.seed, &id)
    }

    /// Thm 3's construction shifts the intercept of an input-independent expert, relu(b*) for
    /// ReLU experts: where b* <= 0 that expert is zero on the whole input range, both members
    /// share one regression function and the experiment tests nothing. So the atom must carry a
    /// live expert, b* > 0 in the drawn truth (GELU is nowhere flat and needs no check).
    fn check_live_two_point_experts(&self, ck: &Checker) -> Result<(), ExperimentError> {
        for (i, s) in self.settings.iter().enumerate() {
            let Some(tp) = &s.two_point else { continue };
            if tp.construction != Construction::Thm3 || s.recipe.params().expert != smoe_model::Expert::Relu {
                continue;
            }
            let truth = self.truth(i);
            let live: Vec<usize> = s
                .recipe
                .params()
                .zero_gate_slope
                .iter()
                .copied()
                .filter(|&j| s.recipe.params().zero_expert_slope.contains(&j) && truth.b(j - 1) > 0.0)
                .collect();
            if truth.b(tp.atom - 1) <= 0.0 {
                return Err(ck.invalid(
                    format!("settings[{i}].truth.two_point.atom"),
                    format!(
                        "{} is not allowed: its input-independent ReLU expert relu(b*) is zero on the whole input range (b* = {:.4}), so both members have one regression function (allowed: an atom with a zero gate slope, listed in zero_expert_slope, whose drawn b* > 0: {live:?})",
                        tp.atom,
                        truth.b(tp.atom - 1)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The true mixture of a setting (for a two-point setting: the base truth, member one).
    pub fn truth(&self, setting: usize) -> Mixture {
        let s = &self.settings[setting];
        s.recipe.draw(&mut self.stream(&[("setting", &s.truth_stream), ("purpose", "truth")]))
    }

    /// The truth that generates the data of sample size n: the setting's truth, or, for member
    /// two of a two-point pair, the construction at n.
    pub fn truth_at(&self, setting: usize, base: &Mixture, n: u64) -> Mixture {
        match &self.settings[setting].two_point {
            Some(tp) if tp.member == PairMember::Two => two_point_member(base, tp, n),
            _ => base.clone(),
        }
    }

    /// Everything a unit's fit starts from, derived from the unit's identity alone: the truth of
    /// its n (from the setting's `truth`, as drawn by [`Experiment::truth`]), its sample and that
    /// sample's seed, the fit's structure, start and bounds, and the estimator's random stream.
    /// The run and every later refit (the stall analysis) use this one derivation, so a refit
    /// lands exactly where the run did.
    pub fn unit_inputs(&self, u: &Unit, truth: &Mixture) -> UnitInputs {
        let cfg = &self.config;
        let setting = &self.settings[u.setting];
        let fit_cfg = &setting.fits[u.fit];
        let est_name = &self.estimators[u.estimator].0;
        let truth = self.truth_at(u.setting, truth, u.n);
        let (n, rep) = (u.n.to_string(), u.rep.to_string());
        let gate = fit_cfg.gate.name();
        let data_id =
            [("experiment", self.stream_key()), ("setting", setting.name.as_str()), ("n", &n), ("rep", &rep), ("purpose", "data")];
        let data_seed = seed::derive_seed(cfg.seed, &data_id);
        let data = draw_sample(&truth, u.n as usize, cfg.noise_var, &mut seed::stream(cfg.seed, &data_id)).expect("validated noise");
        let spec = setting.fit_spec(fit_cfg, cfg);
        let start = self.inits[u.estimator]
            .start(
                &truth,
                spec,
                u.n as usize,
                &mut self.stream(&[("setting", &setting.name), ("fit", gate), ("n", &n), ("rep", &rep), ("purpose", "init")]),
            )
            .expect("validated init");
        let bounds = self.bounds(&spec);
        let stream = self.stream(&[
            ("setting", &setting.name),
            ("fit", gate),
            ("estimator", est_name),
            ("n", &n),
            ("rep", &rep),
            ("purpose", "sgd"),
        ]);
        UnitInputs { truth, data, data_seed, spec, start, bounds, stream }
    }

    /// Theta's bounds for a mixture of structure `spec` (unbounded without a `theta_box`).
    pub fn bounds(&self, spec: &Spec) -> Bounds {
        match &self.theta_box {
            Some(b) => b.bounds(spec),
            None => Bounds::unbounded(spec.n_params()),
        }
    }

    /// The evaluation inputs of a setting (L2 and expert errors).
    pub fn eval_inputs(&self, setting: usize) -> Vec<f64> {
        let s = &self.settings[setting];
        draw_inputs(self.config.eval_n, self.config.d, &mut self.stream(&[("setting", &s.name), ("purpose", "eval")]))
    }
}

/// The estimators of a config with their initialisation overrides: the written ones, and those
/// of its protocol grid.
fn expand_protocol_grid(
    ck: &Checker,
    c: &ExperimentConfig,
) -> Result<(std::collections::BTreeMap<String, EstimatorParams>, std::collections::BTreeMap<String, InitParams>), ExperimentError> {
    let mut estimators = c.estimators.clone();
    let mut overrides = c.init_overrides.clone();
    let Some(g) = &c.protocol_grid else { return Ok((estimators, overrides)) };
    if g.batch_sizes.is_empty() || g.init_noise_sd.is_empty() || g.mass_split.is_empty() {
        return Err(ck.invalid("protocol_grid", "batch_sizes, init_noise_sd and mass_split must each list at least one value"));
    }
    for &sd in &g.init_noise_sd {
        if !(sd.is_finite() && sd >= 0.0) {
            return Err(ck.invalid("protocol_grid.init_noise_sd", format!("{sd} is not allowed (finite numbers >= 0)")));
        }
    }
    for &b in &g.batch_sizes {
        let (label, rows) = match b {
            BatchSize::Rows(r) => (r.to_string(), r),
            BatchSize::Full(_) => ("full".to_string(), usize::MAX),
        };
        if rows == 0 {
            return Err(ck.invalid("protocol_grid.batch_sizes", "0 is not allowed (a positive integer or full)"));
        }
        for &sd in &g.init_noise_sd {
            for &split in &g.mass_split {
                let split_name = match split {
                    smoe_estimator::MassSplit::Share => "share",
                    smoe_estimator::MassSplit::Copy => "copy",
                };
                let name = format!("sgd_b{label}_sd{}_{split_name}", if sd == 0.0 { "0".to_string() } else { format!("{sd:e}") });
                let sgd = SgdParams { epochs: g.epochs, learning_rate: g.learning_rate, batch_size: rows, shuffle: g.shuffle };
                if estimators.insert(name.clone(), EstimatorParams::Sgd(sgd)).is_some() {
                    return Err(ck.invalid("protocol_grid", format!("estimator {name:?} is also written under estimators")));
                }
                let noise = if sd == 0.0 { InitNoise::None } else { InitNoise::Fixed { sd } };
                overrides.insert(name, InitParams { noise, split_atom: c.init.split_atom, mass_split: split });
            }
        }
    }
    Ok((estimators, overrides))
}

/// The settings as run: each written setting once, or `draws` times as `<name>_t<i>` (each its
/// own truth draw).
fn expand_truth_draws(settings: &[SettingConfig], draws: u32) -> Vec<SettingConfig> {
    if draws <= 1 {
        return settings.to_vec();
    }
    settings
        .iter()
        .flat_map(|s| {
            (1..=draws).map(move |t| {
                let mut s = s.clone();
                s.name = format!("{}_t{t}", s.name);
                if let Some(stream) = &s.truth.stream_name {
                    s.truth.stream_name = Some(format!("{stream}_t{t}"));
                }
                s
            })
        })
        .collect()
}

/// Member two of a two-point pair at sample size n (see [`TwoPointConfig`]): the true atom
/// `atom` replaced by two copies at zero gate slope.
pub fn two_point_member(base: &Mixture, tp: &TwoPointConfig, n: u64) -> Mixture {
    let n = n as f64;
    let j = tp.atom - 1;
    let mut atoms = base.atoms();
    let original = atoms[j].clone();
    let w = sigmoid(original.beta0);
    let (shifts, weight) = match tp.construction {
        Construction::Thm4 => ([1.0 / n, -1.0 / n], (w + n.powf(-(tp.r + 1.0))) / 2.0),
        Construction::Thm3 => ([tp.c / n, 2.0 * tp.c / n], w / 2.0),
    };
    let mut first = original.clone();
    first.beta0 = logit(weight);
    first.b = original.b + shifts[0];
    let mut second = first.clone();
    second.b = original.b + shifts[1];
    atoms[j] = first;
    atoms.push(second);
    Mixture::from_atoms(base.spec.gate, base.spec.expert, &atoms).expect("same shape as the base truth")
}

fn check_two_point(
    ck: &Checker,
    field: &str,
    tp: &TwoPointConfig,
    t: &crate::config::TruthConfig,
    k_star: usize,
    k: usize,
    s: &SettingConfig,
) -> Result<(), ExperimentError> {
    if t.gate != Gate::Sigmoid {
        return Err(ck.invalid(field, "the two-point constructions are for sigmoid truths"));
    }
    if tp.atom == 0 || tp.atom > k_star || !t.zero_gate_slope.contains(&tp.atom) {
        return Err(
            ck.invalid(format!("{field}.atom"), format!("{} is not allowed (an atom 1..={k_star} with a zero gate slope)", tp.atom))
        );
    }
    if tp.construction == Construction::Thm3 && !t.zero_expert_slope.contains(&tp.atom) {
        return Err(
            ck.invalid(format!("{field}.atom"), "thm3 needs an input-independent expert on that atom (list it in zero_expert_slope)")
        );
    }
    if k < k_star + 1 {
        return Err(ck.invalid(field, format!("member two has k* + 1 = {} atoms: k must be at least that", k_star + 1)));
    }
    if !(tp.c.is_finite() && tp.c > 0.0 && tp.r.is_finite() && tp.r >= 1.0) {
        return Err(ck.invalid(field, format!("c = {}, r = {} is not allowed (c > 0, r >= 1)", tp.c, tp.r)));
    }
    if s.fits.iter().any(|f| f.target != Target::Truth) {
        return Err(ck.invalid(field, "a two-point setting is scored against its own truth (target: truth)"));
    }
    Ok(())
}

/// The losses a fit may use, its target, and its theory entries.
/// A config's `role` agrees with the fields that role needs, and no other role uses them: the
/// role is what the reports branch on, so it must not contradict what the config runs.
fn check_role(ck: &Checker, c: &ExperimentConfig, settings: &[Setting]) -> Result<(), ExperimentError> {
    let role = &c.role;
    let needs = |yes: bool, field: &str, what: &str| -> Result<(), ExperimentError> {
        match (yes, role_uses(role, field)) {
            (true, false) => Err(ck.invalid(
                "role",
                format!("{} does not match: the config has {what} (`{field}`), which only role {} uses", role.name(), owner(field)),
            )),
            (false, true) => Err(ck.invalid("role", format!("{} needs {what} (`{field}`), and the config has none", role.name()))),
            _ => Ok(()),
        }
    };
    needs(c.protocol_grid.is_some(), "protocol_grid", "a grid of SGD readings")?;
    needs(settings.iter().any(|s| s.two_point.is_some()), "truth.two_point", "two-point truths")?;
    needs(c.truth_draws.is_some_and(|d| d > 1), "truth_draws", "several truth draws per setting")?;
    if let Role::TruthVariability { base } = role {
        if !identifier_ok(base) || *base == c.experiment {
            return Err(ck.invalid(
                "role.truth_variability.base",
                format!("{base:?} is not allowed (the id of the experiment whose settings are redrawn: letters, digits, '-' and '_', not this one)"),
            ));
        }
    }
    if *role == Role::BudgetCheck && c.family.is_none() {
        return Err(ck.invalid("family", "missing (a budget check reruns units of its family's experiment: name the family)"));
    }
    Ok(())
}

/// Whether `role` is the one role that uses the config field `field`.
fn role_uses(role: &Role, field: &str) -> bool {
    owner(field) == role.name()
}

/// The role that owns a role-specific config field.
fn owner(field: &str) -> &'static str {
    match field {
        "protocol_grid" => "protocol_search",
        "truth.two_point" => "two_point",
        "truth_draws" => "truth_variability",
        _ => "main",
    }
}

fn check_fit(ck: &Checker, fat: &str, f: &FitConfig, truth_gate: Gate, has_gbar: bool) -> Result<(), ExperimentError> {
    if f.losses.is_empty() {
        return Err(ck.invalid(format!("{fat}.losses"), "empty (allowed: d1, d1h, d2 {r >= 1}, d3, softmax, softmax_r1)"));
    }
    let field = format!("{fat}.losses");
    for l in &f.losses {
        match l {
            LossKind::D2 { r } if !(r.is_finite() && *r >= 1.0) => {
                return Err(ck.invalid(field, format!("d2 with r = {r} is not allowed (r >= 1)")));
            }
            LossKind::Softmax | LossKind::SoftmaxR1 if f.gate != Gate::Softmax => {
                return Err(ck.invalid(field, format!("{} needs a softmax fit (gate is {})", l.name(), f.gate)));
            }
            LossKind::D1 | LossKind::D1h | LossKind::D2 { .. } if f.gate != Gate::Sigmoid => {
                return Err(ck.invalid(field, format!("{} needs a sigmoid fit (gate is {})", l.name(), f.gate)));
            }
            LossKind::Softmax | LossKind::SoftmaxR1 if truth_gate != Gate::Softmax || f.target != Target::Truth => {
                return Err(ck.invalid(field, "the softmax losses compare to a softmax truth (target: truth)"));
            }
            _ => {}
        }
    }
    if f.target == Target::Gbar && !has_gbar {
        return Err(ck.invalid(format!("{fat}.target"), "gbar needs a top-level `gbar` section"));
    }
    // A misspecified fit may be scored against the truth only by D3, a plain parameter distance
    // (the phase diagram uses it beside the gate-agnostic L2 and expert errors); its Voronoi target
    // is G_bar.
    if f.target == Target::Truth && f.gate != truth_gate && f.losses.iter().any(|l| *l != LossKind::D3) {
        return Err(ck.invalid(
            format!("{fat}.target"),
            format!(
                "truth is not allowed for a {} fit of a {truth_gate} truth with losses other than d3 (the fit is misspecified: use gbar)",
                f.gate
            ),
        ));
    }
    let quantities: Vec<Quantity> = f.losses.iter().map(|&l| Quantity::Loss(l)).chain(Quantity::FIT).collect();
    for th in &f.theory {
        if !quantities.contains(&th.quantity) {
            let allowed: Vec<String> = quantities.iter().map(|q| q.to_string()).collect();
            return Err(
                ck.invalid(format!("{fat}.theory.quantity"), format!("{:?} is not allowed (one of {allowed:?})", th.quantity.to_string()))
            );
        }
        if let Some(x) = th.exponent {
            if !x.is_finite() {
                return Err(ck.invalid(format!("{fat}.theory.exponent"), format!("{x} is not allowed (a finite number or null)")));
            }
        }
        use crate::config::ClaimType;
        if matches!(th.claim, ClaimType::UpperBound | ClaimType::LowerBound) && th.exponent.is_none() {
            return Err(ck.invalid(
                format!("{fat}.theory.exponent"),
                "null is not allowed for an upper or lower bound (give the predicted exponent)",
            ));
        }
    }
    Ok(())
}

/// One fit to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub setting: usize,
    pub fit: usize,
    pub estimator: usize,
    pub n: u64,
    pub rep: u32,
}

/// What a unit's fit starts from ([`Experiment::unit_inputs`]).
pub struct UnitInputs {
    /// The truth that generated the data (for member two of a two-point pair, the one at n).
    pub truth: Mixture,
    pub data: Sample,
    /// The seed of the sample's stream (recorded with each row).
    pub data_seed: [u8; 32],
    pub spec: Spec,
    pub start: Mixture,
    pub bounds: Bounds,
    /// The estimator's random stream (used by SGD; a least-squares fit ignores it).
    pub stream: rand_chacha::ChaCha20Rng,
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
    pub fn parse(s: &str) -> Result<Shard, ExperimentError> {
        let bad = || ExperimentError::BadShard { arg: s.into() };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}
