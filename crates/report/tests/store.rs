//! Parquet round trips, atomic writes, manifest verification.

use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use smoe_report::manifest::{atomic_write, atomic_write_bytes, format_utc, sha256_file, Manifest, RunInfo, VerifyProblem};
use smoe_report::rows::{FitRow, ParamRow, RateRow};
use smoe_report::store::{self, StoreError};

/// A fresh empty directory under the target dir (no tempfile dependency).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("store-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
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
        setting: if i % 2 == 0 { "exact".into() } else { "over".into() },
        gate_true: "sigmoid".into(),
        gate_fit: "softmax".into(),
        expert: "ffn_relu".into(),
        estimator: String::new(),
        n: [0, 1, u64::MAX, 1 << 53, 100_000][i % 5],
        rep: [0, u32::MAX, 7][i % 3],
        seed: u64::MAX - i as u64,
        target: "G_bar".into(),
        loss_name: "D1 ünïcødé ∑ \"quoted\", tab\t".into(),
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
        train_mse: x(9),
        grad_norm: x(10),
        iterations: u64::MAX,
        evaluations: i as u64,
        termination: "max_iters".into(),
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
        r.train_mse,
        r.grad_norm,
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
        kind: ["fit", "start", "truth", "gbar"][i % 4].into(),
        gate: "sigmoid".into(),
        expert: "linear".into(),
        estimator: if i % 4 >= 2 { String::new() } else { "lbfgs".into() },
        n: if i % 2 == 0 { u64::MAX } else { 0 },
        rep: i as u32,
        atom: u32::MAX,
        param: "beta1".into(),
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
        gate_fit: "softmax".into(),
        expert: "ffn".into(),
        estimator: "em".into(),
        loss_name: "D2".into(),
        method: "log_mean".into(),
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
    let dir = scratch("fits");
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
    assert_eq!(dir_entries(&dir), ["fits.parquet"], "no temporary file left behind");
}

#[test]
fn params_and_rates_round_trip_exactly() {
    let dir = scratch("params-rates");
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
    let dir = scratch("large");
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
    let dir = scratch("eq");
    let mut rows: Vec<ParamRow> = (0..5).map(param_row).collect();
    for (i, r) in rows.iter_mut().enumerate() {
        r.value = i as f64 * 0.1 - 0.25;
    }
    store::write_params(&dir.join("p.parquet"), &rows).unwrap();
    assert_eq!(store::read_params(&dir.join("p.parquet")).unwrap(), rows);
}

#[test]
fn empty_tables_round_trip() {
    let dir = scratch("empty");
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
    assert_eq!(df.width(), 30);
    let schema = df.schema();
    assert_eq!(schema.get("experiment"), Some(&DataType::String));
    assert_eq!(schema.get("n"), Some(&DataType::UInt64));
    assert_eq!(schema.get("rep"), Some(&DataType::UInt32));
    assert_eq!(schema.get("loss"), Some(&DataType::Float64));
    assert_eq!(df.get_column_names()[0].as_str(), "experiment");
    assert_eq!(df.get_column_names()[29].as_str(), "wall_s");

    let p = store::params_frame(&[param_row(0)]).unwrap();
    assert_eq!(p.width(), 12);
    assert_eq!(p.schema().get("atom"), Some(&DataType::UInt32));
    let r = store::rates_frame(&[rate_row(0)]).unwrap();
    assert_eq!(r.width(), 23);
    assert_eq!(r.schema().get("delta_aic"), Some(&DataType::Float64));
    assert_eq!(r.schema().get("verdict"), Some(&DataType::String));
}

#[test]
fn frames_support_lazy_group_by() {
    let rows: Vec<ParamRow> = (0..8).map(|i| ParamRow { value: i as f64, ..param_row(i) }).collect();
    // kind cycles fit, start, truth, gbar: values {0,4}, {1,5}, {2,6}, {3,7}.
    let out = store::params_frame(&rows)
        .unwrap()
        .lazy()
        .group_by([col("kind")])
        .agg([col("value").mean().alias("m")])
        .sort(["kind"], SortMultipleOptions::default())
        .collect()
        .unwrap();
    let kinds: Vec<&str> = out.column("kind").unwrap().str().unwrap().no_null_iter().collect();
    let means: Vec<f64> = out.column("m").unwrap().f64().unwrap().no_null_iter().collect();
    assert_eq!(kinds, ["fit", "gbar", "start", "truth"]);
    assert_eq!(means, [2.0, 5.0, 3.0, 4.0]);
}

