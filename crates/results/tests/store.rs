//! Parquet round trips, manifest verification and the run description.

use std::fs;
use std::path::Path;

use polars::prelude::*;
use smoe_estimator::Termination;
use smoe_experiment::fsio::sha256_file;
use smoe_experiment::rows::{FitRow, ParamKind, ParamName, ParamRow, Quantity, Target};
use smoe_metrics::{LossKind, RateMethod};
use smoe_model::{Expert, Gate};
use smoe_results::manifest::{format_utc, Manifest, RunInfo, VerifyProblem};
use smoe_results::rows::{NRange, RateRow};
use smoe_results::store;
use smoe_results::ReportError;
use tempfile::TempDir;

fn scratch() -> TempDir {
    TempDir::new().unwrap()
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Awkward f64 values: NaNs with distinct payloads and signs, signed zeros, infinities,
/// subnormals, extremes. Bit patterns must survive the round trip.
fn odd_floats() -> Vec<f64> {
    vec![
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff8_0000_dead_beef),
        f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::from_bits(1), // smallest subnormal
        -f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        std::f64::consts::PI,
        1.0 / 3.0,
    ]
}

fn fit_row(i: usize) -> FitRow {
    let f = odd_floats();
    let x = |k: usize| f[(i + k) % f.len()];
    FitRow {
        experiment: format!("exp{i}"),
        setting: if i % 2 == 0 { "exact".into() } else { "ünïcødé ∑ \"quoted\", tab\t".into() },
        gate_true: Gate::Sigmoid,
        gate_fit: Gate::Softmax,
        expert: [Expert::Relu, Expert::Poly(3), Expert::Constant, Expert::Gelu][i % 4],
        estimator: String::new(),
        n: [0, 1, u64::MAX, 1 << 53, 100_000][i % 5],
        rep: [0, u32::MAX, 7][i % 3],
        seed: u64::MAX - i as u64,
        target: [Target::Gbar, Target::Truth][i % 2],
        loss_name: [LossKind::D1, LossKind::D2 { r: 1.5 }, LossKind::D3, LossKind::Softmax][i % 4],
        loss: x(0),
        loss_mass: x(1),
        loss_overfitted: x(2),
        loss_single: x(3),
        start_loss: x(2),
        cells: "2|1|1|1".into(),
        empty_cells: i as u32,
        overfitted_cells: u32::MAX - i as u32,
        l2_error: x(4),
        param_err_over: x(5),
        param_err_single: x(6),
        expert_err_over: x(7),
        expert_err_single: x(8),
        expert_err_matched: x(12),
        contribution_err: x(12) * 0.5,
        l2_to_truth: x(13),
        loss_vs_start: x(14),
        displacement: x(15),
        train_mse: x(9),
        grad_norm: x(10),
        proj_grad_norm: x(16),
        noise_grad: x(17),
        rel_change: x(18),
        active_gate_intercept_lo: i as u32,
        active_gate_intercept_hi: u32::MAX,
        active_gate_slope: 3,
        active_expert_slope: 0,
        active_expert_intercept: 7 * i as u32,
        iterations: u64::MAX,
        evaluations: i as u64,
        termination: [Termination::MaxIters, Termination::Diverged, Termination::EpochsCompleted][i % 3],
        wall_s: x(11),
    }
}

fn fit_floats(r: &FitRow) -> Vec<u64> {
    [
        r.loss,
        r.loss_mass,
        r.loss_overfitted,
        r.loss_single,
        r.start_loss,
        r.l2_error,
        r.param_err_over,
        r.param_err_single,
        r.expert_err_over,
        r.expert_err_single,
        r.expert_err_matched,
        r.l2_to_truth,
        r.loss_vs_start,
        r.displacement,
        r.train_mse,
        r.grad_norm,
        r.proj_grad_norm,
        r.noise_grad,
        r.rel_change,
        r.wall_s,
    ]
    .iter()
    .map(|v| v.to_bits())
    .collect()
}

fn param_row(i: usize) -> ParamRow {
    let f = odd_floats();
    ParamRow {
        experiment: "e".repeat(i),
        setting: "s".into(),
        kind: [ParamKind::Fit, ParamKind::Start, ParamKind::Truth, ParamKind::Gbar][i % 4],
        gate: Gate::Sigmoid,
        expert: Expert::Linear,
        estimator: if i % 4 >= 2 { String::new() } else { "lbfgs".into() },
        n: if i % 2 == 0 { u64::MAX } else { 0 },
        rep: i as u32,
        atom: u32::MAX,
        param: [ParamName::Beta0, ParamName::Beta1, ParamName::A, ParamName::B][i % 4],
        index: i as u32,
        value: f[i % f.len()],
    }
}

