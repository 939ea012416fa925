//! The data dictionary (`smoe_report::dictionary`) against the code, so that docs/DATA.md cannot
//! drift: the files the store writes have exactly the dictionary's columns, in order, with its
//! types; the row structs declare their fields in that order; a smoke run's files hold only the
//! documented labels, value forms and unique keys; and the committed docs/DATA.md is what the
//! dictionary generates. A column without an entry fails with a message naming it.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::{DataFrame, DataType};
use polars_io::parquet::read::ParquetReader;
use polars_io::SerReader;
use serde::de::{self, DeserializeOwned, Visitor};
use smoe_estimator::Termination;
use smoe_experiment::paths::Root;
use smoe_experiment::plan::{Experiment, Shard};
use smoe_experiment::rows::{FitRow, FloorRow, GbarCheckRow, Label, PairRow, ParamKind, ParamName, Quantity, Target};
use smoe_metrics::RateMethod;
use smoe_model::{Gate, EXPERT_NAMES};
use smoe_report::commands;
use smoe_report::dictionary::{
    self, Column, ColumnType, Dir, Format, Table, CLAIMS, COMPARISONS, CONVERGENCE, FITS, FLOOR, GBAR_CHECK, GBAR_SETTLING, OWN_TRUTH,
    PAIR_CHECK, PARAMS, RATES, SUMMARY, TABLES, TRUTH_SPREAD,
};
use smoe_report::rows::{ClaimRow, ComparisonRow, ConvergenceRow, NRange, OwnTruthRow, SettlingRow, SpreadRow, SummaryRow};
use smoe_report::store;
use tempfile::TempDir;

const FIX: &str = "describe it in crates/results/src/dictionary.rs, then run `make data-dictionary`";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A table's columns as found in a file or a struct: names in order, with their types where
/// known (a Parquet file; not a CSV header or a struct's serde fields).
type Found = Vec<(String, Option<ColumnType>)>;

/// What is wrong with the columns found against the dictionary: one message per problem, each
/// naming the column.
fn compare(table: &Table, actual: &[(String, Option<ColumnType>)]) -> Vec<String> {
    let file = table.file;
    let mut problems = Vec::new();
    for (i, (name, ty)) in actual.iter().enumerate() {
        match (table.column(name), ty) {
            (None, _) => problems.push(format!(
                "{file}: column `{name}` ({}position {}) has no entry in the data dictionary: {FIX}",
                ty.map(|t| t.name() + ", ").unwrap_or_default(),
                i + 1
            )),
            (Some(c), Some(ty)) if c.ty != *ty => {
                problems.push(format!("{file}: column `{name}` is {} in the file but {} in the dictionary", ty.name(), c.ty.name()))
            }
            _ => {}
        }
    }
    for c in table.columns {
        if !actual.iter().any(|(name, _)| name == c.name) {
            problems.push(format!("{file}: the dictionary describes column `{}`, which the file does not have: remove its entry", c.name));
        }
    }
    if problems.is_empty() {
        let dict = table.columns.iter().map(|c| c.name);
        if let Some((i, (file_name, dict_name))) = actual.iter().map(|(n, _)| n.as_str()).zip(dict).enumerate().find(|(_, (a, b))| a != b) {
            problems.push(format!(
                "{file}: column {} is `{file_name}` in the file but `{dict_name}` in the dictionary: list the columns in file order",
                i + 1
            ));
        }
    }
    problems
}

