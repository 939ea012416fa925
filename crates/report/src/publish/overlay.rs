//! figures/overlay.png: the paper's curves (workflow/paper/reported.csv) beside ours, one panel per
//! curve: the paper's line and reported means, the least-squares fit `lse`, the paper-faithful SGD
//! `sgd`, the protocol-search candidate closest to the curve and the Cramér-Rao floor. Every
//! reading and its status come from analysis::replication ([`ours`], [`best_candidate`],
//! [`Ours::status`]), the functions of figures/replication.md, on the same loaded results.

use super::catalog::{floor_series, overlay_spec, FigureSpec};
use super::load;
use crate::analysis::{best_candidate, curve_summaries, ours, Ours, Results};
use crate::error::Result;
use crate::figures::{draw_grid_legend_above, FitLine, Palette, Panel, Point, Series};
use crate::paper::{reported, PaperCurve};
use crate::rows::{RateRow, SummaryRow};
use smoe_experiment::config::Role;
use smoe_experiment::paths::Root;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::FloorRow;

type Main<'a> = (&'a Experiment, &'a [SummaryRow], &'a [RateRow], &'a [FloorRow]);
type Search<'a> = (&'a Experiment, &'a [SummaryRow], &'a [RateRow]);

/// The experiments the overlay reads among `all`: the main experiments of the paper's curves and
/// the protocol searches of their families (as figures/replication.md reads them).
fn inputs<'a>(paper: &[PaperCurve], all: &[(&'a Experiment, &'a Results)]) -> (Vec<Main<'a>>, Vec<Search<'a>>) {
    let main = all
        .iter()
        .filter(|(e, _)| e.config.role == Role::Main && paper.iter().any(|p| p.experiment == e.id()))
        .map(|(e, l)| (*e, l.sum.as_slice(), l.rates.as_slice(), l.floors.as_slice()))
        .collect();
    let search = all
        .iter()
        .filter(|(e, _)| e.config.role == Role::ProtocolSearch && paper.iter().any(|p| p.experiment == e.stream_key()))
        .map(|(e, l)| (*e, l.sum.as_slice(), l.rates.as_slice()))
        .collect();
    (main, search)
}

/// The overlay's spec and panels from loaded results (none: the figure is not drawn).
pub fn figure(paper: &[PaperCurve], all: &[(&Experiment, &Results)]) -> (FigureSpec, Vec<Panel>) {
    let (main, search) = inputs(paper, all);
    (overlay_spec(), overlay_panels(paper, &main, &search))
}

/// Draw figures/overlay.png|svg from the experiments among `exps` that it reads; returns the
/// number of files written (0 when the paper's curves or their experiments are not among them).
pub fn draw(exps: &[Experiment], root: &Root) -> Result<usize> {
    let paper = reported(root)?;
    let wanted = |e: &Experiment| match e.config.role {
        Role::Main => paper.iter().any(|p| p.experiment == e.id()),
        Role::ProtocolSearch => paper.iter().any(|p| p.experiment == e.stream_key()),
        _ => false,
    };
    let picked: Vec<&Experiment> = exps.iter().filter(|e| wanted(e)).collect();
    let mut loaded = Vec::new();
    for e in &picked {
        loaded.push(load(e, root)?);
    }
    let all: Vec<(&Experiment, &Results)> = picked.iter().copied().zip(&loaded).collect();
    let (spec, panels) = figure(&paper, &all);
    if panels.is_empty() {
        return Ok(0);
    }
    Ok(draw_grid_legend_above(&panels, 2, &root.figures_dir().join(&spec.stem))?.len())
}

/// Mean loss per n of one of our readings, with its Monte Carlo standard error (drawn as ±2
/// standard errors: the mean's 95% interval); every fit's mean (degenerate included) has none.
fn points(sum: &[SummaryRow], p: &PaperCurve, o: &Ours) -> Vec<Point> {
    let mut pts: Vec<Point> = sum
        .iter()
        .filter(|r| {
            r.setting == p.setting && r.gate_fit == p.gate_fit && r.estimator == o.estimator && r.quantity.to_string() == o.quantity
        })
        .map(|r| match o.all_fits {
            true => Point { n: r.n as f64, mean: r.mean_all, sd: 0.0 },
            false => Point { n: r.n as f64, mean: r.mean, sd: if r.mcse.is_finite() { r.mcse } else { 0.0 } },
        })
        .filter(|q| q.mean.is_finite() && q.mean > 0.0)
        .collect();
    pts.sort_by(|a, b| a.n.total_cmp(&b.n));
    pts
}

