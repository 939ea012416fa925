//! Beyond the paper's figures: every claim confronted with data (claims table), the
//! sample-size comparison behind the headline, and the sensitivity of slopes to the
//! initialisation and the optimiser.

use crate::config::Experiment;
use crate::pipeline::{cells, grouped, Paths, Result};
use crate::rows::RateRow;
use crate::store;
use smoe_metrics::{sample_size_for, summarise, Cell};
use smoe_model::seed;
use std::fmt::Write as _;

/// Half-width above which a 95% interval that contains the predicted exponent is too wide to
/// call the claim supported.
pub const MAX_HALF_WIDTH: f64 = 0.25;
/// |delta AIC| above which one rate model is preferred to the other.
pub const AIC_THRESHOLD: f64 = 2.0;

/// The decision rule of the claims table, in words (printed under the table).
pub const CLAIM_RULE: &str = "The verdict uses the full n range, as the paper does; the slope on the upper half of the n grid is shown beside it because the theorems are asymptotic. Power-law claims (predicted exponent s): *supported* when s lies in the bootstrap 95% interval of the slope (log of the mean loss on log n) and the interval's half-width is at most 0.25; *not supported* when s lies outside the interval; *inconclusive* otherwise. Slow-rate claims (slower than any power, or 1/log n): *supported* when the logarithmic model L ~ C (log n)^-q fits better than the power law by more than 2 AIC units, or when the slope interval contains 0; *not supported* when the power law fits better by more than 2 AIC units and the slope interval excludes 0; *inconclusive* otherwise.";

pub fn verdict(r: &RateRow) -> &'static str {
    if r.theory.is_finite() {
        if !(r.ci_low <= r.theory && r.theory <= r.ci_high) {
            "not supported"
        } else if (r.ci_high - r.ci_low) / 2.0 <= MAX_HALF_WIDTH {
            "supported"
        } else {
            "inconclusive"
        }
    } else if r.delta_aic < -AIC_THRESHOLD || (r.ci_low <= 0.0 && 0.0 <= r.ci_high) {
        "supported"
    } else if r.delta_aic > AIC_THRESHOLD {
        "not supported"
    } else {
        "inconclusive"
    }
}

fn f2(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "–".into()
    }
}

/// One row per theory entry of every fit and estimator (the paper's method: log of the mean).
pub fn claims_markdown(exps: &[Experiment], rates: &[RateRow]) -> String {
    let mut s = String::from("| claim | experiment / setting / fit | quantity | estimator | predicted | measured slope [95% CI] | upper half of n: slope [95% CI] | log-rate q, ΔAIC | verdict |\n|---|---|---|---|---|---|---|---|---|\n");
    for exp in exps {
        for st in &exp.settings {
            for f in &st.fits {
                for th in &f.theory {
                    for (est, _) in &exp.estimators {
                        let Some(r) = rates.iter().find(|r| {
                            r.experiment == exp.id()
                                && r.setting == st.name
                                && r.gate_fit == f.gate.name()
                                && &r.estimator == est
                                && r.loss_name == th.quantity
                                && r.method == "log_mean"
                        }) else {
                            continue;
                        };
                        let upper = rates
                            .iter()
                            .find(|u| {
                                u.experiment == r.experiment
                                    && u.setting == r.setting
                                    && u.gate_fit == r.gate_fit
                                    && u.estimator == r.estimator
                                    && u.loss_name == r.loss_name
                                    && u.method == crate::pipeline::UPPER_HALF
                            })
                            .map_or("–".to_string(), |u| format!("{} [{}, {}]", f2(u.slope), f2(u.ci_low), f2(u.ci_high)));
                        let _ = writeln!(
                            s,
                            "| {} | {} / {} / {} fit to {} | {} | {} | {} | {} [{}, {}] | {upper} | {}, {} | **{}** |",
                            th.source,
                            exp.id(),
                            st.name,
                            f.gate,
                            f.target.label(),
                            th.quantity,
                            est,
                            th.exponent.map_or("slow (no power law)".to_string(), f2),
                            f2(r.slope),
                            f2(r.ci_low),
                            f2(r.ci_high),
                            f2(r.log_rate_q),
                            f2(r.delta_aic),
                            verdict(r)
                        );
                    }
                }
            }
        }
    }
    s.push('\n');
    s.push_str(CLAIM_RULE);
    s.push('\n');
    s
}

