//! What a reader looks at: the figures of [`catalog::figure_specs`], Table 1, the rate tables,
//! the claims, sample-size and sensitivity tables, and figures/REPORT.md.

pub mod catalog;
pub mod overlay;

use crate::analysis::{
    across_truths_markdown, base_of, budget_markdown, budget_pairs, claim_rows, claims_markdown, comparison_markdown, comparisons,
    convergence, convergence_markdown, gbar_settling, lower_bound_markdown, lower_bound_rows, own_truth_comparisons, own_truth_markdown,
    phase_cells, phase_heatmaps, phase_markdown, protocol_search_markdown, rate_row_verdict, replication_markdown, run_times,
    run_times_markdown, sensitivity_markdown, settling_markdown, spread_markdown, spread_rows, summary, truth_spread, GateComparison,
    OwnTruthComparison, Results, COMPARISON_RULE, GBAR_RULE, OWN_TRUTH_RULE, REFERENCE_CORES,
};
use crate::dictionary::{Dir, Table, CLAIMS, CONVERGENCE, GBAR_SETTLING, OWN_TRUTH, TABLES, TABLES_DIR, TRUTH_SPREAD};
use crate::error::{ReportError, Result};
use crate::figures::draw_heatmaps;
use crate::figures::{draw_grid, draw_panel};
use crate::paper::{reported, PaperCurve};
use crate::rows::{find_rate, ClaimRow, ConvergenceRow, NRange, OwnTruthRow, RateRow, SettlingRow, SpreadRow, SummaryRow};
use crate::store;
use catalog::{figure_specs, panels, Layout};
use serde::{Serialize, Serializer};
use smoe_experiment::config::Role;
use smoe_experiment::fsio::atomic_write_bytes;
use smoe_experiment::paths::Root;
use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::Quantity;
use smoe_metrics::RateMethod;
use smoe_model::{Expert, Gate};
use std::fmt::Write as _;
use std::path::Path;

/// Read an experiment's fits, rates, floor and pair checks (the summary is recomputed from the
/// fits), with the paper's curves of this experiment.
pub fn load(exp: &Experiment, root: &Root) -> Result<Results> {
    let p = root.paths(exp);
    let fits = store::read_fits(&p.fits())?;
    let floors = if p.floor().exists() { store::read_csv(&p.floor())? } else { Vec::new() };
    let pairs = if p.pair_check().exists() { store::read_csv(&p.pair_check())? } else { Vec::new() };
    let paper: Vec<PaperCurve> = reported(root)?.into_iter().filter(|c| c.experiment == exp.id()).collect();
    Ok(Results { sum: summary(exp, &fits), rates: store::read_rates(&p.rates())?, fits, floors, pairs, paper })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write_bytes(path, bytes).map_err(ReportError::io(path))
}

/// Draw every figure of the experiments; returns the number of files written. The protocol
/// search, truth-variability and phase-diagram experiments are read in tables (and the phase
/// diagram's heatmaps), not drawn one by one.
pub fn figures(exps: &[Experiment], root: &Root) -> Result<usize> {
    let dir = root.figures_dir();
    let mut written = 0;
    for exp in exps.iter().filter(|e| matches!(e.config.role, Role::Main | Role::TwoPoint)) {
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
    written += overlay::draw(exps, root)?;
    Ok(written)
}

fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.2}")
    }
}

/// Markdown table of rates (the paper's log-of-mean method; the all-replications slope beside it),
/// with the verdict `verdict` gives each row (the claims table's, [`crate::analysis::rate_row_verdict`]).
pub fn rates_markdown(rates: &[RateRow], verdict: impl Fn(&RateRow) -> String) -> String {
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
            verdict(r)
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
    verdict: String,
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
            verdict: r.verdict.clone(),
            log_rate_q: r.log_rate_q,
            delta_aic: r.delta_aic,
        }
    }
}

/// table1.csv: every rate row (all methods and n ranges), with the verdict `verdict` gives it.
pub fn write_rates_csv(path: &Path, rates: &[RateRow], verdict: impl Fn(&RateRow) -> String) -> Result<()> {
    let rows: Vec<Table1Row<'_>> = rates.iter().map(|r| Table1Row { verdict: verdict(r), ..Table1Row::from(r) }).collect();
    store::write_csv(path, &TABLE1_HEADER, &rows)
}

