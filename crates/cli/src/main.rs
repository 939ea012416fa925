//! `smoe`: the command-line program of the artifact. A thin layer over `smoe_report`.

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};
use smoe_report::config::Experiment;
use smoe_report::pipeline::{self, Paths, RunSummary};
use smoe_report::run::Shard;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "smoe", version, about = "Reproduce 'Sigmoid Gating is More Sample Efficient than Softmax Gating in Mixture of Experts'")]
struct Cli {
    /// Artifact root (holds data/ and figures/).
    #[arg(long, global = true, default_value = ".")]
    root: PathBuf,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate configs and list their work units.
    Plan {
        configs: Vec<PathBuf>,
        /// Print every unit key, not only the counts.
        #[arg(long)]
        list: bool,
    },
    /// Run the work units not yet finished (all, or one shard).
    Run {
        configs: Vec<PathBuf>,
        /// i/N: run units whose plan index is i mod N. Defaults to SLURM_ARRAY_TASK_ID or
        /// JOB_COMPLETION_INDEX (with SHARD_COUNT) when set.
        #[arg(long)]
        shard: Option<String>,
        /// Run only this estimator.
        #[arg(long)]
        estimator: Option<String>,
    },
    /// Merge finished units into data/<experiment>/fits.parquet and params.parquet.
    Merge { configs: Vec<PathBuf> },
    /// Fit convergence rates: data/<experiment>/rates.parquet and summary.csv.
    Rates { configs: Vec<PathBuf> },
    /// Draw the figures of each experiment.
    Figures { configs: Vec<PathBuf> },
    /// Write Table 1, the rate tables and figures/REPORT.md.
    Tables { configs: Vec<PathBuf> },
    /// Check every file recorded in data/manifest.json.
    Verify,
    /// Benchmark the kernel and single fits; time the SGD sweep of the given configs with 1 and 2 threads.
    Bench { configs: Vec<PathBuf> },
    /// Everything: run what is stale, merge, rates, figures, tables, manifest.
    All {
        configs: Vec<PathBuf>,
        /// Rerun even if the results are current.
        #[arg(long)]
        force: bool,
        /// Also rerun experiments whose archive-only files (params.parquet) are missing, as
        /// in a fresh git checkout; `make dist` uses it.
        #[arg(long)]
        complete: bool,
    },
}

fn load(configs: &[PathBuf]) -> Result<Vec<Experiment>> {
    if configs.is_empty() {
        bail!("no config given (e.g. workflow/e1_regime1.yaml)");
    }
    configs.iter().map(|p| Experiment::load(p).map_err(anyhow::Error::from)).collect()
}

fn shard_from(arg: Option<&str>) -> Result<Shard> {
    if let Some(s) = arg {
        return Shard::parse(s).map_err(anyhow::Error::msg);
    }
    let idx = std::env::var("SLURM_ARRAY_TASK_ID").or_else(|_| std::env::var("JOB_COMPLETION_INDEX")).ok();
    match idx {
        None => Ok(Shard::ALL),
        Some(i) => {
            let count = std::env::var("SHARD_COUNT")
                .or_else(|_| std::env::var("SLURM_ARRAY_TASK_COUNT"))
                .context("a shard index is set in the environment but not SHARD_COUNT (or SLURM_ARRAY_TASK_COUNT)")?;
            Shard::parse(&format!("{i}/{count}")).map_err(anyhow::Error::msg)
        }
    }
}

fn print_run(id: &str, s: &RunSummary) {
    eprintln!(
        "{id}: {} fits run, {} already done, of {} planned; {} not converged, {} diverged; {:.1} s",
        s.ran, s.skipped, s.planned, s.not_converged, s.diverged, s.wall_s
    );
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(t) = cli.threads {
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global().context("setting the thread count")?;
    }
    let root = cli.root.as_path();
    let progress = !cli.quiet;
    let t0 = std::time::Instant::now();
    match &cli.command {
        Command::Plan { configs, list } => {
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
                if *list {
                    for u in &units {
                        println!("{}", e.unit_key(u));
                    }
                }
            }
        }
        Command::Run { configs, shard, estimator } => {
            let shard = shard_from(shard.as_deref())?;
            for e in load(configs)? {
                let s = pipeline::run(&e, &Paths::new(root, &e), shard, estimator.as_deref(), progress)
                    .map_err(|err| anyhow::anyhow!("{err}"))?;
                print_run(e.id(), &s);
            }
        }
        Command::Merge { configs } => {
            for e in load(configs)? {
                let n = pipeline::merge(&e, &Paths::new(root, &e)).map_err(|err| anyhow::anyhow!("{err}"))?;
                eprintln!("{}: merged {n} rows", e.id());
            }
        }
        Command::Rates { configs } => {
            for e in load(configs)? {
                let (_, r) = pipeline::write_rates(&e, &Paths::new(root, &e)).map_err(|err| anyhow::anyhow!("{err}"))?;
                eprintln!("{}: {} rates", e.id(), r.len());
            }
        }
        Command::Figures { configs } => {
            let exps = load(configs)?;
            let n = smoe_report::publish::figures(&exps, root).map_err(|err| anyhow::anyhow!("{err}"))?;
            eprintln!("{n} figure files written");
        }
        Command::Tables { configs } => {
            let exps = load(configs)?;
            smoe_report::publish::tables(&exps, root).map_err(|err| anyhow::anyhow!("{err}"))?;
        }
        Command::Bench { configs } => {
            let exps = if configs.is_empty() { Vec::new() } else { load(configs)? };
            println!("{}", smoe_report::bench::run(root, &exps));
        }
        Command::Verify => {
            let problems = smoe_report::publish::verify(root).map_err(|err| anyhow::anyhow!("{err}"))?;
            if problems.is_empty() {
                eprintln!("verify: every file matches data/manifest.json");
            } else {
                for p in &problems {
                    eprintln!("verify: {p}");
                }
                bail!("{} files do not match the manifest", problems.len());
            }
        }
        Command::All { configs, force, complete } => {
            let exps = load(configs)?;
            for e in &exps {
                let paths = Paths::new(root, e);
                if !force && pipeline::is_current(&paths) && !(*complete && !paths.params().exists()) {
                    eprintln!("{}: results are current (same config and code fingerprint); skipping the simulation", e.id());
                    continue;
                }
                let s = pipeline::run(e, &paths, Shard::ALL, None, progress).map_err(|err| anyhow::anyhow!("{err}"))?;
                print_run(e.id(), &s);
                pipeline::merge(e, &paths).map_err(|err| anyhow::anyhow!("{err}"))?;
            }
            for e in &exps {
                pipeline::write_rates(e, &Paths::new(root, e)).map_err(|err| anyhow::anyhow!("{err}"))?;
            }
            smoe_report::publish::figures(&exps, root).map_err(|err| anyhow::anyhow!("{err}"))?;
            smoe_report::publish::tables(&exps, root).map_err(|err| anyhow::anyhow!("{err}"))?;
            let command: Vec<String> = std::env::args().collect();
            let n = smoe_report::publish::write_manifest(&exps, root, &command.join(" "), t0.elapsed().as_secs_f64())
                .map_err(|err| anyhow::anyhow!("{err}"))?;
            eprintln!("all: {} experiments, {n} files in the manifest, {:.1} s", exps.len(), t0.elapsed().as_secs_f64());
        }
    }
    Ok(())
}