#[test]
fn read_rejects_wrong_type_missing_column_and_nulls_naming_the_file() {
    let dir = scratch("reject");
    let write = |name: &str, mut df: DataFrame| {
        let path = dir.join(name);
        let mut f = fs::File::create(&path).unwrap();
        polars_io::parquet::write::ParquetWriter::new(&mut f).finish(&mut df).unwrap();
        path
    };
    // `atom` stored as Int64 instead of UInt32.
    let mut df = store::params_frame(&[param_row(1)]).unwrap();
    df.with_column(Column::new("atom".into(), [1i64])).unwrap();
    let wrong = write("wrong.parquet", df);
    let err = store::read_params(&wrong).unwrap_err();
    assert!(matches!(&err, StoreError::Column { column: "atom", .. }), "{err}");
    assert!(err.to_string().contains("wrong.parquet"), "{err}");

    let mut df = store::params_frame(&[param_row(1)]).unwrap();
    df.drop_in_place("value").unwrap();
    let missing = write("missing.parquet", df);
    let err = store::read_params(&missing).unwrap_err();
    assert!(matches!(&err, StoreError::Column { column: "value", .. }), "{err}");
    assert!(err.to_string().contains("missing.parquet"), "{err}");

    let mut df = store::params_frame(&[param_row(1), param_row(2)]).unwrap();
    df.with_column(Column::new("setting".into(), [Some("a"), None])).unwrap();
    let nulls = write("nulls.parquet", df);
    let err = store::read_params(&nulls).unwrap_err();
    assert!(matches!(&err, StoreError::Column { column: "setting", .. }), "{err}");

    let absent = dir.join("absent.parquet");
    let err = store::read_fits(&absent).unwrap_err();
    assert!(matches!(&err, StoreError::Io { .. }) && err.to_string().contains("absent.parquet"), "{err}");

    fs::write(dir.join("garbage.parquet"), b"not parquet at all").unwrap();
    let err = store::read_rates(&dir.join("garbage.parquet")).unwrap_err();
    assert!(matches!(&err, StoreError::Read { .. }) && err.to_string().contains("garbage.parquet"), "{err}");
}

#[test]
fn atomic_write_failure_keeps_destination_and_leaves_no_temp() {
    let dir = scratch("atomic");
    let path = dir.join("out.bin");
    atomic_write_bytes(&path, b"original contents").unwrap();
    assert_eq!(dir_entries(&dir), ["out.bin"]);

    let err = atomic_write(&path, |f| {
        use std::io::Write;
        f.write_all(b"partial new con")?; // half written, then the writer fails
        Err(std::io::Error::other("simulated crash"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "simulated crash");
    assert_eq!(fs::read(&path).unwrap(), b"original contents");
    assert_eq!(dir_entries(&dir), ["out.bin"], "temporary file removed");

    // A failing Parquet write (here: the destination is a directory, so the rename fails) also
    // leaves nothing behind, and the error names the file.
    let blocked = dir.join("blocked.parquet");
    fs::create_dir(&blocked).unwrap();
    fs::write(blocked.join("keep"), b"x").unwrap();
    let err = store::write_fits(&blocked, &[fit_row(0)]).unwrap_err();
    assert!(err.to_string().contains("blocked.parquet"), "{err}");
    assert_eq!(dir_entries(&dir), ["blocked.parquet", "out.bin"]);

    // A successful write replaces the contents.
    atomic_write_bytes(&path, b"new").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new");
    assert_eq!(dir_entries(&dir), ["blocked.parquet", "out.bin"]);
}

#[test]
fn sha256_matches_known_vectors() {
    let dir = scratch("sha");
    fs::write(dir.join("abc"), b"abc").unwrap();
    fs::write(dir.join("empty"), b"").unwrap();
    assert_eq!(sha256_file(&dir.join("abc")).unwrap(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(sha256_file(&dir.join("empty")).unwrap(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // Larger than the 64 KiB read buffer: a million 'a's.
    fs::write(dir.join("million"), vec![b'a'; 1_000_000]).unwrap();
    assert_eq!(sha256_file(&dir.join("million")).unwrap(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

#[test]
fn manifest_verify_detects_modified_and_missing_files() {
    let root = scratch("manifest");
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
    let root = scratch("manifest-io");
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

#[test]
fn run_info_collect_fills_every_field() {
    let root = scratch("runinfo");
    fs::write(root.join("Cargo.lock"), b"lock").unwrap();
    fs::write(root.join("exp.yaml"), b"n: [100]").unwrap();
    let cfg = root.join("exp.yaml");
    let absent = root.join("absent.yaml");
    let info = RunInfo::collect(&root, &[cfg.clone(), absent.clone()], "smoe run exp.yaml", 3.25);
    assert_eq!(info.cargo_lock_sha256, sha256_file(&root.join("Cargo.lock")).unwrap());
    assert_eq!(info.config_sha256[&cfg.display().to_string()], sha256_file(&cfg).unwrap());
    assert_eq!(info.config_sha256[&absent.display().to_string()], "unknown");
    assert_eq!(info.command, "smoe run exp.yaml");
    assert_eq!(info.wall_s, 3.25);
    assert!(!info.rustc_version.is_empty() && !info.host.is_empty());
    // The scratch dir lives inside the workspace's target dir, which git ignores; either way the
    // commit is a 40-hex-digit hash or "unknown".
    assert!(
        info.git_commit == "unknown" || (info.git_commit.len() == 40 && info.git_commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{}",
        info.git_commit
    );
    assert_eq!(info.created_utc.len(), 20, "{}", info.created_utc);
    assert!(info.created_utc.starts_with("20") && info.created_utc.ends_with('Z'));
}

#[test]
fn format_utc_known_instants() {
    assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(format_utc(4_107_542_399), "2100-02-28T23:59:59Z");
    assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
}
