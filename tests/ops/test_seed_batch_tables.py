"""Every derivative table against itself: Jacobians swept with one-hot seed batches (terms,
interpreters/batching.py) equal those swept with dense identity seeds, in both modes, for every
floating array argument of every case."""
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import tree_flatten
from chainrule.interpreters import batching

from gradcases import ids, load_tables

CASES = load_tables(exclude=[__file__])


def _jacobians(c, argnum, terms, monkeypatch):
    monkeypatch.setattr(batching, "MIN_SEED_BATCH", 2 if terms else 1 << 62)
    monkeypatch.setattr(batching, "DENSE_SEEDS_BELOW", 0 if terms else 1 << 62)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return [np.asarray(leaf) for jac in (cr.jacfwd, cr.jacrev)
                for leaf in tree_flatten(jac(c.f, argnums=argnum)(*c.args))[0]]


@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_seed_terms_equal_dense_seeds(c, monkeypatch):
    for argnum, a in enumerate(c.args):
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "fc" or a.size < 2:
            continue
        got = _jacobians(c, argnum, True, monkeypatch)
        want = _jacobians(c, argnum, False, monkeypatch)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, equal_nan=True)
