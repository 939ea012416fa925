//! What a reader looks at: figures, Table 1, the rate tables, figures/REPORT.md, the manifest.

use crate::config::Experiment;
use crate::figures::{draw_grid, draw_panel, FitLine, Palette, Panel, Point, Series};
use crate::manifest::{Manifest, RunInfo, VerifyProblem};
use crate::pipeline::{summary, Paths, Result, SummaryRow};
use crate::rows::RateRow;
use crate::store;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Files recorded in the manifest but kept out of git (bulky); `verify` reports them as absent
/// from a git checkout rather than as a failure.
pub fn archive_only(key: &str) -> bool {
    key.ends_with("/params.parquet")
}

fn palette(gate: &str) -> Palette {
    if gate == "softmax" {
        Palette::Softmax
    } else {
        Palette::Sigmoid
    }
}

fn points(sum: &[SummaryRow], setting: &str, gate: &str, est: &str, q: &str) -> Vec<Point> {
    sum.iter()
        .filter(|r| r.setting == setting && r.gate_fit == gate && r.estimator == est && r.quantity == q && r.reps > 0)
        .map(|r| Point { n: r.n as f64, mean: r.mean, sd: if r.sd.is_finite() { r.sd } else { 0.0 } })
        .collect()
}

fn rate<'a>(rates: &'a [RateRow], setting: &str, gate: &str, est: &str, q: &str) -> Option<&'a RateRow> {
    rates.iter().find(|r| r.setting == setting && r.gate_fit == gate && r.estimator == est && r.loss_name == q && r.method == "log_mean")
}

fn fit_line(r: Option<&RateRow>) -> Option<FitLine> {
    r.map(|r| FitLine { c: r.intercept.exp(), s: -r.slope })
}

struct Loaded {
    sum: Vec<SummaryRow>,
    rates: Vec<RateRow>,
}

fn load(exp: &Experiment, root: &Path) -> Result<Loaded> {
    let p = Paths::new(root, exp);
    let fits = store::read_fits(&p.fits())?;
    Ok(Loaded { sum: summary(exp, &fits), rates: store::read_rates(&p.rates())? })
}

/// Figure stems of an experiment (relative to figures/), with captions, in drawing order.
pub fn figure_list(exp: &Experiment) -> Vec<(String, String)> {
    let id = exp.id();
    let mut out = Vec::new();
    for (e, _) in &exp.estimators {
        out.push((
            format!("{id}_{e}"),
            format!("{id}, estimator `{e}`: mean Voronoi loss over replications against n (one panel per setting)"),
        ));
        out.push((format!("{id}_l2_{e}"), format!("{id}, estimator `{e}`: ||f_hat - f_target||_L2(mu) against n")));
    }
    if exp.estimators.len() > 1 {
        out.push((
            format!("{id}_estimators"),
            format!("{id}: the same loss under each estimator, and at the starting point (grey): how much of the picture is the optimiser or the initialisation?"),
        ));
    }
    let both_gates =
        exp.settings.iter().any(|s| s.fits.iter().any(|f| f.gate.name() == "sigmoid") && s.fits.iter().any(|f| f.gate.name() == "softmax"));
    if both_gates {
        for (e, _) in &exp.estimators {
            out.push((
                format!("{id}_gates_{e}"),
                format!("{id}, estimator `{e}`: sigmoid against softmax gating on the same data, largest expert error (left) and L2 error (right) per setting; read horizontally, the n each gate needs for a given error (figures/sample_complexity.md)"),
            ));
        }
    }
    for (e, _) in &exp.estimators {
        out.push((
            format!("{id}_atoms_{e}"),
            format!("{id}, estimator `{e}`: per-atom errors, largest over over-fitted atoms (parameters d_beta1 + d_eta, and experts sup_x |h - h_target|) and over singly fitted atoms"),
        ));
    }
    out
}

const ATOM_QUANTITIES: [(&str, &str); 4] = [
    ("param_err_over", "parameters, over-fitted atoms"),
    ("param_err_single", "parameters, singly fitted atoms"),
    ("expert_err_over", "experts, over-fitted atoms"),
    ("expert_err_single", "experts, singly fitted atoms"),
];

