"""Loops and branches as primitives (chainrule.loops): every mode against the unrolled Python
loop, central differences and JAX's lax.scan; jit emits a loop; binomial checkpointing recomputes
exactly as many steps as the Revolve formula says; bad input gets a LoopError."""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import revolve
from chainrule.testing import check_grads

TS = np.linspace(0.5, 1.5, 12)


def step(c, x):
    p, v = c
    v = v - 0.1 * np.sin(p) * x
    p = p + 0.1 * v
    return (p, v), np.sum(p * v)


def sim(v0, ck=None, reverse=False):
    (p, v), ys = cr.scan(step, (np.ones(3), v0), TS, reverse=reverse, checkpoints=ck)
    return np.sum(p ** 2) + np.sum(ys * np.arange(1.0, 13.0))


def sim_unrolled(v0, reverse=False):
    c, ys = (np.ones(3), v0), [None] * len(TS)
    order = range(len(TS) - 1, -1, -1) if reverse else range(len(TS))
    for i in order:
        c, ys[i] = step(c, TS[i])
    return np.sum(c[0] ** 2) + sum(y * k for y, k in zip(ys, range(1, 13)))


V0 = np.array([0.1, -0.2, 0.3])


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_equals_unrolled_loop_in_every_mode(reverse):
    f = lambda v: sim(v, reverse=reverse)              # noqa: E731
    fu = lambda v: sim_unrolled(v, reverse=reverse)    # noqa: E731
    np.testing.assert_allclose(f(V0), fu(V0), rtol=1e-14)
    np.testing.assert_allclose(cr.grad(f)(V0), cr.grad(fu)(V0), rtol=1e-13)
    np.testing.assert_allclose(cr.jacfwd(f)(V0), cr.grad(fu)(V0), rtol=1e-13)
    np.testing.assert_allclose(cr.hessian(f)(V0), cr.hessian(fu)(V0), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(V0), cr.grad(fu)(V0), rtol=1e-13)
    np.testing.assert_allclose(cr.jit(cr.hessian(f))(V0), cr.hessian(fu)(V0), rtol=1e-12,
                               atol=1e-13)
    batch = np.stack([V0, 2 * V0, -V0])
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(batch),
                               np.stack([cr.grad(fu)(b) for b in batch]), rtol=1e-13)
    np.testing.assert_allclose(cr.derivatives(lambda a: f(V0 * a), 1.0, 4),
                               cr.derivatives(lambda a: fu(V0 * a), 1.0, 4), rtol=1e-12)


def test_scan_against_central_differences():
    check_grads(sim, (V0,), order=2, modes=("fwd", "rev"))


def test_scan_against_jax_lax_scan():
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def jstep(c, x):
        p, v = c
        v = v - 0.1 * jnp.sin(p) * x
        p = p + 0.1 * v
        return (p, v), jnp.sum(p * v)

    def jsim(v0):
        (p, v), ys = jax.lax.scan(jstep, (jnp.ones(3), v0), jnp.asarray(TS))
        return jnp.sum(p ** 2) + jnp.sum(ys * jnp.arange(1.0, 13.0))
    np.testing.assert_allclose(cr.grad(sim)(V0), jax.grad(jsim)(V0), rtol=1e-13)
    np.testing.assert_allclose(cr.hessian(sim)(V0), jax.hessian(jsim)(V0), rtol=1e-12)


def test_closures_carry_their_derivatives():
    """The body closes over a differentiated parameter: it becomes an input of the loop."""
    def f(k):
        c, _ = cr.scan(lambda c, x: (c * k + np.sin(k * x), None), 1.0, TS)
        return c

    def fu(k):
        c = 1.0
        for x in TS:
            c = c * k + np.sin(k * x)
        return c
    np.testing.assert_allclose(cr.grad(f)(0.7), cr.grad(fu)(0.7), rtol=1e-13)
    np.testing.assert_allclose(cr.grad(cr.grad(f))(0.7), cr.grad(cr.grad(fu))(0.7), rtol=1e-12)
    np.testing.assert_allclose(cr.derivative(f, 3)(0.7), cr.derivative(fu, 3)(0.7), rtol=1e-11)


