"""Every case of every derivative table under jit(backend="numba"), against the NumPy backend.

``sweep(indices)`` runs those cases of ``load_tables()`` (all of them by default): for each, one
program computing a forward (JVP) and a reverse (VJP) derivative is jitted on both backends
from fresh inputs, and the results compared. It returns one record per case: how it ran
(``numba``; ``numpy`` with the reason where the whole graph fell back; ``eager`` where ``jit``
could not stage it), the primitives that the compiled code computes by NumPy (per equation),
the worst difference, and what is wrong (empty when nothing is).

A result must equal the NumPy backend's to ``RTOL`` relative to each element, or to the case's
largest finite result: a derivative that cancels to rounding noise (``log_softmax``'s JVP along a
constant direction is 0 up to 1e-17) is compared at the scale of the case, since libm's and
NumPy's SIMD ``exp`` differ in the last bit. ``noise`` counts such results.

Numba compiles each program in a few tenths of a second, so the test runs the cases in two
worker processes (``run_parallel``); each compiles in memory (no on-disk cache) and with LLVM's
optimizations off (``NUMBA_OPT=0``: a fifth less compile time; the generated code, which is what
the sweep checks, is the same, and without fast-math flags LLVM's optimizations keep IEEE
results).
"""
import os
import re
import time

import numpy as np

RTOL = 1e-14
_CALLBACK = re.compile(r"# _cb\w*: (\w+) in NumPy \(([^;]+);")


def derivatives(c):
    """Forward (a JVP) and reverse (a VJP) derivatives of a table case, one program."""
    import chainrule as cr
    from chainrule.core import tree_map

    def both(*xs):
        out = c.f(*xs)
        u = tree_map(lambda o: np.ones_like(o) * 0.7, out)
        v = tuple(np.ones_like(x) * 0.3 for x in xs)
        return cr.jvp(c.f, tuple(xs), v)[1], cr.vjp(c.f, *xs)[1](u)
    return both


def fresh(c):
    return [np.array(a, copy=True) for a in c.args]


def compare(got, want):
    """(worst difference relative to the scale, results that are rounding noise, problems)."""
    import chainrule as cr
    g, _ = cr.tree_flatten(got)
    w, _ = cr.tree_flatten(want)
    if len(g) != len(w):
        return np.inf, 0, [f"{len(g)} results, want {len(w)}"]
    w = [np.asarray(x) for x in w]
    scale = max([np.max(np.abs(x), initial=0, where=np.isfinite(x)) for x in w], default=0.0)
    worst, noise, problems = 0.0, 0, []
    for k, (a, b) in enumerate(zip(g, w)):
        a = np.asarray(a)
        if a.shape != b.shape:
            problems.append(f"result {k}: shape {a.shape}, want {b.shape}")
            continue
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if not np.all(same | np.isfinite(b)):
            problems.append(f"result {k}: infinities or NaN differ")
            continue
        finite = np.isfinite(b) & ~same
        if not finite.any():
            continue
        diff = np.abs(a - b)[finite]
        own = diff / np.maximum(np.abs(b[finite]), np.finfo(float).tiny)
        rel = np.minimum(own, diff / scale if scale else np.inf)
        worst = max(worst, float(rel.max()))
        if rel.max() > RTOL:
            problems.append(f"result {k}: relative difference {rel.max():.2e}")
        elif own.max() > RTOL:
            noise += 1
    return worst, noise, problems


def run_case(c):
    """The record of one case (see the module docstring)."""
    import chainrule as cr
    f = derivatives(c)
    native = cr.jit(f, backend="numba")
    rec = {"name": c.name, "callbacks": [], "worst": 0.0, "noise": 0, "problems": [],
           "seconds": -time.process_time()}
    try:
        got = native(*fresh(c))
    except Exception as e:      # noqa: BLE001 -- any failure is reported with the case
        rec.update(ran="error", problems=[f"{type(e).__name__}: {str(e)[:200]}"])
        return rec
    info = native.cache_info()
    if info["fallbacks"]:
        rec["ran"] = "eager"
        return rec
    rec["ran"], rec["reason"] = info["backend"], info.get("backend_reason")
    if rec["ran"] == "numba":
        src = native.source(*fresh(c))
        rec["callbacks"] = sorted({m.group(1) for m in _CALLBACK.finditer(src)
                                   if m.group(2) == "no Numba translation"})
        want = cr.jit(f)(*fresh(c))
        rec["worst"], rec["noise"], rec["problems"] = compare(got, want)
    rec["seconds"] += time.process_time()      # CPU time: tracing, compiling, comparing
    return rec


_TABLES = []


def tables():
    """Every table case (loaded once per process)."""
    if not _TABLES:
        from gradcases import load_tables
        _TABLES.append(load_tables())
    return _TABLES[0]


def sweep(indices=None):
    """Records of the cases at ``indices`` of the tables (all when None), compiled in this
    process, in memory."""
    os.environ["CHAINRULE_CACHE_DIR"] = ""
    cases = tables()
    return [run_case(cases[k]) for k in (range(len(cases)) if indices is None else indices)]


def _worker_setup():
    os.environ["CHAINRULE_CACHE_DIR"] = ""
    os.environ["NUMBA_OPT"] = "0"
    from numba.core import config
    config.reload_config()


def run_parallel(indices, workers=2, chunk=12):
    """``sweep`` over ``indices`` in ``workers`` processes (started fresh: ``spawn``), in chunks
    handed out as workers finish, so that the slow cases do not pile up in one."""
    import concurrent.futures as cf
    import multiprocessing as mp
    parts = [indices[k:k + chunk] for k in range(0, len(indices), chunk)]
    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                initializer=_worker_setup) as pool:
        return [r for part in pool.map(sweep, parts) for r in part]
