"""Value-dependent functions (sort, argsort, quantiles, interp, searchsorted, masks) are staged
and batched under vmap and jit, as JAX does, and agree with a Python loop and with finite
differences (issue #18)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

XP = np.array([0.0, 1.0, 2.0, 3.0])
FP = np.array([1.0, 3.0, 2.0, 0.0])
X = np.array([[2.9, 1.2, 2.2, 0.5], [0.2, 1.5, -1.0, 2.5], [3.5, 0.1, 0.7, 1.9]])

FUNCS = {
    "sort": lambda x: np.sort(x) * np.arange(1.0, 5.0),
    "argsort": lambda x: x[np.argsort(x)] ** 2,
    "median": np.median,
    "quantile": lambda x: np.quantile(x, [0.3, 0.9]),
    "percentile": lambda x: np.percentile(x, 70.0),
    "interp": lambda x: np.interp(x, XP, FP),
    "searchsorted": lambda x: cnp.take(XP, np.searchsorted(XP, np.minimum(x, 2.9))) * x,
    "where": lambda x: np.where(x > 1.0, x ** 2, -x),
    "masked_sum": lambda x: np.sum(np.where(x > 1.0, x, 0.0)),
    "max_of_sort": lambda x: np.sort(x)[-1] * x,
}


def loop(f, xs):
    return np.stack([f(x) for x in xs])


def fd_jacobian(f, x, h=1e-6):
    return np.stack([(np.asarray(f(x + h * e)) - np.asarray(f(x - h * e))) / (2 * h)
                     for e in np.eye(x.size)], axis=-1)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_vmap_and_jit_match_a_loop(name):
    f = FUNCS[name]
    want = loop(f, X)
    np.testing.assert_allclose(cr.vmap(f)(X), want, rtol=1e-13)
    np.testing.assert_allclose(cr.jit(cr.vmap(f))(X), want, rtol=1e-13)
    jf = cr.jit(f)
    np.testing.assert_allclose(loop(jf, X), want, rtol=1e-13)
    # staged, not guarded: new orderings reuse the compiled code
    assert jf.cache_info()["traces"] == 1


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_batched_jacobians_match_finite_differences(name):
    f = FUNCS[name]
    want = np.stack([fd_jacobian(f, x) for x in X])
    np.testing.assert_allclose(cr.vmap(cr.jacfwd(f))(X), want, atol=1e-6)
    np.testing.assert_allclose(cr.vmap(cr.jacrev(f))(X), want, atol=1e-6)
    np.testing.assert_allclose(cr.jit(cr.vmap(cr.jacrev(f)))(X), want, atol=1e-6)


def test_sort_along_an_axis_and_its_sparsity():
    A = X.copy()
    np.testing.assert_allclose(cr.jit(lambda a: np.sort(a, axis=0))(A), np.sort(A, axis=0))
    g = cr.grad(lambda a: np.sum(np.sort(a, axis=1) * np.arange(4.0)))(A)
    np.testing.assert_allclose(g, np.take_along_axis(np.tile(np.arange(4.0), (3, 1)),
                                                     np.argsort(np.argsort(A, axis=1), axis=1), 1))
    J = cr.sparse_jacobian(lambda x: np.sort(x) ** 2, X[0], sparsity="local")
    np.testing.assert_allclose(J.toarray(), cr.jacfwd(lambda x: np.sort(x) ** 2)(X[0]))
    assert J.nnz == 4


def test_taylor_through_a_staged_gather():
    f = lambda t: np.sum(np.sort(np.array([3.0, 1.0, 2.0]) * t) ** 3)   # noqa: E731
    d = cr.derivatives(f, 1.5, 3)
    np.testing.assert_allclose(d, [36 * 1.5 ** 3, 108 * 1.5 ** 2, 216 * 1.5, 216.0])
