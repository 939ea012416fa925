//! Where an experiment's files live under the artifact root, and the fingerprints that decide
//! whether its results are stale.
//!
//! The *code fingerprint* covers exactly the code that computes results: the entries of
//! Cargo.lock those crates resolve to, and every file under `src/` of the crates in
//! [`RESULT_CRATES`] (this crate and the crates it depends on), with their Cargo.toml files,
//! found by walking those directories. Drawing and storing
//! (the report crate) is outside it: changing a figure never reruns a simulation.

use crate::error::ExperimentError;
use crate::fsio::{sha256_bytes, sha256_file};
use crate::plan::Experiment;
use std::io;
use std::path::{Path, PathBuf};

/// The crates (directories under `crates/`) whose sources compute results: the experiment
/// crate and everything it depends on. A test checks this against crates/experiment/Cargo.toml.
pub const RESULT_CRATES: [&str; 4] = ["model", "estimator", "metrics", "experiment"];

/// The artifact root and the fingerprint of the code that computes results, computed once per
/// invocation so that every stage agrees on it.
#[derive(Clone, Debug)]
pub struct Root {
    pub dir: PathBuf,
    /// [`code_fingerprint`] of `dir`.
    pub code: String,
}

impl Root {
    pub fn open(dir: &Path) -> Result<Root, ExperimentError> {
        Ok(Root { dir: dir.to_path_buf(), code: code_fingerprint(dir)? })
    }

    /// The files of one experiment.
    pub fn paths(&self, exp: &Experiment) -> Paths {
        Paths { root: self.dir.clone(), id: exp.id().to_string(), fingerprint: fingerprint(exp, &self.code), code: self.code.clone() }
    }

    /// G_bars, shared by every experiment (each file is named by what its G_bar depends on).
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join("data").join("cache").join("gbar")
    }

    pub fn figures_dir(&self) -> PathBuf {
        self.dir.join("figures")
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.join("data").join("manifest.json")
    }
}

/// Where an experiment's files live, and the fingerprint of its inputs.
#[derive(Clone, Debug)]
pub struct Paths {
    pub root: PathBuf,
    pub id: String,
    /// Of the experiment's results: config and code.
    pub fingerprint: String,
    /// Of the code alone (part of every G_bar's cache key).
    pub code: String,
}

impl Paths {
    pub fn data(&self) -> PathBuf {
        self.root.join("data").join(&self.id)
    }
    pub fn journal_dir(&self) -> PathBuf {
        self.root.join("data").join("raw").join(&self.id).join(&self.fingerprint)
    }
    /// G_bars, shared by every experiment (each file is named by what its G_bar depends on).
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("data").join("cache").join("gbar")
    }
    pub fn fits(&self) -> PathBuf {
        self.data().join("fits.parquet")
    }
    /// Archive-only: kept out of git (bulky), shipped in the `make dist` archive.
    pub fn params(&self) -> PathBuf {
        self.data().join("params.parquet")
    }
    pub fn rates(&self) -> PathBuf {
        self.data().join("rates.parquet")
    }
    pub fn summary(&self) -> PathBuf {
        self.data().join("summary.csv")
    }
    pub fn floor(&self) -> PathBuf {
        self.data().join("floor.csv")
    }
    pub fn pair_check(&self) -> PathBuf {
        self.data().join("pair_check.csv")
    }
    pub fn gbar_check(&self) -> PathBuf {
        self.data().join("gbar_check.csv")
    }
    pub fn fingerprint_file(&self) -> PathBuf {
        self.data().join("fingerprint.txt")
    }

    /// Whether the merged results are current: written under the same fingerprint, fits present.
    pub fn results_current(&self) -> bool {
        std::fs::read_to_string(self.fingerprint_file()).is_ok_and(|s| s.trim() == self.fingerprint) && self.fits().exists()
    }
}

/// Content fingerprint of what an experiment's results depend on: its config and the code that
/// computes results ([`code_fingerprint`]). Results are stale exactly when it changes.
pub fn fingerprint(exp: &Experiment, code: &str) -> String {
    fingerprint_of(&exp.sha256, code)
}

/// [`fingerprint`] of a config text with SHA-256 `config_sha` under the code `code`.
pub fn fingerprint_of(config_sha: &str, code: &str) -> String {
    sha256_bytes(format!("config {config_sha}\ncode {code}").as_bytes())[..16].to_string()
}

/// Which part of Cargo.lock a code fingerprint covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockRule {
    /// The `[[package]]` entries of the result crates and of everything they depend on
    /// (transitively, dev-dependencies included): a crate added to the workspace, or a
    /// dependency of the publishing crates, leaves the fingerprint as it is. The rule in force.
    ResultClosure,
    /// The whole file: the rule of the fingerprints written before the results and publishing
    /// crates were split (kept so that `smoe recertify` can check results stored under it).
    WholeFile,
}

