"""Regressions of issue 16: four results that were wrong (each against JAX in float64), and
error messages that must say what to write instead."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.special
import scipy.stats

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ComplexOutputError, ConcretizationError, NonScalarOutputError
from chainrule.core.errors import UnsupportedFunctionError

jax.config.update("jax_enable_x64", True)


# -- wrong results ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
@pytest.mark.parametrize("x", [0.4, -1.5, 3.0])
def test_logaddexp_second_derivative_at_a_finite_tie(name, x):
    f, jf = getattr(np, name), getattr(jnp, name)
    want2 = jax.grad(jax.grad(lambda t: jf(t, x)))(x)
    want_mixed = jax.grad(jax.grad(lambda t, u: jf(t, u), argnums=0), argnums=1)(x, x)
    np.testing.assert_allclose(cr.grad(cr.grad(lambda t: f(t, x)))(x), want2, rtol=1e-12)
    np.testing.assert_allclose(cr.grad(cr.grad(lambda t, u: f(t, u), argnums=0), argnums=1)(x, x),
                               want_mixed, rtol=1e-12)
    np.testing.assert_allclose(cr.derivatives(lambda t: f(t, x), x, 2)[2], want2, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.hessian(lambda t: f(t, x)))(x), want2, rtol=1e-12)
    assert want2 == pytest.approx(0.25 if name == "logaddexp" else math.log(2) / 4)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_infinite_ties_stay_finite(name):
    f = getattr(np, name)
    for v in (-np.inf, np.inf):
        with np.errstate(invalid="ignore"):
            assert cr.grad(lambda t: f(t, v))(v) == 0.5


@pytest.mark.parametrize("fn", [cnp.absolute, cnp.abs, np.absolute, np.abs])
def test_absolute_of_complex_input(fn):
    z, dz = 0.4 + 0.3j, 1.0 + 0.5j
    _, want = jax.jvp(jnp.abs, (jnp.complex128(z),), (jnp.complex128(dz),))
    _, got = cr.jvp(fn, (np.complex128(z),), (np.complex128(dz),))
    assert np.isrealobj(got)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    zs = np.array([0.4 + 0.3j, -1.0 + 2.0j])
    np.testing.assert_allclose(cr.vjp(fn, zs)[1](np.ones(2))[0],
                               jax.vjp(jnp.abs, jnp.asarray(zs))[1](jnp.ones(2))[0], rtol=1e-12)


def test_grad_of_a_complex_output_raises_like_jax():
    f = lambda x: x * (1 + 2j)  # noqa: E731
    with pytest.raises(TypeError):
        jax.grad(lambda x: x * (1 + 2j))(1.0)
    for transform in (cr.grad, cr.value_and_grad):
        with pytest.raises(ComplexOutputError, match="holomorphic=True"):
            transform(f)(1.0)
    with pytest.raises(TypeError):      # ComplexOutputError is a TypeError, as JAX's
        cr.grad(f)(1.0)


def test_holomorphic_grad_matches_jax():
    f_np = lambda z: np.sin(z) * z ** 2 + np.exp(z)  # noqa: E731
    f_jax = lambda z: jnp.sin(z) * z ** 2 + jnp.exp(z)  # noqa: E731
    z = 0.3 + 0.7j
    for order in (1, 2):
        g_cr, g_jax = f_np, f_jax
        for _ in range(order):
            g_cr, g_jax = cr.grad(g_cr, holomorphic=True), jax.grad(g_jax, holomorphic=True)
        np.testing.assert_allclose(g_cr(np.complex128(z)), g_jax(jnp.complex128(z)), rtol=1e-12)
    v, g = cr.value_and_grad(f_np, holomorphic=True)(np.complex128(z))
    np.testing.assert_allclose(v, f_np(z))
    np.testing.assert_allclose(g, jax.grad(f_jax, holomorphic=True)(jnp.complex128(z)))
    with pytest.raises(ComplexOutputError, match="complex inputs"):
        cr.grad(f_np, holomorphic=True)(0.5)
    with pytest.raises(ComplexOutputError, match="complex output"):
        cr.grad(lambda z: np.abs(z), holomorphic=True)(np.complex128(z))


def lorenz_np(u, sigma=10.0, rho=28.0, beta=8 / 3):
    x, y, z = u
    return cnp.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def test_array_of_traced_scalars():
    u = np.array([1.0, 2.0, 3.0])
    want = jax.jacfwd(lambda u: jnp.array([10.0 * (u[1] - u[0]), u[0] * (28.0 - u[2]) - u[1],
                                           u[0] * u[1] - 8 / 3 * u[2]]))(u)
    for jac in (cr.jacfwd, cr.jacrev, cr.jacobian):
        np.testing.assert_allclose(jac(lorenz_np)(u), want, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.jacfwd(lorenz_np))(u), want, rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.jacfwd(lorenz_np))(np.stack([u, u])), [want, want])
    # np.array of a list cannot be intercepted by NumPy's protocols: the error names cnp.array
    with pytest.raises(ConcretizationError, match=r"chainrule\.numpy\.array"):
        cr.jacfwd(lambda u: np.array([u[0], u[1] * u[2]]))(u)


def test_grad_of_an_output_with_one_element():
    # PyTorch and autograd accept shape (1,) and (1, 1); chainrule does too (JAX refuses)
    x = np.array([0.5, -1.0])
    want = 2 * x
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x ** 2, keepdims=True))(x), want)
    np.testing.assert_allclose(cr.grad(lambda x: np.reshape(x @ x, (1, 1)))(x), want)
    with pytest.raises(NonScalarOutputError, match="shape"):
        cr.grad(lambda x: x ** 2)(x)


# -- error messages ------------------------------------------------------------------------------
def test_scipy_special_ufunc_is_named_as_such():
    with pytest.raises(UnsupportedFunctionError) as info:
        cr.grad(lambda x: scipy.special.ellipkm1(x))(0.5)
    assert "scipy.special.ellipkm1" in str(info.value) and "numpy.ellipkm1" not in str(info.value)


def test_scipy_modules_are_named_only_if_they_exist():
    with pytest.raises(ConcretizationError) as info:
        cr.grad(lambda x: scipy.integrate.quad(lambda t: t * x, 0, 1)[0])(1.0)
    msg = str(info.value)
    assert "scipy.integrate" in msg and "chainrule.scipy.integrate" not in msg
    with pytest.raises(ConcretizationError, match=r"use chainrule\.scipy\.optimize"):
        cr.grad(lambda x: scipy.optimize.rosen(x))(np.ones(3))


def test_grad_of_a_pytree_output_says_what_to_return():
    with pytest.raises(NonScalarOutputError, match="returned a list of 2"):
        cr.grad(lambda x: [x, x ** 2])(1.0)
    loss_aux = lambda x: (np.sum(x ** 2), x)  # noqa: E731
    with pytest.raises(NonScalarOutputError, match="has_aux=True"):
        cr.grad(loss_aux)(np.ones(2))
    g, aux = cr.grad(loss_aux, has_aux=True)(np.ones(2))
    np.testing.assert_allclose(g, 2 * np.ones(2))


def test_math_functions_suggest_numpy():
    with pytest.raises(ConcretizationError, match=r"np\.sin\(x\)"):
        cr.grad(lambda x: math.sin(x))(1.0)


def test_sparse_hint_names_the_keyword():
    def f(x):
        return x * 2 if x[0] > 0 else x
    with pytest.raises(ConcretizationError, match="sparsity='local'"):
        cr.sparse_jacobian(f, np.ones(3))
    np.testing.assert_allclose(cr.sparse_jacobian(f, np.ones(3), sparsity="local").toarray(),
                               2 * np.eye(3))
