//! The `smoe` subcommands, one function each, and the stages they chain: run (experiment
//! crate), merge into Parquet, rates, figures, tables, manifest. `smoe all` decides what is stale
//! here. Status lines go to stderr; listings and reports to stdout.

use crate::analysis::{comparisons, rates, summary};
use crate::dictionary::COMPARISONS;
use crate::error::{ReportError, Result};
use crate::manifest::{verify, write_manifest};
use crate::provenance::records::mark_current;
use crate::publish;
use crate::rows::{ComparisonRow, RateRow, SummaryRow};
use crate::store;
use indicatif::{ProgressBar, ProgressStyle};
use smoe_experiment::fsio::sha256_bytes;
use smoe_experiment::merge::collect;
use smoe_experiment::paths::{Paths, Root};
use smoe_experiment::plan::{Experiment, Shard};
use smoe_experiment::rows::{FloorRow, GbarCheckRow, PairRow};
use smoe_experiment::run::{self, Progress, RunSummary, Silent};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Load and validate configs (at least one).
pub fn load(configs: &[PathBuf]) -> Result<Vec<Experiment>> {
    Ok(configs.iter().map(|p| Experiment::load(p)).collect::<std::result::Result<Vec<_>, _>>()?)
}

/// A progress bar on stderr, one per experiment.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, id: &str, total: u64) {
        self.0.set_length(total);
        self.0.set_style(
            ProgressStyle::with_template("{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} fits, eta {eta}").expect("valid template"),
        );
        self.0.set_prefix(id.to_string());
    }
    fn unit_done(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn print_run(id: &str, s: &RunSummary) {
    eprintln!(
        "{id}: {} fits run, {} already done, of {} planned; {} not converged, {} diverged; {:.1} s",
        s.ran, s.skipped, s.planned, s.not_converged, s.diverged, s.wall_s
    );
}

/// Run the units of one shard that are not yet finished, with a progress bar unless `quiet`.
pub fn run_units(exp: &Experiment, paths: &Paths, shard: Shard, estimator: Option<&str>, quiet: bool) -> Result<RunSummary> {
    let s = if quiet {
        run::run(exp, paths, shard, estimator, &Silent)?
    } else {
        run::run(exp, paths, shard, estimator, &Bar(ProgressBar::new(0)))?
    };
    print_run(exp.id(), &s);
    Ok(s)
}

/// Merge finished units into fits.parquet, params.parquet and gbar_check.csv; the fingerprint
/// file is written last, so results count as current only once they are all there.
pub fn merge(exp: &Experiment, paths: &Paths) -> Result<usize> {
    let merged = collect(exp, paths)?;
    let dir = paths.data();
    std::fs::create_dir_all(&dir).map_err(ReportError::io(&dir))?;
    store::write_fits(&paths.fits(), &merged.fits)?;
    store::write_params(&paths.params(), &merged.params)?;
    store::write_csv(&paths.gbar_check(), &GbarCheckRow::HEADER, &merged.gbar_checks)?;
    if !merged.floors.is_empty() {
        store::write_csv(&paths.floor(), &FloorRow::HEADER, &merged.floors)?;
    }
    if !merged.pairs.is_empty() {
        store::write_csv(&paths.pair_check(), &PairRow::HEADER, &merged.pairs)?;
    }
    // results of a full run carry no recertification of an earlier run's, and a budget extension
    // only while its carried lines are in the journal merged
    let rec = crate::provenance::records::recertified_path(paths);
    if rec.exists() {
        std::fs::remove_file(&rec).map_err(ReportError::io(&rec))?;
    }
    let ext = crate::provenance::extend::record_path(paths);
    if ext.exists() && !crate::provenance::extend::merged_with_carried_lines(paths) {
        std::fs::remove_file(&ext).map_err(ReportError::io(&ext))?;
    }
    mark_current(paths)?;
    Ok(merged.fits.len())
}

/// Compute and write the summary table and rates of an experiment from its fits.parquet.
pub fn write_rates(exp: &Experiment, paths: &Paths) -> Result<(Vec<SummaryRow>, Vec<RateRow>)> {
    let fits = store::read_fits(&paths.fits())?;
    let sum = summary(exp, &fits);
    store::write_csv(&paths.summary(), SummaryRow::HEADER, &sum)?;
    let r = rates(exp, &fits);
    store::write_rates(&paths.rates(), &r)?;
    // the same-data gate comparisons, typed (figures/sample_complexity.md prints them)
    let rows: Vec<ComparisonRow> = comparisons(exp, &fits).iter().flat_map(|c| c.rows()).collect();
    let path = paths.data().join(COMPARISONS.file);
    if rows.is_empty() {
        if path.exists() {
            std::fs::remove_file(&path).map_err(ReportError::io(&path))?;
        }
    } else {
        store::write_csv(&path, ComparisonRow::HEADER, &rows)?;
    }
    Ok((sum, r))
}

/// `smoe plan`: validate configs and list their work units.
pub fn plan(configs: &[PathBuf], list: bool) -> Result<()> {
    for e in load(configs)? {
        let units = e.units();
        println!(
            "{}: {} settings, {} estimators, n in {:?}, {} replications: {} work units",
            e.id(),
            e.settings.len(),
            e.estimators.len(),
            e.n_values,
            e.config.replications,
            units.len()
        );
        if list {
            for u in &units {
                println!("{}", e.unit_key(u));
            }
        }
    }
    Ok(())
}

/// `smoe run`: the unfinished units of each config (one shard, one estimator if given).
pub fn run(root: &Path, configs: &[PathBuf], shard: Shard, estimator: Option<&str>, quiet: bool) -> Result<()> {
    let exps = load(configs)?;
    let root = Root::open(root)?;
    for e in &exps {
        run_units(e, &root.paths(e), shard, estimator, quiet)?;
    }
    Ok(())
}

/// `smoe merge`.
pub fn merge_all(root: &Path, configs: &[PathBuf]) -> Result<()> {
    let exps = load(configs)?;
    let root = Root::open(root)?;
    for e in &exps {
        let n = merge(e, &root.paths(e))?;
        eprintln!("{}: merged {n} rows", e.id());
    }
    Ok(())
}

/// `smoe rates`.
pub fn rates_all(root: &Path, configs: &[PathBuf]) -> Result<()> {
    let exps = load(configs)?;
    let root = Root::open(root)?;
    for e in &exps {
        let (_, r) = write_rates(e, &root.paths(e))?;
        eprintln!("{}: {} rates", e.id(), r.len());
    }
    Ok(())
}

/// `smoe figures`.
pub fn figures(root: &Path, configs: &[PathBuf]) -> Result<()> {
    let exps = load(configs)?;
    let n = publish::figures(&exps, &Root::open(root)?)?;
    eprintln!("{n} figure files written");
    Ok(())
}

/// `smoe tables`.
pub fn tables(root: &Path, configs: &[PathBuf]) -> Result<()> {
    let exps = load(configs)?;
    publish::tables(&exps, &Root::open(root)?)
}

/// `smoe recertify`: carry the results of `configs` from the code of commit `from` (in the git
/// repository at `root`) to the current code, if a sample of their units and every G_bar rerun
/// bit for bit equal ([`crate::provenance::recertify`]).
pub fn recertify(root: &Path, configs: &[PathBuf], from: &str, quiet: bool) -> Result<()> {
    let exps = load(configs)?;
    let root = Root::open(root)?;
    let (commit, codes) = crate::provenance::recertify::code_fingerprint_at(&root.dir, from)?;
    eprintln!(
        "recertify: code of {commit} is {} ({} under the former whole-Cargo.lock rule); current code is {}",
        codes[0], codes[1], root.code
    );
    for e in &exps {
        let t0 = Instant::now();
        let old = crate::provenance::recertify::config_at(&root.dir, &commit, e)?;
        let config = (sha256_bytes(old.as_bytes()) != e.sha256).then_some(old);
        let origin = crate::provenance::recertify::Origin { commit: commit.clone(), codes: codes.clone(), config };
        match crate::provenance::recertify::recertify_from(e, &root, &origin, quiet)? {
            crate::provenance::recertify::Outcome::AlreadyCurrent => eprintln!("{}: results are current; nothing to recertify", e.id()),
            crate::provenance::recertify::Outcome::Recertified(s) => eprintln!(
                "{}: recertified {} -> {}: {} of {} units and {} G_bars rerun, all bitwise equal; {:.1} s",
                e.id(),
                s.from_fingerprint,
                s.to_fingerprint,
                s.units_checked,
                s.units_total,
                s.gbars_checked,
                t0.elapsed().as_secs_f64()
            ),
        }
    }
    Ok(())
}

/// `smoe extend-budget`: carry the units that a larger iteration budget leaves unchanged
/// ([`crate::provenance::extend`]); `smoe run` then runs the rest.
pub fn extend_budget(root: &Path, config: &Path, from: &str) -> Result<()> {
    let r = crate::provenance::extend::extend(&Root::open(root)?, config, from)?;
    let budgets: Vec<String> = r.budgets.iter().map(|b| format!("{} {} -> {}", b.estimator, b.old_max_iters, b.new_max_iters)).collect();
    eprintln!(
        "{}: budget {}; {} of {} units carried from journal {} (commit {}); {} left to run (`smoe run {}`)",
        r.experiment,
        budgets.join(", "),
        r.units_carried,
        r.units_total,
        r.from_journal,
        r.from_commit,
        r.units_to_run,
        config.display()
    );
    Ok(())
}

/// `smoe verify`: every file of the manifest; an error if any does not match.
pub fn verify_all(root: &Path) -> Result<()> {
    let problems = verify(&Root::open(root)?)?;
    if problems.is_empty() {
        eprintln!("verify: every file matches data/manifest.json");
        return Ok(());
    }
    for p in &problems {
        eprintln!("verify: {p}");
    }
    Err(ReportError::Verify { count: problems.len() })
}

/// `smoe bench`: prints its report (Markdown) on stdout.
pub fn bench(root: &Path, configs: &[PathBuf]) -> Result<()> {
    let exps = if configs.is_empty() { Vec::new() } else { load(configs)? };
    println!("{}", crate::bench::run(root, &exps)?);
    Ok(())
}

/// `smoe data-dictionary`: writes docs/DATA.md under `root` from [`crate::dictionary`] if it
/// changed.
pub fn data_dictionary(root: &Path) -> Result<()> {
    let (path, written) = crate::dictionary::write(root)?;
    eprintln!("{}: {}", path.display(), if written { "written" } else { "current" });
    Ok(())
}

/// What `smoe all` reruns besides stale experiments.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllOptions {
    /// Rerun even if the results are current.
    pub force: bool,
    /// Also rerun experiments whose archive-only files (params.parquet) are missing.
    pub complete: bool,
    pub quiet: bool,
}