fn assert_matches(table: &Table, actual: &[(String, Option<ColumnType>)]) {
    let problems = compare(table, actual);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A Parquet file's columns, with the dictionary's name for each type.
fn parquet_columns(path: &Path) -> (DataFrame, Found) {
    let df = ParquetReader::new(File::open(path).unwrap()).finish().unwrap();
    let columns = df
        .schema()
        .iter()
        .map(|(name, dtype)| {
            let ty = match dtype {
                DataType::String => ColumnType::Text,
                DataType::UInt32 => ColumnType::UInt32,
                DataType::UInt64 => ColumnType::UInt64,
                DataType::Float64 => ColumnType::Float64,
                other => panic!("{}: column `{name}` has type {other}, which the data dictionary has no name for", path.display()),
            };
            (name.to_string(), Some(ty))
        })
        .collect();
    (df, columns)
}

/// A CSV file's header and records.
fn csv_records(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let records = r.records().map(Result::unwrap).collect();
    (header, records)
}

/// A CSV header's columns: names only (CSV carries no types; a smoke run's values are checked
/// against the documented forms).
fn names(names: &[impl AsRef<str>]) -> Found {
    names.iter().map(|h| (h.as_ref().to_owned(), None)).collect()
}

/// An empty table written by the store's own writers has the dictionary's columns and types.
/// The store's column lists are checked against the row structs by the compiler (a struct literal
/// in each reader), so a field added to FitRow, ParamRow or RateRow is a column here.
#[test]
fn parquet_files_the_store_writes_have_the_dictionary_columns() {
    let tmp = TempDir::new().unwrap();
    let path = |t: &Table| tmp.path().join(t.file);
    store::write_fits(&path(&FITS), &[]).unwrap();
    store::write_params(&path(&PARAMS), &[]).unwrap();
    store::write_rates(&path(&RATES), &[]).unwrap();
    for t in [&FITS, &PARAMS, &RATES] {
        assert_eq!(t.format, Format::Parquet);
        assert_matches(t, &parquet_columns(&path(t)).1);
    }
}

/// The CSV headers the store writes (each row type's `HEADER`) are the dictionary's columns.
#[test]
fn csv_headers_the_store_writes_are_the_dictionary_columns() {
    let tmp = TempDir::new().unwrap();
    let path = |t: &Table| tmp.path().join(t.file);
    store::write_csv::<SummaryRow>(&path(&SUMMARY), SummaryRow::HEADER, &[]).unwrap();
    store::write_csv::<GbarCheckRow>(&path(&GBAR_CHECK), &GbarCheckRow::HEADER, &[]).unwrap();
    store::write_csv::<FloorRow>(&path(&FLOOR), &FloorRow::HEADER, &[]).unwrap();
    store::write_csv::<PairRow>(&path(&PAIR_CHECK), &PairRow::HEADER, &[]).unwrap();
    store::write_csv::<ComparisonRow>(&path(&COMPARISONS), ComparisonRow::HEADER, &[]).unwrap();
    store::write_csv::<ClaimRow>(&path(&CLAIMS), ClaimRow::HEADER, &[]).unwrap();
    store::write_csv::<OwnTruthRow>(&path(&OWN_TRUTH), OwnTruthRow::HEADER, &[]).unwrap();
    store::write_csv::<ConvergenceRow>(&path(&CONVERGENCE), ConvergenceRow::HEADER, &[]).unwrap();
    store::write_csv::<SettlingRow>(&path(&GBAR_SETTLING), SettlingRow::HEADER, &[]).unwrap();
    store::write_csv::<SpreadRow>(&path(&TRUTH_SPREAD), SpreadRow::HEADER, &[]).unwrap();
    for t in [&SUMMARY, &GBAR_CHECK, &FLOOR, &PAIR_CHECK, &COMPARISONS, &CLAIMS, &OWN_TRUTH, &CONVERGENCE, &GBAR_SETTLING, &TRUTH_SPREAD] {
        assert_eq!(t.format, Format::Csv);
        let (header, records) = csv_records(&path(t));
        assert!(records.is_empty());
        assert_matches(t, &names(&header));
    }
}

/// Records the field names serde derives for a struct, in declaration order, without a value:
/// a deserializer that stops at `deserialize_struct`.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }
    fn deserialize_struct<V: Visitor<'de>>(self, _: &'static str, fields: &'static [&'static str], _: V) -> Result<V::Value, Stop> {
        self.0.extend_from_slice(fields);
        Err(Stop)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

fn serde_fields<T: DeserializeOwned>() -> Vec<&'static str> {
    let mut fields = Vec::new();
    assert!(T::deserialize(FieldNames(&mut fields)).is_err());
    fields
}

/// The structs with serde fields declare them in the dictionary's (so the file's) order: the
/// store's "one column per field, same name and order" holds, and the HEADERs of gbar_check.csv,
/// floor.csv and pair_check.csv follow their structs (nothing else ties them).
#[test]
fn row_structs_declare_the_dictionary_columns_in_order() {
    for (table, fields) in [
        (&FITS, serde_fields::<FitRow>()),
        (&GBAR_CHECK, serde_fields::<GbarCheckRow>()),
        (&FLOOR, serde_fields::<FloorRow>()),
        (&PAIR_CHECK, serde_fields::<PairRow>()),
    ] {
        let problems = compare(table, &names(&fields));
        assert!(problems.is_empty(), "{} fields against the dictionary:\n{}", table.row, problems.join("\n"));
    }
}

