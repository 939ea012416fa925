//! Replication against the published numbers: every curve the paper reports beside ours, by the
//! estimator of the paper (SGD, as first read), by the converged least-squares fit, and by the
//! closest candidate of the protocol search; with the statistical floor beside them.

use super::claims::f2;
use crate::paper::PaperCurve;
use crate::rows::{find_rate, NRange, RateKey, RateRow, SummaryRow};
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{FloorRow, Quantity};
use smoe_metrics::RateMethod;
use std::fmt::Write as _;

/// An exponent within this distance of the paper's is replicated.
pub const EXPONENT_TOL: f64 = 0.1;
/// A magnitude within this factor of the paper's (both ends) is replicated.
pub const MAGNITUDE_FACTOR: f64 = 2.0;
/// A protocol candidate explains a curve when its distance to it is at most this (decades).
pub const EXPLAINS: f64 = 0.2;

/// The rule of the status column, in words.
pub fn status_rule() -> String {
    format!(
        "Status of a curve: *replicated* when the slope of log(mean loss) on log(n) over the full n range (the paper's fit) is within {EXPONENT_TOL} of the paper's exponent and the mean loss is within a factor {MAGNITUDE_FACTOR} of the paper's at both n = 1e3 and n = 1e5 (where the paper's magnitudes are available; where they are not, the exponent alone decides); *partially* when only the exponent matches; *not replicated* otherwise. Distance to the paper's curve (for choosing a protocol candidate): the mean absolute gap, in decades, between our fitted line and the paper's line over log10 n in [3, 5]; where the paper gives only an exponent, half the exponent gap (the gap of two lines that meet at n = 1e4). A candidate *explains* a curve when its distance is at most {EXPLAINS} decades. Our rows read the usable fits (degenerate fits, whose Voronoi cells of the target are not all occupied, left out; no slope where fewer than half of the fits are usable at most n); where some fits are degenerate, a row marked *all fits, degenerate included* reads every fit, as the paper's means do (its Voronoi losses are defined with empty cells too), with the slope of log(mean) on log(n) by least squares."
    )
}

/// One of our curves measured against a paper curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Ours {
    pub experiment: String,
    pub estimator: String,
    pub quantity: String,
    pub slope: f64,
    pub upper_slope: f64,
    pub intercept: f64,
    pub at_min: f64,
    pub at_max: f64,
    /// Read over every fit, degenerate ones included (summary.csv's `mean_all`; slopes by least
    /// squares of log mean on log n, as the paper fits its lines), not over the usable ones.
    pub all_fits: bool,
}

impl Ours {
    /// The mean absolute gap in decades between our fitted line and the paper's (see [`status_rule`]).
    pub fn distance(&self, p: &PaperCurve) -> f64 {
        match p.coefficient {
            Some(c) => {
                let (a1, s1) = (self.intercept / std::f64::consts::LN_10, self.slope);
                let (a2, s2) = (c.log10(), p.exponent);
                (0..=200).map(|i| 3.0 + 2.0 * i as f64 / 200.0).map(|u| (a1 + s1 * u - a2 - s2 * u).abs()).sum::<f64>() / 201.0
            }
            None => (self.slope - p.exponent).abs() / 2.0,
        }
    }

    pub fn status(&self, p: &PaperCurve) -> &'static str {
        if !self.slope.is_finite() {
            return "no slope (most fits degenerate)";
        }
        let exponent_ok = (self.slope - p.exponent).abs() <= EXPONENT_TOL;
        let within = |ours: f64, theirs: Option<f64>| theirs.is_none_or(|t| ours > 0.0 && (ours / t).max(t / ours) <= MAGNITUDE_FACTOR);
        let magnitude_ok = within(self.at_min, p.at_1e3) && within(self.at_max, p.at_1e5);
        match (exponent_ok, magnitude_ok) {
            (true, true) => "replicated",
            (true, false) => "partially",
            _ => "not replicated",
        }
    }
}

