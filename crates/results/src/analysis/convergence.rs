//! Convergence is measured, not assumed: for every least-squares fit (SGD has no convergence
//! test), how it stopped, how long it took, how close to a first-order point it ended, and which
//! walls of Theta it touches; counted per (experiment, setting, gate, estimator).

use smoe_estimator::Termination;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::FitRow;
use smoe_model::Gate;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The share of converged fits the well-posed estimator must reach in every experiment.
pub const TARGET_SHARE: f64 = 0.95;

/// One (setting, gate, estimator) of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvergenceRow {
    pub experiment: String,
    pub setting: String,
    pub gate: Gate,
    pub estimator: String,
    pub fits: usize,
    pub converged: usize,
    pub max_iters: usize,
    /// No step lowers the objective away from a first-order point (line search / damping failed).
    pub stalled: usize,
    pub diverged: usize,
    /// Fits with at least one entry on a wall of Theta.
    pub at_walls: usize,
    /// Fits on each wall: gate intercept low / high, gate slope, expert slope, expert intercept.
    pub walls: [usize; 5],
    /// Fits leaving a Voronoi cell of their target empty.
    pub degenerate: usize,
    pub median_iterations: f64,
    /// Median of projected gradient / the noise's gradient scale (the convergence test's ratio).
    pub median_pg_ratio: f64,
}

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
            let walls = [
                rows.iter().filter(|r| r.active_gate_intercept_lo > 0).count(),
                rows.iter().filter(|r| r.active_gate_intercept_hi > 0).count(),
                rows.iter().filter(|r| r.active_gate_slope > 0).count(),
                rows.iter().filter(|r| r.active_expert_slope > 0).count(),
                rows.iter().filter(|r| r.active_expert_intercept > 0).count(),
            ];
            ConvergenceRow {
                experiment: exp.id().into(),
                setting: exp.settings[si].name.clone(),
                gate: exp.settings[si].fits[fi].gate,
                estimator: exp.estimators[ei].0.clone(),
                fits: rows.len(),
                converged: count(Termination::Converged),
                max_iters: count(Termination::MaxIters),
                stalled: count(Termination::LineSearchFailed),
                diverged: count(Termination::Diverged),
                at_walls: rows.iter().filter(|r| r.active_walls() > 0).count(),
                walls,
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
            r.gate,
            r.estimator,
            r.fits,
            pct(r.converged, r.fits),
            r.max_iters,
            r.stalled,
            r.diverged,
            r.median_iterations,
            r.median_pg_ratio,
            pct(r.at_walls, r.fits),
            r.walls.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", "),
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
