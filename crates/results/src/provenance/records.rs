//! The records of where results came from, which every provenance step reads and writes: the
//! fingerprint file that marks results current, the recertification record (which run's journal
//! the results are, and each step that carried them to newer code) and where the budget-extension
//! record lives. A leaf: the procedures (recertify, extend), the stages (merge) and the manifest
//! import it, and it imports none of them.

use crate::error::{checked_output, ReportError, Result};
use serde::{Deserialize, Serialize};
use smoe_experiment::fsio::atomic_write_bytes;
use smoe_experiment::paths::Paths;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Write the experiment's fingerprint.txt: its results now count as current. Always the last
/// write of whatever produced them (a merge, a recertification).
pub fn mark_current(paths: &Paths) -> Result<()> {
    let fp = paths.fingerprint_file();
    atomic_write_bytes(&fp, format!("{}\n", paths.fingerprint).as_bytes()).map_err(ReportError::io(&fp))
}

/// One recertification: the code it carried the results from and to, and what was compared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The commit whose result-crate sources give `from_code` (as given on the command line).
    pub from_commit: String,
    pub from_code: String,
    pub to_code: String,
    pub from_fingerprint: String,
    pub to_fingerprint: String,
    pub units_total: usize,
    /// Units rerun and found bitwise equal (rows without wall time, fitted parameters).
    pub units_checked: usize,
    /// G_bars recomputed and found bitwise equal (the whole cache record).
    pub gbars_checked: usize,
    pub sample_rule: String,
    /// SHA-256 of the config text the results were carried from and to, when the step also
    /// crossed a config change (one that touches only descriptive fields such as `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_config: Option<String>,
}

/// The content of data/<experiment>/recertified.json.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub experiment: String,
    /// The fingerprint under which the run that produced the results journaled its units
    /// (data/raw/<experiment>/<journal>/): every step compares against these entries.
    pub journal: String,
    /// Oldest first; the last step's `to_fingerprint` is the one in fingerprint.txt.
    pub steps: Vec<Step>,
}

/// Where an experiment's recertification record lives.
pub fn recertified_path(paths: &Paths) -> PathBuf {
    paths.data().join("recertified.json")
}

/// The fingerprint under which the run that produced the current results of `paths` journaled its
/// units: the first step's if they were recertified, else their own.
pub fn results_journal(paths: &Paths) -> String {
    let stored = std::fs::read_to_string(paths.fingerprint_file()).map(|s| s.trim().to_string()).unwrap_or_default();
    let record: Option<Record> = std::fs::read(recertified_path(paths)).ok().and_then(|b| serde_json::from_slice(&b).ok());
    match record {
        Some(r) if r.steps.last().is_some_and(|s| s.to_fingerprint == stored) => r.journal,
        _ => stored,
    }
}

/// Where an experiment's budget-extension record lives.
pub fn extended_path(paths: &Paths) -> PathBuf {
    paths.data().join("budget_extended.json")
}

/// The full hash of `commit` in the repository at `repo` (an error naming the command if git
/// does not know it).
pub fn full_commit(repo: &Path, commit: &str) -> Result<String> {
    let rev = format!("{commit}^{{commit}}");
    let out = checked_output(
        Command::new("git").args(["rev-parse", "--verify", &rev]).current_dir(repo),
        format!("git rev-parse --verify {rev}"),
    )?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}
