//! One SGD fit and one least-squares fit over Theta (Levenberg-Marquardt, the `lse` estimator of
//! the configs) at the paper's size (d = 32, k* = 8, k = 9), n = 10^4 and 10^5, and the
//! Gauss-Newton product that dominates an LM iteration.
//!
//! Throughput is reported in "elements" = floating-point operations (kernel::flops_loss_grad for
//! an evaluation, 2 m p^2 for a Gauss-Newton product on m rows), so criterion's Gelem/s reads as
//! GFLOP/s. The LM fit runs a fixed 20 iterations (the tolerances are unreachable) so its cost
//! does not depend on convergence.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use smoe_estimator::{Bounds, InitNoise, InitParams, LmParams, MassSplit, SgdParams, ThetaBox};
use smoe_model::{draw_sample, kernel, seed, Expert, Gate, Mixture, Sample, Spec, TruthParams, Workspace};

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
        // the configs' lse settings and box (workflow/e1_regime1.yaml)
        let lse = LmParams { tol_grad: 1e-300, tol_rel_cost: 0.0, max_iters: 20, hessian_n: 4000 }.check().unwrap();
        let bounds =
            ThetaBox { gate_intercept: [-6.0, 6.0], gate_slope: [-2.0, 2.0], expert_slope: [-2.0, 2.0], expert_intercept: [-2.0, 2.0] }
                .bounds(&spec);
        let report = lse.fit(&start, &data, &bounds, &mut seed::stream(1, &[])).report;
        let p = spec.n_params() as f64;
        let gn_flops = 2.0 * n.min(4000) as f64 * p * p;
        let flops = report.iterations as f64 * gn_flops + report.evaluations as f64 * kernel::flops_loss_grad(&spec, n);
        g.throughput(Throughput::Elements(flops as u64));
        g.bench_with_input(BenchmarkId::new("lm_20_iters", n), &n, |b, _| {
            b.iter(|| lse.fit(&start, &data, &bounds, &mut seed::stream(1, &[])))
        });
        if n == 10_000 {
            // one Gauss-Newton product on the 4000 rows an LM iteration uses
            let mut h = vec![0.0; spec.n_params() * spec.n_params()];
            let mut ws = Workspace::default();
            g.throughput(Throughput::Elements(gn_flops as u64));
            g.bench_with_input(BenchmarkId::new("gauss_newton_4000_rows", n), &n, |b, _| {
                b.iter(|| kernel::gauss_newton(&spec, &start.theta, &data.x[..4000 * 32], &mut h, &mut ws))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
