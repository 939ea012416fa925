//! `smoe bench`: speed of the kernel and of single fits at the paper's size, as GFLOP/s and as a
//! fraction of the machine's nominal peak and of a measured dgemm, the scaling of one fit in n
//! and k, and the wall time of the paper-faithful (SGD) sweep with 1 and 2 threads, from nothing
//! and with the G_bars cached. The sweep runs the user's own command (`smoe run`) as a child
//! process: timed in-process under `ThreadPool::install`, the same sweep used only about 1.5 of
//! 2 cores (one worker did twice the other's work), which `smoe run` does not. A benchmark,
//! never a test.

use crate::error::{ReportError, Result};
use smoe_estimator::{Bounds, Estimator, InitNoise, InitParams, LmParams, MassSplit, SgdParams, ThetaBox};
use smoe_experiment::plan::Experiment;
use smoe_model::{draw_sample, kernel, seed, Expert, Gate, Mixture, Sample, Spec, TruthParams, Workspace};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// Nominal double-precision peak of this machine: cores x clock x flops per cycle per core
/// (32 with AVX-512 FMA on two pipes, 16 with AVX2 FMA, 4 otherwise).
pub fn nominal_peak_gflops() -> (f64, String) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mhz = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(2000.0);
    let flags = info.lines().find(|l| l.starts_with("flags")).unwrap_or("");
    let per_cycle = if flags.contains(" avx512f") {
        32.0
    } else if flags.contains(" avx2") && flags.contains(" fma") {
        16.0
    } else {
        4.0
    };
    let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1) as f64;
    (cores * mhz / 1000.0 * per_cycle, format!("{cores} cores x {:.2} GHz x {per_cycle} flop/cycle", mhz / 1000.0))
}

fn problem(n: usize, k: usize) -> (Mixture, Sample) {
    let truth = TruthParams {
        gate: Gate::Sigmoid,
        expert: Expert::Relu,
        d: 32,
        k_star: k - 1,
        gate_var: None,
        expert_var: None,
        zero_gate_slope: (1..k).collect(),
        zero_expert_slope: vec![],
    }
    .check()
    .expect("valid recipe")
    .draw(&mut seed::stream(1, &[("purpose", "truth")]));
    let spec = Spec::new(Gate::Sigmoid, Expert::Relu, k, 32).expect("valid spec");
    let init =
        InitParams { noise: InitNoise::Fixed { sd: 0.01 }, split_atom: 1, mass_split: MassSplit::Share }.check().expect("valid init");
    let start = init.start(&truth, spec, n, &mut seed::stream(1, &[("purpose", "init")])).expect("valid start");
    let data = draw_sample(&truth, n, 0.01, &mut seed::stream(1, &[("purpose", "data")])).expect("valid data");
    (start, data)
}

