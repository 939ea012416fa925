//! What the probes (newton_probe, multistart_probe) share: the units they refit and the targets
//! their losses are measured against. (A module directory, not `examples/common.rs`, so that
//! cargo does not take it for an example of its own.)
use smoe_experiment::paths::Root;
use smoe_experiment::plan::{Experiment, Unit};
use smoe_experiment::run::Context;
use smoe_model::Gate;
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
