//! Is G_bar settled? Each G_bar of gbar_check.csv (its drift over the second half of its budget,
//! its shift to an independent fit) against the smallest loss measured against it, with the
//! reason a G_bar that is not settled gives (docs/PROTOCOL.md 4).

use crate::rows::{SettlingRow, SummaryRow};
use serde::Deserialize;
use smoe_experiment::rows::Quantity;
use smoe_model::Gate;
use std::fmt::Write as _;

/// Largest fraction of the smallest mean D3 by which G_bar may move for D3 to be read as a rate.
pub const GBAR_SETTLED_FRACTION: f64 = 0.01;

/// G_bar reproduces f* when its L2 distance to f* (the square root of its objective) is below
/// this fraction of the smallest mean L2 error measured against it.
pub const REPRODUCED_FRACTION: f64 = 0.01;

/// The reasons [`GbarSettling::why`] gives: settled, or why not.
pub use crate::columns::GBAR_REASONS;

/// The settling rule, in words.
pub const GBAR_RULE: &str = include_str!("../../text/gbar_rule.md");

/// The columns of gbar_check.csv the settling table reads.
#[derive(Clone, Debug, Deserialize)]
pub struct SettlingInput {
    pub setting: String,
    pub gate: Gate,
    pub d3_drift: f64,
    pub d3_shift: f64,
    #[serde(default)]
    pub termination: Option<String>,
    #[serde(default)]
    pub objective: Option<f64>,
    #[serde(default)]
    pub active_walls: Option<u32>,
}

/// One G_bar's settling numbers against the smallest loss measured against it.
#[derive(Clone, Debug, PartialEq)]
pub struct GbarSettling {
    pub setting: String,
    pub gate: Gate,
    pub d3_drift: f64,
    pub d3_shift: f64,
    pub smallest_d3: f64,
    pub termination: String,
    pub objective: f64,
    pub active_walls: u32,
    /// The smallest mean L2 error (to G_bar) measured against this G_bar.
    pub smallest_l2: f64,
}

impl GbarSettling {
    /// The drift in the second half as a fraction of the smallest loss.
    pub fn fraction(&self) -> f64 {
        self.d3_drift / self.smallest_d3
    }
    /// Whether the G_bar settled: its drift in the second half is at most
    /// [`GBAR_SETTLED_FRACTION`] of the smallest loss.
    pub fn settled(&self) -> bool {
        self.smallest_d3.is_finite() && self.fraction() <= GBAR_SETTLED_FRACTION
    }
    /// [`Self::settled`] as the tables write it.
    pub fn verdict(&self) -> &'static str {
        if self.settled() {
            "settled"
        } else {
            "not settled"
        }
    }
    /// Why a G_bar is not settled, read off its own numbers (see [`GBAR_RULE`]).
    pub fn why(&self) -> &'static str {
        let [settled, reproduced, walls, moving] = GBAR_REASONS;
        if self.settled() {
            settled
        } else if self.objective.sqrt() < REPRODUCED_FRACTION * self.smallest_l2 {
            reproduced
        } else if self.active_walls > 0 {
            walls
        } else {
            moving
        }
    }
    /// Its row of data/tables/gbar_settling.csv.
    pub fn row(&self, experiment: &str) -> SettlingRow {
        SettlingRow {
            experiment: experiment.to_string(),
            setting: self.setting.clone(),
            gate_fit: self.gate.name().to_string(),
            termination: self.termination.clone(),
            objective: self.objective,
            active_walls: self.active_walls,
            d3_drift: self.d3_drift,
            d3_shift: self.d3_shift,
            smallest_d3: self.smallest_d3,
            smallest_l2: self.smallest_l2,
            drift_fraction: self.fraction(),
            verdict: self.verdict().to_string(),
            why: self.why().to_string(),
        }
    }
}

/// Pair each G_bar of gbar_check.csv with the smallest mean D3 of its (setting, gate).
pub fn gbar_settling(checks: &[SettlingInput], sum: &[SummaryRow]) -> Vec<GbarSettling> {
    checks
        .iter()
        .map(|c| {
            let smallest = |q: Quantity| {
                sum.iter()
                    .filter(|r| r.setting == c.setting && r.gate_fit == c.gate && r.quantity == q)
                    // where every fit of a cell is degenerate, the mean over all of them
                    .map(|r| if r.mean.is_finite() { r.mean } else { r.mean_all })
                    .filter(|m| m.is_finite())
                    .fold(f64::INFINITY, f64::min)
            };
            let smallest_d3 = smallest(Quantity::Loss(smoe_metrics::LossKind::D3));
            let smallest_l2 = smallest(Quantity::L2Error);
            GbarSettling {
                setting: c.setting.clone(),
                gate: c.gate,
                d3_drift: c.d3_drift,
                d3_shift: c.d3_shift,
                smallest_d3,
                termination: c.termination.clone().unwrap_or_default(),
                objective: c.objective.unwrap_or(f64::NAN),
                active_walls: c.active_walls.unwrap_or(0),
                smallest_l2,
            }
        })
        .collect()
}