/// Best of `reps` wall times of `f`, in seconds.
fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Run the benchmark and return its report (Markdown).
pub fn run(root: &Path, sweep_configs: &[Experiment]) -> Result<String> {
    let (peak, how) = nominal_peak_gflops();
    let single_peak = peak / std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1) as f64;
    let measured = measured_dgemm_gflops();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Nominal peak: {peak:.0} GFLOP/s ({how}); one core: {single_peak:.0} GFLOP/s. Measured on one core: a 1024 x 1024 dgemm runs at {measured:.0} GFLOP/s (the clock boosts above nominal). Kernel copy in use: {:?}. Fits run on one core.\n",
        kernel::simd_level()
    );
    s.push_str("| fit (d = 32, k = 9) | n | time (s) | GFLOP/s | fraction of nominal one-core peak | fraction of measured dgemm |\n|---|---|---|---|---|---|\n");
    for n in [10_000usize, 100_000] {
        let (start, data) = problem(n, 9);
        let spec = start.spec;
        let sgd = SgdParams { epochs: 10, learning_rate: 0.1, batch_size: 32, shuffle: true }.check().expect("valid");
        let t = best_of(3, || {
            sgd.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(1, &[("purpose", "sgd")]));
        });
        let flops = 10.0 * kernel::flops_loss_grad(&spec, n);
        let _ = writeln!(
            s,
            "| SGD, 10 epochs, batch 32 | {n} | {t:.3} | {:.1} | {:.0}% | {:.0}% |",
            flops / t / 1e9,
            100.0 * flops / t / 1e9 / single_peak,
            100.0 * flops / t / 1e9 / measured
        );
        // the least-squares fit over Theta: a fixed 20 iterations (the tolerance is unreachable),
        // so the time does not depend on convergence; its cost is the Gauss-Newton products
        let lse = LmParams { tol_grad: 1e-300, tol_rel_cost: 0.0, max_iters: 20, hessian_n: 4000 }.check().expect("valid");
        let bounds =
            ThetaBox { gate_intercept: [-6.0, 6.0], gate_slope: [-2.0, 2.0], expert_slope: [-2.0, 2.0], expert_intercept: [-2.0, 2.0] }
                .bounds(&spec);
        let report = lse.fit(&start, &data, &bounds, &mut seed::stream(1, &[])).report;
        let t = best_of(3, || {
            lse.fit(&start, &data, &bounds, &mut seed::stream(1, &[]));
        });
        // per iteration: one Gauss-Newton product on min(n, 4000) rows (single precision, full
        // p x p), the Cholesky solves, and the loss-and-gradient evaluations
        let p = spec.n_params() as f64;
        let rows = n.min(4000) as f64;
        let flops = report.iterations as f64 * (2.0 * rows * p * p + p * p * p / 3.0)
            + report.evaluations as f64 * kernel::flops_loss_grad(&spec, n);
        let _ = writeln!(
            s,
            "| least squares over Theta (lse), {} iterations ({} evaluations) | {n} | {t:.3} | {:.1} | {:.0}% | {:.0}% |",
            report.iterations,
            report.evaluations,
            flops / t / 1e9,
            100.0 * flops / t / 1e9 / single_peak,
            100.0 * flops / t / 1e9 / measured
        );
    }
    s.push_str("\nScaling of one loss-and-gradient evaluation (d = 32): time per evaluation, and time per sample per atom.\n\n| n | k | ms per evaluation | ns per sample per atom |\n|---|---|---|---|\n");
    for (n, k) in [(1_000usize, 9usize), (10_000, 9), (100_000, 9), (10_000, 3), (10_000, 27)] {
        let (start, data) = problem(n, k);
        let mut ws = Workspace::default();
        let mut g = vec![0.0; start.theta.len()];
        let reps = (200_000 / n).max(5);
        let t = best_of(3, || {
            for _ in 0..reps {
                kernel::loss_grad(&start.spec, &start.theta, &data.x, &data.y, Some(&mut g), &mut ws);
            }
        }) / reps as f64;
        let _ = writeln!(s, "| {n} | {k} | {:.3} | {:.2} |", t * 1e3, t * 1e9 / (n * k) as f64);
    }
    s.push_str(&sweep_table(root, sweep_configs)?);
    Ok(s)
}

/// The name of a config's SGD estimator, if it has one.
fn sgd_name(e: &Experiment) -> Option<&str> {
    e.estimators.iter().find(|(_, est)| matches!(est, Estimator::Sgd(_))).map(|(name, _)| name.as_str())
}

/// The name of a config's least-squares fit over Theta, if it has one.
fn lse_name(e: &Experiment) -> Option<&str> {
    e.estimators.iter().find(|(_, est)| est.is_bounded()).map(|(name, _)| name.as_str())
}

/// Wall time of `smoe --root scratch --threads N --quiet run --estimator <name> CONFIG` for
/// every config (`config_path` gives the file to run, `pick` the estimator), run as a child
/// process: exactly the command a reader types.
fn timed_sweep(
    scratch: &Path,
    threads: usize,
    configs: &[Experiment],
    pick: fn(&Experiment) -> Option<&str>,
    config_path: &dyn Fn(&Experiment) -> std::path::PathBuf,
) -> Result<f64> {
    let exe =
        std::env::current_exe().map_err(|source| ReportError::Child { command: "the path of the running smoe binary".into(), source })?;
    let t = Instant::now();
    for e in configs {
        let Some(name) = pick(e) else { continue };
        let path = config_path(e);
        let command = format!("smoe run --estimator {name} {}", path.display());
        crate::error::checked_output(
            std::process::Command::new(&exe)
                .arg("--root")
                .arg(scratch)
                .args(["--threads", &threads.to_string(), "--quiet", "run", "--estimator", name])
                .arg(&path),
            command,
        )?;
    }
    Ok(t.elapsed().as_secs_f64())
}

