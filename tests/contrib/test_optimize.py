"""chainrule.optimize against SciPy run with hand-written derivatives on the same problems:
same iterates, so equal iteration counts and results to rounding."""
import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.optimize as cro

X0 = np.array([-1.2, 1.0, 0.5, -0.3, 0.8])


def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)


# a well-conditioned convex objective and its hand-written derivatives
A = np.random.default_rng(0).normal(size=(7, 5))


def soft(x):
    return np.sum(np.log(1 + np.exp(A @ x))) + 0.5 * x @ x + np.sum(x**4)


def soft_grad(x):
    s = 1 / (1 + np.exp(-(A @ x)))
    return A.T @ s + x + 4 * x**3


def soft_hess(x):
    s = 1 / (1 + np.exp(-(A @ x)))
    return A.T @ ((s * (1 - s))[:, None] * A) + np.eye(5) + np.diag(12 * x**2)


@pytest.mark.parametrize("method,kw", [
    ("BFGS", {}), ("L-BFGS-B", {}), ("SLSQP", {}), (None, {}),
    ("Newton-CG", {"hessp": so.rosen_hess_prod}), ("trust-ncg", {"hessp": so.rosen_hess_prod}),
    ("trust-krylov", {"hessp": so.rosen_hess_prod}), ("trust-exact", {"hess": so.rosen_hess}),
    ("trust-constr", {"hessp": so.rosen_hess_prod})])
def test_minimize_rosen_matches_scipy(method, kw):
    ours = cro.minimize(rosen, X0, method=method)
    ref = so.minimize(so.rosen, X0, method=method, jac=so.rosen_der, **kw)
    assert ours.success == ref.success
    assert ours.nit == ref.nit and ours.nfev == ref.nfev
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["CG", "TNC", "dogleg", "trust-exact", "Newton-CG"])
def test_minimize_convex_matches_scipy(method):
    x0 = np.full(5, 0.7)
    ours = cro.minimize(soft, x0, method=method)
    ref = so.minimize(soft, x0, method=method, jac=soft_grad,
                      **({"hess": soft_hess} if method != "CG" and method != "TNC" else {}))
    assert ours.success and ref.success
    assert ours.nit == ref.nit and ours.nfev == ref.nfev
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-6, atol=1e-9)   # TNC stops loosely


def test_hessp_reuses_one_linearization_per_point():
    calls = []

    def counted(x):
        calls.append(1)
        return rosen(x)
    res = cro.minimize(counted, X0, method="trust-ncg")
    ref = so.minimize(so.rosen, X0, method="trust-ncg", jac=so.rosen_der,
                      hessp=so.rosen_hess_prod)
    # fun traced/evaluated: 1 check, one plain call per function value, one linearization
    # per gradient point (njev); never once per Hessian-vector product
    assert res.nit == ref.nit
    assert len(calls) == 1 + res.nfev + res.njev


def test_jit_matches_eager():
    a = cro.minimize(rosen, X0, method="trust-ncg", jit=True)
    b = cro.minimize(rosen, X0, method="trust-ncg")
    assert a.nit == b.nit
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10)
    c = cro.minimize(rosen, X0, method="BFGS", jit=True)
    d = cro.minimize(rosen, X0, method="BFGS")
    assert c.nit == d.nit


def test_jit_on_the_numba_backend_matches_eager():
    """``jit="numba"`` compiles the derivatives to machine code: the same iterates and
    iteration count as the eager derivatives (Newton-CG steps with Hessian-vector products)."""
    a = cro.minimize(rosen, X0, method="trust-ncg", jit="numba")
    b = cro.minimize(rosen, X0, method="trust-ncg")
    assert a.nit == b.nit and a.nfev == b.nfev
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10)


def test_pytree_parameters_and_args():
    def loss(p, target):
        return np.sum((p["w"] - target)**2) + (p["b"] - 2.0)**2 + np.sum(p["w"]**4)
    p0 = {"w": np.zeros((2, 2)), "b": np.array(0.0)}
    res = cro.minimize(loss, p0, args=(np.ones((2, 2)),), method="BFGS")
    assert set(res.x) == {"w", "b"} and res.x["w"].shape == (2, 2)
    # closed form: w - 1 + 2 w^3 = 0 elementwise
    w = so.brentq(lambda w: w - 1 + 2 * w**3, 0, 1)
    np.testing.assert_allclose(res.x["w"], np.full((2, 2), w), atol=1e-5)
    np.testing.assert_allclose(res.x["b"], 2.0, atol=1e-5)


