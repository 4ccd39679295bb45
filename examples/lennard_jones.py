"""Lennard-Jones cluster: minimize the energy of N atoms (default 64) with SciPy's trust-ncg,
the gradient and Hessian-vector products by chainrule (chainrule.optimize.minimize).

The energy is E(x) = 4 sum_{i<j} (r_ij^-12 - r_ij^-6) (epsilon = sigma = 1) of the positions
x (N, 3), written with plain NumPy. The start is a perturbed piece of an fcc lattice at the
pair-minimum spacing. trust-ncg asks for the gradient once per accepted point and for many
Hessian-vector products there: chainrule linearizes the gradient once per point and reuses it.

    python examples/lennard_jones.py [--n 64] [--jit] [--plot]
"""
import argparse
import time

import numpy as np

import chainrule.optimize as cro


def energy(x):
    """x: (N, 3) positions -> the Lennard-Jones energy (a scalar)."""
    n = x.shape[0]
    i, j = np.triu_indices(n, 1)
    d = x[i] - x[j]
    inv6 = 1.0 / np.sum(d * d, axis=1)**3
    return 4.0 * np.sum(inv6 * inv6 - inv6)


def fcc_start(n, seed=0):
    """n points of an fcc lattice at nearest-neighbour distance 2^(1/6), perturbed."""
    k = int(np.ceil((n / 4) ** (1 / 3)))
    base = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    cells = np.array([[a, b, c] for a in range(k) for b in range(k) for c in range(k)])
    pts = (cells[:, None, :] + base[None]).reshape(-1, 3)
    pts = pts[np.argsort(np.sum((pts - pts.mean(0))**2, axis=1), kind="stable")[:n]]
    a = 2 ** (1 / 6) * np.sqrt(2)           # lattice constant for that neighbour distance
    return a * pts + 0.05 * np.random.default_rng(seed).standard_normal((n, 3))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64, help="number of atoms")
    p.add_argument("--jit", action="store_true", help="compile the derivatives")
    p.add_argument("--plot", action="store_true", help="draw the cluster with matplotlib")
    args = p.parse_args(argv)
    x0 = fcc_start(args.n)
    t0 = time.perf_counter()
    res = cro.minimize(energy, x0, method="trust-ncg", jit=args.jit, options={"gtol": 1e-6})
    dt = time.perf_counter() - t0
    print(f"N = {args.n}: E0 = {energy(x0):.6f} -> E = {res.fun:.6f} ({res.fun / args.n:.4f} "
          f"per atom), {res.nit} iterations, {res.nhev} Hessian-vector products, "
          f"|grad| = {np.linalg.norm(res.jac):.2e}, {dt:.2f} s, success = {res.success}")
    if args.plot:
        import matplotlib.pyplot as plt
        ax = plt.figure().add_subplot(projection="3d")
        ax.scatter(*res.x.T, s=200, alpha=0.7)
        ax.set_title(f"Lennard-Jones cluster, N = {args.n}, E = {res.fun:.3f}")
        plt.show()
    return res


if __name__ == "__main__":
    main()
