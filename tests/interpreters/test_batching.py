"""vmap: semantics against a Python loop, composition with derivatives, and errors."""
import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(3)


def loop(f, xs, *rest):
    return np.stack([f(x, *rest) for x in xs])


@pytest.mark.parametrize("f, shape", [
    (lambda x: np.sin(x) * x, (4, 3)),
    (lambda x: np.sum(x**2, axis=0), (4, 3, 2)),
    (lambda x: x @ x.T, (4, 3, 2)),
    (lambda x: np.max(np.tanh(x)), (4, 5)),
    (lambda x: x.reshape(-1)[1:] - x.reshape(-1)[:-1], (3, 2, 2)),
    (lambda x: np.concatenate([x, 2 * x]).T, (5, 2, 3)),
    (lambda x: np.where(x > 0, x, -x), (6, 2)),
])
def test_vmap_matches_loop(f, shape):
    xs = RNG.standard_normal(shape)
    assert np.allclose(cr.vmap(f)(xs), loop(f, xs))


def test_in_axes_and_out_axes():
    f = lambda x, w: w @ x  # noqa: E731
    xs, w = RNG.standard_normal((3, 5)), RNG.standard_normal((2, 3))
    got = cr.vmap(f, in_axes=(1, None))(xs, w)
    assert np.allclose(got, loop(f, xs.T, w))
    got = cr.vmap(f, in_axes=(1, None), out_axes=1)(xs, w)
    assert np.allclose(got, loop(f, xs.T, w).T)
    tree = cr.vmap(lambda d: d["a"] * d["b"], in_axes=({"a": 0, "b": None},))(
        {"a": np.arange(6.0).reshape(3, 2), "b": np.array([1.0, -1.0])})
    assert np.allclose(tree, np.arange(6.0).reshape(3, 2) * [1.0, -1.0])


def test_unbatched_output_is_broadcast():
    assert np.allclose(cr.vmap(lambda x: 2.0)(np.ones(3)), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("outer", ["vmap_of_grad", "grad_of_vmap", "jacfwd_of_vmap"])
def test_vmap_composes_with_derivatives(outer):
    f = lambda x: np.sum(np.sin(x) ** 2)  # noqa: E731
    xs = RNG.standard_normal((4, 3))
    if outer == "vmap_of_grad":
        assert np.allclose(cr.vmap(cr.grad(f))(xs), 2 * np.sin(xs) * np.cos(xs))
    elif outer == "grad_of_vmap":
        g = cr.grad(lambda xs: np.sum(cr.vmap(f)(xs)))(xs)
        assert np.allclose(g, 2 * np.sin(xs) * np.cos(xs))
    else:
        jac = cr.jacfwd(cr.vmap(f))(xs)
        want = np.zeros((4, 4, 3))
        want[np.arange(4), np.arange(4)] = 2 * np.sin(xs) * np.cos(xs)
        assert np.allclose(jac, want)


def test_vmap_of_jit_and_jit_of_vmap():
    f = lambda x: np.sum(np.exp(x) * x)  # noqa: E731
    xs = RNG.standard_normal((3, 4))
    assert np.allclose(cr.vmap(cr.jit(f))(xs), loop(f, xs))
    assert np.allclose(cr.jit(cr.vmap(f))(xs), loop(f, xs))


def test_jacobian_chunks_agree():
    f = lambda x: np.tanh(np.outer(x, x)).ravel()  # noqa: E731
    x = RNG.standard_normal(5)
    full = cr.jacfwd(f)(x)
    for chunk in (1, 2, 5):
        assert np.allclose(cr.jacfwd(f, chunk_size=chunk)(x), full)
        assert np.allclose(cr.jacrev(f, chunk_size=chunk)(x), full)


def test_mode_choice_is_inspectable():
    tall = cr.jacobian(lambda p: np.sin(np.arange(100.0) * p[0]) + p[1])
    wide = cr.jacobian(lambda x: np.stack([np.sum(x), np.sum(x**2)]))
    tall(np.ones(2))
    wide(np.ones(100))
    assert tall.choice["mode"] == "fwd" and wide.choice["mode"] == "rev"
    jac, info = cr.jacobian(np.sin, explain=True)(np.ones(3))
    assert info["n_inputs"] == 3 and "reason" in info


def test_errors_name_the_argument():
    with pytest.raises(cr.InvalidArgumentError, match="in_axes has 1 entries"):
        cr.vmap(lambda x, y: x + y, in_axes=(0,))(np.ones(2), np.ones(2))
    with pytest.raises(cr.InvalidArgumentError, match="argument 0: 2.*argument 1: 3"):
        cr.vmap(lambda x, y: x + y)(np.ones(2), np.ones(3))
    with pytest.raises(cr.InvalidArgumentError, match="out of range for argument 1"):
        cr.vmap(lambda x, y: x + y, in_axes=(0, 2))(np.ones(2), np.ones(2))
    with pytest.raises(cr.InvalidArgumentError, match="prefix"):
        cr.vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": np.ones(2)})
    with pytest.raises(cr.ConcretizationError, match="np.where"):
        cr.vmap(lambda x: x if x > 0 else -x)(np.ones(3))
