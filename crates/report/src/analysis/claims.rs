//! Every claim of the paper confronted with the data.

use crate::rows::{find_rate, NRange, RateKey, RateRow};
use smoe_experiment::plan::Experiment;
use smoe_metrics::RateMethod;
use std::fmt::Write as _;

/// Half-width above which a 95% interval that contains the predicted exponent is too wide to
/// call the claim supported.
pub const MAX_HALF_WIDTH: f64 = 0.25;
/// |delta AIC| above which one rate model is preferred to the other.
pub const AIC_THRESHOLD: f64 = 2.0;

/// The decision rule of the claims table, in words (printed under the table).
pub const CLAIM_RULE: &str = "The verdict uses the full n range, as the paper does; the slope on the upper half of the n grid is shown beside it because the theorems are asymptotic. Power-law claims (predicted exponent s): *supported* when s lies in the bootstrap 95% interval of the slope (log of the mean loss on log n) and the interval's half-width is at most 0.25; *not supported* when s lies outside the interval; *inconclusive* otherwise. Slow-rate claims (slower than any power, or 1/log n): *supported* when the logarithmic model L ~ C (log n)^-q fits better than the power law by more than 2 AIC units, or when the slope interval contains 0; *not supported* when the power law fits better by more than 2 AIC units and the slope interval excludes 0; *inconclusive* otherwise.";

/// The verdict of the claims table on one rate (see [`CLAIM_RULE`]).
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

pub(crate) fn f2(x: f64) -> String {
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
                        let key = RateKey::paper(exp.id(), &st.name, f.gate, est, th.quantity);
                        let Some(r) = find_rate(rates, &key) else { continue };
                        let upper = find_rate(rates, &key.with(RateMethod::LogMean, NRange::UpperHalf))
                            .map_or("–".to_string(), |u| format!("{} [{}, {}]", f2(u.slope), f2(u.ci_low), f2(u.ci_high)));
                        let _ = writeln!(
                            s,
                            "| {} | {} / {} / {} fit to {} | {} | {} | {} | {} [{}, {}] | {upper} | {}, {} | **{}** |",
                            th.source,
                            exp.id(),
                            st.name,
                            f.gate,
                            f.target.name(),
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
