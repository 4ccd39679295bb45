"""Reductions and cumulative functions: axis (None, int, negative, tuple), keepdims, dtype;
products with zeros in the input (exact at second order); ties of max/min."""
import numpy as np
import pytest

import chainrule as cr

from gradcases import case, ids, rand

X = rand(2, 3, 4)
AXES = [None, 0, -1, (0, 2), (-1, -2)]
WITH_ZEROS = np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0], [0.7, -1.1, 0.4]])

REDUCERS = {
    "sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min,
    "amax": np.amax, "amin": np.amin, "var": np.var, "std": np.std, "ptp": np.ptp,
    "nansum": np.nansum, "nanmean": np.nanmean, "nanmax": np.nanmax, "nanmin": np.nanmin,
    "nanprod": np.nanprod,
}


def _reduction_cases():
    for name, f in REDUCERS.items():
        for axis in AXES:
            for keepdims in (False, True):
                yield case(f"{name}(axis={axis},keepdims={keepdims})",
                           lambda x, f=f, a=axis, k=keepdims: f(x, axis=a, keepdims=k), X)


def _scan_cases():
    for name, f in {"cumsum": np.cumsum, "cumprod": np.cumprod, "nancumsum": np.nancumsum,
                    "nancumprod": np.nancumprod}.items():
        for axis in (None, 0, -1, 1):
            yield case(f"{name}(axis={axis})", lambda x, f=f, a=axis: f(x, axis=a), X)


GRAD_CASES = list(_reduction_cases()) + list(_scan_cases()) + [
    case("prod_zeros_all", np.prod, WITH_ZEROS),
    case("prod_zeros_axis0", lambda x: np.prod(x, axis=0), WITH_ZEROS),
    case("prod_zeros_axis1", lambda x: np.prod(x, axis=1), WITH_ZEROS),
    case("cumprod_zeros", lambda x: np.cumprod(x, axis=1), WITH_ZEROS),
    case("cumprod_long", lambda x: np.cumprod(x), rand(11, lo=0.5, hi=1.5)),
    case("prod_method", lambda x: x.prod(axis=1), WITH_ZEROS),
    case("sum_dtype", lambda x: np.sum(x, axis=1, dtype=np.float64), X),
    case("sum_initial", lambda x: np.sum(x, axis=0, initial=2.0), X),
    case("max_initial", lambda x: np.max(x, axis=0, initial=0.3), X),
    case("mean_dtype", lambda x: np.mean(x, axis=(0, 1), dtype=np.float64), X),
    case("var_ddof", lambda x: np.var(x, axis=1, ddof=1), X),
    case("std_ddof", lambda x: np.std(x, axis=(0, 2), ddof=1, keepdims=True), X),
    case("var_mean_kw", lambda x: np.var(x, axis=0, mean=np.mean(x, axis=0, keepdims=True)), X),
    case("average", lambda x: np.average(x, axis=1), X),
    case("average_weights_1d", lambda x: np.average(x, axis=1, weights=x[0, :, 0] ** 2 + 1), X),
    case("average_weights_full", lambda x: np.average(x, weights=np.exp(x)), X),
    case("average_returned", lambda x: np.average(x, axis=1, weights=x[0] ** 2 + 1,
                                                  returned=True)[0], X[0]),
    case("median", lambda x: np.median(x, axis=1), X),
    case("median_all", np.median, rand(7)),
    case("quantile", lambda x: np.quantile(x, [0.2, 0.75], axis=-1), X),
    case("percentile", lambda x: np.percentile(x, 30.0, axis=0, keepdims=True), X),
    case("methods", lambda x: x.sum(0) * x.mean(1).sum() + x.max(axis=2).sum() + x.std(), X),
    case("cumsum_method", lambda x: x.cumsum(axis=1), X),
]


@pytest.mark.parametrize("c", GRAD_CASES, ids=ids(GRAD_CASES))
def test_grads(c):
    c.check()


def test_prod_with_zeros_exact():
    x = np.array([2.0, 0.0, 3.0])
    np.testing.assert_array_equal(cr.grad(np.prod)(x), [0.0, 6.0, 0.0])
    h = cr.hessian(np.prod)(x)
    np.testing.assert_array_equal(h, [[0, 3, 0], [3, 0, 2], [0, 2, 0]])
    x = np.array([0.0, 0.0, 3.0])
    np.testing.assert_array_equal(cr.grad(np.prod)(x), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(cr.hessian(np.prod)(x), [[0, 3, 0], [3, 0, 0], [0, 0, 0]])


def test_max_ties_share_equally():
    x = np.array([1.0, 3.0, 3.0, 0.5])
    np.testing.assert_allclose(cr.grad(np.max)(x), [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(cr.jvp(np.max, (x,), (np.ones(4),))[1], 1.0)
    np.testing.assert_allclose(cr.grad(lambda x: np.min(x, axis=0).sum())(
        np.array([[1.0, 2.0], [1.0, 0.0]])), [[0.5, 0], [0.5, 1]])


def test_argmax_argsort_are_plain():
    def f(x):
        i = np.argmax(x)
        j = np.argmin(x, axis=0)
        k = np.argsort(x)
        assert not isinstance(i, cr.core.Tracer) and not isinstance(k, cr.core.Tracer)
        return x[i] + x[j] + x[k[0]]
    x = np.array([0.3, 2.0, -1.0])
    np.testing.assert_allclose(cr.grad(f)(x), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(cr.grad(lambda x: x[np.argmax(x, keepdims=True)].sum())(x),
                               [0, 1, 0])


def test_all_any_count_nonzero():
    def f(x):
        assert bool(np.all(x > -5)) and bool(np.any(x > 1.5, axis=0)) is True
        assert np.count_nonzero(x > 0) == 2
        return np.sum(x)
    cr.grad(f)(np.array([0.3, 2.0, -1.0]))
