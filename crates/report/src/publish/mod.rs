//! What a reader looks at: the figures of [`catalog::figure_specs`], Table 1, the rate tables,
//! the claims, sample-size and sensitivity tables, and figures/REPORT.md.

pub mod catalog;

use crate::analysis::{claims_markdown, sample_complexity_markdown, sensitivity_markdown, summary, Results};
use crate::error::{ReportError, Result};
use crate::figures::{draw_grid, draw_panel};
use crate::rows::{find_rate, NRange, RateRow, SummaryRow};
use crate::store;
use catalog::{figure_specs, panels, Layout};
use serde::{Deserialize, Serialize, Serializer};
use smoe_experiment::fsio::atomic_write_bytes;
use smoe_experiment::paths::Root;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::Quantity;
use smoe_metrics::RateMethod;
use smoe_model::{Expert, Gate};
use std::fmt::Write as _;
use std::path::Path;

/// Read an experiment's fits and rates (the summary is recomputed from the fits).
pub fn load(exp: &Experiment, root: &Root) -> Result<Results> {
    let p = root.paths(exp);
    let fits = store::read_fits(&p.fits())?;
    Ok(Results { sum: summary(exp, &fits), rates: store::read_rates(&p.rates())?, fits })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write_bytes(path, bytes).map_err(ReportError::io(path))
}

/// Draw every figure of the experiments; returns the number of files written.
pub fn figures(exps: &[Experiment], root: &Root) -> Result<usize> {
    let dir = root.figures_dir();
    let mut written = 0;
    for exp in exps {
        let loaded = load(exp, root)?;
        for spec in figure_specs(exp) {
            let panels = panels(exp, &spec, &loaded);
            let stem = dir.join(&spec.stem);
            written += match (spec.layout, panels.as_slice()) {
                (_, []) => continue,
                (Layout::Single, [panel]) => draw_panel(panel, &stem)?.len(),
                _ => draw_grid(&panels, 2, &stem)?.len(),
            };
        }
    }
    Ok(written)
}

fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.2}")
    }
}

/// Markdown table of rates (the paper's log-of-mean method; the all-replications slope beside it).
pub fn rates_markdown(rates: &[RateRow]) -> String {
    let mut s = String::from(
        "| experiment | setting | expert | fit | estimator | quantity | theory | slope (log mean) ± se | bootstrap 95% CI | slope (all reps) | log-rate q, ΔAIC | n range | reps | excluded | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rates.iter().filter(|r| r.method == RateMethod::LogMean && r.n_range == NRange::Full) {
        let all = find_rate(rates, &r.key().with(RateMethod::AllReps, NRange::Full)).map(|a| fmt_num(a.slope)).unwrap_or_default();
        let theory = if r.theory.is_nan() { r.theory_label.clone() } else { format!("{} ({})", fmt_num(r.theory), r.theory_label) };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} ± {} | [{}, {}] | {} | {}, {} | {:.0}–{:.0} | {} | {} | {} |",
            r.experiment,
            r.setting,
            r.expert,
            r.gate_fit,
            r.estimator,
            r.loss_name,
            theory,
            fmt_num(r.slope),
            fmt_num(r.se),
            fmt_num(r.ci_low),
            fmt_num(r.ci_high),
            all,
            fmt_num(r.log_rate_q),
            fmt_num(r.delta_aic),
            r.n_min,
            r.n_max,
            r.reps,
            r.excluded,
            r.verdict
        );
    }
    s
}

