"""chainrule.integrate under jit and for second derivatives (chainrule.odesolve), and the
checkpointed adjoint: against eager gradients, central differences and JAX's
jax.experimental.ode.odeint."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.integrate as cri
import chainrule.numpy as cnp
from chainrule import odesolve


def lv(y, t, p):
    return cnp.stack([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


Y0 = np.array([1.0, 0.5])
P = np.array([1.1, 0.4, 0.9, 0.35])
T = np.linspace(0, 3, 4)
W = np.random.default_rng(0).standard_normal((4, 2))
V = np.array([0.3, -1.0, 0.5, 0.7])
TOL = dict(rtol=1e-10, atol=1e-10)


def loss(p, y0=Y0, **kw):
    return np.sum(cri.odeint(lv, y0, T, p, **TOL, **kw) * W)


def jax_hvp():
    import jax
    import jax.numpy as jnp
    from jax.experimental.ode import odeint
    jax.config.update("jax_enable_x64", True)

    def jlv(y, t, p):
        return jnp.stack([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])

    def jloss(p):
        return jnp.sum(odeint(jlv, jnp.asarray(Y0), jnp.asarray(T), p, **TOL) * W)
    g = jax.grad(jloss)(jnp.asarray(P))
    hv = jax.grad(lambda p: jnp.vdot(jax.grad(jloss)(p), jnp.asarray(V)))(jnp.asarray(P))
    return np.asarray(g), np.asarray(hv)


def test_jit_of_gradients_and_jacobians_through_odeint():
    eager = {s: cr.grad(loss)(P, sensitivity=s) for s in ("forward", "adjoint")}
    jg = cr.jit(cr.grad(loss))
    np.testing.assert_allclose(jg(P), eager["forward"], rtol=1e-7)
    np.testing.assert_allclose(jg(P), eager["adjoint"], rtol=1e-7)
    P2 = P * 1.1                              # the compiled program, at another point
    np.testing.assert_allclose(jg(P2), cr.grad(loss)(P2), rtol=1e-7)
    assert jg.cache_info()["traces"] == 1
    jac = cr.jit(cr.jacfwd(lambda p: cri.odeint(lv, Y0, T, p, **TOL)))(P)
    _, (_, (J,)) = cri.odeint_jacobian(lv, Y0, T, P, **TOL)
    np.testing.assert_allclose(jac, J, rtol=1e-7, atol=1e-10)
    grad_y0 = cr.jit(cr.grad(lambda y0: loss(P, y0)))(Y0)
    np.testing.assert_allclose(grad_y0, cr.grad(lambda y0: loss(P, y0))(Y0), rtol=1e-7)


def test_hessian_and_hvp_through_odeint_vs_differences_and_jax():
    H = cr.hessian(loss)(P)
    np.testing.assert_allclose(H, H.T, rtol=1e-7, atol=1e-7)
    eps = 1e-5
    fd = np.array([(cr.grad(loss)(P + eps * e) - cr.grad(loss)(P - eps * e)) / (2 * eps)
                   for e in np.eye(4)])
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-5)
    hv = cr.hvp(loss, P, V)                              # forward over adjoint
    hv_rev = cr.grad(lambda p: np.dot(cr.grad(loss)(p), V))(P)      # adjoint over adjoint
    g_jax, hv_jax = jax_hvp()
    np.testing.assert_allclose(cr.grad(loss)(P), g_jax, rtol=1e-6)
    np.testing.assert_allclose(hv, hv_jax, rtol=1e-6)
    np.testing.assert_allclose(hv_rev, hv_jax, rtol=1e-6)
    np.testing.assert_allclose(H @ V, hv_jax, rtol=1e-6)


def test_second_derivative_in_the_initial_state_of_a_pytree():
    def f(y, t, k):
        return {"x": y["v"], "v": -k * y["x"]}           # x'' = -k x
    k = 2.0

    def final_x(x0):
        return cri.odeint(f, {"x": x0, "v": 0.0}, np.array([0.0, 1.3]), k, **TOL)["x"][-1]
    w = np.sqrt(k)                                       # x(t) = x0 cos(w t): linear in x0
    np.testing.assert_allclose(cr.grad(final_x)(0.7), np.cos(w * 1.3), rtol=1e-8)
    assert abs(cr.hessian(final_x)(0.7)) < 1e-8

    def final_k(k):
        return cri.odeint(f, {"x": 1.0, "v": 0.0}, np.array([0.0, 1.3]), k, **TOL)["x"][-1]
    t = 1.3                                              # d2/dk2 cos(sqrt(k) t)
    d2 = (-np.cos(np.sqrt(k) * t) * t**2 / (4 * k) + np.sin(np.sqrt(k) * t) * t / (4 * k**1.5))
    np.testing.assert_allclose(cr.hessian(final_k)(k), d2, rtol=1e-7)


@pytest.mark.parametrize("checkpoints", [1, 3, [0.4, 2.2]])
def test_checkpointed_adjoint_equals_dense_adjoint_and_forward(checkpoints):
    T_long = np.linspace(0, 6, 9)
    bar = np.random.default_rng(2).standard_normal((9, 2))
    grads = {}
    for key, kw in {"dense": dict(sensitivity="adjoint"),
                    "ckpt": dict(sensitivity="adjoint", checkpoints=checkpoints),
                    "forward": dict(sensitivity="forward")}.items():
        _, vjp_fn = cri.odeint_vjp(lv, Y0, T_long, P, **TOL, **kw, jit=True)
        grads[key] = np.concatenate(vjp_fn(bar))
    np.testing.assert_allclose(grads["ckpt"], grads["dense"], rtol=1e-7)
    np.testing.assert_allclose(grads["ckpt"], grads["forward"], rtol=1e-7)
    g = cr.grad(lambda p: np.sum(cri.odeint(lv, Y0, T_long, p, sensitivity="adjoint",
                                            checkpoints=checkpoints, **TOL) * bar))(P)
    np.testing.assert_allclose(g, grads["forward"][2:], rtol=1e-7)


def test_checkpoints_keep_memory_bounded_and_bad_input_is_named():
    t = np.array([0.0, 60.0])
    tol = dict(rtol=1e-8, atol=1e-8, jit=True)
    _, dense = cri.odeint_vjp(lv, Y0, t, P, sensitivity="adjoint", **tol)
    _, ckpt = cri.odeint_vjp(lv, Y0, t, P, sensitivity="adjoint", checkpoints=8, **tol)
    assert dense.trajectory.memory_items() > 100           # every step's interpolant
    assert ckpt.trajectory.memory_items() == 9             # the checkpoint states
    np.testing.assert_allclose(np.concatenate(ckpt(np.ones((2, 2)))),
                               np.concatenate(dense(np.ones((2, 2)))), rtol=1e-5)
    for bad in (0, 2.5, [1.0, 0.5], [-1.0, 2.0]):
        with pytest.raises(cr.InvalidArgumentError, match="checkpoint"):
            cri.odeint(lv, Y0, T, P, checkpoints=bad)


def test_failed_solve_under_jit_raises_named_error():
    def blowup(y, t):
        return y * y                                     # y' = y^2 blows up at t = 1
    with pytest.raises(odesolve.ODESolveError, match="failed"):
        cr.jit(cr.grad(lambda y0: cri.odeint(blowup, y0, np.array([0.0, 2.0]))[-1, 0]))(
            np.array([1.0]))
    assert odesolve.ODESolveError is cri.ODESolveError


def test_solve_ivp_with_t_eval_under_jit_and_with_checkpoints():
    def rhs(t, y, p):
        return lv(y, t, p)

    def loss_ivp(p, **kw):
        sol = cri.solve_ivp(rhs, (0.0, T[-1]), Y0, t_eval=T[1:], args=(p,), **TOL, **kw)
        return np.sum(sol.y.T * W[1:])
    ref = cr.grad(lambda p: np.sum(cri.odeint(lv, Y0, T, p, **TOL)[1:] * W[1:]))(P)
    np.testing.assert_allclose(cr.jit(cr.grad(loss_ivp))(P), ref, rtol=1e-7)
    np.testing.assert_allclose(cr.grad(lambda p: loss_ivp(p, sensitivity="adjoint",
                                                          checkpoints=2))(P), ref, rtol=1e-7)
