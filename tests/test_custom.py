"""custom_jvp and custom_vjp under every transformation, against closed forms, central
differences and JAX's custom_jvp/custom_vjp on the same rules."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads

jax.config.update("jax_enable_x64", True)


# -- log1pexp with a stable JVP (the function itself overflows for large x) -------------------
@cr.custom_jvp
def log1pexp(x):
    return np.log1p(np.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return log1pexp(x), x_dot * (1 - 1 / (1 + np.exp(x)))


@jax.custom_jvp
def jax_log1pexp(x):
    return jnp.log1p(jnp.exp(x))


@jax_log1pexp.defjvp
def _jax_log1pexp_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return jax_log1pexp(x), x_dot * (1 - 1 / (1 + jnp.exp(x)))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


XS = np.array([-3.0, -0.5, 0.0, 0.7, 2.5])


def test_log1pexp_stable_gradient_at_1e3():
    with np.errstate(all="ignore"):
        g = cr.grad(log1pexp)(1000.0)
        plain = cr.grad(lambda x: np.log1p(np.exp(x)))(1000.0)
    assert g == 1.0
    assert np.isnan(plain)         # what the rule is for


def test_log1pexp_all_modes_against_closed_form_and_jax():
    want = sigmoid(XS)
    f = lambda x: np.sum(log1pexp(x))       # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(XS), want, rtol=1e-14)
    np.testing.assert_allclose(cr.jvp(log1pexp, (XS,), (np.ones(5),))[1], want, rtol=1e-14)
    np.testing.assert_allclose(np.diag(cr.jacfwd(log1pexp)(XS)), want, rtol=1e-14)
    np.testing.assert_allclose(np.diag(cr.jacrev(log1pexp)(XS)), want, rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.grad(log1pexp))(XS), want, rtol=1e-14)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(XS), want, rtol=1e-14)
    np.testing.assert_allclose(cr.grad(f)(XS), jax.grad(lambda x: jnp.sum(jax_log1pexp(x)))(XS),
                               rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(log1pexp)(XS), np.log1p(np.exp(XS)), rtol=1e-14)


def test_log1pexp_higher_orders_nested_and_taylor():
    s = sigmoid(XS)
    d2, d3 = s * (1 - s), s * (1 - s) * (1 - 2 * s)
    g2 = cr.vmap(cr.grad(cr.grad(log1pexp)))(XS)
    np.testing.assert_allclose(g2, d2, rtol=1e-12)
    np.testing.assert_allclose(cr.hessian(lambda x: np.sum(log1pexp(x)))(XS), np.diag(d2),
                               rtol=1e-12, atol=1e-15)
    jax_g3 = jax.vmap(jax.grad(jax.grad(jax.grad(jax_log1pexp))))(XS)
    np.testing.assert_allclose(cr.vmap(cr.grad(cr.grad(cr.grad(log1pexp))))(XS), jax_g3,
                               rtol=1e-12)
    # Taylor mode: nested JVPs of the rule
    ds = cr.derivatives(log1pexp, XS, 3)
    np.testing.assert_allclose(ds[1], s, rtol=1e-13)
    np.testing.assert_allclose(ds[2], d2, rtol=1e-12)
    np.testing.assert_allclose(ds[3], d3, rtol=1e-11, atol=1e-15)
    check_grads(log1pexp, (XS,), order=2)


def test_jit_runs_the_staged_function_and_the_rule():
    jf = cr.jit(log1pexp)
    np.testing.assert_allclose(jf(XS), np.log1p(np.exp(XS)), rtol=1e-14)
    src = cr.jit(cr.grad(lambda x: np.sum(log1pexp(x)))).source(XS)
    assert "exp" in src and "custom_jvp_call" not in src    # the rule, inline
    graph = cr.make_graph(log1pexp)(XS)
    assert [e.prim.name for e in graph.eqns] == ["custom_jvp_call"]
    inner = graph.eqns[0].params["graph"]
    assert {e.prim.name for e in inner.eqns} >= {"exp", "log1p"}


def test_sparsity_is_conservative():
    pat = cr.jacobian_sparsity(log1pexp, XS).toarray()
    assert pat.all()


# -- pytrees, nondiff_argnums, defjvps --------------------------------------------------------
@functools.partial(cr.custom_jvp, nondiff_argnums=(0,))
def apply_scaled(fn, p):
    return {"y": fn(p["a"]) * p["b"], "z": p["a"]}


@apply_scaled.defjvp
def apply_scaled_jvp(fn, primals, tangents):
    (p,), (t,) = primals, tangents
    fa = fn(p["a"])
    d_fn = cr.vmap(cr.grad(fn))(p["a"])
    return apply_scaled(fn, p), {"y": d_fn * t["a"] * p["b"] + fa * t["b"], "z": t["a"]}


def test_pytrees_and_a_function_as_nondiff_argument():
    p = {"a": np.array([0.3, 1.2]), "b": np.array([2.0, -1.0])}

    def loss(p):
        out = apply_scaled(np.sin, p)
        return np.sum(out["y"] ** 2) + np.sum(out["z"])
    g = cr.grad(loss)(p)
    y = np.sin(p["a"]) * p["b"]
    np.testing.assert_allclose(g["a"], 2 * y * np.cos(p["a"]) * p["b"] + 1, rtol=1e-13)
    np.testing.assert_allclose(g["b"], 2 * y * np.sin(p["a"]), rtol=1e-13)
    check_grads(loss, (p,), order=2)


def test_defjvps():
    @cr.custom_jvp
    def f(x, y):
        return np.sin(x) * y

    f.defjvps(lambda x_dot, out, x, y: np.cos(x) * y * x_dot,
              lambda y_dot, out, x, y: np.sin(x) * y_dot)
    gx, gy = cr.grad(f, (0, 1))(0.4, 1.5)
    assert np.isclose(gx, np.cos(0.4) * 1.5) and np.isclose(gy, np.sin(0.4))


def test_closures_over_enclosing_transformations():
    def inner_grad(a):
        @cr.custom_jvp
        def f(x):
            return np.sin(a * x)

        @f.defjvp
        def f_jvp(primals, tangents):
            (x,), (x_dot,) = primals, tangents
            return f(x), a * np.cos(a * x) * x_dot
        return cr.grad(f)(1.0)
    a = 0.5
    # the outer derivative flows through the rule's code (a closed-over enclosing tracer)
    assert np.isclose(cr.grad(inner_grad)(a), np.cos(a) - a * np.sin(a))
    np.testing.assert_allclose(cr.vmap(inner_grad)(np.array([0.5, 1.0])),
                               [0.5 * np.cos(0.5), np.cos(1.0)], rtol=1e-14)


def test_differentiating_a_closed_over_value_raises():
    def outer(a):
        @cr.custom_jvp
        def f(x):
            return np.sin(a * x)
        f.defjvp(lambda p, t: (f(*p), a * np.cos(a * p[0]) * t[0]))
        return f(a)
    with pytest.raises(cr.CustomRuleError, match="closes over"):
        cr.grad(outer)(0.5)


# -- rules that do not fit their function -----------------------------------------------------
def _with_rule(rule):
    @cr.custom_jvp
    def f(x):
        return np.sin(x)
    f.defjvp(rule)
    return f


@pytest.mark.parametrize("rule, words", [
    (lambda p, t: (np.sin(p[0]), t[0][:1]), "shape"),
    (lambda p, t: (np.sin(p[0]), t[0].astype(np.float32)), "dtype"),
    (lambda p, t: (np.sin(p[0][:1]), t[0]), "primal output"),
    (lambda p, t: (np.sin(p[0]), (t[0], t[0])), "structure"),
    (lambda p, t: np.sin(p[0]), "pair"),
])
def test_bad_jvp_rules_raise(rule, words):
    with pytest.raises(cr.CustomRuleError, match=words):
        cr.jvp(_with_rule(rule), (XS,), (XS,))


def test_missing_rules_raise():
    f = cr.custom_jvp(np.sin)
    with pytest.raises(cr.CustomRuleError, match="defjvp"):
        f(1.0)
    g = cr.custom_vjp(np.sin)
    with pytest.raises(cr.CustomRuleError, match="defvjp"):
        g(1.0)


# -- custom_vjp -------------------------------------------------------------------------------
@functools.partial(cr.custom_vjp, nondiff_argnums=(0,))
def clip_gradient(bound, x):
    return x


def _clip_fwd(bound, x):
    return x, None


def _clip_bwd(bound, res, g):
    return (np.clip(g, -bound, bound),)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def jax_clip_gradient(bound, x):
    return x


jax_clip_gradient.defvjp(lambda bound, x: (x, None),
                         lambda bound, res, g: (jnp.clip(g, -bound, bound),))


def test_gradient_clipping_against_jax_and_closed_form():
    x = np.array([0.1, 1.0, -2.0, 0.4])
    f = lambda x: np.sum(np.sin(clip_gradient(0.5, x) ** 3))      # noqa: E731
    jf = lambda x: jnp.sum(jnp.sin(jax_clip_gradient(0.5, x) ** 3))  # noqa: E731
    want = np.clip(np.cos(x ** 3) * 3 * x ** 2, -0.5, 0.5)
    np.testing.assert_allclose(cr.grad(f)(x), want, rtol=1e-14)
    np.testing.assert_allclose(cr.grad(f)(x), jax.grad(jf)(x), rtol=1e-14)
    np.testing.assert_allclose(cr.jacrev(lambda x: clip_gradient(0.5, x) * x)(x),
                               jax.jacrev(lambda x: jax_clip_gradient(0.5, x) * x)(x),
                               rtol=1e-14)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), want, rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda x: f(x) * x[0]))(np.stack([x, 2 * x])),
                               jax.vmap(jax.grad(lambda x: jf(x) * x[0]))(np.stack([x, 2 * x])),
                               rtol=1e-13)


@cr.custom_vjp
def cube(x, y):
    return x ** 3 * y


def _cube_fwd(x, y):
    return x ** 3 * y, (x, y)


def _cube_bwd(res, g):
    x, y = res
    return 3 * x ** 2 * y * g, x ** 3 * g


cube.defvjp(_cube_fwd, _cube_bwd)


@jax.custom_vjp
def jax_cube(x, y):
    return x ** 3 * y


jax_cube.defvjp(lambda x, y: (x ** 3 * y, (x, y)),
                lambda res, g: (3 * res[0] ** 2 * res[1] * g, res[0] ** 3 * g))


def test_custom_vjp_second_order_differentiates_bwd():
    x, y = np.array([0.5, -1.2, 2.0]), np.array([1.5, 0.3, -0.7])
    f = lambda x, y: np.sum(np.sin(cube(x, y)))         # noqa: E731
    jf = lambda x, y: jnp.sum(jnp.sin(jax_cube(x, y)))  # noqa: E731
    for argnums in (0, 1, (0, 1)):
        got = cr.hessian(f, argnums)(x, y)
        want = jax.hessian(jf, argnums)(x, y)
        np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want), rtol=1e-12)
    g2 = cr.grad(lambda x: np.sum(cr.grad(f)(x, y) ** 2))(x)
    np.testing.assert_allclose(g2, jax.grad(lambda x: jnp.sum(jax.grad(jf)(x, y) ** 2))(x),
                               rtol=1e-12)
    check_grads(f, (x, y), order=2, modes=("rev",))


def test_custom_vjp_forward_mode_raises():
    x = np.array([0.5, 1.0])
    for run in (lambda: cr.jvp(lambda x: cube(x, x), (x,), (x,)),
                lambda: cr.jacfwd(lambda x: cube(x, x))(x),
                lambda: cr.derivatives(lambda x: cube(x, x), x, 2)):
        with pytest.raises(cr.CustomVJPForwardModeError, match="custom_vjp"):
            run()


def test_custom_vjp_eager_jit_and_vmap_values():
    x, y = np.array([0.5, -1.2]), np.array([1.5, 0.3])
    np.testing.assert_allclose(cube(x, y), x ** 3 * y)
    np.testing.assert_allclose(cr.jit(cube)(x, y), x ** 3 * y)
    np.testing.assert_allclose(cr.vmap(cube)(x, y), x ** 3 * y)
    np.testing.assert_allclose(cr.vmap(cr.grad(cube))(x, y), 3 * x ** 2 * y)


@pytest.mark.parametrize("bwd, words", [
    (lambda res, g: (g,), "1 cotangent"),
    (lambda res, g: g, "tuple"),
    (lambda res, g: (g[:1], g), "shape"),
    (lambda res, g: (g.astype(np.float32), g), "dtype"),
    (lambda res, g: ((g, g), g), "structure"),
])
def test_bad_bwd_raises(bwd, words):
    @cr.custom_vjp
    def f(x, y):
        return x * y
    f.defvjp(lambda x, y: (x * y, None), bwd)
    with pytest.raises(cr.CustomRuleError, match=words):
        cr.grad(lambda x: np.sum(f(x, x)))(np.array([1.0, 2.0]))


def test_bwd_may_return_none_for_zero():
    @cr.custom_vjp
    def f(x, y):
        return x * y
    f.defvjp(lambda x, y: (x * y, y), lambda y, g: (g * y, None))
    gx, gy = cr.grad(lambda x, y: np.sum(f(x, y)), (0, 1))(np.ones(2), np.array([2.0, 3.0]))
    np.testing.assert_allclose(gx, [2.0, 3.0])
    np.testing.assert_allclose(gy, [0.0, 0.0])


def test_pure_callback_values_and_no_derivative():
    def host(x):
        return np.cumsum(x)
    f = lambda x: cr.pure_callback(host, x, x) * 2        # noqa: E731
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(f(x), 2 * np.cumsum(x))
    np.testing.assert_allclose(cr.jit(f)(x), 2 * np.cumsum(x))
    np.testing.assert_allclose(cr.vmap(f)(np.stack([x, x])), 2 * np.cumsum([x, x], axis=1))
    with pytest.raises(cr.CustomRuleError, match="no derivative"):
        cr.grad(lambda x: np.sum(f(x)))(x)


def test_custom_vjp_with_a_jvp_rule_runs_forward_mode():
    @cr.custom_vjp
    def f(x):
        return np.sin(x)
    calls = []

    def f_bwd(c, g):
        calls.append(1)
        return (c * g,)
    f.defvjp(lambda x: (np.sin(x), np.cos(x)), f_bwd)
    f.defjvp(lambda p, t: (f(p[0]), np.cos(p[0]) * t[0]))
    x = np.array([0.3, 1.0])
    np.testing.assert_allclose(cr.jvp(f, (x,), (np.ones(2),))[1], np.cos(x), rtol=1e-15)
    np.testing.assert_allclose(cr.jacfwd(f)(x), np.diag(np.cos(x)), rtol=1e-15)
    np.testing.assert_allclose(cr.jit(lambda x: cr.jvp(f, (x,), (x,))[1])(x), np.cos(x) * x)
    second = cr.jvp(lambda x: cr.jvp(f, (x,), (np.ones(2),))[1], (x,), (np.ones(2),))[1]
    np.testing.assert_allclose(second, -np.sin(x), rtol=1e-15)
    np.testing.assert_allclose(cr.derivatives(f, 0.3, 3),
                               [np.sin(0.3), np.cos(0.3), -np.sin(0.3), -np.cos(0.3)])
    assert not calls                    # forward mode never ran bwd
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(f(x)))(x), np.cos(x), rtol=1e-15)
    assert calls                        # reverse mode did
    np.testing.assert_allclose(cr.hessian(lambda x: np.sum(f(x)))(x), np.diag(-np.sin(x)),
                               rtol=1e-15)
