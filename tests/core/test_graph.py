import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Eqn, Graph, GraphTypeError, Var, eval_graph
from chainrule.ops import arithmetic as ar
from chainrule.ops import elementwise as el


def f(x, y):
    return np.sum(np.sin(x) * y) + np.sum(x)


def test_make_graph_prints_and_evaluates():
    x, y = np.linspace(0, 1, 4), np.arange(4.0)
    g = cr.make_graph(f)(x, y)
    text = str(g)
    assert "sin" in text and "reduce_sum" in text and "f64[4]" in text
    (out,) = eval_graph(g, [x, y])
    assert np.isclose(out, f(x, y))


def test_graph_is_differentiable_when_evaluated():
    x, y = np.linspace(0, 1, 4), np.arange(4.0)
    g = cr.make_graph(f)(x, y)
    grad_graph = cr.grad(lambda a: eval_graph(g, [a, y])[0])(x)
    assert np.allclose(grad_graph, np.cos(x) * y + 1)


def test_typecheck_catches_bad_avals():
    a = Var(cr.core.ShapedArray((3,), np.float64))
    wrong = Var(cr.core.ShapedArray((4,), np.float64))
    g = Graph([a], [Eqn(el.sin_p, [a], {}, [wrong])], [wrong])
    with pytest.raises(GraphTypeError):
        g.typecheck()


def test_typecheck_catches_use_before_definition():
    a = Var(cr.core.ShapedArray((3,), np.float64))
    b = Var(cr.core.ShapedArray((3,), np.float64))
    c = Var(cr.core.ShapedArray((3,), np.float64))
    g = Graph([a], [Eqn(ar.add_p, [a, b], {}, [c])], [c])
    with pytest.raises(GraphTypeError):
        g.typecheck()


def test_dead_code_is_removed():
    g = cr.make_graph(lambda x: (np.exp(x), np.sin(x))[1])(np.ones(2))
    assert "exp" not in str(g)
