"""chainrule.integrate: solve_ivp with the AD Jacobian against SciPy with hand-written ones;
ODE sensitivities (forward, adjoint) against each other, central differences and JAX."""
import numpy as np
import pytest
import scipy.integrate as si
import scipy.sparse as sp

import chainrule as cr
import chainrule.integrate as cri
import chainrule.numpy as cnp


def rober(t, y, k1, k2, k3):
    return cnp.stack([-k1 * y[0] + k3 * y[1] * y[2],
                      k1 * y[0] - k2 * y[1]**2 - k3 * y[1] * y[2],
                      k2 * y[1]**2])


def rober_np(t, y, k1, k2, k3):
    return np.array([-k1 * y[0] + k3 * y[1] * y[2],
                     k1 * y[0] - k2 * y[1]**2 - k3 * y[1] * y[2], k2 * y[1]**2])


def rober_jac(t, y, k1, k2, k3):
    return np.array([[-k1, k3 * y[2], k3 * y[1]],
                     [k1, -2 * k2 * y[1] - k3 * y[2], -k3 * y[1]],
                     [0.0, 2 * k2 * y[1], 0.0]])


K = (0.04, 3e7, 1e4)


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA"])
def test_implicit_methods_get_the_dense_jacobian(method):
    y0 = np.array([1.0, 0.0, 0.0])
    ours = cri.solve_ivp(rober, (0, 40), y0, method=method, args=K, rtol=1e-6, atol=1e-10)
    ref = si.solve_ivp(rober_np, (0, 40), y0, method=method, args=K, jac=rober_jac,
                       rtol=1e-6, atol=1e-10)
    assert ours.success and ref.success
    assert ours.nfev == ref.nfev and ours.njev == ref.njev
    np.testing.assert_allclose(ours.y, ref.y, rtol=1e-9, atol=1e-14)


def brusselator(n):
    """1-D Brusselator, 2n states (u, v interleaved blocks), Dirichlet-free periodic."""
    a, b, alpha = 1.0, 3.0, 0.02 * (n + 1)**2

    def f(t, y):
        u, v = y[:n], y[n:]
        lap_u = cnp.roll(u, 1) + cnp.roll(u, -1) - 2 * u
        lap_v = cnp.roll(v, 1) + cnp.roll(v, -1) - 2 * v
        return cnp.concatenate([a + u**2 * v - (b + 1) * u + alpha * lap_u,
                                b * u - u**2 * v + alpha * lap_v])

    def jac(t, y):
        u, v = y[:n], y[n:]
        L = sp.diags([np.ones(n - 1), -2 * np.ones(n), np.ones(n - 1)], [-1, 0, 1]).tolil()
        L[0, n - 1] = L[n - 1, 0] = 1
        L = alpha * L.tocsr()
        return sp.bmat([[sp.diags(2 * u * v - (b + 1)) + L, sp.diags(u**2)],
                         [sp.diags(b - 2 * u * v), sp.diags(-u**2) + L]]).tocsr()
    x = np.linspace(0, 1, n)
    y0 = np.concatenate([1 + np.sin(2 * np.pi * x), np.full(n, 3.0)])
    return f, jac, y0


@pytest.mark.parametrize("jit", [False, True])
def test_sparse_prepared_jacobian_for_bdf(jit):
    f, jac, y0 = brusselator(40)
    J = cri.ode_jacobian(f, 0.0, y0, jit=jit)
    assert J.sparse and J.ncolors <= 6
    y = y0 + 0.1 * np.cos(np.arange(80))
    np.testing.assert_allclose(J(0.3, y).toarray(), jac(0.3, y).toarray(), rtol=1e-13,
                               atol=1e-13)
    ours = cri.solve_ivp(f, (0, 2), y0, method="BDF", rtol=1e-6, atol=1e-8, jit=jit)
    ref = si.solve_ivp(f, (0, 2), y0, method="BDF", jac=jac, rtol=1e-6, atol=1e-8)
    assert ours.nfev == ref.nfev and ours.njev == ref.njev and ours.nlu == ref.nlu
    np.testing.assert_allclose(ours.y[:, -1], ref.y[:, -1], rtol=1e-9)
    given = cri.solve_ivp(f, (0, 2), y0, method="Radau", jac_sparsity=jac(0, y0) != 0)
    assert given.success