/// The reading of an estimator that the overlay shows: among its readings of the curve over the
/// usable fits, the closest to the paper's; where none has a slope, among the readings of every
/// fit; where none has a slope at all, the first with means to show.
fn reading(all: &[Ours], sum: &[SummaryRow], p: &PaperCurve, est: &str) -> Option<Ours> {
    let mine: Vec<&Ours> = all.iter().filter(|o| o.estimator == est).collect();
    let closest = |all_fits: bool| {
        mine.iter()
            .filter(|o| o.all_fits == all_fits && o.distance(p).is_finite())
            .min_by(|a, b| a.distance(p).total_cmp(&b.distance(p)))
            .map(|o| (*o).clone())
    };
    closest(false).or_else(|| closest(true)).or_else(|| mine.iter().find(|o| !points(sum, p, o).is_empty()).map(|o| (*o).clone()))
}

/// The loss of a reading as a legend names it: against the split start where it is read so.
fn loss_label(o: &Ours) -> String {
    let q = match o.quantity.strip_prefix("vs_start:") {
        Some(l) => format!("{l} to the split start"),
        None => o.quantity.clone(),
    };
    if o.all_fits {
        format!("{q}, all fits")
    } else {
        q
    }
}

/// A status short enough for a panel title (the legend and replication.md give the long form).
fn short(status: &str) -> &str {
    status.split(" (").next().unwrap_or(status)
}