#[test]
fn a_column_without_an_entry_fails_naming_it() {
    let columns = |t: &Table| -> Found { t.columns.iter().map(|c| (c.name.to_string(), Some(c.ty))).collect() };
    assert!(compare(&FITS, &columns(&FITS)).is_empty());

    let mut added = columns(&FITS);
    added.insert(26, ("hessian_condition".into(), Some(ColumnType::Float64)));
    let problems = compare(&FITS, &added);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("`hessian_condition` (double, position 27) has no entry") && problems[0].contains("dictionary.rs"),
        "{problems:?}"
    );
    // from a CSV header or a struct's fields: no type
    let mut header = names(&SUMMARY.columns.iter().map(|c| c.name).collect::<Vec<_>>());
    header.push(("fits_diverged".into(), None));
    assert!(compare(&SUMMARY, &header)[0].contains("`fits_diverged` (position 17) has no entry"));

    let mut dropped = columns(&RATES);
    dropped.retain(|(n, _)| n != "delta_aic");
    assert!(compare(&RATES, &dropped)[0].contains("`delta_aic`"));

    let mut retyped = columns(&PARAMS);
    retyped[8].1 = Some(ColumnType::UInt64);
    let p = compare(&PARAMS, &retyped);
    assert!(p.len() == 1 && p[0].contains("`atom` is uint64 in the file but uint32"), "{p:?}");

    let mut swapped = columns(&FITS);
    swapped.swap(6, 7);
    let p = compare(&FITS, &swapped);
    assert!(p.len() == 1 && p[0].contains("column 7 is `rep` in the file but `n`"), "{p:?}");
}

/// Each entry is complete and of a type its format can hold; keys and names are columns.
#[test]
fn every_entry_is_complete() {
    for t in TABLES {
        let mut seen = HashSet::new();
        for c in t.columns {
            assert!(seen.insert(c.name), "{}: `{}` twice", t.file, c.name);
            assert!(c.ty.stored_in(t.format), "{}: `{}` is {:?}, not a {} type", t.file, c.name, c.ty, t.format.name());
            assert!(!c.unit.is_empty(), "{}: `{}` has no unit (use dictionary::NO_UNIT)", t.file, c.name);
            assert!(
                c.description.ends_with('.') && !c.description.contains('\n'),
                "{}: `{}`: one sentence line ending in '.'",
                t.file,
                c.name
            );
        }
        for k in t.key {
            assert!(t.column(k).is_some(), "{}: key `{k}` is not a column", t.file);
        }
    }
}

/// Whether `v` is the label of a value of the column's Rust type (None: the column has no typed
/// label).
fn is_label(column: &str, v: &str) -> Option<bool> {
    fn round_trips<T: Label>(v: &str) -> bool {
        T::from_label(v).is_some_and(|x| x.label() == v)
    }
    Some(match column {
        "gate_true" | "gate_fit" | "gate" => round_trips::<Gate>(v),
        "termination" | "check_termination" => round_trips::<Termination>(v),
        "target" => round_trips::<Target>(v),
        "kind" => round_trips::<ParamKind>(v),
        "param" => round_trips::<ParamName>(v),
        "method" => round_trips::<RateMethod>(v),
        "n_range" => round_trips::<NRange>(v),
        "claim_kind" => {
            use smoe_metrics::ClaimKind;
            let kinds = [
                ClaimKind::UpperBound { exponent: -0.5, log_factor: false },
                ClaimKind::LowerBound { exponent: -0.5 },
                ClaimKind::SlowRate,
                ClaimKind::NoTheorem,
            ];
            kinds.iter().any(|k| k.label() == v)
        }
        "why" => smoe_report::analysis::GBAR_REASONS.contains(&v),
        _ => return None,
    })
}