def test_scan_of_scan_and_fori_loop():
    def inner(c, x):
        c2, _ = cr.scan(lambda a, y: (a * 0.9 + np.sin(y * x), None), c, TS[:4])
        return c2, c2.sum()

    def f(v):
        c, ys = cr.scan(inner, v, TS[:5])
        return np.sum(c ** 2) + ys.sum()

    def fu(v):
        c, tot = v, 0.0
        for x in TS[:5]:
            for y in TS[:4]:
                c = c * 0.9 + np.sin(y * x)
            tot = tot + c.sum()
        return np.sum(c ** 2) + tot
    np.testing.assert_allclose(cr.grad(f)(V0), cr.grad(fu)(V0), rtol=1e-13)
    np.testing.assert_allclose(cr.hessian(f)(V0), cr.hessian(fu)(V0), rtol=1e-12, atol=1e-14)
    g = lambda v: cr.fori_loop(0, 7, lambda i, c: c * np.cos(c) + i, v).sum()  # noqa: E731
    gu = lambda v: sum([v := v * np.cos(v) + i for i in range(7)][-1])         # noqa: E731
    np.testing.assert_allclose(cr.grad(g)(V0), cr.grad(gu)(V0), rtol=1e-13)


def test_jit_emits_one_loop_whatever_the_length():
    def make(T):
        def f(v):
            c, _ = cr.scan(step, (np.ones(3), v), np.linspace(0.5, 1.5, T))
            return np.sum(c[0] ** 2)
        return f
    sources = [cr.jit(cr.grad(make(T))).source(V0) for T in (10, 1000)]
    for src in sources:
        assert "for _i" in src and "np.sin" in src
    assert abs(len(sources[0]) - len(sources[1])) < 20        # only the numbers differ
    graph = cr.make_graph(cr.grad(make(1000)))(V0)
    assert len(graph.eqns) < 10


@pytest.mark.parametrize("s", [1, 2, 3, 5, 13])
def test_checkpointed_gradient_is_exact(s):
    np.testing.assert_allclose(cr.grad(lambda v: sim(v, ck=s))(V0), cr.grad(sim)(V0),
                               rtol=1e-14)


def _optimal_advances(l, s, memo={}):
    """The optimal number of advances by dynamic programming over every first split."""
    if l <= 1:
        return 0
    if s <= 1:
        return l * (l - 1) // 2
    if (l, s) not in memo:
        memo[l, s] = min(j + _optimal_advances(l - j, s - 1) + _optimal_advances(j, s)
                         for j in range(1, l))
    return memo[l, s]


def test_revolve_cost_formula_matches_dynamic_programming():
    for l, s in itertools.product(range(1, 40), range(1, 7)):
        assert revolve.cost(l, s) == _optimal_advances(l, s), (l, s)


@pytest.mark.parametrize("T,s", [(12, 2), (12, 3), (40, 4), (100, 5)])
def test_schedule_counts_match_revolve(T, s):
    def f(v):
        c, _ = cr.scan(lambda c, x: (np.sin(c) * x + c, None), v, np.linspace(0, 1, T),
                       checkpoints=s)
        return c.sum()
    cr.grad(f)(V0)
    advances, tapes = revolve.last_counts
    assert tapes == T
    assert advances == revolve.cost(T, s)
    sched = revolve.schedule(T, s)
    assert sum(n for a, *rest in sched if a == "advance" for n in rest[1:]) == advances
    assert [t for a, t, *_ in sched if a == "tape"] == list(range(T - 1, -1, -1))


def test_checkpoint_auto_sizes_from_memory_limit():
    f = lambda v, lim: cr.scan(lambda c, x: (c * 0.5 + x, None), v, TS, checkpoints="auto",  # noqa
                               memory_limit=lim)[0].sum()
    for lim in (48, 1e9):
        np.testing.assert_allclose(cr.grad(lambda v: f(v, lim))(V0), np.full(3, 0.5 ** 12))


