//! The figures of an experiment as one list ([`figure_specs`]): each [`FigureSpec`] names its
//! file, its caption and what it shows. Drawing ([`crate::publish::figures`]) and the captions of
//! figures/REPORT.md both walk this list, and both skip a figure with nothing to show, so a
//! caption never names a figure that was not drawn. To add a figure, add a [`Content`] and its
//! entry here.

use crate::analysis::Results;
use crate::figures::{FitLine, Palette, Panel, Point, Series};
use crate::paper::PaperCurve;
use crate::rows::{find_rate, RateKey, RateRow, SummaryRow};
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::{FloorRow, Quantity};
use smoe_model::Gate;

/// One figure file (`figures/<stem>.png` and `.svg`).
#[derive(Clone, Debug, PartialEq)]
pub struct FigureSpec {
    pub stem: String,
    /// The caption in figures/REPORT.md; `None` for figures drawn but not listed there.
    pub caption: Option<String>,
    pub layout: Layout,
    pub content: Content,
}

/// How the panels of a figure are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One panel, [`crate::figures::PANEL_SIZE`].
    Single,
    /// Panels two per row (fewer if there are fewer panels).
    Grid,
}

/// What a figure shows, for one estimator (by name) unless it compares estimators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Each fit's first loss against n, one panel per setting.
    Losses { estimator: String },
    /// The same for one setting (index into the experiment's settings), on its own.
    SettingLosses { estimator: String, setting: usize },
    /// ||f_hat - f_target||_L2 against n, one panel per setting.
    L2 { estimator: String },
    /// Each fit's first loss under every estimator, and at the start.
    Estimators,
    /// Sigmoid against softmax on the same data: expert and L2 errors, for settings fitted with both.
    Gates { estimator: String },
    /// Per-atom errors, one panel per fit.
    Atoms { estimator: String },
    /// A two-point (lower-bound) experiment: both members' mean losses and the loss between
    /// them, one panel per loss.
    Pair { estimator: String },
    /// The paper's curves beside ours, one panel per curve (workflow/paper/reported.csv): drawn
    /// from several experiments at once by [`crate::publish::overlay`], not from one.
    Overlay,
}

/// The figure of the paper's curves beside ours (figures/overlay.png), read from the main
/// experiments of the paper's curves and their protocol searches.
pub fn overlay_spec() -> FigureSpec {
    FigureSpec {
        stem: "overlay".into(),
        caption: Some("The paper's eight curves beside ours, one panel per curve: the paper's line C n^-s over n = 1e3..1e5 (grey dashed; with only an exponent, drawn through our `lse` mean nearest n = 1e4) and its means read off its figure (grey diamonds), our least-squares fit `lse` and the paper-faithful SGD `sgd` (each its reading of the loss closest to the paper's, over the usable fits, or over every fit (\"all fits\") where those give no slope; error bars ±2 Monte Carlo standard errors of the mean), the protocol-search candidate closest to the curve, and the Cramér-Rao floor; each legend entry gives the reading's status; the title gives the status of the estimator of record (`lse`, as in the summary of figures/replication.md) and that of the shown reading closest to the paper's curve, named (PSk: the protocol candidate of that search; it is the best of many tries, not one protocol fixed in advance)".into()),
        layout: Layout::Grid,
        content: Content::Overlay,
    }
}

