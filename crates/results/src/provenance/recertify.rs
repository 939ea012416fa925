//! Recertification: carrying committed results across a code change that does not change them.
//!
//! Results are current exactly when their fingerprint (config + code) matches; any edit of the
//! result crates makes every experiment stale, even a fix of a code path an experiment never
//! takes. Rerunning everything costs hours, so such a change may instead be *recertified*: a
//! stratified sample of the experiment's units (one replication per cell of setting, fit,
//! estimator and n, the replication chosen from a hash of the cell's identity) is rerun with the
//! new code, and every G_bar is recomputed; each result must equal, bit for bit (wall time
//! aside), what the run that produced the committed results wrote in its journal and G_bar
//! cache (the rows' floats after the same JSON round trip as the journal's, the fitted
//! parameters as bit patterns). Only then is the fingerprint moved to the new code, and the evidence is kept in
//! `data/<experiment>/recertified.json` (which the manifest records). One difference anywhere
//! and nothing is written: the experiment stays stale and must be rerun.
//!
//! A sample, not every unit: the guarantee is that the change leaves every sampled unit and
//! every G_bar identical. A change that alters results only in units outside the sample would
//! pass; so recertification is meant for changes whose reach is known (a fix in a branch the
//! experiment never enters), and a full rerun remains the way to land anything else.

use super::records::{full_commit, mark_current};
pub use super::records::{recertified_path as record_path, results_journal, Record, Step};
use crate::error::{checked_output, ReportError, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use smoe_experiment::config::differs_only_in_description;
use smoe_experiment::fsio::{atomic_write_bytes, sha256_bytes};
use smoe_experiment::gbar;
use smoe_experiment::journal::{read_journals, JournalEntry};
use smoe_experiment::paths::{code_fingerprint_with, fingerprint_of, LockRule, Root};
use smoe_experiment::plan::{Experiment, Unit};
use smoe_experiment::rows::Target;
use smoe_experiment::run::Context;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The sampling rule, as recorded in each step.
pub const SAMPLE_RULE: &str = "one replication per cell (setting, fit, estimator, n), chosen as sha256(cell key) mod replications";

/// The outcome for one experiment.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Results already carry the current fingerprint: nothing to do.
    AlreadyCurrent,
    Recertified(Box<Step>),
}

/// The cell of a unit: everything but the replication.
fn cell_key(exp: &Experiment, u: &Unit) -> String {
    let key = exp.unit_key(u);
    key.rsplit_once("/rep=").map(|(cell, _)| cell.to_string()).unwrap_or(key)
}

/// The sampled units of `exp`: one replication per cell, chosen from the hash of the cell's
/// identity (so the sample does not depend on order, threads or code).
pub fn sample_units(exp: &Experiment) -> Vec<Unit> {
    let reps = exp.config.replications.max(1) as u64;
    exp.units()
        .into_iter()
        .filter(|u| {
            let h = sha256_bytes(cell_key(exp, u).as_bytes());
            let pick = u64::from_str_radix(&h[..15], 16).expect("hex digest") % reps;
            u64::from(u.rep) == pick
        })
        .collect()
}

/// The full hash of `commit` in the repository at `repo`, and the code fingerprints of its
/// sources (its result crates extracted with `git archive` into a temporary directory) under
/// each [`LockRule`], the rule in force first: results stored before the rule changed carry the
/// other.
pub fn code_fingerprint_at(repo: &Path, commit: &str) -> Result<(String, Vec<String>)> {
    let full = full_commit(repo, commit)?;
    let tmp = tempfile::tempdir().map_err(ReportError::io(std::env::temp_dir()))?;
    let mut paths = vec!["Cargo.lock".to_string()];
    for k in smoe_experiment::paths::RESULT_CRATES {
        paths.push(format!("crates/{k}"));
    }
    let command = format!("git archive {full} {} | tar -x -C {}", paths.join(" "), tmp.path().display());
    checked_output(Command::new("bash").arg("-c").arg(format!("set -o pipefail; {command}")).current_dir(repo), command)?;
    let codes = [LockRule::ResultClosure, LockRule::WholeFile]
        .into_iter()
        .map(|rule| code_fingerprint_with(tmp.path(), rule))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((full, codes))
}

