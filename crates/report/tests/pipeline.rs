//! End to end on the smoke config: determinism across thread counts and shard splits, resuming
//! after an interruption, recomputing losses from the stored parameters, and snapshots of the
//! summary tables.

mod common;

use common::{fixture, root_with_cached_gbars, run_all, with_threads};
use sha2::{Digest, Sha256};
use smoe_experiment::paths::Root;
use smoe_experiment::plan::{Experiment, Shard};
use smoe_experiment::rows::{FitRow, ParamKind, ParamRow, Target};
use smoe_experiment::run::{run, Silent};
use smoe_metrics::{voronoi_loss, RateMethod};
use smoe_report::commands::merge;
use smoe_report::rows::NRange;
use smoe_report::store;
use tempfile::TempDir;

/// Canonical hash of the merged results: every row (wall time zeroed) and every parameter.
fn canonical_hash(root: &Root, exp: &Experiment) -> String {
    let p = root.paths(exp);
    let fits: Vec<FitRow> = store::read_fits(&p.fits()).unwrap().into_iter().map(|r| FitRow { wall_s: 0.0, ..r }).collect();
    let params = store::read_params(&p.params()).unwrap();
    let mut h = Sha256::new();
    h.update(serde_json::to_string(&fits).unwrap());
    for r in &params {
        h.update(format!(
            "{}|{:?}|{}|{}|{}|{}|{:?}|{}|{}\n",
            r.setting,
            r.kind,
            r.estimator,
            r.n,
            r.rep,
            r.atom,
            r.param,
            r.index,
            r.value.to_bits()
        ));
    }
    format!("{:x}", h.finalize())
}