def test_trust_constr_sparse_hessian_matches_scipy():
    n = 60
    x0 = np.linspace(-1, 1, n)

    def chain(x):
        return np.sum((x[1:] - x[:-1])**2) + np.sum(np.cosh(x - 0.3))

    def chain_grad(x):
        d = x[1:] - x[:-1]
        g = np.sinh(x - 0.3)
        g[1:] += 2 * d
        g[:-1] -= 2 * d
        return g

    def chain_hess(x):
        main = np.cosh(x - 0.3) + 4.0
        main[0] -= 2
        main[-1] -= 2
        return sp.diags([main, -2 * np.ones(n - 1), -2 * np.ones(n - 1)], [0, 1, -1]).tocsr()
    obj = cro.ScalarObjective(chain, cro.Ravel(x0, "t"), (), False, "t")
    assert obj.sparse_pattern(x0) is not None
    ours = cro.minimize(chain, x0, method="trust-constr")
    ref = so.minimize(chain, x0, method="trust-constr", jac=chain_grad, hess=chain_hess)
    assert ours.nit == ref.nit
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8, atol=1e-10)
    assert sp.issparse(obj.sparse_hess(x0))
    np.testing.assert_allclose(obj.sparse_hess(x0).toarray(), chain_hess(x0).toarray(),
                               rtol=1e-12)


def test_nonlinear_constraint_trust_constr_and_slsqp():
    def f(x):
        return (x[0] - 2)**2 + (x[1] - 1)**2

    def c(x):
        return cnp.stack([x[0]**2 + x[1]**2])

    def c_jac(x):
        return np.array([[2 * x[0], 2 * x[1]]])

    def c_hess(x, v):
        return 2 * v[0] * np.eye(2)

    def f_grad(x):
        return np.array([2 * (x[0] - 2), 2 * (x[1] - 1)])
    x0 = np.array([0.5, 0.5])
    ours = cro.minimize(f, x0, method="trust-constr",
                        constraints=so.NonlinearConstraint(c, -np.inf, 1.0))
    ref = so.minimize(f, x0, method="trust-constr", jac=f_grad, hess=lambda x: 2 * np.eye(2),
                      constraints=so.NonlinearConstraint(c, -np.inf, 1.0, jac=c_jac,
                                                         hess=c_hess))
    assert ours.nit == ref.nit
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-7)
    np.testing.assert_allclose(ours.x, np.array([2, 1]) / np.sqrt(5), atol=1e-4)
    ours = cro.minimize(f, x0, method="SLSQP",
                        constraints={"type": "ineq", "fun": lambda x: 1 - c(x)})
    ref = so.minimize(f, x0, method="SLSQP", jac=f_grad,
                      constraints={"type": "ineq", "fun": lambda x: 1 - c(x),
                                   "jac": lambda x: -c_jac(x)})
    assert ours.nit == ref.nit
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-9)


def test_least_squares_dense_and_sparse():
    t = np.linspace(0, 3, 40)
    y = 2.0 * np.exp(-1.3 * t) + 0.5

    def resid(p):
        return p[0] * np.exp(-p[1] * t) + p[2] - y

    def resid_jac(p):
        e = np.exp(-p[1] * t)
        return np.stack([e, -p[0] * t * e, np.ones_like(t)], axis=1)
    p0 = np.array([1.0, 1.0, 0.0])
    for method in ("trf", "dogbox", "lm"):
        ours = cro.least_squares(resid, p0, method=method)
        ref = so.least_squares(resid, p0, jac=resid_jac, method=method)
        assert ours.nfev == ref.nfev and ours.njev == ref.njev
        np.testing.assert_allclose(ours.x, ref.x, rtol=1e-9)
    np.testing.assert_allclose(ours.x, [2.0, 1.3, 0.5], rtol=1e-7)

    # a sparse (banded) problem: the Jacobian is prepared sparse
    n = 80

    def broyden(x):
        xp = np.concatenate([[0.0], x, [0.0]])
        return (3 - 2 * xp[1:-1]) * xp[1:-1] - xp[:-2] - 2 * xp[2:] + 1

    def broyden_jac(x):
        return sp.diags([3 - 4 * x, -np.ones(n - 1), -2 * np.ones(n - 1)], [0, -1, 1]).tocsr()
    x0 = -np.ones(n)
    ours = cro.least_squares(broyden, x0)
    ref = so.least_squares(broyden, x0, jac=broyden_jac)
    assert ours.nfev == ref.nfev
    assert sp.issparse(ours.jac)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-9)
    pattern = broyden_jac(x0) != 0
    given = cro.least_squares(broyden, x0, jac_sparsity=pattern)
    np.testing.assert_allclose(given.x, ref.x, rtol=1e-9)


