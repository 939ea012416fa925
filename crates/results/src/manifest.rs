//! The run manifest (`data/manifest.json`): every output file with its hash and size, keyed by
//! its path relative to the output root, plus a description of the run that produced them (git
//! commit, toolchain, config hashes). [`Manifest::verify`] re-hashes the files and reports what
//! changed.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use smoe_experiment::fsio::{atomic_write_bytes, sha256_and_len, sha256_file};
use smoe_experiment::paths::Root;
use smoe_experiment::plan::Experiment;

use crate::error::{ReportError, Result};

/// Hash and size of one recorded file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub sha256: String,
    pub bytes: u64,
}

/// What produced the files. `"unknown"` marks facts that could not be collected.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub git_commit: String,
    /// True if the sources (crates/, workflow/, Cargo files) had uncommitted changes, or if git could not tell.
    pub git_dirty: bool,
    pub cargo_lock_sha256: String,
    pub rustc_version: String,
    pub host: String,
    /// Config file (as given on the command line) -> SHA-256 of its contents.
    pub config_sha256: BTreeMap<String, String>,
    pub wall_s: f64,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_utc: String,
    pub command: String,
}

/// The manifest: recorded output files (relative path, '/'-separated -> hash) and run info.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub files: BTreeMap<String, FileEntry>,
    pub run: RunInfo,
    /// Experiment -> its compact parameter space Theta (the config's `theta_box`), recorded
    /// beside the configs' hashes so that a reader sees the box without opening the config.
    #[serde(default)]
    pub parameter_spaces: BTreeMap<String, smoe_estimator::ThetaBox>,
}

/// A discrepancy found by [`Manifest::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyProblem {
    Missing { path: String },
    Changed { path: String, expected: String, actual: String },
    Unreadable { path: String, error: String },
}

impl fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { path } => write!(f, "{path}: missing"),
            Self::Changed { path, expected, actual } => {
                write!(f, "{path}: changed (sha256 expected {expected}, actual {actual})")
            }
            Self::Unreadable { path, error } => write!(f, "{path}: unreadable: {error}"),
        }
    }
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path).map_err(ReportError::io(path))?;
        serde_json::from_str(&text).map_err(|source| ReportError::ManifestJson { path: path.to_owned(), source })
    }

    /// Writes pretty-printed JSON (keys in struct / sorted-map order, so the output is
    /// deterministic) atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(|source| ReportError::ManifestJson { path: path.to_owned(), source })?;
        text.push('\n');
        atomic_write_bytes(path, text.as_bytes()).map_err(ReportError::io(path))
    }

    /// Hashes `root/rel_path` and records it under `rel_path` ('/'-separated). `rel_path` may also
    /// be an absolute path inside `root`. Returns the new entry.
    pub fn record_file(&mut self, root: &Path, rel_path: &Path) -> Result<&FileEntry> {
        let rel = rel_path.strip_prefix(root).unwrap_or(rel_path);
        let key = manifest_key(rel).ok_or_else(|| ReportError::NotRelative { path: rel_path.to_owned() })?;
        let full = root.join(rel);
        let (sha256, bytes) = sha256_and_len(&full).map_err(ReportError::io(full))?;
        self.files.insert(key.clone(), FileEntry { sha256, bytes });
        Ok(&self.files[&key])
    }

    /// Re-hashes every recorded file under `root`; empty if all match.
    pub fn verify(&self, root: &Path) -> Vec<VerifyProblem> {
        let mut problems = Vec::new();
        for (key, entry) in &self.files {
            let path = key.clone();
            match sha256_and_len(&root.join(key)) {
                Ok((actual, _)) if actual == entry.sha256 => {}
                Ok((actual, _)) => problems.push(VerifyProblem::Changed { path, expected: entry.sha256.clone(), actual }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => problems.push(VerifyProblem::Missing { path }),
                Err(e) => problems.push(VerifyProblem::Unreadable { path, error: e.to_string() }),
            }
        }
        problems
    }
}

