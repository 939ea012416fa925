//! Replication against the published numbers: every curve the paper reports beside ours, by the
//! estimator of the paper (SGD, as first read), by the converged least-squares fit, and by the
//! closest candidate of the protocol search; with the statistical floor beside them.

use super::claims::f2;
use crate::paper::PaperCurve;
use crate::rows::{find_rate, NRange, RateKey, RateRow, SummaryRow};
use smoe_estimator::InitNoise;
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
        "Status of a curve: *replicated* when the slope of log(mean loss) on log(n) over the full n range (the paper's fit) is within {EXPONENT_TOL} of the paper's exponent and the mean loss is within a factor {MAGNITUDE_FACTOR} of the paper's at both n = 1e3 and n = 1e5 (where the paper's magnitudes are available; where they are not, the exponent alone decides, and a flat curve, whose slope interval contains 0, does not match a falling exponent); *partially* when only the exponent matches; *not replicated* otherwise. Distance to the paper's curve (for choosing a protocol candidate): the mean absolute gap, in decades, between our fitted line and the paper's line over log10 n in [3, 5]; where the paper gives only an exponent, half the exponent gap (the gap of two lines that meet at n = 1e4). A candidate *explains* a curve when its distance is at most {EXPLAINS} decades. Our rows read the usable fits (degenerate fits, whose Voronoi cells of the target are not all occupied, left out; no slope where fewer than half of the fits are usable at most n); where some fits are degenerate, a row marked *all fits, degenerate included* reads every fit, as the paper's means do (its Voronoi losses are defined with empty cells too), with the slope of log(mean) on log(n) by least squares."
    )
}

/// One of our curves measured against a paper curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Ours {
    pub experiment: String,
    pub estimator: String,
    pub quantity: String,
    pub slope: f64,
    /// The bootstrap 95% interval of the full-range slope (NaN for an all-fits reading, whose
    /// slope is a plain least-squares line).
    pub ci_low: f64,
    pub ci_high: f64,
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

    /// Where the paper gives only an exponent, and that exponent falls: whether our curve is flat
    /// (the interval of its full-range slope contains 0). Such a curve cannot replicate a fall,
    /// however close its point slope is to a small exponent.
    pub fn flat_against_falling(&self, p: &PaperCurve) -> bool {
        p.coefficient.is_none() && p.exponent < 0.0 && self.ci_low <= 0.0 && self.ci_high >= 0.0
    }

    pub fn status(&self, p: &PaperCurve) -> &'static str {
        if !self.slope.is_finite() {
            return "no slope (most fits degenerate)";
        }
        let exponent_ok = (self.slope - p.exponent).abs() <= EXPONENT_TOL && !self.flat_against_falling(p);
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
                ci_low: full.map_or(f64::NAN, |r| r.ci_low),
                ci_high: full.map_or(f64::NAN, |r| r.ci_high),
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
                    ci_low: f64::NAN,
                    ci_high: f64::NAN,
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

/// One paper curve in the summary at the top of figures/replication.md.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveSummary {
    /// The paper curve's id (workflow/paper/reported.csv).
    pub curve: String,
    /// The status of the estimator of record's reading ([`Ours::status`]); "no curve" when the
    /// experiment of the curve is not among ours.
    pub status: &'static str,
    /// The full-range slope of that reading (NaN without one).
    pub lse_slope: f64,
    /// The reading itself: the estimator of record's loss variant closest to the paper's curve.
    pub reading: Option<Ours>,
    /// How many of its readings (loss variants of the paper's loss) the estimator of record has.
    pub readings: usize,
}

/// Per paper curve, the estimator of record (the least-squares estimator over Theta, `lse`,
/// recognised by its type: [`super::is_theorems_estimator`]) against the paper: the reading of
/// the paper's loss (over the usable fits) closest to the paper's curve, its status and its
/// full-range slope. One entry per curve, in the order of `curves`.
pub fn curve_summaries(curves: &[PaperCurve], main: &[(&Experiment, &[SummaryRow], &[RateRow], &[FloorRow])]) -> Vec<CurveSummary> {
    curves
        .iter()
        .map(|p| {
            let mut rows = Vec::new();
            for (exp, sum, rates, _) in main.iter().filter(|(e, ..)| e.id() == p.experiment) {
                let of_record: Vec<&str> =
                    exp.estimators.iter().filter(|(_, e)| super::is_theorems_estimator(e)).map(|(n, _)| n.as_str()).collect();
                let record = of_record.first().copied();
                rows.extend(
                    ours(exp, sum, rates, p, |q| p.matches_quantity(q))
                        .into_iter()
                        .filter(|o| !o.all_fits && Some(o.estimator.as_str()) == record),
                );
            }
            let readings = rows.len();
            let reading = rows
                .iter()
                .filter(|o| o.slope.is_finite())
                .min_by(|a, b| a.distance(p).total_cmp(&b.distance(p)))
                .or(rows.first())
                .cloned();
            CurveSummary {
                curve: p.id.clone(),
                status: reading.as_ref().map_or("no curve", |o| o.status(p)),
                lse_slope: reading.as_ref().map_or(f64::NAN, |o| o.slope),
                reading,
                readings,
            }
        })
        .collect()
}

