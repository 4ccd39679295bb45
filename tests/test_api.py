"""The functional API: values against closed forms and finite differences, types, pytrees,
argnums, has_aux, and the named errors for bad input."""
import collections
import dataclasses

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads, numerical_jvp

RNG = np.random.default_rng(0)


def poly(x):
    return x**3 + 2 * x**2 + x


def test_lecture_polynomial():
    # f'(x) = 3x^2 + 4x + 1, f''(x) = 6x + 4: 21 and 16 at x = 2 (the lecture prints 17 and 11)
    assert cr.grad(poly)(2.0) == 21.0
    assert cr.grad(cr.grad(poly))(2.0) == 16.0
    assert cr.grad(cr.grad(cr.grad(poly)))(2.0) == 6.0


def test_outputs_mirror_inputs():
    assert type(cr.grad(poly)(2.0)) is float
    assert type(cr.grad(poly)(2)) is float            # a Python int is taken as a float
    g = cr.grad(poly)(np.float64(2.0))
    assert isinstance(g, np.floating) and g == 21.0
    g = cr.grad(lambda x: np.sum(poly(x)))(np.array(2.0))
    assert isinstance(g, np.ndarray) and g.shape == () and g == 21.0
    g = cr.grad(lambda x: np.sum(poly(x)))(np.array([1.0, 2.0]))
    assert g.shape == (2,) and np.allclose(g, [8.0, 21.0])


def test_jacobian_example_from_issue():
    x = np.arange(3.0)
    jac = cr.jacobian(lambda x: np.sin(x) * x.sum())(x)
    want = np.diag(np.cos(x) * x.sum()) + np.outer(np.sin(x), np.ones(3))
    assert jac.shape == (3, 3) and np.allclose(jac, want)


def test_value_and_grad_and_argnums():
    f = lambda x, y: np.sum(x * np.sin(y))  # noqa: E731
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    v, g = cr.value_and_grad(f)(x, y)
    assert np.isclose(v, f(x, y)) and np.allclose(g, np.sin(y))
    gx, gy = cr.grad(f, argnums=(0, 1))(x, y)
    assert np.allclose(gx, np.sin(y)) and np.allclose(gy, x * np.cos(y))
    assert np.allclose(cr.grad(f, argnums=-1)(x, y), x * np.cos(y))


def test_has_aux():
    def f(x):
        return np.sum(x**2), {"norm": np.sqrt(np.sum(x**2))}
    x = np.array([3.0, 4.0])
    g, aux = cr.grad(f, has_aux=True)(x)
    assert np.allclose(g, 2 * x) and np.isclose(aux["norm"], 5.0)
    assert not isinstance(aux["norm"], cr.core.Tracer)
    (v, aux), g = cr.value_and_grad(f, has_aux=True)(x)
    assert v == 25.0
    out, vjp_fn, aux = cr.vjp(f, x, has_aux=True)
    assert np.allclose(vjp_fn(1.0)[0], 2 * x)


Point = collections.namedtuple("Point", "x y")


@cr.register_dataclass
@dataclasses.dataclass
class Layer:
    w: np.ndarray
    b: np.ndarray


def test_pytree_inputs_and_outputs():
    params = {"layer": Layer(w=RNG.standard_normal((2, 3)), b=np.zeros(2)),
              "p": Point(1.5, [2.0])}
    x = RNG.standard_normal(3)

    def loss(params, x):
        layer = params["layer"]
        h = np.tanh(layer.w @ x + layer.b)
        return np.sum(h**2) * params["p"].x + params["p"].y[0]

    g = cr.grad(loss)(params, x)
    assert isinstance(g["layer"], Layer) and g["layer"].w.shape == (2, 3)
    assert isinstance(g["p"], Point) and type(g["p"].x) is float
    assert np.isclose(g["p"].y[0], 1.0)
    h = np.tanh(params["layer"].w @ x + params["layer"].b)
    want_b = 1.5 * 2 * h * (1 - h**2)
    assert np.allclose(g["layer"].b, want_b)
    assert np.allclose(g["layer"].w, np.outer(want_b, x))


def test_jvp_vjp_linearize_agree():
    f = lambda x, y: np.sin(x) * y + np.exp(x * y)  # noqa: E731
    x, y = RNG.standard_normal(4), RNG.standard_normal(4)
    vx, vy = RNG.standard_normal(4), RNG.standard_normal(4)
    out, t = cr.jvp(f, (x, y), (vx, vy))
    assert np.allclose(out, f(x, y))
    assert np.allclose(t, numerical_jvp(f, (x, y), (vx, vy)), atol=1e-7)
    out2, lin = cr.linearize(f, x, y)
    assert np.allclose(lin(vx, vy), t)
    out3, vjp_fn = cr.vjp(f, x, y)
    u = RNG.standard_normal(4)
    gx, gy = vjp_fn(u)
    assert np.isclose(u @ t, gx @ vx + gy @ vy)


def test_jacobians_all_modes_agree():
    f = lambda x: np.tanh(np.outer(x, x)) @ x  # noqa: E731
    x = RNG.standard_normal(3)
    jf, jr = cr.jacfwd(f)(x), cr.jacrev(f)(x)
    ja = cr.jacobian(f)(x)
    num = np.stack([numerical_jvp(f, (x,), (e,)) for e in np.eye(3)], axis=-1)
    assert np.allclose(jf, jr) and np.allclose(ja, jf) and np.allclose(jf, num, atol=1e-7)
    assert np.allclose(cr.jacobian(f, mode="rev")(x), jf)