/// Against the shared run (2 threads, one shard): one thread from nothing (G_bars computed
/// again), three shards, and a run interrupted mid-journal and resumed give the same bits.
#[test]
fn results_are_identical_across_threads_shards_and_interruptions() {
    let fx = fixture();
    let exp = &fx.smoke;
    let reference = canonical_hash(&fx.root, exp);

    let a = TempDir::new().unwrap();
    let one_thread = Root::open(a.path()).unwrap();
    run_all(&one_thread, exp, 1, 1);
    assert_eq!(canonical_hash(&one_thread, exp), reference, "1 vs 2 threads, from nothing");

    let b = TempDir::new().unwrap();
    let sharded = root_with_cached_gbars(b.path());
    run_all(&sharded, exp, 2, 3);
    assert_eq!(canonical_hash(&sharded, exp), reference, "3 shards vs one run");

    // Interrupt: keep only part of a finished journal, tear its last line as a kill mid-write
    // would, then run again: the rerun completes and gives the same results.
    let c = TempDir::new().unwrap();
    let resumed = root_with_cached_gbars(c.path());
    let paths = resumed.paths(exp);
    with_threads(2, || run(exp, &paths, Shard::ALL, None, &Silent).unwrap());
    let journal = paths.journal_dir().join("shard-0-of-1.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let kept = lines.len() / 3;
    let torn = &lines[kept][..lines[kept].len() / 2];
    std::fs::write(&journal, format!("{}\n{torn}", lines[..kept].join("\n"))).unwrap();
    // merging an incomplete run is refused, naming the missing units
    let err = merge(exp, &paths).unwrap_err().to_string();
    assert!(err.contains("planned units have no result"), "{err}");
    let s = with_threads(2, || run(exp, &paths, Shard::ALL, None, &Silent).unwrap());
    assert_eq!(s.skipped, kept);
    assert_eq!(s.ran, exp.units().len() - kept);
    merge(exp, &paths).unwrap();
    assert_eq!(canonical_hash(&resumed, exp), reference, "interrupted and resumed");
}

/// Anyone can recompute every loss from the Parquet files alone.
#[test]
fn losses_recompute_from_the_parquet_parameters() {
    let fx = fixture();
    let exp = &fx.smoke;
    let p = fx.root.paths(exp);
    let fits = store::read_fits(&p.fits()).unwrap();
    let params = store::read_params(&p.params()).unwrap();
    let mut checked = 0;
    for row in &fits {
        let fit_rows: Vec<&ParamRow> = params
            .iter()
            .filter(|r| {
                r.kind == ParamKind::Fit
                    && r.setting == row.setting
                    && r.gate == row.gate_fit
                    && r.estimator == row.estimator
                    && r.n == row.n
                    && r.rep == row.rep
            })
            .collect();
        let (target_kind, target_gate) =
            if row.target == Target::Gbar { (ParamKind::Gbar, row.gate_fit) } else { (ParamKind::Truth, row.gate_true) };
        let target_rows: Vec<&ParamRow> =
            params.iter().filter(|r| r.kind == target_kind && r.setting == row.setting && r.gate == target_gate).collect();
        let fitted = store::mixture_from_rows(&fit_rows, row.gate_fit, row.expert);
        let target = store::mixture_from_rows(&target_rows, target_gate, row.expert);
        let recomputed = voronoi_loss(row.loss_name, &fitted, &target).total;
        assert!((recomputed - row.loss).abs() <= 1e-9, "{row:?}: recomputed {recomputed}");
        checked += 1;
    }
    assert_eq!(checked, fits.len());
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
    let fx = fixture();
    let exp = &fx.smoke;
    let paths = fx.root.paths(exp);
    let fits = store::read_fits(&paths.fits()).unwrap();
    let summary = smoe_report::analysis::summary(exp, &fits);
    let rates = store::read_rates(&paths.rates()).unwrap();
    let mut s = String::new();
    for r in &summary {
        s.push_str(&format!(
            "{} {} {} {} n={}: {} (reps {}, excluded {}, degenerate {}, not converged {}, at walls {}, empty-cell fits {})\n",
            r.setting,
            r.gate_fit,
            r.estimator,
            r.quantity,
            r.n,
            mc_round(r.mean, r.mcse),
            r.reps,
            r.excluded,
            r.degenerate,
            r.not_converged,
            r.at_walls,
            r.empty_cells
        ));
    }
    insta::assert_snapshot!("smoke_summary", s);
    let paper = |r: &&smoe_report::rows::RateRow| r.method == RateMethod::LogMean && r.n_range == NRange::Full;
    let mut t = String::new();
    for r in rates.iter().filter(paper) {
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
    // the sensitivity table: the same family run without initialisation noise
    let rates_none = store::read_rates(&fx.root.paths(&fx.none).rates()).unwrap();
    let all_rates: Vec<_> = rates.iter().chain(&rates_none).cloned().collect();
    insta::assert_snapshot!("smoke_sensitivity", smoe_report::analysis::sensitivity_markdown(&[exp.clone(), fx.none.clone()], &all_rates));
    // every table of `smoe tables` on the smoke configs of every role (main, protocol search,
    // truth variability, lower bound, phase diagram), and the figures drawn without error (the
    // gate comparison needs four n values: the phase smoke config has them, the smoke one not)
    let all = fx.all();
    smoe_report::publish::tables(&all, &fx.root).unwrap();
    let dir = fx.root.figures_dir();
    for (name, must) in [
        ("claims.md", "contradicted"),
        ("convergence.md", "meets criterion"),
        ("truth_spread.md", "smoke / relu_r1 / sigmoid"),
        ("lower_bound.md", "worst of pair"),
        ("replication.md", "smoke_relu"),
        ("protocol_search.md", "sgd_b"),
        ("phase_diagram.md", "| softmax | relu | 10 |"),
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(must), "{name} lacks {must:?}:\n{text}");
        insta::assert_snapshot!(format!("smoke_table_{}", name.trim_end_matches(".md")), text);
    }
    // the typed derived tables beside the pages: the dictionary's columns, documented labels,
    // unique keys, and the claims table's rows are claims.md's
    let tables = fx.root.dir.join("data").join(smoe_report::dictionary::TABLES_DIR);
    for t in smoe_report::dictionary::TABLES.iter().filter(|t| t.dir == smoe_report::dictionary::Dir::Shared) {
        let path = tables.join(t.file);
        if !path.exists() {
            assert!(!t.only_when.is_empty(), "{} not written", path.display());
            continue;
        }
        let mut r = csv::Reader::from_path(&path).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header, t.columns.iter().map(|c| c.name).collect::<Vec<_>>(), "{}", t.file);
        let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert!(!records.is_empty(), "{}: no rows", t.file);
        let mut keys = std::collections::HashSet::new();
        for rec in &records {
            for (c, v) in t.columns.iter().zip(rec.iter()) {
                assert!(c.values.is_empty() || c.values.contains(&v), "{}: `{}` holds {v:?}", t.file, c.name);
            }
            let key: Vec<&str> = t.key.iter().map(|k| &rec[header.iter().position(|h| h == k).unwrap()]).collect();
            assert!(keys.insert(key.join("/")), "{}: key {key:?} twice", t.file);
        }
        if t.file == "claims.csv" {
            let claims = std::fs::read_to_string(dir.join("claims.md")).unwrap();
            let table_rows = claims.lines().filter(|l| l.starts_with("| ") && l.contains(" fit to ")).count();
            assert_eq!(records.len(), table_rows, "claims.csv and claims.md disagree on the number of claims");
        }
    }
    // what the fits cost: each fit counted once, not once per loss row
    let fits_once: std::collections::BTreeSet<_> =
        fits.iter().filter(|f| f.estimator == "lse").map(|f| (f.setting.clone(), f.gate_fit.name(), f.n, f.rep)).collect();
    // (with each row doubled under a second loss, the count and the iterations stay the same)
    let once = smoe_report::analysis::run_times(exp, &fits);
    let doubled: Vec<_> = fits
        .iter()
        .cloned()
        .chain(fits.iter().cloned().map(|mut f| {
            f.loss *= 2.0;
            f.loss_name = smoe_metrics::LossKind::D2 { r: 7.0 };
            f
        }))
        .collect();
    assert_eq!(smoe_report::analysis::run_times(exp, &doubled), once);
    let lse = once.iter().find(|r| r.estimator == "lse").unwrap();
    assert_eq!(lse.fits, fits_once.len());
    assert!(lse.fit_seconds > 0.0 && lse.iterations > 0 && lse.max_fit_s >= lse.median_fit_s, "{lse:?}");
    let times = std::fs::read_to_string(dir.join("run_times.md")).unwrap();
    assert!(times.contains(&format!("| smoke | lse | lm | {} |", fits_once.len())), "{times}");
    let drawn = smoe_report::publish::figures(&all, &fx.root).unwrap();
    assert!(drawn > 0);
    for f in ["phase_diagram_expert_err_matched.png", "phase_diagram_l2_to_truth.svg", "smoke_relu_r1_lse.png"] {
        assert!(dir.join(f).exists(), "{f} not drawn");
    }
}