/// The one-line reason of a summary row.
fn reason(o: &Ours, p: &PaperCurve) -> String {
    if !o.slope.is_finite() {
        return "no slope: fewer than half of the fits usable at most n".into();
    }
    if o.flat_against_falling(p) {
        return format!("flat: slope interval [{}, {}] contains 0, the paper's curve falls", f2(o.ci_low), f2(o.ci_high));
    }
    let gap = o.slope - p.exponent;
    if gap.abs() > EXPONENT_TOL {
        return format!("slope {} against {} (gap {:+.2}, more than {EXPONENT_TOL})", f2(o.slope), f2(p.exponent), gap);
    }
    let factor = |ours: f64, theirs: Option<f64>| theirs.filter(|t| *t > 0.0 && ours > 0.0).map(|t| (ours / t).max(t / ours));
    match (factor(o.at_min, p.at_1e3), factor(o.at_max, p.at_1e5)) {
        (None, None) if p.at_1e3.is_none() && p.at_1e5.is_none() => {
            format!("slope {} within {EXPONENT_TOL} of {}; the paper gives no magnitudes", f2(o.slope), f2(p.exponent))
        }
        (a, b) => format!(
            "slope {} within {EXPONENT_TOL} of {}; mean off by a factor {} at 1e3, {} at 1e5 (allowed {MAGNITUDE_FACTOR})",
            f2(o.slope),
            f2(p.exponent),
            a.map_or("–".into(), f2),
            b.map_or("–".into(), f2)
        ),
    }
}

/// The anchor of a paper curve's rows in the long table.
fn anchor(p: &PaperCurve) -> String {
    format!("curve-{}", p.id.replace('_', "-"))
}