/// A row of table1.csv: every rate, numbers rounded for reading.
#[derive(Serialize)]
struct Table1Row<'a> {
    experiment: &'a str,
    setting: &'a str,
    expert: Expert,
    gate_fit: Gate,
    estimator: &'a str,
    quantity: Quantity,
    method: RateMethod,
    n_range: NRange,
    #[serde(serialize_with = "fixed4")]
    slope: f64,
    #[serde(serialize_with = "fixed4")]
    se: f64,
    #[serde(serialize_with = "fixed4")]
    boot_se: f64,
    #[serde(serialize_with = "fixed4")]
    ci_low: f64,
    #[serde(serialize_with = "fixed4")]
    ci_high: f64,
    #[serde(serialize_with = "fixed4")]
    intercept: f64,
    #[serde(serialize_with = "plain")]
    n_min: f64,
    #[serde(serialize_with = "plain")]
    n_max: f64,
    n_values: u32,
    reps: u32,
    excluded: u32,
    #[serde(serialize_with = "plain")]
    theory: f64,
    theory_label: &'a str,
    verdict: &'a str,
    #[serde(serialize_with = "fixed4")]
    log_rate_q: f64,
    #[serde(serialize_with = "fixed4")]
    delta_aic: f64,
}

const TABLE1_HEADER: [&str; 24] = [
    "experiment",
    "setting",
    "expert",
    "gate_fit",
    "estimator",
    "quantity",
    "method",
    "n_range",
    "slope",
    "se",
    "boot_se",
    "ci_low",
    "ci_high",
    "intercept",
    "n_min",
    "n_max",
    "n_values",
    "reps",
    "excluded",
    "theory",
    "theory_label",
    "verdict",
    "log_rate_q",
    "delta_aic",
];

fn fixed4<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:.4}"))
}

fn plain<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl<'a> From<&'a RateRow> for Table1Row<'a> {
    fn from(r: &'a RateRow) -> Self {
        Table1Row {
            experiment: &r.experiment,
            setting: &r.setting,
            expert: r.expert,
            gate_fit: r.gate_fit,
            estimator: &r.estimator,
            quantity: r.loss_name,
            method: r.method,
            n_range: r.n_range,
            slope: r.slope,
            se: r.se,
            boot_se: r.boot_se,
            ci_low: r.ci_low,
            ci_high: r.ci_high,
            intercept: r.intercept,
            n_min: r.n_min,
            n_max: r.n_max,
            n_values: r.n_values,
            reps: r.reps,
            excluded: r.excluded,
            theory: r.theory,
            theory_label: &r.theory_label,
            verdict: &r.verdict,
            log_rate_q: r.log_rate_q,
            delta_aic: r.delta_aic,
        }
    }
}

/// table1.csv: every rate row (all methods and n ranges).
pub fn write_rates_csv(path: &Path, rates: &[RateRow]) -> Result<()> {
    let rows: Vec<Table1Row<'_>> = rates.iter().map(Table1Row::from).collect();
    store::write_csv(path, &TABLE1_HEADER, &rows)
}

const PAPER_TABLE1: &str = "| quantity | sigmoid gate (this paper) | softmax gate (arXiv 2402.02952) |
|---|---|---|
| regression function ‖f_Ĝ − f_G*‖_L2 | (log n / n)^{1/2} (to Ḡ in Regime 2) | (log n / n)^{1/2} |
| ReLU/GELU experts, Regime 1, over-fitted atoms | n^{-1/4} | n^{-1/4} |
| ReLU/GELU experts, Regime 1, singly fitted atoms | n^{-1/2} | n^{-1/2} |
| ReLU/GELU experts, Regime 2 (all atoms) | n^{-1/2} | n^{-1/4} |
| polynomial/linear experts, Regime 1 | slower than any n^{-c} | 1/log n |
| polynomial/linear experts, Regime 2 | n^{-1/2} | 1/log n |
| input-independent experts (a = 0) | 1/log n | 1/log n |
";

