//! The spread of the headline slopes across truth draws (the truth-variability experiments TV1-3
//! run the settings of E1-E3 with five truths each): one truth is one draw of the paper's
//! recipe, and a slope measured on it carries, besides the Monte Carlo error of its
//! replications, the variation from one draw to the next.

use super::claims::f2;
use super::verdicts::TruthSpread;
use crate::rows::{NRange, RateRow, SpreadRow};
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

/// The key of a headline slope: (base experiment, base setting, gate, estimator, quantity).
type SlopeKey = (String, String, String, String, String);

/// Per-draw upper-half slopes of every (base experiment, base setting, gate, estimator,
/// quantity), each with its truth-variability experiment and draw setting, in the order of
/// `exps` and their rates.
fn draws(exps: &[Experiment], rates: &[RateRow]) -> BTreeMap<SlopeKey, Vec<(String, String, f64)>> {
    let mut out: BTreeMap<_, Vec<(String, String, f64)>> = BTreeMap::new();
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
                .push((exp.id().to_string(), r.setting.clone(), r.slope));
            }
        }
    }
    out
}

/// The spread (sd across draws, number of draws) keyed like the single-truth rows it widens.
pub fn truth_spread(exps: &[Experiment], rates: &[RateRow]) -> TruthSpread {
    draws(exps, rates)
        .into_iter()
        .filter(|(_, v)| v.len() >= 2)
        .map(|(k, v)| {
            let slopes: Vec<f64> = v.iter().map(|d| d.2).collect();
            (k, (summarise(&slopes).sd, v.len()))
        })
        .collect()
}

/// The rows of data/tables/truth_spread.csv: for every quantity with a theory entry in the base
/// experiment, one row per truth draw (of the truth-variability experiments `truths`) with the
/// single-truth slope beside it; `rates` holds the rates of both.
pub fn spread_rows(exps: &[Experiment], truths: &[Experiment], rates: &[RateRow]) -> Vec<SpreadRow> {
    let d = draws(truths, rates);
    let mut out = Vec::new();
    // a quantity with two theory entries (e.g. a slow rate and a lower bound) gets one set of rows
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
                        for (tv, draw, slope) in v {
                            out.push(SpreadRow {
                                experiment: key.0.clone(),
                                setting: key.1.clone(),
                                gate_fit: key.2.clone(),
                                estimator: key.3.clone(),
                                quantity: key.4.clone(),
                                single_slope: single,
                                draw_experiment: tv.clone(),
                                draw_setting: draw.clone(),
                                draw_slope: *slope,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// The table of figures/truth_spread.md: one line per base row of [`spread_rows`] (consecutive
/// rows of one key), the single-truth slope beside the per-draw slopes and their mean and sd.
pub fn spread_markdown(rows: &[SpreadRow]) -> String {
    let mut s = String::from("| experiment / setting / fit | estimator | quantity | single truth (the experiment's) | per truth draw (TV) | mean ± sd across draws |\n|---|---|---|---|---|---|\n");
    let key = |r: &SpreadRow| (r.experiment.clone(), r.setting.clone(), r.gate_fit.clone(), r.estimator.clone(), r.quantity.clone());
    let mut i = 0;
    while i < rows.len() {
        let k = key(&rows[i]);
        let group: Vec<&SpreadRow> = rows[i..].iter().take_while(|r| key(r) == k).collect();
        i += group.len();
        let slopes: Vec<f64> = group.iter().map(|r| r.draw_slope).collect();
        let sm = summarise(&slopes);
        let _ = writeln!(
            s,
            "| {} / {} / {} | {} | {} | {} | {} | {} ± {} |",
            k.0,
            k.1,
            k.2,
            k.3,
            k.4,
            f2(group[0].single_slope),
            slopes.iter().map(|x| f2(*x)).collect::<Vec<_>>().join(", "),
            f2(sm.mean),
            f2(sm.sd)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::rows::SpreadRow;

    fn row(setting: &str, draw: &str, single: f64, slope: f64) -> SpreadRow {
        SpreadRow {
            experiment: "E1".into(),
            setting: setting.into(),
            gate_fit: "sigmoid".into(),
            estimator: "lse".into(),
            quantity: "D1".into(),
            single_slope: single,
            draw_experiment: "TV1".into(),
            draw_setting: draw.into(),
            draw_slope: slope,
        }
    }

    /// One line per base row: consecutive rows of one key, their slopes in order, mean and sd.
    #[test]
    fn the_spread_table_groups_the_draws_of_one_key() {
        let rows = [
            row("relu", "relu_t1", -0.47, -0.5),
            row("relu", "relu_t2", -0.47, -0.4),
            row("relu", "relu_t3", -0.47, -0.6),
            row("linear", "linear_t1", f64::NAN, -0.3),
        ];
        let md = super::spread_markdown(&rows);
        assert!(md.contains("| E1 / relu / sigmoid | lse | D1 | -0.47 | -0.50, -0.40, -0.60 | -0.50 ± 0.10 |"), "{md}");
        assert!(md.contains("| E1 / linear / sigmoid | lse | D1 | – | -0.30 |"), "{md}");
        assert_eq!(md.lines().count(), 4, "{md}");
    }

    #[test]
    fn base_setting_strips_the_draw_suffix_only() {
        assert_eq!(super::base_setting("relu_t3"), "relu");
        assert_eq!(super::base_setting("relu_t12"), "relu");
        assert_eq!(super::base_setting("relu"), "relu");
        assert_eq!(super::base_setting("gelu_tx"), "gelu_tx");
        assert_eq!(super::base_setting("a_t"), "a_t");
    }
}
