//! The fused forward pass and analytic gradient of the mean squared error.
//!
//! Samples are processed in fixed chunks. For each chunk the two linear maps of the model are one
//! matrix product Z^T = W X^T (2k x chunk, via matrixmultiply's SIMD dgemm); the nonlinear part
//! then runs along rows of Z^T, so every inner loop walks contiguous memory over samples; the
//! gradient of W is a second product Coef X. No allocation happens per sample or per call once the
//! workspace has grown. Chunking is a fixed constant, so the summation order never depends on the
//! caller, the thread count or the batch split.

use crate::{exp_fast, sigmoid_fast, Expert, Gate, Spec};

/// Samples per chunk: Z^T, the coefficient block and the X chunk stay in L2 cache.
pub const CHUNK: usize = 512;

const ONES: [f64; CHUNK] = [1.0; CHUNK];

/// Scratch buffers reused across calls (one per thread).
#[derive(Default, Clone, Debug)]
pub struct Workspace {
    zt: Vec<f64>,
    ev: Vec<f64>,
    f: Vec<f64>,
}

impl Workspace {
    fn ensure(&mut self, k: usize) {
        let m = 2 * k;
        if self.zt.len() < m * CHUNK {
            self.zt.resize(m * CHUNK, 0.0);
        }
        if self.ev.len() < k * CHUNK {
            self.ev.resize(k * CHUNK, 0.0);
        }
        if self.f.len() < CHUNK {
            self.f.resize(CHUNK, 0.0);
        }
    }
}

/// Z^T = W X^T + c for one chunk of rows of x; writes `m x nc` row-major with row stride nc.
#[inline(always)]
fn linear_maps(spec: &Spec, theta: &[f64], xc: &[f64], nc: usize, zt: &mut [f64]) {
    let d = spec.d;
    let m = 2 * spec.k;
    let (w, c) = theta.split_at(m * d);
    debug_assert!(xc.len() >= nc * d && zt.len() >= m * nc);
    // SAFETY: the pointers come from slices whose lengths cover the strided extents checked above.
    unsafe {
        matrixmultiply::dgemm(m, d, nc, 1.0, w.as_ptr(), d as isize, 1, xc.as_ptr(), 1, d as isize, 0.0, zt.as_mut_ptr(), nc as isize, 1);
    }
    for i in 0..m {
        let ci = c[i];
        for z in &mut zt[i * nc..(i + 1) * nc] {
            *z += ci;
        }
    }
}

/// Forward pass on one chunk. On return, for atom i:
/// row i of zt holds the gate g_i, row k+i holds phi'(u_i), row i of ev holds phi(u_i), f the output.
#[inline(always)]
fn forward_chunk(spec: &Spec, nc: usize, zt: &mut [f64], ev: &mut [f64], f: &mut [f64]) {
    let k = spec.k;
    let f = &mut f[..nc];
    f.iter_mut().for_each(|v| *v = 0.0);
    let (gates, experts) = zt.split_at_mut(k * nc);
    // experts: phi and phi' along contiguous rows
    for i in 0..k {
        let urow = &mut experts[i * nc..(i + 1) * nc];
        let erow = &mut ev[i * nc..(i + 1) * nc];
        apply_expert(spec.expert, urow, erow);
    }
    match spec.gate {
        Gate::Sigmoid => {
            for i in 0..k {
                let grow = &mut gates[i * nc..(i + 1) * nc];
                for g in grow.iter_mut() {
                    *g = sigmoid_fast(*g);
                }
            }
        }
        Gate::Softmax => {
            // f temporarily holds the row-wise max, then the normaliser.
            f.copy_from_slice(&gates[..nc]);
            for i in 1..k {
                for (mx, &z) in f.iter_mut().zip(&gates[i * nc..(i + 1) * nc]) {
                    *mx = mx.max(z);
                }
            }
            for i in 0..k {
                for (g, &mx) in gates[i * nc..(i + 1) * nc].iter_mut().zip(f.iter()) {
                    *g = exp_fast(*g - mx);
                }
            }
            f.copy_from_slice(&gates[..nc]);
            for i in 1..k {
                for (s, &g) in f.iter_mut().zip(&gates[i * nc..(i + 1) * nc]) {
                    *s += g;
                }
            }
            for v in f.iter_mut() {
                *v = 1.0 / *v;
            }
            for i in 0..k {
                for (g, &inv) in gates[i * nc..(i + 1) * nc].iter_mut().zip(f.iter()) {
                    *g *= inv;
                }
            }
            f.iter_mut().for_each(|v| *v = 0.0);
        }
    }
    for i in 0..k {
        let grow = &gates[i * nc..(i + 1) * nc];
        let erow = &ev[i * nc..(i + 1) * nc];
        for s in 0..nc {
            f[s] += grow[s] * erow[s];
        }
    }
}

