//! `smoe data-dictionary` writes docs/DATA.md under the root, and leaves a current one alone.

use std::process::Command;
use tempfile::TempDir;

fn data_dictionary(root: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smoe")).arg("--root").arg(root).arg("data-dictionary").output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn data_dictionary_writes_docs_data_md() {
    let root = TempDir::new().unwrap();
    let (code, err) = data_dictionary(root.path());
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("DATA.md: written"), "{err}");
    let path = root.path().join("docs/DATA.md");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), smoe_report::dictionary::markdown());
    let (code, err) = data_dictionary(root.path());
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("DATA.md: current"), "{err}");
}
