"""Family helpers: declare a primitive and derive its rules from one line.

    def_unary(name, impl, deriv, singular=False)
                                        elementwise, differentiable: deriv(x, y) is dy/dx written
                                        with chainrule ops (y = impl(x) is the output, for rules
                                        like tanh' = 1 - y**2); JVP is t * deriv(x, y).
                                        singular=True where deriv can be infinite (sqrt, log at
                                        0): the product is zero-safe (ar.safe_mul), so a zero
                                        tangent or cotangent gives 0, never 0 * inf = NaN
    def_binary(name, impl, deriv0, deriv1, singular=False)
                                        the same for two broadcasting arguments: deriv0(x, y, out)
                                        and deriv1(x, y, out) are the partial derivatives
    def_zero(name, impl, nargs)         piecewise constant (floor, sign, comparisons, argmax):
                                        every tangent is a symbolic Zero
    elementwise_abstract(impl)          shape rule of a broadcasting elementwise op: NumPy's
                                        broadcasting and NumPy's own dtype resolution
"""
import contextlib
import functools

import numpy as np

from ..core import Primitive, ShapedArray, Zero, bind, get_aval, tangent_aval
from . import arithmetic as ar


@functools.lru_cache(maxsize=None)
def _result_dtype(impl, key, params_key):
    standins = [({"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}[dt.kind] if weak
                 else np.zeros((), dt)) for dt, weak in key]
    with np.errstate(all="ignore"):
        return np.result_type(impl(*standins, **dict(params_key)))


def elementwise_abstract(impl):
    """Shape rule for an elementwise op: broadcast shapes, dtype as NumPy resolves it."""
    dtypes = {}   # (dtype, weak_type) per argument -> result dtype: the hot path is one lookup

    def abstract_eval(*avals, **params):
        shape = avals[0].shape
        for a in avals[1:]:
            if a.shape != shape:
                shape = np.broadcast_shapes(*[a.shape for a in avals])
                break
        key = tuple((a.dtype, a.weak_type) for a in avals)
        if params:
            key += tuple(sorted(params.items()))
        dtype = dtypes.get(key)
        if dtype is None:
            dtype = dtypes[key] = _result_dtype(impl, key[:len(avals)],
                                                tuple(sorted(params.items())))
        return ShapedArray(shape, dtype, all(a.weak_type for a in avals))
    return abstract_eval


def quiet():
    """No floating-point warnings: for derivative factors that are infinite by design at a
    singular point (1/sqrt(0)), which the zero-safe products then apply harmlessly."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def def_unary(name, impl, deriv, singular=False):
    """An elementwise primitive of one argument with derivative ``deriv(x, y)``."""
    prim = Primitive(name)
    prim.impl = impl
    prim.abstract_eval = elementwise_abstract(impl)

    def jvp(primals, tangents):
        (x,), (x_dot,) = primals, tangents
        y = bind(prim, x)
        if not singular:
            return y, ar.mul(x_dot, deriv(x, y))
        with quiet():     # an infinite factor is expected (and made harmless by safe_mul)
            return y, ar.safe_mul(x_dot, deriv(x, y))
    jvp.__name__ = f"{name}_jvp"
    prim.jvp = jvp
    prim.deriv_class = ("nonlinear",)

    def op(x):
        return bind(prim, x)
    op.__name__ = name
    return prim, op


def def_binary(name, impl, deriv0, deriv1, singular=False):
    """An elementwise primitive of two broadcasting arguments with partial derivatives
    ``deriv0(x, y, out)`` and ``deriv1(x, y, out)``."""
    prim = Primitive(name)
    prim.impl = impl
    prim.abstract_eval = elementwise_abstract(impl)

    def jvp(primals, tangents):
        (x, y), (x_dot, y_dot) = primals, tangents
        out = bind(prim, x, y)
        scale = ar.safe_mul if singular else ar.mul
        with quiet() if singular else contextlib.nullcontext():
            x_term = None if type(x_dot) is Zero else scale(x_dot, deriv0(x, y, out))
            y_term = None if type(y_dot) is Zero else scale(y_dot, deriv1(x, y, out))
        return out, ar.sum_tangents(out, x_term, y_term)
    jvp.__name__ = f"{name}_jvp"
    prim.jvp = jvp
    prim.deriv_class = ("nonlinear", "nonlinear", "cross")

    def op(x, y):
        return bind(prim, x, y)
    op.__name__ = name
    return prim, op


def def_zero(name, impl, nargs=1, abstract_eval=None):
    """A primitive whose derivative is zero wherever it exists (piecewise constant)."""
    prim = Primitive(name)
    prim.impl = impl
    prim.abstract_eval = abstract_eval or elementwise_abstract(impl)

    def jvp(primals, tangents, **params):
        out = bind(prim, *primals, **params)
        return out, Zero(tangent_aval(get_aval(out)))
    jvp.__name__ = f"{name}_jvp"
    prim.jvp = jvp
    prim.deriv_class = ("zero",) * nargs

    def op(*args, **params):
        return bind(prim, *args, **params)
    op.__name__ = name
    return prim, op
