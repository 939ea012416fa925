//! End to end on the smoke config: determinism across thread counts and shard splits, resuming
//! after an interruption, recomputing losses from the stored parameters, and snapshots of the
//! summary tables.

use sha2::{Digest, Sha256};
use smoe_metrics::voronoi_loss;
use smoe_model::{Expert, Gate, Mixture, Spec};
use smoe_report::config::Experiment;
use smoe_report::pipeline::{self, Paths};
use smoe_report::rows::{FitRow, ParamRow};
use smoe_report::run::Shard;
use smoe_report::store;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smoe-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn smoke() -> Experiment {
    Experiment::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow/smoke.yaml")).unwrap()
}

fn with_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap().install(f)
}

/// Canonical hash of the merged results: every row (wall time zeroed) and every parameter.
fn canonical_hash(root: &Path, exp: &Experiment) -> String {
    let p = Paths::new(root, exp);
    let fits: Vec<FitRow> = store::read_fits(&p.fits()).unwrap().into_iter().map(|r| FitRow { wall_s: 0.0, ..r }).collect();
    let params = store::read_params(&p.params()).unwrap();
    let mut h = Sha256::new();
    h.update(serde_json::to_string(&fits).unwrap());
    for r in &params {
        h.update(format!("{}|{}|{}|{}|{}|{}|{}|{}\n", r.setting, r.kind, r.estimator, r.n, r.rep, r.atom, r.param, r.value.to_bits()));
    }
    format!("{:x}", h.finalize())
}

fn run_all(root: &Path, exp: &Experiment, threads: usize, shards: usize) {
    with_threads(threads, || {
        for i in 0..shards {
            pipeline::run(exp, &Paths::new(root, exp), Shard { index: i, count: shards }, None, false).unwrap();
        }
        pipeline::merge(exp, &Paths::new(root, exp)).unwrap();
    });
}