const PAPER_TABLE1: &str = include_str!("../../text/paper_table1.md");

// The prose of the pages, in crates/report/text/.
const REPORT_PREAMBLE: &str = include_str!("../../text/report_preamble.md");
const REPORT_PROTOCOL: &str = include_str!("../../text/report_protocol.md");
const TABLE1_MEASURED: &str = include_str!("../../text/table1_measured.md");
const REPORT_CLAIMS: &str = include_str!("../../text/report_claims.md");
const TRUTH_SPREAD_INTRO: &str = include_str!("../../text/truth_spread_intro.md");
const LOWER_BOUND_INTRO: &str = include_str!("../../text/lower_bound_intro.md");
const REPORT_SENSITIVITY: &str = include_str!("../../text/report_sensitivity.md");

/// What the pages read: the loaded results sorted by role, and what several pages share.
struct Inputs<'a> {
    root: &'a Root,
    dir: std::path::PathBuf,
    all: Vec<(&'a Experiment, &'a Results)>,
    main: Vec<(&'a Experiment, &'a Results)>,
    search: Vec<(&'a Experiment, &'a Results)>,
    truths: Vec<(&'a Experiment, &'a Results)>,
    lower: Vec<(&'a Experiment, &'a Results)>,
    phase: Vec<(&'a Experiment, &'a Results)>,
    main_exps: Vec<Experiment>,
    main_rates: Vec<RateRow>,
    truth_exps: Vec<Experiment>,
    truth_rates: Vec<RateRow>,
    lower_exps: Vec<Experiment>,
    spread: crate::analysis::TruthSpread,
    lb_rows: Vec<crate::analysis::LowerBoundRow>,
    lb_tables: String,
    comps: Vec<GateComparison>,
    unsettled: crate::analysis::Unsettled,
    /// Every G_bar of the main experiments against the losses measured against it.
    settling: Vec<SettlingRow>,
    /// The paper's own comparison among the main experiments and the phase columns (computed
    /// once: sample_complexity.md prints all of it, phase_diagram.md the phase columns').
    own: Vec<OwnTruthComparison>,
}

impl Inputs<'_> {
    /// The verdict beside a rate: the claims table's for the same curve (one rule).
    fn verdict_of(&self, r: &RateRow) -> String {
        if self.lower_exps.iter().any(|e| e.id() == r.experiment) {
            "lower-bound experiment: see claims.md".into()
        } else {
            rate_row_verdict(&self.main_exps, r, &self.main_rates, &self.spread, "–")
        }
    }
}

