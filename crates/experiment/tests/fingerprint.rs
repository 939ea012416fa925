//! The code fingerprint follows the crate boundary, and the file primitives are atomic.

use smoe_experiment::fsio::{atomic_write, atomic_write_bytes, atomic_write_path, sha256_file};
use smoe_experiment::paths::{code_fingerprint, RESULT_CRATES};
use std::fs;
use std::path::Path;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The `smoe-*` crates a crate's Cargo.toml depends on (its [dependencies] section only).
fn smoe_dependencies(krate: &str) -> Vec<String> {
    let text = fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('[') {
            in_deps = line.trim() == "[dependencies]";
        } else if in_deps {
            if let Some(name) = line.trim().strip_prefix("smoe-") {
                out.push(name.split(['.', ' ', '=']).next().unwrap().to_string());
            }
        }
    }
    out
}

/// RESULT_CRATES is the experiment crate and everything below it: no more, no less.
#[test]
fn result_crates_are_the_experiment_crate_and_its_dependencies() {
    let mut closure = vec!["experiment".to_string()];
    let mut i = 0;
    while i < closure.len() {
        for d in smoe_dependencies(&closure[i]) {
            if !closure.contains(&d) {
                closure.push(d);
            }
        }
        i += 1;
    }
    closure.sort();
    let mut expected: Vec<String> = RESULT_CRATES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(closure, expected);
    for publishing in ["results", "report", "studies"] {
        assert!(!RESULT_CRATES.contains(&publishing), "analyses, figures and tables must not make results stale: {publishing}");
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

#[test]
fn fingerprint_covers_exactly_the_result_crates() {
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    let lock = |v: &str| {
        format!("version = 4\n\n[[package]]\nname = \"serde\"\nversion = \"{v}\"\n\n[[package]]\nname = \"smoe-model\"\nversion = \"0.1.0\"\ndependencies = [\n \"serde\",\n]\n")
    };
    write(root, "Cargo.lock", &lock("1.0.0"));
    for k in RESULT_CRATES {
        write(root, &format!("crates/{k}/Cargo.toml"), k);
        write(root, &format!("crates/{k}/src/lib.rs"), k);
    }
    write(root, "crates/experiment/src/sub/deep.rs", "deep");
    write(root, "crates/report/src/lib.rs", "report");
    write(root, "crates/model/tests/t.rs", "test");
    let fp = || code_fingerprint(root).unwrap();
    let base = fp();
    assert_eq!(base.len(), 16);

    // outside the fingerprint: the report crate, tests, docs
    write(root, "crates/report/src/lib.rs", "report, changed");
    write(root, "crates/report/Cargo.toml", "report");
    write(root, "crates/model/tests/t.rs", "test, changed");
    write(root, "README.md", "readme");
    assert_eq!(fp(), base);

    // inside: any source file (found by walking, at any depth), a crate's Cargo.toml, a Cargo.lock
    // entry the result crates resolve to
    let changed_lock = lock("1.0.1");
    for (rel, text) in [
        ("crates/experiment/src/sub/deep.rs", "deep, changed"),
        ("crates/metrics/src/new_module.rs", "new"),
        ("crates/estimator/Cargo.toml", "estimator, changed"),
        ("Cargo.lock", changed_lock.as_str()),
    ] {
        let before = fp();
        write(root, rel, text);
        assert_ne!(fp(), before, "{rel}");
    }
}

#[test]
fn fingerprint_of_the_workspace_and_of_a_root_without_sources() {
    let here = code_fingerprint(workspace()).unwrap();
    let empty = tempfile::TempDir::new().unwrap();
    assert_ne!(here, code_fingerprint(empty.path()).unwrap());
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn atomic_write_failure_keeps_destination_and_leaves_no_temp() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("out.bin");
    atomic_write_bytes(&path, b"original contents").unwrap();
    assert_eq!(names(dir.path()), ["out.bin"]);

    let err = atomic_write(&path, |f| {
        use std::io::Write;
        f.write_all(b"partial new con")?; // half written, then the writer fails
        Err(std::io::Error::other("simulated crash"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "simulated crash");
    assert_eq!(fs::read(&path).unwrap(), b"original contents");
    assert_eq!(names(dir.path()), ["out.bin"], "temporary file removed");

    // a writer that opens its output by name gets a temporary path with the same extension
    let png = dir.path().join("figure.png");
    atomic_write_path(&png, |tmp| {
        assert_eq!(tmp.extension().unwrap(), "png");
        assert_eq!(tmp.parent(), png.parent());
        fs::write(tmp, b"image")
    })
    .unwrap();
    assert_eq!(fs::read(&png).unwrap(), b"image");
    assert!(atomic_write_path(&png, |tmp| fs::write(tmp, b"half").and(Err(std::io::Error::other("encoder failed")))).is_err());
    assert_eq!(fs::read(&png).unwrap(), b"image");
    assert_eq!(names(dir.path()), ["figure.png", "out.bin"]);

    // the destination is a directory: the rename fails, nothing is left behind
    let blocked = dir.path().join("blocked");
    fs::create_dir(&blocked).unwrap();
    fs::write(blocked.join("keep"), b"x").unwrap();
    assert!(atomic_write_bytes(&blocked, b"y").is_err());
    assert_eq!(names(dir.path()), ["blocked", "figure.png", "out.bin"]);

    // a successful write replaces the contents
    atomic_write_bytes(&path, b"new").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new");
}

/// Outputs get the permissions File::create would give them (tempfile's default is owner-only).
#[cfg(unix)]
#[test]
fn atomic_writes_are_as_readable_as_plain_writes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::TempDir::new().unwrap();
    fs::write(dir.path().join("plain"), b"x").unwrap();
    atomic_write_bytes(&dir.path().join("atomic"), b"x").unwrap();
    let mode = |n: &str| fs::metadata(dir.path().join(n)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("atomic"), mode("plain"));
}

#[test]
fn sha256_matches_known_vectors() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    fs::write(d.join("abc"), b"abc").unwrap();
    fs::write(d.join("empty"), b"").unwrap();
    assert_eq!(sha256_file(&d.join("abc")).unwrap(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(sha256_file(&d.join("empty")).unwrap(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // Larger than the 64 KiB read buffer: a million 'a's.
    fs::write(d.join("million"), vec![b'a'; 1_000_000]).unwrap();
    assert_eq!(sha256_file(&d.join("million")).unwrap(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
