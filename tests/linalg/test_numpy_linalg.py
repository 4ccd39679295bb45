"""numpy.linalg on traced arrays: every function swept through check_grads (forward and
reverse, to second order), plus closed forms of classic derivatives."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.testing import check_grads

rng = np.random.default_rng(0)


def well_conditioned(*shape):
    n = shape[-1]
    return rng.standard_normal(shape) + 3.0 * np.eye(n)


def spd(*shape):
    x = rng.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def symmetric_distinct(n):
    """A symmetric matrix with well-separated eigenvalues."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.arange(1.0, n + 1)) @ q.T


A3 = well_conditioned(3, 3)
A23 = well_conditioned(2, 3, 3)
S3 = spd(3, 3)
S23 = spd(2, 3, 3)
E3 = symmetric_distinct(3)
T43 = rng.standard_normal((4, 3))
W34 = rng.standard_normal((3, 4))
B32 = rng.standard_normal((3, 2))
V3 = rng.standard_normal(3)
V4 = rng.standard_normal(4)

la = np.linalg

CASES = [
    ("solve", lambda a, b: la.solve(a, b), (A3, B32)),
    ("solve vector", lambda a, b: la.solve(a, b), (A3, V3)),
    ("solve stack", lambda a, b: la.solve(a, b), (A23, rng.standard_normal((2, 3, 2)))),
    ("solve broadcast b", lambda a, b: la.solve(a, b), (A23, B32)),
    ("inv", lambda a: la.inv(a), (A3,)),
    ("inv stack", lambda a: la.inv(a), (A23,)),
    ("det", lambda a: la.det(a), (A3,)),
    ("det stack", lambda a: la.det(a), (A23,)),
    ("slogdet", lambda a: la.slogdet(a).logabsdet, (A23,)),
    ("cholesky", lambda a: la.cholesky(a), (S3,)),
    ("cholesky upper", lambda a: la.cholesky(a, upper=True), (S23,)),
    ("qr tall", lambda a: tuple(la.qr(a)), (T43,)),
    ("qr wide", lambda a: tuple(la.qr(a)), (W34,)),
    ("qr r", lambda a: la.qr(a, mode="r"), (T43,)),
    ("eigvalsh", lambda a: la.eigvalsh(a), (E3,)),
    ("eigvalsh upper", lambda a: la.eigvalsh(a, UPLO="U"), (E3,)),
    # eigenvectors: sign-invariant functions of them
    ("eigh", lambda a: (la.eigh(a)[0], la.eigh(a)[1] ** 2), (E3,)),
    ("eigh reconstruct", lambda a: (lambda w, v: (v * w) @ v.T)(*la.eigh(a)), (E3,)),
    ("svd values", lambda a: la.svd(a, compute_uv=False), (T43,)),
    ("svdvals wide", lambda a: la.svdvals(a), (W34,)),
    ("svd vectors", lambda a: [x ** 2 for x in la.svd(a, full_matrices=False)], (T43,)),
    ("svd vectors wide", lambda a: [x ** 2 for x in la.svd(a, full_matrices=False)], (W34,)),
    ("svd u vh", lambda a: (lambda u, s, vh: u @ vh)(*la.svd(a, full_matrices=False)), (T43,)),
    ("svd square", lambda a: [x ** 2 for x in la.svd(a)], (A3,)),
    ("pinv", lambda a: la.pinv(a), (T43,)),
    ("pinv wide", lambda a: la.pinv(a), (W34,)),
    ("lstsq x", lambda a, b: la.lstsq(a, b)[0], (T43, V4)),
    ("lstsq residuals", lambda a, b: la.lstsq(a, b)[1], (T43, rng.standard_normal((4, 2)))),
    ("matrix_power 3", lambda a: la.matrix_power(a, 3), (A3,)),
    ("matrix_power -2", lambda a: la.matrix_power(a, -2), (A23,)),
    ("multi_dot", lambda a, b, c: la.multi_dot([a, b, c]), (V3, A3, W34)),
    ("multi_dot 4", lambda a, b, c, d: la.multi_dot([a, b, c, d]), (T43, A3, W34, V4)),
    ("norm", lambda x: la.norm(x), (T43,)),
    ("norm axis keepdims", lambda x: la.norm(x, axis=0, keepdims=True), (T43,)),
    ("norm fro", lambda x: la.norm(x, "fro"), (T43,)),
    ("norm nuc", lambda x: la.norm(x, "nuc"), (T43,)),
    ("norm 2", lambda x: la.norm(x, 2), (T43,)),
    ("norm -2", lambda x: la.norm(x, -2), (T43,)),
    ("norm 1 matrix", lambda x: la.norm(x, 1), (T43,)),
    ("norm -1 matrix", lambda x: la.norm(x, -1), (T43,)),
    ("norm inf matrix", lambda x: la.norm(x, np.inf), (T43,)),
    ("norm -inf matrix", lambda x: la.norm(x, -np.inf), (T43,)),
    ("norm 1", lambda x: la.norm(x, 1), (V4,)),
    ("norm inf", lambda x: la.norm(x, np.inf), (V4,)),
    ("norm -inf", lambda x: la.norm(x, -np.inf), (V4,)),
    ("norm 3", lambda x: la.norm(x, 3, axis=1), (T43,)),
    ("norm 0.5", lambda x: la.norm(x, 0.5), (np.abs(V4) + 0.5,)),
    ("norm matrix axes", lambda x: la.norm(x, "fro", axis=(2, 0)),
     (rng.standard_normal((2, 3, 4)),)),
    ("vector_norm", lambda x: la.vector_norm(x, axis=(0, 1)), (rng.standard_normal((2, 3, 4)),)),
    ("matrix_norm nuc", lambda x: la.matrix_norm(x, ord="nuc"), (rng.standard_normal((2, 4, 3)),)),
    ("tensorsolve", lambda a, b: la.tensorsolve(a, b), (well_conditioned(6, 6).reshape(2, 3, 6),
                                                           rng.standard_normal((2, 3)))),
    ("tensorinv", lambda a: la.tensorinv(a, ind=1), (well_conditioned(6, 6).reshape(6, 2, 3),)),
    ("cond", lambda a: la.cond(a), (T43,)),
    ("cond fro", lambda a: la.cond(a, "fro"), (A23,)),
    ("trace", lambda x: np.trace(x), (T43,)),
    ("linalg.trace offset", lambda x: la.trace(x, offset=1), (A23,)),
    ("linalg.diagonal", lambda x: la.diagonal(x, offset=-1), (rng.standard_normal((2, 4, 3)),)),
    ("diag", lambda x: (np.diag(x, -1), np.diag(np.diag(x, 1) * 2.0)), (V3,)),
]


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_grads(name, f, args):
    check_grads(f, args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_values_match_numpy(name, f, args):
    traced = cr.jvp(f, args, tuple(np.zeros_like(a) for a in args))[0]
    plain = f(*args)
    for t, p in zip(cr.tree_flatten(traced)[0], cr.tree_flatten(plain)[0]):
        np.testing.assert_allclose(t, p, rtol=1e-10, atol=1e-12)


# -- closed forms ----------------------------------------------------------------------------------
def test_grad_det_is_cofactor():
    g = cr.grad(np.linalg.det)(A3)
    np.testing.assert_allclose(g, np.linalg.det(A3) * np.linalg.inv(A3).T, rtol=1e-10)


def test_grad_logdet_is_inverse_transpose():
    g = cr.grad(lambda a: np.sum(np.linalg.slogdet(a)[1]))(A23)
    np.testing.assert_allclose(g, np.swapaxes(np.linalg.inv(A23), -1, -2), rtol=1e-10)


def test_grad_trace_inv():
    g = cr.grad(lambda a: np.trace(np.linalg.inv(a)))(A3)
    ainv = np.linalg.inv(A3)
    np.testing.assert_allclose(g, -(ainv @ ainv).T, rtol=1e-10)


def test_hessian_logdet_spd():
    # d^2 log det(A)[E, F] = -tr(A^-1 E A^-1 F)
    h = cr.hessian(lambda a: np.linalg.slogdet(a)[1])(S3)
    ainv = np.linalg.inv(S3)
    want = -np.einsum("li,jk->ijkl", ainv, ainv)
    np.testing.assert_allclose(h, want, rtol=1e-9, atol=1e-12)


def test_eigenvalue_derivative_is_outer_product_of_eigenvectors():
    w, v = np.linalg.eigh(E3)
    for k in range(3):
        g = cr.grad(lambda a: np.linalg.eigvalsh(a)[k])(E3)
        # the function reads the lower triangle: the symmetric gradient folded onto it
        full = np.outer(v[:, k], v[:, k])
        np.testing.assert_allclose(g, np.tril(2 * full - np.diag(np.diag(full))), atol=1e-10)


def test_repeated_eigenvalues_symmetric_functions_are_finite():
    a = np.diag([1.0, 1.0, 2.0])
    np.testing.assert_allclose(cr.grad(lambda a: np.sum(np.linalg.eigh(a)[0] ** 2))(a), 2 * a)
    np.testing.assert_allclose(cr.grad(lambda a: np.linalg.norm(a, "nuc"))(np.eye(3)), np.eye(3))


def test_singular_value_derivative():
    u, s, vh = np.linalg.svd(T43, full_matrices=False)
    g = cr.grad(lambda a: np.linalg.svd(a, compute_uv=False)[0])(T43)
    np.testing.assert_allclose(g, np.outer(u[:, 0], vh[0]), atol=1e-10)


def test_nuclear_norm_gradient():
    u, s, vh = np.linalg.svd(T43, full_matrices=False)
    np.testing.assert_allclose(cr.grad(lambda a: np.linalg.norm(a, "nuc"))(T43), u @ vh,
                               atol=1e-10)


def test_cholesky_gradient_is_lower_triangular():
    g = cr.grad(lambda a: np.sum(np.linalg.cholesky(a)))(S3)
    np.testing.assert_array_equal(np.triu(g, 1), 0.0)


@pytest.mark.parametrize("ord", [None, 2, "fro"])
def test_norm_gradient_at_zero_is_zero(ord):
    x = np.zeros((3, 2)) if ord == "fro" else np.zeros(4)
    g = cr.grad(lambda x: np.linalg.norm(x, ord))(x)
    np.testing.assert_array_equal(g, np.zeros_like(x))
    h = cr.hessian(lambda x: np.linalg.norm(x, ord))(x)
    assert np.all(np.isfinite(h))


def test_norm_of_plain_and_complex():
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    assert np.isclose(cnp.linalg.norm(z), np.linalg.norm(z))
    g = cr.grad(lambda x, y: np.linalg.norm(x + 1j * y), argnums=(0, 1))(z.real, z.imag)
    np.testing.assert_allclose(g[0] + 1j * g[1], z / np.linalg.norm(z))


def test_complex_solve_and_det():
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3)

    def f(ar, ai, b):
        m = ar + 1j * ai
        return np.abs(np.linalg.det(m)) + np.real(np.sum(np.linalg.solve(m, b)))
    check_grads(f, (a.real, a.imag, V3), order=2)
    # holomorphic: grad of det is det * inv(A).T (no conjugation, JAX's convention)
    g = cr.grad(lambda m: np.linalg.det(m), holomorphic=True)(a)
    np.testing.assert_allclose(g, np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-10)


