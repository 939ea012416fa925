//! Every command README.md shows in a fenced shell block must work as written: a `make X` target
//! exists in the Makefile, a `target/release/smoe` subcommand exists and accepts each of its
//! `--flags` (read from the built binary's `--help`), and every repository path it names (outside
//! the scratch tree `target/`) exists. A renamed target, subcommand, flag or file fails here.
//! Also: `.ci/run` runs exactly the README's test command.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of README's fenced `sh`/`bash`/`shell`/`console` blocks, comments stripped.
fn shell_lines(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        let t = line.trim();
        if let Some(lang) = t.strip_prefix("```") {
            inside = !inside && matches!(lang.trim(), "sh" | "bash" | "shell" | "console");
            continue;
        }
        if inside {
            let code = match t.find(" #") {
                Some(i) => &t[..i],
                None if t.starts_with('#') => "",
                None => t,
            };
            if !code.trim().is_empty() {
                out.push(code.trim().to_string());
            }
        }
    }
    out
}

/// Whitespace-separated words, with single- and double-quoted spans kept whole (quotes removed).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                any = true
            }
            None if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false
            }
            None => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The targets a Makefile defines: `name:` and `a b c:` rule lines (not `VAR := ...`).
fn make_targets(makefile: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in makefile.lines() {
        if line.starts_with(|c: char| c.is_whitespace() || c == '#' || c == '.') {
            continue;
        }
        if let Some(i) = line.find(':') {
            if line[i..].starts_with(":=") || line[..i].contains('=') {
                continue;
            }
            out.extend(line[..i].split_whitespace().map(str::to_string));
        }
    }
    out
}

/// What is wrong with README's commands; `help(args)` is the output of `smoe ARGS --help`, or
/// None when that fails (no such subcommand).
fn problems(readme: &str, makefile: &str, root: &Path, help: &dyn Fn(&[&str]) -> Option<String>) -> Vec<String> {
    let targets = make_targets(makefile);
    let mut bad = Vec::new();
    for line in shell_lines(readme) {
        let w = words(&line);
        // repository paths named anywhere on the line (the scratch tree target/ is made by the commands)
        for word in &w {
            let looks_like_path = word.contains('/') && !word.starts_with('-') && !word.contains("://") && !word.starts_with("s/");
            if looks_like_path && !word.starts_with("target/") && !root.join(word).exists() {
                bad.push(format!("`{line}`: no such path {word}"));
            }
        }
        match w.first().map(String::as_str) {
            Some("make") => {
                for t in w[1..].iter().filter(|t| !t.starts_with('-') && !t.contains('=')) {
                    if !targets.contains(t) {
                        bad.push(format!("`{line}`: the Makefile has no target {t}"));
                    }
                }
            }
            Some("target/release/smoe") | Some("smoe") => {
                // global options with a value come before the subcommand
                let mut i = 1;
                while i < w.len() && w[i].starts_with("--") {
                    i += if matches!(w[i].as_str(), "--root" | "--threads") { 2 } else { 1 };
                }
                let Some(sub) = w.get(i) else {
                    bad.push(format!("`{line}`: no subcommand"));
                    continue;
                };
                match help(&[sub.as_str()]) {
                    None => bad.push(format!("`{line}`: smoe has no subcommand {sub}")),
                    Some(text) => {
                        for flag in w[1..].iter().filter(|f| f.starts_with("--")) {
                            let name = flag.split('=').next().unwrap_or(flag);
                            if !text.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']').any(|t| t == name) {
                                bad.push(format!("`{line}`: `smoe {sub}` has no flag {name}"));
                            }
                        }
                    }
                }
            }
            Some("mkdir" | "sed" | "cp" | "cargo" | "bash" | "python3" | "git" | "cd" | "ls") => {}
            Some(other) => bad.push(format!("`{line}`: command {other} is not checked by this test")),
            None => {}
        }
    }
    bad
}

fn smoe_help(args: &[&str]) -> Option<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_smoe")).args(args).arg("--help").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_command_of_the_readme_exists() {
    let r = repo();
    let readme = std::fs::read_to_string(r.join("README.md")).unwrap();
    let makefile = std::fs::read_to_string(r.join("Makefile")).unwrap();
    assert!(shell_lines(&readme).len() >= 4, "README.md shows fewer shell commands than expected");
    let bad = problems(&readme, &makefile, &r, &smoe_help);
    assert!(bad.is_empty(), "README.md commands that would fail:\n{}", bad.join("\n"));
}

#[test]
fn ci_runs_exactly_the_readmes_test_command() {
    let r = repo();
    let readme = std::fs::read_to_string(r.join("README.md")).unwrap();
    let ci = std::fs::read_to_string(r.join(".ci/run")).unwrap();
    assert!(shell_lines(&readme).iter().any(|l| l == "make test"), "README shows no `make test`");
    let ci_cmds: Vec<&str> = ci.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert_eq!(ci_cmds.last(), Some(&"make test"), ".ci/run does not end with `make test`: {ci_cmds:?}");
}

#[test]
fn a_renamed_target_subcommand_flag_or_path_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("workflow")).unwrap();
    std::fs::write(dir.path().join("workflow/e1.yaml"), "").unwrap();
    let readme = "text\n```sh\nmake all    # comment\nmake test\nsed 's/a/b/' workflow/e1.yaml > target/s/x.yaml\ntarget/release/smoe --root target/s all target/s/x.yaml --force\n```\n";
    let makefile = "CONFIGS := a\nall: build\n\tstuff\ntest:\n\tmore\n";
    let help =
        |args: &[&str]| (args == ["all"]).then(|| "Usage: smoe all [OPTIONS]\n      --force  rerun\n      --root <ROOT>\n".to_string());
    assert_eq!(problems(readme, makefile, dir.path(), &help), Vec::<String>::new());
    // the test target renamed in the Makefile
    let renamed = makefile.replace("test:", "check:");
    let bad = problems(readme, &renamed, dir.path(), &help);
    assert_eq!(bad, ["`make test`: the Makefile has no target test"]);
    // a subcommand, a flag and a config path that do not exist
    let bad = problems(&readme.replace(" all ", " everything "), makefile, dir.path(), &help);
    assert!(bad.iter().any(|b| b.contains("no subcommand everything")), "{bad:?}");
    let bad = problems(&readme.replace("--force", "--forse"), makefile, dir.path(), &help);
    assert!(bad.iter().any(|b| b.contains("no flag --forse")), "{bad:?}");
    let bad = problems(&readme.replace("workflow/e1.yaml", "workflow/e9.yaml"), makefile, dir.path(), &help);
    assert!(bad.iter().any(|b| b.contains("no such path workflow/e9.yaml")), "{bad:?}");
    // a command outside fenced shell blocks is not a command
    assert!(shell_lines("```text\nmake nothing\n```\n").is_empty());
}
