"""The 2-D Brusselator reaction-diffusion system on a periodic k x k grid (default 32 x 32:
n = 2 k^2 = 2048 unknowns) solved by SciPy's BDF with the sparse Jacobian by chainrule.

    u' = A + u^2 v - (B + 1) u + alpha lap(u),    v' = B u - u^2 v + alpha lap(v)

with A = 1, B = 3.4, alpha = 0.002 and the 5-point Laplacian on the unit square (BENCHMARKS.md,
W10b). chainrule.integrate.solve_ivp detects the Jacobian's pattern once (5 + 1 entries per
row), colors it (a handful of colors) and evaluates it with one forward sweep per color.

    python examples/brusselator.py [--k 32] [--t-end 2] [--jit] [--compare] [--plot]
"""
import argparse
import time

import numpy as np

import chainrule.integrate as cri

A, B, ALPHA = 1.0, 3.4, 0.002


def make_rhs(k):
    """-> f(t, y) for the k x k grid, y = (u, v) flattened (2 k^2,)."""
    c = ALPHA * k * k               # alpha / h^2, h = 1 / k

    def lap(w):
        return (np.roll(w, 1, axis=0) + np.roll(w, -1, axis=0) + np.roll(w, 1, axis=1)
                + np.roll(w, -1, axis=1) - 4 * w)

    def f(t, y):
        u, v = y[:k * k].reshape(k, k), y[k * k:].reshape(k, k)
        uuv = u * u * v
        du = A + uuv - (B + 1) * u + c * lap(u)
        dv = B * u - uuv + c * lap(v)
        return np.concatenate([du.reshape(-1), dv.reshape(-1)])
    return f


def initial_state(k):
    x = np.arange(k) / k
    X, Y = np.meshgrid(x, x, indexing="ij")
    u = 1 + 0.5 * np.sin(2 * np.pi * X) * np.cos(2 * np.pi * Y)
    v = np.full((k, k), B / A)
    return np.concatenate([u.ravel(), v.ravel()])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, default=32, help="grid points per side")
    p.add_argument("--t-end", type=float, default=2.0)
    p.add_argument("--jit", action="store_true", help="compile the Jacobian's sweeps")
    p.add_argument("--compare", action="store_true",
                   help="also solve with SciPy's finite differences and jac_sparsity")
    p.add_argument("--plot", action="store_true", help="draw u at the end with matplotlib")
    args = p.parse_args(argv)
    k = args.k
    f, y0 = make_rhs(k), initial_state(k)
    jac = cri.ode_jacobian(f, 0.0, y0, jit=args.jit)
    t0 = time.perf_counter()
    sol = cri.solve_ivp(f, (0, args.t_end), y0, method="BDF", jac=jac, rtol=1e-6, atol=1e-8)
    dt = time.perf_counter() - t0
    print(f"k = {k} (n = {y0.size}): sparse AD Jacobian, {jac.prep.pattern.nnz} nonzeros, "
          f"{jac.ncolors} colors; BDF {sol.nfev} f-evals, {sol.njev} Jacobians, {sol.nlu} LUs, "
          f"{dt:.2f} s; u in [{sol.y[:k * k, -1].min():.4f}, {sol.y[:k * k, -1].max():.4f}] at "
          f"t = {sol.t[-1]}")
    if args.compare:
        import scipy.integrate as si
        t0 = time.perf_counter()
        ref = si.solve_ivp(f, (0, args.t_end), y0, method="BDF", rtol=1e-6, atol=1e-8,
                           jac_sparsity=jac.prep.pattern)
        print(f"SciPy finite differences with jac_sparsity: {ref.nfev} f-evals, {ref.njev} "
              f"Jacobians, {time.perf_counter() - t0:.2f} s; max |difference| at the end "
              f"{np.max(np.abs(ref.y[:, -1] - sol.y[:, -1])):.1e}")
    if args.plot:
        import matplotlib.pyplot as plt
        plt.imshow(sol.y[:k * k, -1].reshape(k, k), origin="lower", extent=(0, 1, 0, 1))
        plt.colorbar(label="u")
        plt.title(f"Brusselator u at t = {sol.t[-1]}")
        plt.show()
    return sol


if __name__ == "__main__":
    main()
