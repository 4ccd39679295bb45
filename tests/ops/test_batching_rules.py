"""Batching rules (vmap) of the primitives: every table case, vmapped over a batch of three
inputs, against a Python loop; and its forward derivative (the tangent rules' primitives)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import ConcretizationError
from chainrule.core import tree_flatten

from chainrule.interpreters import batching

from gradcases import load_tables

CASES = load_tables(exclude=[__file__])
NO_RULE_EXPECTED = {"add_any"}     # the core's accumulation primitive


@pytest.fixture
def no_fallback(monkeypatch):
    """Fail if a primitive of these families falls back to the per-example loop."""
    loop = batching.BatchInterpreter._loop

    def strict(self, prim, vals, dims, params):
        assert prim.name in NO_RULE_EXPECTED, f"{prim.name} has no batching rule"
        return loop(self, prim, vals, dims, params)
    monkeypatch.setattr(batching.BatchInterpreter, "_loop", strict)


def _batch(a):
    a = np.asarray(a, dtype=float)
    return np.stack([a, a * 1.01, a * 0.98 + 0.001])


def _close(got, want, name):
    for g, w in zip(tree_flatten(got)[0], tree_flatten(want)[0]):
        np.testing.assert_allclose(np.asarray(g, float), np.asarray(w, float), rtol=1e-9,
                                   atol=1e-12, err_msg=name)


NEEDS_VALUES = {"bool_mask", "bool_mask_traced_value", "extract", "frexp", "nonzero"}


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_vmap_matches_loop(c, axis, no_fallback):
    xs = [_batch(a) for a in c.args]
    v = [np.random.default_rng(0).standard_normal(np.shape(a)) for a in c.args]
    f_jvp = lambda *a: cr.jvp(c.f, a, tuple(v))[1]  # noqa: E731
    for f in (c.f, f_jvp):
        want = [f(*[np.copy(x[i]) for x in xs]) for i in range(3)]   # f may write into x
        want = [np.stack(ws) for ws in zip(*[tree_flatten(w)[0] for w in want])]
        try:
            got = cr.vmap(f, in_axes=axis)(*[np.moveaxis(x, 0, axis) for x in xs])
        except ConcretizationError:
            # documented gap: these need the values of a batched array (a sort order, a
            # boolean mask, data-dependent indices), which differ from example to example
            assert c.name in NEEDS_VALUES, f"{c.name}: unexpected ConcretizationError"
            return
        assert c.name not in NEEDS_VALUES, f"{c.name} now batches: take it off NEEDS_VALUES"
        _close(tree_flatten(got)[0], want, c.name)