def test_root_and_scalar_solvers():
    def F(x):
        return cnp.stack([x[0] + 0.5 * (x[0] - x[1])**3 - 1.0, 0.5 * (x[1] - x[0])**3 + x[1]])

    def J(x):
        d = 1.5 * (x[0] - x[1])**2
        return np.array([[1 + d, -d], [-d, 1 + d]])
    for method in ("hybr", "lm"):
        ours = cro.root(F, np.zeros(2), method=method)
        ref = so.root(F, np.zeros(2), jac=J, method=method)
        assert ours.nfev == ref.nfev
        np.testing.assert_allclose(ours.x, ref.x, rtol=1e-12)

    def g(x):
        return x**3 - 2 * x - 5
    for method, kw in (("newton", {"fprime": lambda x: 3 * x**2 - 2}),
                       ("halley", {"fprime": lambda x: 3 * x**2 - 2, "fprime2": lambda x: 6 * x})):
        ours = cro.root_scalar(g, x0=2.0, method=method)
        ref = so.root_scalar(g, x0=2.0, method=method, **kw)
        assert ours.iterations == ref.iterations and ours.converged
        assert ours.root == pytest.approx(ref.root, rel=1e-14)
    ours = cro.root_scalar(g, x0=2.0)             # no bracket: newton with AD fprime
    assert ours.method == "newton" and abs(g(ours.root)) < 1e-12
    res = cro.minimize_scalar(lambda x: (x - 1.5)**2 + np.cos(x), bounds=(0, 3))
    assert res.success


def test_bad_input():
    with pytest.raises(cr.NonScalarOutputError, match="scalar"):
        cro.minimize(lambda x: x**2, np.ones(3))
    with pytest.raises(cr.NonScalarOutputError, match="scalar"):
        cro.minimize_scalar(lambda x: np.array([x, x]), bounds=(0, 1))
    with pytest.raises(cr.ShapeMismatchError, match="unknowns"):
        cro.root(lambda x: x[:2], np.ones(3))
    with pytest.raises(cr.InvalidArgumentError, match="parameters"):
        cro.minimize(rosen, {"a": "text"})


def test_user_derivatives_take_the_pytree_and_args():
    def loss(p, c):
        return np.sum((p["a"] - c)**2) + np.sum(p["a"]**4)

    def loss_grad(p, c):
        return {"a": 2 * (p["a"] - c) + 4 * p["a"]**3}

    def loss_hessp(p, v, c):
        return {"a": (2 + 12 * p["a"]**2) * v["a"]}
    p0 = {"a": np.zeros(3)}
    c = np.array([1.0, 2.0, 3.0])
    auto = cro.minimize(loss, p0, args=(c,), method="trust-ncg")
    given = cro.minimize(loss, p0, args=(c,), method="trust-ncg", jac=loss_grad,
                         hessp=loss_hessp)
    both = cro.minimize(lambda p, c: (loss(p, c), loss_grad(p, c)), p0, args=(c,),
                        jac=True, method="trust-ncg")          # hessp by AD of the value
    assert auto.nit == given.nit == both.nit
    for r in (given, both):
        np.testing.assert_allclose(r.x["a"], auto.x["a"], rtol=1e-10)


def test_sparse_derivatives_compiled():
    n = 60

    def broyden(x):
        xp = np.concatenate([[0.0], x, [0.0]])
        return (3 - 2 * xp[1:-1]) * xp[1:-1] - xp[:-2] - 2 * xp[2:] + 1
    x0 = -np.ones(n)
    a = cro.least_squares(broyden, x0, jit=True)
    b = cro.least_squares(broyden, x0)
    assert sp.issparse(a.jac) and a.nfev == b.nfev
    np.testing.assert_allclose(a.x, b.x, rtol=1e-12)

    def chain(x):
        return np.sum((x[1:] - x[:-1])**2) + np.sum(np.cosh(x - 0.3))
    x0 = np.linspace(-1, 1, n)
    obj = cro.ScalarObjective(chain, cro.Ravel(x0, "t"), (), True, "t")
    np.testing.assert_allclose(obj.sparse_hess(x0).toarray(), cr.hessian(chain)(x0),
                               rtol=1e-12)
    a = cro.minimize(chain, x0, method="trust-constr", jit=True)
    b = cro.minimize(chain, x0, method="trust-constr")
    assert a.nit == b.nit


def test_compiled_derivatives_are_reused_with_new_args():
    def loss(x, c):
        return np.sum((x - c)**2) + np.sum(x**4)
    x0 = np.zeros(3)
    for c in (np.ones(3), np.array([0.5, -1.0, 2.0])):
        a = cro.minimize(loss, x0, args=(c,), method="trust-ncg", jit=True)
        b = cro.minimize(loss, x0, args=(c,), method="trust-ncg")
        assert a.nit == b.nit
        np.testing.assert_allclose(a.x, b.x, rtol=1e-12)
        # the stationarity condition x - c + 2 x^3 = 0 of the new c
        np.testing.assert_allclose(a.x - c + 2 * a.x**3, 0, atol=1e-6)
