"""Logistic regression on a design matrix larger than memory: Dask arrays, gradients by
chainrule, L-BFGS by SciPy.

The design matrix X (n x 10, float64: 8 GB at the default n = 1e8 rows) is never held in
memory: Dask generates it chunk by chunk from a seed whenever a pass over the data needs it,
and the labels y are drawn from a logistic model with known weights. The loss, the mean
logistic loss ``mean(log(1 + exp(X w)) - y X w)``, is written with plain NumPy functions.
Given Dask arrays, ``chainrule.value_and_grad`` returns the loss and its gradient as lazy Dask
arrays, and ``chainrule.optimize.minimize`` computes both with one ``dask.compute`` per L-BFGS
step: one pass over the chunks, the forward pass shared by the value and the gradient. Peak
memory stays at a few chunks.

    python examples/out_of_core_regression.py [--rows 1e8] [--chunk-rows 1e6] [--maxiter 50]

CHAINRULE_QUICK=1 fits 1e5 rows (tests and docs). Needs ``pip install chainrule[dask]``.
"""
import argparse
import os
import resource
import time

import dask
import dask.array as da
import numpy as np
from dask.diagnostics import ProgressBar

import chainrule as cr
import chainrule.optimize as cro

N_FEATURES = 10
TRUE_W = np.linspace(-1.0, 1.0, N_FEATURES)


def make_data(rows, chunk_rows, seed=0):
    """X (rows x 10, chunks of chunk_rows rows) and labels y in {0, 1}, both lazy: nothing is
    generated until a computation needs a chunk, and every pass regenerates the same numbers."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, N_FEATURES), chunks=(chunk_rows, N_FEATURES))
    p = 1.0 / (1.0 + np.exp(-(X @ TRUE_W)))
    y = (rng.random(rows, chunks=chunk_rows) < p).astype(np.float64)
    return X, y


def loss(w, X, y):
    """The mean logistic loss of weights w (10,) on rows X (n, 10) with labels y (n,)."""
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def peak_memory_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024    # KiB on Linux


def main(argv=None):
    quick = os.environ.get("CHAINRULE_QUICK") == "1"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=float, default=1e5 if quick else 1e8)
    ap.add_argument("--chunk-rows", type=float, default=None,
                    help="rows per chunk (default: 1e6, or rows / 4 for small problems)")
    ap.add_argument("--maxiter", type=int, default=50)
    args = ap.parse_args(argv)
    rows = int(args.rows)
    chunk_rows = int(args.chunk_rows or min(1_000_000, max(rows // 4, 1)))
    X, y = make_data(rows, chunk_rows)
    chunk_mb = chunk_rows * N_FEATURES * 8 / 1e6
    print(f"design matrix {rows:.3g} x {N_FEATURES} float64 ({X.nbytes / 1e9:.3g} GB), "
          f"{X.numblocks[0]} chunks of {chunk_rows:.3g} rows ({chunk_mb:.0f} MB each), "
          "generated chunk-wise")

    # the derivatives are lazy: building them computes nothing
    value, grad = cr.value_and_grad(loss)(np.zeros(N_FEATURES), X, y)
    print(f"value and gradient at w = 0 are {type(value).__name__}s "
          f"({len(dict(grad.__dask_graph__()))} tasks in the gradient's graph)")

    t0 = time.perf_counter()
    with ProgressBar(minimum=2.0):      # a bar for every pass over the data longer than 2 s
        res = cro.minimize(loss, np.zeros(N_FEATURES), args=(X, y), method="L-BFGS-B",
                           options={"maxiter": args.maxiter})
    elapsed = time.perf_counter() - t0
    print(f"L-BFGS-B: {res.nit} iterations, {res.nfev} passes over the data (value and "
          f"gradient in one dask.compute each), {elapsed:.1f} s, {res.message}")
    print(f"final loss {res.fun:.6f}, |gradient| {np.linalg.norm(res.jac):.2e}")
    print(f"fitted weights {np.array2string(res.x, precision=3)}")
    print(f"true weights   {np.array2string(TRUE_W, precision=3)}  (max difference "
          f"{np.abs(res.x - TRUE_W).max():.3f}; the sampling error is of order "
          f"1/sqrt(rows) = {1 / np.sqrt(rows):.1e})")
    print(f"peak resident memory of this process: {peak_memory_mb():.0f} MB")
    return res, (X, y)


if __name__ == "__main__":
    with dask.config.set(scheduler="threads"):
        main()