/// Documented label sets are labels of the code's types; the text of expert and quantity columns
/// names what the code allows.
#[test]
fn documented_values_are_the_codes_labels() {
    for t in TABLES {
        for c in t.columns.iter().filter(|c| !c.values.is_empty()) {
            for v in c.values {
                match is_label(c.name, v) {
                    Some(ok) => assert!(ok, "{}: `{}` lists {v:?}, which is not a label of its type", t.file, c.name),
                    None => assert_eq!(c.name, "verdict", "{}: `{}` lists values but this test knows no Label type for it", t.file, c.name),
                }
            }
        }
        if let Some(c) = t.column("expert") {
            assert!(c.description.contains(EXPERT_NAMES), "{}: `expert` should name {EXPERT_NAMES}", t.file);
        }
    }
    let quantity = SUMMARY.column("quantity").unwrap();
    for q in Quantity::FIT {
        assert!(quantity.description.contains(&format!("`{q}`")), "summary.csv `quantity` does not name {q}");
    }
}

/// The value of a CSV field has the documented form.
fn csv_value_fits(ty: ColumnType, v: &str) -> bool {
    match ty {
        ColumnType::Text => true,
        ColumnType::Integer => v.parse::<u64>().is_ok(),
        ColumnType::Scientific(decimals) => {
            if matches!(v, "NaN" | "inf" | "-inf") {
                return true;
            }
            let Some((mantissa, exponent)) = v.split_once('e') else { return false };
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            let mantissa = mantissa.strip_prefix('-').unwrap_or(mantissa);
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            exponent.parse::<i32>().is_ok() && int.len() == 1 && digits(int) && frac.len() == decimals && (decimals == 0 || digits(frac))
        }
        ColumnType::UInt32 | ColumnType::UInt64 | ColumnType::Float64 => false,
    }
}

fn check_key(table: &Table, keys: impl Iterator<Item = String>) {
    let mut seen = HashSet::new();
    for k in keys {
        assert!(seen.insert(k.clone()), "{}: key {:?} = {k} is not unique", table.file, table.key);
    }
    assert!(!seen.is_empty(), "{}: no rows", table.file);
}

fn check_values(table: &Table, column: &Column, values: impl Iterator<Item = String>) {
    for v in values {
        if !column.values.is_empty() {
            assert!(
                column.values.contains(&v.as_str()),
                "{}: `{}` holds {v:?}, not among the documented {:?}",
                table.file,
                column.name,
                column.values
            );
        }
    }
}

/// The files of a real run (the smoke config: run, merge, rates) are what the dictionary says:
/// every file is a table of the dictionary, with its columns and types, CSV value forms,
/// documented labels and unique keys; a table written only for some configs may be absent.
#[test]
fn a_smoke_run_writes_what_the_dictionary_says() {
    let exp = Experiment::load(&repo().join("workflow/smoke.yaml")).unwrap();
    let tmp = TempDir::new().unwrap();
    let root = Root::open(tmp.path()).unwrap();
    let paths = root.paths(&exp);
    commands::run_units(&exp, &paths, Shard::ALL, None, true).unwrap();
    commands::merge(&exp, &paths).unwrap();
    commands::write_rates(&exp, &paths).unwrap();

    for entry in std::fs::read_dir(paths.data()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name == "fingerprint.txt" || TABLES.iter().any(|t| t.file == name),
            "data/smoke/{name} is written but the data dictionary has no table for it: {FIX}"
        );
    }
    for t in TABLES.iter().filter(|t| t.dir == Dir::Experiment) {
        let path = paths.data().join(t.file);
        if !path.exists() {
            assert!(!t.only_when.is_empty(), "{}: not written by a smoke run", path.display());
            continue;
        }
        match t.format {
            Format::Parquet => {
                let (df, columns) = parquet_columns(&path);
                assert_matches(t, &columns);
                for c in t.columns.iter().filter(|c| !c.values.is_empty()) {
                    let col = df.column(c.name).unwrap().str().unwrap().clone();
                    check_values(t, c, col.iter().map(|v| v.unwrap().to_owned()));
                }
                let key_columns: Vec<_> = t.key.iter().map(|k| df.column(k).unwrap()).collect();
                check_key(
                    t,
                    (0..df.height()).map(|i| key_columns.iter().map(|c| c.get(i).unwrap().to_string()).collect::<Vec<_>>().join("/")),
                );
            }
            Format::Csv => {
                let (header, records) = csv_records(&path);
                assert_matches(t, &names(&header));
                for (i, c) in t.columns.iter().enumerate() {
                    for r in &records {
                        assert!(csv_value_fits(c.ty, &r[i]), "{}: `{}` holds {:?}, not a {}", t.file, c.name, &r[i], c.ty.name());
                    }
                    check_values(t, c, records.iter().map(|r| r[i].to_owned()));
                }
                let index: Vec<usize> = t.key.iter().map(|k| header.iter().position(|h| h == k).unwrap()).collect();
                check_key(t, records.iter().map(|r| index.iter().map(|&i| &r[i]).collect::<Vec<_>>().join("/")));
            }
        }
    }
}

