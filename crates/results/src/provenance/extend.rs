//! Extending the iteration budget of the least-squares fit without rerunning the fits it does not
//! reach.
//!
//! A Levenberg-Marquardt fit's trajectory does not depend on its iteration cap: the cap only
//! decides when the loop stops (`crates/estimator/src/lm.rs`). So a fit that stopped for any other
//! reason (converged, or no step lowers the objective) before the old cap takes exactly the same
//! steps, to the same result, under a larger one; only the fits that stopped *at* the cap must be
//! rerun. When a config's only change is a larger `max_iters` of its `kind: lm` estimators,
//! `smoe extend-budget CONFIG --from COMMIT` copies the journal lines of every other unit (their
//! text, byte for byte, so the merge reads the same values) from the journal of the committed
//! results into the journal of the new config, and writes `data/<experiment>/budget_extended.json`
//! (what was carried, from where, and the rule). `smoe run CONFIG` then runs only the capped fits,
//! and `smoe merge` merges both as one run. The budget check BC3 checks the premise on real fits
//! (every fit that stopped before either cap is bitwise identical under both), and
//! `crates/report/tests/extend.rs` checks the whole path: an extended run merges to the same bytes
//! as a fresh run with the larger budget.
//!
//! Anything else that differs between the two configs (another tolerance, seed, grid or box, a
//! smaller cap, SGD settings) is refused with the field named: those change every fit.

pub use super::records::extended_path as record_path;
use super::records::{full_commit, results_journal};
use crate::error::{checked_output, ReportError, Result};
use serde::{Deserialize, Serialize};
use smoe_estimator::{EstimatorParams, Termination};
use smoe_experiment::config::ExperimentConfig;
use smoe_experiment::fsio::atomic_write_bytes;
use smoe_experiment::journal::visit_journals;
use smoe_experiment::paths::{Paths, Root};
use smoe_experiment::plan::Experiment;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The rule by which units are carried, as recorded.
pub const CARRY_RULE: &str = "a unit is carried if none of its fits stopped at the old iteration cap (termination max_iters); \
the cap only ends the Levenberg-Marquardt loop, so such a fit is the same under any larger cap";

/// One estimator whose budget grew.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub estimator: String,
    pub old_max_iters: u64,
    pub new_max_iters: u64,
}

/// The content of data/<experiment>/budget_extended.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub experiment: String,
    /// The commit holding the config that produced the carried results.
    pub from_commit: String,
    /// The journal the carried lines come from (data/raw/<experiment>/<from_journal>/).
    pub from_journal: String,
    /// The fingerprint of the new config: the record speaks for results merged under it only.
    pub to_fingerprint: String,
    pub budgets: Vec<Budget>,
    pub units_total: usize,
    pub units_carried: usize,
    /// Units left to `smoe run`: the fits that stopped at the old cap (and any unit the old
    /// journal lacked).
    pub units_to_run: usize,
    pub rule: String,
}

/// The journal file the carried lines go to.
fn carried_file(paths: &Paths, from_journal: &str) -> PathBuf {
    paths.journal_dir().join(format!("carried-from-{from_journal}.jsonl"))
}

/// The record of `paths`, if there is one and it speaks for the results: written for this
/// fingerprint, or for the run behind results that a recertification carried to this fingerprint
/// (the carried results are the same bits). (The journals are working files, absent from a
/// checkout, so this does not look at them; a merge does: [`merged_with_carried_lines`].)
pub fn current_record(paths: &Paths) -> Option<Record> {
    let bytes = std::fs::read(record_path(paths)).ok()?;
    let r: Record = serde_json::from_slice(&bytes).ok()?;
    let recertified = || paths.results_current() && results_journal(paths) == r.to_fingerprint;
    (r.to_fingerprint == paths.fingerprint || recertified()).then_some(r)
}

/// Whether a merge of the journal of `paths` merges the lines a budget extension carried into it:
/// only then does its record speak for the merged results.
pub fn merged_with_carried_lines(paths: &Paths) -> bool {
    current_record(paths).is_some_and(|r| carried_file(paths, &r.from_journal).exists())
}

/// The text of `path` (relative to the repository at `repo`) at `commit`.
fn config_at(repo: &Path, commit: &str, path: &Path) -> Result<(String, String)> {
    let full = full_commit(repo, commit)?;
    let abs = std::fs::canonicalize(path).map_err(ReportError::io(path))?;
    let top = std::fs::canonicalize(repo).map_err(ReportError::io(repo))?;
    let rel = abs.strip_prefix(&top).map_err(|_| ReportError::NotRelative { path: path.to_path_buf() })?;
    let spec = format!("{full}:{}", rel.display());
    let text = checked_output(Command::new("git").args(["show", &spec]).current_dir(repo), format!("git show {spec}"))?;
    Ok((full, String::from_utf8_lossy(&text).into_owned()))
}

