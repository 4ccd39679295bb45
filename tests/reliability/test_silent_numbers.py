"""No silent wrong number (issue #18): Taylor mode of powers at a zero base, NumPy's own remainder
values, NaN in quantiles, keepdims of 0-d medians. Each checked against NumPy, closed forms and
the other modes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.tensor import tensor


def nested_derivatives(f, x, n):
    """``[f(x), f'(x), ..., f^(n)(x)]`` by nested forward mode (the reference for Taylor)."""
    out, g = [], f
    for _ in range(n + 1):
        out.append(float(g(x)))
        g = (lambda h: lambda t: cr.jvp(h, (t,), (1.0,))[1])(g)
    return out


@pytest.mark.parametrize("f, x0, n, expected", [
    (lambda x: np.sum(x ** np.arange(4.0)), 0.0, 3, [1.0, 1.0, 2.0, 6.0]),
    (lambda x: np.sum(x ** np.array([3.0])), 0.0, 3, [0.0, 0.0, 0.0, 6.0]),
    (lambda x: (x + x ** 2) ** 3.0, 0.0, 4, [0.0, 0.0, 0.0, 6.0, 72.0]),
    (lambda x: np.sum((np.array([0.0, 1.0]) * x) ** np.array([2.5, 3.0])), 0.0, 3,
     [0.0, 0.0, 0.0, 6.0]),
])
def test_taylor_of_powers_at_a_zero_base(f, x0, n, expected):
    np.testing.assert_allclose(cr.derivatives(f, x0, n), expected, atol=1e-14)
    np.testing.assert_allclose(cr.jit(lambda t: cr.derivatives(f, t, n))(x0), expected,
                               atol=1e-14)
    np.testing.assert_allclose(nested_derivatives(f, x0, n), expected, atol=1e-14)


def test_taylor_of_a_non_integer_power_at_zero_is_infinite_past_the_exponent():
    with np.errstate(all="ignore"):
        d = cr.derivatives(lambda x: x ** 2.5, 0.0, 4)
    # x**2.5: 0, 0, 0 (2.5 * 1.5 x**0.5), then +inf and -inf one-sided from the right
    assert d[:3] == [0.0, 0.0, 0.0] and d[3] == np.inf and d[4] == -np.inf
    x = 1.3
    closed = [x ** 2.5, 2.5 * x ** 1.5, 3.75 * x ** 0.5, 1.875 * x ** -0.5,
              -0.9375 * x ** -1.5]
    np.testing.assert_allclose(cr.derivatives(lambda x: x ** 2.5, x, 4), closed, rtol=1e-13)
    np.testing.assert_allclose(
        cr.derivatives(lambda x: np.sum(x ** np.array([2.5, 0.5])), x, 3),
        np.array(closed[:4]) + [x ** 0.5, 0.5 * x ** -0.5, -0.25 * x ** -1.5,
                                0.375 * x ** -2.5], rtol=1e-13)


REMAINDERS = [np.mod, np.remainder, np.fmod, lambda a, b: a % b, lambda a, b: np.divmod(a, b)[1]]


@pytest.mark.parametrize("rem", REMAINDERS)
def test_remainder_values_are_numpys(rem):
    x, y = 1e15 + 0.5, 2 * np.pi
    want = rem(x, y)                    # 2.6486..., where x - floor(x / y) * y gives 2.625
    assert cr.jit(lambda a: rem(a, y))(x) == want
    value, g = cr.value_and_grad(lambda a: rem(a, y))(x)
    assert value == want and g == 1.0
    assert cr.derivatives(lambda a: rem(a, y), x, 2)[0] == want
    assert float(rem(tensor(np.array(x), requires_grad=True), y).data) == want
    xs = np.array([-7.5, -1e12 - 0.25, 3.3, 1e16 + 2.0])
    np.testing.assert_array_equal(cr.vmap(lambda a: rem(a, y))(xs), rem(xs, y))


@pytest.mark.parametrize("rem, quotient", [(np.mod, np.floor), (np.fmod, np.trunc)])
def test_remainder_derivatives_match_finite_differences(rem, quotient):
    for x, y in [(-7.0, 2.0), (7.3, -2.1), (5.5, 1.7)]:
        gx, gy = cr.grad(lambda a, b: rem(a, b), argnums=(0, 1))(x, y)
        h = 1e-6
        assert gx == 1.0
        np.testing.assert_allclose(gy, (rem(x, y + h) - rem(x, y - h)) / (2 * h), rtol=1e-6)
        assert gy == -quotient(x / y)


QUANTILES = [np.median, lambda x: np.percentile(x, 30.0), lambda x: np.quantile(x, [0.2, 0.7]),
             lambda x: np.median(x[:3])]


@pytest.mark.parametrize("f", QUANTILES)
def test_quantiles_of_a_slice_holding_nan_are_nan(f):
    x = np.array([1.0, np.nan, 2.0, 3.0])
    assert np.all(np.isnan(f(x)))
    assert np.all(np.isnan(cr.jit(f)(x)))
    assert np.all(np.isnan(cr.value_and_grad(lambda x: np.sum(f(x)))(x)[0]))
    assert np.all(np.isnan(cr.jvp(f, (x,), (np.ones(4),))[0]))

    X = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, np.nan, 3.0, 5.0]])
    np.testing.assert_array_equal(cr.jit(lambda X: np.median(X, axis=1))(X),
                                  np.median(X, axis=1))
    # and with no NaN, the value and gradient are NumPy's and finite differences'
    x = np.array([0.3, 2.0, -1.0, 0.7])
    np.testing.assert_allclose(cr.jit(f)(x), f(x))


@pytest.mark.parametrize("f", [np.median, lambda a, keepdims: np.quantile(a, 0.3, keepdims=keepdims),
                               lambda a, keepdims: np.percentile(a, 40, keepdims=keepdims)])
def test_keepdims_of_0d_and_nd(f):
    for a in (np.array(2.0), np.arange(6.0).reshape(2, 3)):
        want = np.shape(f(a, keepdims=True))
        assert np.shape(cr.jit(lambda a: f(a, keepdims=True))(a)) == want
        assert np.shape(cr.grad(lambda a: np.sum(f(a, keepdims=True)))(a)) == a.shape
        t = tensor(a, requires_grad=True)
        y = f(t, keepdims=True)
        assert y.shape == want
        y.sum().backward()
        assert t.grad.shape == a.shape
