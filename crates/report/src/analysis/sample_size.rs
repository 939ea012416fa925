//! The headline claim: the sample size each gate needs to reach an error eps, on the same data.

use super::{grouped, Results};
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::Quantity;
use smoe_metrics::{sample_size_for, summarise, Cell, SampleSize};
use smoe_model::{seed, Gate};
use std::fmt::Write as _;

/// For every setting fitted with both gates, n(eps) for each gate and its bootstrap interval,
/// for the expert error and the L2 error, over a grid of eps spanning the measured range and
/// one decade below it (extrapolated, flagged).
/// `results` are those of `exps`, in the same order.
pub fn sample_complexity_markdown(exps: &[Experiment], results: &[Results]) -> String {
    let mut s = String::new();
    for (exp, res) in exps.iter().zip(results) {
        if !exp.settings.iter().any(|st| st.has_both_gates()) {
            continue;
        }
        let groups = grouped(exp, &res.fits);
        for st in exp.settings.iter().filter(|st| st.has_both_gates()) {
            for (est, _) in &exp.estimators {
                for q in [Quantity::ExpertErr, Quantity::L2Error] {
                    let cells_of = |gate: Gate| -> Vec<Cell> {
                        groups
                            .iter()
                            .find(|g| g.setting == st.name && g.gate == gate && g.estimator == est && g.quantity == q)
                            .map(|g| g.cells().0)
                            .unwrap_or_default()
                    };
                    let (sig, soft) = (cells_of(Gate::Sigmoid), cells_of(Gate::Softmax));
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
                    let qs = q.to_string();
                    let stream = |g: Gate| {
                        seed::stream(
                            exp.config.seed,
                            &[
                                ("experiment", exp.id()),
                                ("setting", &st.name),
                                ("fit", g.name()),
                                ("estimator", est),
                                ("quantity", &qs),
                                ("purpose", "sample_size"),
                            ],
                        )
                    };
                    let a = sample_size_for(&sig, &eps, exp.config.rates.n_boot, &mut stream(Gate::Sigmoid));
                    let b = sample_size_for(&soft, &eps, exp.config.rates.n_boot, &mut stream(Gate::Softmax));
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
    s
}

/// n(eps) with its interval; a curve that does not fall (or falls so slowly that n(eps) leaves
/// [1, 1e12]) never reaches eps in any useful sense, and is shown as such rather than as a number.
fn show_n(z: &SampleSize) -> String {
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
