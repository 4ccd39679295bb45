"""Batching rules (vmap) of the primitives: every table case, vmapped over a batch of three
inputs, against a Python loop; and its forward derivative (the tangent rules' primitives)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import ConcretizationError, UnsupportedFunctionError
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


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_vmap_matches_loop(c, axis, no_fallback):
    xs = [_batch(a) for a in c.args]
    v = [np.random.default_rng(0).standard_normal(np.shape(a)) for a in c.args]
    f_jvp = lambda *a: cr.jvp(c.f, a, tuple(v))[1]  # noqa: E731
    for f in (c.f, f_jvp):
        want = [f(*[x[i] for x in xs]) for i in range(3)]
        want = [np.stack(ws) for ws in zip(*[tree_flatten(w)[0] for w in want])]
        try:
            got = cr.vmap(f, in_axes=axis)(*[np.moveaxis(x, 0, axis) for x in xs])
        except ConcretizationError:
            pytest.skip("needs values (sort, boolean masks, data-dependent indices)")
        except UnsupportedFunctionError as e:
            assert "item assignment" in str(e)
            pytest.skip("item assignment under vmap")
        _close(tree_flatten(got)[0], want, c.name)