/// The text of the config `exp` at `commit` (`git show`), for a recertification across a
/// config change.
pub fn config_at(repo: &Path, commit: &str, exp: &Experiment) -> Result<String> {
    let abs = std::fs::canonicalize(&exp.path).map_err(ReportError::io(&exp.path))?;
    let repo_abs = std::fs::canonicalize(repo).map_err(ReportError::io(repo))?;
    let rel = abs.strip_prefix(&repo_abs).unwrap_or(&abs).to_string_lossy().into_owned();
    let spec = format!("{commit}:{rel}");
    let out = checked_output(Command::new("git").args(["show", &spec]).current_dir(repo), format!("git show {spec}"))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Where recertified results come from: a commit, the code fingerprints of its sources (any one
/// may be the one the results carry), and the config text it held if that differs from today's.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub commit: String,
    pub codes: Vec<String>,
    pub config: Option<String>,
}

/// Where two serialised results first differ: a few characters of each around that place.
fn first_difference(old: &str, new: &str) -> String {
    let at = old.bytes().zip(new.bytes()).position(|(a, b)| a != b).unwrap_or(old.len().min(new.len()));
    let window = |s: &str| {
        let (mut lo, mut hi) = (at.saturating_sub(40), (at + 40).min(s.len()));
        while !s.is_char_boundary(lo) {
            lo -= 1;
        }
        while !s.is_char_boundary(hi) {
            hi += 1;
        }
        s[lo..hi].to_string()
    };
    format!("journal: ...{}... rerun: ...{}...", window(old), window(new))
}

/// Recertify the results of `exp` from the code `from_code` (of commit `from_commit`) to the
/// code of `root`. On any difference returns [`ReportError::Recertify`] and writes nothing.
pub fn recertify(exp: &Experiment, root: &Root, from_commit: &str, from_code: &str, quiet: bool) -> Result<Outcome> {
    let origin = Origin { commit: from_commit.to_string(), codes: vec![from_code.to_string()], config: None };
    recertify_from(exp, root, &origin, quiet)
}

/// [`recertify`] from `origin`, whose config text may differ from today's in descriptive fields
/// only ([`smoe_experiment::config::DESCRIPTIVE_FIELDS`]); the stored fingerprint must be that
/// config with one of the origin's code fingerprints.
pub fn recertify_from(exp: &Experiment, root: &Root, origin: &Origin, quiet: bool) -> Result<Outcome> {
    let paths = root.paths(exp);
    if paths.results_current() {
        return Ok(Outcome::AlreadyCurrent);
    }
    let fail = |problem: String| ReportError::Recertify { experiment: exp.id().to_string(), problem };
    let from_commit = origin.commit.as_str();
    let from_config = match &origin.config {
        Some(old) => {
            let now = std::fs::read_to_string(&exp.path).map_err(ReportError::io(&exp.path))?;
            differs_only_in_description(old, &now)
                .map_err(|e| fail(format!("its config changed since {from_commit}: {e}; rerun it instead")))?;
            sha256_bytes(old.as_bytes())
        }
        None => exp.sha256.clone(),
    };
    let stored = std::fs::read_to_string(paths.fingerprint_file()).map_err(ReportError::io(paths.fingerprint_file()))?;
    let candidates: Vec<(String, String)> = origin.codes.iter().map(|c| (c.clone(), fingerprint_of(&from_config, c))).collect();
    let Some((from_code, from_fp)) = candidates.iter().find(|(_, fp)| *fp == stored.trim()).cloned() else {
        let tried: Vec<&str> = candidates.iter().map(|(_, fp)| fp.as_str()).collect();
        return Err(fail(format!(
            "its results carry fingerprint {}, not one of {tried:?} (the config and code of {from_commit}); rerun it instead",
            stored.trim()
        )));
    };
    let from_code = from_code.as_str();
    let rec_path = record_path(&paths);
    let previous: Option<Record> = match std::fs::read(&rec_path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| fail(format!("{}: {e}", rec_path.display())))?),
        Err(_) => None,
    };
    // the journal of the run that produced the results: this one's, or the first step's
    let journal = results_journal(&paths);
    let journal_dir = root.dir.join("data").join("raw").join(exp.id()).join(&journal);
    let old = read_journals(&journal_dir)?;
    let sample = sample_units(exp);
    for u in &sample {
        if !old.contains_key(&exp.unit_key(u)) {
            return Err(fail(format!(
                "unit {} is not in the journal {} of the run that produced the results (recertifying needs that run's journals)",
                exp.unit_key(u),
                journal_dir.display()
            )));
        }
    }
    // G_bars: recomputed with the new code (cached under its key), then compared with the old
    let ctx = Context::prepare(exp, &root.cache_dir(), &root.code)?;
    // both records read back from their cache files: the floats of a record go through JSON,
    // whose parsing is exact only to the last bit, so the fresh one (ctx.gbars) is compared
    // after the same round trip as the stored one
    let mut gbars_checked = 0;
    for (si, s) in exp.settings.iter().enumerate() {
        for (fi, f) in s.fits.iter().enumerate() {
            if f.target != Target::Gbar {
                continue;
            }
            let (old_path, new_path) =
                (gbar::cache_path(exp, si, fi, &root.cache_dir(), from_code), gbar::cache_path(exp, si, fi, &root.cache_dir(), &root.code));
            let (old_rec, new_rec) = (gbar::load(&old_path)?, gbar::load(&new_path)?);
            if serde_json::to_string(&old_rec).expect("serialisable") != serde_json::to_string(&new_rec).expect("serialisable") {
                return Err(fail(format!(
                    "G_bar of {} / {} differs: {} against {}",
                    s.name,
                    f.gate,
                    old_path.display(),
                    new_path.display()
                )));
            }
            gbars_checked += 1;
        }
    }
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(sample.len() as u64) };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} units rechecked, eta {eta}")
            .expect("valid template"),
    );
    bar.set_prefix(exp.id().to_string());
    let mut order = sample.clone();
    order.sort_by_key(|u| std::cmp::Reverse(u.n));
    let differing: BTreeMap<String, String> = order
        .par_iter()
        .filter_map(|u| {
            let key = exp.unit_key(u);
            // through the journal's JSON, as the stored entries went: its float parsing is exact
            // only to the last bit, so a fresh value is compared after the same round trip (the
            // fitted parameters are stored as bit patterns and compare exactly)
            let fresh = ctx.run_unit(u);
            let line = serde_json::to_string(&fresh).expect("serialisable");
            let new = serde_json::from_str::<JournalEntry>(&line).expect("own output parses").comparable();
            bar.inc(1);
            let olds: Vec<String> = old[&key].iter().map(|e| e.comparable()).collect();
            (!olds.contains(&new)).then(|| (key, first_difference(&olds[0], &new)))
        })
        .collect();
    bar.finish_and_clear();
    if let Some((first, diff)) = differing.iter().next() {
        return Err(fail(format!("{} of {} sampled units differ, e.g. {first} ({diff}); rerun it instead", differing.len(), sample.len())));
    }
    let step = Step {
        from_commit: from_commit.to_string(),
        from_code: from_code.to_string(),
        to_code: root.code.clone(),
        from_fingerprint: from_fp.clone(),
        to_fingerprint: paths.fingerprint.clone(),
        units_total: exp.units().len(),
        units_checked: sample.len(),
        gbars_checked,
        sample_rule: SAMPLE_RULE.to_string(),
        from_config: (from_config != exp.sha256).then(|| from_config.clone()),
        to_config: (from_config != exp.sha256).then(|| exp.sha256.clone()),
    };
    let mut record = match previous {
        Some(r) if r.journal == journal => r,
        _ => Record { experiment: exp.id().to_string(), journal, steps: Vec::new() },
    };
    record.steps.push(step.clone());
    let json = serde_json::to_string_pretty(&record).map_err(|e| fail(e.to_string()))?;
    atomic_write_bytes(&rec_path, format!("{json}\n").as_bytes()).map_err(ReportError::io(&rec_path))?;
    // the fingerprint last: the results count as current only once the evidence is written
    mark_current(&paths)?;
    Ok(Outcome::Recertified(Box::new(step)))
}