fn rate_row(i: usize) -> RateRow {
    let f = odd_floats();
    let x = |k: usize| f[(i + k) % f.len()];
    RateRow {
        experiment: "rates".into(),
        setting: format!("setting {i}"),
        gate_fit: Gate::Softmax,
        expert: Expert::Tanh,
        estimator: "em".into(),
        loss_name: [Quantity::Loss(LossKind::D2 { r: 2.0 }), Quantity::Start(LossKind::D1), Quantity::ExpertErrOver][i % 3],
        method: [RateMethod::LogMean, RateMethod::AllReps][i % 2],
        n_range: [NRange::Full, NRange::UpperHalf][i % 2],
        slope: x(0),
        se: x(1),
        boot_se: x(2),
        ci_low: x(3),
        ci_high: x(4),
        intercept: x(5),
        n_min: x(6),
        n_max: x(7),
        n_values: i as u32,
        reps: u32::MAX,
        excluded: 0,
        degenerate: i as u32 + 1,
        theory: x(8),
        theory_label: "n^{-1/2}".into(),
        verdict: "no power-law prediction".into(),
        log_rate_q: f64::NAN,
        delta_aic: -3.5,
    }
}

fn rate_floats(r: &RateRow) -> Vec<u64> {
    [r.slope, r.se, r.boot_se, r.ci_low, r.ci_high, r.intercept, r.n_min, r.n_max, r.theory, r.log_rate_q, r.delta_aic]
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn fits_round_trip_exactly() {
    let tmp = scratch();
    let dir = tmp.path();
    let path = dir.join("fits.parquet");
    // Enough rows that each float column holds every odd value in several rows and positions.
    let rows: Vec<FitRow> = (0..40).map(fit_row).collect();
    store::write_fits(&path, &rows).unwrap();
    let back = store::read_fits(&path).unwrap();
    assert_eq!(back.len(), rows.len());
    for (a, b) in rows.iter().zip(&back) {
        // Debug covers strings and integers (NaN prints as NaN regardless of payload)...
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        // ...the bit patterns cover the floats exactly.
        assert_eq!(fit_floats(a), fit_floats(b), "row {}", a.experiment);
    }
    assert_eq!(dir_entries(dir), ["fits.parquet"], "no temporary file left behind");
}

#[test]
fn params_and_rates_round_trip_exactly() {
    let tmp = scratch();
    let dir = tmp.path();
    let params: Vec<ParamRow> = (0..33).map(param_row).collect();
    store::write_params(&dir.join("params.parquet"), &params).unwrap();
    let back = store::read_params(&dir.join("params.parquet")).unwrap();
    assert_eq!(back.len(), params.len());
    for (a, b) in params.iter().zip(&back) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.value.to_bits(), b.value.to_bits(), "param row {}", a.index);
    }

    let rates: Vec<RateRow> = (0..20).map(rate_row).collect();
    store::write_rates(&dir.join("rates.parquet"), &rates).unwrap();
    let back = store::read_rates(&dir.join("rates.parquet")).unwrap();
    assert_eq!(back.len(), rates.len());
    for (a, b) in rates.iter().zip(&back) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(rate_floats(a), rate_floats(b), "{}", a.setting);
    }
}

#[test]
fn large_tables_round_trip_exactly() {
    // Over 128 rows takes other encoder paths: a low-cardinality float column (dictionary
    // encoded) and a high-cardinality one (plain), each still containing the odd values.
    let tmp = scratch();
    let dir = tmp.path();
    let f = odd_floats();
    for (name, distinct) in [("low.parquet", false), ("high.parquet", true)] {
        let rows: Vec<ParamRow> = (0..5000)
            .map(|i| {
                let value = if distinct && i % 10 != 0 { i as f64 * 1.000_1e-3 } else { f[i % f.len()] };
                ParamRow { value, ..param_row(i % 7) }
            })
            .collect();
        store::write_params(&dir.join(name), &rows).unwrap();
        let back = store::read_params(&dir.join(name)).unwrap();
        assert_eq!(back.len(), rows.len());
        for (i, (a, b)) in rows.iter().zip(&back).enumerate() {
            assert_eq!(a.value.to_bits(), b.value.to_bits(), "{name} row {i}");
            assert_eq!((&a.kind, a.n, a.rep), (&b.kind, b.n, b.rep), "{name} row {i}");
        }
    }
}