/// Our curves of an experiment for a paper curve: every estimator and every reading of its loss.
pub fn ours(exp: &Experiment, sum: &[SummaryRow], rates: &[RateRow], p: &PaperCurve, quantity_of: impl Fn(&str) -> bool) -> Vec<Ours> {
    let mut out = Vec::new();
    let Some(st) = exp.settings.iter().find(|s| s.name == p.setting) else { return out };
    let Some(f) = st.fits.iter().find(|f| f.gate == p.gate_fit) else { return out };
    let qs: Vec<Quantity> = f.losses.iter().map(|&l| Quantity::Loss(l)).chain(f.losses.iter().map(|&l| Quantity::VsStart(l))).collect();
    for (est, _) in &exp.estimators {
        for q in qs.iter().filter(|q| quantity_of(&q.to_string())) {
            let key = RateKey::paper(exp.id(), &st.name, f.gate, est, *q);
            // no rate row: too few values of n with enough usable fits; the means still show
            let full = find_rate(rates, &key);
            let upper = find_rate(rates, &key.with(RateMethod::LogMean, NRange::UpperHalf)).map_or(f64::NAN, |r| r.slope);
            let cells: Vec<&SummaryRow> =
                sum.iter().filter(|r| r.setting == st.name && r.gate_fit == f.gate && &r.estimator == est && r.quantity == *q).collect();
            let at = |n: Option<u64>| n.and_then(|n| cells.iter().find(|r| r.n == n)).map_or(f64::NAN, |r| r.mean);
            out.push(Ours {
                experiment: exp.id().into(),
                estimator: est.clone(),
                quantity: q.to_string(),
                slope: full.map_or(f64::NAN, |r| r.slope),
                upper_slope: upper,
                intercept: full.map_or(f64::NAN, |r| r.intercept),
                at_min: at(exp.n_values.first().copied()),
                at_max: at(exp.n_values.last().copied()),
                all_fits: false,
            });
            // where degenerate fits were left out, the paper's reading beside it: every fit
            if cells.iter().any(|r| r.degenerate > 0) {
                let pts: Vec<(f64, f64)> = cells
                    .iter()
                    .filter(|r| r.mean_all.is_finite() && r.mean_all > 0.0)
                    .map(|r| ((r.n as f64).ln(), r.mean_all.ln()))
                    .collect();
                let half = exp.n_values.get(exp.n_values.len() / 2).copied().unwrap_or(0) as f64;
                let upper_pts: Vec<(f64, f64)> = pts.iter().copied().filter(|p| p.0 >= half.ln() - 1e-9).collect();
                let (intercept, slope) = ols(&pts);
                let at_all = |n: Option<u64>| n.and_then(|n| cells.iter().find(|r| r.n == n)).map_or(f64::NAN, |r| r.mean_all);
                out.push(Ours {
                    experiment: exp.id().into(),
                    estimator: est.clone(),
                    quantity: q.to_string(),
                    slope,
                    upper_slope: ols(&upper_pts).1,
                    intercept,
                    at_min: at_all(exp.n_values.first().copied()),
                    at_max: at_all(exp.n_values.last().copied()),
                    all_fits: true,
                });
            }
        }
    }
    out
}

/// Least squares of y on x (smoe_metrics' OLS): (intercept, slope); NaN with too few points.
fn ols(pts: &[(f64, f64)]) -> (f64, f64) {
    if pts.len() < crate::analysis::MIN_N_VALUES {
        return (f64::NAN, f64::NAN);
    }
    let (x, y): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
    let (intercept, slope, _) = smoe_metrics::ols(&x, &y);
    (intercept, slope)
}

fn sci(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2e}")
    } else {
        "–".into()
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or("–".into(), sci)
}

/// The floor of a paper curve's loss at the smallest and largest n, from the experiment's floor.csv.
pub fn floor_at(floors: &[FloorRow], p: &PaperCurve, quantity: &str, n_min: u64, n_max: u64) -> (f64, f64) {
    let at = |n: u64| {
        floors
            .iter()
            .find(|f| f.setting == p.setting && f.gate_fit == p.gate_fit && f.quantity.to_string() == quantity && f.n == n)
            .map_or(f64::NAN, |f| f.floor_mean)
    };
    (at(n_min), at(n_max))
}

/// The side-by-side table of figures/replication.md: one block of rows per paper curve.
pub fn replication_markdown(
    curves: &[PaperCurve],
    main: &[(&Experiment, &[SummaryRow], &[RateRow], &[FloorRow])],
    search: &[(&Experiment, &[SummaryRow], &[RateRow])],
) -> String {
    let mut s = status_rule();
    s.push_str("\n\n| paper curve (source) | paper: exponent, mean at 1e3 / 1e5 | ours | slope full / upper half | mean at 1e3 / 1e5 | Cramér-Rao floor at 1e3 / 1e5 | distance (decades) | status |\n|---|---|---|---|---|---|---|---|\n");
    for p in curves {
        let paper = format!("{} ({}), {} / {}", f2(p.exponent), p.legend, opt(p.at_1e3), opt(p.at_1e5));
        let src = format!("{}: {} {} {}", p.id, p.version, p.figure, p.panel);
        let mut rows = Vec::new();
        for (exp, sum, rates, floors) in main.iter().filter(|(e, ..)| e.id() == p.experiment) {
            for o in ours(exp, sum, rates, p, |q| p.matches_quantity(q)) {
                let (f1, f2_) = floor_at(floors, p, &o.quantity, exp.n_values[0], *exp.n_values.last().expect("n grid"));
                rows.push((format!("{} `{}`, {}{}", o.experiment, o.estimator, o.quantity, all_label(&o)), o.clone(), (f1, f2_)));
            }
        }
        if let Some(best) = best_candidate(p, search) {
            rows.push((
                format!("best protocol candidate: {} `{}`, {}{}", best.experiment, best.estimator, best.quantity, all_label(&best)),
                best,
                (f64::NAN, f64::NAN),
            ));
        }
        for (label, o, (f1, f2_)) in rows {
            let _ = writeln!(
                s,
                "| {src} | {paper} | {label} | {} / {} | {} / {} | {} / {} | {} | **{}** |",
                f2(o.slope),
                f2(o.upper_slope),
                sci(o.at_min),
                sci(o.at_max),
                sci(f1),
                sci(f2_),
                f2(o.distance(p)),
                o.status(p)
            );
        }
    }
    s
}

