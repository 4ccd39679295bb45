"""Taylor mode: jet, derivative(s), taylor, against closed forms and nested forward mode."""
import math

import numpy as np
import pytest

import chainrule as cr


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