/// A page's output: files of figures/ (name, text), the typed tables of data/tables/ it derives
/// (the table, its CSV bytes), and the section it adds to REPORT.md.
#[derive(Default)]
struct Page {
    files: Vec<(&'static str, String)>,
    data: Vec<(&'static Table, Vec<u8>)>,
    report: Option<String>,
}

impl Page {
    /// One file, `# title` over `body`, whose body is also REPORT.md's section `## heading`.
    fn section(file: &'static str, title: &str, heading: &str, body: String) -> Page {
        Page { files: vec![(file, format!("# {title}\n\n{body}"))], data: Vec::new(), report: Some(format!("\n## {heading}\n\n{body}\n")) }
    }
}

/// The pages, in REPORT.md's order. A new table is one function here and one entry in this list;
/// a page that does not apply to the experiments given returns an empty `Page`.
const PAGES: [fn(&Inputs<'_>) -> Result<Page>; 10] = [
    table1_page,
    claims_page,
    sample_complexity_page,
    convergence_page,
    run_times_page,
    truth_spread_page,
    lower_bound_page,
    replication_page,
    phase_page,
    sensitivity_page,
];

/// Write figures/table1.md, figures/table1.csv, the claims, convergence, comparison, truth-spread,
/// lower-bound, replication, protocol-search, phase-diagram and sensitivity tables and
/// figures/REPORT.md ([`PAGES`]). Each table is written only when the experiments it reads are given.
pub fn tables(exps: &[Experiment], root: &Root) -> Result<()> {
    let dir = root.figures_dir();
    std::fs::create_dir_all(&dir).map_err(ReportError::io(&dir))?;
    let mut loaded = Vec::new();
    for exp in exps {
        loaded.push(load(exp, root)?);
    }
    let all: Vec<(&Experiment, &Results)> = exps.iter().zip(&loaded).collect();
    let of = |r: fn(&Role) -> bool| all.iter().filter(move |(e, _)| r(&e.config.role)).copied().collect::<Vec<_>>();
    let (main, search, truths, lower, phase) = (
        of(|r| *r == Role::Main),
        of(|r| *r == Role::ProtocolSearch),
        of(|r| matches!(r, Role::TruthVariability { .. })),
        of(|r| *r == Role::TwoPoint),
        of(|r| *r == Role::PhaseColumn),
    );
    let main_exps: Vec<Experiment> = main.iter().map(|(e, _)| (*e).clone()).collect();
    let main_rates: Vec<RateRow> = main.iter().flat_map(|(_, l)| l.rates.iter().cloned()).collect();
    let truth_rates: Vec<RateRow> = truths.iter().flat_map(|(_, l)| l.rates.iter().cloned()).collect();
    let truth_exps: Vec<Experiment> = truths.iter().map(|(e, _)| (*e).clone()).collect();
    let spread = truth_spread(&truth_exps, &truth_rates);
    let lower_exps: Vec<Experiment> = lower.iter().map(|(e, _)| (*e).clone()).collect();
    let mut lb_rows = Vec::new();
    let mut lb_tables = String::new();
    for (exp, l) in &lower {
        lb_rows.extend(lower_bound_rows(exp, &l.fits, &l.pairs, exp.config.rates.n_boot));
        lb_tables.push_str(&lower_bound_markdown(exp, &l.fits, &l.pairs));
    }
    let comps: Vec<GateComparison> = main.iter().flat_map(|(e, l)| comparisons(e, &l.fits)).collect();
    let mut settling = Vec::new();
    for (exp, l) in &main {
        let path = root.paths(exp).gbar_check();
        if path.exists() {
            settling.extend(gbar_settling(&store::read_csv(&path)?, &l.sum).iter().map(|g| g.row(exp.id())));
        }
    }
    let unsettled: crate::analysis::Unsettled = settling
        .iter()
        .filter(|g| g.verdict != "settled")
        .map(|g| ((g.experiment.clone(), g.setting.clone(), g.gate_fit.clone()), g.why.clone()))
        .collect();
    // the paper's own comparison: each gate under a truth of its own gate (main experiments and
    // the phase diagram, which hold both truth gates of one recipe)
    let record: Vec<(&Experiment, &[smoe_experiment::rows::FitRow])> =
        main.iter().chain(&phase).map(|(e, l)| (*e, l.fits.as_slice())).collect();
    let own = own_truth_comparisons(&record);
    let input = Inputs {
        root,
        dir,
        all,
        main,
        search,
        truths,
        lower,
        phase,
        main_exps,
        main_rates,
        truth_exps,
        truth_rates,
        lower_exps,
        spread,
        lb_rows,
        lb_tables,
        comps,
        unsettled,
        settling,
        own,
    };

    let mut r = String::from("# Report: Sigmoid gating is more sample efficient than softmax gating (NeurIPS 2024), replicated\n\n");
    r.push_str(REPORT_PREAMBLE);
    r.push_str(REPORT_PROTOCOL);
    // a derived table is rewritten by its page, or removed when no page derives it from these
    // experiments (so that none is left from another set of experiments)
    let tables_dir = root.dir.join("data").join(TABLES_DIR);
    let mut derived = Vec::new();
    for page in PAGES {
        let Page { files, data, report } = page(&input)?;
        for (name, text) in files {
            write(&input.dir.join(name), text.as_bytes())?;
        }
        for (table, bytes) in data {
            std::fs::create_dir_all(&tables_dir).map_err(ReportError::io(&tables_dir))?;
            write(&tables_dir.join(table.file), &bytes)?;
            derived.push(table.file);
        }
        if let Some(section) = report {
            r.push_str(&section);
        }
    }
    for (exp, l) in input.main.iter().chain(&input.lower) {
        let _ = writeln!(
            r,
            "\n## {}: {}\n\nReproduces: {}. Config: `{}`.\n",
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
        r.push_str(&rates_markdown(&l.rates, |x| input.verdict_of(x)));
        r.push('\n');
        let per_fit = || l.sum.iter().filter(|s| s.quantity == Quantity::L2Error);
        let nc: usize = per_fit().map(|s| s.not_converged).sum();
        let ex: usize = per_fit().map(|s| s.excluded).sum();
        let em: usize = per_fit().map(|s| s.empty_cells).sum();
        let _ = writeln!(r, "Fits that stopped before their convergence test: {nc}; fits excluded from rates (diverged or non-finite): {ex}; fits leaving a Voronoi cell empty (left out of the cell-based quantities): {em}. Per-cell counts: `data/{}/summary.csv`.\n", exp.id());
    }
    if !input.main.is_empty() {
        write(&input.dir.join("REPORT.md"), r.as_bytes())?;
    }
    for t in TABLES.iter().filter(|t| t.dir == Dir::Shared && !derived.contains(&t.file)) {
        let path = tables_dir.join(t.file);
        if path.exists() {
            std::fs::remove_file(&path).map_err(ReportError::io(&path))?;
        }
    }
    Ok(())
}

/// figures/table1.md and table1.csv: every claimed rate beside the measured slopes.
fn table1_page(i: &Inputs<'_>) -> Result<Page> {
    if i.main.is_empty() {
        return Ok(Page::default());
    }
    let t1_rates: Vec<RateRow> = i.main_rates.iter().chain(i.lower.iter().flat_map(|(_, l)| l.rates.iter())).cloned().collect();
    let mut t1 = String::from("# Table 1: claimed rates and measured slopes\n\nThe paper's Table 1 (rates up to log factors; an expert rate is the rate of sup_x |h(x; η̂) − h(x; η*)|):\n\n");
    t1.push_str(PAPER_TABLE1);
    t1.push_str(TABLE1_MEASURED);
    t1.push_str(&rates_markdown(&t1_rates, |x| i.verdict_of(x)));
    write_rates_csv(&i.dir.join("table1.csv"), &t1_rates, |x| i.verdict_of(x))?;
    Ok(Page { files: vec![("table1.md", t1)], ..Page::default() })
}

/// figures/claims.md: every claim judged by the rule of its kind, and the comparative claim.
fn claims_page(i: &Inputs<'_>) -> Result<Page> {
    if i.main.is_empty() {
        return Ok(Page::default());
    }
    let rows = claim_rows(&i.main_exps, &i.main_rates, &i.spread, &i.unsettled);
    let csv = store::csv_bytes(Path::new(CLAIMS.file), ClaimRow::HEADER, &rows)?;
    let claims = claims_markdown(&rows, &i.lb_rows);
    let mut c = format!("# Claims of the paper against the data\n\n{claims}");
    if !i.comps.is_empty() {
        let _ = write!(
            c,
            "\n## The comparative claim (sigmoid needs fewer samples than softmax)\n\n{COMPARISON_RULE}\n\n{}",
            comparison_markdown(&i.comps)
        );
    }
    Ok(Page { files: vec![("claims.md", c)], data: vec![(&CLAIMS, csv)], report: Some(format!("{REPORT_CLAIMS}{claims}\n")) })
}

/// figures/sample_complexity.md: the same-data comparison, across truth draws, and the paper's own
/// comparison (each gate under its own truth).
fn sample_complexity_page(i: &Inputs<'_>) -> Result<Page> {
    if i.comps.is_empty() {
        return Ok(Page::default());
    }
    let mut text = comparison_markdown(&i.comps);
    // the same comparison on every truth draw of the truth-variability experiments
    let draws: Vec<(String, GateComparison)> = i
        .truths
        .iter()
        .filter_map(|(e, l)| Some((base_of(e)?.to_string(), comparisons(e, &l.fits))))
        .flat_map(|(b, cs)| cs.into_iter().map(move |c| (b.clone(), c)))
        .collect();
    if !draws.is_empty() {
        let _ = write!(
            text,
            "\n### Across truth draws\n\nThe same comparison, by the same rule, on each of the truth draws of the truth-variability experiments (five draws of the experiment's recipe, four replications each at five n: fewer pairs, so wider intervals than on the experiment's own truth); the per-draw rows follow the tally.\n\n{}\n{}",
            across_truths_markdown(&i.comps, &draws),
            comparison_markdown(&draws.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>())
        );
    }
    // the paper's own comparison: each gate under a truth of its own gate (main experiments
    // and the phase diagram, which hold both truth gates of one recipe)
    let own = &i.own;
    let mut data = Vec::new();
    if !own.is_empty() {
        let rows: Vec<OwnTruthRow> = own.iter().flat_map(|c| c.rows()).collect();
        data.push((&OWN_TRUTH, store::csv_bytes(Path::new(OWN_TRUTH.file), OwnTruthRow::HEADER, &rows)?));
        let _ = write!(
            text,
            "\n## The paper's own comparison: each gate under its own truth\n\n{OWN_TRUTH_RULE}\n\n{}",
            own_truth_markdown(own)
        );
    }
    let page = Page::section(
        "sample_complexity.md",
        "Sigmoid against softmax gating on the same data",
        "Sigmoid against softmax gating (the comparative claim)",
        format!("{COMPARISON_RULE}\n\n{text}"),
    );
    Ok(Page { data, ..page })
}

/// figures/convergence.md: does every least-squares fit converge, why the others stopped, and
/// the budget checks.
fn convergence_page(i: &Inputs<'_>) -> Result<Page> {
    // a budget check runs its family's fits with another cap on purpose: its fits are compared
    // in its own section, neither counted against the target nor analysed for stalls
    let counted: Vec<_> = i.all.iter().filter(|(e, _)| e.config.role != Role::BudgetCheck).collect();
    let conv: Vec<_> = counted.iter().flat_map(|(e, l)| convergence(e, &l.fits)).collect();
    if conv.is_empty() {
        return Ok(Page::default());
    }
    let mut stalled = Vec::new();
    for (e, l) in &counted {
        let rows = crate::stalls::stalls(e, &i.root.paths(e), &l.fits)?;
        if !rows.is_empty() {
            stalled.push((e.id().to_string(), rows));
        }
    }
    // each experiment's budget, and how it was extended (smoe extend-budget) if it was
    let mut budgets = std::collections::BTreeMap::new();
    for (e, _) in &counted {
        let Some(cap) = e.estimators.iter().filter(|(_, est)| est.is_bounded()).filter_map(|(_, est)| est.max_iters()).max() else {
            continue;
        };
        let text = match crate::provenance::extend::current_record(&i.root.paths(e)) {
            Some(r) => format!(
                "{cap} ({} of {} units carried from the {}-iteration run, {} rerun: docs/PROTOCOL.md 13b)",
                r.units_carried,
                r.units_total,
                r.budgets.iter().map(|b| b.old_max_iters).max().unwrap_or(0),
                r.units_to_run
            ),
            None => cap.to_string(),
        };
        budgets.insert(e.id().to_string(), text);
    }
    let data = vec![(&CONVERGENCE, store::csv_bytes(Path::new(CONVERGENCE.file), ConvergenceRow::HEADER, &conv)?)];
    let mut text = convergence_markdown(&conv, &stalled, &budgets);
    for (check, l) in i.all.iter().filter(|(e, _)| e.config.role == Role::BudgetCheck) {
        let Some((base, bl)) = i.all.iter().find(|(e, _)| e.id() == check.stream_key() && e.config.role == Role::Main) else { continue };
        let cap = check.estimators.iter().filter_map(|(_, est)| est.max_iters()).max();
        text.push_str(&budget_markdown(base.id(), check.id(), cap, &budget_pairs(&bl.fits, &l.fits)));
    }
    let page = Page::section("convergence.md", "Convergence of the least-squares fits", "Convergence of the least-squares fits", text);
    Ok(Page { data, ..page })
}

/// figures/run_times.md: what the results cost to compute, from the fits' own timings.
fn run_times_page(i: &Inputs<'_>) -> Result<Page> {
    let times: Vec<_> = i.all.iter().flat_map(|(e, l)| run_times(e, &l.fits)).collect();
    if times.is_empty() {
        return Ok(Page::default());
    }
    let text = run_times_markdown(&times, REFERENCE_CORES);
    Ok(Page { files: vec![("run_times.md", format!("# What the results cost to compute\n\n{text}"))], ..Page::default() })
}

/// figures/truth_spread.md: the headline slopes across truth draws.
fn truth_spread_page(i: &Inputs<'_>) -> Result<Page> {
    if i.truths.is_empty() || i.main.is_empty() {
        return Ok(Page::default());
    }
    let rates: Vec<RateRow> = i.main_rates.iter().chain(&i.truth_rates).cloned().collect();
    let rows = spread_rows(&i.main_exps, &i.truth_exps, &rates);
    let text = spread_markdown(&rows);
    let data = vec![(&TRUTH_SPREAD, store::csv_bytes(Path::new(TRUTH_SPREAD.file), SpreadRow::HEADER, &rows)?)];
    let intro = TRUTH_SPREAD_INTRO;
    let page =
        Page::section("truth_spread.md", "The headline slopes across truth draws", "Across truth draws", format!("{intro}\n\n{text}"));
    Ok(Page { data, ..page })
}

/// figures/lower_bound.md: the two-point experiments.
fn lower_bound_page(i: &Inputs<'_>) -> Result<Page> {
    if i.lower.is_empty() {
        return Ok(Page::default());
    }
    let (intro, lb_tables) = (LOWER_BOUND_INTRO, &i.lb_tables);
    Ok(Page::section("lower_bound.md", "The lower-bound experiments", "The lower-bound experiments", format!("{intro}\n{lb_tables}")))
}

/// figures/replication.md (the paper's curves beside ours) and protocol_search.md.
fn replication_page(i: &Inputs<'_>) -> Result<Page> {
    let paper = reported(i.root)?;
    if paper.is_empty() || i.main.is_empty() {
        return Ok(Page::default());
    }
    let main_in: Vec<(&Experiment, &[SummaryRow], &[RateRow], &[smoe_experiment::rows::FloorRow])> =
        i.main.iter().map(|(e, l)| (*e, l.sum.as_slice(), l.rates.as_slice(), l.floors.as_slice())).collect();
    let search_in: Vec<(&Experiment, &[SummaryRow], &[RateRow])> =
        i.search.iter().map(|(e, l)| (*e, l.sum.as_slice(), l.rates.as_slice())).collect();
    let text = replication_markdown(&paper, &main_in, &search_in);
    // the same curves drawn (figures/overlay.png), where `smoe figures` draws them
    let (spec, drawn) = overlay::figure(&paper, &i.all);
    let (figure_md, figure_note) = match spec.caption.as_deref().filter(|_| !drawn.is_empty()) {
        Some(caption) => (
            format!("![{caption}]({}.png)\n\n*{caption}.*\n\n", spec.stem),
            format!(" The figure [{}.png]({}.png) draws the same curves, one panel per paper curve.", spec.stem, spec.stem),
        ),
        None => (String::new(), String::new()),
    };
    let mut files = vec![("replication.md", format!("# The paper's curves beside ours\n\nThe paper's numbers: workflow/paper/reported.csv (how they were read: workflow/paper/README.md). Ours: the experiment that replicates each panel, by each estimator and each reading of its loss; the Cramér-Rao floor (data/<experiment>/floor.csv) is the smallest mean loss an unbiased estimator of the fitted parameters could reach at that n.{figure_note}\n\n{text}"))];
    if !i.search.is_empty() {
        let ps = protocol_search_markdown(&paper, &search_in);
        files.push(("protocol_search.md", format!("# Protocol search: which reading of the paper's SGD reproduces its curves?\n\nEvery candidate of the grid (batch size 32, 256 or the whole sample; initial noise sd 0, 1e-4, 1e-3 or 1e-2; the split atom's mass shared or copied) run on the data of E1-E3 (PS1-PS3), scored against the panel's target and, for Regime 2 panels, against the split start the fits begin from.\n\n{}\n{ps}", crate::analysis::status_rule())));
    }
    Ok(Page { files, data: Vec::new(), report: Some(format!("\n## The paper's curves beside ours\n\n{figure_md}{text}\n")) })
}

/// figures/phase_diagram.md and its heatmaps.
fn phase_page(i: &Inputs<'_>) -> Result<Page> {
    if i.phase.is_empty() {
        return Ok(Page::default());
    }
    let per: Vec<(&Experiment, Vec<GateComparison>)> = i.phase.iter().map(|(e, l)| (*e, comparisons(e, &l.fits))).collect();
    let mut text = String::new();
    for q in crate::analysis::COMPARED {
        let cells = phase_cells(&per, q);
        let _ = write!(text, "\n### {q}\n\n{}", phase_markdown(&cells));
        let maps = phase_heatmaps(&cells, &q.to_string());
        if !maps.is_empty() {
            draw_heatmaps(&maps, &i.dir.join(format!("phase_diagram_{q}")))?;
        }
    }
    // the paper's own comparison at each scale: a sigmoid fit of the sigmoid-truth column beside
    // a softmax fit of the softmax-truth column of the same expert and scale
    let own: Vec<OwnTruthComparison> = i.own.iter().filter(|c| i.phase.iter().any(|(e, _)| e.id() == c.sigmoid.0)).cloned().collect();
    if !own.is_empty() {
        let _ = write!(
            text,
            "\n### The paper's own comparison: each gate under its own truth, at each scale\n\n{OWN_TRUTH_RULE}\n\n{}",
            own_truth_markdown(&own)
        );
    }
    let intro = format!("Is sigmoid gating more sample efficient than softmax gating? Each cell is a Regime-2 truth (one over-specified atom with a non-zero gate slope) with the given experts and truth gate, at gate-slope variance nu_g (units of 1/d; the paper uses 0.01), fitted by both gates on the same data with the converged least-squares estimator; both are scored against the truth by the same metric. ![contribution error](phase_diagram_contribution_err.png) ![expert error](phase_diagram_expert_err_matched.png) ![L2 error](phase_diagram_l2_to_truth.png)\n\n{COMPARISON_RULE}\n");
    Ok(Page::section(
        "phase_diagram.md",
        "Phase diagram: where sigmoid gating needs fewer samples",
        "Phase diagram",
        format!("{intro}{text}"),
    ))
}

/// figures/sensitivity.md, with the G_bar settling table in REPORT.md.
fn sensitivity_page(i: &Inputs<'_>) -> Result<Page> {
    if i.main.is_empty() {
        return Ok(Page::default());
    }
    let sensitivity = sensitivity_markdown(&i.main_exps, &i.main_rates);
    let settling = settling_markdown(&i.settling);
    let mut data = Vec::new();
    if !i.settling.is_empty() {
        data.push((&GBAR_SETTLING, store::csv_bytes(Path::new(GBAR_SETTLING.file), SettlingRow::HEADER, &i.settling)?));
    }
    let mut r = String::new();
    if !settling.is_empty() {
        r.push_str("\n## Is G_bar settled?\n\n");
        r.push_str(GBAR_RULE);
        r.push_str("\n\n");
        r.push_str(&settling);
    }
    r.push_str(REPORT_SENSITIVITY);
    r.push_str(&sensitivity);
    Ok(Page {
        files: vec![("sensitivity.md", format!("# Sensitivity of the slopes to the initialisation and the optimiser\n{sensitivity}"))],
        data,
        report: Some(r),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(setting: &str, gate: Gate, quantity: Quantity, mean: f64) -> SummaryRow {
        SummaryRow::exact("E", setting, gate, "lbfgs", quantity, 1000, mean)
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
            degenerate: 0,
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
        write_rates_csv(&path, &[r], |r| r.verdict.clone()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with("E,s,relu,sigmoid,sgd,l2_error,log_mean,upper_half,-0.5000,0.1000,0.1000,-0.7000,-0.3000,1.0000,1000,100000,5,20,0,-0.5,\"Thm 1, \"\"quoted\"\"\",consistent,NaN,3.0000\n"),
            "{text}"
        );
    }
}
