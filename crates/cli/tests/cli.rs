//! The binary's contract: bad input exits with code 2 and a message naming the field, and
//! writes nothing; `all` skips current results and leaves an unchanged tree unchanged; a killed
//! run resumes to the same bits. One `smoe all` of the smoke config is shared by the tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use tempfile::TempDir;

const SMOKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflow/smoke.yaml");

fn smoe(root: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smoe"))
        .arg("--root")
        .arg(root)
        .arg("--quiet")
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Every path under `root`, sorted.
fn entries(root: &Path) -> Vec<String> {
    let mut v = Vec::new();
    walk(root, &mut v);
    v.sort();
    v
}

fn walk(p: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(p).unwrap() {
        let path = e.unwrap().path();
        out.push(path.display().to_string());
        if path.is_dir() {
            walk(&path, out);
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// `smoe all` of the smoke config, once per test run (in the target directory).
fn fixture() -> &'static Path {
    static FIXTURE: OnceLock<PathBuf> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-smoke-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (code, err) = smoe(&dir, &["all", SMOKE]);
        assert_eq!(code, Some(0), "{err}");
        assert!(err.contains("all: 1 experiments"), "{err}");
        dir
    })
}

#[test]
fn bad_config_exits_2_names_the_field_and_writes_nothing() {
    let root = TempDir::new().unwrap();
    let smoke = std::fs::read_to_string(SMOKE).unwrap();
    let bad = root.path().join("bad.yaml");
    std::fs::write(&bad, smoke.replace("k: 3", "k: 1")).unwrap();
    let before = entries(root.path());
    for cmd in ["plan", "run", "all"] {
        let (code, err) = smoe(root.path(), &[cmd, bad.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(err.contains("bad.yaml") && err.contains("field `k`") && err.contains("k_star = 2"), "{cmd}: {err}");
        assert_eq!(entries(root.path()), before, "{cmd} wrote files");
    }
    // a cause from below (the estimator's check) is printed with the field it belongs to
    std::fs::write(&bad, smoke.replace("learning_rate: 0.1", "learning_rate: -1")).unwrap();
    let (code, err) = smoe(root.path(), &["plan", bad.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("field `estimators.sgd`: invalid value for `learning_rate`: -1"), "{err}");
}

#[test]
fn bad_shard_is_rejected() {
    let root = TempDir::new().unwrap();
    let (code, err) = smoe(root.path(), &["run", SMOKE, "--shard", "3/3"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--shard") && err.contains("0 <= i < N"), "{err}");
    assert!(entries(root.path()).is_empty());
}

/// On current results `all` reruns nothing and, with the archive-only params.parquet absent as
/// in a git checkout, leaves the manifest byte for byte as it was; verify then catches a
/// hand-edited output.
#[test]
fn all_on_current_results_changes_nothing_and_verify_detects_an_edit() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    copy_tree(fixture(), root);
    let manifest = std::fs::read(root.join("data/manifest.json")).unwrap();
    std::fs::remove_file(root.join("data/smoke/params.parquet")).unwrap();
    let (code, err) = smoe(root, &["all", SMOKE]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("results are current"), "{err}");
    assert!(std::fs::read(root.join("data/manifest.json")).unwrap() == manifest, "manifest rewritten");
    let (code, err) = smoe(root, &["verify"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("archive-only"), "{err}");

    let summary = root.join("data/smoke/summary.csv");
    let text = std::fs::read_to_string(&summary).unwrap();
    std::fs::write(&summary, text.replacen("smoke", "smokf", 1)).unwrap();
    let (code, err) = smoe(root, &["verify"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("data/smoke/summary.csv: changed"), "{err}");
}

fn fits_without_wall_time(root: &Path) -> String {
    let rows = smoe_report::store::read_fits(&root.join("data/smoke/fits.parquet")).unwrap();
    let rows: Vec<_> = rows.into_iter().map(|r| smoe_experiment::rows::FitRow { wall_s: 0.0, ..r }).collect();
    // Debug prints every f64 in its shortest round-trip form (and NaN as NaN): a bitwise comparison
    format!("{rows:?}")
}

/// Kill `smoe all` with SIGKILL at several moments, run it again each time, and get exactly the
/// results of an uninterrupted run. From nothing the kills land while G_bars are computed; with
/// the G_bars cached they land among the units, the merge and the drawing.
#[test]
fn killed_runs_resume_to_identical_results() {
    let reference = fits_without_wall_time(fixture());
    for (i, (delay_ms, cached)) in [(50u64, false), (1500, false), (150, true), (600, true)].into_iter().enumerate() {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path();
        if cached {
            copy_tree(&fixture().join("data/cache"), &root.join("data/cache"));
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_smoe"))
            .arg("--root")
            .arg(root)
            .args(["--quiet", "all", SMOKE])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let (code, err) = smoe(root, &["all", SMOKE]);
        assert_eq!(code, Some(0), "kill {i} after {delay_ms} ms: {err}");
        assert_eq!(fits_without_wall_time(root), reference, "kill {i} at {delay_ms} ms");
        // every output is complete (a kill mid-write leaves at most a temporary file, which the
        // manifest does not list)
        let (code, err) = smoe(root, &["verify"]);
        assert_eq!(code, Some(0), "kill {i} at {delay_ms} ms: {err}");
        let manifest = smoe_report::manifest::Manifest::load(&root.join("data/manifest.json")).unwrap();
        let temporary: Vec<&String> = manifest.files.keys().filter(|k| k.contains(".tmp")).collect();
        assert!(temporary.is_empty(), "kill {i} at {delay_ms} ms: temporary files in the manifest: {temporary:?}");
    }
}
