"""Derivatives of x**n for natural n: products, exact against closed forms at negative bases."""
import math

import numpy as np
import pytest

import chainrule as cr

X = np.random.default_rng(5).standard_normal(64)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7])
def test_derivatives_of_powers_match_closed_forms(n):
    f = lambda x: x ** n  # noqa: E731
    g = cr.grad(lambda x: np.sum(f(x)))(X)
    assert np.allclose(g, n * X ** (n - 1), rtol=4e-16 * n, atol=0)
    for k in range(1, n + 2):       # the k-th derivative, up to one past the degree
        want = (math.perm(n, k) * X ** (n - k)) if k <= n else np.zeros_like(X)
        got = cr.derivative(f, k)(X)
        assert np.allclose(got, want, rtol=1e-14, atol=1e-14), k
        nested = lambda x: x ** n  # noqa: E731
        for _ in range(min(k, 3)):
            nested = cr.grad(nested)
        if k <= 3:
            assert np.isclose(nested(-1.3), math.perm(n, k) * (-1.3) ** (n - k), rtol=1e-14)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_low_power_derivatives_are_products(n):
    """Up to the fourth power, the derivative is built from products, not pow (NumPy's pow is
    about 30x slower per element for a negative base)."""
    graph = cr.make_graph(cr.grad(lambda x: np.sum(x ** n)))(X)
    names = [e.prim.name for e in graph.eqns]
    assert "pow" not in names and "mul" in names, names


@pytest.mark.parametrize("n", [3, 4, 6])
def test_power_derivatives_under_every_transformation(n):
    """The derivative's powers (integer_pow) batched, in Taylor mode and compiled."""
    x = X[:5]
    d2 = lambda x: n * (n - 1) * x ** (n - 2)  # noqa: E731
    assert np.allclose(cr.vmap(cr.grad(cr.grad(lambda t: t ** n)))(x), d2(x), rtol=1e-14)
    assert np.allclose(np.diag(cr.hessian(lambda x: np.sum(x ** n))(x)), d2(x), rtol=1e-14)
    # the Taylor series of the derivative n x**(n-1) along t: coefficients of (x + t)**(n-1)
    _, (c1, c2) = cr.jet(cr.grad(lambda t: np.sum(t ** n)), (x,), ((np.ones(5), np.zeros(5)),))
    assert np.allclose(c1, d2(x), rtol=1e-14)
    assert np.allclose(c2, n * (n - 1) * (n - 2) * x ** (n - 3), rtol=1e-14)
    compiled = cr.jit(cr.grad(cr.grad(lambda t: t ** n)))
    for t in (-1.3, np.float64(0.7)):
        assert np.isclose(compiled(t), d2(t), rtol=1e-14)
    assert np.allclose(cr.jit(cr.vmap(cr.grad(cr.grad(lambda t: t ** n))))(x), d2(x), rtol=1e-14)