/// Write figures/table1.md, figures/table1.csv, the claims, sample-size and sensitivity tables
/// and figures/REPORT.md.
pub fn tables(exps: &[Experiment], root: &Root) -> Result<()> {
    let dir = root.figures_dir();
    std::fs::create_dir_all(&dir).map_err(ReportError::io(&dir))?;
    let mut all_rates = Vec::new();
    let mut loaded = Vec::new();
    for exp in exps {
        let l = load(exp, root)?;
        all_rates.extend(l.rates.iter().cloned());
        loaded.push(l);
    }
    let mut t1 = String::from("# Table 1: claimed rates and measured slopes\n\nThe paper's Table 1 (rates up to log factors; an expert rate is the rate of sup_x |h(x; η̂) − h(x; η*)|):\n\n");
    t1.push_str(PAPER_TABLE1);
    t1.push_str("\nMeasured: slope of log(mean loss over replications) on log(n) (the paper's method), OLS standard error, bootstrap 95% percentile interval over replications, the slope fitted to every replication, and the verdict: *consistent* when the theoretical exponent lies in the 95% interval. A Voronoi loss D converging like n^{-1/2} means over-fitted parameters converge like n^{-1/4} (SPEC §4).\n\n");
    t1.push_str(&rates_markdown(&all_rates));
    write(&dir.join("table1.md"), t1.as_bytes())?;
    write_rates_csv(&dir.join("table1.csv"), &all_rates)?;
    let claims = claims_markdown(exps, &all_rates);
    write(&dir.join("claims.md"), format!("# Claims of the paper against the data\n\n{claims}").as_bytes())?;
    let complexity = sample_complexity_markdown(exps, &loaded);
    write(
        &dir.join("sample_complexity.md"),
        format!("# Sample size needed to reach an error eps, sigmoid against softmax gating on the same data\n\nn(eps) inverts the fitted curve (log of the mean error on log n); intervals are bootstrap 95% (replications resampled within each n). The expert error is the largest sup_x |h(x; eta_hat) - h(x; eta_target)| over atoms; each gate is scored against its own target (G*, or G_bar for a misspecified fit). Rows marked extrapolated lie outside the n range run.\n{complexity}").as_bytes(),
    )?;
    let sensitivity = sensitivity_markdown(exps, &all_rates);
    write(
        &dir.join("sensitivity.md"),
        format!("# Sensitivity of the slopes to the initialisation and the optimiser\n{sensitivity}").as_bytes(),
    )?;

    let mut r = String::from("# Report: Sigmoid gating is more sample efficient than softmax gating (NeurIPS 2024), replicated\n\n");
    r.push_str("Generated by `smoe tables` from the files under data/; do not edit by hand. Every number traces back to data/<experiment>/fits.parquet, its config in workflow/ and the commit in data/manifest.json.\n\n");
    r.push_str("## Protocol in brief\n\nSee docs/PROTOCOL.md for every choice the paper leaves open and why. Each fit starts near the truth (the split atom duplicated, its gate mass shared), is run by the paper-faithful SGD and by a converged L-BFGS least-squares fit, and is scored by the Voronoi loss of its setting against G* (or G_bar, the L2 projection of f*, in Regime 2 and for the misspecified sigmoid fit of a softmax truth). Points are means over replications; error bars span ±2 standard deviations; a bar whose lower end (mean − 2 sd) is not positive is clipped at the bottom of the panel and ends in a downward arrowhead. Lines are OLS fits of log(mean loss) on log(n), labelled C n^-s.\n\n");
    r.push_str("## Claims\n\nEvery claim of the paper with the experiment that tests it (full table: [claims.md](claims.md); sample sizes: [sample_complexity.md](sample_complexity.md); sensitivity: [sensitivity.md](sensitivity.md)).\n\n");
    r.push_str(&claims);
    let settling = gbar_settling_markdown(exps, &loaded, root)?;
    if !settling.is_empty() {
        r.push_str("\n## Is G_bar settled?\n\n");
        r.push_str(GBAR_RULE);
        r.push_str("\n\n");
        r.push_str(&settling);
    }
    r.push_str("\n## Sensitivity to initialisation and optimiser\n");
    r.push_str(&sensitivity);
    r.push_str("\n## Sample size for a given error (the headline claim)\n");
    r.push_str(&complexity);
    r.push('\n');
    for (exp, l) in exps.iter().zip(&loaded) {
        let _ = writeln!(
            r,
            "## {}: {}\n\nReproduces: {}. Config: `{}`.\n",
            exp.id(),
            exp.config.title,
            exp.config.paper_ref,
            exp.path.display()
        );
        for spec in figure_specs(exp) {
            if let Some(caption) = spec.caption.as_deref().filter(|_| !panels(exp, &spec, l).is_empty()) {
                let _ = writeln!(r, "![{caption}]({}.png)\n\n*{caption}.*\n", spec.stem);
            }
        }
        r.push_str(&rates_markdown(&l.rates));
        r.push('\n');
        let per_fit = || l.sum.iter().filter(|s| s.quantity == Quantity::L2Error);
        let nc: usize = per_fit().map(|s| s.not_converged).sum();
        let ex: usize = per_fit().map(|s| s.excluded).sum();
        let em: usize = per_fit().map(|s| s.empty_cells).sum();
        let _ = writeln!(r, "Fits that stopped before their convergence test: {nc}; fits excluded from rates (diverged or non-finite): {ex}; fits leaving a Voronoi cell empty: {em}. Per-cell counts: `data/{}/summary.csv`.\n", exp.id());
        let gb = root.paths(exp).gbar_check();
        if let Ok(text) = std::fs::read_to_string(&gb) {
            if text.lines().count() > 1 {
                let _ = writeln!(r, "G_bar settling check (`data/{}/gbar_check.csv`): D3 and L2 distance between G_bar fitted on n_ref and on check_n_ref reference points (shift), and how far G_bar moved in the second half of its iteration budget (drift); both must be far below the smallest loss measured.\n\n```\n{}```\n", exp.id(), text);
            }
        }
    }
    write(&dir.join("REPORT.md"), r.as_bytes())?;
    Ok(())
}

