//! Merging: every journal of the current fingerprint into tidy rows (fits, parameters, the
//! G_bar settling checks), checking that every planned unit appears and that repeated units
//! agree exactly. Writing them is the report crate's job.

use crate::config::PairMember;
use crate::error::ExperimentError;
use crate::gbar::{self, from_bits, GbarRecord};
use crate::journal::read_journals;
use crate::paths::Paths;
use crate::plan::Experiment;
use crate::rows::{FitRow, FloorRow, GbarCheckRow, PairRow, ParamKind, ParamName, ParamRow, Quantity, Target};
use smoe_metrics::{l2_error, voronoi_loss, FisherFloor};
use smoe_model::{Mixture, Spec};

/// An experiment's merged results.
#[derive(Clone, Debug)]
pub struct Merged {
    pub fits: Vec<FitRow>,
    /// Truth, G_bar and fitted parameters in long form.
    pub params: Vec<ParamRow>,
    pub gbar_checks: Vec<GbarCheckRow>,
    /// The Cramér-Rao floor of every loss at every n (empty without a `floor` section).
    pub floors: Vec<FloorRow>,
    /// Two-point pairs: how far apart the members are at every n.
    pub pairs: Vec<PairRow>,
}

/// Collect the journals of `paths` into rows; every planned unit must have a result.
pub fn collect(exp: &Experiment, paths: &Paths) -> Result<Merged, ExperimentError> {
    let journals = read_journals(&paths.journal_dir())?;
    let units = exp.units();
    let mut missing = Vec::new();
    let mut fits = Vec::new();
    let mut params = Vec::new();
    for (si, s) in exp.settings.iter().enumerate() {
        let truth = exp.truth(si);
        params.extend(param_rows(&truth, &param_base(exp, &s.name, ParamKind::Truth, &truth.spec, "", 0, 0)));
    }
    let gbars = gbar_records(exp, paths)?;
    let mut gbar_checks = Vec::new();
    for (rec, spec) in &gbars {
        let m = rec.mixture(*spec)?;
        params.extend(param_rows(&m, &param_base(exp, &rec.setting, ParamKind::Gbar, spec, "", 0, 0)));
        gbar_checks.push(rec.check_row(*spec)?);
    }
    for u in &units {
        let key = exp.unit_key(u);
        let Some(entries) = journals.get(&key) else {
            missing.push(key);
            continue;
        };
        let first = &entries[0];
        if entries.iter().any(|e| e.comparable() != first.comparable()) {
            return Err(ExperimentError::Inconsistent { key, count: entries.len() });
        }
        fits.extend(first.rows.iter().cloned());
        let s = &exp.settings[u.setting];
        let spec = s.fit_spec(&s.fits[u.fit], &exp.config);
        let m = Mixture::from_theta(spec, from_bits(&first.theta_bits))?;
        params.extend(param_rows(&m, &param_base(exp, &s.name, ParamKind::Fit, &spec, &exp.estimators[u.estimator].0, u.n, u.rep)));
    }
    if let Some(first) = missing.first() {
        return Err(ExperimentError::Incomplete {
            experiment: exp.id().into(),
            missing: missing.len(),
            planned: units.len(),
            first: first.clone(),
        });
    }
    let floors = floor_rows(exp, &gbars)?;
    let pairs = pair_rows(exp);
    Ok(Merged { fits, params, gbar_checks, floors, pairs })
}

