"""add, sub, mul and div on float64 scalars take NumPy's scalar arithmetic instead of the ufunc:
the same bits, the same type, the same floating-point error handling; everything else still
binds the primitive."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import arithmetic as ar

OPS = [(ar.add, np.add), (ar.sub, np.subtract), (ar.mul, np.multiply), (ar.div, np.true_divide)]
VALUES = [0.3, -1.7e-300, 2.5e300, 0.0, -0.0, np.inf, np.nan, 1 / 3]


@pytest.mark.parametrize("op, ufunc", OPS)
def test_float64_scalars_give_the_ufuncs_bits_and_type(op, ufunc):
    with np.errstate(all="ignore"):
        for a in VALUES:
            for b in VALUES:
                for x, y in [(np.float64(a), np.float64(b)), (np.float64(a), b),
                             (a, np.float64(b))]:
                    got, want = op(x, y), ufunc(x, y)
                    assert type(got) is type(want) is np.float64
                    assert np.array_equal(np.float64(got).view(np.int64),
                                          np.float64(want).view(np.int64)) or (
                        np.isnan(got) and np.isnan(want)), (op.__name__, x, y, got, want)


@pytest.mark.parametrize("op, ufunc", OPS)
def test_other_operands_keep_the_ufuncs_result(op, ufunc):
    """Python floats alone, 0-d arrays, float32 scalars and integers go through the primitive:
    a float64 scalar (NumPy's type), not a Python float."""
    for x, y in [(0.3, 0.7), (np.array(0.3), 0.7), (np.float32(0.3), np.float64(0.7)),
                 (np.float64(0.3), 2), (np.float32(0.5), 0.25)]:
        got, want = op(x, y), ufunc(x, y)
        assert type(got) is type(want)
        assert got == want


def test_float64_scalars_follow_errstate():
    big = np.float64(1e308)
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            ar.mul(big, 10.0)
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            ar.div(np.float64(1.0), np.float64(0.0))
    with np.errstate(all="ignore"):
        assert ar.div(np.float64(1.0), 0.0) == np.inf


def test_scalar_loop_gradient_matches_closed_form_in_every_mode():
    """W1's loop on float64 scalars: reverse, forward and the Tensor API agree with the product
    of the step derivatives."""
    def loop(x):
        for _ in range(30):
            x = np.sin(x) * 0.999 + 0.01 * x * x
        return x
    x, d = 0.3, 1.0
    for _ in range(30):
        d *= np.cos(x) * 0.999 + 0.02 * x
        x = np.sin(x) * 0.999 + 0.01 * x * x
    assert abs(cr.grad(loop)(np.float64(0.3)) - d) < 1e-14
    assert abs(cr.jacfwd(loop)(np.float64(0.3)) - d) < 1e-14
    t = cr.tensor(0.3, requires_grad=True)
    loop(t).backward()
    assert abs(t.grad.item() - d) < 1e-14