/// Every figure of an experiment, in the order of figures/REPORT.md.
pub fn figure_specs(exp: &Experiment) -> Vec<FigureSpec> {
    let id = exp.id();
    let spec = |stem: String, caption: Option<String>, layout, content| FigureSpec { stem, caption, layout, content };
    let mut out = Vec::new();
    for (e, _) in &exp.estimators {
        out.push(spec(
            format!("{id}_{e}"),
            Some(format!("{id}, estimator `{e}`: mean Voronoi loss over replications against n (one panel per setting)")),
            Layout::Grid,
            Content::Losses { estimator: e.clone() },
        ));
        out.push(spec(
            format!("{id}_l2_{e}"),
            Some(format!("{id}, estimator `{e}`: ||f_hat - f_target||_L2(mu) against n")),
            Layout::Grid,
            Content::L2 { estimator: e.clone() },
        ));
    }
    if exp.estimators.len() > 1 {
        out.push(spec(
            format!("{id}_estimators"),
            Some(format!("{id}: the same loss under each estimator, and at the starting point (grey): how much of the picture is the optimiser or the initialisation?")),
            Layout::Grid,
            Content::Estimators,
        ));
    }
    for (e, _) in &exp.estimators {
        out.push(spec(
            format!("{id}_gates_{e}"),
            Some(format!("{id}, estimator `{e}`: sigmoid against softmax gating on the same data, both scored against the truth by the same metrics: the expert error with one matching rule (left) and the L2 error to f* (right) per setting; read horizontally, the n each gate needs for a given error (figures/sample_complexity.md)")),
            Layout::Grid,
            Content::Gates { estimator: e.clone() },
        ));
    }
    for (e, _) in &exp.estimators {
        out.push(spec(
            format!("{id}_atoms_{e}"),
            Some(format!("{id}, estimator `{e}`: per-atom errors, largest over over-fitted atoms (parameters d_beta1 + d_eta, and experts sup_x |h - h_target|) and over singly fitted atoms")),
            Layout::Grid,
            Content::Atoms { estimator: e.clone() },
        ));
    }
    if exp.settings.iter().any(|s| s.two_point.is_some()) {
        for (e, _) in &exp.estimators {
            out.push(spec(
                format!("{id}_pair_{e}"),
                Some(format!("{id}, estimator `{e}`: the lower-bound experiment: each member's mean loss against n (member two moves with n along the two-point construction), and the loss between the members (grey dashed), which no estimator's worst case can beat while the members' regression functions stay within about n^-1/2 of each other (figures/lower_bound.md)")),
                Layout::Grid,
                Content::Pair { estimator: e.clone() },
            ));
        }
    }
    for (e, _) in &exp.estimators {
        for (si, s) in exp.settings.iter().enumerate() {
            out.push(spec(
                format!("{id}_{}_{e}", s.name),
                None,
                Layout::Single,
                Content::SettingLosses { estimator: e.clone(), setting: si },
            ));
        }
    }
    out
}

const ATOM_QUANTITIES: [(Quantity, &str); 4] = [
    (Quantity::ParamErrOver, "parameters, over-fitted atoms"),
    (Quantity::ParamErrSingle, "parameters, singly fitted atoms"),
    (Quantity::ExpertErrOver, "experts, over-fitted atoms"),
    (Quantity::ExpertErrSingle, "experts, singly fitted atoms"),
];

/// The Cramér-Rao floor of one (setting, fitted gate, quantity) as a dashed reference line (None
/// with fewer than two positive values).
pub(crate) fn floor_series(floors: &[FloorRow], setting: &str, gate: Gate, quantity: &str, label: String) -> Option<Series> {
    let mut floor: Vec<Point> = floors
        .iter()
        .filter(|f| f.setting == setting && f.gate_fit == gate && f.quantity.to_string() == quantity && f.floor_mean > 0.0)
        .map(|f| Point { n: f.n as f64, mean: f.floor_mean, sd: 0.0 })
        .collect();
    floor.sort_by(|a, b| a.n.total_cmp(&b.n));
    (floor.len() >= 2).then_some(Series { label, palette: Palette::Other(5), points: floor, fit: None, dashed: true, reference: true })
}

fn palette(gate: Gate) -> Palette {
    match gate {
        Gate::Softmax => Palette::Softmax,
        Gate::Sigmoid => Palette::Sigmoid,
    }
}

/// One curve: a quantity of one (setting, fitted gate, estimator).
#[derive(Clone, Copy)]
struct Curve<'a> {
    setting: &'a str,
    gate: Gate,
    est: &'a str,
    q: Quantity,
}

fn curve<'a>(setting: &'a str, gate: Gate, est: &'a str, q: Quantity) -> Curve<'a> {
    Curve { setting, gate, est, q }
}

/// Points and fitted lines of curves, with the reference lines of the panels.
struct Curves<'a> {
    exp: &'a Experiment,
    sum: &'a [SummaryRow],
    rates: &'a [RateRow],
    floors: &'a [FloorRow],
    paper: &'a [PaperCurve],
}

