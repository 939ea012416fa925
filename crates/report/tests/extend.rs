//! Extending the iteration budget: the units that did not stop at the old cap are carried, the
//! rest rerun, and the merged results are those of a fresh run with the larger budget; any other
//! change of the config is refused.

use smoe_experiment::paths::Root;
use smoe_experiment::plan::{Experiment, Shard};
use smoe_experiment::run::{run, Silent};
use smoe_report::commands::merge;
use smoe_report::extend::{budget_change, current_record, extend, record_path};
use smoe_report::recertify::recertify;
use smoe_report::store::read_fits;
use smoe_report::ReportError;
use std::path::{Path, PathBuf};
use std::process::Command;

const SMOKE_LSE: &str = "lse: {kind: lm, tol_grad: 0.1, tol_rel_cost: 5.0e-6, max_iters: 300, hessian_n: 1000}";

/// The smoke config with the least-squares budget `max_iters` (and, if given, another tolerance).
fn smoke_text(max_iters: u64, tol_grad: f64) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow/smoke.yaml")).unwrap();
    assert_eq!(text.matches(SMOKE_LSE).count(), 1, "the smoke config's lse line changed: update this test");
    text.replace(
        SMOKE_LSE,
        &format!("lse: {{kind: lm, tol_grad: {tol_grad:?}, tol_rel_cost: 5.0e-6, max_iters: {max_iters}, hessian_n: 1000}}"),
    )
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A git repository under a temporary directory whose first commit holds the config `text`.
fn repo_with(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("workflow").join("smoke.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, text).unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["-c", "user.name=t", "-c", "user.email=t@t", "add", "-A"]);
    git(dir.path(), &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "old budget"]);
    (dir, config)
}

/// Run (2 threads) and merge `exp` under `root`.
fn run_and_merge(exp: &Experiment, root: &Root) {
    let paths = root.paths(exp);
    rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| {
        run(exp, &paths, Shard::ALL, None, &Silent).unwrap();
        merge(exp, &paths).unwrap();
    });
}

/// The merged rows without their wall times, as JSON (bitwise for the floats).
fn rows_without_wall(root: &Root, exp: &Experiment) -> Vec<String> {
    let mut rows: Vec<String> = read_fits(&root.paths(exp).fits())
        .unwrap()
        .into_iter()
        .map(|mut r| {
            r.wall_s = 0.0;
            format!("{r:?}")
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn an_extended_budget_merges_to_the_results_of_a_fresh_run() {
    let (old_cap, new_cap) = (60, 300);
    let (dir, config) = repo_with(&smoke_text(old_cap, 0.1));
    let root = Root { dir: dir.path().to_path_buf(), code: "code-a".into() };
    let old = Experiment::load(&config).unwrap();
    run_and_merge(&old, &root);
    let capped = read_fits(&root.paths(&old).fits()).unwrap().iter().filter(|r| r.estimator == "lse" && r.iterations == old_cap).count();
    assert!(capped > 0, "some fits must stop at the old cap for this test to mean anything");

    // the new budget, uncommitted; before the extension none of its results exist
    std::fs::write(&config, smoke_text(new_cap, 0.1)).unwrap();
    let new = Experiment::load(&config).unwrap();
    assert!(!root.paths(&new).results_current());
    let rec = extend(&root, &config, "HEAD").unwrap();
    assert_eq!(rec.budgets.len(), 1);
    assert_eq!((rec.budgets[0].old_max_iters, rec.budgets[0].new_max_iters), (old_cap, new_cap));
    assert_eq!(rec.units_carried + rec.units_to_run, new.units().len());
    assert!(rec.units_to_run > 0 && rec.units_carried > rec.units_to_run, "{rec:?}");
    // every SGD unit is carried: the budget does not touch it
    let sgd_units = new.units().iter().filter(|u| new.estimators[u.estimator].0 == "sgd").count();
    assert!(rec.units_carried >= sgd_units);
    run_and_merge(&new, &root);
    assert!(current_record(&root.paths(&new)).is_some(), "the record speaks for the merged results");

    // the same config run from nothing in another directory
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh_config = fresh_dir.path().join("smoke.yaml");
    std::fs::write(&fresh_config, smoke_text(new_cap, 0.1)).unwrap();
    let fresh = Experiment::load(&fresh_config).unwrap();
    let fresh_root = Root { dir: fresh_dir.path().to_path_buf(), code: "code-a".into() };
    run_and_merge(&fresh, &fresh_root);
    assert_eq!(rows_without_wall(&root, &new), rows_without_wall(&fresh_root, &fresh), "extended and fresh runs differ");
    assert_eq!(
        std::fs::read(root.paths(&new).params()).unwrap(),
        std::fs::read(fresh_root.paths(&fresh).params()).unwrap(),
        "fitted parameters differ"
    );

    // a checkout has no journals (working files): the record still speaks for the results
    let raw = dir.path().join("data").join("raw");
    let kept = dir.path().join("raw-aside");
    std::fs::rename(&raw, &kept).unwrap();
    assert!(current_record(&root.paths(&new)).is_some());
    std::fs::rename(&kept, &raw).unwrap();

    // a recertification to other code carries the results, and the record speaks for them still
    let recertified = Root { dir: dir.path().to_path_buf(), code: "code-c".into() };
    assert!(current_record(&recertified.paths(&new)).is_none(), "under other code the results are stale");
    recertify(&new, &recertified, "HEAD", "code-a", true).unwrap();
    assert!(recertified.paths(&new).results_current());
    assert!(current_record(&recertified.paths(&new)).is_some(), "the record speaks for the recertified results");

    // a later run without the carried lines (another code) drops the record at its merge
    let other = Root { dir: dir.path().to_path_buf(), code: "code-b".into() };
    run_and_merge(&new, &other);
    assert!(!record_path(&other.paths(&new)).exists());
}

#[test]
fn anything_but_a_larger_budget_is_refused() {
    let (dir, config) = repo_with(&smoke_text(60, 0.1));
    let root = Root { dir: dir.path().to_path_buf(), code: "code-a".into() };
    let parse = |t: &str| Experiment::from_str(t, &config).unwrap().config;
    let old = parse(&smoke_text(60, 0.1));

    let err = budget_change(&old, &parse(&smoke_text(300, 0.05))).unwrap_err();
    assert!(err.contains("`estimators.lse`"), "{err}");
    let err = budget_change(&old, &parse(&smoke_text(30, 0.1))).unwrap_err();
    assert!(err.contains("falls from 60 to 30"), "{err}");
    let err = budget_change(&old, &parse(&smoke_text(60, 0.1).replace("seed: ", "seed: 1"))).unwrap_err();
    assert!(err.contains("`seed`"), "{err}");
    let err = budget_change(&old, &old).unwrap_err();
    assert!(err.contains("nothing to extend"), "{err}");

    // the committed config's results are not there: refused, nothing written
    std::fs::write(&config, smoke_text(300, 0.1)).unwrap();
    let err = extend(&root, &config, "HEAD").unwrap_err();
    assert!(matches!(err, ReportError::Extend { .. }) && err.to_string().contains("not those of the config"), "{err}");
    assert!(err.is_input());
    let new = Experiment::load(&config).unwrap();
    assert!(!record_path(&root.paths(&new)).exists());
    assert!(!root.paths(&new).journal_dir().exists());
}