/// phi into `erow` and phi' into `urow` (overwriting the pre-activation).
#[inline(always)]
fn apply_expert(expert: Expert, urow: &mut [f64], erow: &mut [f64]) {
    match expert {
        Expert::Linear | Expert::Constant => {
            erow.copy_from_slice(urow);
            urow.iter_mut().for_each(|u| *u = 1.0);
        }
        Expert::Relu => {
            for (u, e) in urow.iter_mut().zip(erow.iter_mut()) {
                let pos = *u > 0.0;
                *e = if pos { *u } else { 0.0 };
                *u = if pos { 1.0 } else { 0.0 };
            }
        }
        other => {
            for (u, e) in urow.iter_mut().zip(erow.iter_mut()) {
                let (p, dp) = other.phi_and_deriv(*u);
                *e = p;
                *u = dp;
            }
        }
    }
}

/// The coefficients of d f / d z, in place over the forward pass's rows, each multiplied by
/// `rs[s]` (the scaled residual, or ones for the Jacobian): gate rows become
/// r g (1 - g) phi (sigmoid) or r g (phi - f) (softmax, `fval` = f), expert rows r g phi'.
#[inline(always)]
fn coefficients(spec: &Spec, nc: usize, zt: &mut [f64], ev: &[f64], fval: &[f64], rs: &[f64]) {
    let k = spec.k;
    let (gates, dexp) = zt.split_at_mut(k * nc);
    for i in 0..k {
        let grow = &mut gates[i * nc..(i + 1) * nc];
        let drow = &mut dexp[i * nc..(i + 1) * nc];
        let erow = &ev[i * nc..(i + 1) * nc];
        match spec.gate {
            Gate::Sigmoid => {
                for s in 0..nc {
                    let gi = grow[s];
                    drow[s] *= rs[s] * gi;
                    grow[s] = rs[s] * erow[s] * gi * (1.0 - gi);
                }
            }
            Gate::Softmax => {
                for s in 0..nc {
                    let gi = grow[s];
                    drow[s] *= rs[s] * gi;
                    grow[s] = rs[s] * gi * (erow[s] - fval[s]);
                }
            }
        }
    }
}

/// Mean squared error (1/n) sum_s (f_G(x_s) - y_s)^2 and, if `grad` is given, its gradient with
/// respect to theta (same layout as theta). x is n x d row-major.
///
/// On x86-64 the same code is compiled again with AVX2 and with AVX-512 enabled, and the widest
/// copy the CPU supports is chosen at run time ([`simd_level`]). Both versions perform the same IEEE operations in the same order (Rust never fuses
/// or reassociates floating-point operations), so their results are bitwise identical.
pub fn loss_grad(spec: &Spec, theta: &[f64], x: &[f64], y: &[f64], grad: Option<&mut [f64]>, ws: &mut Workspace) -> f64 {
    loss_grad_at(simd_level(), spec, theta, x, y, grad, ws)
}

