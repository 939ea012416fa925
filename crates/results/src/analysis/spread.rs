//! The spread of the headline slopes across truth draws (the truth-variability experiments TV1-3
//! run the settings of E1-E3 with five truths each): one truth is one draw of the paper's
//! recipe, and a slope measured on it carries, besides the Monte Carlo error of its
//! replications, the variation from one draw to the next.

use super::claims::f2;
use super::verdicts::TruthSpread;
use crate::rows::{NRange, RateRow};
use smoe_experiment::config::Role;
use smoe_experiment::plan::Experiment;
use smoe_metrics::{summarise, RateMethod};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The single-truth experiment a truth-variability experiment repeats (its `role`'s `base`).
pub fn base_of(exp: &Experiment) -> Option<&str> {
    match &exp.config.role {
        Role::TruthVariability { base } => Some(base),
        _ => None,
    }
}

/// The setting a truth draw belongs to: "relu_t3" -> "relu".
pub(crate) fn base_setting(name: &str) -> &str {
    match name.rfind("_t") {
        Some(i) if name[i + 2..].chars().all(|c| c.is_ascii_digit()) && i + 2 < name.len() => &name[..i],
        _ => name,
    }
}

/// Per-draw upper-half slopes of every (base experiment, base setting, gate, estimator, quantity).
pub fn draws(exps: &[Experiment], rates: &[RateRow]) -> BTreeMap<(String, String, String, String, String), Vec<f64>> {
    let mut out: BTreeMap<_, Vec<f64>> = BTreeMap::new();
    for exp in exps {
        let Some(base) = base_of(exp) else { continue };
        for r in rates.iter().filter(|r| r.experiment == exp.id() && r.method == RateMethod::LogMean && r.n_range == NRange::UpperHalf) {
            if r.slope.is_finite() {
                out.entry((
                    base.to_string(),
                    base_setting(&r.setting).to_string(),
                    r.gate_fit.name().to_string(),
                    r.estimator.clone(),
                    r.loss_name.to_string(),
                ))
                .or_default()
                .push(r.slope);
            }
        }
    }
    out
}

/// The spread (sd across draws, number of draws) keyed like the single-truth rows it widens.
pub fn truth_spread(exps: &[Experiment], rates: &[RateRow]) -> TruthSpread {
    draws(exps, rates).into_iter().filter(|(_, v)| v.len() >= 2).map(|(k, v)| (k, (summarise(&v).sd, v.len()))).collect()
}

/// The table of figures/truth_spread.md: for every quantity with a theory entry in the base
/// experiment, the single-truth slope beside the per-draw slopes (of the truth-variability
/// experiments `truths`) and their mean and sd; `rates` holds the rates of both.
pub fn spread_markdown(exps: &[Experiment], truths: &[Experiment], rates: &[RateRow]) -> String {
    let d = draws(truths, rates);
    let mut s = String::from("| experiment / setting / fit | estimator | quantity | single truth (the experiment's) | per truth draw (TV) | mean ± sd across draws |\n|---|---|---|---|---|---|\n");
    // a quantity with two theory entries (e.g. a slow rate and a lower bound) gets one row
    let mut seen = std::collections::BTreeSet::new();
    for exp in exps {
        for st in &exp.settings {
            for f in &st.fits {
                for th in &f.theory {
                    for (est, _) in &exp.estimators {
                        let key = (exp.id().to_string(), st.name.clone(), f.gate.name().to_string(), est.clone(), th.quantity.to_string());
                        let Some(v) = d.get(&key) else { continue };
                        if !seen.insert(key.clone()) {
                            continue;
                        }
                        let single = rates
                            .iter()
                            .find(|r| {
                                r.experiment == exp.id()
                                    && r.setting == st.name
                                    && r.gate_fit == f.gate
                                    && &r.estimator == est
                                    && r.loss_name == th.quantity
                                    && r.method == RateMethod::LogMean
                                    && r.n_range == NRange::UpperHalf
                            })
                            .map_or(f64::NAN, |r| r.slope);
                        let sm = summarise(v);
                        let _ = writeln!(
                            s,
                            "| {} / {} / {} | {} | {} | {} | {} | {} ± {} |",
                            exp.id(),
                            st.name,
                            f.gate,
                            est,
                            th.quantity,
                            f2(single),
                            v.iter().map(|x| f2(*x)).collect::<Vec<_>>().join(", "),
                            f2(sm.mean),
                            f2(sm.sd)
                        );
                    }
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_setting_strips_the_draw_suffix_only() {
        assert_eq!(super::base_setting("relu_t3"), "relu");
        assert_eq!(super::base_setting("relu_t12"), "relu");
        assert_eq!(super::base_setting("relu"), "relu");
        assert_eq!(super::base_setting("gelu_tx"), "gelu_tx");
        assert_eq!(super::base_setting("a_t"), "a_t");
    }
}
