//! `smoe bench`: speed of the kernel and of single fits at the paper's size, as GFLOP/s and as a
//! fraction of the machine's nominal peak, the scaling of one fit in n and k, and the wall time
//! of the paper-faithful (SGD) sweep with 1 and 2 threads. A benchmark, never a test.

use crate::config::Experiment;
use crate::pipeline::{self, Paths};
use crate::run::Shard;
use smoe_estimator::{InitNoise, InitParams, LbfgsParams, MassSplit, SgdParams};
use smoe_model::{draw_sample, kernel, seed, Expert, Gate, Mixture, Sample, Spec, TruthParams, Workspace};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// Nominal double-precision peak of this machine: cores x clock x flops per cycle per core
/// (32 with AVX-512 FMA on two pipes, 16 with AVX2 FMA, 4 otherwise).
pub fn nominal_peak_gflops() -> (f64, String) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mhz = info.lines().find(|l| l.starts_with("cpu MHz")).and_then(|l| l.split(':').nth(1)).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(2000.0);
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
    let truth = TruthParams { gate: Gate::Sigmoid, expert: Expert::Relu, d: 32, k_star: k - 1, gate_var: None, expert_var: None, zero_gate_slope: (1..k).collect(), zero_expert_slope: vec![] }
        .check()
        .expect("valid recipe")
        .draw(&mut seed::stream(1, &[("purpose", "truth")]));
    let spec = Spec::new(Gate::Sigmoid, Expert::Relu, k, 32).expect("valid spec");
    let init = InitParams { noise: InitNoise::Fixed { sd: 0.01 }, split_atom: 1, mass_split: MassSplit::Share }.check().expect("valid init");
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
pub fn run(root: &Path, sweep_configs: &[Experiment]) -> String {
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
            sgd.fit(&start, &data, &mut seed::stream(1, &[("purpose", "sgd")]));
        });
        let flops = 10.0 * kernel::flops_loss_grad(&spec, n);
        let _ = writeln!(s, "| SGD, 10 epochs, batch 32 | {n} | {t:.3} | {:.1} | {:.0}% | {:.0}% |", flops / t / 1e9, 100.0 * flops / t / 1e9 / single_peak, 100.0 * flops / t / 1e9 / measured);
        let lbfgs = LbfgsParams { memory: 10, tol_grad: 1e-300, tol_cost: 0.0, max_iters: 100 }.check().expect("valid");
        let evals = lbfgs.fit(&start, &data, &mut seed::stream(1, &[])).report.evaluations;
        let t = best_of(3, || {
            lbfgs.fit(&start, &data, &mut seed::stream(1, &[]));
        });
        let flops = evals as f64 * kernel::flops_loss_grad(&spec, n);
        let _ = writeln!(s, "| L-BFGS, 100 iterations ({evals} evaluations) | {n} | {t:.3} | {:.1} | {:.0}% | {:.0}% |", flops / t / 1e9, 100.0 * flops / t / 1e9 / single_peak, 100.0 * flops / t / 1e9 / measured);
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
    if !sweep_configs.is_empty() {
        s.push_str("\nPaper-faithful sweep: every SGD unit of the given configs, in a scratch directory. Cold: from nothing, so the G_bars (cached by their own identity) are computed first. Warm: the same sweep again with the results removed but the G_bar cache kept, as when a reader reruns with other estimator settings, sample sizes or replications.\n\n| threads | cold: G_bar (s) | cold: fits (s) | cold: total (s) | warm: total (s) | fits |\n|---|---|---|---|---|---|\n");
        for threads in [1usize, 2] {
            let scratch = root.join("target").join(format!("bench-sweep-{threads}"));
            let _ = std::fs::remove_dir_all(&scratch);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
            let sweep = |scratch: &Path| -> (f64, f64, usize) {
                let t = Instant::now();
                let mut gbar_s = 0.0;
                let mut fits = 0;
                for e in sweep_configs {
                    let paths = Paths::new(scratch, e);
                    let tg = Instant::now();
                    let _ = pool.install(|| crate::run::Context::prepare(e, &paths.cache_dir(), &paths.code));
                    gbar_s += tg.elapsed().as_secs_f64();
                    let sgd = e.estimators.iter().find(|(_, est)| est.kind() == "sgd").map(|(n, _)| n.clone());
                    if let Some(name) = sgd {
                        fits += pool.install(|| pipeline::run(e, &paths, Shard::ALL, Some(&name), false)).map(|r| r.ran).unwrap_or(0);
                    }
                }
                (gbar_s, t.elapsed().as_secs_f64(), fits)
            };
            let (gbar_s, cold, fits) = sweep(&scratch);
            let _ = std::fs::remove_dir_all(scratch.join("data").join("raw"));
            let (_, warm, _) = sweep(&scratch);
            let _ = writeln!(s, "| {threads} | {gbar_s:.1} | {:.1} | {cold:.1} | {warm:.1} | {fits} |", cold - gbar_s);
            let _ = std::fs::remove_dir_all(&scratch);
        }
    }
    s
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
        unsafe { matrixmultiply::dgemm(n, n, n, 1.0, a.as_ptr(), n as isize, 1, b.as_ptr(), n as isize, 1, 0.0, c.as_mut_ptr(), n as isize, 1) };
    });
    2.0 * (n * n * n) as f64 / t / 1e9
}