#[test]
fn rows_without_nan_compare_equal() {
    // PartialEq on the whole struct, on rows where it is meaningful.
    let tmp = scratch();
    let dir = tmp.path();
    let mut rows: Vec<ParamRow> = (0..5).map(param_row).collect();
    for (i, r) in rows.iter_mut().enumerate() {
        r.value = i as f64 * 0.1 - 0.25;
    }
    store::write_params(&dir.join("p.parquet"), &rows).unwrap();
    assert_eq!(store::read_params(&dir.join("p.parquet")).unwrap(), rows);
}

#[test]
fn empty_tables_round_trip() {
    let tmp = scratch();
    let dir = tmp.path();
    store::write_fits(&dir.join("f.parquet"), &[]).unwrap();
    store::write_params(&dir.join("p.parquet"), &[]).unwrap();
    store::write_rates(&dir.join("r.parquet"), &[]).unwrap();
    assert!(store::read_fits(&dir.join("f.parquet")).unwrap().is_empty());
    assert!(store::read_params(&dir.join("p.parquet")).unwrap().is_empty());
    assert!(store::read_rates(&dir.join("r.parquet")).unwrap().is_empty());
}

#[test]
fn frames_have_one_typed_column_per_field() {
    let df = store::fits_frame(&[fit_row(0), fit_row(1)]).unwrap();
    assert_eq!(df.height(), 2);
    assert_eq!(df.width(), 43);
    let schema = df.schema();
    assert_eq!(schema.get("experiment"), Some(&DataType::String));
    assert_eq!(schema.get("n"), Some(&DataType::UInt64));
    assert_eq!(schema.get("rep"), Some(&DataType::UInt32));
    assert_eq!(schema.get("loss"), Some(&DataType::Float64));
    assert_eq!(schema.get("termination"), Some(&DataType::String));
    assert_eq!(df.get_column_names()[0].as_str(), "experiment");
    assert_eq!(df.get_column_names()[42].as_str(), "wall_s");
    assert_eq!(schema.get("active_gate_slope"), Some(&DataType::UInt32));
    assert_eq!(schema.get("proj_grad_norm"), Some(&DataType::Float64));

    let p = store::params_frame(&[param_row(0)]).unwrap();
    assert_eq!(p.width(), 12);
    assert_eq!(p.schema().get("atom"), Some(&DataType::UInt32));
    let r = store::rates_frame(&[rate_row(0)]).unwrap();
    assert_eq!(r.width(), 25);
    assert_eq!(r.schema().get("degenerate"), Some(&DataType::UInt32));
    assert_eq!(r.schema().get("n_range"), Some(&DataType::String));
    assert_eq!(r.schema().get("delta_aic"), Some(&DataType::Float64));
    assert_eq!(r.schema().get("verdict"), Some(&DataType::String));
}

/// Typed values are stored as their labels, the text a reader of the Parquet file sees.
#[test]
fn typed_columns_hold_their_labels() {
    let rows: Vec<FitRow> = (0..4).map(fit_row).collect();
    let df = store::fits_frame(&rows).unwrap();
    let col = |name: &str| -> Vec<String> { df.column(name).unwrap().str().unwrap().iter().map(|v| v.unwrap().to_owned()).collect() };
    assert_eq!(col("gate_fit"), ["softmax"; 4]);
    assert_eq!(col("expert"), ["relu", "poly:3", "constant", "gelu"]);
    assert_eq!(col("target"), ["G_bar", "G*", "G_bar", "G*"]);
    assert_eq!(col("loss_name"), ["D1", "D2_r1.5", "D3", "Dsoftmax"]);
    assert_eq!(col("termination"), ["max_iters", "diverged", "epochs_completed", "max_iters"]);
    let r = store::rates_frame(&[rate_row(0), rate_row(1), rate_row(2)]).unwrap();
    let col = |name: &str| -> Vec<String> { r.column(name).unwrap().str().unwrap().iter().map(|v| v.unwrap().to_owned()).collect() };
    assert_eq!(col("loss_name"), ["D2_r2", "start:D1", "expert_err_over"]);
    assert_eq!(col("method"), ["log_mean", "all_reps", "log_mean"]);
    assert_eq!(col("n_range"), ["full", "upper_half", "full"]);
}