impl Curves<'_> {
    fn points(&self, c: Curve<'_>) -> Vec<Point> {
        self.sum
            .iter()
            .filter(|r| r.setting == c.setting && r.gate_fit == c.gate && r.estimator == c.est && r.quantity == c.q && r.reps > 0)
            .map(|r| Point { n: r.n as f64, mean: r.mean, sd: if r.sd.is_finite() { r.sd } else { 0.0 } })
            .collect()
    }

    fn fit_line(&self, c: Curve<'_>) -> Option<FitLine> {
        find_rate(self.rates, &RateKey::paper(self.exp.id(), c.setting, c.gate, c.est, c.q))
            .map(|r| FitLine { c: r.intercept.exp(), s: -r.slope })
    }

    fn series(&self, label: String, palette: Palette, c: Curve<'_>, dashed: bool) -> Series {
        Series { label, palette, points: self.points(c), fit: self.fit_line(c), dashed, reference: false }
    }

    /// The reference lines of a fit's loss: the paper's reported curve (where it gives one for
    /// this panel) and the Cramér-Rao floor.
    fn references(&self, setting: &str, gate: Gate, est: &str, q: Quantity) -> Vec<Series> {
        let mut out = Vec::new();
        if let Some(p) = self.paper.iter().find(|p| p.setting == setting && p.gate_fit == gate && p.matches_quantity(&q.to_string())) {
            let ns = [1e3, 1e4, 1e5];
            let (label, points) = match p.coefficient {
                Some(_) => {
                    (format!("paper: {}", p.legend), ns.iter().filter_map(|&n| p.line(n).map(|m| Point { n, mean: m, sd: 0.0 })).collect())
                }
                None => {
                    // only an exponent: drawn through our mean at the n closest to 1e4
                    let ours = self.points(curve(setting, gate, est, q));
                    let anchor = ours.iter().min_by(|a, b| (a.n.ln() - 1e4f64.ln()).abs().total_cmp(&(b.n.ln() - 1e4f64.ln()).abs()));
                    match anchor {
                        Some(a) => (
                            format!("paper's exponent: {} (through our n ≈ 1e4)", p.legend),
                            ns.iter().map(|&n| Point { n, mean: a.mean * (n / a.n).powf(p.exponent), sd: 0.0 }).collect(),
                        ),
                        None => (String::new(), Vec::new()),
                    }
                }
            };
            if points.len() >= 2 {
                out.push(Series { label, palette: Palette::Other(7), points, fit: None, dashed: true, reference: true });
            }
        }
        out.extend(floor_series(self.floors, setting, gate, &q.to_string(), format!("Cramér-Rao floor ({gate})")));
        out
    }

    fn loss_panel(&self, si: usize, est: &str) -> Panel {
        let s = &self.exp.settings[si];
        let mut series: Vec<Series> = s
            .fits
            .iter()
            .map(|f| {
                let q = Quantity::Loss(f.losses[0]);
                self.series(format!("{} fit: {q} to {}", f.gate, f.target.name()), palette(f.gate), curve(&s.name, f.gate, est, q), false)
            })
            .collect();
        for f in &s.fits {
            series.extend(self.references(&s.name, f.gate, est, Quantity::Loss(f.losses[0])));
        }
        Panel {
            title: format!("{} {}: {} experts ({est})", self.exp.id(), s.name, s.recipe.params().expert),
            y_label: "Voronoi loss (mean over replications)".into(),
            x_label: "sample size n".into(),
            series,
        }
    }

    fn l2_panel(&self, si: usize, est: &str) -> Panel {
        let s = &self.exp.settings[si];
        let series = s
            .fits
            .iter()
            .map(|f| {
                let c = curve(&s.name, f.gate, est, Quantity::L2Error);
                self.series(format!("{} fit to {}", f.gate, f.target.name()), palette(f.gate), c, false)
            })
            .collect();
        Panel {
            title: format!("{} {}: {} experts ({est})", self.exp.id(), s.name, s.recipe.params().expert),
            y_label: "L2(mu) error of the regression function".into(),
            x_label: "sample size n".into(),
            series,
        }
    }

    fn gates_panels(&self, est: &str) -> Vec<Panel> {
        let mut panels = Vec::new();
        for s in self.exp.settings.iter().filter(|s| s.has_both_gates()) {
            for (q, what) in [
                (Quantity::ContributionErr, "contribution error to the truth (no gate normalisation moves it)"),
                (Quantity::ExpertErrMatched, "expert error to the truth (one matching rule for both gates)"),
                (Quantity::L2ToTruth, "L2(mu) error of the regression function to f*"),
            ] {
                let series = s
                    .fits
                    .iter()
                    .map(|f| self.series(format!("{} fit", f.gate), palette(f.gate), curve(&s.name, f.gate, est, q), false))
                    .collect();
                panels.push(Panel {
                    title: format!("{} {}: {q} ({est})", self.exp.id(), s.name),
                    y_label: what.into(),
                    x_label: "sample size n".into(),
                    series,
                });
            }
        }
        panels
    }

    fn atoms_panels(&self, est: &str) -> Vec<Panel> {
        let mut panels = Vec::new();
        for s in &self.exp.settings {
            for f in &s.fits {
                let series: Vec<Series> = ATOM_QUANTITIES
                    .iter()
                    .enumerate()
                    .map(|(i, &(q, label))| self.series(label.to_string(), Palette::Other(i), curve(&s.name, f.gate, est, q), i >= 2))
                    .filter(|s| s.points.len() >= 2)
                    .collect();
                if !series.is_empty() {
                    panels.push(Panel {
                        title: format!("{} {}: {} fit ({est})", self.exp.id(), s.name, f.gate),
                        y_label: "largest per-atom error".into(),
                        x_label: "sample size n".into(),
                        series,
                    });
                }
            }
        }
        panels
    }

    fn pair_panels(&self, est: &str, pairs: &[smoe_experiment::rows::PairRow]) -> Vec<Panel> {
        let members: Vec<&smoe_experiment::plan::Setting> = self.exp.settings.iter().filter(|s| s.two_point.is_some()).collect();
        let Some(first) = members.first() else { return Vec::new() };
        let Some(f) = first.fits.first() else { return Vec::new() };
        f.losses
            .iter()
            .map(|&l| {
                let q = Quantity::Loss(l);
                let mut series: Vec<Series> = members
                    .iter()
                    .enumerate()
                    .map(|(i, s)| self.series(format!("member {}: {q}", s.name), Palette::Other(i), curve(&s.name, f.gate, est, q), false))
                    .collect();
                let mut sep: Vec<Point> = pairs
                    .iter()
                    .filter(|p| p.quantity == q && p.loss_between > 0.0)
                    .map(|p| Point { n: p.n as f64, mean: p.loss_between, sd: 0.0 })
                    .collect();
                sep.sort_by(|a, b| a.n.total_cmp(&b.n));
                if sep.len() >= 2 {
                    series.push(Series {
                        label: "loss between the members".into(),
                        palette: Palette::Other(7),
                        points: sep,
                        fit: None,
                        dashed: true,
                        reference: true,
                    });
                }
                Panel {
                    title: format!("{}: {q} ({est})", self.exp.id()),
                    y_label: format!("{q} (mean over replications)"),
                    x_label: "sample size n".into(),
                    series,
                }
            })
            .collect()
    }

    fn estimators_panels(&self) -> Vec<Panel> {
        if self.exp.estimators.len() < 2 {
            return Vec::new();
        }
        let mut panels = Vec::new();
        for s in &self.exp.settings {
            for f in &s.fits {
                let q = Quantity::Loss(f.losses[0]);
                let mut series: Vec<Series> = self
                    .exp
                    .estimators
                    .iter()
                    .enumerate()
                    .map(|(i, (est, _))| {
                        let pal = if i == 0 { palette(f.gate) } else { Palette::Other(i - 1) };
                        self.series(est.to_string(), pal, curve(&s.name, f.gate, est, q), i > 0)
                    })
                    .collect();
                let start = self.points(curve(&s.name, f.gate, &self.exp.estimators[0].0, Quantity::Start(f.losses[0])));
                if start.len() >= 2 {
                    series.push(Series {
                        label: "at the start".into(),
                        palette: Palette::Other(7),
                        points: start,
                        fit: None,
                        dashed: true,
                        reference: false,
                    });
                }
                panels.push(Panel {
                    title: format!("{} {}: {} fit, {q}", self.exp.id(), s.name, f.gate),
                    y_label: format!("{q} (mean over replications)"),
                    x_label: "sample size n".into(),
                    series,
                });
            }
        }
        panels
    }
}