/// Largest fraction of the smallest mean D3 by which G_bar may move for D3 to be read as a rate.
pub const GBAR_SETTLED_FRACTION: f64 = 0.1;

pub const GBAR_RULE: &str = "For every G_bar: how far it moved in the second half of its iteration budget (drift) and between two independent reference samples (shift), in D3, against the smallest mean D3 measured against it (any estimator, any n). *Settled* when both are at most 10% of that smallest value; otherwise D3, and every parameter error measured against this G_bar, carries an uncertainty of that size from the target itself. *Settled* is only a lower bound on that uncertainty: a G_bar sliding slowly along a valley can move little over one budget and far over a longer one (docs/PROTOCOL.md section 4: E3's ReLU G_bar moves by D3 = 3.0 between 2000 and 4000 iterations).";

/// The columns of gbar_check.csv the settling table reads.
#[derive(Clone, Debug, Deserialize)]
pub struct SettlingInput {
    pub setting: String,
    pub gate: Gate,
    pub d3_drift: f64,
    pub d3_shift: f64,
}

/// One G_bar's settling numbers against the smallest loss measured against it.
#[derive(Clone, Debug, PartialEq)]
pub struct GbarSettling {
    pub setting: String,
    pub gate: Gate,
    pub d3_drift: f64,
    pub d3_shift: f64,
    pub smallest_d3: f64,
}

impl GbarSettling {
    /// The larger movement as a fraction of the smallest loss.
    pub fn fraction(&self) -> f64 {
        self.d3_drift.max(self.d3_shift) / self.smallest_d3
    }
    pub fn verdict(&self) -> &'static str {
        if self.fraction() <= GBAR_SETTLED_FRACTION {
            "settled"
        } else {
            "not settled"
        }
    }
}

/// Pair each G_bar of gbar_check.csv with the smallest mean D3 of its (setting, gate).
pub fn gbar_settling(checks: &[SettlingInput], sum: &[SummaryRow]) -> Vec<GbarSettling> {
    checks
        .iter()
        .map(|c| {
            let smallest_d3 = sum
                .iter()
                .filter(|r| r.setting == c.setting && r.gate_fit == c.gate && r.quantity == Quantity::Loss(smoe_metrics::LossKind::D3))
                .map(|r| r.mean)
                .filter(|m| m.is_finite())
                .fold(f64::INFINITY, f64::min);
            GbarSettling { setting: c.setting.clone(), gate: c.gate, d3_drift: c.d3_drift, d3_shift: c.d3_shift, smallest_d3 }
        })
        .collect()
}