def lv(y, t, p):
    return cnp.stack([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


Y0 = np.array([1.0, 0.5])
P = np.array([1.0, 0.6, 0.8, 0.4])
T = np.linspace(0, 5, 6)
W = np.random.default_rng(1).normal(size=(6, 2))
TOL = dict(rtol=1e-10, atol=1e-10)


def jax_gradients():
    import jax
    import jax.numpy as jnp
    from jax.experimental.ode import odeint
    jax.config.update("jax_enable_x64", True)

    def jlv(y, t, p):
        return jnp.stack([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])

    def loss(y0, p):
        return jnp.sum(odeint(jlv, y0, jnp.asarray(T), p, **TOL) * W)
    g0, gp = jax.grad(loss, (0, 1))(jnp.asarray(Y0), jnp.asarray(P))
    return np.asarray(g0), np.asarray(gp)


@pytest.mark.parametrize("jit", [False, True])
def test_forward_adjoint_fd_and_jax_agree(jit):
    ys = cri.odeint(lv, Y0, T, P, **TOL)
    grads = {}
    for s in ("forward", "adjoint"):
        ys2, vjp_fn = cri.odeint_vjp(lv, Y0, T, P, sensitivity=s, jit=jit, **TOL)
        np.testing.assert_allclose(ys2, ys, rtol=1e-8)   # forward: steps also control dy/dp
        grads[s] = vjp_fn(W)
    g0, gp = jax_gradients()
    for s in grads:
        np.testing.assert_allclose(grads[s][0], g0, rtol=1e-6)
        np.testing.assert_allclose(grads[s][1], gp, rtol=1e-6)
    np.testing.assert_allclose(grads["forward"][1], grads["adjoint"][1], rtol=1e-6)
    # central differences of the solve in the parameters
    h = 1e-5
    fd = np.array([(np.sum(cri.odeint(lv, Y0, T, P + h * e, **TOL) * W)
                    - np.sum(cri.odeint(lv, Y0, T, P - h * e, **TOL) * W)) / (2 * h)
                   for e in np.eye(4)])
    np.testing.assert_allclose(grads["adjoint"][1], fd, rtol=1e-5)


def test_jacobian_pytrees_and_auto():
    def rhs(state, t, params):
        return {"x": state["v"], "v": -params["k"] * state["x"] - params["c"] * state["v"]}
    y0 = {"x": np.array([1.0]), "v": np.array([0.0])}
    params = {"k": np.array(4.0), "c": np.array(0.1)}
    t = np.array([0.0, 1.0, 2.0])
    ys = cri.odeint(rhs, y0, t, params, **TOL)
    assert ys["x"].shape == (3, 1)
    flat, (J0, Jargs) = cri.odeint_jacobian(rhs, y0, t, params, **TOL)
    assert J0.shape == (3, 2, 2) and len(Jargs) == 2 and Jargs[0].shape == (3, 2)
    # the solution is linear in y0: J0 at t=0 is the identity, J0 maps y0 to ys
    np.testing.assert_allclose(J0[0], np.eye(2), atol=1e-12)
    y0_flat = np.concatenate(cr.tree_flatten(y0)[0])      # leaves in pytree order
    np.testing.assert_allclose(J0 @ y0_flat, flat, rtol=1e-7, atol=1e-9)
    bar = {"x": np.ones((3, 1)), "v": np.zeros((3, 1))}
    _, auto = cri.odeint_vjp(rhs, y0, t, params, **TOL)       # 4 parameters: forward
    _, adj = cri.odeint_vjp(rhs, y0, t, params, sensitivity="adjoint", **TOL)
    a, b = auto(bar), adj(bar)
    np.testing.assert_allclose(a[0]["x"], b[0]["x"], rtol=1e-7)
    np.testing.assert_allclose(a[1]["k"], b[1]["k"], rtol=1e-7)
    keys = sorted(params)                      # Jargs follow the leaves' order (c, k)
    np.testing.assert_allclose(a[1]["k"], np.sum(Jargs[keys.index("k")][:, sorted(y0).index("x")]),
                               rtol=1e-9)


def test_bad_input_and_failed_solves():
    with pytest.raises(cr.ShapeMismatchError, match="shape"):
        cri.solve_ivp(lambda t, y: y[:1], (0, 1), np.ones(2), method="BDF")
    with pytest.raises(cr.ShapeMismatchError, match="state"):
        cri.odeint(lambda y, t: y[:1], np.ones(2), T)
    with pytest.raises(cr.InvalidArgumentError, match="increasing"):
        cri.odeint(lv, Y0, T[::-1], P)
    with pytest.raises(cr.InvalidArgumentError, match="sensitivity"):
        cri.odeint_vjp(lv, Y0, T, P, sensitivity="backward")
    # y' = y^2 blows up at t = 1: SciPy's result says so, the derivatives refuse
    res = cri.solve_ivp(lambda t, y: y**2, (0, 2), np.ones(1), method="BDF")
    assert not res.success and res.status == -1
    for s in ("forward", "adjoint"):
        with pytest.raises(cri.ODESolveError, match="failed"):
            cri.odeint_vjp(lambda y, t: y**2, np.ones(1), np.array([0.0, 2.0]),
                           sensitivity=s)


@pytest.mark.parametrize("method", ["BDF", "Radau"])
def test_stiff_sensitivities_with_implicit_methods(method):
    """Robertson's stiff system: the sensitivity solves get AD Jacobians; forward, adjoint and
    central differences of the solve agree."""
    def rob(y, t, k):
        return cnp.stack([-k[0] * y[0] + k[2] * y[1] * y[2],
                          k[0] * y[0] - k[1] * y[1]**2 - k[2] * y[1] * y[2], k[1] * y[1]**2])
    k = np.array([0.04, 3e7, 1e4])
    y0, t = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 10.0])
    tol = dict(rtol=1e-9, atol=1e-12, method=method)
    bar = np.zeros((3, 3))
    bar[-1] = [1.0, 1e4, 0.0]
    grads = {s: cri.odeint_vjp(rob, y0, t, k, sensitivity=s, jit=True, **tol)[1](bar)[1]
             for s in ("forward", "adjoint")}
    fd = []
    for i in range(3):
        h = 1e-6 * k[i]
        e = np.zeros(3)
        e[i] = h
        plus = np.sum(cri.odeint(rob, y0, t, k + e, **tol) * bar)
        minus = np.sum(cri.odeint(rob, y0, t, k - e, **tol) * bar)
        fd.append((plus - minus) / (2 * h))
    np.testing.assert_allclose(grads["forward"], grads["adjoint"], rtol=1e-5)
    np.testing.assert_allclose(grads["adjoint"], fd, rtol=1e-4)


