//! What the paper reports (workflow/paper/reported.csv, see its README): its curves as data.

use crate::error::Result;
use crate::store;
use serde::Deserialize;
use smoe_experiment::paths::Root;
use smoe_model::Gate;

/// One curve the paper reports.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct PaperCurve {
    pub id: String,
    pub version: String,
    pub figure: String,
    pub panel: String,
    pub also: String,
    pub experiment: String,
    pub setting: String,
    pub gate_fit: Gate,
    /// The paper's loss: D1, D2 (r not stated), D3 or Dsoftmax (form not stated).
    pub quantity: String,
    pub target: String,
    pub legend: String,
    /// C of the legend's C n^-s (None where the legend gives only the exponent).
    pub coefficient: Option<f64>,
    /// -s of the legend's C n^-s.
    pub exponent: f64,
    pub at_1e3: Option<f64>,
    pub at_1e5: Option<f64>,
    pub read: String,
}

impl PaperCurve {
    /// The reported line at n (None without a coefficient).
    pub fn line(&self, n: f64) -> Option<f64> {
        self.coefficient.map(|c| c * n.powf(self.exponent))
    }

    /// Whether a measured quantity (by its name) reads this curve's loss: D2 is read as D2 with any
    /// r, Dsoftmax as either softmax form.
    pub fn matches_quantity(&self, q: &str) -> bool {
        match self.quantity.as_str() {
            "D2" => q.starts_with("D2_r"),
            "Dsoftmax" => q == "Dsoftmax" || q == "Dsoftmax_r1",
            other => q == other,
        }
    }
}

/// The reported curves (empty if the file is absent, e.g. a root without the workflow folder).
pub fn reported(root: &Root) -> Result<Vec<PaperCurve>> {
    let path = root.dir.join("workflow").join("paper").join("reported.csv");
    if !path.exists() {
        return Ok(Vec::new());
    }
    store::read_csv(&path)
}