fn gbar_settling_markdown(exps: &[Experiment], loaded: &[Results], root: &Root) -> Result<String> {
    let mut s = String::new();
    for (exp, l) in exps.iter().zip(loaded) {
        let path = root.paths(exp).gbar_check();
        if !path.exists() {
            continue;
        }
        for g in gbar_settling(&store::read_csv(&path)?, &l.sum) {
            if s.is_empty() {
                s.push_str("| experiment / setting / fit | D3 drift (second half) | D3 shift (other sample) | smallest mean D3 | ratio | verdict |\n|---|---|---|---|---|---|\n");
            }
            let _ = writeln!(
                s,
                "| {} / {} / {} | {:.3} | {:.3} | {:.3} | {:.0}% | **{}** |",
                exp.id(),
                g.setting,
                g.gate,
                g.d3_drift,
                g.d3_shift,
                g.smallest_d3,
                100.0 * g.fraction(),
                g.verdict()
            );
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(setting: &str, gate: Gate, quantity: Quantity, mean: f64) -> SummaryRow {
        SummaryRow {
            experiment: "E".into(),
            setting: setting.into(),
            gate_fit: gate,
            estimator: "lbfgs".into(),
            quantity,
            n: 1000,
            mean,
            sd: 0.0,
            mcse: 0.0,
            reps: 1,
            excluded: 0,
            not_converged: 0,
            empty_cells: 0,
        }
    }

    /// A hand-worked case: the smallest D3 of the matching (setting, gate) is the yardstick,
    /// the larger of drift and shift is compared with 10% of it; other quantities and settings
    /// are ignored. The CSV is read by header name, extra columns ignored.
    #[test]
    fn gbar_settling_uses_the_smallest_matching_d3() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("gbar_check.csv");
        std::fs::write(
            &path,
            "setting,gate,n_ref,d3_shift,l2_shift,d3_drift,l2_drift\nrelu,sigmoid,100,0.05,1e-5,0.2,1e-5\nlin,sigmoid,100,0.01,1e-5,0.02,1e-5\n",
        )
        .unwrap();
        let d3 = Quantity::Loss(smoe_metrics::LossKind::D3);
        let sum = vec![
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
        assert!((g[1].fraction() - 0.04).abs() < 1e-15);
        assert_eq!(g[1].verdict(), "settled");
        // a malformed file is an error naming it, not an empty table
        std::fs::write(&path, "setting,gate,d3_drift\nrelu,sigmoid,x\n").unwrap();
        let err = store::read_csv::<SettlingInput>(&path).unwrap_err();
        assert!(err.to_string().contains("gbar_check.csv"), "{err}");
    }

    #[test]
    fn csv_headers_name_the_serialised_fields() {
        let r = RateRow {
            experiment: "E".into(),
            setting: "s".into(),
            gate_fit: Gate::Sigmoid,
            expert: Expert::Relu,
            estimator: "sgd".into(),
            loss_name: Quantity::L2Error,
            method: RateMethod::LogMean,
            n_range: NRange::UpperHalf,
            slope: -0.5,
            se: 0.1,
            boot_se: 0.1,
            ci_low: -0.7,
            ci_high: -0.3,
            intercept: 1.0,
            n_min: 1000.0,
            n_max: 100000.0,
            n_values: 5,
            reps: 20,
            excluded: 0,
            theory: -0.5,
            theory_label: "Thm 1, \"quoted\"".into(),
            verdict: "consistent".into(),
            log_rate_q: f64::NAN,
            delta_aic: 3.0,
        };
        assert_eq!(store::csv_header(&Table1Row::from(&r)), TABLE1_HEADER);
        assert_eq!(store::csv_header(&row("s", Gate::Sigmoid, Quantity::L2Error, 1.0)), SummaryRow::HEADER);
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("t.csv");
        write_rates_csv(&path, &[r]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with("E,s,relu,sigmoid,sgd,l2_error,log_mean,upper_half,-0.5000,0.1000,0.1000,-0.7000,-0.3000,1.0000,1000,100000,5,20,0,-0.5,\"Thm 1, \"\"quoted\"\"\",consistent,NaN,3.0000\n"),
            "{text}"
        );
    }
}