def test_grad_jacfwd_jacrev_through_odeint():
    g0, gp = jax_gradients()
    for s in ("forward", "adjoint"):
        def loss(y0, p):
            return np.sum(cri.odeint(lv, y0, T, p, sensitivity=s, **TOL) * W)
        a0, ap = cr.grad(loss, argnums=(0, 1))(Y0, P)
        np.testing.assert_allclose(a0, g0, rtol=1e-6)
        np.testing.assert_allclose(ap, gp, rtol=1e-6)
    J_fwd = cr.jacfwd(lambda p: cri.odeint(lv, Y0, T, p, **TOL))(P)
    J_rev = cr.jacrev(lambda p: cri.odeint(lv, Y0, T, p, sensitivity="adjoint", **TOL))(P)
    _, (_, (J_p,)) = cri.odeint_jacobian(lv, Y0, T, P, **TOL)
    assert J_fwd.shape == (6, 2, 4)
    np.testing.assert_allclose(J_fwd, J_p, rtol=1e-12)
    np.testing.assert_allclose(J_rev, J_p, rtol=1e-6, atol=1e-9)
    jitted = cr.jit(cr.grad(lambda p: np.sum(cri.odeint(lv, Y0, T, p, **TOL) * W)))(P)
    np.testing.assert_allclose(jitted, gp, rtol=1e-6)       # tests/contrib/test_integrate_traced.py


def test_grad_through_solve_ivp():
    def rhs(t, y, p):
        return lv(y, t, p)
    te = T[1:]

    def loss(p, s):
        sol = cri.solve_ivp(rhs, (0.0, T[-1]), Y0, t_eval=te, args=(p,), sensitivity=s, **TOL)
        return np.sum(sol.y.T * W[1:])
    plain = cri.solve_ivp(rhs, (0.0, T[-1]), Y0, t_eval=te, args=(P,), **TOL)
    ref = cri.odeint_vjp(lv, Y0, T, P, **TOL)[1](np.vstack([np.zeros((1, 2)), W[1:]]))[1]
    for s in ("forward", "adjoint"):
        np.testing.assert_allclose(cr.grad(loss)(P, s), ref, rtol=1e-6)
    assert loss(P, "auto") == pytest.approx(np.sum(plain.y.T * W[1:]), rel=1e-8)
    with pytest.raises(cr.ConcretizationError, match="t_eval"):
        cr.grad(lambda p: np.sum(cri.solve_ivp(rhs, (0, 1), Y0, args=(p,)).y))(P)