/// The settling table (empty when there is no G_bar).
pub fn settling_markdown(rows: &[SettlingRow]) -> String {
    let mut s = String::new();
    for g in rows {
        if s.is_empty() {
            s.push_str("| experiment / setting / fit | termination | objective (L2² to f*) | walls | D3 drift (second half) | D3 shift (other sample) | smallest mean D3 | drift / smallest | verdict | why |\n|---|---|---|---|---|---|---|---|---|---|\n");
        }
        let _ = writeln!(
            s,
            "| {} / {} / {} | {} | {:.2e} | {} | {:.2e} | {:.2e} | {:.3} | {:.1}% | **{}** | {} |",
            g.experiment,
            g.setting,
            g.gate_fit,
            g.termination,
            g.objective,
            g.active_walls,
            g.d3_drift,
            g.d3_shift,
            g.smallest_d3,
            100.0 * g.drift_fraction,
            g.verdict,
            g.why
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

    fn row(setting: &str, gate: Gate, quantity: Quantity, mean: f64) -> SummaryRow {
        SummaryRow::exact("E", setting, gate, "lbfgs", quantity, 1000, mean)
    }

    /// A hand-worked case: the smallest D3 of the matching (setting, gate) is the yardstick, the
    /// drift is compared with 1% of it; other quantities and settings are ignored. The CSV is read
    /// by header name, extra columns ignored; the reason names a zero objective or the walls.
    #[test]
    fn gbar_settling_uses_the_smallest_matching_d3() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("gbar_check.csv");
        std::fs::write(
            &path,
            "setting,gate,n_ref,d3_shift,l2_shift,d3_drift,l2_drift,objective,active_walls\nrelu,sigmoid,100,0.05,1e-5,0.2,1e-5,1e-12,0\nlin,sigmoid,100,0.01,1e-5,0.004,1e-5,1e-8,3\n",
        )
        .unwrap();
        let d3 = Quantity::Loss(smoe_metrics::LossKind::D3);
        let sum = vec![
            row("relu", Gate::Sigmoid, Quantity::L2Error, 0.01),
            row("lin", Gate::Sigmoid, Quantity::L2Error, 1e-5),
            row("relu", Gate::Sigmoid, d3, 4.0),
            row("relu", Gate::Sigmoid, d3, 1.0),
            row("relu", Gate::Sigmoid, Quantity::Start(smoe_metrics::LossKind::D3), 0.1),
            row("relu", Gate::Softmax, d3, 0.1),
            row("lin", Gate::Sigmoid, d3, 0.5),
        ];
        let g = gbar_settling(&store::read_csv(&path).unwrap(), &sum);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].setting.as_str(), g[0].smallest_d3, g[0].d3_drift, g[0].d3_shift), ("relu", 1.0, 0.2, 0.05));
        assert!((g[0].fraction() - 0.2).abs() < 1e-15);
        assert_eq!(g[0].verdict(), "not settled");
        assert_eq!(g[0].why(), "projection not unique (f* reproduced)");
        assert!((g[1].fraction() - 0.008).abs() < 1e-15);
        assert_eq!(g[1].verdict(), "settled");
        let moved = GbarSettling { d3_drift: 0.02, ..g[1].clone() };
        assert_eq!((moved.verdict(), moved.why()), ("not settled", "on the walls of Theta"));
        let free = GbarSettling { active_walls: 0, ..moved };
        assert_eq!(free.why(), "still moving");
        // a malformed file is an error naming it, not an empty table
        std::fs::write(&path, "setting,gate,d3_drift\nrelu,sigmoid,x\n").unwrap();
        let err = store::read_csv::<SettlingInput>(&path).unwrap_err();
        assert!(err.to_string().contains("gbar_check.csv"), "{err}");
    }

    /// The table row carries the settling numbers, the fraction, verdict and reason, and the
    /// markdown prints exactly those.
    #[test]
    fn settling_rows_carry_the_verdict_and_its_reason() {
        let g = GbarSettling {
            setting: "relu".into(),
            gate: Gate::Sigmoid,
            d3_drift: 0.2,
            d3_shift: 0.05,
            smallest_d3: 1.0,
            termination: "max_iters".into(),
            objective: 1e-12,
            active_walls: 0,
            smallest_l2: 0.01,
        };
        let r = g.row("E2");
        assert_eq!((r.experiment.as_str(), r.gate_fit.as_str(), r.verdict.as_str()), ("E2", "sigmoid", "not settled"));
        assert_eq!(r.why, "projection not unique (f* reproduced)");
        assert!((r.drift_fraction - 0.2).abs() < 1e-15);
        let md = settling_markdown(&[r]);
        assert!(md.contains("| E2 / relu / sigmoid | max_iters | 1.00e-12 | 0 | 2.00e-1 | 5.00e-2 | 1.000 | 20.0% | **not settled** | projection not unique (f* reproduced) |"), "{md}");
        assert!(settling_markdown(&[]).is_empty());
    }
}
