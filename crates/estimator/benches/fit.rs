//! One SGD fit and one L-BFGS fit at the paper's size (d = 32, k* = 8, k = 9), n = 10^4 and 10^5.
//!
//! Throughput is reported in "elements" = floating-point operations (kernel::flops_loss_grad),
//! so criterion's Gelem/s reads as GFLOP/s. The L-BFGS fit runs a fixed 100 iterations (the
//! gradient tolerance is set unreachably small) so its cost does not depend on convergence.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use smoe_estimator::{Bounds, InitNoise, InitParams, LbfgsParams, MassSplit, SgdParams};
use smoe_model::{draw_sample, kernel, seed, Expert, Gate, Mixture, Sample, Spec, TruthParams};

fn problem(n: usize) -> (Mixture, Sample, Spec) {
    let truth = TruthParams {
        gate: Gate::Sigmoid,
        expert: Expert::Relu,
        d: 32,
        k_star: 8,
        gate_var: None,
        expert_var: None,
        zero_gate_slope: (1..=8).collect(),
        zero_expert_slope: vec![],
    }
    .check()
    .unwrap()
    .draw(&mut seed::stream(1, &[("purpose", "truth")]));
    let spec = Spec::new(Gate::Sigmoid, Expert::Relu, 9, 32).unwrap();
    let init = InitParams { noise: InitNoise::Fixed { sd: 0.01 }, split_atom: 1, mass_split: MassSplit::Share }.check().unwrap();
    let start = init.start(&truth, spec, n, &mut seed::stream(1, &[("purpose", "init")])).unwrap();
    let data = draw_sample(&truth, n, 0.01, &mut seed::stream(1, &[("purpose", "data")])).unwrap();
    (start, data, spec)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("fit_d32_k9");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let (start, data, spec) = problem(n);
        let sgd = SgdParams { epochs: 10, learning_rate: 0.1, batch_size: 32, shuffle: true }.check().unwrap();
        g.throughput(Throughput::Elements((10.0 * kernel::flops_loss_grad(&spec, n)) as u64));
        g.bench_with_input(BenchmarkId::new("sgd_10_epochs", n), &n, |b, _| {
            b.iter(|| sgd.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(1, &[("purpose", "sgd")])))
        });
        let lbfgs = LbfgsParams { memory: 10, tol_grad: 1e-300, tol_cost: 0.0, max_iters: 100 }.check().unwrap();
        let evals = lbfgs.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(1, &[])).report.evaluations;
        g.throughput(Throughput::Elements((evals as f64 * kernel::flops_loss_grad(&spec, n)) as u64));
        g.bench_with_input(BenchmarkId::new("lbfgs_100_iters", n), &n, |b, _| {
            b.iter(|| lbfgs.fit(&start, &data, &Bounds::unbounded(start.theta.len()), &mut seed::stream(1, &[])))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
