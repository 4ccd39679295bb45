"""NaN-safe derivatives: a zero cotangent (the branch np.where did not take) contributes 0, not
0 * inf = NaN, in forward and reverse mode and at second order; finite differences still agree
wherever the function is differentiable."""
import numpy as np
import pytest
import scipy.special as ss

import chainrule as cr
from chainrule.ops import special

from gradcases import case, ids

# name -> (function whose taken branch is smooth, the point where the other branch is singular)
MASKED = {
    "sqrt": (lambda x: np.where(x > 0, np.sqrt(x), 0.0), 0.0),
    "log": (lambda x: np.where(x > 0, np.log(x), 0.0), 0.0),
    "log1p": (lambda x: np.where(x > -1, np.log1p(x), 0.0), -1.0),
    "reciprocal": (lambda x: np.where(x != 0, 1.0 / x, 0.0), 0.0),
    "div": (lambda x: np.where(x != 0, np.sin(x) / x, 1.0), 0.0),
    "pow": (lambda x: np.where(x > 0, x ** 1.5, 0.0), 0.0),
    "arcsin": (lambda x: np.where(np.abs(x) < 1, np.arcsin(x), 0.0), 1.0),
    "arccos": (lambda x: np.where(np.abs(x) < 1, np.arccos(x), 0.0), -1.0),
    "arctanh": (lambda x: np.where(np.abs(x) < 1, np.arctanh(x), 0.0), 1.0),
    "cbrt": (lambda x: np.where(x != 0, np.cbrt(x), 0.0), 0.0),
    "logit": (lambda x: np.where(x > 0, ss.logit(x), 0.0), 0.0),
}


@pytest.mark.parametrize("name", sorted(MASKED))
def test_masked_singularity_has_zero_gradient(name):
    f, x0 = MASKED[name]
    assert cr.grad(f)(x0) == 0.0
    assert cr.grad(cr.grad(f))(x0) == 0.0
    assert cr.jvp(f, (x0,), (1.0,))[1] == 0.0
    x = np.array([x0, x0])
    assert np.all(cr.jacrev(lambda x: f(x))(x) == 0)
    assert np.all(cr.jacfwd(lambda x: f(x))(x) == 0)
    assert np.all(cr.hessian(lambda x: np.sum(f(x)))(x) == 0)


def test_vector_norm_subgradient_at_zero():
    f = lambda x: special.vector_norm(x, axes=(0,))  # noqa: E731
    assert np.all(cr.grad(f)(np.zeros(3)) == 0)
    assert np.all(np.isfinite(cr.hessian(f)(np.zeros(3))))
    assert np.all(cr.jvp(f, (np.zeros(3),), (np.ones(3),))[1] == 0)
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(cr.grad(f)(x), x / 5.0)


def test_std_and_hypot_of_constants():
    assert np.all(cr.grad(lambda x: np.std(x))(np.ones(4)) == 0)
    assert cr.grad(lambda x: np.hypot(x, 0.0))(0.0) == 0.0
    assert cr.grad(lambda x: np.arctan2(x, 0.0))(0.0) == 0.0


def test_logsumexp_with_minus_inf_entries():
    from chainrule.scipy.special import logsumexp, softmax
    x = np.array([0.5, -np.inf, 1.0])
    g = cr.grad(logsumexp)(x)
    np.testing.assert_allclose(g, softmax(x))
    assert g[1] == 0.0
    assert np.all(cr.grad(logsumexp)(np.full(3, -np.inf)) == 0)
    h = cr.hessian(logsumexp)(x)
    assert np.all(np.isfinite(h))
    assert cr.grad(lambda x: np.logaddexp(x, -np.inf))(1.0) == 1.0


def test_xlogy_at_zero():
    assert cr.grad(lambda y: ss.xlogy(0.0, y))(0.0) == 0.0
    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(ss.xlogy(x, x)))(x), np.log(x) + 1)


def test_nonzero_cotangent_still_gives_infinity():
    # zero-safety does not hide genuine singularities
    assert cr.grad(np.sqrt)(0.0) == np.inf


# finite differences agree where the functions are differentiable
GRAD_CASES = [
    case("masked_" + name, f, np.array([0.3, 0.8, 0.6])) for name, (f, _) in sorted(MASKED.items())
] + [
    case("vector_norm", lambda x: special.vector_norm(x, axes=(1,)), np.array([[0.3, -1.0],
                                                                               [2.0, 0.5]])),
    case("safe_mul_chain", lambda x: np.where(x > 0, np.sqrt(np.sqrt(x)), x), np.array([0.4, 2.0])),
]


@pytest.mark.parametrize("c", GRAD_CASES, ids=ids(GRAD_CASES))
def test_grads(c):
    c.check()
