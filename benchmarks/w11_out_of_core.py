"""W11: out of core. Value and gradient of the mean logistic loss of a 1e8 x 10 float64 design
matrix (8 GB) held as a chunked Dask array generated chunk-wise from a seed, w in R^10.

chainrule differentiates the loss written with plain NumPy functions; given Dask arrays it
returns the value and the gradient as lazy Dask arrays, computed by one ``dask.compute(value,
grad)`` (one pass over the chunks, the forward pass shared). The targets: peak resident memory
of the process under 2 GB, and time at most 3x the time Dask takes for the loss alone (the
cheap-gradient principle out of core). Every row runs in a fresh process (peak memory); the
data are regenerated in every pass, as a real out-of-core pass rereads them. The peer row is
the gradient written by hand (``X^T (sigmoid(X w) - y) / n``) and computed with the loss in one
``dask.compute``: the check compares chainrule's value and gradient with it.
"""
import numpy as np

from . import _harness as h
from ._harness import Impl

ID = "W11"
TITLE = "out of core: logistic loss of a Dask design matrix, value and gradient"
WHAT = ("mean(logaddexp(0, X w) - y X w), X 1e8 x 10 float64 generated chunk-wise by Dask; "
        "'grad / f' divides by Dask's time for the loss alone")
N_FEATURES = 10
MEMORY_TARGET_MB = 2000.0
TIME_TARGET = 3.0


def cases(quick):
    if quick:
        return [{"label": "n=2e4", "n": 20_000, "chunk": 5_000}]
    return [{"label": "n=1e8", "n": 100_000_000, "chunk": 1_000_000, "fresh": True}]


def data(case):
    """X (n x 10) and y, lazy: chunks of case["chunk"] rows, generated from a seed."""
    import dask.array as da
    rng = da.random.default_rng(11)
    X = rng.standard_normal((case["n"], N_FEATURES), chunks=(case["chunk"], N_FEATURES))
    p = 1.0 / (1.0 + np.exp(-(X @ np.linspace(-1.0, 1.0, N_FEATURES))))
    y = (rng.random(case["n"], chunks=case["chunk"]) < p).astype(np.float64)
    return X, y, np.full(N_FEATURES, 0.1)


def loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def reference(case):
    if case["n"] > 1_000_000:
        return None         # the peer row (the gradient by hand, in Dask) checks the full size
    X, y, w = data(case)
    X, y = X.compute(), y.compute()
    z = X @ w
    return ((loss(w, X, y), X.T @ (1.0 / (1.0 + np.exp(-z)) - y) / len(y)), 1e-12,
            "closed form in memory")


def dask_loss(case):
    X, y, w = data(case)
    return lambda: loss(w, X, y).compute()


def chainrule_value_and_grad(case):
    import dask
    import chainrule
    X, y, w = data(case)
    vg = chainrule.value_and_grad(loss)

    def call():
        return dask.compute(*vg(w, X, y))      # building the graph is part of the time
    return call


def dask_by_hand(case):
    import dask
    X, y, w = data(case)

    def call():
        z = X @ w
        value = np.mean(np.logaddexp(0.0, z) - y * z)
        grad = X.T @ (1.0 / (1.0 + np.exp(-z)) - y) / case["n"]
        return dask.compute(value, grad)
    return call


IMPLS = [
    Impl("f: dask loss", dask_loss, kind="function", memory=True),
    Impl("chainrule", chainrule_value_and_grad, kind="chainrule", base="f: dask loss",
         memory=True),
    Impl("dask, gradient by hand", dask_by_hand, base="f: dask loss", memory=True),
]


def columns(case, row):
    return {"chunk": f"{case['chunk']:.0e} rows ({case['chunk'] * N_FEATURES * 8 / 1e6:.0f} MB)"}


def summary(cases, rows):
    """The targets: peak memory under 2 GB, value and gradient within 3x the loss alone."""
    lines = []
    for case in cases:
        got = {r.impl: r for r in rows if r.case == case["label"] and r.ok}
        cr_row, f_row = got.get("chainrule"), got.get("f: dask loss")
        if cr_row is None or f_row is None:
            continue
        ratio = cr_row.time_s / f_row.time_s
        text = (f"{case['label']}, chunks of {case['chunk']:.0e} rows: value and gradient "
                f"{h.fmt_time(cr_row.time_s)} = {ratio:.2f}x the loss alone "
                f"({h.fmt_time(f_row.time_s)}; target <= {TIME_TARGET:g}x: "
                f"{'met' if ratio <= TIME_TARGET else 'MISSED'})")
        if cr_row.peak_mb is not None:
            text += (f"; peak resident memory {cr_row.peak_mb:.0f} MB (target < "
                     f"{MEMORY_TARGET_MB:.0f} MB: "
                     f"{'met' if cr_row.peak_mb < MEMORY_TARGET_MB else 'MISSED'})")
        lines.append(text)
    return lines
