"""The fast forms of pair gathers, their scatter transposes and short-axis sums
(core/indexing.py): the same numbers as NumPy's general forms, eagerly and under jit."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.core import indexing
from chainrule.ops import reductions, shape


def _ref_scatter(operand, idx, updates):
    out = operand.copy()
    np.add.at(out, idx, updates)
    return out


@pytest.mark.parametrize("shp,axis,size", [((64, 3), 0, 2016), ((5, 40, 2), 1, 300),
                                             ((30,), 0, 100), ((4, 6), 1, 50)])
def test_gather_and_scatter_match_numpy(shp, axis, size):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shp)
    i = rng.integers(-shp[axis], shp[axis], size)      # negative and repeated indices
    idx = (slice(None),) * axis + (i,)
    assert indexing.take_axis(idx, len(shp)) == axis
    np.testing.assert_array_equal(shape.getitem_p.impl(x, idx=idx), x[idx])
    u = rng.standard_normal(x[idx].shape)
    got = shape.scatter_add_p.impl(np.zeros(shp), u, idx=idx)
    np.testing.assert_array_equal(got, _ref_scatter(np.zeros(shp), idx, u))
    base = rng.standard_normal(shp)
    np.testing.assert_allclose(shape.scatter_add_p.impl(base, u, idx=idx),
                               _ref_scatter(base, idx, u), rtol=1e-14, atol=1e-13)


def test_scatter_out_of_range_raises_and_sparse_falls_back():
    i = np.array([0, 5])
    with pytest.raises(IndexError):
        shape.scatter_add_p.impl(np.zeros((3, 2)), np.ones((2, 2)), idx=(i,))
    assert indexing.scatter_positions((np.array([1]),), (100, 2), (1, 2)) is None   # sparse
    assert indexing.take_axis((np.array([[0, 1]]),), 2) is None           # 2-D index array
    assert indexing.take_axis((np.array([True, False]),), 1) is None      # a mask
    assert indexing.take_axis((np.array([0]), 1), 2) is None              # an int after it


def test_changed_index_array_is_not_served_stale_positions():
    i = np.array([0, 1, 1, 2])
    u = np.arange(8.0).reshape(4, 2)
    first = shape.scatter_add_p.impl(np.zeros((3, 2)), u, idx=(i,))
    i[:] = [2, 2, 0, 0]
    second = shape.scatter_add_p.impl(np.zeros((3, 2)), u, idx=(i,))
    np.testing.assert_array_equal(second, _ref_scatter(np.zeros((3, 2)), (i,), u))
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("shp", [(7, 2), (5, 3), (4, 6, 4), (3, 5)])
def test_short_axis_sum_is_numpys(shp):
    x = np.random.default_rng(1).standard_normal(shp)
    got = reductions.reduce_sum_p.impl(x, axes=(x.ndim - 1,))
    np.testing.assert_array_equal(got, np.sum(x, axis=-1))


def _pair_energy(x):
    n = x.shape[0]
    i, j = np.triu_indices(n, 1)
    d = x[i] - x[j]
    r2 = np.sum(d * d, axis=1)
    return np.sum(1.0 / r2**3 - np.exp(-r2))


def test_pair_code_derivatives_eager_jit_and_differences():
    x = np.random.default_rng(2).standard_normal((6, 3)) * 2
    p = np.random.default_rng(3).standard_normal((6, 3))
    g = cr.grad(_pair_energy)(x)
    hvp = cr.jvp(cr.grad(_pair_energy), (x,), (p,))[1]
    jg = cr.jit(cr.grad(_pair_energy))
    jh = cr.jit(lambda x, p: cr.jvp(cr.grad(_pair_energy), (x,), (p,))[1])
    np.testing.assert_allclose(jg(x), g, rtol=1e-13)
    np.testing.assert_allclose(jh(x, p), hvp, rtol=1e-12)
    eps = 1e-6
    fd = (cr.grad(_pair_energy)(x + eps * p) - cr.grad(_pair_energy)(x - eps * p)) / (2 * eps)
    np.testing.assert_allclose(hvp, fd, rtol=1e-6, atol=1e-8)
    src = jh.source(x, p)
    assert "np.take(" in src and "np.bincount(" in src and "np.add.at" not in src