def test_stacks_jacobian_is_block_diagonal():
    j = cr.jacobian(lambda a: np.linalg.det(a))(A23)
    assert j.shape == (2, 2, 3, 3)
    np.testing.assert_allclose(j[0, 1], 0.0)
    np.testing.assert_allclose(j[1, 1], cr.grad(np.linalg.det)(A23[1]), rtol=1e-10)


def test_cnp_namespace_and_dispatch():
    b = rng.standard_normal(3)
    np.testing.assert_allclose(cnp.linalg.solve(A3, b), np.linalg.solve(A3, b))
    assert "linalg.solve" in cnp.supported() and "kron" in cnp.supported()
    g = cr.grad(lambda b: np.sum(np.linalg.solve(A3, b)))(b)
    np.testing.assert_allclose(g, np.linalg.solve(A3.T, np.ones(3)))


def test_third_order():
    for f, args in [(np.linalg.solve, (A3, B32)), (np.linalg.det, (A3,)),
                    (lambda a: np.linalg.eigh(a)[1] ** 2, (E3,)),
                    (lambda a: np.linalg.svd(a, full_matrices=False)[2] ** 2, (T43,))]:
        check_grads(f, args, order=3, modes=("fwd", "rev"))


def test_matrix_rank_is_a_plain_integer():
    assert cr.grad(lambda a: np.linalg.matrix_rank(a) * np.sum(a))(A3)[0, 0] == 3.0


def test_refusals_are_named():
    with pytest.raises(cr.UnsupportedFunctionError):
        cr.grad(lambda a: np.sum(np.linalg.svd(a)[0]))(T43)   # full_matrices on a tall matrix
    with pytest.raises(cr.UnsupportedFunctionError):
        cr.grad(lambda a: np.sum(np.linalg.qr(a, mode="complete")[0]))(T43)
    with pytest.raises(cr.InvalidArgumentError):
        cr.grad(lambda a: np.linalg.det(a))(T43)