def test_long_simulation_memory_is_bounded():
    """1e5 steps with checkpoints='auto' and a 2 MB budget, in a fresh process: resident memory
    grows by far less than storing every step would take (1e5 steps x 5 residual arrays)."""
    code = r"""
import resource, numpy as np, chainrule as cr
def f(v):
    c, _ = cr.scan(lambda c, x: (c + 1e-5 * np.sin(c), None), v, None, length=100_000,
                   checkpoints="auto", memory_limit=2e6)
    return np.sum(c ** 2)
v = np.linspace(0.1, 1.0, 50)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
g = cr.grad(f)(v)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((peak - base) / 1024, np.all(np.isfinite(g)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-2000:]
    grown_mb, finite = out.stdout.split()
    assert finite == "True"
    # storing every step: 1e5 x 50 x 8 B x (residuals) >= 40 MB; the budget is 2 MB
    assert float(grown_mb) < 20, grown_mb


def test_while_loop_in_every_mode():
    W = lambda a: cr.while_loop(lambda c: c[1] < 5, lambda c: (c[0] * a + 1.0, c[1] + 1),  # noqa
                                (a, 0))[0]

    def Wu(a):
        c = a
        for _ in range(5):
            c = c * a + 1.0
        return c
    np.testing.assert_allclose(cr.grad(W)(1.1), cr.grad(Wu)(1.1), rtol=1e-14)
    np.testing.assert_allclose(cr.jvp(W, (1.1,), (1.0,))[1], cr.grad(Wu)(1.1), rtol=1e-14)
    np.testing.assert_allclose(cr.derivatives(W, 1.1, 3), cr.derivatives(Wu, 1.1, 3), rtol=1e-13)
    np.testing.assert_allclose(cr.jit(W)(1.3), Wu(1.3))
    stop = lambda a: cr.while_loop(lambda c: c[0] < 10.0, lambda c: (c[0] * a, c[1] + 1),  # noqa
                                   (1.0, 0))
    vals, counts = cr.vmap(stop)(np.array([1.5, 2.0, 3.0]))
    assert counts.tolist() == [6, 4, 3]
    np.testing.assert_allclose(vals, [1.5 ** 6, 16.0, 27.0])
    with pytest.raises(cr.ConcretizationError, match="trip count"):
        cr.jit(cr.grad(W))(1.1)


def test_cond_and_switch():
    def f(x):
        return cr.cond(x[0] > 0, lambda a: np.sin(a) * a[1], lambda a: np.cos(a).sum() * a, x)

    def fu(x):
        return np.sin(x) * x[1] if x[0] > 0 else np.cos(x).sum() * x
    x = np.array([0.3, -1.2, 2.0])
    for xx in (x, -x):
        np.testing.assert_allclose(cr.jacrev(f)(xx), cr.jacrev(fu)(xx), rtol=1e-14)
        np.testing.assert_allclose(cr.jacfwd(f)(xx), cr.jacrev(fu)(xx), rtol=1e-14)
        np.testing.assert_allclose(cr.jit(cr.jacrev(f))(xx), cr.jacrev(fu)(xx), rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.jacrev(f))(np.stack([x, -x])),
                               np.stack([cr.jacrev(fu)(x), cr.jacrev(fu)(-x)]), rtol=1e-14)
    jitted = cr.jit(f)
    np.testing.assert_allclose(jitted(-x), fu(-x))
    np.testing.assert_allclose(jitted(x), fu(x))
    assert jitted.cache_info()["traces"] == 1        # the branch is chosen when the code runs
    g = lambda x, i: cr.switch(i, [np.sin, np.cos, lambda a: a ** 3], x).sum()  # noqa: E731
    np.testing.assert_allclose(cr.grad(g)(x, 2), 3 * x ** 2)
    np.testing.assert_allclose(cr.grad(g)(x, 7), 3 * x ** 2)       # clamped, as JAX
    np.testing.assert_allclose(cr.grad(g)(x, 1), -np.sin(x))


def test_checkpoint_recomputes_with_the_same_derivatives():
    h = cr.checkpoint(lambda a, b: np.sin(a * b) * b)
    F = lambda x: np.sum(h(x, x[::-1]) ** 2)                        # noqa: E731
    Fu = lambda x: np.sum((np.sin(x * x[::-1]) * x[::-1]) ** 2)     # noqa: E731
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(cr.grad(F)(x), cr.grad(Fu)(x), rtol=1e-14)
    np.testing.assert_allclose(cr.hessian(F)(x), cr.hessian(Fu)(x), rtol=1e-13)
    np.testing.assert_allclose(cr.jit(cr.grad(F))(x), cr.grad(Fu)(x), rtol=1e-14)
    np.testing.assert_allclose(cr.derivatives(lambda t: F(x * t), 1.0, 3),
                               cr.derivatives(lambda t: Fu(x * t), 1.0, 3), rtol=1e-12)
    _, lin = cr.linearize(F, x)
    from chainrule.interpreters.partial_eval import linearize_flat
    _, graph = linearize_flat(lambda ins: [F(ins[0])], [x])
    assert any(e.prim.name == "checkpoint" for e in graph.eqns)   # recomputed, not stored


def test_bad_input_is_named():
    with pytest.raises(cr.LoopError, match="changes the carry from f64\\[3\\] to f64\\[4\\]"):
        cr.scan(lambda c, x: (np.concatenate([c, c[:1]]), None), V0, TS)
    with pytest.raises(cr.LoopError, match="dtype|changes"):
        cr.scan(lambda c, x: (c.astype(np.float32), None), V0, TS)
    with pytest.raises(cr.LoopError, match="different leading lengths"):
        cr.scan(lambda c, x: (c, None), V0, (TS, TS[:3]))
    with pytest.raises(cr.LoopError, match="length=5"):
        cr.scan(lambda c, x: (c, None), V0, TS, length=5)
    with pytest.raises(cr.LoopError, match="pair"):
        cr.scan(lambda c, x: c, V0, TS)
    with pytest.raises(cr.LoopError, match="structure"):
        cr.scan(lambda c, x: ((c, c), None), V0, TS)
    with pytest.raises(cr.LoopError, match="not an array"):
        cr.scan(lambda c, x: (c, None), "text", TS)
    with pytest.raises(cr.LoopError, match="scalar"):
        cr.cond(np.array([True, False]), np.sin, np.cos, V0)
    with pytest.raises(cr.LoopError, match="boolean scalar"):
        cr.while_loop(lambda c: c, lambda c: c, V0)
    with pytest.raises(cr.LoopError, match="branch 1"):
        cr.cond(True, lambda a: a, lambda a: a[:2], V0)
    with pytest.raises(cr.ConcretizationError):
        cr.scan(lambda c, x: (c if x > 1 else -c, None), V0, TS)


def test_nested_bodies_under_jit_keep_their_own_names():
    """A scan inside a scan body and a cond inside a cond branch: the generated code of the
    inner body never takes its enclosing body's name (it shadowed it and called itself)."""
    def f(x):
        def outer(c, _):
            d, _ = cr.scan(lambda d, _: (np.sin(d) * 0.9, None), c, None, length=3)
            return d, None
        c, _ = cr.scan(outer, x, None, length=2)
        return np.sum(c)

    def g(x):
        inner = lambda y: cr.cond(y[0] > 0, lambda y: y * 2.0, lambda y: -y, y)  # noqa: E731
        return np.sum(cr.cond(x[1] > 0, inner, lambda y: y ** 2, x))
    x = np.array([0.3, 0.5])
    h = 1e-6
    for fun in (f, g):
        fd = np.array([(fun(x + h * e) - fun(x - h * e)) / (2 * h) for e in np.eye(2)])
        np.testing.assert_allclose(cr.jit(cr.grad(fun))(x), fd, rtol=1e-7)
        np.testing.assert_allclose(cr.jit(cr.grad(fun))(x), cr.grad(fun)(x), rtol=1e-14)
