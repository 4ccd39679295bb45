"""Taylor mode: jet, derivative(s), taylor, against closed forms and nested forward mode."""
import math

import numpy as np
import pytest
import scipy.special as ss

import chainrule as cr
from chainrule.core import Primitive, bind


def nested_derivative(f, n):
    g = f
    for _ in range(n):
        g = (lambda h: lambda x: cr.jvp(h, (x,), (1.0,))[1])(g)
    return g


CLOSED_FORMS = [
    ("exp", np.exp, lambda x, k: math.exp(x)),
    ("sin", np.sin, lambda x, k: math.sin(x + k * math.pi / 2)),
    ("1/(1-x)", lambda x: 1.0 / (1.0 - x), lambda x, k: math.factorial(k) / (1 - x) ** (k + 1)),
    ("log(1+x)", lambda x: np.log(1.0 + x),
     lambda x, k: math.log(1 + x) if k == 0 else
     (-1) ** (k - 1) * math.factorial(k - 1) / (1 + x) ** k),
]


@pytest.mark.parametrize("name, f, closed", CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_closed_forms(name, f, closed):
    x, n = 0.3, 6
    ds = cr.derivatives(f, x, n)
    for k, d in enumerate(ds):
        assert np.isclose(d, closed(x, k), rtol=1e-10), (k, d, closed(x, k))


def _tanh_at_zero(k):
    """k-th Taylor coefficient of tanh at 0: 2^2n (2^2n - 1) B_2n / (2n)! for k = 2n - 1."""
    if k % 2 == 0:
        return 0.0
    n2 = k + 1
    return 2.0 ** n2 * (2.0 ** n2 - 1) * ss.bernoulli(n2)[n2] / math.factorial(n2)


# (name, f, x0, k -> k-th normalized Taylor coefficient at x0)
COEFFICIENTS = [
    ("exp", np.exp, 0.3, lambda k: math.exp(0.3) / math.factorial(k)),
    ("sin", np.sin, 0.3, lambda k: math.sin(0.3 + k * math.pi / 2) / math.factorial(k)),
    ("1/(1-x)", lambda x: 1.0 / (1.0 - x), 0.3, lambda k: 0.7 ** -(k + 1)),
    ("log(1+x)", lambda x: np.log(1.0 + x), 0.3,
     lambda k: math.log(1.3) if k == 0 else (-1) ** (k - 1) / (k * 1.3 ** k)),
    ("tanh", np.tanh, 0.0, _tanh_at_zero),
    ("sqrt", np.sqrt, 2.0, lambda k: ss.binom(0.5, k) * 2.0 ** (0.5 - k)),
    ("x**2.5", lambda x: x ** 2.5, 2.0, lambda k: ss.binom(2.5, k) * 2.0 ** (2.5 - k)),
    ("erf", ss.erf, 0.4, lambda k: math.erf(0.4) if k == 0 else 2 / math.sqrt(math.pi)
     * (-1) ** (k - 1) * ss.eval_hermite(k - 1, 0.4) * math.exp(-0.16) / math.factorial(k)),
]


@pytest.mark.parametrize("name, f, x0, coeff", COEFFICIENTS, ids=[c[0] for c in COEFFICIENTS])
def test_closed_forms_to_order_20(name, f, x0, coeff):
    got = cr.taylor(f, x0, 1.0, 20)
    want = [coeff(k) for k in range(21)]
    scale = max(abs(w) for w in want)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-13 * scale)


def test_derivatives_of_order_20_do_not_overflow_or_lose_precision():
    # 1/(1-x): f^(k)(x) = k! / (1-x)^(k+1), about 1e19 at k = 20
    d = cr.derivative(lambda x: 1.0 / (1.0 - x), 20)(0.3)
    assert np.isclose(d, math.factorial(20) / 0.7 ** 21, rtol=1e-12)


def test_against_nested_forward_mode():
    f = lambda x: np.exp(np.sin(x)) / (1 + x**2)  # noqa: E731
    for n in range(1, 5):
        assert np.isclose(cr.derivative(f, n)(0.5), nested_derivative(f, n)(0.5), rtol=1e-10)


def test_elementwise_arrays_and_types():
    x = np.array([0.1, 0.2, 0.3])
    d2 = cr.derivative(np.sin, 2)(x)
    assert isinstance(d2, np.ndarray) and np.allclose(d2, -np.sin(x))
    assert type(cr.derivative(np.exp, 3)(0.0)) is float
    assert cr.derivative(np.exp, 0)(1.0) == math.e


def test_jet_conventions_agree():
    f = lambda x: x**3  # noqa: E731
    out, (t1, t2, t3) = cr.jet(f, (2.0,), ([1.0, 0.0, 0.0],))
    assert (out, t1, t2, t3) == (8.0, 12.0, 12.0, 6.0)          # derivatives of (2 + t)^3
    out, (c1, c2, c3) = cr.jet(f, (2.0,), ([1.0, 0.0, 0.0],), normalized=True)
    assert (c1, c2, c3) == (12.0, 6.0, 1.0)                    # coefficients of (2 + t)^3


