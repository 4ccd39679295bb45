"""Nested differentiation: no perturbation confusion, closures, every mix of modes to third
order (after ForwardDiff's ConfusionTest and autograd's enclosing-scope tests)."""
import itertools

import numpy as np
import pytest

import chainrule as cr


def d_fwd(f):
    """Derivative of a scalar function in forward mode."""
    return lambda x: cr.jvp(f, (x,), (1.0,))[1]


def d_rev(f):
    return cr.grad(f)


def test_closure_over_outer_variable():
    # d/dx [x * d/dy (x + y)] at x = 1 is 1 (a confused implementation gives 2)
    for outer, inner in itertools.product([d_fwd, d_rev], repeat=2):
        assert outer(lambda x: x * inner(lambda y: x + y)(1.0))(1.0) == 1.0


def test_closure_used_at_the_outer_point():
    # d/dx [ d/dy (x * y) at y = x ] = d/dx x = 1
    for outer, inner in itertools.product([d_fwd, d_rev], repeat=2):
        assert outer(lambda x: inner(lambda y: x * y)(x))(2.0) == 1.0


def test_siskind_pearlmutter():
    # D(x -> x * D(y -> x * y)(2))(3) = D(x -> x * x)(3) = 6
    for outer, inner in itertools.product([d_fwd, d_rev], repeat=2):
        assert outer(lambda x: x * inner(lambda y: x * y)(2.0))(3.0) == 6.0


def test_derivative_operator_reused():
    # one derivative operator closed over inside two nested uses of itself
    def D(f):
        return cr.grad(f)
    f = lambda x: D(lambda y: D(lambda z: x * y * z)(1.0))(1.0)  # noqa: E731  -> x
    assert D(f)(5.0) == 1.0


@pytest.mark.parametrize("modes", list(itertools.product([d_fwd, d_rev], repeat=3)))
def test_every_mix_of_modes_to_third_order(modes):
    # f = exp(2x) sin(x); closed-form third derivative
    f = lambda x: np.exp(2 * x) * np.sin(x)  # noqa: E731
    x = 0.7
    want = np.exp(2 * x) * (2 * np.sin(x) + 11 * np.cos(x))
    g = f
    for d in modes:
        g = d(g)
    assert np.isclose(g(x), want, rtol=1e-12)


def test_hessian_four_ways():
    A = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
    f = lambda x: np.sum(np.exp(A @ x)) + x @ A @ x  # noqa: E731
    x = np.array([0.1, -0.2, 0.3])
    want = A.T @ np.diag(np.exp(A @ x)) @ A + 2 * A
    for outer, inner in itertools.product([cr.jacfwd, cr.jacrev], repeat=2):
        assert np.allclose(outer(inner(f))(x), want)


def test_grad_of_jvp_of_vjp():
    f = lambda x: np.sin(x) * x  # noqa: E731

    def g(x):                       # u -> d/dx f at x, via vjp, then a jvp of it
        return cr.jvp(lambda z: cr.vjp(f, z)[1](1.0)[0], (x,), (1.0,))[1]   # f''(x)
    x = 0.4
    f3 = -3 * np.sin(x) - x * np.cos(x)    # f''' for f = x sin x
    assert np.isclose(cr.grad(g)(x), f3)


def test_tracer_escaping_into_another_transformation():
    leaked = []

    def f(x):
        leaked.append(x)
        return x * 2.0
    cr.grad(f)(1.0)
    with pytest.raises(cr.PerturbationConfusionError):
        cr.grad(lambda y: y * leaked[0])(1.0)


def test_constants_inside_nested_closures_are_constants():
    c = np.array([1.0, 2.0])
    f = lambda x: cr.grad(lambda y: np.sum(c * y * x))(x)  # noqa: E731  -> c * x
    assert np.allclose(cr.jacobian(f)(np.array([3.0, 4.0])), np.diag(c))


def test_nested_forward_mode_through_a_zero_tangent():
    # the zero-safe products of NaN-safe rules must not cut higher derivatives where the
    # primal passes through zero: f = 1/(1 + (x - 1/2)^2) has f''''(1/2) = 24
    f = lambda x: 1.0 / (1.0 + (x - 0.5) ** 2)  # noqa: E731
    fwd, rev = f, f
    for _ in range(4):
        fwd, rev = d_fwd(fwd), d_rev(rev)
    assert np.isclose(fwd(0.5), 24.0) and np.isclose(rev(0.5), 24.0)
    assert np.isclose(cr.derivative(f, 4)(0.5), 24.0)
    g = lambda x: np.sqrt(x**2 + 1.0) * x**2  # noqa: E731   g''(0) = 2
    assert np.isclose(d_fwd(d_fwd(g))(0.0), 2.0) and np.isclose(d_rev(d_fwd(g))(0.0), 2.0)
