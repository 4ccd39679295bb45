"""Loops composed with the other features: custom rules, implicit solvers, cond and
checkpoint inside scan bodies, and the Tensor API recording a scan, each against the unrolled
Python loop or central differences."""
import numpy as np
import scipy.optimize as so

import chainrule as cr

XS = np.linspace(0.5, 1.5, 8)
V = np.array([0.1, -0.3, 0.2])


@cr.custom_jvp
def softplus(x):
    return np.log1p(np.exp(x))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return softplus(x), x_dot / (1 + np.exp(-x))


def looped(v):
    def body(c, x):
        c2 = softplus(c * x) + cr.cond(x > 1.0, np.sin, np.cos, c)
        return c2, np.sum(c2)
    c, ys = cr.scan(body, v, XS)
    return np.sum(c) + ys.sum()


def unrolled(v):
    c, total = v, 0.0
    for x in XS:
        c = np.log1p(np.exp(c * x)) + (np.sin(c) if x > 1.0 else np.cos(c))
        total = total + np.sum(c)
    return np.sum(c) + total


def test_custom_jvp_and_cond_inside_scan():
    g = cr.grad(unrolled)(V)
    np.testing.assert_allclose(cr.grad(looped)(V), g, rtol=1e-13)
    np.testing.assert_allclose(cr.jit(cr.grad(looped))(V), g, rtol=1e-13)
    np.testing.assert_allclose(cr.hessian(looped)(V), cr.hessian(unrolled)(V), rtol=1e-12)
    batch = np.stack([V, 2 * V])
    np.testing.assert_allclose(cr.vmap(cr.grad(looped))(batch),
                               np.stack([cr.grad(unrolled)(b) for b in batch]), rtol=1e-13)
    np.testing.assert_allclose(cr.derivatives(lambda a: looped(V * a), 1.0, 3),
                               cr.derivatives(lambda a: unrolled(V * a), 1.0, 3), rtol=1e-12)


def test_fixed_point_inside_scan():
    def g(k):
        def body(c, x):
            r = cr.fixed_point(lambda y, a: np.cos(a * y), c, k * x)
            return c + r, r
        return cr.scan(body, 0.5, np.linspace(0.5, 1.0, 4))[0]

    def g_scipy(k):
        c = 0.5
        for x in np.linspace(0.5, 1.0, 4):
            c = c + so.fixed_point(lambda y: np.cos(k * x * y), c, xtol=1e-14)
        return c
    eps = 1e-6
    fd = (g_scipy(0.8 + eps) - g_scipy(0.8 - eps)) / (2 * eps)
    np.testing.assert_allclose(cr.grad(g)(0.8), fd, rtol=1e-7)


def test_checkpoint_inside_checkpointed_scan():
    h = cr.checkpoint(lambda a: np.sin(a) * a)
    f = lambda v: cr.scan(lambda c, x: (h(c) + x, None), v, np.ones(5),  # noqa: E731
                          checkpoints=2)[0].sum()

    def fu(v):
        for _ in range(5):
            v = np.sin(v) * v + 1
        return v.sum()
    np.testing.assert_allclose(cr.grad(f)(V), cr.grad(fu)(V), rtol=1e-14)
    np.testing.assert_allclose(cr.hessian(f)(V), cr.hessian(fu)(V), rtol=1e-13)


def test_tensor_api_records_loops():
    def f(v):
        c, ys = cr.scan(lambda c, x: (np.sin(c) * x, c.sum()), v, XS)
        branch = cr.cond(ys.sum() > 0, lambda a: a ** 2, lambda a: -a, c)
        return branch.sum() + ys.sum()
    t = cr.tensor(V, requires_grad=True)
    out = f(t)
    out.backward()
    np.testing.assert_allclose(out.item(), f(V))
    np.testing.assert_allclose(t.grad.numpy(), cr.grad(f)(V), rtol=1e-14)
    # a second derivative through the recorded loop
    t = cr.tensor(V, requires_grad=True)
    g, = cr.autograd.grad(f(t), t, create_graph=True)
    gg, = cr.autograd.grad(g.sum(), t)
    np.testing.assert_allclose(gg.numpy(), cr.hessian(f)(V).sum(axis=0), rtol=1e-12)
