"""Implicit differentiation (root, fixed_point, argmin, linear_solve) against closed forms,
central differences and JAX (custom_root, cg with custom_linear_solve, unrolled iterations)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg as sla

import chainrule as cr
from chainrule.testing import check_grads, numerical_jvp

jax.config.update("jax_enable_x64", True)


# -- the square root by Newton's method, with a custom root ----------------------------------
def newton(fun, x0, jac):
    x = np.array(x0, dtype=float)
    for _ in range(50):
        x = x - np.linalg.solve(jac(x), fun(x))
    return x


def sqrt(a):
    return cr.root(lambda x, a: x ** 2 - a, 1.0, a, solver=newton)


def jax_sqrt(a):
    def newton_solve(f, x0):
        x = x0
        for _ in range(50):
            x = x - f(x) / jax.grad(f)(x)
        return x
    return jax.lax.custom_root(lambda x: x ** 2 - a, 1.0, newton_solve,
                               lambda g, y: y / jax.grad(g)(1.0))


def test_sqrt_by_newton_all_orders_and_modes():
    a = 2.0
    assert np.isclose(sqrt(a), np.sqrt(a), rtol=1e-15)
    assert np.isclose(cr.grad(sqrt)(a), 0.5 / np.sqrt(a), rtol=1e-14)
    assert np.isclose(cr.grad(sqrt)(a), jax.grad(jax_sqrt)(a), rtol=1e-14)
    assert np.isclose(cr.jvp(sqrt, (a,), (1.0,))[1], 0.5 / np.sqrt(a), rtol=1e-14)
    assert np.isclose(cr.grad(cr.grad(sqrt))(a), -0.25 * a ** -1.5, rtol=1e-13)
    assert np.isclose(cr.jit(cr.grad(sqrt))(a), 0.5 / np.sqrt(a), rtol=1e-14)
    a_s = np.array([1.0, 4.0, 9.0])
    np.testing.assert_allclose(cr.vmap(sqrt)(a_s), [1, 2, 3], rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.grad(sqrt))(a_s), 0.5 / np.sqrt(a_s), rtol=1e-14)
    np.testing.assert_allclose(cr.derivatives(sqrt, a, 3),
                               [a ** 0.5, 0.5 * a ** -0.5, -0.25 * a ** -1.5,
                                0.375 * a ** -2.5], rtol=1e-12)


# -- the steady state of a reaction-diffusion system in its rate constants -------------------
N = 8
H2 = (1.0 / (N + 1)) ** 2


def residual(u, k, xp=np):
    """D u'' + k0 (1 - u) - k1 u^2 on a grid with u = 0 at both ends."""
    up = xp.concatenate([u[1:], xp.zeros(1)])
    um = xp.concatenate([xp.zeros(1), u[:-1]])
    return 0.1 * (up - 2 * u + um) / H2 + k[0] * (1 - u) - k[1] * u ** 2


def steady_state(k):
    return cr.root(residual, np.full(N, 0.5), k)


@jax.jit
def jax_steady_state(k):
    def newton_step(i, u):          # 12 Newton steps, differentiated through
        J = jax.jacfwd(residual)(u, k, jnp)
        return u - jnp.linalg.solve(J, residual(u, k, jnp))
    return jax.lax.fori_loop(0, 12, newton_step, jnp.full(N, 0.5))


K = np.array([2.0, 1.5])


def test_reaction_diffusion_steady_state_in_the_rate_constants():
    u = steady_state(K)
    assert np.max(np.abs(residual(u, K))) < 1e-9
    J = cr.jacobian(steady_state)(K)
    jax_jacobian = jax.jit(jax.jacobian(jax_steady_state))
    np.testing.assert_allclose(J, jax_jacobian(K), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cr.jacrev(steady_state)(K), J, rtol=1e-12, atol=1e-14)
    for v in (np.array([1.0, 0.0]), np.array([0.3, -0.7])):
        np.testing.assert_allclose(J @ v, numerical_jvp(steady_state, (K,), (v,)),
                                   rtol=1e-6, atol=1e-8)
    loss = lambda k: np.sum(steady_state(k) ** 2)                   # noqa: E731
    H = cr.hessian(loss)(K)
    g = cr.grad(loss)
    for v in (np.array([1.0, 0.0]), np.array([0.3, -0.7])):
        np.testing.assert_allclose(H @ v, numerical_jvp(g, (K,), (v,)), rtol=1e-6)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)
    check_grads(steady_state, (K,), order=2, rtol=1e-4, atol=1e-6)
    ks = np.stack([K, K * 1.3])
    np.testing.assert_allclose(cr.vmap(cr.jacobian(steady_state))(ks),
                               [J, jax_jacobian(ks[1])], rtol=1e-9, atol=1e-12)


# -- the fixed point x = cos(a x) to third order in a ----------------------------------------
def fp(a):
    return cr.fixed_point(lambda x, a: np.cos(a * x), 0.5, a)


def jax_fp(a):
    # 200 iterations, differentiated through
    return jax.lax.fori_loop(0, 200, lambda i, x: jnp.cos(a * x), 0.5)


@pytest.mark.parametrize("a", [0.5, 1.0])
def test_fixed_point_cos_to_third_order(a):
    ds = cr.derivatives(fp, a, 3)
    nested = [fp(a), cr.grad(fp)(a), cr.grad(cr.grad(fp))(a),
              cr.grad(cr.grad(cr.grad(fp)))(a)]
    want = [jax_fp(a), jax.grad(jax_fp)(a), jax.grad(jax.grad(jax_fp))(a),
            jax.grad(jax.grad(jax.grad(jax_fp)))(a)]
    np.testing.assert_allclose(nested, want, rtol=1e-10)
    np.testing.assert_allclose(ds, want, rtol=1e-10)
    x = fp(a)
    s = np.sin(a * x)
    assert np.isclose(ds[1], -x * s / (1 + a * s), rtol=1e-13)     # closed form


# -- ridge regression's solution in its regularization (matrix-free, conjugate gradients) ----
RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 4))
Y = RNG.standard_normal(12)


def cg(matvec, b):
    op = sla.LinearOperator((b.size, b.size), matvec=matvec)
    x, info = sla.cg(op, b, rtol=1e-13, atol=0.0)
    return x


def ridge(lam):
    return cr.linear_solve(lambda w: X.T @ (X @ w) + lam * w, X.T @ Y, cg, symmetric=True)


def jax_ridge(lam):
    return jax.scipy.sparse.linalg.cg(lambda w: X.T @ (X @ w) + lam * w, X.T @ Y,
                                      tol=1e-13)[0]


def test_ridge_solution_in_its_regularization():
    lam = 0.7
    A = X.T @ X + lam * np.eye(4)
    w = np.linalg.solve(A, X.T @ Y)
    np.testing.assert_allclose(ridge(lam), w, rtol=1e-10)
    dw = cr.jacobian(ridge)(lam)
    np.testing.assert_allclose(dw, -np.linalg.solve(A, w), rtol=1e-9)        # closed form
    np.testing.assert_allclose(dw, jax.jit(jax.jacobian(jax_ridge))(lam), rtol=1e-9)
    np.testing.assert_allclose(cr.jacrev(ridge)(lam), dw, rtol=1e-9)
    d2w = cr.jacobian(cr.jacobian(ridge))(lam)
    np.testing.assert_allclose(d2w, 2 * np.linalg.solve(A, np.linalg.solve(A, w)), rtol=1e-8)
    np.testing.assert_allclose(cr.vmap(ridge)(np.array([lam, 2.0]))[0], w, rtol=1e-10)
    np.testing.assert_allclose(cr.jit(cr.jacobian(ridge))(lam), dw, rtol=1e-9)
    check_grads(ridge, (lam,), order=2, rtol=1e-4)


def test_linear_solve_in_b_and_a_nonsymmetric_operator():
    M = np.array([[4.0, 1.0, 0.0], [2.0, 3.0, 1.0], [0.0, -1.0, 2.0]])
    b = np.array([1.0, 2.0, 3.0])

    def gmres(matvec, b):
        return sla.gmres(sla.LinearOperator((3, 3), matvec=matvec), b, rtol=1e-13, atol=0)[0]

    def f(M, b):
        return cr.linear_solve(lambda v: M @ v, b, gmres)
    np.testing.assert_allclose(cr.jacrev(f, 1)(M, b), np.linalg.inv(M), rtol=1e-10)
    np.testing.assert_allclose(cr.jacfwd(f, 1)(M, b), np.linalg.inv(M), rtol=1e-10)
    x = np.linalg.solve(M, b)
    lam = np.linalg.solve(M.T, 2 * x)
    np.testing.assert_allclose(cr.grad(lambda M: np.sum(f(M, b) ** 2))(M), -np.outer(lam, x),
                               rtol=1e-10, atol=1e-14)
    check_grads(f, (M, b), order=2, rtol=1e-4)


# -- a two-level hyperparameter problem --------------------------------------------------------
XT, YT = X[:8], Y[:8]
XV, YV = X[8:], Y[8:]


def inner_loss(w, log_lam):
    return np.sum((XT @ w - YT) ** 2) + np.exp(log_lam) * np.sum(w ** 2)


def validation_loss(log_lam):
    w = cr.argmin(inner_loss, np.zeros(4), log_lam)
    return np.sum((XV @ w - YV) ** 2)


@jax.jit
def jax_validation_loss(log_lam):
    w = jnp.linalg.solve(XT.T @ XT + jnp.exp(log_lam) * jnp.eye(4), XT.T @ YT)
    return jnp.sum((XV @ w - YV) ** 2)


def test_two_level_hyperparameter_gradient():
    for log_lam in (-1.0, 0.5):
        assert np.isclose(validation_loss(log_lam), jax_validation_loss(log_lam), rtol=1e-9)
        g = cr.grad(validation_loss)(log_lam)
        assert np.isclose(g, jax.grad(jax_validation_loss)(log_lam), rtol=1e-6)
        h = cr.grad(cr.grad(validation_loss))(log_lam)
        assert np.isclose(h, jax.grad(jax.grad(jax_validation_loss))(log_lam), rtol=1e-5)
    # hypergradient descent lowers the validation loss
    log_lam, before = 0.0, validation_loss(0.0)
    for _ in range(5):
        log_lam -= 0.5 * cr.grad(validation_loss)(log_lam)
    assert validation_loss(log_lam) < before


# -- closures, pytrees, errors ----------------------------------------------------------------
def test_solver_functions_may_close_over_differentiated_values():
    def f(a):
        return cr.root(lambda x: x ** 3 - a, 1.0)       # closes over a
    assert np.isclose(cr.grad(f)(8.0), 1 / 12, rtol=1e-13)
    assert np.isclose(cr.grad(cr.grad(f))(8.0), -2 / 9 * 8.0 ** (-5 / 3), rtol=1e-12)


def test_pytree_parameters():
    def f(p):
        return cr.root(lambda x, p: p["k"] * x - p["c"][0], np.zeros(2), p)
    p = {"k": np.array([2.0, 4.0]), "c": (np.array([1.0, 2.0]),)}
    g = cr.grad(lambda p: np.sum(f(p)))(p)
    np.testing.assert_allclose(g["k"], -p["c"][0] / p["k"] ** 2)
    np.testing.assert_allclose(g["c"][0], 1 / p["k"])


def test_singular_jacobian_raises():
    with pytest.raises(cr.SingularJacobianError, match="singular"):
        cr.grad(lambda a: cr.root(lambda x, a: x ** 3 - a, 0.0, a))(0.0)
    with pytest.raises(cr.SingularJacobianError, match="singular"):
        cr.grad(lambda a: np.sum(cr.argmin(lambda x, a: a * x[0] ** 2, np.ones(2), a)))(1.0)


def test_solvers_that_do_not_converge_raise():
    with pytest.raises(cr.ConvergenceError, match="root"):
        cr.root(lambda x, a: x ** 2 + a, 1.0, 1.0)
    with pytest.raises(cr.ConvergenceError, match="fixed_point"):
        cr.fixed_point(lambda x, a: x + a, 1.0, 1.0)
    with pytest.raises(cr.ConvergenceError, match="residual"):
        cr.root(lambda x: x ** 2 - 2.0, 1.0, solver=lambda f, x0, jac: x0)
    with pytest.raises(cr.ConvergenceError, match="did not converge"):
        cr.linear_solve(lambda v: 2 * v, np.ones(3), lambda mv, b: np.zeros(3))
    with pytest.raises(cr.ConvergenceError):    # also while differentiating
        cr.grad(lambda a: cr.root(lambda x: x ** 2 + a, 1.0))(1.0)


def test_shape_errors():
    with pytest.raises(cr.ShapeMismatchError, match="same"):
        cr.root(lambda x: x[:1], np.ones(2))
    with pytest.raises(cr.ShapeMismatchError, match="shape of b"):
        cr.linear_solve(lambda v: v[:1], np.ones(2), lambda mv, b: b)
