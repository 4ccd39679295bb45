"""The derivative tables under jit(backend="numba"): forward and reverse derivatives of a subset
of every GRAD_CASES table, compiled by Numba, equal the NumPy backend's (the reference) to
1e-14 relative (to each result's largest element, where small elements cancel). Numba compiles each program in a second or so, so the subset is chosen to
cover every primitive that Numba translates (greedily, cheapest programs first; primitives
without a translation call NumPy and are exercised through the same mechanism)."""
import numpy as np

import chainrule as cr
from chainrule.core import tree_map
from chainrule.interpreters import numba_codegen as nc
from chainrule.interpreters.codegen import optimize

from gradcases import load_tables


def _derivatives(c):
    """Forward (a JVP) and reverse (a VJP) derivatives of a table case, one program."""
    def both(*xs):
        out = c.f(*xs)
        u = tree_map(lambda o: np.ones_like(o) * 0.7, out)
        v = tuple(np.ones_like(x) * 0.3 for x in xs)
        return cr.jvp(c.f, tuple(xs), v)[1], cr.vjp(c.f, *xs)[1](u)
    return both


def _equations(graph, acc):
    for e in graph.eqns:
        acc.append(e)
        for sub in nc._subgraphs(e):
            _equations(sub, acc)
    return acc


def _fresh(c):
    return [np.array(a, copy=True) for a in c.args]


def _subset():
    """(chosen cases, every primitive Numba translates in the tables)."""
    info = {}
    for c in load_tables():
        try:
            graph = cr.make_graph(_derivatives(c))(*_fresh(c))
            nc.check_supported(graph)
        except (cr.ConcretizationError, nc.Unsupported):
            continue
        eqns = _equations(optimize(graph)[0], [])
        native = {e.prim.name for e in eqns if nc.untranslated(e) is None}
        calls = sum(1 for e in eqns if nc.untranslated(e) is not None)
        info[c.name] = (c, native, 1 + len(eqns) + 200 * calls)
    everything = set().union(*(v[1] for v in info.values()))
    chosen, covered = [], set()
    while covered != everything:
        best = max(info, key=lambda n: len(info[n][1] - covered) / info[n][2])
        chosen.append(info[best][0])
        covered |= info[best][1]
    return chosen, everything


def test_numba_backend_equals_numpy_backend_on_the_derivative_tables():
    chosen, translated = _subset()
    # the primitives of the arithmetic, elementwise, reduction, shape and indexing families
    assert {"add", "mul", "sin", "reduce_sum", "reduce_max", "getitem", "scatter_add",
            "dot_general", "select", "safe_mul", "transpose", "concatenate"} <= translated
    failures = []
    for c in chosen:
        f = _derivatives(c)
        native = cr.jit(f, backend="numba")
        got = native(*_fresh(c))
        info = native.cache_info()
        if info["backend"] != "numba":
            failures.append(f"{c.name}: ran NumPy ({info['backend_reason']})")
            continue
        want = cr.jit(f)(*_fresh(c))
        for g, w in zip(cr.tree_flatten(got)[0], cr.tree_flatten(want)[0]):
            scale = 1e-14 * np.max(np.abs(w), initial=0, where=np.isfinite(w))
            if np.shape(g) != np.shape(w) or not np.allclose(g, w, rtol=1e-14, atol=scale,
                                                             equal_nan=True):
                failures.append(f"{c.name}: values differ")
    assert not failures, "\n".join(failures)
