//! What the committed results cost to compute, read from the fits themselves: every fit records
//! the wall-clock time of its estimator (`wall_s`, one thread per fit) and its iterations, so the
//! sum over an experiment's fits is the thread-seconds its sweep spent fitting. Scoring, the
//! G_bar projections and merging are not in it.

use smoe_experiment::plan::Experiment;
use smoe_experiment::rows::FitRow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::convergence::median;

/// The cores of the machine the committed results were computed on (and of CI): the wall-clock
/// column of figures/run_times.md divides by it. Fixed, so the table depends only on the data.
pub const REFERENCE_CORES: usize = 2;

/// One (experiment, estimator kind): its fits and what they cost.
#[derive(Clone, Debug, PartialEq)]
pub struct RunTimeRow {
    pub experiment: String,
    /// The estimator's name in the config, or "k estimators" when several share the kind (the
    /// protocol searches' candidates).
    pub estimator: String,
    /// The estimators' kind (`lm`, `sgd`, `lbfgs`).
    pub kind: String,
    /// Distinct fits (setting, fitted gate, estimator, n, replication).
    pub fits: usize,
    /// Sum of the fits' wall-clock times: thread-seconds.
    pub fit_seconds: f64,
    pub median_fit_s: f64,
    pub max_fit_s: f64,
    pub iterations: u64,
}

/// The run-time rows of one experiment, one per estimator kind in config order. A fit's time and
/// iterations repeat on each of its loss rows; each fit is counted once.
pub fn run_times(exp: &Experiment, fits: &[FitRow]) -> Vec<RunTimeRow> {
    let mut kinds: Vec<&str> = Vec::new();
    for (_, est) in &exp.estimators {
        if !kinds.contains(&est.kind()) {
            kinds.push(est.kind());
        }
    }
    kinds
        .into_iter()
        .filter_map(|kind| {
            let names: Vec<&str> = exp.estimators.iter().filter(|(_, e)| e.kind() == kind).map(|(n, _)| n.as_str()).collect();
            let mut seen = BTreeSet::new();
            let mut times = Vec::new();
            let mut iterations = 0;
            for f in fits.iter().filter(|f| names.contains(&f.estimator.as_str())) {
                if seen.insert((f.setting.as_str(), f.gate_fit.name(), f.estimator.as_str(), f.n, f.rep)) {
                    times.push(f.wall_s);
                    iterations += f.iterations;
                }
            }
            if times.is_empty() {
                return None;
            }
            let fit_seconds = times.iter().filter(|t| t.is_finite()).sum();
            let max_fit_s = times.iter().copied().filter(|t| t.is_finite()).fold(f64::NAN, f64::max);
            Some(RunTimeRow {
                experiment: exp.id().to_string(),
                estimator: if names.len() == 1 { names[0].to_string() } else { format!("{} estimators", names.len()) },
                kind: kind.to_string(),
                fits: times.len(),
                fit_seconds,
                median_fit_s: median(times),
                max_fit_s,
                iterations,
            })
        })
        .collect()
}

fn hours(s: f64) -> String {
    format!("{:.2}", s / 3600.0)
}

/// figures/run_times.md: one row per experiment and estimator, the totals by estimator kind and
/// overall, and the wall-clock time they imply on `cores` cores.
pub fn run_times_markdown(rows: &[RunTimeRow], cores: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Read from the committed fits (`wall_s` and `iterations` of data/<experiment>/fits.parquet, each fit counted once): the time each estimator spent fitting, summed over the fits of an experiment. Each fit runs on one thread, so the sum is in thread-hours; on {cores} cores the sweep takes about the sum divided by {cores}. Scoring, the G_bar projections and merging are not included, and times depend on the machine and its load when the run was made (data/manifest.json records the host).\n"
    );
    t.push_str("| experiment | estimator | kind | fits | fitting, thread-hours | median per fit, s | longest fit, s | iterations |\n|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {:.2} | {:.1} | {} |",
            r.experiment,
            r.estimator,
            r.kind,
            r.fits,
            hours(r.fit_seconds),
            r.median_fit_s,
            r.max_fit_s,
            r.iterations
        );
    }
    let mut by_kind: BTreeMap<&str, (usize, f64, u64)> = BTreeMap::new();
    for r in rows {
        let e = by_kind.entry(r.kind.as_str()).or_default();
        e.0 += r.fits;
        e.1 += r.fit_seconds;
        e.2 += r.iterations;
    }
    t.push_str("\n| estimator kind | fits | fitting, thread-hours | on ");
    let _ = writeln!(t, "{cores} cores, hours | iterations |\n|---|---|---|---|---|");
    let (mut fits, mut secs, mut its) = (0, 0.0, 0);
    for (kind, (f, s, i)) in &by_kind {
        let _ = writeln!(t, "| {kind} | {f} | {} | {} | {i} |", hours(*s), hours(*s / cores as f64));
        fits += f;
        secs += s;
        its += i;
    }
    let _ = writeln!(t, "| all | {fits} | {} | {} | {its} |", hours(secs), hours(secs / cores as f64));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_each_kind_and_divide_by_the_cores() {
        let row = |exp: &str, kind: &str, fits, secs: f64, its| RunTimeRow {
            experiment: exp.into(),
            estimator: kind.into(),
            kind: kind.into(),
            fits,
            fit_seconds: secs,
            median_fit_s: 1.0,
            max_fit_s: 2.0,
            iterations: its,
        };
        let text =
            run_times_markdown(&[row("E1", "lm", 10, 7200.0, 500), row("E2", "lm", 5, 3600.0, 100), row("E1", "sgd", 10, 36.0, 9)], 2);
        assert!(text.contains("| E1 | lm | lm | 10 | 2.00 | 1.00 | 2.0 | 500 |"), "{text}");
        assert!(text.contains("| lm | 15 | 3.00 | 1.50 | 600 |"), "{text}");
        assert!(text.contains("| sgd | 10 | 0.01 | 0.01 | 9 |"), "{text}");
        assert!(text.contains("| all | 25 | 3.01 | 1.50 | 609 |"), "{text}");
    }
}
