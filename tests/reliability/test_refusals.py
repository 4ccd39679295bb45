"""Silent answers refused or corrected, with JAX's choices (issue #18): has_aux without a pair,
cotangents of the wrong dtype or shape, repeated argnums, the derivative's dtype and type."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.core.errors import InvalidArgumentError, ShapeMismatchError


def test_vjp_has_aux_requires_a_pair():
    with pytest.raises(InvalidArgumentError, match="tuple"):
        cr.vjp(lambda x: x * 2.0, np.ones(2), has_aux=True)
    out, fn, aux = cr.vjp(lambda x: (x * 2.0, "note"), np.ones(2), has_aux=True)
    assert aux == "note" and np.all(fn(np.ones(2))[0] == 2.0)


def test_vjp_checks_cotangent_shape_and_dtype():
    _, fn = cr.vjp(lambda x: x * 2.0, np.ones(2))
    with pytest.raises(ShapeMismatchError, match="dtype int"):
        fn(np.ones(2, int))
    with pytest.raises(ShapeMismatchError, match="shape"):
        fn(np.ones(3))
    with pytest.raises(ShapeMismatchError, match="structure"):
        fn((np.ones(2),))
    np.testing.assert_array_equal(fn(np.array([1.0, 3.0]))[0], [2.0, 6.0])


def test_repeated_argnums_are_refused():
    for transform in (cr.grad, cr.value_and_grad, cr.jacobian, cr.hessian):
        with pytest.raises(InvalidArgumentError, match="twice"):
            transform(lambda a, b: a * b, argnums=(0, 0))(1.0, 2.0)
    assert cr.grad(lambda a, b: a * b, argnums=(0, 1))(3.0, 2.0) == (2.0, 3.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_derivatives_have_the_input_dtype(dtype):
    x = np.array([1.0, 2.0], dtype)
    f = lambda x: np.sum(x * np.float64(2.0) + np.array([0.5, 1.5]) * x ** 2)   # noqa: E731
    g = cr.grad(f)(x)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, 2.0 + 2 * np.array([0.5, 1.5]) * x, rtol=1e-6)
    assert cr.jacobian(lambda x: x * np.float64(3.0))(x).dtype == dtype
    assert cr.hessian(f)(x).dtype == dtype
    assert cr.vjp(lambda x: x * np.float64(3.0), x)[1](np.ones(2))[0].dtype == dtype


def test_scalar_derivatives_of_python_floats_are_python_floats():
    f = lambda x: x ** 3    # noqa: E731
    for d in (cr.grad(f)(2.0), cr.jacobian(f)(2.0), cr.jacfwd(f)(2.0), cr.jacrev(f)(2.0),
              cr.hessian(f)(2.0), cr.derivative(f, 2)(2.0)):
        assert type(d) is float
    assert cr.hessian(f)(2.0) == 12.0 and cr.jacobian(f)(2.0) == 12.0
    for d in (cr.grad(f)(np.array(2.0)), cr.jacobian(f)(np.array(2.0)),
              cr.hessian(f)(np.array(2.0))):
        assert isinstance(d, np.ndarray) and d.shape == ()
