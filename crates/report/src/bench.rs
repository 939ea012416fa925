//! `smoe bench`: speed of the kernel and of single fits at the paper's size, as GFLOP/s and as a
//! fraction of the machine's nominal peak and of a measured dgemm, the scaling of one fit in n
//! and k, and the wall time of the paper-faithful (SGD) sweep with 1 and 2 threads, from nothing
//! and with the G_bars cached. The sweep runs the user's own command (`smoe run`) as a child
//! process: timed in-process under `ThreadPool::install`, the same sweep used only about 1.5 of
//! 2 cores (one worker did twice the other's work), which `smoe run` does not. A benchmark,
//! never a test.

use crate::error::{ReportError, Result};
use smoe_estimator::{Bounds, Estimator, InitNoise, InitParams, LbfgsParams, MassSplit, SgdParams};
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
        let lbfgs = LbfgsParams { memory: 10, tol_grad: 1e-300, tol_cost: 0.0, max_iters: 100 }.check().expect("valid");
        let evals = lbfgs.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(1, &[])).report.evaluations;
        let t = best_of(3, || {
            lbfgs.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(1, &[]));
        });
        let flops = evals as f64 * kernel::flops_loss_grad(&spec, n);
        let _ = writeln!(
            s,
            "| L-BFGS, 100 iterations ({evals} evaluations) | {n} | {t:.3} | {:.1} | {:.0}% | {:.0}% |",
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

/// Wall time of `smoe --root scratch --threads N --quiet run --estimator <its SGD> CONFIG` for
/// every config, run as a child process: exactly the command a reader types.
fn timed_sweep(scratch: &Path, threads: usize, configs: &[Experiment]) -> Result<f64> {
    let exe =
        std::env::current_exe().map_err(|source| ReportError::Child { command: "the path of the running smoe binary".into(), source })?;
    let t = Instant::now();
    for e in configs {
        let Some(name) = sgd_name(e) else { continue };
        let command = format!("smoe run --estimator {name} {}", e.path.display());
        let out = std::process::Command::new(&exe)
            .arg("--root")
            .arg(scratch)
            .args(["--threads", &threads.to_string(), "--quiet", "run", "--estimator", name])
            .arg(&e.path)
            .output()
            .map_err(|source| ReportError::Child { command: command.clone(), source })?;
        if !out.status.success() {
            return Err(ReportError::ChildFailed { command, stderr: String::from_utf8_lossy(&out.stderr).into_owned() });
        }
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
    for threads in [1usize, 2] {
        let scratch = root.join("target").join(format!("bench-sweep-{threads}"));
        let _ = std::fs::remove_dir_all(&scratch);
        let cold = timed_sweep(&scratch, threads, sweep_configs)?;
        let _ = std::fs::remove_dir_all(scratch.join("data").join("raw"));
        let warm = timed_sweep(&scratch, threads, sweep_configs)?;
        let _ = writeln!(s, "| {threads} | {:.1} | {cold:.1} | {warm:.1} | {fits} |", cold - warm);
        let _ = std::fs::remove_dir_all(&scratch);
    }
    Ok(s)
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