/// The summary at the top of figures/replication.md: one row per paper curve, the estimator of
/// record against the paper, with a link to the curve's rows in the long table.
pub fn summary_markdown(curves: &[PaperCurve], summaries: &[CurveSummary]) -> String {
    let mut s = String::from("| paper curve | paper: exponent, mean at 1e3 / 1e5 | ours (least squares, `lse`) | slope (full range) | status | why |\n|---|---|---|---|---|---|\n");
    for (p, c) in curves.iter().zip(summaries) {
        let (ours, why) = match &c.reading {
            Some(o) => (
                format!(
                    "{} {}{}",
                    o.experiment,
                    o.quantity,
                    if c.readings > 1 { format!(" (closest of {} readings)", c.readings) } else { String::new() }
                ),
                reason(o, p),
            ),
            None => ("–".into(), "no experiment of ours for this curve".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} ({}), {} / {} | {ours} | {} | **{}** | {why}; [rows](#{}) |",
            p.id,
            f2(p.exponent),
            p.legend,
            opt(p.at_1e3),
            opt(p.at_1e5),
            f2(c.lse_slope),
            c.status,
            anchor(p)
        );
    }
    s
}

/// figures/replication.md: the rule, the summary of the estimator of record by paper curve, then
/// the side-by-side table (one block of rows per paper curve: every estimator and reading, and
/// the closest protocol candidate with how many readings it was chosen from).
pub fn replication_markdown(
    curves: &[PaperCurve],
    main: &[(&Experiment, &[SummaryRow], &[RateRow], &[FloorRow])],
    search: &[(&Experiment, &[SummaryRow], &[RateRow])],
) -> String {
    let mut s = status_rule();
    s.push_str("\n\n**Summary.** The estimator the theorems are about (least squares over Theta, `lse`), one row per curve of the paper; where several of our losses read the paper's (D2 with each r, the two softmax losses), the closest to the paper's curve is shown and the count says how many were tried.\n\n");
    let summaries = curve_summaries(curves, main);
    s.push_str(&summary_markdown(curves, &summaries));
    s.push_str("\n**Every reading.** Each estimator and each reading of the paper's loss, and the protocol candidate closest to the paper's curve: it is the best of every reading of every candidate of the protocol search (the count in its row), so its distance is a minimum over many tries, not the distance of one protocol fixed in advance.\n\n| paper curve (source) | paper: exponent, mean at 1e3 / 1e5 | ours | slope full / upper half | mean at 1e3 / 1e5 | Cramér-Rao floor at 1e3 / 1e5 | distance (decades) | status |\n|---|---|---|---|---|---|---|---|\n");
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
        let tried = candidates(p, search);
        let protocols = tried.iter().map(|o| o.estimator.as_str()).collect::<std::collections::BTreeSet<_>>().len();
        if let Some(best) = best_candidate(p, search) {
            rows.push((
                format!(
                    "best protocol candidate (closest of {} readings: {protocols} candidates, each loss variant and target): {} `{}`, {}{}",
                    tried.len(),
                    best.experiment,
                    best.estimator,
                    best.quantity,
                    all_label(&best)
                ),
                best,
                (f64::NAN, f64::NAN),
            ));
        }
        for (i, (label, o, (f1, f2_))) in rows.into_iter().enumerate() {
            // the summary links to the first row of each curve
            let here = if i == 0 { format!("<a id=\"{}\"></a>", anchor(p)) } else { String::new() };
            let _ = writeln!(
                s,
                "| {here}{src} | {paper} | {label} | {} / {} | {} / {} | {} / {} | {} | **{}** |",
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
    s.push_str(&yardstick_markdown(curves, main, search));
    s.push_str(&oracle_markdown(curves, &summaries, main));
    s
}

/// The experiments of `exp`'s family (same truth and data) whose estimator of record starts at
/// the split truth itself, with no noise: the oracle start of a parameter loss.
pub fn oracle_members<'a>(
    exp: &Experiment,
    main: &'a [(&'a Experiment, &'a [SummaryRow], &'a [RateRow], &'a [FloorRow])],
) -> Vec<&'a (&'a Experiment, &'a [SummaryRow], &'a [RateRow], &'a [FloorRow])> {
    let Some(family) = exp.config.family.as_deref() else { return Vec::new() };
    main.iter()
        .filter(|(e, ..)| {
            e.id() != exp.id()
                && e.config.family.as_deref() == Some(family)
                && e.estimators
                    .iter()
                    .zip(&e.inits)
                    .any(|((_, est), init)| super::is_theorems_estimator(est) && init.params().noise == InitNoise::None)
        })
        .collect()
}

/// The section of figures/replication.md that sets each parameter loss of the estimator of record
/// beside the same estimator started at the split truth itself (an oracle start no estimator has):
/// how small the loss gets at n when the optimiser is handed the answer, on the same data.
pub fn oracle_markdown(
    curves: &[PaperCurve],
    summaries: &[CurveSummary],
    main: &[(&Experiment, &[SummaryRow], &[RateRow], &[FloorRow])],
) -> String {
    let mut rows = String::new();
    for (p, c) in curves.iter().zip(summaries) {
        let Some(reading) = &c.reading else { continue };
        let Some((exp, ..)) = main.iter().find(|(e, ..)| e.id() == p.experiment) else { continue };
        for (oracle, sum, rates, _) in oracle_members(exp, main) {
            let record: Option<&str> = oracle.estimators.iter().find(|(_, e)| super::is_theorems_estimator(e)).map(|(n, _)| n.as_str());
            let Some(o) = ours(oracle, sum, rates, p, |q| q == reading.quantity)
                .into_iter()
                .find(|o| !o.all_fits && Some(o.estimator.as_str()) == record)
            else {
                continue;
            };
            let _ = writeln!(
                rows,
                "| {} | {} | {} / {} | {} | {} | {} / {} | {} | {} |",
                p.id,
                reading.quantity,
                sci(reading.at_min),
                sci(reading.at_max),
                f2(reading.slope),
                oracle.id(),
                sci(o.at_min),
                sci(o.at_max),
                f2(o.slope),
                f2(reading.at_max / o.at_max)
            );
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "\n**An oracle start for the parameter losses.** No regular-model bound holds for a Voronoi loss of a singular model (see above), so the parameter losses get an empirical yardstick instead: the same least-squares fit on the same data, started at the split truth itself with no noise (the sensitivity experiment of the same family). It is not an estimator anyone can run, and for an over-specified fit it is one particular start: the copies of the split atom begin identical and stay fused (docs/PROTOCOL.md 8). What it shows is how much of a loss is the landscape's (where the optimiser goes from a start near the truth) rather than the sample's. Means over the fits that are not degenerate, as in the summary.\n\n| paper curve | loss (the summary's reading) | `lse`: mean at the smallest / largest n (1e3 / 1e5 in E1) | slope | oracle start | mean at the smallest / largest n | slope | `lse` / oracle at the largest n |\n|---|---|---|---|---|---|---|---|\n{rows}"
    )
}

/// The parametric yardstick of the regression error at n: sqrt(noise variance * p / n), p the
/// fitted parameters (k atoms of 2d + 2 each, both gates).
pub fn yardstick(exp: &Experiment, n: u64) -> f64 {
    let p = exp.config.k * (2 * exp.config.d + 2);
    (exp.config.noise_var * p as f64 / n as f64).sqrt()
}

/// The mean L2 error to the truth of one (setting, fit, estimator) at n, from summary.csv.
fn l2_at(sum: &[SummaryRow], p: &PaperCurve, estimator: &str, n: u64) -> f64 {
    sum.iter()
        .find(|r| {
            r.setting == p.setting && r.gate_fit == p.gate_fit && r.estimator == estimator && r.quantity == Quantity::L2ToTruth && r.n == n
        })
        .map_or(f64::NAN, |r| r.mean)
}

/// The section of figures/replication.md that sets the regression error of our fits and of the
/// protocol candidate closest to each curve beside the parametric yardstick sqrt(sigma^2 p / n).
pub fn yardstick_markdown(
    curves: &[PaperCurve],
    main: &[(&Experiment, &[SummaryRow], &[RateRow], &[FloorRow])],
    search: &[(&Experiment, &[SummaryRow], &[RateRow])],
) -> String {
    let mut s = String::from("\n**A yardstick that needs no regularity of the loss.** The Cramér-Rao floor above bounds an unbiased estimator of a regular model's parameters; this model is singular (directions the data cannot see, floor.csv), so the floor is a reference, not a bound, and the least-squares fit itself lies below it in places (E3's softmax fits). The regression function has no such ambiguity: for least squares in a model with p parameters the mean squared L2 error is about sigma^2 p / n (p_eff / n where directions are not identified), so sqrt(sigma^2 p / n) is the order of the L2 error an estimator that uses only the data reaches; a curve far below it at n = 1e3 did not come from the data alone. p counts the fitted parameters (k atoms of 2d + 2); a softmax gate has d + 1 fewer identified, which moves the yardstick by under 10%. L2 errors are `l2_to_truth` (data/<experiment>/summary.csv), means over the fits.\n\n| paper curve | p | sqrt(sigma^2 p / n) at 1e3 / 1e5 | `lse`: L2 error at 1e3 / 1e5 | closest protocol candidate: L2 error at 1e3 / 1e5 |\n|---|---|---|---|---|\n");
    for p in curves {
        let Some((exp, sum, ..)) = main.iter().find(|(e, ..)| e.id() == p.experiment) else { continue };
        let (lo, hi) = (exp.n_values[0], *exp.n_values.last().expect("n grid"));
        let lse = exp.estimators.iter().find(|(_, e)| super::is_theorems_estimator(e)).map(|(n, _)| n.as_str());
        let ours = lse.map_or("–".to_string(), |est| format!("{} / {}", sci(l2_at(sum, p, est, lo)), sci(l2_at(sum, p, est, hi))));
        let cand = best_candidate(p, search)
            .and_then(|b| {
                let (e, ssum, _) = search.iter().find(|(e, ..)| e.id() == b.experiment)?;
                let (slo, shi) = (e.n_values[0], *e.n_values.last().expect("n grid"));
                Some(format!(
                    "{} `{}`: {} / {}",
                    b.experiment,
                    b.estimator,
                    sci(l2_at(ssum, p, &b.estimator, slo)),
                    sci(l2_at(ssum, p, &b.estimator, shi))
                ))
            })
            .unwrap_or_else(|| "–".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} / {} | {ours} | {cand} |",
            p.id,
            exp.config.k * (2 * exp.config.d + 2),
            sci(yardstick(exp, lo)),
            sci(yardstick(exp, hi))
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use smoe_model::Gate;

    /// A paper curve given by its exponent alone (as the NeurIPS panels of E3), or with magnitudes.
    fn paper(exponent: f64, magnitudes: Option<(f64, f64, f64)>) -> PaperCurve {
        PaperCurve {
            id: "c".into(),
            version: "v".into(),
            figure: "Figure 1".into(),
            panel: "(a)".into(),
            also: String::new(),
            experiment: "E".into(),
            setting: "s".into(),
            gate_fit: Gate::Sigmoid,
            quantity: "D3".into(),
            target: "G*".into(),
            legend: "n^-s".into(),
            coefficient: magnitudes.map(|m| m.0),
            exponent,
            at_1e3: magnitudes.map(|m| m.1),
            at_1e5: magnitudes.map(|m| m.2),
            read: String::new(),
        }
    }

    /// One of our curves with its full-range slope, interval and means at the ends of the grid.
    fn ours(slope: f64, ci: (f64, f64), at: (f64, f64)) -> Ours {
        Ours {
            experiment: "E".into(),
            estimator: "lse".into(),
            quantity: "D3".into(),
            slope,
            ci_low: ci.0,
            ci_high: ci.1,
            upper_slope: slope,
            intercept: at.0.ln() - slope * 1e3f64.ln(),
            at_min: at.0,
            at_max: at.1,
            all_fits: false,
        }
    }

    #[test]
    fn the_oracle_start_is_the_family_member_without_start_noise() {
        let load = |f: &str| Experiment::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow").join(f)).unwrap();
        let (e1, s1, s2, e2) =
            (load("e1_regime1.yaml"), load("s1_init_none.yaml"), load("s2_init_shrinking.yaml"), load("e2_regime2.yaml"));
        let main: Vec<(&Experiment, &[SummaryRow], &[RateRow], &[FloorRow])> =
            [&e1, &s1, &s2, &e2].into_iter().map(|e| (e, &[][..], &[][..], &[][..])).collect();
        // E1's family holds S1 (no start noise) and S2 (shrinking noise): only S1 is the oracle
        let ids: Vec<&str> = oracle_members(&e1, &main).iter().map(|(e, ..)| e.id()).collect();
        assert_eq!(ids, vec![s1.id()]);
        // an experiment is not its own oracle, and E2 has no member without start noise
        assert!(oracle_members(&s1, &main).is_empty());
        assert!(oracle_members(&e2, &main).is_empty());
        // without rows there is nothing to print
        assert_eq!(oracle_markdown(&[], &[], &main), "");
    }

    #[test]
    fn the_yardstick_is_the_parametric_risk_of_the_fitted_model() {
        let e1 = Experiment::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow/e1_regime1.yaml")).unwrap();
        // k = 9 atoms of 2 * 32 + 2 parameters, noise variance 0.01
        assert_eq!(e1.config.k * (2 * e1.config.d + 2), 594);
        assert!((yardstick(&e1, 1000) - (0.01f64 * 594.0 / 1000.0).sqrt()).abs() < 1e-15);
        assert!((yardstick(&e1, 1000) / yardstick(&e1, 100_000) - 10.0).abs() < 1e-12);
    }

    #[test]
    fn a_flat_curve_does_not_replicate_a_falling_exponent() {
        // the paper's n^-0.11 alone; ours slope -0.05, within 0.1 of it, but flat
        let p = paper(-0.11, None);
        let flat = ours(-0.05, (-0.12, 0.02), (0.1, 0.08));
        assert!(flat.flat_against_falling(&p));
        assert_eq!(flat.status(&p), "not replicated");
        assert!(reason(&flat, &p).starts_with("flat: slope interval [-0.12, 0.02] contains 0"), "{}", reason(&flat, &p));
        // the same point slope with an interval below 0 replicates it
        let falling = ours(-0.05, (-0.08, -0.02), (0.1, 0.08));
        assert!(!falling.flat_against_falling(&p));
        assert_eq!(falling.status(&p), "replicated");
    }

    #[test]
    fn where_the_paper_gives_magnitudes_the_flat_rule_leaves_them_to_decide() {
        // E1's linear panel: the paper's own curve is flat (1.6 n^-0.02, 1.4 at 1e3, 1.3 at 1e5)
        let p = paper(-0.02, Some((1.6, 1.4, 1.3)));
        let flat = ours(-0.01, (-0.04, 0.02), (1.3, 1.25));
        assert!(!flat.flat_against_falling(&p));
        assert_eq!(flat.status(&p), "replicated");
        let off = ours(-0.01, (-0.04, 0.02), (0.3, 0.29));
        assert_eq!(off.status(&p), "partially");
        assert!(reason(&off, &p).contains("factor 4.67 at 1e3"), "{}", reason(&off, &p));
    }

    #[test]
    fn a_slope_far_from_the_exponent_is_not_replicated_and_says_by_how_much() {
        let p = paper(-0.46, Some((1.4, 0.06, 0.007)));
        let o = ours(-0.66, (-0.7, -0.6), (0.06, 0.007));
        assert_eq!(o.status(&p), "not replicated");
        assert_eq!(reason(&o, &p), "slope -0.66 against -0.46 (gap -0.20, more than 0.1)");
        let none = ours(f64::NAN, (f64::NAN, f64::NAN), (f64::NAN, f64::NAN));
        assert_eq!(none.status(&p), "no slope (most fits degenerate)");
    }
}