/// The Cramér-Rao floor of each fit's losses (see `smoe_metrics::FisherFloor`): the information
/// is taken at the k-atom point the fit estimates, the noise-free split start for a fit against
/// the truth and G_bar itself for a fit against G_bar; misspecified fits scored against the truth
/// have no such point and get no floor.
fn floor_rows(exp: &Experiment, gbars: &[(GbarRecord, Spec)]) -> Result<Vec<FloorRow>, ExperimentError> {
    let Some(cfg) = &exp.config.floor else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for (si, s) in exp.settings.iter().enumerate() {
        if s.two_point.is_some() {
            continue;
        }
        let truth = exp.truth(si);
        let x = exp.eval_inputs(si);
        for f in &s.fits {
            let spec = s.fit_spec(f, &exp.config);
            let (point, target) = match f.target {
                Target::Truth if f.gate == truth.spec.gate => {
                    (exp.init.centre(&truth, spec.gate, spec.expert, spec.k).expect("validated init"), truth.clone())
                }
                Target::Truth => continue,
                Target::Gbar => {
                    let (rec, gspec) =
                        gbars.iter().find(|(r, g)| r.setting == s.name && g.gate == f.gate).expect("a G_bar for every fit against G_bar");
                    let m = rec.mixture(*gspec)?;
                    (m.clone(), m)
                }
            };
            let floor = FisherFloor::new(&point, &x, cfg.rel_cut);
            for &kind in &f.losses {
                for &n in &exp.n_values {
                    let mut rng = exp.stream(&[
                        ("setting", &s.name),
                        ("fit", f.gate.name()),
                        ("loss", &kind.name()),
                        ("n", &n.to_string()),
                        ("purpose", "floor"),
                    ]);
                    let (mean, sd) = floor.expected_loss(kind, &target, exp.config.noise_var, n as f64, cfg.draws, &mut rng);
                    let [gi, gs, es, ei] = floor.null_groups;
                    out.push(FloorRow {
                        setting: s.name.clone(),
                        gate_fit: f.gate,
                        quantity: Quantity::Loss(kind),
                        n,
                        floor_mean: mean,
                        floor_sd: sd,
                        draws: cfg.draws,
                        identified_dims: floor.identified_dims(),
                        null_dims: floor.null_dims,
                        null_gate_intercept: gi,
                        null_gate_slope: gs,
                        null_expert_slope: es,
                        null_expert_intercept: ei,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// For member two of every two-point pair: at every n, the L2 distance between the two
/// members' regression functions and each loss between them.
fn pair_rows(exp: &Experiment) -> Vec<PairRow> {
    let mut out = Vec::new();
    for (si, s) in exp.settings.iter().enumerate() {
        let Some(tp) = &s.two_point else { continue };
        if tp.member != PairMember::Two {
            continue;
        }
        let base = exp.truth(si);
        let x = exp.eval_inputs(si);
        for &n in &exp.n_values {
            let moved = exp.truth_at(si, &base, n);
            let l2_between = l2_error(&moved, &base, &x);
            for f in &s.fits {
                for &kind in &f.losses {
                    out.push(PairRow {
                        setting: s.name.clone(),
                        n,
                        l2_between,
                        inv_sqrt_n: 1.0 / (n as f64).sqrt(),
                        quantity: Quantity::Loss(kind),
                        loss_between: voronoi_loss(kind, &moved, &base).total,
                    });
                }
            }
        }
    }
    out
}

/// The cached G_bar of every fit against G_bar, with the fit's shape.
pub fn gbar_records(exp: &Experiment, paths: &Paths) -> Result<Vec<(GbarRecord, Spec)>, ExperimentError> {
    let mut out = Vec::new();
    for (si, s) in exp.settings.iter().enumerate() {
        for (fi, f) in s.fits.iter().enumerate() {
            if f.target == Target::Gbar {
                let rec = gbar::load(&gbar::cache_path(exp, si, fi, &paths.cache_dir(), &paths.code))?;
                out.push((rec, s.fit_spec(f, &exp.config)));
            }
        }
    }
    Ok(out)
}

/// The key columns of an experiment's parameter rows; `param_rows` fills in the values.
fn param_base(exp: &Experiment, setting: &str, kind: ParamKind, spec: &Spec, estimator: &str, n: u64, rep: u32) -> ParamRow {
    ParamRow {
        experiment: exp.id().into(),
        setting: setting.into(),
        kind,
        gate: spec.gate,
        expert: spec.expert,
        estimator: estimator.into(),
        n,
        rep,
        atom: 0,
        param: ParamName::Beta0,
        index: 0,
        value: 0.0,
    }
}

/// Long-form parameter rows of a mixture.
pub fn param_rows(m: &Mixture, base: &ParamRow) -> Vec<ParamRow> {
    let mut out = Vec::with_capacity(m.theta.len());
    for i in 0..m.k() {
        let mut push = |param: ParamName, index: usize, value: f64| {
            out.push(ParamRow { atom: i as u32, param, index: index as u32, value, ..base.clone() });
        };
        push(ParamName::Beta0, 0, m.beta0(i));
        for (j, v) in m.beta1(i).iter().enumerate() {
            push(ParamName::Beta1, j, *v);
        }
        for (j, v) in m.a(i).iter().enumerate() {
            push(ParamName::A, j, *v);
        }
        push(ParamName::B, 0, m.b(i));
    }
    out
}
