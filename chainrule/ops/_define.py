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
    elementwise_batch(prim)             batching rule (vmap) of a broadcasting elementwise op;
    axes_batch(prim)                    of a reduction or scan with an ``axes``/``axis`` param
                                        (the vmapped axis goes to the front, axes shift by one)
"""
import contextlib
import functools

import numpy as np

from ..core import Primitive, ShapedArray, Zero, bind, get_aval, tangent_aval
from . import arithmetic as ar
from . import shape as sh


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
        if len(avals) == 2 and not params:      # the hot path: binary arithmetic
            a, b = avals
            key = (a.dtype, a.weak_type, b.dtype, b.weak_type)
            dtype = dtypes.get(key)
            if dtype is not None:
                shape = a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape)
                return ShapedArray(shape, dtype, a.weak_type and b.weak_type)
            dtype = dtypes[key] = _result_dtype(impl, ((a.dtype, a.weak_type),
                                                       (b.dtype, b.weak_type)), ())
            return abstract_eval(*avals)
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


# -- batching (vmap): rules ``batch(vals, dims, **params) -> (out, out_dim)`` --------------------
def to_front(x, d):
    """``x`` with its axis ``d`` moved to the front."""
    if d == 0:
        return x
    nd = get_aval(x).ndim
    return sh.transpose(x, perm=(d,) + tuple(i for i in range(nd) if i != d))


def batch_size(vals, dims):
    return next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)


def elementwise_batch(prim):
    """Batched operands get the vmapped axis in front and ones up to the broadcast rank;
    unbatched operands broadcast against the trailing axes as they are."""
    def batch(vals, dims, **params):
        size = batch_size(vals, dims)
        rank = max(get_aval(v).ndim - (d is not None) for v, d in zip(vals, dims))
        args = []
        for v, d in zip(vals, dims):
            if d is not None:
                v = to_front(v, d)
                shape = get_aval(v).shape[1:]
                v = sh.reshape(v, shape=(size,) + (1,) * (rank - len(shape)) + shape)
            args.append(v)
        return bind(prim, *args, **params), 0
    batch.__name__ = f"{prim.name}_batch"
    return batch


def axes_batch(prim):
    """For ``prim(x, *, axes=tuple)`` or ``prim(x, *, axis=int or None)`` (None: flattened)."""
    def batch(vals, dims, **params):
        (x,), (d,) = vals, dims
        x = to_front(x, d)
        if "axes" in params:
            params["axes"] = tuple(a + 1 for a in params["axes"])
        elif params.get("axis") is None:
            shape = get_aval(x).shape
            x = sh.reshape(x, shape=(shape[0], int(np.prod(shape[1:], dtype=np.int64))))
            params["axis"] = 1
        else:
            params["axis"] += 1
        return bind(prim, x, **params), 0
    batch.__name__ = f"{prim.name}_batch"
    return batch


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
    prim.batch = elementwise_batch(prim)
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
    prim.batch = elementwise_batch(prim)
    prim.deriv_class = ("nonlinear", "nonlinear", "cross")

    def op(x, y):
        return bind(prim, x, y)
    op.__name__ = name
    return prim, op


def def_zero(name, impl, nargs=1, abstract_eval=None, batch=None):
    """A primitive whose derivative is zero wherever it exists (piecewise constant);
    elementwise unless ``abstract_eval`` and ``batch`` (a function of the primitive) say
    otherwise."""
    prim = Primitive(name)
    prim.impl = impl
    prim.abstract_eval = abstract_eval or elementwise_abstract(impl)
    prim.batch = (batch or elementwise_batch)(prim)

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
