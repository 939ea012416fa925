//! `smoe`: the command-line program of the artifact. Parses arguments, calls one function of
//! `smoe_report::commands` per subcommand, and maps errors to exit codes: 2 for what the user gave
//! (a bad config or argument), 1 for anything that fails while running.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use smoe_experiment::plan::Shard;
use smoe_report::commands::{self, AllOptions};
use smoe_report::ReportError;
use std::path::PathBuf;
use std::process::ExitCode;

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
        #[arg(required = true)]
        configs: Vec<PathBuf>,
        /// Print every unit key, not only the counts.
        #[arg(long)]
        list: bool,
    },
    /// Run the work units not yet finished (all, or one shard).
    Run {
        #[arg(required = true)]
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
    Merge {
        #[arg(required = true)]
        configs: Vec<PathBuf>,
    },
    /// Fit convergence rates: data/<experiment>/rates.parquet and summary.csv.
    Rates {
        #[arg(required = true)]
        configs: Vec<PathBuf>,
    },
    /// Draw the figures of each experiment.
    Figures {
        #[arg(required = true)]
        configs: Vec<PathBuf>,
    },
    /// Write Table 1, the rate tables and figures/REPORT.md.
    Tables {
        #[arg(required = true)]
        configs: Vec<PathBuf>,
    },
    /// Carry results across a code change that leaves them unchanged: rerun one replication per
    /// cell and every G_bar with the current code, and if all are bitwise equal to what the
    /// code of commit FROM wrote, mark the results current (data/<experiment>/recertified.json).
    Recertify {
        #[arg(required = true)]
        configs: Vec<PathBuf>,
        /// The commit whose code produced the committed results.
        #[arg(long)]
        from: String,
    },
    /// Extend the iteration budget of the least-squares fit: when CONFIG differs from its version
    /// at commit FROM only by a larger max_iters of its `kind: lm` estimators, copy every unit
    /// whose fits did not stop at the old cap from the committed results' journal into CONFIG's
    /// (they are the same under any larger cap), so that `smoe run CONFIG` reruns only the capped
    /// fits (data/<experiment>/budget_extended.json).
    ExtendBudget {
        config: PathBuf,
        /// The commit holding the config that produced the committed results.
        #[arg(long)]
        from: String,
    },
    /// Check every file recorded in data/manifest.json.
    Verify,
    /// Benchmark the kernel and single fits; time the SGD sweep of the given configs with 1 and 2 threads.
    Bench { configs: Vec<PathBuf> },
    /// Write docs/DATA.md, the data dictionary of every table (columns, types, units).
    DataDictionary,
    /// Everything: run what is stale, merge, rates, figures, tables, manifest.
    All {
        #[arg(required = true)]
        configs: Vec<PathBuf>,
        /// Rerun even if the results are current.
        #[arg(long)]
        force: bool,
        /// Also rerun experiments whose archive-only files (params.parquet) are missing, as
        /// in a fresh git checkout; `make dist` uses it.
        #[arg(long)]
        complete: bool,
        /// Experiments to include in the rates, figures, tables and manifest if their results
        /// are current, never simulated here (`make all` reports the phase diagram this way;
        /// `make phase` runs it).
        #[arg(long, num_args = 1..)]
        report_with: Vec<PathBuf>,
    },
}

/// The shard of `--shard`, else of a cluster array job's environment, else all units.
fn shard(arg: Option<&str>) -> anyhow::Result<Shard> {
    if let Some(s) = arg {
        return Ok(Shard::parse(s)?);
    }
    let idx = std::env::var("SLURM_ARRAY_TASK_ID").or_else(|_| std::env::var("JOB_COMPLETION_INDEX")).ok();
    match idx {
        None => Ok(Shard::ALL),
        Some(i) => {
            let count = std::env::var("SHARD_COUNT")
                .or_else(|_| std::env::var("SLURM_ARRAY_TASK_COUNT"))
                .context("a shard index is set in the environment but not SHARD_COUNT (or SLURM_ARRAY_TASK_COUNT)")?;
            Shard::parse(&format!("{i}/{count}")).context("the shard from the environment")
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(t) = cli.threads {
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global().context("setting the thread count")?;
    }
    let root = cli.root.as_path();
    match &cli.command {
        Command::Plan { configs, list } => commands::plan(configs, *list)?,
        Command::Run { configs, shard: s, estimator } => {
            commands::run(root, configs, shard(s.as_deref())?, estimator.as_deref(), cli.quiet)?
        }
        Command::Merge { configs } => commands::merge_all(root, configs)?,
        Command::Rates { configs } => commands::rates_all(root, configs)?,
        Command::Figures { configs } => commands::figures(root, configs)?,
        Command::Tables { configs } => commands::tables(root, configs)?,
        Command::Recertify { configs, from } => commands::recertify(root, configs, from, cli.quiet)?,
        Command::ExtendBudget { config, from } => commands::extend_budget(root, config, from)?,
        Command::Verify => commands::verify_all(root)?,
        Command::Bench { configs } => commands::bench(root, configs)?,
        Command::DataDictionary => commands::data_dictionary(root)?,
        Command::All { configs, force, complete, report_with } => {
            let command: Vec<String> = std::env::args().collect();
            let opts = AllOptions { force: *force, complete: *complete, quiet: cli.quiet };
            commands::all(root, configs, report_with, opts, &command.join(" "))?
        }
    }
    Ok(())
}

/// 2 when the error is about what the user gave, 1 otherwise.
fn exit_code(err: &anyhow::Error) -> u8 {
    let input = err.chain().any(|e| {
        e.downcast_ref::<ReportError>().is_some_and(ReportError::is_input)
            || e.downcast_ref::<smoe_experiment::ExperimentError>().is_some_and(|e| e.is_input())
    });
    if input {
        2
    } else {
        1
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // the error and its causes, one line: "file: field `k`: 1 is not allowed (...)"
            eprintln!("smoe: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}