/// Draw every figure of the experiments; returns the number of files written.
pub fn figures(exps: &[Experiment], root: &Path) -> Result<usize> {
    let dir = root.join("figures");
    let mut written = 0;
    for exp in exps {
        let id = exp.id();
        let Loaded { sum, rates } = load(exp, root)?;
        for (est, _) in &exp.estimators {
            let mut loss_panels = Vec::new();
            let mut l2_panels = Vec::new();
            for s in &exp.settings {
                let expert = s.recipe.params().expert;
                let mut series = Vec::new();
                let mut l2_series = Vec::new();
                for f in &s.fits {
                    let gate = f.gate.name();
                    let q = f.losses[0].name();
                    series.push(Series {
                        label: format!("{gate} fit: {q} to {}", f.target.label()),
                        palette: palette(gate),
                        points: points(&sum, &s.name, gate, est, &q),
                        fit: fit_line(rate(&rates, &s.name, gate, est, &q)),
                        dashed: false,
                    });
                    l2_series.push(Series {
                        label: format!("{gate} fit to {}", f.target.label()),
                        palette: palette(gate),
                        points: points(&sum, &s.name, gate, est, "l2_error"),
                        fit: fit_line(rate(&rates, &s.name, gate, est, "l2_error")),
                        dashed: false,
                    });
                }
                let panel = Panel {
                    title: format!("{id} {}: {expert} experts ({est})", s.name),
                    y_label: "Voronoi loss (mean over replications)".into(),
                    x_label: "sample size n".into(),
                    series,
                };
                written += draw_panel(&panel, &dir.join(format!("{id}_{}_{est}", s.name)))?.len();
                loss_panels.push(panel);
                l2_panels.push(Panel {
                    title: format!("{id} {}: {expert} experts ({est})", s.name),
                    y_label: "L2(mu) error of the regression function".into(),
                    x_label: "sample size n".into(),
                    series: l2_series,
                });
            }
            let cols = loss_panels.len().min(2);
            written += draw_grid(&loss_panels, cols, &dir.join(format!("{id}_{est}")))?.len();
            written += draw_grid(&l2_panels, cols, &dir.join(format!("{id}_l2_{est}")))?.len();
        }
        for (est, _) in &exp.estimators {
            let mut panels = Vec::new();
            for s in &exp.settings {
                let gates: Vec<&str> = s.fits.iter().map(|f| f.gate.name()).collect();
                if !(gates.contains(&"sigmoid") && gates.contains(&"softmax")) {
                    continue;
                }
                for (q, what) in
                    [("expert_err", "largest expert error sup_x |h - h_target|"), ("l2_error", "L2(mu) error of the regression function")]
                {
                    let series = s
                        .fits
                        .iter()
                        .map(|f| Series {
                            label: format!("{} fit to {}", f.gate, f.target.label()),
                            palette: palette(f.gate.name()),
                            points: points(&sum, &s.name, f.gate.name(), est, q),
                            fit: fit_line(rate(&rates, &s.name, f.gate.name(), est, q)),
                            dashed: false,
                        })
                        .collect();
                    panels.push(Panel {
                        title: format!("{id} {}: {q} ({est})", s.name),
                        y_label: what.into(),
                        x_label: "sample size n".into(),
                        series,
                    });
                }
            }
            if !panels.is_empty() {
                written += draw_grid(&panels, 2, &dir.join(format!("{id}_gates_{est}")))?.len();
            }
        }
        for (est, _) in &exp.estimators {
            let mut panels = Vec::new();
            for s in &exp.settings {
                for f in &s.fits {
                    let gate = f.gate.name();
                    let series: Vec<Series> = ATOM_QUANTITIES
                        .iter()
                        .enumerate()
                        .map(|(i, (q, label))| Series {
                            label: label.to_string(),
                            palette: Palette::Other(i),
                            points: points(&sum, &s.name, gate, est, q),
                            fit: fit_line(rate(&rates, &s.name, gate, est, q)),
                            dashed: i >= 2,
                        })
                        .filter(|s| s.points.len() >= 2)
                        .collect();
                    if !series.is_empty() {
                        panels.push(Panel {
                            title: format!("{id} {}: {gate} fit ({est})", s.name),
                            y_label: "largest per-atom error".into(),
                            x_label: "sample size n".into(),
                            series,
                        });
                    }
                }
            }
            if !panels.is_empty() {
                let cols = panels.len().min(2);
                written += draw_grid(&panels, cols, &dir.join(format!("{id}_atoms_{est}")))?.len();
            }
        }
        if exp.estimators.len() > 1 {
            let mut panels = Vec::new();
            for s in &exp.settings {
                for f in &s.fits {
                    let gate = f.gate.name();
                    let q = f.losses[0].name();
                    let mut series: Vec<Series> = exp
                        .estimators
                        .iter()
                        .enumerate()
                        .map(|(i, (est, _))| Series {
                            label: est.to_string(),
                            palette: if i == 0 { palette(gate) } else { Palette::Other(i - 1) },
                            points: points(&sum, &s.name, gate, est, &q),
                            fit: fit_line(rate(&rates, &s.name, gate, est, &q)),
                            dashed: i > 0,
                        })
                        .collect();
                    let start = points(&sum, &s.name, gate, &exp.estimators[0].0, &format!("start:{q}"));
                    if start.len() >= 2 {
                        series.push(Series {
                            label: "at the start".into(),
                            palette: Palette::Other(7),
                            points: start,
                            fit: None,
                            dashed: true,
                        });
                    }
                    panels.push(Panel {
                        title: format!("{id} {}: {gate} fit, {q}", s.name),
                        y_label: format!("{q} (mean over replications)"),
                        x_label: "sample size n".into(),
                        series,
                    });
                }
            }
            let cols = panels.len().min(2);
            written += draw_grid(&panels, cols, &dir.join(format!("{id}_estimators")))?.len();
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
    for r in rates.iter().filter(|r| r.method == "log_mean") {
        let all = rates
            .iter()
            .find(|a| {
                a.method == "all_reps"
                    && a.setting == r.setting
                    && a.gate_fit == r.gate_fit
                    && a.estimator == r.estimator
                    && a.loss_name == r.loss_name
                    && a.experiment == r.experiment
            })
            .map(|a| fmt_num(a.slope))
            .unwrap_or_default();
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

/// CSV of every rate row (both methods).
pub fn rates_csv(rates: &[RateRow]) -> String {
    let mut s = String::from("experiment,setting,expert,gate_fit,estimator,quantity,method,slope,se,boot_se,ci_low,ci_high,intercept,n_min,n_max,n_values,reps,excluded,theory,theory_label,verdict,log_rate_q,delta_aic\n");
    for r in rates {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{},{},{},{},{},{},\"{}\",{},{:.4},{:.4}",
            r.experiment,
            r.setting,
            r.expert,
            r.gate_fit,
            r.estimator,
            r.loss_name,
            r.method,
            r.slope,
            r.se,
            r.boot_se,
            r.ci_low,
            r.ci_high,
            r.intercept,
            r.n_min,
            r.n_max,
            r.n_values,
            r.reps,
            r.excluded,
            r.theory,
            r.theory_label.replace('"', "'"),
            r.verdict,
            r.log_rate_q,
            r.delta_aic
        );
    }
    s
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

/// Write figures/table1.md, figures/table1.csv and figures/REPORT.md.
pub fn tables(exps: &[Experiment], root: &Path) -> Result<()> {
    let dir = root.join("figures");
    std::fs::create_dir_all(&dir)?;
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
    crate::manifest::atomic_write_bytes(&dir.join("table1.md"), t1.as_bytes())?;
    crate::manifest::atomic_write_bytes(&dir.join("table1.csv"), rates_csv(&all_rates).as_bytes())?;
    let claims = crate::analysis::claims_markdown(exps, &all_rates);
    crate::manifest::atomic_write_bytes(&dir.join("claims.md"), format!("# Claims of the paper against the data\n\n{claims}").as_bytes())?;
    let complexity = crate::analysis::sample_complexity_markdown(exps, root)?;
    crate::manifest::atomic_write_bytes(
        &dir.join("sample_complexity.md"),
        format!("# Sample size needed to reach an error eps, sigmoid against softmax gating on the same data\n\nn(eps) inverts the fitted curve (log of the mean error on log n); intervals are bootstrap 95% (replications resampled within each n). The expert error is the largest sup_x |h(x; eta_hat) - h(x; eta_target)| over atoms; each gate is scored against its own target (G*, or G_bar for a misspecified fit). Rows marked extrapolated lie outside the n range run.\n{complexity}").as_bytes(),
    )?;
    let sensitivity = crate::analysis::sensitivity_markdown(exps, &all_rates);
    crate::manifest::atomic_write_bytes(
        &dir.join("sensitivity.md"),
        format!("# Sensitivity of the slopes to the initialisation and the optimiser\n{sensitivity}").as_bytes(),
    )?;

    let mut r = String::from("# Report: Sigmoid gating is more sample efficient than softmax gating (NeurIPS 2024), replicated\n\n");
    r.push_str("Generated by `smoe tables` from the files under data/; do not edit by hand. Every number traces back to data/<experiment>/fits.parquet, its config in workflow/ and the commit in data/manifest.json.\n\n");
    r.push_str("## Protocol in brief\n\nSee docs/PROTOCOL.md for every choice the paper leaves open and why. Each fit starts near the truth (the split atom duplicated, its gate mass shared), is run by the paper-faithful SGD and by a converged L-BFGS least-squares fit, and is scored by the Voronoi loss of its setting against G* (or G_bar, the L2 projection of f*, in Regime 2 and for the misspecified sigmoid fit of a softmax truth). Points are means over replications; error bars span ±2 standard deviations; a bar whose lower end (mean − 2 sd) is not positive is clipped at the bottom of the panel and ends in a downward arrowhead. Lines are OLS fits of log(mean loss) on log(n), labelled C n^-s.\n\n");
    r.push_str("## Claims\n\nEvery claim of the paper with the experiment that tests it (full table: [claims.md](claims.md); sample sizes: [sample_complexity.md](sample_complexity.md); sensitivity: [sensitivity.md](sensitivity.md)).\n\n");
    r.push_str(&claims);
    let settling = gbar_settling_markdown(exps, &loaded, root);
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
        for (stem, caption) in figure_list(exp) {
            let _ = writeln!(r, "![{caption}]({stem}.png)\n\n*{caption}.*\n");
        }
        r.push_str(&rates_markdown(&l.rates));
        r.push('\n');
        let nc: usize = l.sum.iter().filter(|s| s.quantity == "l2_error").map(|s| s.not_converged).sum();
        let ex: usize = l.sum.iter().filter(|s| s.quantity == "l2_error").map(|s| s.excluded).sum();
        let em: usize = l.sum.iter().filter(|s| s.quantity == "l2_error").map(|s| s.empty_cells).sum();
        let _ = writeln!(r, "Fits that stopped before their convergence test: {nc}; fits excluded from rates (diverged or non-finite): {ex}; fits leaving a Voronoi cell empty: {em}. Per-cell counts: `data/{}/summary.csv`.\n", exp.id());
        let gb = Paths::new(root, exp).gbar_check();
        if let Ok(text) = std::fs::read_to_string(&gb) {
            if text.lines().count() > 1 {
                let _ = writeln!(r, "G_bar settling check (`data/{}/gbar_check.csv`): D3 and L2 distance between G_bar fitted on n_ref and on check_n_ref reference points (shift), and how far G_bar moved in the second half of its iteration budget (drift); both must be far below the smallest loss measured.\n\n```\n{}```\n", exp.id(), text);
            }
        }
    }
    crate::manifest::atomic_write_bytes(&dir.join("REPORT.md"), r.as_bytes())?;
    Ok(())
}

/// Largest fraction of the smallest mean D3 by which G_bar may move for D3 to be read as a rate.
pub const GBAR_SETTLED_FRACTION: f64 = 0.1;

pub const GBAR_RULE: &str = "For every G_bar: how far it moved in the second half of its iteration budget (drift) and between two independent reference samples (shift), in D3, against the smallest mean D3 measured against it (any estimator, any n). *Settled* when both are at most 10% of that smallest value; otherwise D3, and every parameter error measured against this G_bar, carries an uncertainty of that size from the target itself. *Settled* is only a lower bound on that uncertainty: a G_bar sliding slowly along a valley can move little over one budget and far over a longer one (docs/PROTOCOL.md section 4: E3's ReLU G_bar moves by D3 = 3.0 between 2000 and 4000 iterations).";

/// One G_bar's settling numbers against the smallest loss measured against it.
#[derive(Clone, Debug, PartialEq)]
pub struct GbarSettling {
    pub setting: String,
    pub gate: String,
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

/// Parse `gbar_check.csv` and pair each G_bar with the smallest mean D3 of its (setting, gate).
pub fn gbar_settling(check_csv: &str, sum: &[SummaryRow]) -> Vec<GbarSettling> {
    let mut lines = check_csv.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let cols: Vec<&str> = header.split(',').collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(is), Some(ig), Some(idr), Some(ish)) = (col("setting"), col("gate"), col("d3_drift"), col("d3_shift")) else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let v: Vec<&str> = line.split(',').collect();
            let (setting, gate) = (v.get(is)?.to_string(), v.get(ig)?.to_string());
            let smallest_d3 = sum
                .iter()
                .filter(|r| r.setting == setting && r.gate_fit == gate && r.quantity == "D3" && r.mean.is_finite())
                .map(|r| r.mean)
                .fold(f64::INFINITY, f64::min);
            Some(GbarSettling { d3_drift: v.get(idr)?.parse().ok()?, d3_shift: v.get(ish)?.parse().ok()?, smallest_d3, setting, gate })
        })
        .collect()
}

fn gbar_settling_markdown(exps: &[Experiment], loaded: &[Loaded], root: &Path) -> String {
    let mut s = String::new();
    for (exp, l) in exps.iter().zip(loaded) {
        let Ok(text) = std::fs::read_to_string(Paths::new(root, exp).gbar_check()) else { continue };
        for g in gbar_settling(&text, &l.sum) {
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
    s
}

/// Record every output file and the run description in data/manifest.json.
pub fn write_manifest(exps: &[Experiment], root: &Path, command: &str, wall_s: f64) -> Result<usize> {
    let mut m = Manifest::default();
    let mut files: Vec<PathBuf> = Vec::new();
    for exp in exps {
        let p = Paths::new(root, exp);
        for f in [p.fits(), p.params(), p.rates(), p.summary(), p.gbar_check(), p.fingerprint_file()] {
            if f.exists() {
                files.push(f);
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(root.join("figures")) {
        let mut figs: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
        figs.sort();
        files.extend(figs);
    }
    for f in &files {
        m.record_file(root, f)?;
    }
    let configs: Vec<PathBuf> = exps.iter().map(|e| e.path.clone()).collect();
    m.run = RunInfo::collect(root, &configs, command, wall_s);
    m.save(&root.join("data").join("manifest.json"))?;
    Ok(files.len())
}

/// Check the files of data/manifest.json. Archive-only files absent from a git checkout are
/// reported on stderr but are not problems.
pub fn verify(root: &Path) -> Result<Vec<VerifyProblem>> {
    let m = Manifest::load(&root.join("data").join("manifest.json"))?;
    Ok(m.verify(root)
        .into_iter()
        .filter(|p| match p {
            VerifyProblem::Missing { path } if archive_only(path) => {
                eprintln!("verify: {path} is archive-only (not in git); `make all` or the dist archive provides it");
                false
            }
            _ => true,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(setting: &str, gate: &str, quantity: &str, mean: f64) -> SummaryRow {
        SummaryRow {
            experiment: "E".into(),
            setting: setting.into(),
            gate_fit: gate.into(),
            estimator: "lbfgs".into(),
            quantity: quantity.into(),
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
    /// are ignored.
    #[test]
    fn gbar_settling_uses_the_smallest_matching_d3() {
        let csv = "setting,gate,n_ref,d3_shift,l2_shift,d3_drift,l2_drift\nrelu,sigmoid,100,0.05,1e-5,0.2,1e-5\nlin,sigmoid,100,0.01,1e-5,0.02,1e-5\n";
        let sum = vec![
            row("relu", "sigmoid", "D3", 4.0),
            row("relu", "sigmoid", "D3", 1.0),
            row("relu", "sigmoid", "start:D3", 0.1),
            row("relu", "softmax", "D3", 0.1),
            row("lin", "sigmoid", "D3", 0.5),
        ];
        let g = gbar_settling(csv, &sum);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].setting.as_str(), g[0].smallest_d3, g[0].d3_drift, g[0].d3_shift), ("relu", 1.0, 0.2, 0.05));
        assert!((g[0].fraction() - 0.2).abs() < 1e-15);
        assert_eq!(g[0].verdict(), "not settled");
        assert!((g[1].fraction() - 0.04).abs() < 1e-15);
        assert_eq!(g[1].verdict(), "settled");
    }
}
