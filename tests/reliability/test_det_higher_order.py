"""Derivatives of det of every order at singular and zero matrices (issue 18): nested jacfwd
and jacrev, Taylor mode, jit and vmap, against closed forms (det is a polynomial in the
entries) and against JAX where JAX is right (3 x 3; past that JAX gives NaN at singular A)."""
import itertools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chainrule as cr

jax.config.update("jax_enable_x64", True)


def levi_civita(n):
    e = np.zeros((n,) * n)
    for p in itertools.permutations(range(n)):
        e[p] = np.linalg.det(np.eye(n)[list(p)])
    return e


def det_derivative(A, k):
    """The k-th derivative tensor of det at A, shape (n, n) * k, in closed form:
    d^k det / da_(i1 j1) .. da_(ik jk) = 1/(n-k)! sum eps_(i1..in) eps_(j1..jn) a_(i(k+1)
    j(k+1)) .. a_(in jn); zero past order n."""
    n = A.shape[0]
    if k > n:
        return np.zeros((n, n) * k)
    e = levi_civita(n)
    li, lj = "abcdef"[:n], "pqrstu"[:n]
    spec = ",".join([li, lj] + [li[m] + lj[m] for m in range(k, n)])
    out = "".join(li[m] + lj[m] for m in range(k))
    return np.einsum(f"{spec}->{out}", e, e, *([A] * (n - k))) / math.factorial(n - k)


def principal_minor_sum(A, m):
    n = A.shape[0]
    return sum(np.linalg.det(A[np.ix_(c, c)]) if m else 1.0
               for c in itertools.combinations(range(n), m))


def nested(f, k, transform=cr.jacfwd):
    for _ in range(k):
        f = transform(f)
    return f


def low_rank(n, rank, seed):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, rank)) @ r.standard_normal((rank, n)) if rank else \
        np.zeros((n, n))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_nested_jacfwd_of_det_to_order_n_plus_one_at_every_rank(n):
    # (4 x 4: to order 4 at ranks 0 and 2, which keeps the test fast)
    for rank in range(n + 1) if n < 4 else (0, 2):
        A = low_rank(n, rank, 10 * n + rank)
        for k in range(1, n + 2 if n < 4 else n + 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)   # masked regular branch
                got = nested(np.linalg.det, k)(A)
            assert not np.isnan(got).any(), (n, rank, k)
            np.testing.assert_allclose(got, det_derivative(A, k), rtol=0, atol=1e-12,
                                       err_msg=f"n={n} rank={rank} order={k}")


def test_third_derivatives_in_every_mode_mix_and_under_jit_and_vmap():
    A = low_rank(4, 2, 7)
    want = det_derivative(A, 3)
    g = cr.grad(np.linalg.det)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for f in (cr.jacrev(cr.jacrev(g)), cr.jacfwd(cr.jacrev(g)), cr.jacrev(cr.jacfwd(g)),
                  cr.jit(nested(np.linalg.det, 3))):
            np.testing.assert_allclose(f(A), want, rtol=0, atol=1e-12)
        stack = np.stack([np.zeros((3, 3)), np.outer([1.0, 2.0, 3.0], [1.0, 0.0, 1.0]),
                          low_rank(3, 3, 1)])
        got = cr.vmap(nested(np.linalg.det, 3))(stack)
    for i in range(3):
        np.testing.assert_allclose(got[i], det_derivative(stack[i], 3), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_taylor_of_det_of_s_plus_t_identity_is_the_principal_minor_polynomial(n):
    # det(S + t I) = sum_k t^k (sum of the principal minors of S of size n - k)
    for rank in range(n):
        S = low_rank(n, rank, 100 * n + rank)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            d = cr.derivatives(lambda t: np.linalg.det(S + t * np.eye(n)), 0.0, n + 1)
        want = [math.factorial(k) * principal_minor_sum(S, n - k) for k in range(n + 1)]
        np.testing.assert_allclose(d, want + [0.0], rtol=0, atol=1e-11,
                                   err_msg=f"n={n} rank={rank}")


def test_taylor_along_any_direction_equals_the_exact_polynomial():
    # integer matrices: det(A + t E) at t = 0..n exactly (integers), interpolated exactly
    A = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 0.0]])
    E = np.array([[0.0, 1.0, 0.0], [1.0, -1.0, 2.0], [3.0, 0.0, 1.0]])
    ts = np.arange(4.0)
    values = [round(np.linalg.det(A + t * E)) for t in ts]
    coef = np.linalg.solve(np.vander(ts, increasing=True), values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = cr.derivatives(lambda t: np.linalg.det(A + t * E), 0.0, 4)
    np.testing.assert_allclose(d, np.append(coef * [1, 1, 2, 6], 0.0), rtol=0, atol=1e-10)


def test_det_third_derivatives_equal_jax_at_3x3_singular_and_zero_matrices():
    third = jax.jit(jax.jacfwd(jax.hessian(jnp.linalg.det)))
    series = jax.jit(lambda A: jnp.stack([nested(lambda t: jnp.linalg.det(A + t * jnp.eye(3)),
                                                 k, jax.grad)(0.0) for k in range(4)]))
    for A in (np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]),
              np.outer([1.0, -2.0, 0.5], [3.0, 1.0, 1.0]), np.zeros((3, 3))):
        want = np.asarray(third(A))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = cr.jacfwd(cr.hessian(np.linalg.det))(A)
            f = lambda t: np.linalg.det(A + t * np.eye(3))          # noqa: E731
            d = cr.derivatives(f, 0.0, 3)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        np.testing.assert_allclose(d, np.asarray(series(A)), rtol=0, atol=1e-12)


def test_past_eight_by_eight_higher_derivatives_at_singular_matrices_are_nan_not_wrong():
    # the polynomial form costs n matrix products per direction: used up to n = 8; past it a
    # third derivative at an exactly singular matrix says it is not computed (NaN), while the
    # Hessian stays exact and regular matrices keep every order
    from chainrule.ops.determinants import POLYNOMIAL_MAX_N
    assert POLYNOMIAL_MAX_N == 8
    n = 9
    S = np.diag([1.0] * (n - 1) + [0.0])
    E = np.diag(np.arange(1.0, n + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = cr.derivatives(lambda t: np.linalg.det(S + t * E), 0.0, 3)
        d_regular = cr.derivatives(lambda t: np.linalg.det(S + np.eye(n) + t * E), 0.0, 3)
    # det(S + t E) = (1 + t)(1 + 2t)...(1 + 8t) * 9t: derivatives 0, 9, 2 * 9 * 36, NaN
    np.testing.assert_allclose(d[:3], [0.0, 9.0, 2 * 9.0 * 36.0], rtol=1e-12)
    assert np.isnan(d[3])
    dg, e = np.diag(S) + 1.0, np.diag(E)         # det = prod(dg + t e), ascending coefficients
    coef = np.prod(e) * np.polynomial.polynomial.polyfromroots(-dg / e)
    np.testing.assert_allclose(d_regular, coef[:4] * [1, 1, 2, 6], rtol=1e-10)