/// The paper-faithful sweep from nothing and with the G_bars cached, with 1 and 2 threads.
fn sweep_table(root: &Path, sweep_configs: &[Experiment]) -> Result<String> {
    let mut s = String::new();
    if sweep_configs.is_empty() {
        return Ok(s);
    }
    let fits: usize = sweep_configs.iter().filter(|e| sgd_name(e).is_some()).map(|e| e.units().len() / e.estimators.len()).sum();
    s.push_str("\nPaper-faithful sweep: every SGD unit of the given configs, each config run as `smoe --threads N run --estimator sgd CONFIG` in a scratch directory. Cold: from nothing, so the G_bars are computed first. Warm: the same commands again with the results removed but the G_bar cache kept, as when a reader reruns with other estimator settings, sample sizes or replications; the G_bar column is cold minus warm, and warm is the fits alone.\n\n| threads | G_bars (s) | cold total (s) | warm total = fits (s) | fits |\n|---|---|---|---|---|\n");
    let own = |e: &Experiment| e.path.clone();
    for threads in [1usize, 2] {
        let scratch = root.join("target").join(format!("bench-sweep-{threads}"));
        let _ = std::fs::remove_dir_all(&scratch);
        let cold = timed_sweep(&scratch, threads, sweep_configs, sgd_name, &own)?;
        let _ = std::fs::remove_dir_all(scratch.join("data").join("raw"));
        let warm = timed_sweep(&scratch, threads, sweep_configs, sgd_name, &own)?;
        let _ = writeln!(s, "| {threads} | {:.1} | {cold:.1} | {warm:.1} | {fits} |", cold - warm);
        let _ = std::fs::remove_dir_all(&scratch);
    }
    s.push_str(&converged_sweep(root, sweep_configs)?);
    Ok(s)
}

/// The converged sweep (every `lse` unit of the configs) on 2 threads, estimated without running
/// all of it: the G_bars from nothing, and the fits of one replication per cell (the same configs
/// with `replications: 1`; replication r's data and start do not depend on how many there are),
/// scaled by the configs' replications. The full sweep's own time is in data/sweep.log.
fn converged_sweep(root: &Path, configs: &[Experiment]) -> Result<String> {
    let configs: Vec<&Experiment> = configs.iter().filter(|e| lse_name(e).is_some()).collect();
    if configs.is_empty() {
        return Ok(String::new());
    }
    let scratch = root.join("target").join("bench-converged");
    let _ = std::fs::remove_dir_all(&scratch);
    let dir = scratch.join("configs");
    std::fs::create_dir_all(&dir).map_err(ReportError::io(&dir))?;
    let mut one_rep = Vec::new();
    let mut scale = Vec::new();
    for e in &configs {
        let text = std::fs::read_to_string(&e.path).map_err(ReportError::io(&e.path))?;
        let reps = e.config.replications;
        let rewritten = text.replacen(&format!("replications: {reps}"), "replications: 1", 1);
        let path = dir.join(e.path.file_name().expect("a config file"));
        std::fs::write(&path, rewritten).map_err(ReportError::io(&path))?;
        one_rep.push(Experiment::load(&path)?);
        scale.push(reps as f64);
    }
    let own = |e: &Experiment| e.path.clone();
    let cold = timed_sweep(&scratch, 2, &one_rep, lse_name, &own)?;
    let _ = std::fs::remove_dir_all(scratch.join("data").join("raw"));
    let warm = timed_sweep(&scratch, 2, &one_rep, lse_name, &own)?;
    let mean_scale = scale.iter().sum::<f64>() / scale.len() as f64;
    let estimate = (cold - warm) + warm * mean_scale;
    let fits: usize = configs.iter().map(|e| e.units().len() / e.estimators.len()).sum();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(format!(
        "\nConverged sweep: every `lse` unit of the given configs ({fits} fits) on 2 threads, estimated from the G_bars from nothing ({:.1} s) and the fits of one replication per cell ({warm:.1} s) scaled by {mean_scale} replications: **{estimate:.0} s** ({:.1} min). The measured time of the full sweep is in data/sweep.log.\n",
        cold - warm,
        estimate / 60.0
    ))
}

/// GFLOP/s of one large square product (n = 1024) through matrixmultiply on one core: the rate
/// this machine actually sustains, a fairer yardstick than the nominal peak (which ignores boost).
pub fn measured_dgemm_gflops() -> f64 {
    let n = 1024;
    let a: Vec<f64> = (0..n * n).map(|i| (i % 7) as f64 * 0.1).collect();
    let b: Vec<f64> = (0..n * n).map(|i| (i % 5) as f64 * 0.1).collect();
    let mut c = vec![0.0; n * n];
    let t = best_of(3, || {
        // SAFETY: a, b, c are n x n row-major.
        unsafe {
            matrixmultiply::dgemm(n, n, n, 1.0, a.as_ptr(), n as isize, 1, b.as_ptr(), n as isize, 1, 0.0, c.as_mut_ptr(), n as isize, 1)
        };
    });
    2.0 * (n * n * n) as f64 / t / 1e9
}
