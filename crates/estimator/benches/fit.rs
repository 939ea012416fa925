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

/// A prototype, not the estimator's code: the same Gauss-Newton matrix by its Khatri-Rao
/// structure. Row s of the Jacobian is (z_i(s) x~(s))_i with x~ = (x, 1) and z the 2k
/// coefficients of the row, so H[(i, c), (j, e)] = sum_s z_i z_j x~_c x~_e: one product of the
/// rows' 2k(2k+1)/2 coefficient pairs with their (d+1)(d+2)/2 input pairs (which do not change
/// during a fit and are formed once), 2 m 171 561 flops at d = 32, k = 9 instead of the
/// 2 m p^2 (p = 594) of J^T J, or about 60% of that for its upper triangle. The same matrix up
/// to rounding, so adopting it changes results in the last bits and with them the paths of the
/// fits: it belongs to a full rerun. Random coefficients: the cost does not depend on them, and
/// the setup checks the matrix against J^T J.
struct KhatriRao {
    rows: usize,
    m: usize,
    dt: usize,
    /// rows x dt(dt+1)/2 input pairs, single precision
    v: Vec<f32>,
    pairs_in: Vec<(usize, usize)>,
    pairs_z: Vec<(usize, usize)>,
}

impl KhatriRao {
    fn new(x: &[f64], rows: usize, d: usize, m: usize) -> KhatriRao {
        let dt = d + 1;
        let pairs_in: Vec<(usize, usize)> = (0..dt).flat_map(|c| (c..dt).map(move |e| (c, e))).collect();
        let pairs_z: Vec<(usize, usize)> = (0..m).flat_map(|i| (i..m).map(move |j| (i, j))).collect();
        let xt = |s: usize, c: usize| if c < d { x[s * d + c] } else { 1.0 };
        let v = (0..rows).flat_map(|s| pairs_in.iter().map(move |&(c, e)| (xt(s, c) * xt(s, e)) as f32)).collect();
        KhatriRao { rows, m, dt, v, pairs_in, pairs_z }
    }

    /// H (p x p, p = m dt, slopes first then intercepts) from the coefficients z (m x rows).
    fn gauss_newton(&self, z: &[f64], h: &mut [f64]) {
        let (np, nz) = (self.pairs_in.len(), self.pairs_z.len());
        let (d, m) = (self.dt - 1, self.m);
        let p = m * self.dt;
        let u: Vec<f32> = (0..self.rows)
            .flat_map(|s| self.pairs_z.iter().map(move |&(i, j)| (z[i * self.rows + s] * z[j * self.rows + s]) as f32))
            .collect();
        let mut g = vec![0.0f32; nz * np];
        // SAFETY: u is rows x nz, v is rows x np, g is nz x np (all row-major).
        unsafe {
            matrixmultiply::sgemm(
                nz,
                self.rows,
                np,
                1.0,
                u.as_ptr(),
                1,
                nz as isize,
                self.v.as_ptr(),
                np as isize,
                1,
                0.0,
                g.as_mut_ptr(),
                np as isize,
                1,
            );
        }
        let scale = 2.0 / self.rows as f64;
        let col = |i: usize, c: usize| if c < d { i * d + c } else { m * d + i };
        let mut in_index = vec![0usize; self.dt * self.dt];
        for (q, &(c, e)) in self.pairs_in.iter().enumerate() {
            in_index[c * self.dt + e] = q;
            in_index[e * self.dt + c] = q;
        }
        for (r, &(i, j)) in self.pairs_z.iter().enumerate() {
            for c in 0..self.dt {
                for e in 0..self.dt {
                    let v = scale * g[r * np + in_index[c * self.dt + e]] as f64;
                    h[col(i, c) * p + col(j, e)] = v;
                    h[col(j, e) * p + col(i, c)] = v;
                }
            }
        }
    }
}

fn bench_khatri_rao(c: &mut Criterion) {
    let (rows, d, m) = (4000usize, 32usize, 18usize);
    let p = m * (d + 1);
    let mut rng = seed::stream(7, &[("purpose", "khatri_rao")]);
    let x = smoe_model::draw_inputs(rows, d, &mut rng);
    let z: Vec<f64> = smoe_model::draw_inputs(rows, m, &mut rng);
    let kr = KhatriRao::new(&x, rows, d, m);
    let mut h = vec![0.0; p * p];
    kr.gauss_newton(&z, &mut h);
    // the check: J^T J in double precision on the same rows
    let jac: Vec<f64> = (0..rows)
        .flat_map(|s| {
            let (x, z) = (&x, &z);
            (0..p).map(move |q| if q < m * d { z[(q / d) * rows + s] * x[s * d + q % d] } else { z[(q - m * d) * rows + s] })
        })
        .collect();
    let mut worst = 0.0f64;
    for a in 0..p {
        for b in 0..p {
            let exact = 2.0 / rows as f64 * (0..rows).map(|s| jac[s * p + a] * jac[s * p + b]).sum::<f64>();
            worst = worst.max((h[a * p + b] - exact).abs() / (1.0 + exact.abs()));
        }
    }
    assert!(worst < 1e-4, "the Khatri-Rao matrix is not J^T J: {worst}");
    let mut g = c.benchmark_group("fit_d32_k9");
    g.sample_size(10);
    g.throughput(Throughput::Elements((2.0 * rows as f64 * (p * p) as f64) as u64));
    g.bench_function("gauss_newton_khatri_rao_prototype_4000_rows", |b| b.iter(|| kr.gauss_newton(&z, &mut h)));
    g.finish();
}

criterion_group!(benches, bench, bench_khatri_rao);
criterion_main!(benches);