/// '/'-joined normal components, or None for absolute paths, `..`, or non-UTF-8 names.
fn manifest_key(rel: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl RunInfo {
    /// Collects the run description. `root` is the workspace root (git work tree, Cargo.lock).
    /// Never fails: facts that cannot be collected are `"unknown"`.
    pub fn collect(root: &Path, configs: &[PathBuf], command: &str, wall_s: f64) -> Self {
        const UNKNOWN: &str = "unknown";
        let git = |args: &[&str]| run_tool(Command::new("git").arg("-C").arg(root).args(args));
        let git_commit = git(&["rev-parse", "HEAD"]);
        // only what produces results counts as dirty: outputs (data/, figures/) change on every run
        let git_status = git(&["status", "--porcelain", "--", "crates", "workflow", "Cargo.toml", "Cargo.lock", "rust-toolchain.toml"]);
        let config_sha256 = configs
            .iter()
            .map(|c| {
                let hash = sha256_file(c).unwrap_or_else(|_| UNKNOWN.to_owned());
                (c.display().to_string(), hash)
            })
            .collect();
        let host = run_tool(Command::new("uname").arg("-srm"))
            .filter(|s| !s.is_empty())
            .or_else(|| fs::read_to_string("/etc/hostname").ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
        let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        Self {
            git_dirty: git_status.as_ref().is_none_or(|s| !s.is_empty()),
            git_commit: git_commit.unwrap_or_else(|| UNKNOWN.to_owned()),
            cargo_lock_sha256: sha256_file(&root.join("Cargo.lock")).unwrap_or_else(|_| UNKNOWN.to_owned()),
            rustc_version: run_tool(Command::new("rustc").arg("--version")).unwrap_or_else(|| UNKNOWN.to_owned()),
            host: host.unwrap_or_else(|| UNKNOWN.to_owned()),
            config_sha256,
            wall_s,
            created_utc: format_utc(created),
            command: command.to_owned(),
        }
    }
}

/// Trimmed stdout of a successful command, or None if it could not run or failed.
fn run_tool(command: &mut Command) -> Option<String> {
    let out = command.stderr(std::process::Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn format_utc(unix_secs: i64) -> String {
    let (days, secs) = (unix_secs.div_euclid(86_400), unix_secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Files recorded in the manifest but kept out of git (bulky); `verify` reports them as absent
/// from a git checkout rather than as a failure.
pub fn archive_only(key: &str) -> bool {
    key.ends_with("/params.parquet")
}

/// Record every output file of `exps` and the run description in data/manifest.json.
///
/// Archive-only files of these experiments that the previous manifest records but that are
/// absent (a git checkout) keep their entries: they were not rewritten. If the recorded files
/// are then exactly those of the previous manifest, it is left as it is, with the description
/// of the run that produced them, so that rerunning `smoe all` on current results changes
/// nothing. Returns the number of files recorded.
pub fn write_manifest(exps: &[Experiment], root: &Root, command: &str, wall_s: f64) -> Result<usize> {
    let path = root.manifest();
    // an unreadable previous manifest is replaced, as if there were none
    let previous = Manifest::load(&path).ok();
    let mut m = Manifest::default();
    let mut files: Vec<PathBuf> = Vec::new();
    for exp in exps {
        let p = root.paths(exp);
        let record = crate::provenance::records::recertified_path(&p);
        let stalls = crate::stalls::record_path(&p);
        let extended = crate::provenance::records::extended_path(&p);
        for f in [
            p.fits(),
            p.params(),
            p.rates(),
            p.summary(),
            p.gbar_check(),
            p.floor(),
            p.pair_check(),
            p.data().join(crate::dictionary::COMPARISONS.file),
            record,
            stalls,
            extended,
            p.fingerprint_file(),
        ] {
            if f.exists() {
                files.push(f);
            }
        }
    }
    // the derived tables (data/tables/) and the figures and pages (figures/)
    for dir in [root.dir.join("data").join(crate::dictionary::TABLES_DIR), root.figures_dir()] {
        if let Ok(rd) = fs::read_dir(dir) {
            // hidden files are temporary files of atomic writes (left by a kill mid-write), not outputs
            let visible = |p: &PathBuf| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.'));
            let mut found: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file() && visible(p)).collect();
            found.sort();
            files.extend(found);
        }
    }
    for f in &files {
        m.record_file(&root.dir, f)?;
    }
    if let Some(prev) = &previous {
        for exp in exps {
            let params = root.paths(exp).params();
            let Some(key) = params.strip_prefix(&root.dir).ok().and_then(manifest_key) else { continue };
            if let Some(entry) = prev.files.get(&key).filter(|_| archive_only(&key) && !m.files.contains_key(&key)) {
                m.files.insert(key, entry.clone());
            }
        }
        if prev.files == m.files {
            return Ok(m.files.len());
        }
    }
    let configs: Vec<PathBuf> = exps.iter().map(|e| e.path.clone()).collect();
    m.run = RunInfo::collect(&root.dir, &configs, command, wall_s);
    m.parameter_spaces = exps.iter().filter_map(|e| e.theta_box.clone().map(|b| (e.id().to_string(), b))).collect();
    m.save(&path)?;
    Ok(m.files.len())
}

/// Check the files of data/manifest.json. Archive-only files absent from a git checkout are
/// reported on stderr but are not problems.
pub fn verify(root: &Root) -> Result<Vec<VerifyProblem>> {
    let m = Manifest::load(&root.manifest())?;
    Ok(m.verify(&root.dir)
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
