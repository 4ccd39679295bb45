"""The core without the NumPy layer: primitives declared here, interpreters driven directly."""
import numpy as np
import pytest

from chainrule.core import (EscapedTracerError, Primitive, ShapedArray, Zero, bind,
                            get_aval, new_interpreter)
from chainrule.core.errors import MissingRuleError
from chainrule.interpreters.forward import JVPInterpreter, JVPTracer, jvp_flat
from chainrule.interpreters.partial_eval import linearize_flat
from chainrule.interpreters.reverse import vjp_flat

# a tiny private family, so these tests do not depend on chainrule.ops
twice_p = Primitive("twice", linear_in=(0,))
twice_p.impl = lambda x: 2.0 * x
twice_p.abstract_eval = lambda x: ShapedArray(x.shape, x.dtype)
twice_p.jvp = lambda primals, tangents: (bind(twice_p, primals[0]), bind(twice_p, tangents[0]))
twice_p.transpose = lambda ct, x: (bind(twice_p, ct),)

cube_p = Primitive("cube")
cube_p.impl = lambda x: x ** 3
cube_p.abstract_eval = lambda x: ShapedArray(x.shape, x.dtype)


def cube_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    # 3 x^2 x_dot, written with primitives: twice(x) * ... is avoided; scale_p does it
    return bind(cube_p, x), bind(scale_p, x_dot, bind(square3_p, x))


cube_p.jvp = cube_jvp

square3_p = Primitive("square3")          # 3 x^2, no derivative rule on purpose
square3_p.impl = lambda x: 3.0 * x * x
square3_p.abstract_eval = lambda x: ShapedArray(x.shape, x.dtype)

scale_p = Primitive("scale", linear_in=(0,))   # t * s, linear in t
scale_p.impl = lambda t, s: t * s
scale_p.abstract_eval = lambda t, s: ShapedArray(t.shape, t.dtype)
scale_p.transpose = lambda ct, t, s: (bind(scale_p, ct, s), None)


def test_bind_without_tracers_calls_impl():
    assert bind(twice_p, 3.0) == 6.0


def test_jvp_of_linear_and_nonlinear():
    outs, tans = jvp_flat(lambda xs: [bind(cube_p, xs[0])], [2.0], [1.0])
    assert outs == [8.0] and tans == [12.0]


def test_zero_tangent_skips_rule():
    # square3 has no JVP rule; with a Zero tangent it must never be asked for one
    outs, tans = jvp_flat(lambda xs: [bind(square3_p, xs[0])], [2.0],
                          [Zero(ShapedArray((), np.float64))])
    assert outs == [12.0] and type(tans[0]) is Zero


def test_missing_rule_is_named():
    with pytest.raises(MissingRuleError, match="square3"):
        jvp_flat(lambda xs: [bind(square3_p, xs[0])], [2.0], [1.0])


def test_linearize_then_transpose():
    outs, graph = linearize_flat(lambda xs: [bind(twice_p, bind(cube_p, xs[0]))], [2.0])
    assert outs == [16.0]
    text = str(graph)
    assert "scale" in text and "twice" in text and "cube" not in text   # only the linear part
    _, vjp = vjp_flat(lambda xs: [bind(twice_p, bind(cube_p, xs[0]))], [2.0])
    assert vjp([1.0]) == [24.0]


def test_escaped_tracer_is_an_error():
    leaked = []

    def f(xs):
        leaked.append(xs[0])
        return [xs[0]]
    jvp_flat(f, [1.0], [1.0])
    with pytest.raises(EscapedTracerError):
        bind(twice_p, leaked[0])


def test_levels_and_identity():
    with new_interpreter(JVPInterpreter) as outer:
        with new_interpreter(JVPInterpreter) as inner:
            assert inner.level == outer.level + 1
            t = JVPTracer(outer, 1.0, 1.0)
            assert not inner.owns(t)          # an enclosing tracer is a constant inside
            assert outer.owns(t)


def test_get_aval_weak_types():
    assert get_aval(1.0).weak_type and get_aval(1.0).dtype == np.float64
    assert not get_aval(np.float32(1.0)).weak_type
    assert get_aval(np.ones((2, 3))).shape == (2, 3)
