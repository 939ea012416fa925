//! The phase diagram: the title question (does sigmoid gating need fewer samples than softmax?)
//! over gate strength x expert type x truth gate, answered cell by cell with the paired
//! comparison of the two gates on the same data (see `comparison`).

use super::claims::f2;
use super::comparison::GateComparison;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::Quantity;
use smoe_metrics::ComparativeVerdict;
use std::fmt::Write as _;

/// One cell of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseCell {
    pub truth_gate: String,
    pub expert: String,
    /// nu_g * d (the gate-slope variance in units of 1/d).
    pub scale: f64,
    pub setting: String,
    pub experiment: String,
    pub quantity: Quantity,
    /// The median over the common levels of log2 n_softmax(eps) / n_sigmoid(eps) (NaN: none).
    pub log2_ratio: f64,
    pub comparison: GateComparison,
}

/// The cells of the phase experiments (each experiment one (truth gate, expert) column, each
/// setting one gate scale), for one compared quantity.
pub fn phase_cells(exps: &[(&Experiment, Vec<GateComparison>)], quantity: Quantity) -> Vec<PhaseCell> {
    let mut out = Vec::new();
    for (exp, comps) in exps {
        for c in comps.iter().filter(|c| c.quantity == quantity) {
            let Some(st) = exp.settings.iter().find(|s| s.name == c.setting) else { continue };
            let p = st.recipe.params();
            let scale = p.gate_var.map_or(0.01, |v| v * p.d as f64);
            let mut r: Vec<f64> = c.comparison.ratios.iter().map(|x| x.1).collect();
            r.sort_by(f64::total_cmp);
            let log2_ratio = if r.is_empty() { f64::NAN } else { r[r.len() / 2] };
            out.push(PhaseCell {
                truth_gate: p.gate.name().into(),
                expert: p.expert.to_string(),
                scale,
                setting: c.setting.clone(),
                experiment: exp.id().into(),
                quantity,
                log2_ratio,
                comparison: c.clone(),
            });
        }
    }
    out
}

/// The colour scale's end (log2 ratio); a cell whose curves lie apart with a verdict is drawn
/// at the winner's end.
const SATURATION: f64 = 4.0;

fn mark(v: ComparativeVerdict) -> &'static str {
    match v {
        ComparativeVerdict::SigmoidBetter => "sigmoid",
        ComparativeVerdict::SoftmaxBetter => "softmax",
        ComparativeVerdict::NoDifference => "no diff.",
        ComparativeVerdict::Mixed => "mixed",
        ComparativeVerdict::NotComparable => "n/a",
    }
}

/// One heatmap per truth gate: gate scale across, expert down, coloured by the log2 ratio.
pub fn phase_heatmaps(cells: &[PhaseCell], what: &str) -> Vec<Heatmap> {
    let mut scales: Vec<f64> = cells.iter().map(|c| c.scale).collect();
    scales.sort_by(f64::total_cmp);
    scales.dedup();
    let experts = ["relu", "gelu", "linear"];
    ["sigmoid", "softmax"]
        .iter()
        .filter(|g| cells.iter().any(|c| c.truth_gate == **g))
        .map(|g| {
            let mut values = Vec::new();
            let mut marks = Vec::new();
            for e in experts {
                let mut vr = Vec::new();
                let mut mr = Vec::new();
                for s in &scales {
                    match cells.iter().find(|c| c.truth_gate == *g && c.expert == e && c.scale == *s) {
                        Some(c) => {
                            // curves apart with a verdict: the ratio lies beyond the range, so the
                            // colour saturates on the winner's side
                            let judged = super::comparison::is_judged(c.quantity);
                            let beyond = match (judged && !c.log2_ratio.is_finite(), c.comparison.verdict) {
                                (true, ComparativeVerdict::SigmoidBetter) => Some(SATURATION),
                                (true, ComparativeVerdict::SoftmaxBetter) => Some(-SATURATION),
                                _ => None,
                            };
                            vr.push(beyond.unwrap_or(c.log2_ratio));
                            mr.push(format!(
                                "{}\n{}",
                                if judged { mark(c.comparison.verdict) } else { "not judged" },
                                match beyond {
                                    Some(_) => "beyond range".to_string(),
                                    None if c.log2_ratio.is_finite() => format!("{:+.1}", c.log2_ratio),
                                    None => "–".into(),
                                }
                            ));
                        }
                        None => {
                            vr.push(f64::NAN);
                            mr.push("not run".into());
                        }
                    }
                }
                values.push(vr);
                marks.push(mr);
            }
            Heatmap {
                title: format!("{g} truth: {what}"),
                x_label: "gate-slope variance nu_g (units of 1/d)".into(),
                y_label: "experts".into(),
                x_labels: scales.iter().map(|s| format!("{s}")).collect(),
                y_labels: experts.iter().map(|e| e.to_string()).collect(),
                values,
                marks,
                legend: "colour: median log2 n_softmax / n_sigmoid (blue: sigmoid needs fewer samples)".into(),
                saturation: SATURATION,
            }
        })
        .collect()
}

/// The table of figures/phase_diagram.md.
pub fn phase_markdown(cells: &[PhaseCell]) -> String {
    let mut s = String::from("| truth gate | experts | nu_g (1/d) | quantity | median log2 n_softmax / n_sigmoid | levels: log2 ratio [95% CI] | slope difference sigmoid − softmax [95% CI] | verdict |\n|---|---|---|---|---|---|---|---|\n");
    for c in cells {
        let cmp = &c.comparison.comparison;
        let levels = super::comparison::levels_text(&c.comparison);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} [{}, {}] | **{}** |",
            c.truth_gate,
            c.expert,
            c.scale,
            c.quantity,
            f2(c.log2_ratio),
            levels,
            f2(cmp.slope_diff),
            f2(cmp.slope_diff_low),
            f2(cmp.slope_diff_high),
            super::comparison::stated_verdict(c.quantity, c.comparison.verdict)
        );
    }
    s
}

/// A grid of coloured cells: `values[row][column]` (rows are `y_labels`, columns `x_labels`),
/// each cell coloured by its value on a diverging scale (positive blue, negative orange, NaN
/// grey) and labelled with `marks[row][column]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_labels: Vec<String>,
    pub y_labels: Vec<String>,
    pub values: Vec<Vec<f64>>,
    pub marks: Vec<Vec<String>>,
    /// What the colour means, printed under the grid.
    pub legend: String,
    /// |value| at which the colour saturates.
    pub saturation: f64,
}
