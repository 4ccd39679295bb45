"""The array surface of a tracer: what user code touches, under each interpreter."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Tracer


def inspect_under_grad(fn, x):
    """Run ``fn`` on the tracer that grad creates for ``x`` and return what it returned."""
    box = []

    def f(t):
        assert isinstance(t, Tracer)
        box.append(fn(t))
        return np.sum(t)
    cr.grad(f)(x)
    return box[0]


X = np.arange(6.0).reshape(2, 3)


@pytest.mark.parametrize("fn, want", [
    (lambda t: t.shape, (2, 3)),
    (lambda t: t.ndim, 2),
    (lambda t: t.size, 6),
    (lambda t: t.dtype, np.dtype(np.float64)),
    (lambda t: len(t), 2),
    (lambda t: t.T.shape, (3, 2)),
    (lambda t: np.shape(t), (2, 3)),
    (lambda t: np.ndim(t), 2),
])
def test_attributes(fn, want):
    assert inspect_under_grad(fn, X) == want


@pytest.mark.parametrize("method, closed_form", [
    (lambda t: t.sum(), lambda x: np.ones_like(x)),
    (lambda t: t.mean(axis=0).sum(), lambda x: np.full_like(x, 0.5)),
    (lambda t: (t * t).max(), lambda x: (x == x.max()) * 2 * x),
    (lambda t: (t * t).min(axis=1).sum(), lambda x: (x == x.min(axis=1, keepdims=True)) * 2 * x),
    (lambda t: t.reshape(3, 2)[0, 1] * 2, lambda x: np.eye(1, 6, 1).reshape(2, 3) * 2),
    (lambda t: t.reshape((6,))[-1], lambda x: np.eye(1, 6, 5).reshape(2, 3)),
    (lambda t: t.transpose()[2, 1], lambda x: np.eye(1, 6, 5).reshape(2, 3)),
    (lambda t: t.ravel().dot(np.arange(6.0)), lambda x: np.arange(6.0).reshape(2, 3)),
    (lambda t: sum(row.sum() * i for i, row in enumerate(t)), lambda x: [[0.0] * 3, [1.0] * 3]),
    (lambda t: t.astype(np.float32).astype(float).sum(), lambda x: np.ones_like(x)),
    (lambda t: (2.0 - t / 4.0 + (-t) ** 2).sum(),
     lambda x: -0.25 + 2 * x),
    (lambda t: (t @ np.ones(3)).sum() + abs(t[0, 0] - 9.0), lambda x: np.ones_like(x) - np.eye(1, 6, 0).reshape(2, 3)),
])
def test_methods_and_operators_differentiate(method, closed_form):
    g = cr.grad(method)(X)
    assert np.allclose(g, closed_form(X))


def test_comparisons_and_bool_in_eager_mode():
    out = inspect_under_grad(lambda t: (t > 2.0, bool(t[0, 0] == 0.0), t[1, 2] >= 5.0), X)
    mask, first, last = out
    assert isinstance(mask, np.ndarray) and mask.dtype == bool
    assert mask.tolist() == (X > 2.0).tolist() and first is True and bool(last)


def test_repr_shows_aval():
    assert "f64[2,3]" in inspect_under_grad(repr, X)


def test_conversions_refuse():
    for conv in (float, int, complex):
        with pytest.raises(cr.ConcretizationError):
            inspect_under_grad(lambda t: conv(t[0, 0]), X)
    with pytest.raises(cr.ConcretizationError):
        inspect_under_grad(lambda t: t.item(), X)
    with pytest.raises(cr.ConcretizationError):
        inspect_under_grad(lambda t: np.array(t), X)
    with pytest.raises(cr.ConcretizationError, match="index"):
        inspect_under_grad(lambda t: [1, 2, 3][t[0, 0]], X)


def test_staged_values_have_no_concrete_value():
    with pytest.raises(cr.ConcretizationError):
        cr.make_graph(lambda x: 1.0 if x > 0 else 0.0)(1.0)
