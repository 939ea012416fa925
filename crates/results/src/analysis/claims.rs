//! Every claim of the paper confronted with the data, each by the rule of its kind
//! (`smoe_metrics::VerdictRules`): upper bounds, minimax lower bounds, slow rates; the comparative
//! claim has its own table (see `comparison`).

use super::verdicts::{curve_verdict, describe, TruthSpread, RULES};
use crate::rows::{find_rate, ClaimRow, RateKey, RateRow, NO_SLOPE};
use smoe_experiment::config::ClaimType;
use smoe_experiment::plan::Experiment;
use smoe_metrics::{ClaimKind, SlopeEvidence};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub(crate) fn f2(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "–".into()
    }
}

/// One quantity of a lower-bound experiment: the slope of the worse of the two members' mean
/// losses (upper half of the n grid), and the slope of the separation between the members.
#[derive(Clone, Debug, PartialEq)]
pub struct LowerBoundRow {
    pub experiment: String,
    pub theorem: String,
    pub quantity: String,
    pub exponent: f64,
    pub worst: SlopeEvidence,
    /// Slope of the loss between the two members (how fast the construction lets them merge).
    pub separation_slope: f64,
    /// Largest L2 distance between the members' regression functions times sqrt(n) over the grid.
    pub max_l2_sqrt_n: f64,
}

/// G_bars that are not settled: (experiment, setting, gate name) -> why (see the settling table).
pub type Unsettled = BTreeMap<(String, String, String), String>;