def test_jacobian_shapes_per_leaf():
    f = lambda a, b: {"s": np.sum(a) * b, "m": np.outer(a, b)}  # noqa: E731
    a, b = RNG.standard_normal(2), RNG.standard_normal(3)
    jac = cr.jacobian(f, argnums=(0, 1))(a, b)
    assert jac["s"][0].shape == (3, 2) and jac["s"][1].shape == (3, 3)
    assert jac["m"][0].shape == (2, 3, 2) and jac["m"][1].shape == (2, 3, 3)
    assert np.allclose(jac["m"][1][1], np.eye(3) * a[1])


def test_hessian_and_hvp():
    A = RNG.standard_normal((4, 4))
    A = A + A.T
    f = lambda x: 0.5 * x @ A @ x + np.sum(np.cos(x))  # noqa: E731
    x, v = RNG.standard_normal(4), RNG.standard_normal(4)
    H = cr.hessian(f)(x)
    assert np.allclose(H, A - np.diag(np.cos(x)))
    assert np.allclose(cr.hvp(f, x, v), H @ v)


def test_stop_gradient():
    f = lambda x: x * cr.stop_gradient(x)  # noqa: E731
    assert cr.grad(f)(3.0) == 3.0
    assert cr.jvp(f, (3.0,), (1.0,))[1] == 3.0


def test_comparisons_are_plain_booleans():
    def f(x):
        if x > 0:
            return x**2
        return -x
    assert cr.grad(f)(3.0) == 6.0 and cr.grad(f)(-3.0) == -1.0

    def g(x):
        mask = x > 0
        assert isinstance(mask, np.ndarray) and mask.dtype == bool
        return np.sum(np.where(mask, x, 0.0))
    assert np.allclose(cr.grad(g)(np.array([-1.0, 2.0])), [0.0, 1.0])


def test_check_grads_on_a_composite():
    W = RNG.standard_normal((3, 4))
    f = lambda x: np.sum(np.tanh(W @ x) ** 2, axis=0) / (1 + np.max(x))  # noqa: E731
    check_grads(f, (RNG.standard_normal(4),), order=2)


def test_check_grads_detects_a_wrong_rule():
    from chainrule.ops import elementwise as el
    saved = el.tanh_p.jvp
    el.tanh_p.jvp = lambda primals, tangents: (el.tanh(primals[0]), tangents[0])  # wrong
    try:
        with pytest.raises(AssertionError):
            check_grads(np.tanh, (np.array([0.3, 0.7]),), order=1)
    finally:
        el.tanh_p.jvp = saved


# -- bad input gets a clear, named error ---------------------------------------------------
def test_non_scalar_output():
    with pytest.raises(cr.NonScalarOutputError, match=r"shape \(3,\).*jacobian"):
        cr.grad(np.sin)(np.ones(3))


def test_integer_and_bool_inputs():
    with pytest.raises(cr.NonDifferentiableInputError, match="int64"):
        cr.grad(lambda x: np.sum(x * 1.0))(np.arange(3))
    with pytest.raises(cr.NonDifferentiableInputError):
        cr.grad(lambda x: x * 1.0)(True)
    with pytest.raises(cr.NonDifferentiableInputError):
        cr.jvp(np.sin, (np.arange(3),), (np.ones(3),))


def test_argnums_out_of_range():
    with pytest.raises(cr.InvalidArgumentError, match="argnums=2"):
        cr.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)


def test_tangent_and_cotangent_shapes():
    with pytest.raises(cr.ShapeMismatchError, match=r"\(2,\).*\(3,\)"):
        cr.jvp(np.sin, (np.ones(3),), (np.ones(2),))
    _, vjp_fn = cr.vjp(np.sin, np.ones(3))
    with pytest.raises(cr.ShapeMismatchError):
        vjp_fn(np.ones(4))
    with pytest.raises(cr.ShapeMismatchError):
        cr.jvp(lambda a, b: a * b, (1.0, 2.0), (1.0,))


def test_values_forced_out_of_a_trace():
    with pytest.raises(cr.ConcretizationError, match="zeros_like"):
        cr.grad(lambda x: float(x))(1.0)
    with pytest.raises(cr.ConcretizationError, match="stop_gradient"):
        cr.grad(lambda x: np.sum(np.asarray(x)))(np.ones(2))
    with pytest.raises(cr.ConcretizationError):
        cr.grad(lambda x: int(x) * 1.0)(1.0)

    def write_into_plain(x):
        buf = np.zeros(3)
        buf[0:2] = x
        return np.sum(buf)
    with pytest.raises(cr.ConcretizationError, match="np.zeros"):
        cr.grad(write_into_plain)(np.ones(2))

    def write_element_into_plain(x):
        buf = np.zeros(3)
        buf[0] = x          # NumPy itself rejects a 0-d array-like here, with a ValueError
        return np.sum(buf)
    with pytest.raises((cr.ConcretizationError, ValueError)):
        cr.grad(write_element_into_plain)(1.0)

    def index_with_float(x):
        return np.arange(3.0)[x]
    with pytest.raises((cr.ConcretizationError, IndexError)):
        cr.grad(index_with_float)(1.0)


def test_unsupported_function_is_named():
    with pytest.raises(cr.UnsupportedFunctionError, match="histogram"):
        cr.grad(lambda x: np.sum(np.histogram(x)[0] * 1.0))(np.ones(3))


def test_bad_jacobian_mode():
    with pytest.raises(cr.InvalidArgumentError, match="mode"):
        cr.jacobian(np.sin, mode="sideways")