/// The budgets that grew from `old` to `new`, or the reason the two configs differ otherwise.
pub fn budget_change(old: &ExperimentConfig, new: &ExperimentConfig) -> std::result::Result<Vec<Budget>, String> {
    let mut budgets = Vec::new();
    let mut aligned = old.clone();
    for (name, params) in aligned.estimators.iter_mut() {
        let (EstimatorParams::Lm(o), Some(EstimatorParams::Lm(n))) = (params, new.estimators.get(name)) else { continue };
        if n.max_iters < o.max_iters {
            return Err(format!(
                "estimators.{name}.max_iters falls from {} to {}: only a larger budget can be extended",
                o.max_iters, n.max_iters
            ));
        }
        if n.max_iters > o.max_iters {
            budgets.push(Budget { estimator: name.clone(), old_max_iters: o.max_iters, new_max_iters: n.max_iters });
            o.max_iters = n.max_iters;
        }
    }
    if aligned != *new {
        let differs = first_difference(&aligned, new);
        return Err(format!("the configs differ in {differs}, not only in the max_iters of `kind: lm` estimators: rerun it instead"));
    }
    if budgets.is_empty() {
        return Err("no `kind: lm` estimator has a larger max_iters than at the given commit: nothing to extend".into());
    }
    Ok(budgets)
}

/// The first top-level field (or estimator) in which two configs differ, for the error message.
fn first_difference(a: &ExperimentConfig, b: &ExperimentConfig) -> String {
    let (ja, jb) = (serde_json::to_value(a).expect("serialisable"), serde_json::to_value(b).expect("serialisable"));
    if let (Some(ma), Some(mb)) = (ja.as_object(), jb.as_object()) {
        let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
        for k in keys {
            if ma.get(k) != mb.get(k) {
                if k == "estimators" {
                    if let (Some(ea), Some(eb)) = (ma[k].as_object(), mb.get(k).and_then(|v| v.as_object())) {
                        let names: BTreeSet<&String> = ea.keys().chain(eb.keys()).collect();
                        if let Some(n) = names.into_iter().find(|n| ea.get(*n) != eb.get(*n)) {
                            return format!("`estimators.{n}`");
                        }
                    }
                }
                return format!("`{k}`");
            }
        }
    }
    "their values".into()
}

/// The journal lines of `dir` (every *.jsonl, in name order) by unit key: the raw text of the
/// first parseable line of each key, and whether any of its fits stopped at the cap. Torn lines are
/// skipped, as the merge does.
fn journal_lines(dir: &Path) -> Result<BTreeMap<String, (String, bool)>> {
    let mut out = BTreeMap::new();
    visit_journals(dir, |e, line| {
        let capped = e.rows.iter().any(|r| r.termination == Termination::MaxIters);
        out.entry(e.key).or_insert_with(|| (line.to_string(), capped));
    })?;
    Ok(out)
}

/// Carry the uncapped units of the committed results of `config`'s experiment (produced by the
/// config as it was at `from_commit`) into the journal of `config` as it is now.
pub fn extend(root: &Root, config: &Path, from_commit: &str) -> Result<Record> {
    let new = Experiment::load(config)?;
    let fail = |problem: String| ReportError::Extend { experiment: new.id().to_string(), problem };
    let (commit, old_text) = config_at(&root.dir, from_commit, config)?;
    let old = Experiment::from_str(&old_text, config)?;
    let budgets = budget_change(&old.config, &new.config).map_err(fail)?;
    let (old_paths, new_paths) = (root.paths(&old), root.paths(&new));
    if !old_paths.results_current() {
        return Err(fail(format!(
            "the results in {} are not those of the config at {commit} with the current code (fingerprint {}): run it instead",
            old_paths.data().display(),
            old_paths.fingerprint
        )));
    }
    // the journal of the run behind the results: its own, or the one a recertification carried
    let from_journal = results_journal(&old_paths);
    let old_dir = root.dir.join("data").join("raw").join(new.id()).join(&from_journal);
    let old_lines = journal_lines(&old_dir)?;
    let new_dir = new_paths.journal_dir();
    let already = journal_lines(&new_dir)?;
    let units = new.units();
    let mut carried = String::new();
    let (mut units_carried, mut units_to_run) = (0, 0);
    for u in &units {
        let key = new.unit_key(u);
        match old_lines.get(&key) {
            Some((line, false)) => {
                units_carried += 1;
                if !already.contains_key(&key) {
                    carried.push_str(line);
                    carried.push('\n');
                }
            }
            _ => units_to_run += 1,
        }
    }
    if units_carried == 0 {
        return Err(fail(format!("no unit of the journal {} can be carried", old_dir.display())));
    }
    let record = Record {
        experiment: new.id().to_string(),
        from_commit: commit,
        from_journal: from_journal.clone(),
        to_fingerprint: new_paths.fingerprint.clone(),
        budgets,
        units_total: units.len(),
        units_carried,
        units_to_run,
        rule: CARRY_RULE.to_string(),
    };
    // the carried lines first (a whole file, atomically), then the record
    std::fs::create_dir_all(&new_dir).map_err(ReportError::io(&new_dir))?;
    let file = carried_file(&new_paths, &from_journal);
    if !carried.is_empty() {
        let mut bytes = std::fs::read(&file).unwrap_or_default();
        bytes.extend_from_slice(carried.as_bytes());
        atomic_write_bytes(&file, &bytes).map_err(ReportError::io(&file))?;
    }
    let rec = record_path(&new_paths);
    let json = serde_json::to_string_pretty(&record).map_err(|e| fail(e.to_string()))?;
    atomic_write_bytes(&rec, format!("{json}\n").as_bytes()).map_err(ReportError::io(&rec))?;
    Ok(record)
}
