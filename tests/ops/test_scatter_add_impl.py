"""The implementation of scatter_add (the transpose of indexing): advanced indices into a zero
float64 operand are summed with np.bincount, which must give exactly np.add.at's result."""
import numpy as np
import pytest

from chainrule.ops.shape import _scatter_add_impl

RNG = np.random.default_rng(0)
CASES = [((5, 6), (np.array([0, 2, 2, 4]),), (4, 6)),
         ((5, 6), (slice(None), np.array([[1, 1], [5, 0]])), (5, 2, 2)),
         ((3, 4, 5), (np.array([0, 2, 0]), slice(None), np.array([1, 1, 4])), (3, 4)),
         ((8, 3, 36), (slice(None), slice(None), RNG.integers(0, 36, 144)), (8, 3, 144)),
         ((4, 5), (np.array([-1, -1, 0]),), (1, 5)),
         ((4, 5), (np.array([True, False, True, True]),), (3, 5))]


def _add_at(operand, updates, idx):
    out = np.array(operand, copy=True)
    np.add.at(out, idx, updates)
    return out


@pytest.mark.parametrize("shape, idx, ushape", CASES)
@pytest.mark.parametrize("operand", ["zeros", "random", "float32"])
def test_scatter_add_equals_add_at_bitwise(shape, idx, ushape, operand):
    op = {"zeros": np.zeros(shape), "random": RNG.standard_normal(shape),
          "float32": np.zeros(shape, np.float32)}[operand]
    up = RNG.standard_normal(ushape).astype(op.dtype)
    got, want = _scatter_add_impl(op, up, idx=idx), _add_at(op, up, idx)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
