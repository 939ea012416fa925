//! Recertification carries results across a code change only when the rerun sample and every
//! G_bar are bitwise equal, and writes nothing otherwise.

use smoe_experiment::paths::{code_fingerprint, fingerprint, Root};
use smoe_experiment::plan::{Experiment, Shard};
use smoe_experiment::run::{run, Silent};
use smoe_report::commands::merge;
use smoe_report::recertify::{code_fingerprint_at, recertify, record_path, sample_units, Outcome, Record};
use smoe_report::ReportError;
use std::collections::BTreeSet;
use std::path::Path;

fn smoke() -> Experiment {
    Experiment::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow/smoke.yaml")).unwrap()
}

/// A root under `dir` whose code fingerprint is `code` (standing for a version of the sources).
fn root(dir: &Path, code: &str) -> Root {
    Root { dir: dir.to_path_buf(), code: code.to_string() }
}

/// The smoke config run and merged in a fresh directory under the code "code-a".
fn produced_by_code_a() -> (Experiment, tempfile::TempDir, Root) {
    let exp = smoke();
    let dir = tempfile::tempdir().unwrap();
    let a = root(dir.path(), "code-a");
    let paths = a.paths(&exp);
    rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| {
        run(&exp, &paths, Shard::ALL, None, &Silent).unwrap();
        merge(&exp, &paths).unwrap();
    });
    (exp, dir, a)
}

#[test]
fn the_sample_is_one_replication_of_every_cell() {
    let exp = smoke();
    let sample = sample_units(&exp);
    let cells: BTreeSet<_> = exp.units().iter().map(|u| (u.setting, u.fit, u.estimator, u.n)).collect();
    let sampled: Vec<_> = sample.iter().map(|u| (u.setting, u.fit, u.estimator, u.n)).collect();
    assert_eq!(sampled.len(), cells.len(), "one unit per cell");
    assert_eq!(sampled.iter().copied().collect::<BTreeSet<_>>(), cells, "every cell sampled");
    assert_eq!(sample, sample_units(&exp), "deterministic");
    // not always the same replication (the choice hashes the cell's identity)
    assert!(sample.iter().map(|u| u.rep).collect::<BTreeSet<_>>().len() > 1, "replications vary across cells");
}

#[test]
fn recertify_carries_identical_results_and_refuses_different_ones() {
    let (exp, dir, a) = produced_by_code_a();
    let fits_before = std::fs::read(a.paths(&exp).fits()).unwrap();

    // a wrong "from" code: the results were not produced by it
    let b = root(dir.path(), "code-b");
    assert!(!b.paths(&exp).results_current());
    let err = recertify(&exp, &b, "wrong", "code-z", true).unwrap_err();
    assert!(matches!(err, ReportError::Recertify { .. }), "{err}");
    assert!(!b.paths(&exp).results_current());

    // same computations under another code fingerprint: carried over, with the evidence
    let out = recertify(&exp, &b, "commit-a", "code-a", true).unwrap();
    let Outcome::Recertified(step) = out else { panic!("expected a recertification") };
    assert_eq!(step.units_checked, sample_units(&exp).len());
    assert_eq!(step.units_total, exp.units().len());
    assert!(step.gbars_checked >= 1, "the smoke config has a G_bar target");
    assert_eq!(step.to_fingerprint, fingerprint(&exp, "code-b"));
    assert!(b.paths(&exp).results_current());
    assert_eq!(std::fs::read(b.paths(&exp).fits()).unwrap(), fits_before, "results untouched");
    assert_eq!(recertify(&exp, &b, "commit-a", "code-a", true).unwrap(), Outcome::AlreadyCurrent);

    // a second step compares against the journal of the run that produced the results
    let c = root(dir.path(), "code-c");
    assert!(matches!(recertify(&exp, &c, "commit-b", "code-b", true).unwrap(), Outcome::Recertified(_)));
    let record: Record = serde_json::from_slice(&std::fs::read(record_path(&c.paths(&exp))).unwrap()).unwrap();
    assert_eq!(record.journal, fingerprint(&exp, "code-a"));
    assert_eq!(record.steps.len(), 2);

    // a full run's merge drops the record
    merge(&exp, &a.paths(&exp)).unwrap();
    assert!(!record_path(&a.paths(&exp)).exists());
}

#[test]
fn one_changed_bit_in_a_sampled_unit_blocks_the_recertification() {
    let (exp, dir, a) = produced_by_code_a();
    // the journal now disagrees with what the code computes for one sampled unit
    let victim = exp.unit_key(&sample_units(&exp)[0]);
    let jdir = a.paths(&exp).journal_dir();
    for f in std::fs::read_dir(&jdir).unwrap() {
        let path = f.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                if v["key"] == victim.as_str() {
                    let bits = v["theta_bits"][0].as_u64().unwrap();
                    v["theta_bits"][0] = (bits ^ 1).into();
                }
                v.to_string()
            })
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    }
    let b = root(dir.path(), "code-b");
    let err = recertify(&exp, &b, "commit-a", "code-a", true).unwrap_err();
    assert!(err.to_string().contains(&victim), "{err}");
    assert!(!b.paths(&exp).results_current(), "fingerprint not moved");
    assert!(!record_path(&b.paths(&exp)).exists(), "no record written");
}

/// `git archive` of HEAD gives the working tree's code fingerprint when the result crates are
/// committed as they are (a clean clone, as in CI).
#[test]
fn code_fingerprint_of_head_matches_a_clean_tree() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let clean = std::process::Command::new("git")
        .args(["status", "--porcelain", "--", "Cargo.lock", "crates/model", "crates/estimator", "crates/metrics", "crates/experiment"])
        .current_dir(&repo)
        .output();
    match clean {
        Ok(o) if o.status.success() && o.stdout.is_empty() => {
            let (commit, codes) = code_fingerprint_at(&repo, "HEAD").unwrap();
            assert_eq!(commit.len(), 40, "the full hash: {commit}");
            assert_eq!(codes[0], code_fingerprint(&repo).unwrap());
        }
        _ => eprintln!("not a clean git checkout of the result crates: skipped"),
    }
}
