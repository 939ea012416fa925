//! The binary's contract: bad input exits non-zero with a clear message and writes nothing.

use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smoe-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn smoe(root: &PathBuf, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smoe"))
        .arg("--root")
        .arg(root)
        .arg("--quiet")
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn entries(root: &PathBuf) -> Vec<String> {
    let mut v: Vec<String> = walk(root);
    v.sort();
    v
}

fn walk(p: &PathBuf) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let path = e.unwrap().path();
        out.push(path.display().to_string());
        if path.is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

#[test]
fn bad_config_exits_nonzero_names_the_field_and_writes_nothing() {
    let root = scratch("bad");
    let smoke = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflow/smoke.yaml")).unwrap();
    let bad = root.join("bad.yaml");
    std::fs::write(&bad, smoke.replace("k: 3", "k: 1")).unwrap();
    let before = entries(&root);
    for cmd in ["plan", "run", "all"] {
        let (ok, err) = smoe(&root, &[cmd, bad.to_str().unwrap()]);
        assert!(!ok, "{cmd} should fail");
        assert!(err.contains("bad.yaml") && err.contains("field `k`") && err.contains("k_star = 2"), "{cmd}: {err}");
        assert_eq!(entries(&root), before, "{cmd} wrote files");
    }
}

#[test]
fn bad_shard_is_rejected() {
    let root = scratch("shard");
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflow/smoke.yaml");
    let (ok, err) = smoe(&root, &["run", cfg, "--shard", "3/3"]);
    assert!(!ok);
    assert!(err.contains("--shard") && err.contains("0 <= i < N"), "{err}");
    assert!(entries(&root).is_empty());
}

#[test]
fn verify_detects_a_hand_edited_output() {
    let root = scratch("verify");
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflow/smoke.yaml");
    let (ok, err) = smoe(&root, &["all", cfg]);
    assert!(ok, "{err}");
    assert!(err.contains("all: 1 experiments"), "{err}");
    let (ok, err) = smoe(&root, &["verify"]);
    assert!(ok, "{err}");
    let summary = root.join("data/smoke/summary.csv");
    let text = std::fs::read_to_string(&summary).unwrap();
    std::fs::write(&summary, text.replacen("smoke", "smokf", 1)).unwrap();
    let (ok, err) = smoe(&root, &["verify"]);
    assert!(!ok);
    assert!(err.contains("data/smoke/summary.csv: changed"), "{err}");
    // a second `all` with nothing changed reruns no simulation
    let (ok, err) = smoe(&root, &["all", cfg]);
    assert!(ok, "{err}");
    assert!(err.contains("results are current"), "{err}");
}

fn fits_without_wall_time(root: &PathBuf) -> String {
    let rows = smoe_report::store::read_fits(&root.join("data/smoke/fits.parquet")).unwrap();
    let rows: Vec<_> = rows.into_iter().map(|r| smoe_report::rows::FitRow { wall_s: 0.0, ..r }).collect();
    // Debug prints every f64 in its shortest round-trip form (and NaN as NaN): a bitwise comparison
    format!("{rows:?}")
}

/// Kill `smoe all` with SIGKILL at several moments, run it again each time, and get exactly the
/// results of an uninterrupted run.
#[test]
fn killed_runs_resume_to_identical_results() {
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflow/smoke.yaml");
    let clean = scratch("uninterrupted");
    let (ok, err) = smoe(&clean, &["all", cfg]);
    assert!(ok, "{err}");
    let reference = fits_without_wall_time(&clean);
    for (i, delay_ms) in [50u64, 300, 800, 1500].into_iter().enumerate() {
        let root = scratch(&format!("killed-{i}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_smoe"))
            .arg("--root")
            .arg(&root)
            .args(["--quiet", "all", cfg])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let (ok, err) = smoe(&root, &["all", cfg]);
        assert!(ok, "after a kill at {delay_ms} ms: {err}");
        assert_eq!(fits_without_wall_time(&root), reference, "kill at {delay_ms} ms");
        // no temporary file is left behind in the outputs
        assert!(entries(&root).iter().all(|p| !p.ends_with(".tmp")), "temporary files left after a kill at {delay_ms} ms");
    }
}
