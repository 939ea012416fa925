//! Slopes of each family's members (same truth and data, another initialisation or optimiser)
//! side by side.

use super::claims::f2;
use crate::rows::{find_rate, RateKey, RateRow};
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::Quantity;
use std::fmt::Write as _;

/// One row per (setting, fit, estimator, quantity) of the family's first member.
pub fn sensitivity_markdown(exps: &[Experiment], rates: &[RateRow]) -> String {
    let mut s = String::new();
    let mut families: Vec<&str> = exps.iter().filter_map(|e| e.config.family.as_deref()).collect();
    families.sort();
    families.dedup();
    for fam in families {
        let members: Vec<&Experiment> = exps.iter().filter(|e| e.config.family.as_deref() == Some(fam)).collect();
        if members.len() < 2 {
            continue;
        }
        let _ = writeln!(s, "\n**Family {fam}** (same truth and data; slope of log mean loss on log n, [95% CI])\n");
        s.push_str("| setting | fit | estimator | quantity |");
        for m in &members {
            let _ = write!(s, " {} |", m.config.variant.as_deref().unwrap_or(m.id()));
        }
        s.push('\n');
        s.push_str(&"|---".repeat(4 + members.len()));
        s.push_str("|\n");
        let base = members[0];
        for st in &base.settings {
            for f in &st.fits {
                for (est, _) in &base.estimators {
                    let quantities = f.losses.iter().map(|&l| Quantity::Loss(l)).chain([Quantity::L2Error, Quantity::Start(f.losses[0])]);
                    for q in quantities {
                        let _ = write!(s, "| {} | {} | {} | {} |", st.name, f.gate, est, q);
                        for m in &members {
                            let _ = match find_rate(rates, &RateKey::paper(m.id(), &st.name, f.gate, est, q)) {
                                Some(r) => write!(s, " {} [{}, {}] |", f2(r.slope), f2(r.ci_low), f2(r.ci_high)),
                                None => write!(s, " – |"),
                            };
                        }
                        s.push('\n');
                    }
                }
            }
        }
    }
    s
}
