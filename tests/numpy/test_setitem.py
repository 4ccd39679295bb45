"""Writing into traced arrays: x[idx] = v, x[idx] += v, np.add.at, out=, and the constructors
that make writable buffers (zeros_like, ones_like, full_like, empty_like, np.zeros(like=x)), in
forward and reverse mode, nested, staged and compiled; the aliasing rules; the errors."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import ConcretizationError, PerturbationConfusionError

from gradcases import case, ids, rand

M = rand(3, 4)
V = rand(5)


def fem_assembly(x):
    # a 1-d "stiffness" assembly: scatter-add of element contributions into a global vector
    n = x.shape[0]
    k = np.zeros_like(x)
    elems = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)
    for e, (i, j) in enumerate(elems):
        d = x[j] - x[i]
        k[i] += -d ** 3
        k[j] += d ** 3
    return k


def particles(x):
    # np.add.at with repeated indices: forces on particles from pair interactions
    pairs = np.array([[0, 1], [0, 2], [1, 2], [2, 3], [0, 1]])
    f = np.zeros(x.shape, like=x)
    d = x[pairs[:, 1]] - x[pairs[:, 0]]
    np.add.at(f, pairs[:, 0], np.sin(d))
    np.subtract.at(f, pairs[:, 1], np.sin(d))
    return f * x


def time_stepping(x):
    u = np.empty((4,) + x.shape, like=x)
    u[0] = x
    for t in range(1, 4):
        u[t] = u[t - 1] + 0.1 * np.sin(u[t - 1])
    return u


def write_into_input(x):
    x[0] = 2.0 * x[1]
    x[1:3] *= x[3]
    return x * x


def fill_constant(x):
    y = np.ones_like(x)
    y[1] = 5.0                 # a constant written into a buffer with no derivative yet
    y[[0, 2]] = x[[2, 0]]
    return y * x


GRAD_CASES = [
    case("int_index", lambda x: _put(x, 1, x[0] ** 2), V),
    case("slice", lambda x: _put(x, slice(1, 4), np.sin(x[:3])), V),
    case("negative_step", lambda x: _put(x, slice(None, None, -2), x[:3] ** 2), V),
    case("int_array", lambda x: _put(x, np.array([4, 0]), x[1:3] * 3), V),
    case("bool_mask", lambda x: _put(x, x > 0, 0.0), V),
    case("bool_mask_traced_value", lambda x: _put(x, x < 0, x[x < 0] ** 2), V),
    case("broadcast_value", lambda x: _put(x, (slice(None), 1), x[0, 0]), M),
    case("row", lambda x: _put(x, 1, x[2] * x[0]), M),
    case("ellipsis_newaxis", lambda x: _put(x, (Ellipsis, 0), x[:, 1] ** 2), M),
    case("two_arrays", lambda x: _put(x, ([0, 2], [3, 1]), x[1, :2]), M),
    case("iadd", lambda x: _iadd(x, slice(0, 2), x[2:4] ** 2), V),
    case("iadd_repeated", lambda x: _iadd(x, [0, 0, 1], x[2:]), V),
    case("zeros_like", lambda x: _into(np.zeros_like(x), 2, x[0] * x[1]) * x, V),
    case("empty_like", lambda x: _into(np.empty_like(x), slice(None), x ** 2), M),
    case("full_like", lambda x: _into(np.full_like(x, 0.5), 0, x[1]) * x, V),
    case("full_like_traced", lambda x: _into(np.full_like(x, x[0]), 1, 1.0) * x, V),
    case("zeros_like_constant_first", fill_constant, V),
    case("zeros_like_shape", lambda x: _into(np.zeros_like(x, shape=(2, 2)), 0, x[:2]), V),
    case("zeros_like_kw", lambda x: _into(np.zeros(3, like=x), 1, x[0] ** 3), V),
    case("ones_like_kw", lambda x: _into(np.ones((2, 3), like=x), (0, 0), x[0]) * x[:3], V),
    case("full_like_kw", lambda x: _into(np.full(3, 2.0, like=x), -1, x[1]) * x[:3], V),
    case("fem_assembly", fem_assembly, V),
    case("particles", particles, rand(4)),
    case("time_stepping", time_stepping, V),
    case("write_into_input", write_into_input, V),
]


def _put(x, idx, v):
    y = x.copy()
    y[idx] = v
    return y * x


def _iadd(x, idx, v):
    y = x.copy()
    y[idx] += v
    return y * x


def _into(buf, idx, v):
    buf[idx] = v
    return buf


@pytest.mark.parametrize("c", GRAD_CASES, ids=ids(GRAD_CASES))
def test_grads(c):
    c.check()


def test_repeated_indices_last_write_wins():
    def f(x):
        y = np.zeros_like(x)
        y[[0, 1, 0]] = x[:3]        # x[2] overwrites x[0] at position 0
        return y
    j = cr.jacrev(f)(V)
    np.testing.assert_array_equal(j, cr.jacfwd(f)(V))
    np.testing.assert_array_equal(j[0], [0, 0, 1, 0, 0])


@pytest.mark.parametrize("c", GRAD_CASES, ids=ids(GRAD_CASES))
def test_values_match_numpy(c):
    want = c.f(*[np.array(a, copy=True) for a in c.args])
    got = cr.jvp(c.f, tuple(np.array(a, copy=True) for a in c.args),
                 tuple(np.ones_like(a) for a in c.args))[0]
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("f", [fem_assembly, particles, time_stepping, write_into_input,
                               fill_constant], ids=lambda f: f.__name__)
def test_staged_and_compiled(f):
    x = rand(4)
    graph = cr.make_graph(f)(x)            # typechecks
    assert "setitem" in str(graph) or "scatter_add" in str(graph)
    g = cr.jit(cr.grad(lambda x: np.sum(f(x) ** 2)))
    np.testing.assert_allclose(g(x), cr.grad(lambda x: np.sum(f(x) ** 2))(x))


def test_second_order_and_hessian():
    f = lambda x: np.sum(fem_assembly(x) ** 2)  # noqa: E731
    h = cr.hessian(f)(V)
    np.testing.assert_allclose(h, h.T, atol=1e-9)
    np.testing.assert_allclose(cr.jacfwd(cr.grad(f))(V), cr.jacrev(cr.grad(f))(V), atol=1e-9)


def test_input_array_of_the_caller_is_not_changed():
    x = V.copy()
    cr.grad(lambda x: np.sum(write_into_input(x)))(x)
    np.testing.assert_array_equal(x, V)


def test_aliasing_rules():
    def f(x):
        y = x.copy()
        z = y            # the same object: sees the write
        w = y[1:]        # a new value (a view in NumPy): does not
        y[1] = 10.0 * x[0]
        assert z is y
        return z, w
    (z, w), (z_dot, w_dot) = cr.jvp(f, (V,), (np.ones(5),))
    np.testing.assert_allclose(z, np.r_[V[0], 10 * V[0], V[2:]])
    np.testing.assert_allclose(w, V[1:])
    np.testing.assert_allclose(z_dot, np.r_[1.0, 10.0, np.ones(3)])


def test_plain_buffer_refuses_a_traced_value():
    def f(x):
        buf = np.zeros(3)
        buf[:1] = x[:1]
        return buf.sum()
    with pytest.raises(ConcretizationError, match="zeros_like"):
        cr.grad(f)(V)

    def f0(x):
        buf = np.zeros(3)
        buf[0] = x[0]           # NumPy re-raises as ValueError; chainrule names it again
        return buf.sum()
    with pytest.raises(ConcretizationError, match="zeros_like") as info:
        cr.grad(f0)(V)
    assert isinstance(info.value.__cause__, ValueError)

    def g(x):
        buf = np.zeros(3)
        np.add.at(buf, [0], x[:1])
        return buf.sum()
    with pytest.raises(ConcretizationError, match="zeros_like"):
        cr.grad(g)(V)


def test_buffer_of_an_outer_differentiation():
    def f(x):
        buf = np.zeros_like(x)

        def inner(y):
            buf[0] = y          # y is traced by the inner grad, buf by the outer one
            return np.sum(buf)
        return cr.grad(inner)(x[0])
    with pytest.raises(PerturbationConfusionError, match="inside"):
        cr.grad(f)(V)


def test_outer_value_into_inner_buffer():
    def f(x):
        def inner(y):
            buf = np.zeros_like(y)
            buf[0] = x[1] * y[0]     # x belongs to the enclosing differentiation
            return np.sum(buf ** 2)
        return cr.grad(inner)(x)[0]
    np.testing.assert_allclose(cr.grad(f)(V)[1], 4 * V[1] * V[0])
