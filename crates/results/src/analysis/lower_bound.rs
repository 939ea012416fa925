//! The lower-bound experiments: a minimax lower bound is a statement about the worst case over a
//! class of truths, so it is tested with truths that move with n along the two-point
//! construction of the proof. Member one is the truth; member two moves towards it as n grows
//! while their regression functions stay within about n^-1/2 of each other, so no estimator can
//! tell them apart; the worse of the two mean losses then cannot fall faster than the bound.

use super::claims::LowerBoundRow;
use super::grouped;
use smoe_experiment::config::{ClaimType, PairMember};
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{FitRow, PairRow};
use smoe_metrics::{ols, summarise, SlopeEvidence};
use std::fmt::Write as _;

/// The two members' mean losses at every n (n ascending) for one quantity and estimator.
fn member_cells(exp: &Experiment, fits: &[FitRow], member: PairMember, quantity: &str) -> Vec<(u64, Vec<f64>)> {
    let Some(si) = exp.settings.iter().position(|s| s.two_point.as_ref().is_some_and(|t| t.member == member)) else { return Vec::new() };
    let name = &exp.settings[si].name;
    grouped(exp, fits)
        .into_iter()
        .find(|g| g.setting == name && g.quantity.to_string() == quantity)
        .map(|g| g.cells().cells.into_iter().map(|c| (c.n as u64, c.losses)).collect())
        .unwrap_or_default()
}

fn upper_slope(points: &[(f64, f64)]) -> f64 {
    let half = &points[points.len() / 2..];
    let (x, y): (Vec<f64>, Vec<f64>) = half.iter().map(|(n, m)| (n.ln(), m.ln())).unzip();
    if x.len() < 2 {
        return f64::NAN;
    }
    ols(&x, &y).1
}

/// The rows of every lower-bound experiment (one per quantity with a lower-bound theory entry);
/// the bootstrap resamples each member's replications within each n, `n_boot` times.
pub fn lower_bound_rows(exp: &Experiment, fits: &[FitRow], pairs: &[PairRow], n_boot: usize) -> Vec<LowerBoundRow> {
    let mut out = Vec::new();
    let Some(st) = exp.settings.iter().find(|s| s.two_point.is_some()) else { return out };
    for th in st.fits.iter().flat_map(|f| f.theory.iter()).filter(|t| t.claim == ClaimType::LowerBound) {
        let q = th.quantity.to_string();
        let (one, two) = (member_cells(exp, fits, PairMember::One, &q), member_cells(exp, fits, PairMember::Two, &q));
        if one.len() != two.len() || one.len() < 2 {
            continue;
        }
        let worst = |a: &[(u64, Vec<f64>)], b: &[(u64, Vec<f64>)]| -> Vec<(f64, f64)> {
            a.iter().zip(b).map(|((n, x), (_, y))| (*n as f64, summarise(x).mean.max(summarise(y).mean))).collect()
        };
        let point = upper_slope(&worst(&one, &two));
        // uniform indices from the experiment's seeded stream (uniform draws on [-1, 1) mapped to
        // an index)
        let mut rng = exp.stream(&[("quantity", &q), ("purpose", "lower_bound_bootstrap")]);
        let mut below = |len: usize| -> usize {
            let u = smoe_model::draw_inputs(1, 1, &mut rng)[0];
            (((u + 1.0) / 2.0 * len as f64) as usize).min(len - 1)
        };
        let mut resample = |c: &[(u64, Vec<f64>)]| -> Vec<(u64, Vec<f64>)> {
            c.iter().map(|(n, v)| (*n, (0..v.len()).map(|_| v[below(v.len())]).collect())).collect()
        };
        let mut boot: Vec<f64> = (0..n_boot)
            .map(|_| {
                let (a, b) = (resample(&one), resample(&two));
                upper_slope(&worst(&a, &b))
            })
            .filter(|v| v.is_finite())
            .collect();
        boot.sort_by(f64::total_cmp);
        let q_at = |p: f64| boot.get(((p * (boot.len().max(1) - 1) as f64).round()) as usize).copied().unwrap_or(f64::NAN);
        let ns: Vec<f64> = one.iter().map(|(n, _)| *n as f64).collect();
        let sep: Vec<(f64, f64)> = pairs.iter().filter(|p| p.quantity.to_string() == q).map(|p| (p.n as f64, p.loss_between)).collect();
        let separation_slope = if sep.len() >= 2 && sep.iter().all(|p| p.1 > 0.0) {
            let (x, y): (Vec<f64>, Vec<f64>) = sep.iter().map(|(n, l)| (n.ln(), l.ln())).unzip();
            ols(&x, &y).1
        } else {
            f64::NAN
        };
        out.push(LowerBoundRow {
            experiment: exp.id().into(),
            theorem: th.source.clone(),
            quantity: q,
            exponent: th.exponent.unwrap_or(f64::NAN),
            worst: SlopeEvidence {
                slope: point,
                ci_low: q_at(0.025),
                ci_high: q_at(0.975),
                n_min: ns[ns.len() / 2],
                n_max: ns[ns.len() - 1],
            },
            separation_slope,
            max_l2_sqrt_n: pairs.iter().map(|p| p.l2_between / p.inv_sqrt_n).fold(0.0, f64::max),
        });
    }
    out
}

/// The per-n table of a lower-bound experiment: both members' mean losses, the worst, the
/// separation between the members and the L2 distance of their regression functions.
pub fn lower_bound_markdown(exp: &Experiment, fits: &[FitRow], pairs: &[PairRow]) -> String {
    let mut s = String::new();
    let Some(st) = exp.settings.iter().find(|s| s.two_point.is_some()) else { return s };
    for kind in st.fits.iter().flat_map(|f| f.losses.iter()) {
        let q = kind.name();
        let (one, two) = (member_cells(exp, fits, PairMember::One, &q), member_cells(exp, fits, PairMember::Two, &q));
        let _ = writeln!(s, "\n**{} / {q}**\n\n| n | member one: mean loss | member two: mean loss | worst of pair | loss between the members | ‖f₁ − f₂‖_L2 | n^-1/2 |\n|---|---|---|---|---|---|---|", exp.id());
        for ((n, a), (_, b)) in one.iter().zip(&two) {
            let p = pairs.iter().find(|p| p.n == *n && p.quantity.to_string() == q);
            let (ma, mb) = (summarise(a).mean, summarise(b).mean);
            let _ = writeln!(
                s,
                "| {n} | {} | {} | {} | {} | {} | {} |",
                sci(ma),
                sci(mb),
                sci(ma.max(mb)),
                p.map_or("–".into(), |p| sci(p.loss_between)),
                p.map_or("–".into(), |p| sci(p.l2_between)),
                p.map_or("–".into(), |p| sci(p.inv_sqrt_n))
            );
        }
    }
    s
}

fn sci(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3e}")
    } else {
        "–".into()
    }
}