def test_taylor_along_a_direction():
    A = np.array([[2.0, 1.0], [0.0, 1.0]])
    f = lambda x: np.sum(np.tanh(A @ x))  # noqa: E731
    x, v = np.array([0.1, -0.2]), np.array([1.0, 2.0])
    coeffs = cr.taylor(f, x, v, 3)
    g = lambda t: f(x + t * v)  # noqa: E731
    for k, c in enumerate(coeffs):
        assert np.isclose(c, nested_derivative(g, k)(0.0) / math.factorial(k), rtol=1e-9)


def test_jet_errors():
    with pytest.raises(cr.ShapeMismatchError):
        cr.jet(np.sin, (np.ones(3),), ([np.ones(2)],))
    with pytest.raises(cr.ShapeMismatchError):
        cr.jet(lambda a, b: a * b, (1.0, 2.0), ([1.0], [1.0, 2.0]))
    with pytest.raises(cr.InvalidArgumentError):
        cr.derivative(np.sin, -1)


# -- composition with the other transformations -------------------------------------------------
F = lambda x: np.exp(np.sin(x)) / (1 + x**2)  # noqa: E731


def test_grad_of_a_taylor_derivative():
    assert np.isclose(cr.grad(lambda x: cr.derivative(F, 3)(x))(0.5),
                      cr.derivative(F, 4)(0.5), rtol=1e-12)


def test_taylor_derivative_of_a_gradient():
    assert np.isclose(cr.derivative(cr.grad(F), 3)(0.5), cr.derivative(F, 4)(0.5), rtol=1e-12)
    g = lambda x: np.sum(np.tanh(x) ** 2 * np.cumprod(x))  # noqa: E731
    x, v = np.array([0.3, 0.5, 0.7]), np.array([1.0, -0.5, 0.25])
    coeffs = cr.taylor(cr.grad(g), x, v, 3)
    line = lambda t: cr.grad(g)(x + t * v)  # noqa: E731
    for k, c in enumerate(coeffs):
        np.testing.assert_allclose(c, nested_derivative(line, k)(0.0) / math.factorial(k),
                                   rtol=1e-9, atol=1e-12)


def test_jvp_of_a_taylor_derivative():
    out, tangent = cr.jvp(cr.derivative(F, 2), (0.5,), (1.0,))
    assert np.isclose(out, cr.derivative(F, 2)(0.5)) and np.isclose(tangent,
                                                                   cr.derivative(F, 3)(0.5))


def test_vmap_of_a_taylor_derivative_and_back():
    xs = np.array([0.1, 0.5, -0.7])
    want = np.array([cr.derivative(F, 3)(x) for x in xs])
    np.testing.assert_allclose(cr.vmap(cr.derivative(F, 3))(xs), want, rtol=1e-12)
    np.testing.assert_allclose(cr.derivative(cr.vmap(F), 3)(xs), want, rtol=1e-12)


def test_jit_of_a_taylor_derivative():
    d4 = cr.jit(cr.derivative(F, 4))
    for x in (0.5, -0.2, 1.3):
        assert np.isclose(d4(x), cr.derivative(F, 4)(x), rtol=1e-12)
    assert d4.cache_info()["traces"] == 1


def test_cost_is_polynomial_in_the_order():
    # the staged program of the k-th derivative grows about like k^2 (nested AD: like 2^k)
    sizes = {k: len(cr.make_graph(cr.derivative(F, k))(0.5).eqns) for k in (4, 8, 16)}
    assert sizes[16] < 5 * sizes[8] < 25 * sizes[4], sizes
    assert np.isfinite(cr.derivative(F, 40)(0.5))


def test_zero_coefficients_stay_symbolic():
    assert cr.derivatives(lambda x: x**3 + 2 * x, 1.5, 5)[4:] == [0.0, 0.0]
    out, (c1, c2) = cr.jet(lambda x: np.sin(x), (0.5,), ([1.0, None],))
    assert np.isclose(c1, math.cos(0.5)) and np.isclose(c2, -math.sin(0.5))


def test_integer_powers_at_zero_are_exact():
    assert cr.derivatives(lambda x: x**3, 0.0, 4) == [0.0, 0.0, 0.0, 6.0, 0.0]
    assert cr.derivatives(lambda x: np.sqrt(x**2 + 1), 0.0, 2) == [1.0, 0.0, 1.0]


def test_primitives_without_a_taylor_rule_derive_one_from_their_jvp():
    cube_p = Primitive("test_cube")
    cube_p.impl = lambda x: x ** 3
    cube_p.jvp = lambda primals, tangents: (bind(cube_p, primals[0]),
                                            3 * primals[0] ** 2 * tangents[0])
    f = lambda x: bind(cube_p, np.sin(x))  # noqa: E731
    ds = cr.derivatives(f, 0.4, 5)
    for k, d in enumerate(ds):
        assert np.isclose(d, nested_derivative(lambda x: np.sin(x) ** 3, k)(0.4), rtol=1e-10)