#[test]
fn csv_value_forms() {
    assert!(csv_value_fits(ColumnType::Scientific(3), "1.392e0"));
    assert!(csv_value_fits(ColumnType::Scientific(6), "-2.055406e-11"));
    assert!(csv_value_fits(ColumnType::Scientific(4), "NaN"));
    assert!(!csv_value_fits(ColumnType::Scientific(3), "1.39e0"));
    assert!(!csv_value_fits(ColumnType::Scientific(3), "0.001"));
    assert!(csv_value_fits(ColumnType::Integer, "20000"));
    assert!(!csv_value_fits(ColumnType::Integer, "2.0e4"));
    assert_eq!(ColumnType::Scientific(3).name(), "float (1.235e-3)");
}

/// The archive-only tables are the ones git ignores (skipped outside a git work tree, as in an
/// unpacked archive).
#[test]
fn archive_only_tables_are_the_ones_git_ignores() {
    for t in TABLES {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(repo())
            .args(["check-ignore", "-q", &t.dir.path(t.file).replace("<experiment>", "E1")])
            .status();
        match status.map(|s| s.code()) {
            Ok(Some(0)) => assert!(!t.in_git, "{}: git ignores it, so the dictionary must say it is archive-only", t.file),
            Ok(Some(1)) => assert!(t.in_git, "{}: git does not ignore it, but the dictionary says it is archive-only", t.file),
            _ => {
                eprintln!("not a git work tree: skipped");
                return;
            }
        }
    }
}

/// The committed docs/DATA.md is the generated one.
#[test]
fn docs_data_md_is_generated_from_the_dictionary() {
    let path = repo().join(dictionary::DATA_MD);
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}; run `make data-dictionary`", path.display()));
    let generated = dictionary::markdown();
    if committed != generated {
        let (c, g): (Vec<&str>, Vec<&str>) = (committed.lines().collect(), generated.lines().collect());
        let line = c.iter().zip(&g).position(|(a, b)| a != b).unwrap_or(c.len().min(g.len()));
        panic!(
            "docs/DATA.md is not what the dictionary generates (first difference at line {}):\n  committed: {:?}\n  generated: {:?}\nrun `make data-dictionary` and commit docs/DATA.md",
            line + 1,
            c.get(line).unwrap_or(&"<end of file>"),
            g.get(line).unwrap_or(&"<end of file>"),
        );
    }
}

#[test]
fn markdown_lists_every_column_in_its_table() {
    let md = dictionary::markdown();
    for t in TABLES {
        let section = md.split(&format!("\n## {}\n", t.file)).nth(1).unwrap_or_else(|| panic!("no section for {}", t.file));
        let section = section.split("\n## ").next().unwrap();
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| #")).collect();
        assert_eq!(rows.len(), t.columns.len(), "{}", t.file);
        for (row, c) in rows.iter().zip(t.columns) {
            assert!(row.contains(&format!("| `{}` | {} |", c.name, c.ty.name())), "{row}");
            // a pipe in a description is escaped, so every row has exactly the table's five cells
            assert_eq!(row.replace("\\|", "").matches('|').count(), 6, "{row}");
        }
    }
    assert!(md.contains(dictionary::PYTHON_EXAMPLE) && md.contains(dictionary::R_EXAMPLE));
    assert_eq!(dictionary::PYTHON_EXAMPLE.lines().count(), 5);
    assert_eq!(dictionary::R_EXAMPLE.lines().count(), 5);
}

#[test]
fn write_changes_the_file_only_when_it_differs() {
    let tmp = TempDir::new().unwrap();
    let (path, written) = dictionary::write(tmp.path()).unwrap();
    assert!(written && path.ends_with("docs/DATA.md"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), dictionary::markdown());
    assert!(!dictionary::write(tmp.path()).unwrap().1, "current: not written again");
    std::fs::write(&path, "stale").unwrap();
    assert!(dictionary::write(tmp.path()).unwrap().1);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), dictionary::markdown());
}