/// One panel per paper curve (in the order of reported.csv) whose experiment is among `main`.
/// The title carries two statuses: that of the estimator of record (least squares, as in the
/// summary of figures/replication.md, [`curve_summaries`]) and that of the shown reading closest
/// to the paper's curve (which may be a protocol candidate, the best of many tries).
pub fn overlay_panels(curves: &[PaperCurve], main: &[Main<'_>], search: &[Search<'_>]) -> Vec<Panel> {
    let mut out = Vec::new();
    let summaries = curve_summaries(curves, main);
    for (p, summary) in curves.iter().zip(&summaries) {
        let Some((exp, sum, rates, floors)) = main.iter().find(|(e, ..)| e.id() == p.experiment) else { continue };
        let all = ours(exp, sum, rates, p, |q| p.matches_quantity(q));
        let mut series = Vec::new();
        // (distance, status, who) of each reading shown
        let mut shown: Vec<(f64, &'static str, String)> = Vec::new();
        let lse = reading(&all, sum, p, "lse");
        for (est, palette) in [("lse", Palette::Sigmoid), ("sgd", Palette::Other(0))] {
            let Some(o) = reading(&all, sum, p, est) else { continue };
            let pts = points(sum, p, &o);
            if pts.is_empty() {
                continue;
            }
            shown.push((o.distance(p), o.status(p), est.to_string()));
            series.push(Series {
                label: format!("{est}, {}: {}", loss_label(&o), o.status(p)),
                palette,
                points: pts,
                fit: None,
                dashed: false,
                reference: false,
            });
        }
        if let Some(b) = best_candidate(p, search) {
            if let Some((_, ssum, _)) = search.iter().find(|(e, ..)| e.id() == b.experiment) {
                let pts = points(ssum, p, &b);
                if !pts.is_empty() {
                    shown.push((b.distance(p), b.status(p), b.experiment.clone()));
                    series.push(Series {
                        label: format!("{} {}, {}: {}", b.experiment, b.estimator, loss_label(&b), b.status(p)),
                        palette: Palette::Other(2),
                        points: pts,
                        fit: None,
                        dashed: false,
                        reference: false,
                    });
                }
            }
        }
        // the paper's line over [1e3, 1e5]; with only an exponent, through our lse mean nearest 1e4
        let ns = [1e3, 1e4, 1e5];
        let paper_line: Option<(String, FitLine)> = match p.coefficient {
            Some(c) => Some((format!("paper: {}", p.legend), FitLine { c, s: -p.exponent })),
            None => lse.as_ref().and_then(|o| {
                let pts = points(sum, p, o);
                let a = pts.iter().min_by(|a, b| (a.n.ln() - 1e4f64.ln()).abs().total_cmp(&(b.n.ln() - 1e4f64.ln()).abs()))?;
                Some((
                    format!("paper's exponent {} (through lse at 1e4)", p.legend),
                    FitLine { c: a.mean / a.n.powf(p.exponent), s: -p.exponent },
                ))
            }),
        };
        if let Some((label, f)) = paper_line {
            let points = ns.iter().map(|&n| Point { n, mean: f.c * n.powf(-f.s), sd: 0.0 }).collect();
            series.push(Series { label, palette: Palette::Other(7), points, fit: None, dashed: true, reference: true });
        }
        let marks: Vec<Point> =
            [(1e3, p.at_1e3), (1e5, p.at_1e5)].iter().filter_map(|&(n, m)| m.map(|mean| Point { n, mean, sd: 0.0 })).collect();
        if !marks.is_empty() {
            series.push(Series {
                label: "paper: means at 1e3, 1e5".into(),
                palette: Palette::Other(7),
                points: marks,
                fit: None,
                dashed: false,
                reference: false,
            });
        }
        if let Some(o) = &lse {
            let q = o.quantity.strip_prefix("vs_start:").unwrap_or(&o.quantity);
            series.extend(floor_series(floors, &p.setting, p.gate_fit, q, format!("Cramér-Rao floor, {q}")));
        }
        let closest = shown
            .iter()
            .filter(|(d, ..)| d.is_finite())
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .or(shown.first())
            .map_or("no data".to_string(), |s| format!("{} {}", s.2, short(s.1)));
        out.push(Panel {
            title: format!("{}: lse {}; closest: {closest}", p.id, short(summary.status)),
            y_label: format!("{}: mean loss ({}, {} fit)", exp.id(), p.quantity, p.gate_fit),
            x_label: "sample size n".into(),
            series,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoe_experiment::rows::Quantity;
    use std::path::Path;

    fn config(name: &str) -> Experiment {
        Experiment::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow").join(name)).unwrap()
    }

    /// Summary rows of every fit's losses for the estimators, mean = scale * n^-0.5.
    fn summary(exp: &Experiment, scale: f64) -> Vec<SummaryRow> {
        let mut out = Vec::new();
        for s in &exp.settings {
            for f in &s.fits {
                for &l in &f.losses {
                    for (est, _) in &exp.estimators {
                        for &n in &exp.n_values {
                            let mean = scale * (n as f64).powf(-0.5);
                            out.push(SummaryRow {
                                reps: 4,
                                ..SummaryRow::exact(exp.id(), &s.name, f.gate, est, Quantity::Loss(l), n, mean)
                            });
                        }
                    }
                }
            }
        }
        out
    }

    fn floors(exp: &Experiment) -> Vec<FloorRow> {
        let mut out = Vec::new();
        for s in &exp.settings {
            for f in &s.fits {
                for &l in &f.losses {
                    for &n in &exp.n_values {
                        out.push(FloorRow {
                            setting: s.name.clone(),
                            gate_fit: f.gate,
                            quantity: Quantity::Loss(l),
                            n,
                            floor_mean: 1.0 / n as f64,
                            floor_sd: 0.0,
                            draws: 1,
                            identified_dims: 1,
                            null_dims: 0,
                            null_gate_intercept: 0.0,
                            null_gate_slope: 0.0,
                            null_expert_slope: 0.0,
                            null_expert_intercept: 0.0,
                        });
                    }
                }
            }
        }
        out
    }

    /// A full-range log-mean rate of every loss of every fit under `est`, slope `slope`,
    /// intercept ln(scale) (as summary(exp, scale, slope) gives the means).
    fn rates(exp: &Experiment, est: &str, scale: f64, slope: f64) -> Vec<RateRow> {
        let mut out = Vec::new();
        for s in &exp.settings {
            for f in &s.fits {
                for &l in &f.losses {
                    out.push(RateRow {
                        experiment: exp.id().into(),
                        setting: s.name.clone(),
                        gate_fit: f.gate,
                        expert: s.recipe.params().expert,
                        estimator: est.into(),
                        loss_name: Quantity::Loss(l),
                        method: smoe_metrics::RateMethod::LogMean,
                        n_range: crate::rows::NRange::Full,
                        slope,
                        se: 0.0,
                        boot_se: 0.0,
                        ci_low: slope,
                        ci_high: slope,
                        intercept: scale.ln(),
                        n_min: exp.n_values[0] as f64,
                        n_max: *exp.n_values.last().unwrap() as f64,
                        n_values: exp.n_values.len() as u32,
                        reps: 4,
                        excluded: 0,
                        degenerate: 0,
                        theory: f64::NAN,
                        theory_label: String::new(),
                        verdict: String::new(),
                        log_rate_q: f64::NAN,
                        delta_aic: f64::NAN,
                    });
                }
            }
        }
        out
    }

    fn by_label<'a>(panel: &'a Panel, prefix: &str) -> Option<&'a Series> {
        panel.series.iter().find(|s| s.label.starts_with(prefix))
    }

    /// Eight panels, one per curve of reported.csv in its order, each reading its own experiment
    /// (E1-E3) and its family's protocol search (PS1-PS3): lse and sgd from the main experiment,
    /// the candidate from the search, the floor of the lse reading's loss, the paper's line and
    /// magnitudes from reported.csv; statuses are replication's own (`Ours::status`).
    #[test]
    fn one_panel_per_paper_curve_from_the_expected_experiments() {
        let curves: Vec<PaperCurve> =
            crate::store::read_csv(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow/paper/reported.csv")).unwrap();
        let ids: Vec<&str> = curves.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "e1_relu",
                "e1_linear",
                "e2_relu",
                "e2_linear",
                "e3_relu_sigmoid",
                "e3_relu_softmax",
                "e3_linear_sigmoid",
                "e3_linear_softmax"
            ]
        );
        let exps = [config("e1_regime1.yaml"), config("e2_regime2.yaml"), config("e3_softmax_truth.yaml")];
        let searches = [config("ps1_protocol_search.yaml"), config("ps2_protocol_search.yaml"), config("ps3_protocol_search.yaml")];
        // main: lse falls like n^-0.5 from 3, sgd stays at 3 (scale 3, slope 0 in its rates)
        let sums: Vec<Vec<SummaryRow>> = exps.iter().map(|e| summary(e, 3.0)).collect();
        let mut rts: Vec<Vec<RateRow>> = exps.iter().map(|e| rates(e, "lse", 3.0, -0.5)).collect();
        for (r, e) in rts.iter_mut().zip(&exps) {
            r.extend(rates(e, "sgd", 0.01, 0.7));
        }
        let fls: Vec<Vec<FloorRow>> = exps.iter().map(floors).collect();
        let main: Vec<Main<'_>> =
            exps.iter().zip(&sums).zip(&rts).zip(&fls).map(|(((e, s), r), f)| (e, s.as_slice(), r.as_slice(), f.as_slice())).collect();
        // search: every candidate with the same means, its first estimator with a rate
        let ssums: Vec<Vec<SummaryRow>> = searches.iter().map(|e| summary(e, 0.5)).collect();
        let srts: Vec<Vec<RateRow>> = searches.iter().map(|e| rates(e, &e.estimators[0].0, 0.5, -0.5)).collect();
        let search: Vec<Search<'_>> = searches.iter().zip(&ssums).zip(&srts).map(|((e, s), r)| (e, s.as_slice(), r.as_slice())).collect();
        let panels = overlay_panels(&curves, &main, &search);
        assert_eq!(panels.len(), 8);
        for (panel, p) in panels.iter().zip(&curves) {
            let exp = exps.iter().find(|e| e.id() == p.experiment).unwrap();
            let family = searches.iter().find(|e| e.stream_key() == p.experiment).unwrap();
            let n_exp: Vec<f64> = exp.n_values.iter().map(|&n| n as f64).collect();
            let (sum, rt) =
                (&sums[exps.iter().position(|e| e.id() == exp.id()).unwrap()], &rts[exps.iter().position(|e| e.id() == exp.id()).unwrap()]);
            let all = ours(exp, sum, rt, p, |q| p.matches_quantity(q));
            let labels: Vec<&str> = panel.series.iter().map(|s| s.label.as_str()).collect();
            assert!(panel.y_label.starts_with(&format!("{}: ", exp.id())), "{}", panel.y_label);
            for est in ["lse", "sgd"] {
                let s = by_label(panel, &format!("{est}, ")).unwrap_or_else(|| panic!("{labels:?}"));
                assert_eq!(s.points.iter().map(|q| q.n).collect::<Vec<_>>(), n_exp, "{}", p.id);
                // the reading closest to the paper, with replication's status
                let o = all
                    .iter()
                    .filter(|o| o.estimator == est && !o.all_fits)
                    .min_by(|a, b| a.distance(p).total_cmp(&b.distance(p)))
                    .unwrap();
                assert!(s.label.ends_with(&format!(": {}", o.status(p))), "{}", s.label);
                assert!(s.label.contains(&o.quantity), "{}", s.label);
            }
            let best = best_candidate(p, &search).unwrap();
            assert_eq!(best.experiment, family.id());
            let cand = by_label(panel, &format!("{} {}, ", family.id(), best.estimator)).unwrap_or_else(|| panic!("{labels:?}"));
            let n_fam: Vec<f64> = family.n_values.iter().map(|&n| n as f64).collect();
            assert_eq!(cand.points.iter().map(|q| q.n).collect::<Vec<_>>(), n_fam);
            assert!(cand.label.ends_with(&format!(": {}", best.status(p))), "{}", cand.label);
            // the title: the curve, the estimator of record's status as in replication.md's
            // summary, and the status of the shown reading closest to its line, named
            let record = curve_summaries(std::slice::from_ref(p), &main).remove(0);
            let lse = all.iter().filter(|o| o.estimator == "lse").min_by(|a, b| a.distance(p).total_cmp(&b.distance(p))).unwrap();
            let sgd = all.iter().filter(|o| o.estimator == "sgd").min_by(|a, b| a.distance(p).total_cmp(&b.distance(p))).unwrap();
            let (who, closest) = [("lse".to_string(), lse), ("sgd".to_string(), sgd), (family.id().to_string(), &best)]
                .into_iter()
                .min_by(|a, b| a.1.distance(p).total_cmp(&b.1.distance(p)))
                .unwrap();
            assert_eq!(panel.title, format!("{}: lse {}; closest: {who} {}", p.id, short(record.status), short(closest.status(p))));
            let floor = by_label(panel, "Cramér-Rao floor, ").unwrap();
            assert!(floor.label.ends_with(&lse.quantity), "{}", floor.label);
            assert_eq!(floor.points.iter().map(|q| q.n).collect::<Vec<_>>(), n_exp);
            assert!(floor.points.iter().all(|q| (q.mean - 1.0 / q.n).abs() < 1e-15));
            let line = by_label(panel, "paper").filter(|s| s.reference).unwrap();
            assert_eq!(line.points.iter().map(|q| q.n).collect::<Vec<_>>(), vec![1e3, 1e4, 1e5]);
            match p.coefficient {
                Some(c) => assert!((line.points[0].mean - c * 1e3f64.powf(p.exponent)).abs() < 1e-12),
                // through our lse mean at the n nearest 1e4
                None => {
                    let s = by_label(panel, "lse, ").unwrap();
                    let at =
                        s.points.iter().min_by(|a, b| (a.n.ln() - 1e4f64.ln()).abs().total_cmp(&(b.n.ln() - 1e4f64.ln()).abs())).unwrap();
                    assert!((line.points[1].mean / (at.mean * (1e4 / at.n).powf(p.exponent)) - 1.0).abs() < 1e-12);
                }
            }
            let marks: Vec<(f64, f64)> =
                by_label(panel, "paper: means").map_or(Vec::new(), |m| m.points.iter().map(|q| (q.n, q.mean)).collect());
            let expected: Vec<(f64, f64)> = [(1e3, p.at_1e3), (1e5, p.at_1e5)].iter().filter_map(|&(n, m)| m.map(|m| (n, m))).collect();
            assert_eq!(marks, expected);
        }
        // without a protocol search, no candidate; without the experiment of a curve, no panel
        let only_e1 = overlay_panels(&curves, &main[..1], &[]);
        assert_eq!(only_e1.iter().map(|p| p.title.split(':').next().unwrap()).collect::<Vec<_>>(), ["e1_relu", "e1_linear"]);
        assert!(only_e1.iter().all(|p| p.series.iter().all(|s| !s.label.starts_with("PS"))));
    }

    /// The spec is a catalog entry whose panels come from here, not from one experiment.
    #[test]
    fn the_overlay_is_a_catalog_entry_drawn_from_several_experiments() {
        let spec = overlay_spec();
        assert_eq!((spec.stem.as_str(), spec.content.clone()), ("overlay", super::super::catalog::Content::Overlay));
        assert!(spec.caption.is_some());
        let e1 = config("e1_regime1.yaml");
        let loaded = Results {
            fits: Vec::new(),
            sum: summary(&e1, 1.0),
            rates: Vec::new(),
            floors: floors(&e1),
            pairs: Vec::new(),
            paper: Vec::new(),
        };
        assert!(super::super::catalog::panels(&e1, &spec, &loaded).is_empty());
    }
}