/// [`loss_grad`] with the kernel copy chosen by the caller (tests compare the copies). A level
/// the CPU does not support falls back to the portable copy.
pub fn loss_grad_at(
    level: SimdLevel,
    spec: &Spec,
    theta: &[f64],
    x: &[f64],
    y: &[f64],
    grad: Option<&mut [f64]>,
    ws: &mut Workspace,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    match level.min(simd_level()) {
        // SAFETY: the CPU supports the features (detected by simd_level).
        SimdLevel::Avx512 => return unsafe { loss_grad_avx512(spec, theta, x, y, grad, ws) },
        SimdLevel::Avx2 => return unsafe { loss_grad_avx2(spec, theta, x, y, grad, ws) },
        SimdLevel::Portable => {}
    }
    let _ = level;
    loss_grad_impl(spec, theta, x, y, grad, ws)
}

/// Which compiled copy of the kernel runs on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    /// Whatever the compilation target guarantees (SSE2 on x86-64).
    Portable,
    /// AVX2: four doubles per vector.
    Avx2,
    /// AVX-512 (F, DQ, VL): eight doubles per vector.
    Avx512,
}

impl SimdLevel {
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512];
}

/// The widest kernel this CPU can run. Every level gives bitwise the same results: the copies
/// differ only in vector width, never in the order or kind of floating-point operations.
pub fn simd_level() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            return SimdLevel::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return SimdLevel::Avx2;
        }
    }
    SimdLevel::Portable
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2")]
unsafe fn loss_grad_avx512(spec: &Spec, theta: &[f64], x: &[f64], y: &[f64], grad: Option<&mut [f64]>, ws: &mut Workspace) -> f64 {
    loss_grad_impl(spec, theta, x, y, grad, ws)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn loss_grad_avx2(spec: &Spec, theta: &[f64], x: &[f64], y: &[f64], grad: Option<&mut [f64]>, ws: &mut Workspace) -> f64 {
    loss_grad_impl(spec, theta, x, y, grad, ws)
}

/// The portable body of [`loss_grad`]; public so tests can compare it with the dispatched one.
#[inline(always)]
pub fn loss_grad_impl(spec: &Spec, theta: &[f64], x: &[f64], y: &[f64], mut grad: Option<&mut [f64]>, ws: &mut Workspace) -> f64 {
    let (k, d) = (spec.k, spec.d);
    let m = 2 * k;
    let n = y.len();
    assert_eq!(theta.len(), spec.n_params(), "theta length");
    assert_eq!(x.len(), n * d, "x must be n x d");
    if n == 0 {
        return 0.0;
    }
    ws.ensure(k);
    if let Some(g) = grad.as_deref_mut() {
        assert_eq!(g.len(), theta.len(), "grad length");
        g.iter_mut().for_each(|v| *v = 0.0);
    }
    let scale = 2.0 / n as f64;
    let mut sse = 0.0;
    let Workspace { zt, ev, f } = ws;
    for start in (0..n).step_by(CHUNK) {
        let nc = CHUNK.min(n - start);
        let xc = &x[start * d..(start + nc) * d];
        let yc = &y[start..start + nc];
        let zt = &mut zt[..m * nc];
        let ev = &mut ev[..k * nc];
        linear_maps(spec, theta, xc, nc, zt);
        forward_chunk(spec, nc, zt, ev, f);
        // f becomes the scaled residual r_s * 2/n
        for s in 0..nc {
            let r = f[s] - yc[s];
            sse += r * r;
            f[s] = scale * r;
        }
        let Some(g) = grad.as_deref_mut() else { continue };
        let rs = &f[..nc];
        match spec.gate {
            Gate::Sigmoid => coefficients(spec, nc, zt, ev, &[], rs),
            Gate::Softmax => {
                // f_s is needed again: recompute it from the gates before they are overwritten.
                let mut fval = [0.0f64; CHUNK];
                for i in 0..k {
                    for s in 0..nc {
                        fval[s] += zt[i * nc + s] * ev[i * nc + s];
                    }
                }
                coefficients(spec, nc, zt, ev, &fval[..nc], rs);
            }
        }
        let (gw, gc) = g.split_at_mut(m * d);
        // SAFETY: coef is m x nc (row stride nc), xc is nc x d, gw is m x d; all in bounds.
        unsafe {
            matrixmultiply::dgemm(
                m,
                nc,
                d,
                1.0,
                zt.as_ptr(),
                nc as isize,
                1,
                xc.as_ptr(),
                d as isize,
                1,
                1.0,
                gw.as_mut_ptr(),
                d as isize,
                1,
            );
        }
        for i in 0..m {
            gc[i] += zt[i * nc..(i + 1) * nc].iter().sum::<f64>();
        }
    }
    if let Some(g) = grad {
        if !spec.expert.has_slope() {
            // the input-independent expert's slope is not a parameter
            g[k * d..2 * k * d].iter_mut().for_each(|v| *v = 0.0);
        }
    }
    sse / n as f64
}

/// f_G(x_s) for every row of x, written into `out` (dispatched like [`loss_grad`]).
pub fn predict_into(spec: &Spec, theta: &[f64], x: &[f64], out: &mut [f64], ws: &mut Workspace) {
    #[cfg(target_arch = "x86_64")]
    match simd_level() {
        // SAFETY: the CPU supports the features (detected by simd_level).
        SimdLevel::Avx512 => return unsafe { predict_avx512(spec, theta, x, out, ws) },
        SimdLevel::Avx2 => return unsafe { predict_avx2(spec, theta, x, out, ws) },
        SimdLevel::Portable => {}
    }
    predict_impl(spec, theta, x, out, ws)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2")]
unsafe fn predict_avx512(spec: &Spec, theta: &[f64], x: &[f64], out: &mut [f64], ws: &mut Workspace) {
    predict_impl(spec, theta, x, out, ws)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn predict_avx2(spec: &Spec, theta: &[f64], x: &[f64], out: &mut [f64], ws: &mut Workspace) {
    predict_impl(spec, theta, x, out, ws)
}

#[inline(always)]
fn predict_impl(spec: &Spec, theta: &[f64], x: &[f64], out: &mut [f64], ws: &mut Workspace) {
    let (k, d) = (spec.k, spec.d);
    let n = out.len();
    assert_eq!(x.len(), n * d, "x must be n x d");
    ws.ensure(k);
    let Workspace { zt, ev, f } = ws;
    for start in (0..n).step_by(CHUNK) {
        let nc = CHUNK.min(n - start);
        let xc = &x[start * d..(start + nc) * d];
        linear_maps(spec, theta, xc, nc, &mut zt[..2 * k * nc]);
        forward_chunk(spec, nc, &mut zt[..2 * k * nc], &mut ev[..k * nc], f);
        out[start..start + nc].copy_from_slice(&f[..nc]);
    }
}

/// Floating-point operations of one loss_grad call (multiply and add counted separately), used to
/// report achieved GFLOP/s: two products of 2k x d x n, plus the elementwise work.
pub fn flops_loss_grad(spec: &Spec, n: usize) -> f64 {
    let (k, d) = (spec.k as f64, spec.d as f64);
    let n = n as f64;
    2.0 * (2.0 * 2.0 * k * d * n) + 12.0 * k * n
}

/// The Gauss-Newton matrix of the mean squared error, (2/n) J^T J, where J (n x p) holds the
/// derivatives of f_G(x_s) with respect to theta (same layout as theta). Written into `h`
/// (p x p, row-major, both triangles). Near a least-squares minimum it approximates the
/// Hessian; it is what a Levenberg-Marquardt step uses. Rows are processed in the same fixed
/// chunks as [`loss_grad`], so the result never depends on the caller.
pub fn gauss_newton(spec: &Spec, theta: &[f64], x: &[f64], h: &mut [f64], ws: &mut Workspace) {
    let (k, d) = (spec.k, spec.d);
    let m = 2 * k;
    let p = spec.n_params();
    let n = x.len() / d;
    assert_eq!(theta.len(), p, "theta length");
    assert_eq!(x.len(), n * d, "x must be n x d");
    assert_eq!(h.len(), p * p, "h must be p x p");
    h.iter_mut().for_each(|v| *v = 0.0);
    if n == 0 {
        return;
    }
    ws.ensure(k);
    // Row s of the Jacobian is (z_i(s) x~(s))_i, x~ = (x, 1), z the 2k coefficients d f / d z of
    // the row (gate logits, then expert inputs), so every entry is a product of a coefficient
    // pair and an input pair: H[(i, c), (j, e)] = (2/n) sum_s z_i z_j x~_c x~_e. The matrix is
    // formed by its Khatri-Rao structure, one product of the rows' m(m+1)/2 coefficient pairs
    // with their (d+1)(d+2)/2 input pairs (2 nc 171 561 flops per chunk at d = 32, k = 9, against
    // the 2 nc p^2 / 2 of the upper triangle of J^T J, p = 594). Both pair products and the
    // matrix product are single precision: the matrix only shapes the Levenberg-Marquardt step
    // (the objective and gradient stay double, so the fixed point does not move), and sgemm runs
    // at twice the rate of dgemm. Each chunk's product is added in double precision. Where the
    // experts have no slope, their slope columns are zero (not parameters).
    let scale = 2.0 / n as f64;
    let dt = d + 1;
    let (nz, np) = (m * (m + 1) / 2, dt * (dt + 1) / 2);
    let mut u = vec![0.0f32; CHUNK * nz];
    let mut v = vec![0.0f32; CHUNK * np];
    let mut g = vec![0.0f32; nz * np];
    let mut acc = vec![0.0f64; nz * np];
    // one input row with its constant: x~ = (x, 1)
    let mut xt = vec![1.0f64; dt];
    let slope_free = spec.expert.has_slope();
    let Workspace { zt, ev, f } = ws;
    for start in (0..n).step_by(CHUNK) {
        let nc = CHUNK.min(n - start);
        let xc = &x[start * d..(start + nc) * d];
        let zt = &mut zt[..m * nc];
        let ev = &mut ev[..k * nc];
        linear_maps(spec, theta, xc, nc, zt);
        forward_chunk(spec, nc, zt, ev, f);
        // d f / d z for every row: loss_grad's coefficients with ones for the residual (exact)
        coefficients(spec, nc, zt, ev, &f[..nc], &ONES[..nc]);
        for s in 0..nc {
            let us = &mut u[s * nz..(s + 1) * nz];
            let mut q = 0;
            for i in 0..m {
                let zi = zt[i * nc + s];
                for j in i..m {
                    us[q] = (zi * zt[j * nc + s]) as f32;
                    q += 1;
                }
            }
            xt[..d].copy_from_slice(&xc[s * d..(s + 1) * d]);
            let vs = &mut v[s * np..(s + 1) * np];
            let mut q = 0;
            for (c, &xa) in xt.iter().enumerate() {
                for &xb in &xt[c..] {
                    vs[q] = (xa * xb) as f32;
                    q += 1;
                }
            }
        }
        // SAFETY: u is nc x nz and v is nc x np (row-major), g is nz x np (row-major): g = u^T v.
        unsafe {
            matrixmultiply::sgemm(
                nz,
                nc,
                np,
                1.0,
                u.as_ptr(),
                1,
                nz as isize,
                v.as_ptr(),
                np as isize,
                1,
                0.0,
                g.as_mut_ptr(),
                np as isize,
                1,
            );
        }
        for (a, &c) in acc.iter_mut().zip(&g) {
            *a += scale * c as f64;
        }
    }
    // scatter the pairs: column of (map i, input c) in theta's layout (slopes, then intercepts)
    let col = |i: usize, c: usize| if c < d { i * d + c } else { m * d + i };
    let mut in_index = vec![0usize; dt * dt];
    let mut q = 0;
    for c in 0..dt {
        for e in c..dt {
            in_index[c * dt + e] = q;
            in_index[e * dt + c] = q;
            q += 1;
        }
    }
    let zero_col = |i: usize, c: usize| !slope_free && i >= k && c < d;
    let mut r = 0;
    for i in 0..m {
        for j in i..m {
            for c in 0..dt {
                for e in 0..dt {
                    let val = if zero_col(i, c) || zero_col(j, e) { 0.0 } else { acc[r * np + in_index[c * dt + e]] };
                    h[col(i, c) * p + col(j, e)] = val;
                    h[col(j, e) * p + col(i, c)] = val;
                }
            }
            r += 1;
        }
    }
}