/// `smoe all`: run and merge what is stale (config or code fingerprint changed), then rates,
/// figures, tables and the manifest of every given experiment, and of every experiment of
/// `report_with` whose results are current (those are never simulated here).
pub fn all(root: &Path, configs: &[PathBuf], report_with: &[PathBuf], opts: AllOptions, command: &str) -> Result<()> {
    let t0 = Instant::now();
    let exps = load(configs)?;
    let root = Root::open(root)?;
    let extra: Vec<Experiment> = load(report_with)?
        .into_iter()
        .filter(|e| !exps.iter().any(|x| x.id() == e.id()))
        .filter(|e| {
            let current = root.paths(e).results_current();
            if !current {
                eprintln!("{}: results are not current; left out of this report (run it with its own target)", e.id());
            }
            current
        })
        .collect();
    for e in &exps {
        let paths = root.paths(e);
        let archive_missing = opts.complete && !paths.params().exists();
        if !opts.force && paths.results_current() && !archive_missing {
            eprintln!("{}: results are current (same config and code fingerprint); skipping the simulation", e.id());
            continue;
        }
        run_units(e, &paths, Shard::ALL, None, opts.quiet)?;
        merge(e, &paths)?;
    }
    for e in &exps {
        write_rates(e, &root.paths(e))?;
    }
    let exps: Vec<Experiment> = exps.into_iter().chain(extra).collect();
    publish::figures(&exps, &root)?;
    publish::tables(&exps, &root)?;
    let n = write_manifest(&exps, &root, command, t0.elapsed().as_secs_f64())?;
    eprintln!("all: {} experiments, {n} files in the manifest, {:.1} s", exps.len(), t0.elapsed().as_secs_f64());
    Ok(())
}
