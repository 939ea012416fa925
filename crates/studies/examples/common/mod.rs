//! What the probes (newton_probe, multistart_probe, the G_bar probes) share: the units they refit,
//! the targets their losses are measured against, and G_bar's start and reference sample. (A module directory, not `examples/common.rs`, so that
//! cargo does not take it for an example of its own.)
use smoe_estimator::reference_sample;
use smoe_experiment::paths::Root;
use smoe_experiment::plan::{Experiment, Unit};
use smoe_experiment::run::Context;
use smoe_model::{Gate, Mixture, Sample, Spec};
use std::ops::RangeInclusive;

/// The `lse` units of `setting` fitted with `gate` at sample size `n`, replications `reps`.
pub fn lse_units(exp: &Experiment, setting: &str, gate: Gate, n: u64, reps: RangeInclusive<u32>) -> Vec<Unit> {
    let units: Vec<Unit> = exp
        .units()
        .into_iter()
        .filter(|u| {
            exp.settings[u.setting].name == setting
                && exp.estimators[u.estimator].0 == "lse"
                && u.n == n
                && reps.contains(&u.rep)
                && exp.settings[u.setting].fits[u.fit].gate == gate
        })
        .collect();
    assert!(!units.is_empty(), "no lse unit of setting {setting} with a {} gate at n = {n}, reps {reps:?}", gate.name());
    units
}

/// The run's truths, evaluation inputs and fit targets, with each G_bar loaded from the cache of
/// the artifact in the current directory (computed if the current code has none).
pub fn context(exp: &Experiment) -> Context<'_> {
    let root = Root::open(std::path::Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    Context::prepare(exp, &root.cache_dir(), &root.code).unwrap_or_else(|e| panic!("{e}"))
}

/// What the G_bar of fit `fi` of setting `si` is computed from: the truth, the fit's shape, the
/// perturbed split start and the noiseless reference sample, drawn from the same streams as
/// `smoe_experiment::gbar::compute_or_load` draws them, so that a probe refits the committed G_bar.
pub fn gbar_inputs(exp: &Experiment, si: usize, fi: usize) -> (Mixture, Spec, Mixture, Sample) {
    let setting = &exp.settings[si];
    let fit = &setting.fits[fi];
    let g = exp.config.gbar.as_ref().expect("the config has a gbar section");
    let truth = exp.truth(si);
    let spec = setting.fit_spec(fit, &exp.config);
    let stream = |purpose| exp.stream(&[("setting", &setting.name), ("fit", fit.gate.name()), ("purpose", purpose)]);
    let start = exp.init.perturbed_centre(&truth, spec, g.start_noise_sd, &mut stream("gbar_start")).expect("valid init");
    let reference = reference_sample(&truth, g.n_ref, &mut stream("gbar_reference"));
    (truth, spec, start, reference)
}