/// Content fingerprint of the code that computes results under `root`: the part of Cargo.lock
/// the result crates resolve to ([`LockRule::ResultClosure`]), and for each of
/// [`RESULT_CRATES`] its Cargo.toml and every file under its `src/`, each hashed under its
/// '/'-separated path relative to `root`. Files that are absent (a root outside a source tree)
/// contribute nothing; an unreadable file is an error.
pub fn code_fingerprint(root: &Path) -> Result<String, ExperimentError> {
    code_fingerprint_with(root, LockRule::ResultClosure)
}

/// [`code_fingerprint`] with Cargo.lock covered by `rule`.
pub fn code_fingerprint_with(root: &Path, rule: LockRule) -> Result<String, ExperimentError> {
    let hash = |f: &Path| -> Result<Option<String>, ExperimentError> {
        match sha256_file(f) {
            Ok(h) => Ok(Some(h)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ExperimentError::io(f)(e)),
        }
    };
    let mut files = Vec::new();
    for krate in RESULT_CRATES {
        let dir = root.join("crates").join(krate);
        files.push(dir.join("Cargo.toml"));
        walk(&dir.join("src"), &mut files)?;
    }
    let mut parts: Vec<(String, String)> = Vec::new();
    let lock = root.join("Cargo.lock");
    let lock_hash = match rule {
        LockRule::WholeFile => hash(&lock)?,
        LockRule::ResultClosure => match std::fs::read_to_string(&lock) {
            Ok(text) => Some(sha256_bytes(result_closure(&text).as_bytes())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(ExperimentError::io(&lock)(e)),
        },
    };
    if let Some(h) = lock_hash {
        parts.push(("Cargo.lock".to_string(), h));
    }
    for f in &files {
        if let Some(h) = hash(f)? {
            let rel = f.strip_prefix(root).unwrap_or(f);
            let key = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            parts.push((key, h));
        }
    }
    parts.sort();
    let text: Vec<String> = parts.into_iter().map(|(k, h)| format!("{k} {h}")).collect();
    Ok(sha256_bytes(text.join("\n").as_bytes())[..16].to_string())
}

/// The `[[package]]` entries of Cargo.lock that the result crates (`smoe-<crate>`) resolve to,
/// transitively, in the file's order, each as written. A dependency is named `name`, or `name
/// version` (or `name version (source)`) when several versions are locked.
pub fn result_closure(lock: &str) -> String {
    let blocks: Vec<&str> = lock.split("\n[[package]]\n").skip(1).map(|b| b.trim_end()).collect();
    let field = |b: &str, key: &str| -> Option<String> {
        b.lines().find_map(|l| l.strip_prefix(&format!("{key} = \"")).and_then(|v| v.strip_suffix('"')).map(str::to_string))
    };
    let deps = |b: &str| -> Vec<String> {
        let mut in_deps = false;
        let mut out = Vec::new();
        for l in b.lines() {
            if l.starts_with("dependencies = [") {
                in_deps = true;
            } else if in_deps && l.starts_with(']') {
                in_deps = false;
            } else if in_deps {
                out.push(l.trim().trim_end_matches(',').trim_matches('"').to_string());
            }
        }
        out
    };
    let named: Vec<(String, String)> =
        blocks.iter().map(|b| (field(b, "name").unwrap_or_default(), field(b, "version").unwrap_or_default())).collect();
    let matches = |i: usize, dep: &str| {
        let mut words = dep.split(' ');
        let (name, version) = (words.next().unwrap_or(""), words.next());
        named[i].0 == name && version.is_none_or(|v| named[i].1 == v)
    };
    let mut keep = vec![false; blocks.len()];
    let mut todo: Vec<usize> = (0..blocks.len()).filter(|&i| RESULT_CRATES.iter().any(|k| named[i].0 == format!("smoe-{k}"))).collect();
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut keep[i], true) {
            continue;
        }
        for d in deps(blocks[i]) {
            todo.extend((0..blocks.len()).filter(|&j| !keep[j] && matches(j, &d)));
        }
    }
    blocks.iter().zip(&keep).filter(|(_, k)| **k).map(|(b, _)| *b).collect::<Vec<_>>().join("\n\n")
}

/// Every file below `dir`, recursively (nothing if `dir` does not exist).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ExperimentError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ExperimentError::io(dir)(e)),
    };
    for entry in entries {
        let path = entry.map_err(ExperimentError::io(dir))?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