/// For every setting fitted with both gates, n(eps) for each gate and its bootstrap interval,
/// for the expert error and the L2 error, over a grid of eps spanning the measured range and
/// one decade below it (extrapolated, flagged).
pub fn sample_complexity_markdown(exps: &[Experiment], root: &std::path::Path) -> Result<String> {
    let mut s = String::new();
    for exp in exps {
        let both = |st: &crate::config::Setting| {
            let gates: Vec<&str> = st.fits.iter().map(|f| f.gate.name()).collect();
            gates.contains(&"sigmoid") && gates.contains(&"softmax")
        };
        if !exp.settings.iter().any(both) {
            continue;
        }
        let fits = store::read_fits(&Paths::new(root, exp).fits())?;
        let groups = grouped(exp, &fits);
        for st in exp.settings.iter().filter(|st| both(st)) {
            for (est, _) in &exp.estimators {
                for q in ["expert_err", "l2_error"] {
                    let cells_of = |gate: &str| -> Vec<Cell> {
                        groups
                            .iter()
                            .find(|((set, g, e, qq), _)| set == &st.name && g == gate && e == est && qq == q)
                            .map(|(_, by_n)| cells(by_n, q).0)
                            .unwrap_or_default()
                    };
                    let (sig, soft) = (cells_of("sigmoid"), cells_of("softmax"));
                    let means =
                        |c: &[Cell]| c.iter().filter(|c| !c.losses.is_empty()).map(|c| summarise(&c.losses).mean).collect::<Vec<_>>();
                    let (ms, mf) = (means(&sig), means(&soft));
                    if ms.len() < 2 || mf.len() < 2 {
                        continue;
                    }
                    let lo = ms.iter().cloned().fold(f64::INFINITY, f64::min).max(mf.iter().cloned().fold(f64::INFINITY, f64::min));
                    let hi = ms.iter().cloned().fold(0.0, f64::max).min(mf.iter().cloned().fold(0.0, f64::max));
                    let (top, bottom) = if hi > lo { (hi, lo / 10.0) } else { (lo.max(hi), lo.min(hi) / 10.0) };
                    let eps: Vec<f64> = (0..5).map(|i| (top.ln() + (bottom.ln() - top.ln()) * i as f64 / 4.0).exp()).collect();
                    let stream = |g: &str| {
                        seed::stream(
                            exp.config.seed,
                            &[
                                ("experiment", exp.id()),
                                ("setting", &st.name),
                                ("fit", g),
                                ("estimator", est),
                                ("quantity", q),
                                ("purpose", "sample_size"),
                            ],
                        )
                    };
                    let a = sample_size_for(&sig, &eps, exp.config.rates.n_boot, &mut stream("sigmoid"));
                    let b = sample_size_for(&soft, &eps, exp.config.rates.n_boot, &mut stream("softmax"));
                    let _ = writeln!(
                        s,
                        "\n**{} / {} / {} / {}** (n range run: {:.0}–{:.0})\n",
                        exp.id(),
                        st.name,
                        est,
                        q,
                        exp.n_values[0],
                        exp.n_values[exp.n_values.len() - 1]
                    );
                    s.push_str("| eps | n sigmoid [95% CI] | n softmax [95% CI] | fewer samples |\n|---|---|---|---|\n");
                    for (x, y) in a.iter().zip(&b) {
                        let who = if x.hi < y.lo {
                            "sigmoid"
                        } else if y.hi < x.lo {
                            "softmax"
                        } else {
                            "overlap"
                        };
                        let _ = writeln!(s, "| {:.3e} | {} | {} | {} |", x.eps, show_n(x), show_n(y), who);
                    }
                }
            }
        }
    }
    Ok(s)
}

/// n(eps) with its interval; a curve that does not fall (or falls so slowly that n(eps) leaves
/// [1, 1e12]) never reaches eps in any useful sense, and is shown as such rather than as a number.
fn show_n(z: &smoe_metrics::SampleSize) -> String {
    let fmt = |v: f64| {
        if v.is_finite() && (1.0..=1e12).contains(&v) {
            format!("{v:.2e}")
        } else if v < 1.0 {
            "<1".into()
        } else {
            ">1e12".into()
        }
    };
    if !(z.n.is_finite() && (1.0..=1e12).contains(&z.n)) {
        return "not reached (the fitted curve does not fall to eps)".into();
    }
    format!("{:.3e} [{}, {}]{}", z.n, fmt(z.lo), fmt(z.hi), if z.extrapolated { " (extrapolated)" } else { "" })
}

/// Slopes of each family's members side by side: one row per (setting, fit, estimator, quantity).
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
                    for q in f.losses.iter().map(|l| l.name()).chain(["l2_error".to_string(), format!("start:{}", f.losses[0].name())]) {
                        let _ = write!(s, "| {} | {} | {} | {} |", st.name, f.gate, est, q);
                        for m in &members {
                            let r = rates.iter().find(|r| {
                                r.experiment == m.id()
                                    && r.setting == st.name
                                    && r.gate_fit == f.gate.name()
                                    && &r.estimator == est
                                    && r.loss_name == q
                                    && r.method == "log_mean"
                            });
                            let _ = match r {
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