/// The claims: one row per theory entry, fit and estimator, judged on the upper half of the n
/// grid (data/tables/claims.csv, and the rows of [`claims_markdown`]). A row measured against a
/// G_bar that is not settled says why in `gbar_caveat`.
pub fn claim_rows(exps: &[Experiment], rates: &[RateRow], spread: &TruthSpread, unsettled: &Unsettled) -> Vec<ClaimRow> {
    let mut out = Vec::new();
    for exp in exps {
        for st in &exp.settings {
            for f in &st.fits {
                for th in &f.theory {
                    for (est, est_kind) in &exp.estimators {
                        let key = RateKey::paper(exp.id(), &st.name, f.gate, est, th.quantity);
                        let kind = th.claim_kind();
                        let full = find_rate(rates, &key);
                        let cv = full.and_then(|_| curve_verdict(exp, &st.name, f, (est, est_kind), th, rates, spread));
                        let gbar_caveat = match f.target {
                            smoe_experiment::rows::Target::Gbar => unsettled
                                .get(&(exp.id().to_string(), st.name.clone(), f.gate.name().to_string()))
                                .cloned()
                                .unwrap_or_default(),
                            smoe_experiment::rows::Target::Truth => String::new(),
                        };
                        let (e, (truth_sd, truth_draws), verdict) = match &cv {
                            Some(cv) => (cv.evidence, cv.spread.unwrap_or((f64::NAN, 0)), cv.verdict.label().to_string()),
                            None => (
                                SlopeEvidence { slope: f64::NAN, ci_low: f64::NAN, ci_high: f64::NAN, n_min: f64::NAN, n_max: f64::NAN },
                                (f64::NAN, 0),
                                NO_SLOPE.to_string(),
                            ),
                        };
                        out.push(ClaimRow {
                            theorem: th.source.clone(),
                            claim_kind: kind_label(th.claim, kind).to_string(),
                            experiment: exp.id().to_string(),
                            setting: st.name.clone(),
                            gate_fit: f.gate.to_string(),
                            target: f.target.name().to_string(),
                            quantity: th.quantity,
                            estimator: est.clone(),
                            predicted: predicted(kind),
                            exponent: exponent(kind),
                            slope: e.slope,
                            slope_low: e.ci_low,
                            slope_high: e.ci_high,
                            truth_sd,
                            truth_draws,
                            full_slope: full.map_or(f64::NAN, |r| r.slope),
                            verdict,
                            gbar_caveat,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The claims table of figures/claims.md: the rules, then the rows of [`claim_rows`], then the
/// rows of the lower-bound experiments.
pub fn claims_markdown(rows: &[ClaimRow], lower: &[LowerBoundRow]) -> String {
    let mut s = String::new();
    s.push_str(&RULES.describe());
    s.push(' ');
    s.push_str(describe());
    let _ = write!(
        s,
        " A slope is fitted only on the values of n where at least {:.0}% of the fits are usable (degenerate fits, whose Voronoi cells of the target are not all occupied, are left out of the quantities that read the cells): where most fits are degenerate, the mean of the rest is the mean of a selected minority; when fewer than half of the range's values of n (or fewer than {}) are so populated the row says *no slope*.",
        100.0 * crate::analysis::MIN_USABLE_SHARE,
        crate::analysis::MIN_N_VALUES
    );
    s.push_str("\n\n| theorem (NeurIPS numbering) | kind | experiment / setting / fit | quantity | estimator | predicted | upper half: slope [95% CI] | truth spread (sd, draws) | full range: slope | verdict |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        // the columns every row has: claim, kind, where, quantity, estimator, prediction
        let head = format!(
            "| {} | {} | {} / {} / {} fit to {} | {} | {} | {} |",
            r.theorem, r.claim_kind, r.experiment, r.setting, r.gate_fit, r.target, r.quantity, r.estimator, r.predicted
        );
        if r.verdict == NO_SLOPE {
            // no slope: too few values of n with enough usable fits (see rates)
            let _ = writeln!(
                s,
                "{head} – | – | – | **no slope**: too few values of n (upper half) with at least half of their fits usable; degenerate fits in figures/convergence.md |"
            );
            continue;
        }
        let caveat = if r.gbar_caveat.is_empty() { String::new() } else { format!(" (G_bar not settled: {})", r.gbar_caveat) };
        let _ = writeln!(
            s,
            "{head} {} [{}, {}] | {} | {} | **{}**{caveat} |",
            f2(r.slope),
            f2(r.slope_low),
            f2(r.slope_high),
            if r.truth_draws == 0 { "–".to_string() } else { format!("{}, {}", f2(r.truth_sd), r.truth_draws) },
            f2(r.full_slope),
            r.verdict
        );
    }
    if !lower.is_empty() {
        s.push_str("\n**The lower-bound experiments** (truths that move with n along the two-point constructions of the proofs; figures/lower_bound.md). While the members' regression functions stay within about n^-1/2 of each other (last column: sqrt(n) ‖f₁ − f₂‖ far below the noise sd 0.1), the data cannot tell them apart and no estimator's worst case can fall faster than the loss between them (Le Cam). Verdict: *consistent* unless the worst of the two members' mean losses (upper half of the n grid) falls clearly faster than that separation (interval entirely below its slope minus the allowance), which would mean the experiment is broken; whether the construction's separation itself falls no faster than the theorem's n^-1/2 is read off the two slope columns.\n\n| theorem | experiment | quantity | theorem's worst case | separation between the members: slope | worst of pair: slope [95% CI] | max over n of sqrt(n) ‖f₁ − f₂‖ | verdict |\n|---|---|---|---|---|---|---|---|\n");
        for r in lower {
            let v = RULES.judge_lower_bound_experiment(r.separation_slope, &r.worst);
            let _ = writeln!(
                s,
                "| {} | {} | {} | ≥ {} | {} | {} [{}, {}] | {:.2e} | **{}** |",
                r.theorem,
                r.experiment,
                r.quantity,
                f2(r.exponent),
                f2(r.separation_slope),
                f2(r.worst.slope),
                f2(r.worst.ci_low),
                f2(r.worst.ci_high),
                r.max_l2_sqrt_n,
                v.label()
            );
        }
    }
    s
}

fn kind_label(claim: ClaimType, kind: ClaimKind) -> &'static str {
    match claim {
        ClaimType::None => "no theorem",
        _ => kind.label(),
    }
}

/// The exponent a claim of this kind predicts (NaN where it predicts none).
fn exponent(kind: ClaimKind) -> f64 {
    match kind {
        ClaimKind::UpperBound { exponent, .. } | ClaimKind::LowerBound { exponent } => exponent,
        ClaimKind::SlowRate | ClaimKind::NoTheorem => f64::NAN,
    }
}

/// What a claim of this kind predicts, as the table prints it.
fn predicted(kind: ClaimKind) -> String {
    match kind {
        ClaimKind::UpperBound { exponent, log_factor: true } => format!("≤ {} (log factor)", f2(exponent)),
        ClaimKind::UpperBound { exponent, .. } => format!("≤ {}", f2(exponent)),
        ClaimKind::LowerBound { exponent } => format!("worst case ≥ {}", f2(exponent)),
        ClaimKind::SlowRate => "slower than any power".into(),
        ClaimKind::NoTheorem => "–".into(),
    }
}

/// Counts of verdicts in a claims table, for the README's summary line (rows without a slope are
/// not counted).
pub fn verdict_counts(rows: &[ClaimRow]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in rows.iter().filter(|r| r.verdict != NO_SLOPE) {
        *out.entry(r.verdict.clone()).or_insert(0) += 1;
    }
    out
}
