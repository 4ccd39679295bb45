"""chainrule.scipy.linalg: values against SciPy, derivatives through check_grads."""
import numpy as np
import pytest
import scipy.linalg as sl

import chainrule as cr
import chainrule.scipy.linalg as csl
from chainrule.testing import check_grads

rng = np.random.default_rng(2)
A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
A2 = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
S = A @ A.T
S2 = A2 @ np.swapaxes(A2, -1, -2)
B = rng.standard_normal((3, 2))
b = rng.standard_normal(3)


@pytest.mark.parametrize("trans", [0, 1, 2, "T"])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_solve_triangular_values(trans, lower, unit):
    for a in (A, A2):
        for rhs in (b, B):
            np.testing.assert_allclose(
                csl.solve_triangular(a, rhs, trans=trans, lower=lower, unit_diagonal=unit),
                sl.solve_triangular(a, rhs, trans=trans, lower=lower, unit_diagonal=unit))


def test_factorization_values():
    for lower in (True, False):
        np.testing.assert_allclose(csl.cholesky(S, lower=lower), sl.cholesky(S, lower=lower))
        c = csl.cho_factor(S2, lower=lower)
        np.testing.assert_allclose(csl.cho_solve(c, B), np.linalg.solve(S2, B))
    lu, piv = csl.lu_factor(A2)
    slu, spiv = sl.lu_factor(A2)
    np.testing.assert_allclose(lu, slu)
    np.testing.assert_array_equal(piv, spiv)
    for trans in (0, 1, 2):
        for rhs in (b, B):
            np.testing.assert_allclose(csl.lu_solve((lu, piv), rhs, trans=trans),
                                       sl.lu_solve((slu, spiv), rhs, trans=trans))
    for kw in ({}, {"permute_l": True}, {"p_indices": True}):
        for got, want in zip(csl.lu(A, **kw), sl.lu(A, **kw)):
            np.testing.assert_allclose(got, want)


def test_matrix_function_values():
    np.testing.assert_allclose(csl.expm(0.3 * A2), sl.expm(0.3 * A2))
    e = np.outer(b, b[::-1])
    for got, want in zip(csl.expm_frechet(0.3 * A, e), sl.expm_frechet(0.3 * A, e)):
        np.testing.assert_allclose(got, want, rtol=1e-10)
    for assume_a in (None, "sym", "pos"):
        np.testing.assert_allclose(csl.solve(S, B, assume_a=assume_a),
                                   sl.solve(S, B, assume_a=assume_a))
    np.testing.assert_allclose(csl.solve(A, B, transposed=True), sl.solve(A, B, transposed=True))


CASES = [
    ("solve_triangular", lambda a, b: csl.solve_triangular(a, b, lower=True), (A, B)),
    ("solve_triangular T unit", lambda a, b: csl.solve_triangular(a, b, trans=1,
                                                                  unit_diagonal=True), (A2, b)),
    ("cholesky", lambda a: csl.cholesky(a), (S,)),
    ("cho_solve", lambda a, b: csl.cho_solve(csl.cho_factor(a), b), (S, B)),
    ("cho_solve lower", lambda a, b: csl.cho_solve(csl.cho_factor(a, lower=True), b), (S2, b)),
    ("lu_factor", lambda a: csl.lu_factor(a)[0], (A2,)),
    ("lu", lambda a: csl.lu(a)[1:], (A,)),
    ("lu_solve", lambda a, b: csl.lu_solve(csl.lu_factor(a), b), (A, B)),
    ("lu_solve T", lambda a, b: csl.lu_solve(csl.lu_factor(a), b, trans=1), (A2, b)),
    ("solve pos", lambda a, b: csl.solve(a, b, assume_a="pos"), (S, B)),
    ("expm", lambda a: csl.expm(a), (0.3 * A2,)),
    ("expm_frechet", lambda a, e: csl.expm_frechet(a, e), (0.3 * A, A.T.copy())),
    ("eigh", lambda a: csl.eigh(a, eigvals_only=True), (S,)),
]


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_grads(name, f, args):
    check_grads(f, args, order=2, modes=("fwd", "rev"))


def test_expm_closed_forms():
    # d/dt expm(t A) = A expm(t A); grad of trace(expm(A)) is expm(A).T
    t_dot = cr.jvp(lambda t: csl.expm(t * A), (0.5,), (1.0,))[1]
    np.testing.assert_allclose(t_dot, A @ sl.expm(0.5 * A), rtol=1e-10)
    g = cr.grad(lambda a: np.trace(csl.expm(a)))(0.3 * A)
    np.testing.assert_allclose(g, sl.expm(0.3 * A).T, rtol=1e-10)


def test_third_order_expm():
    check_grads(lambda a: csl.expm(a), (0.2 * A[:2, :2],), order=3, modes=("fwd", "rev"))


def test_scipy_linalg_on_a_tracer_raises_a_named_error():
    with pytest.raises(cr.ChainruleError):
        cr.grad(lambda a: np.sum(sl.solve_triangular(a, b)))(A)
