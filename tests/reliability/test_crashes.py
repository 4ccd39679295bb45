"""Programs NumPy evaluates are differentiated in every mode, and misuse gets a named error
(issue #18, "Crashes to fix"). Derivatives are checked against finite differences, closed forms
and JAX-style conventions (the adjugate for det at singular matrices)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.scipy.linalg as csl
import chainrule.scipy.special as css
from chainrule.core.errors import ConcretizationError
from chainrule.tensor import tensor


def central(f, x, h=1e-6):
    x = np.asarray(x, float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


# -- Ellipsis ------------------------------------------------------------------------------------
def ellipsis_read(X):
    return np.sum(X[..., 2] ** 2) + np.sum(X[0, ...]) + np.sum(X[..., None, 1])


def ellipsis_write(X):
    Y = X * 1.0
    Y[..., 2] = 0.0
    Y[0, ...] *= 3.0
    return np.sum(Y ** 2)


@pytest.mark.parametrize("f", [ellipsis_read, ellipsis_write])
def test_ellipsis_indexing_in_every_mode(f):
    X = np.arange(6.0).reshape(2, 3) / 5.0
    g = central(f, X)
    np.testing.assert_allclose(cr.grad(f)(X), g, atol=1e-7)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(X), g, atol=1e-7)
    np.testing.assert_allclose(cr.jacfwd(f)(X), g, atol=1e-7)
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(np.stack([X, 2 * X]))[1],
                               central(f, 2 * X), atol=1e-6)
    assert cr.jit(f)(X) == pytest.approx(f(X))
    np.testing.assert_array_equal(cr.jit(lambda X: X[..., 2])(X), X[..., 2])
    with pytest.raises(IndexError, match="single ellipsis"):
        cr.grad(lambda X: np.sum(X[..., ...]))(X)


# -- x[idx] = v with a traced v under vmap(grad), jit(grad), jit(hessian) -------------------------
def written(x):
    y = np.zeros(3, like=x)
    y[1] = x[0] * x[2]
    y[np.array([0, 2])] = x[1:] ** 2
    return np.sum(y * x)


def test_setitem_of_traced_values_under_nested_transformations():
    x = np.array([0.5, 2.0, -1.0])
    g = central(written, x)
    np.testing.assert_allclose(cr.vmap(cr.grad(written))(np.stack([x, x]))[0], g, atol=1e-7)
    np.testing.assert_allclose(cr.jit(cr.grad(written))(x), g, atol=1e-7)
    H = cr.jit(cr.hessian(written))(x)
    h = 1e-6
    fd = np.stack([(cr.grad(written)(x + h * e) - cr.grad(written)(x - h * e)) / (2 * h)
                   for e in np.eye(3)])
    np.testing.assert_allclose(H, fd, atol=1e-6)
    np.testing.assert_allclose(H, H.T)


# -- sparse_jacobian(sparsity="local") where values do not depend on x ----------------------------
@pytest.mark.parametrize("f", [lambda x: np.minimum(x, 0.1) * 2.0,
                               lambda x: np.where(x > 0, 3.0, x),
                               lambda x: np.zeros(3) + 1.0 + 0.0 * x[0]])
def test_sparse_local_jacobian_with_constant_entries(f):
    x = np.array([0.5, 2.0, -1.0])
    J = cr.sparse_jacobian(f, x, sparsity="local")
    np.testing.assert_allclose(J.toarray(), cr.jacfwd(f)(x))


# -- det and slogdet at singular matrices -------------------------------------------------------
S = np.array([[1.0, 2.0], [2.0, 4.0]])
ADJ_S = np.array([[4.0, -2.0], [-2.0, 1.0]])     # the gradient of det: adj(S)^T


def test_det_gradient_at_singular_matrices_is_the_adjugate():
    np.testing.assert_allclose(cr.grad(np.linalg.det)(S), ADJ_S, atol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.grad(np.linalg.det))(S), ADJ_S, atol=1e-12)
    np.testing.assert_allclose(cr.jacfwd(np.linalg.det)(S), ADJ_S, atol=1e-12)
    np.testing.assert_allclose(cr.grad(np.linalg.det)(np.zeros((3, 3))), np.zeros((3, 3)))
    # rank 2 of 3: the gradient is the cofactor matrix, against finite differences (det is a
    # polynomial, so central differences are exact up to rounding)
    S3 = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    np.testing.assert_allclose(cr.grad(np.linalg.det)(S3), central(np.linalg.det, S3),
                               atol=1e-8)
    np.testing.assert_allclose(cr.vmap(cr.grad(np.linalg.det))(np.stack([S, 2 * S])),
                               [ADJ_S, 2 * ADJ_S], atol=1e-12)
    t = tensor(S, requires_grad=True)
    np.linalg.det(t).backward()
    np.testing.assert_allclose(t.grad.data, ADJ_S, atol=1e-12)


def test_det_hessian_and_taylor_at_singular_matrices():
    # det of 2x2 is ad - bc: its Hessian is constant
    want = np.zeros((2, 2, 2, 2))
    want[0, 0, 1, 1] = want[1, 1, 0, 0] = 1.0
    want[0, 1, 1, 0] = want[1, 0, 0, 1] = -1.0
    for A in (S, np.zeros((2, 2)), np.array([[2.0, 1.0], [0.5, 3.0]])):
        np.testing.assert_allclose(cr.hessian(np.linalg.det)(A), want, atol=1e-12)
        np.testing.assert_allclose(cr.jit(cr.hessian(np.linalg.det))(A), want, atol=1e-12)
    # det(S + t I) = t tr(S) + t**2 = 5 t + t**2
    np.testing.assert_allclose(cr.derivatives(lambda t: np.linalg.det(S + t * np.eye(2)), 0.0, 2),
                               [0.0, 5.0, 2.0], atol=1e-12)
    # a regular matrix: every order, against the characteristic polynomial
    A = np.random.default_rng(0).normal(size=(4, 4))
    coef = np.poly(-A)[::-1]         # det(A + t I) = sum coef_k t**k
    np.testing.assert_allclose(cr.derivatives(lambda t: np.linalg.det(A + t * np.eye(4)), 0.0, 4),
                               coef * [1, 1, 2, 6, 24], rtol=1e-10)
    # past second order at an exactly singular matrix too (tests/reliability/
    # test_det_higher_order.py: every order, closed forms and JAX)
    with np.errstate(all="ignore"):
        d3 = cr.derivatives(lambda t: np.linalg.det(S + t * np.eye(2)), 0.0, 3)
    np.testing.assert_allclose(d3, [0.0, 5.0, 2.0, 0.0], atol=1e-12)


def test_slogdet_at_singular_matrices_gives_what_jax_gives():
    with np.errstate(all="ignore"):
        g0 = cr.grad(lambda A: np.linalg.slogdet(A)[1])(np.zeros((2, 2)))
        g = cr.grad(lambda A: np.linalg.slogdet(A)[1])(S)
    assert np.all(np.isnan(g0))
    assert np.all(np.isinf(g))
    A = np.array([[2.0, 1.0], [0.5, 3.0]])
    np.testing.assert_allclose(cr.grad(lambda A: np.linalg.slogdet(A)[1])(A),
                               np.linalg.inv(A).T, rtol=1e-12)


def test_inv_and_solve_at_singular_matrices_raise_numpys_error():
    with pytest.raises(np.linalg.LinAlgError):
        cr.grad(lambda A: np.sum(np.linalg.inv(A)))(S)
    with pytest.raises(np.linalg.LinAlgError):
        cr.grad(lambda A: np.sum(np.linalg.solve(A, np.ones(2))))(S)


# -- writing a traced value into a plain NumPy buffer ---------------------------------------------
K = np.ones(3)


def buf_item(x):
    buf = K.copy()
    buf[-1] = x[0]
    return np.sum(buf)


def buf_item_add(x):
    buf = K.copy()
    buf[1] += x[0]
    return np.sum(buf)


def buf_slice(x):
    buf = K.copy()
    buf[0:2] = x[:2]
    return np.sum(buf)


def buf_imul(x):
    buf = K.copy()
    buf[0:2] *= x[0]
    return np.sum(buf)


def buf_add_at(x):
    buf = K.copy()
    np.add.at(buf, [0], x[0])
    return np.sum(buf)


def buf_out(x):
    buf = K.copy()
    np.multiply(x, x, out=buf)
    return np.sum(buf)


VMAP = cr.vmap


@pytest.mark.parametrize("f", [buf_item, buf_item_add, buf_slice, buf_imul, buf_add_at, buf_out])
@pytest.mark.parametrize("transform", [cr.grad, cr.jit, VMAP, cr.jacfwd, cr.hessian])
def test_writing_a_traced_value_into_a_numpy_buffer_names_the_fix(f, transform):
    x = np.array([0.5, 2.0, -1.0])
    arg = np.stack([x, x]) if transform is VMAP else x
    with pytest.raises(ConcretizationError, match=r"np.zeros_like|like=x"):
        transform(f)(arg)


# -- the Tensor API reaches chainrule.scipy ---------------------------------------------------------
def test_tensor_api_reaches_chainrule_scipy_functions():
    A = np.array([[0.5, 0.2], [0.0, 0.3]])
    cases = [(lambda a: np.sum(csl.expm(a)), A),
             (lambda a: np.sum(csl.solve_triangular(a, np.ones(2))), A + np.eye(2)),
             (lambda a: np.sum(css.polygamma(1, a)), np.array([1.5, 2.5])),
             (lambda a: css.logsumexp(a), np.array([0.1, 0.7]))]
    for f, a in cases:
        t = tensor(a, requires_grad=True)
        y = f(t)
        y.backward()
        np.testing.assert_allclose(float(y.data), f(a), rtol=1e-12)
        np.testing.assert_allclose(t.grad.data, cr.grad(f)(a), rtol=1e-10)
        np.testing.assert_allclose(t.grad.data, central(f, a), rtol=1e-6, atol=1e-8)


# -- sparse_hessian of a dense pattern -------------------------------------------------------------
def test_sparse_hessian_of_a_dense_pattern_falls_back_and_says_so():
    from chainrule.sparse import DensePatternWarning
    f = lambda x: np.sum(x) ** 2 + np.sum(x ** 3)      # noqa: E731  (coupling term: dense)
    x = np.linspace(0.1, 1.0, 60)
    with pytest.warns(DensePatternWarning, match="dense"):
        prep = cr.prepare_sparse_hessian(f, x)
    assert prep.info["dense_fallback"] and prep.ncolors == 60
    np.testing.assert_allclose(prep(x).toarray(), 2.0 + np.diag(6.0 * x), rtol=1e-12)
    # a sparse pattern is still colored
    g = lambda x: np.sum(x[1:] * x[:-1])                 # noqa: E731
    assert not cr.prepare_sparse_hessian(g, x).info["dense_fallback"]