fn all_label(o: &Ours) -> &'static str {
    if o.all_fits {
        " (all fits, degenerate included)"
    } else {
        ""
    }
}

/// The protocol candidate closest to a paper curve (over candidates and both targets).
pub fn best_candidate(p: &PaperCurve, search: &[(&Experiment, &[SummaryRow], &[RateRow])]) -> Option<Ours> {
    candidates(p, search).into_iter().min_by(|a, b| a.distance(p).total_cmp(&b.distance(p)))
}

/// Every candidate of the protocol search of a paper curve's family, scored against the fit's
/// target and, for a curve whose target the paper leaves open (G_bar), against the split start.
pub fn candidates(p: &PaperCurve, search: &[(&Experiment, &[SummaryRow], &[RateRow])]) -> Vec<Ours> {
    let mut out = Vec::new();
    for (exp, sum, rates) in search.iter().filter(|(e, ..)| e.stream_key() == p.experiment) {
        out.extend(
            ours(exp, sum, rates, p, |q| match q.strip_prefix("vs_start:") {
                Some(l) => p.target == "G_bar" && p.matches_quantity(l),
                None => p.matches_quantity(q),
            })
            .into_iter()
            .filter(|o| o.slope.is_finite()),
        );
    }
    out
}

/// figures/protocol_search.md: per paper curve, the ten candidates closest to it, and which single
/// candidate comes closest to all curves at once.
pub fn protocol_search_markdown(curves: &[PaperCurve], search: &[(&Experiment, &[SummaryRow], &[RateRow])]) -> String {
    let mut s = String::new();
    let mut per_candidate: std::collections::BTreeMap<String, Vec<f64>> = std::collections::BTreeMap::new();
    for p in curves {
        let mut c = candidates(p, search);
        if c.is_empty() {
            continue;
        }
        c.sort_by(|a, b| a.distance(p).total_cmp(&b.distance(p)));
        let _ = writeln!(
            s,
            "\n**{}** ({} {} {}; paper: {}, mean {} at 1e3, {} at 1e5)\n\n| candidate | scored against | loss | slope full / upper half | mean at 1e3 / 1e5 | distance (decades) | explains it |\n|---|---|---|---|---|---|---|",
            p.id,
            p.version,
            p.figure,
            p.panel,
            p.legend,
            opt(p.at_1e3),
            opt(p.at_1e5)
        );
        for o in c.iter().take(10) {
            let target = if o.quantity.starts_with("vs_start:") { "split start" } else { &p.target };
            let _ = writeln!(
                s,
                "| `{}` | {} | {}{} | {} / {} | {} / {} | {} | {} |",
                o.estimator,
                target,
                o.quantity.strip_prefix("vs_start:").unwrap_or(&o.quantity),
                all_label(o),
                f2(o.slope),
                f2(o.upper_slope),
                sci(o.at_min),
                sci(o.at_max),
                f2(o.distance(p)),
                if o.distance(p) <= EXPLAINS { "yes" } else { "no" }
            );
        }
        // per candidate, its best reading of this curve (loss variant, and for a curve against
        // G_bar the target or the split start)
        let mut best_here: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
        for o in &c {
            let e = best_here.entry(o.estimator.clone()).or_insert(f64::INFINITY);
            *e = e.min(o.distance(p));
        }
        for (k, d) in best_here {
            per_candidate.entry(k).or_default().push(d);
        }
    }
    let mut overall: Vec<(String, f64, usize, usize)> = per_candidate
        .into_iter()
        .map(|(k, v)| (k, v.iter().cloned().fold(0.0, f64::max), v.iter().filter(|d| **d <= EXPLAINS).count(), v.len()))
        .collect();
    // most curves scored first, then the smallest largest distance
    overall.sort_by(|a, b| b.3.cmp(&a.3).then(a.1.total_cmp(&b.1)));
    s.push_str("\n**One candidate for every curve?** For each candidate, its best reading of each curve (loss variant; for a curve against G_bar, the target or the split start), then the largest distance over the curves it can be scored on; candidates scored on the most curves first, then best first:\n\n| candidate | curves | explained (distance ≤ 0.2) | largest distance (decades) |\n|---|---|---|---|\n");
    for (k, worst, explained, total) in overall.iter().take(10) {
        let _ = writeln!(s, "| `{k}` | {total} | {explained} | {} |", f2(*worst));
    }
    s
}