/// The panels of a figure (empty: nothing to draw, and no caption). Series without points are
/// dropped (e.g. every fit of a cell left out as degenerate), and panels left without data.
pub fn panels(exp: &Experiment, spec: &FigureSpec, loaded: &Results) -> Vec<Panel> {
    let mut out = raw_panels(exp, spec, loaded);
    for p in &mut out {
        p.series.retain(|s| !s.points.is_empty());
    }
    out.retain(|p| p.series.iter().any(|s| !s.reference));
    out
}

fn raw_panels(exp: &Experiment, spec: &FigureSpec, loaded: &Results) -> Vec<Panel> {
    let c = Curves { exp, sum: &loaded.sum, rates: &loaded.rates, floors: &loaded.floors, paper: &loaded.paper };
    let all = 0..exp.settings.len();
    match &spec.content {
        Content::Losses { estimator } => all.map(|si| c.loss_panel(si, estimator)).collect(),
        Content::SettingLosses { estimator, setting } => vec![c.loss_panel(*setting, estimator)],
        Content::L2 { estimator } => all.map(|si| c.l2_panel(si, estimator)).collect(),
        Content::Estimators => c.estimators_panels(),
        Content::Gates { estimator } => c.gates_panels(estimator),
        Content::Atoms { estimator } => c.atoms_panels(estimator),
        Content::Pair { estimator } => c.pair_panels(estimator, &loaded.pairs),
        // several experiments at once: crate::publish::overlay
        Content::Overlay => Vec::new(),
    }
}