#[test]
fn read_rejects_wrong_type_missing_column_and_nulls_naming_the_file() {
    let tmp = scratch();
    let dir = tmp.path();
    let write = |name: &str, mut df: DataFrame| {
        let path = dir.join(name);
        let mut f = fs::File::create(&path).unwrap();
        polars_io::parquet::write::ParquetWriter::new(&mut f).finish(&mut df).unwrap();
        path
    };
    // a label that names no value
    let mut df = store::params_frame(&[param_row(1)]).unwrap();
    df.with_column(Column::new("gate".into(), ["logistic"])).unwrap();
    let unknown = write("unknown.parquet", df);
    let err = store::read_params(&unknown).unwrap_err();
    assert!(matches!(&err, ReportError::Column { column: "gate", .. }), "{err}");
    assert!(err.to_string().contains("logistic"), "{err}");

    // `atom` stored as Int64 instead of UInt32.
    let mut df = store::params_frame(&[param_row(1)]).unwrap();
    df.with_column(Column::new("atom".into(), [1i64])).unwrap();
    let wrong = write("wrong.parquet", df);
    let err = store::read_params(&wrong).unwrap_err();
    assert!(matches!(&err, ReportError::Column { column: "atom", .. }), "{err}");
    assert!(err.to_string().contains("wrong.parquet"), "{err}");

    let mut df = store::params_frame(&[param_row(1)]).unwrap();
    df.drop_in_place("value").unwrap();
    let missing = write("missing.parquet", df);
    let err = store::read_params(&missing).unwrap_err();
    assert!(matches!(&err, ReportError::Column { column: "value", .. }), "{err}");
    assert!(err.to_string().contains("missing.parquet"), "{err}");

    let mut df = store::params_frame(&[param_row(1), param_row(2)]).unwrap();
    df.with_column(Column::new("setting".into(), [Some("a"), None])).unwrap();
    let nulls = write("nulls.parquet", df);
    let err = store::read_params(&nulls).unwrap_err();
    assert!(matches!(&err, ReportError::Column { column: "setting", .. }), "{err}");

    let absent = dir.join("absent.parquet");
    let err = store::read_fits(&absent).unwrap_err();
    assert!(matches!(&err, ReportError::Io { .. }) && err.to_string().contains("absent.parquet"), "{err}");

    fs::write(dir.join("garbage.parquet"), b"not parquet at all").unwrap();
    let err = store::read_rates(&dir.join("garbage.parquet")).unwrap_err();
    assert!(matches!(&err, ReportError::ParquetRead { .. }) && err.to_string().contains("garbage.parquet"), "{err}");
}

#[test]
fn manifest_verify_detects_modified_and_missing_files() {
    let tmp = scratch();
    let root = tmp.path().to_path_buf();
    fs::create_dir_all(root.join("tables")).unwrap();
    fs::write(root.join("a.txt"), b"alpha").unwrap();
    fs::write(root.join("tables/b.txt"), b"beta").unwrap();
    fs::write(root.join("c.txt"), b"gamma").unwrap();

    let mut m = Manifest::default();
    let e = m.record_file(&root, Path::new("a.txt")).unwrap().clone();
    assert_eq!(e.bytes, 5);
    assert_eq!(e.sha256, sha256_file(&root.join("a.txt")).unwrap());
    m.record_file(&root, &root.join("tables/b.txt")).unwrap(); // absolute inside root is accepted
    m.record_file(&root, Path::new("./c.txt")).unwrap();
    assert_eq!(m.files.keys().collect::<Vec<_>>(), ["a.txt", "c.txt", "tables/b.txt"]);
    assert!(m.record_file(&root, Path::new("../escape")).is_err());
    assert!(m.record_file(&root, Path::new("nope.txt")).is_err());
    assert!(m.verify(&root).is_empty(), "{:?}", m.verify(&root));

    let b_sha = m.files["tables/b.txt"].sha256.clone();
    fs::write(root.join("tables/b.txt"), b"betA").unwrap();
    fs::remove_file(root.join("c.txt")).unwrap();
    let problems = m.verify(&root);
    assert_eq!(
        problems,
        [
            VerifyProblem::Missing { path: "c.txt".into() },
            VerifyProblem::Changed {
                path: "tables/b.txt".into(),
                expected: b_sha,
                actual: sha256_file(&root.join("tables/b.txt")).unwrap(),
            },
        ]
    );
    assert!(problems[0].to_string().contains("c.txt"));
}