#[test]
fn results_are_identical_across_threads_shards_and_interruptions() {
    let exp = smoke();
    let a = scratch("t1");
    run_all(&a, &exp, 1, 1);
    let reference = canonical_hash(&a, &exp);

    let b = scratch("t2");
    run_all(&b, &exp, 2, 1);
    assert_eq!(canonical_hash(&b, &exp), reference, "1 vs 2 threads");

    let c = scratch("shards");
    run_all(&c, &exp, 2, 3);
    assert_eq!(canonical_hash(&c, &exp), reference, "3 shards vs one run");

    // Interrupt: keep only part of a finished journal, tear its last line as a kill mid-write
    // would, then run again: the rerun completes and gives the same results.
    let d = scratch("resume");
    with_threads(2, || pipeline::run(&exp, &Paths::new(&d, &exp), Shard::ALL, None, false).unwrap());
    let journal_dir = std::fs::read_dir(d.join("data/raw/smoke")).unwrap().next().unwrap().unwrap().path();
    let journal = journal_dir.join("shard-0-of-1.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let kept = lines.len() / 3;
    let torn = &lines[kept][..lines[kept].len() / 2];
    std::fs::write(&journal, format!("{}\n{torn}", lines[..kept].join("\n"))).unwrap();
    // merging an incomplete run is refused, naming the missing units
    let err = pipeline::merge(&exp, &Paths::new(&d, &exp)).unwrap_err().to_string();
    assert!(err.contains("planned units have no result"), "{err}");
    let s = with_threads(2, || pipeline::run(&exp, &Paths::new(&d, &exp), Shard::ALL, None, false).unwrap());
    assert_eq!(s.skipped, kept);
    assert_eq!(s.ran, exp.units().len() - kept);
    pipeline::merge(&exp, &Paths::new(&d, &exp)).unwrap();
    assert_eq!(canonical_hash(&d, &exp), reference, "interrupted and resumed");

    for dir in [a, b, c, d] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn mixture_from_rows(rows: &[&ParamRow], gate: Gate, expert: Expert) -> Mixture {
    let k = rows.iter().map(|r| r.atom).max().unwrap() as usize + 1;
    let d = rows.iter().filter(|r| r.param == "a").map(|r| r.index).max().unwrap() as usize + 1;
    let spec = Spec::new(gate, expert, k, d).unwrap();
    let mut m = Mixture::zeros(spec);
    for r in rows {
        let i = r.atom as usize;
        let off = match r.param.as_str() {
            "beta0" => spec.beta0_offset(i),
            "b" => spec.b_offset(i),
            "beta1" => spec.beta1_offset(i) + r.index as usize,
            "a" => spec.a_offset(i) + r.index as usize,
            other => panic!("unknown param {other}"),
        };
        m.theta[off] = r.value;
    }
    m
}

/// Anyone can recompute every loss from the Parquet files alone.
#[test]
fn losses_recompute_from_the_parquet_parameters() {
    let exp = smoke();
    let root = scratch("recompute");
    run_all(&root, &exp, 2, 1);
    let p = Paths::new(&root, &exp);
    let fits = store::read_fits(&p.fits()).unwrap();
    let params = store::read_params(&p.params()).unwrap();
    let mut checked = 0;
    for row in &fits {
        let gate: Gate = if row.gate_fit == "softmax" { Gate::Softmax } else { Gate::Sigmoid };
        let expert: Expert = row.expert.parse().unwrap();
        let fit_rows: Vec<&ParamRow> = params
            .iter()
            .filter(|r| {
                r.kind == "fit"
                    && r.setting == row.setting
                    && r.gate == row.gate_fit
                    && r.estimator == row.estimator
                    && r.n == row.n
                    && r.rep == row.rep
            })
            .collect();
        let (target_kind, target_gate) =
            if row.target == "G_bar" { ("gbar", row.gate_fit.as_str()) } else { ("truth", row.gate_true.as_str()) };
        let target_rows: Vec<&ParamRow> =
            params.iter().filter(|r| r.kind == target_kind && r.setting == row.setting && r.gate == target_gate).collect();
        let fitted = mixture_from_rows(&fit_rows, gate, expert);
        let target = mixture_from_rows(&target_rows, if target_gate == "softmax" { Gate::Softmax } else { Gate::Sigmoid }, expert);
        let setting = exp.settings.iter().find(|s| s.name == row.setting).unwrap();
        let kind = setting.fits.iter().flat_map(|f| f.losses.iter()).find(|l| l.name() == row.loss_name).unwrap();
        let recomputed = voronoi_loss(*kind, &fitted, &target).total;
        assert!((recomputed - row.loss).abs() <= 1e-9, "{row:?}: recomputed {recomputed}");
        checked += 1;
    }
    assert_eq!(checked, fits.len());
    let _ = std::fs::remove_dir_all(root);
}

/// Round a mean to the decimal place of its Monte Carlo standard error's leading digit.
fn mc_round(mean: f64, mcse: f64) -> String {
    if !(mcse.is_finite() && mcse > 0.0) {
        return format!("{mean:.3e}");
    }
    let place = mcse.log10().floor() as i32;
    let digits = (-place).max(0) as usize;
    let scale = 10f64.powi(place);
    format!("{:.*} ± {:.*}", digits, (mean / scale).round() * scale, digits, (mcse / scale).ceil() * scale)
}

#[test]
fn summary_tables_snapshot() {
    let exp = smoke();
    let root = scratch("snap");
    run_all(&root, &exp, 2, 1);
    let (summary, rates) = pipeline::write_rates(&exp, &Paths::new(&root, &exp)).unwrap();
    let mut s = String::new();
    for r in &summary {
        s.push_str(&format!(
            "{} {} {} {} n={}: {} (reps {}, excluded {}, empty-cell fits {})\n",
            r.setting,
            r.gate_fit,
            r.estimator,
            r.quantity,
            r.n,
            mc_round(r.mean, r.mcse),
            r.reps,
            r.excluded,
            r.empty_cells
        ));
    }
    insta::assert_snapshot!("smoke_summary", s);
    let mut t = String::new();
    for r in rates.iter().filter(|r| r.method == "log_mean") {
        t.push_str(&format!(
            "{} {} {} {}: slope {} [{:.1}, {:.1}] theory {} -> {}\n",
            r.setting,
            r.gate_fit,
            r.estimator,
            r.loss_name,
            mc_round(r.slope, r.boot_se),
            r.ci_low,
            r.ci_high,
            r.theory,
            r.verdict
        ));
    }
    insta::assert_snapshot!("smoke_rates", t);
    // the claims table: verdicts with slopes rounded to their bootstrap standard error
    let mut c = String::new();
    for st in &exp.settings {
        for f in &st.fits {
            for th in &f.theory {
                for r in rates
                    .iter()
                    .filter(|r| r.setting == st.name && r.gate_fit == f.gate.name() && r.loss_name == th.quantity && r.method == "log_mean")
                {
                    c.push_str(&format!(
                        "{} / {} / {} / {}: {} -> {}\n",
                        st.name,
                        f.gate,
                        r.estimator,
                        th.quantity,
                        mc_round(r.slope, r.boot_se),
                        smoe_report::analysis::verdict(r)
                    ));
                }
            }
        }
    }
    insta::assert_snapshot!("smoke_claims", c);
    // the sensitivity table: the same family run without initialisation noise
    let none = Experiment::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflow/smoke_init_none.yaml")).unwrap();
    run_all(&root, &none, 2, 1);
    let (_, rates_none) = pipeline::write_rates(&none, &Paths::new(&root, &none)).unwrap();
    let all_rates: Vec<_> = rates.iter().chain(&rates_none).cloned().collect();
    insta::assert_snapshot!("smoke_sensitivity", smoe_report::analysis::sensitivity_markdown(&[exp.clone(), none], &all_rates));
    // the sample-size comparison exists for the setting fitted with both gates
    let sc = smoe_report::analysis::sample_complexity_markdown(std::slice::from_ref(&exp), &root).unwrap();
    assert!(sc.contains("smoke / relu_soft / sgd / expert_err") && sc.contains("smoke / relu_soft / lbfgs / l2_error"), "{sc}");
    // the grid reaches a decade below the measured errors, beyond the n range run
    assert!(sc.contains("(extrapolated)"), "{sc}");
    let _ = std::fs::remove_dir_all(root);
}
