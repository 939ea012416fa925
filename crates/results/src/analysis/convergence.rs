//! Convergence is measured, not assumed: for every least-squares fit (SGD has no convergence
//! test), how it stopped, how long it took, how close to a first-order point it ended, and which
//! walls of Theta it touches; counted per (experiment, setting, gate, estimator).

use smoe_estimator::Termination;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::FitRow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The share of converged fits the well-posed estimator must reach in every experiment.
pub const TARGET_SHARE: f64 = 0.95;

pub use crate::rows::ConvergenceRow;

/// Median of the finite values (the mean of the middle two for an even count); NaN if none.
pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The convergence rows of an experiment's least-squares fits (one row per fit: the first loss row).
pub fn convergence(exp: &Experiment, fits: &[FitRow]) -> Vec<ConvergenceRow> {
    let mut groups: BTreeMap<(usize, usize, usize), Vec<&FitRow>> = BTreeMap::new();
    for (si, s) in exp.settings.iter().enumerate() {
        for (fi, f) in s.fits.iter().enumerate() {
            for (ei, (name, est)) in exp.estimators.iter().enumerate() {
                if est.max_iters().is_none() {
                    continue;
                }
                let rows = fits
                    .iter()
                    .filter(|r| r.setting == s.name && r.gate_fit == f.gate && &r.estimator == name && r.loss_name == f.losses[0]);
                groups.entry((si, fi, ei)).or_default().extend(rows);
            }
        }
    }
    groups
        .into_iter()
        .map(|((si, fi, ei), rows)| {
            let count = |t: Termination| rows.iter().filter(|r| r.termination == t).count();
            let on = |wall: fn(&FitRow) -> u32| rows.iter().filter(|r| wall(r) > 0).count();
            ConvergenceRow {
                experiment: exp.id().into(),
                setting: exp.settings[si].name.clone(),
                gate_fit: exp.settings[si].fits[fi].gate.name().to_string(),
                estimator: exp.estimators[ei].0.clone(),
                fits: rows.len(),
                converged: count(Termination::Converged),
                max_iters: count(Termination::MaxIters),
                stalled: count(Termination::LineSearchFailed),
                diverged: count(Termination::Diverged),
                at_walls: rows.iter().filter(|r| r.active_walls() > 0).count(),
                walls_gate_intercept_low: on(|r| r.active_gate_intercept_lo),
                walls_gate_intercept_high: on(|r| r.active_gate_intercept_hi),
                walls_gate_slope: on(|r| r.active_gate_slope),
                walls_expert_slope: on(|r| r.active_expert_slope),
                walls_expert_intercept: on(|r| r.active_expert_intercept),
                degenerate: rows.iter().filter(|r| r.empty_cells > 0).count(),
                median_iterations: median(rows.iter().map(|r| r.iterations as f64).collect()),
                median_pg_ratio: median(rows.iter().map(|r| r.proj_grad_norm / r.noise_grad).collect()),
            }
        })
        .collect()
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.1}%", 100.0 * a as f64 / b as f64)
    }
}

/// The convergence table: one row per (experiment, setting, gate, estimator), a total per
/// experiment against the target share, and the walls reached.
///
/// `stalled` holds each experiment's analysed stalls ([`crate::stalls`]): the totals also count the
/// stalled fits that are Clarke stationary within the tolerance, and their table follows.
/// `budgets` gives each experiment's iteration budget as shown in the totals (with how its budget
/// was extended, if it was).
pub fn convergence_markdown(
    rows: &[ConvergenceRow],
    stalled: &[(String, Vec<crate::stalls::StallRow>)],
    budgets: &BTreeMap<String, String>,
) -> String {
    let mut s = format!(
        "A least-squares fit *meets the criterion* when it stops `converged`: its objective has settled (relative decrease over the last five accepted steps at most `tol_rel_cost`) and its projected gradient on Theta is at most `tol_grad` times the noise's gradient scale sqrt(2 f tr(H) / n) (docs/PROTOCOL.md 3c). Target: at least {:.0}% of the fits of every experiment. *max iters*: budget exhausted; *stalled*: no step lowers the objective although the projected gradient is above the tolerance; *on a wall*: at least one parameter on the boundary of Theta (walls: gate intercept low / high, gate slope, expert slope, expert intercept); *degenerate*: a Voronoi cell of the target left empty (left out of the cell-based quantities, counted in summary.csv).\n\n",
        100.0 * TARGET_SHARE
    );
    s.push_str("| experiment / setting / fit | estimator | fits | meets criterion | max iters | stalled | diverged | median iterations | median projected gradient / noise | on a wall | walls (β0 low, β0 high, β1, a, b) | degenerate |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    let mut totals: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in rows {
        let t = totals.entry(r.experiment.as_str()).or_default();
        t.0 += r.converged;
        t.1 += r.fits;
        let _ = writeln!(
            s,
            "| {} / {} / {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.3} | {} | {} | {} |",
            r.experiment,
            r.setting,
            r.gate_fit,
            r.estimator,
            r.fits,
            pct(r.converged, r.fits),
            r.max_iters,
            r.stalled,
            r.diverged,
            r.median_iterations,
            r.median_pg_ratio,
            pct(r.at_walls, r.fits),
            r.walls().map(|w| w.to_string()).join(", "),
            r.degenerate
        );
    }
    s.push_str("\n| experiment | iteration budget | fits | meets criterion | target met | stalled at a Clarke-stationary kink | meets criterion or Clarke stationary |\n|---|---|---|---|---|---|---|\n");
    let met = |c: usize, f: usize| if f > 0 && c as f64 >= TARGET_SHARE * f as f64 { "yes" } else { "**no**" };
    for (e, (c, f)) in totals {
        let kinks = stalled.iter().filter(|(x, _)| x == e).flat_map(|(_, r)| r).filter(|r| r.clarke_stationary()).count();
        let budget = budgets.get(e).map(String::as_str).unwrap_or("–");
        let _ = writeln!(
            s,
            "| {e} | {budget} | {f} | {} | {} | {kinks} | {} ({}) |",
            pct(c, f),
            met(c, f),
            pct(c + kinks, f),
            met(c + kinks, f)
        );
    }
    s.push_str(&crate::stalls::stalls_markdown(stalled));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row prints its five walls in the order of the markdown's `walls (β0 low, β0 high, β1, a,
    /// b)` column, and its counts as percentages of its fits.
    #[test]
    fn the_row_prints_each_wall_in_order() {
        let r = ConvergenceRow {
            experiment: "E1".into(),
            setting: "linear".into(),
            gate_fit: "sigmoid".into(),
            estimator: "lse".into(),
            fits: 200,
            converged: 198,
            max_iters: 2,
            stalled: 0,
            diverged: 0,
            at_walls: 142,
            walls_gate_intercept_low: 4,
            walls_gate_intercept_high: 3,
            walls_gate_slope: 134,
            walls_expert_slope: 34,
            walls_expert_intercept: 33,
            degenerate: 179,
            median_iterations: 276.5,
            median_pg_ratio: 0.0016,
        };
        assert_eq!(r.walls(), [4, 3, 134, 34, 33]);
        let md = convergence_markdown(&[r], &[], &BTreeMap::new());
        assert!(
            md.contains("| E1 / linear / sigmoid | lse | 200 | 99.0% | 2 | 0 | 0 | 276 | 0.002 | 71.0% | 4, 3, 134, 34, 33 | 179 |"),
            "{md}"
        );
    }
}