#[test]
fn manifest_save_load_round_trip_is_deterministic() {
    let tmp = scratch();
    let root = tmp.path().to_path_buf();
    fs::write(root.join("z.txt"), b"z").unwrap();
    fs::write(root.join("a.txt"), b"a").unwrap();
    let mut m = Manifest::default();
    m.record_file(&root, Path::new("z.txt")).unwrap();
    m.record_file(&root, Path::new("a.txt")).unwrap();
    m.run.config_sha256.insert("configs/b.yaml".into(), "bb".into());
    m.run.config_sha256.insert("configs/a.yaml".into(), "aa".into());
    m.run.wall_s = 12.5;
    m.run.command = "smoe run --all".into();

    let path = root.join("manifest.json");
    m.save(&path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.find("\"a.txt\"").unwrap() < text.find("\"z.txt\"").unwrap(), "sorted keys");
    assert!(text.find("configs/a.yaml").unwrap() < text.find("configs/b.yaml").unwrap());
    assert!(text.contains("\n  \"files\": {"), "pretty printed: {text}");
    assert_eq!(Manifest::load(&path).unwrap(), m);
    m.save(&path).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "same manifest, same bytes");
    assert_eq!(dir_entries(&root), ["a.txt", "manifest.json", "z.txt"]);

    fs::write(root.join("bad.json"), b"{\"files\": 3}").unwrap();
    let err = Manifest::load(&root.join("bad.json")).unwrap_err();
    assert!(err.to_string().contains("bad.json"), "{err}");
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// In a git work tree every fact is collected (nothing is "unknown"), and dirtiness follows the
/// sources only; outside one, the git facts are "unknown" and the tree counts as dirty.
#[test]
fn run_info_collect_fills_every_field() {
    let tmp = scratch();
    let root = tmp.path();
    fs::write(root.join("Cargo.lock"), b"lock").unwrap();
    fs::create_dir_all(root.join("workflow")).unwrap();
    fs::write(root.join("workflow/exp.yaml"), b"n: [100]").unwrap();
    git(root, &["init", "-q"]);
    git(root, &["add", "."]);
    git(root, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init"]);
    let cfg = root.join("workflow/exp.yaml");
    let absent = root.join("absent.yaml");
    let info = RunInfo::collect(root, &[cfg.clone(), absent.clone()], "smoe run exp.yaml", 3.25);
    assert_eq!(info.cargo_lock_sha256, sha256_file(&root.join("Cargo.lock")).unwrap());
    assert_eq!(info.config_sha256[&cfg.display().to_string()], sha256_file(&cfg).unwrap());
    assert_eq!(info.config_sha256[&absent.display().to_string()], "unknown");
    assert_eq!(info.command, "smoe run exp.yaml");
    assert_eq!(info.wall_s, 3.25);
    assert!(info.rustc_version.starts_with("rustc "), "{}", info.rustc_version);
    assert!(!info.host.is_empty() && info.host != "unknown", "{}", info.host);
    assert!(info.git_commit.len() == 40 && info.git_commit.bytes().all(|b| b.is_ascii_hexdigit()), "{}", info.git_commit);
    assert!(!info.git_dirty, "a clean checkout");
    assert_eq!(info.created_utc.len(), 20, "{}", info.created_utc);
    assert!(info.created_utc.starts_with("20") && info.created_utc.ends_with('Z'));

    // outputs do not make the sources dirty; a changed config does
    fs::create_dir_all(root.join("data")).unwrap();
    fs::write(root.join("data/out.csv"), b"x").unwrap();
    assert!(!RunInfo::collect(root, &[], "", 0.0).git_dirty);
    fs::write(&cfg, b"n: [200]").unwrap();
    assert!(RunInfo::collect(root, &[], "", 0.0).git_dirty);

    let outside = scratch();
    let info = RunInfo::collect(outside.path(), &[], "", 0.0);
    assert_eq!((info.git_commit.as_str(), info.git_dirty, info.cargo_lock_sha256.as_str()), ("unknown", true, "unknown"));
}

#[test]
fn format_utc_known_instants() {
    assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(format_utc(4_107_542_399), "2100-02-28T23:59:59Z");
    assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
}
