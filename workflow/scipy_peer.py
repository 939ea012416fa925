"""The like-for-like peer of the project's least-squares fit: scipy.optimize.least_squares
(method "trf", bounded trust-region reflective) with an analytic Jacobian, on exactly the units
that `export_units` wrote (same data, start and box), single thread.

Usage: python scipy_peer.py UNIT_DIR...   (each UNIT_DIR holds meta.json, x.f64, y.f64, start.f64,
lower.f64, upper.f64 and the project's rust.json); writes UNIT_DIR/scipy.json and prints one
Markdown table with both sides.

Stopping rule, as close to the project's as scipy allows (docs/PROTOCOL.md 3c): the project stops
when the objective fell by at most tol_rel_cost = 5e-6 of its value over the last five accepted
steps and the projected gradient is at most tol_grad = 0.1 of the noise's gradient scale. trf
tests one step, so ftol = tol_rel_cost / 5; its gradient and step tests are switched off
(1e-15), and the project's gradient test is evaluated at trf's end point and reported. The
scaling is x_scale="jac" (the Jacobian's column norms, as the project's Marquardt scaling by the
Gauss-Newton diagonal). The budget is the project's max_iters in function evaluations.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares
from scipy.special import erf


def load(unit: Path):
    meta = json.loads((unit / "meta.json").read_text())
    f64 = lambda name: np.fromfile(unit / name, dtype="<f8")
    d = meta["d"]
    x = f64("x.f64").reshape(-1, d)
    return meta, x, f64("y.f64"), f64("start.f64"), f64("lower.f64"), f64("upper.f64")


def phi(expert: str, v):
    """The expert's activation and its derivative."""
    if expert == "linear":
        return v, np.ones_like(v)
    if expert == "relu":
        return np.maximum(v, 0.0), (v > 0.0).astype(float)
    if expert == "gelu":
        cdf = 0.5 * (1.0 + erf(v / np.sqrt(2.0)))
        return v * cdf, cdf + v * np.exp(-0.5 * v * v) / np.sqrt(2.0 * np.pi)
    raise SystemExit(f"expert {expert!r}: the peer knows linear, relu and gelu")


class Model:
    """f(x) = sum_i sigmoid(w_i . x + c_i) phi(a_i . x + b_i), theta laid out as the project's:
    rows w_1..w_k, a_1..a_k (d each), then c_1..c_k, b_1..b_k."""

    def __init__(self, k, d, expert):
        self.k, self.d, self.expert = k, d, expert

    def parts(self, theta, x):
        k, d = self.k, self.d
        w = theta[: k * d].reshape(k, d)
        a = theta[k * d : 2 * k * d].reshape(k, d)
        c = theta[2 * k * d : 2 * k * d + k]
        b = theta[2 * k * d + k :]
        g = 1.0 / (1.0 + np.exp(-(x @ w.T + c)))
        h, dh = phi(self.expert, x @ a.T + b)
        return g, h, dh

    def residual(self, theta, x, y):
        g, h, _ = self.parts(theta, x)
        return (g * h).sum(axis=1) - y

    def jacobian(self, theta, x):
        g, h, dh = self.parts(theta, x)
        coef = np.concatenate([g * (1.0 - g) * h, g * dh], axis=1)  # n x 2k
        n = x.shape[0]
        slopes = (coef[:, :, None] * x[:, None, :]).reshape(n, -1)
        return np.concatenate([slopes, coef], axis=1)


def project(theta, lo, hi):
    return np.minimum(np.maximum(theta, lo), hi)


def criterion(model, theta, x, y, lo, hi, tol_grad, hessian_n):
    """The project's gradient test at theta: projected gradient of the mean squared error against
    tol_grad * sqrt(2 f tr(H) / n), H = (2/m) J^T J on the first hessian_n rows."""
    n = x.shape[0]
    r = model.residual(theta, x, y)
    f = float(r @ r / n)
    jac = model.jacobian(theta, x)
    grad = 2.0 / n * (jac.T @ r)
    pg = float(np.linalg.norm(theta - project(theta - grad, lo, hi)))
    m = n if hessian_n == 0 else min(hessian_n, n)
    trace = 2.0 / m * float((jac[:m] ** 2).sum())
    noise = np.sqrt(2.0 * f * trace / n)
    return f, pg, noise, pg <= tol_grad * noise


def fit(unit: Path):
    meta, x, y, start, lo, hi = load(unit)
    if meta["gate"] != "sigmoid":
        raise SystemExit(f"{unit}: the peer implements the sigmoid gate only")
    est = meta["estimator"]
    model = Model(meta["k"], meta["d"], meta["expert"])
    theta0 = project(start, lo, hi)
    t = time.perf_counter()
    res = least_squares(
        model.residual,
        theta0,
        jac=lambda th, x, y: model.jacobian(th, x),
        bounds=(lo, hi),
        method="trf",
        x_scale="jac",
        ftol=est["tol_rel_cost"] / 5.0,
        xtol=1e-15,
        gtol=1e-15,
        max_nfev=int(est["max_iters"]),
        args=(x, y),
    )
    wall = time.perf_counter() - t
    f, pg, noise, meets_grad = criterion(model, res.x, x, y, lo, hi, est["tol_grad"], est.get("hessian_n", 0))
    out = {
        "nfev": int(res.nfev),
        "njev": int(res.njev),
        "status": int(res.status),
        "message": res.message,
        "objective": f,
        "proj_grad_norm": pg,
        "noise_grad": noise,
        "meets_gradient_test": bool(meets_grad),
        "stopped_by_ftol": res.status in (2, 4),
        "wall_s": wall,
    }
    (unit / "scipy.json").write_text(json.dumps(out, indent=2) + "\n")
    return meta, json.loads((unit / "rust.json").read_text()), out


def main(units):
    rows = []
    for u in map(Path, units):
        meta, rust, sp = fit(u)
        rows.append((meta, rust, sp))
        print(f"{u.name}: project {rust['iterations']} iterations {rust['wall_s']:.2f} s; scipy {sp['nfev']} evaluations {sp['wall_s']:.2f} s", file=sys.stderr, flush=True)
    print("| unit | n | project: iterations, s, objective, meets criterion | scipy trf: iterations (Jacobians), s, objective, stopped by ftol, meets gradient test | time per fit, scipy / project | iterations, scipy / project | objective, scipy / project - 1 |")
    print("|---|---|---|---|---|---|---|")
    for meta, rust, sp in rows:
        print(
            f"| {meta['experiment']} {meta['setting']} {meta['gate']} rep {meta['rep']} | {meta['n']} "
            f"| {rust['iterations']}, {rust['wall_s']:.2f}, {rust['objective']:.6e}, {'yes' if rust['meets_criterion'] else 'no'} "
            f"| {sp['njev']}, {sp['wall_s']:.2f}, {sp['objective']:.6e}, {'yes' if sp['stopped_by_ftol'] else 'no'}, {'yes' if sp['meets_gradient_test'] else 'no'} "
            f"| {sp['wall_s'] / rust['wall_s']:.2f} | {sp['njev'] / max(rust['iterations'], 1):.2f} "
            f"| {sp['objective'] / rust['objective'] - 1.0:+.2e} |"
        )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: scipy_peer.py UNIT_DIR...")
    main(sys.argv[1:])
