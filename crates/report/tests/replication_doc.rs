//! docs/REPLICATION.md quotes only numbers that a generated file holds: every decimal or
//! scientific number in it (a number with a point or an exponent, other than a power of ten used
//! as a sample size) must appear verbatim in a file under figures/ or data/ (tables, CSVs, logs)
//! or in the paper's numbers (workflow/paper/reported.csv). A number typed by hand, or one left
//! behind when the results change, fails this test.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Decimal and scientific numbers of a text: "-0.52", "3.1e-4", "2e-3" (not "12", not "1e3").
fn numbers(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let mut decimal = false;
        if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
            decimal = true;
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        }
        let mut exponent = false;
        if j + 1 < b.len() && (b[j] == b'e' || b[j] == b'E') {
            let mut k = j + 1;
            if k < b.len() && (b[k] == b'-' || b[k] == b'+') {
                k += 1;
            }
            if k < b.len() && b[k].is_ascii_digit() {
                exponent = true;
                j = k;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
        }
        let token = &text[i..j];
        let power_of_ten = exponent && !decimal && token.starts_with("1e") && !token.contains('-');
        if (decimal || exponent) && !power_of_ten && !(j < b.len() && b[j].is_ascii_alphabetic()) {
            let neg = i > 0 && (b[i - 1] == b'-' || text[..i].ends_with('−'));
            out.push(if neg { format!("-{token}") } else { token.to_string() });
        }
        i = j.max(i + 1);
    }
    out
}

fn generated_text() -> String {
    let mut text = String::new();
    let mut push_dir = |dir: &Path, exts: &[&str]| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_file() && p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
                    text.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
                    text.push('\n');
                }
            }
        }
    };
    let r = repo();
    push_dir(&r.join("figures"), &["md", "csv"]);
    push_dir(&r.join("data"), &["log", "json"]);
    if let Ok(rd) = std::fs::read_dir(r.join("data")) {
        for e in rd.flatten() {
            push_dir(&e.path(), &["csv"]);
        }
    }
    text.push_str(&std::fs::read_to_string(r.join("workflow/paper/reported.csv")).unwrap_or_default());
    // a table may print "-0.52" where the article writes "−0.52" (a minus sign): compare on ASCII
    text.replace('−', "-")
}

#[test]
fn the_number_scanner_finds_what_it_should() {
    let found = numbers("slope −0.52 [−0.61, −0.43] at n = 1e3, D1 = 3.1e-4, 12 fits, v2.0x, 2e-3, 10^4, E1");
    assert_eq!(found, ["-0.52", "-0.61", "-0.43", "3.1e-4", "2e-3"]);
}

#[test]
fn every_number_of_the_article_is_in_a_generated_file() {
    let path = repo().join("docs/REPLICATION.md");
    let article = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let generated = generated_text();
    let missing: Vec<String> = numbers(&article.replace('−', "-")).into_iter().filter(|n| !generated.contains(n.as_str())).collect();
    assert!(
        missing.is_empty(),
        "docs/REPLICATION.md quotes {} number(s) that no generated file holds (figures/*.md|csv, data/*.log|json, data/*/*.csv, workflow/paper/reported.csv): {missing:?}",
        missing.len()
    );
}

/// The section of README.md under `## The answer`, up to the next `## ` heading.
fn readme_answer(readme: &str) -> Option<&str> {
    let start = readme.find("\n## The answer\n")? + 1;
    let rest = &readme[start + "## The answer\n".len()..];
    Some(&rest[..rest.find("\n## ").unwrap_or(rest.len())])
}

#[test]
fn every_number_of_the_readmes_answer_is_in_a_generated_file() {
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let answer = readme_answer(&readme).expect("README.md has a `## The answer` section");
    let lines = answer.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("![")).count();
    assert!(lines <= 8, "README.md's answer is {lines} lines, more than 8");
    let generated = generated_text();
    let missing: Vec<String> = numbers(&answer.replace('−', "-")).into_iter().filter(|n| !generated.contains(n.as_str())).collect();
    assert!(missing.is_empty(), "README.md's answer quotes number(s) that no generated file holds: {missing:?}");
}

#[test]
fn the_answer_section_is_found_and_bounded() {
    let text = "# T\n\n## The answer\n\nslope -0.47 here.\n\n## Next\n\n0.99\n";
    assert_eq!(readme_answer(text).map(numbers), Some(vec!["-0.47".to_string()]));
    assert_eq!(readme_answer("# no answer\n"), None);
}
