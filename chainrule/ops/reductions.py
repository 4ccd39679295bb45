"""Reductions: reduce_sum, reduce_max, reduce_min, cumsum, argmax, argmin.

``axes`` is always a tuple of non-negative ints (the NumPy layer normalizes ``axis`` and handles
``keepdims`` with a reshape). Rules: ``*_jvp(primals, tangents, *, axes)``,
``*_transpose(ct, x, *, axes)``.
"""
import numpy as np

from ..core import Primitive, ShapedArray, bind, get_aval
from . import arithmetic as ar
from . import shape as sh
from ._define import def_zero


def _reduced_shape(shape, axes):
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def expand_reduced(y, shape, axes):
    """Broadcast a reduced value back over the reduced axes of ``shape``."""
    return sh.broadcast_to(sh.reshape(y, shape=_kept_shape(shape, axes)), shape)


# -- reduce_sum: linear ----------------------------------------------------------------------
reduce_sum_p = Primitive("reduce_sum", linear_in=(0,))
reduce_sum_p.impl = lambda x, *, axes: np.sum(x, axis=axes)


def _sum_dtype(dtype):
    return dtype if dtype.kind in "fc" else np.sum(np.zeros(1, dtype)).dtype


reduce_sum_p.abstract_eval = lambda x, *, axes: ShapedArray(
    _reduced_shape(x.shape, axes), _sum_dtype(x.dtype))


def reduce_sum(x, *, axes):
    return bind(reduce_sum_p, x, axes=tuple(axes))


reduce_sum_p.jvp = lambda primals, tangents, *, axes: (
    reduce_sum(primals[0], axes=axes), reduce_sum(tangents[0], axes=axes))


def reduce_sum_transpose(ct, x, *, axes):
    return (expand_reduced(ct, x.aval.shape, axes),)


reduce_sum_p.transpose = reduce_sum_transpose
reduce_sum_p.deriv_class = ("linear",)


# -- reduce_max / reduce_min: ties share the tangent equally ----------------------------------
def _def_extremum(name, impl):
    prim = Primitive(name)
    prim.impl = lambda x, *, axes: impl(x, axis=axes)
    prim.abstract_eval = lambda x, *, axes: ShapedArray(_reduced_shape(x.shape, axes), x.dtype)

    def jvp(primals, tangents, *, axes):
        (x,), (x_dot,) = primals, tangents
        y = bind(prim, x, axes=axes)
        mask = ar.eq(x, expand_reduced(y, get_aval(x).shape, axes))
        count = reduce_sum(mask, axes=axes)
        return y, ar.div(reduce_sum(ar.mul(x_dot, mask), axes=axes), count)
    jvp.__name__ = f"{name}_jvp"
    prim.jvp = jvp
    prim.deriv_class = ("nonlinear",)

    def op(x, *, axes):
        return bind(prim, x, axes=tuple(axes))
    return prim, op


reduce_max_p, reduce_max = _def_extremum("reduce_max", np.max)
reduce_min_p, reduce_min = _def_extremum("reduce_min", np.min)

# -- cumsum: linear; its transpose is the reversed cumulative sum -------------------------------
cumsum_p = Primitive("cumsum", linear_in=(0,))
cumsum_p.impl = lambda x, *, axis: np.cumsum(x, axis=axis)
cumsum_p.abstract_eval = lambda x, *, axis: ShapedArray(x.shape, _sum_dtype(x.dtype))


def cumsum(x, *, axis):
    return bind(cumsum_p, x, axis=axis)


cumsum_p.jvp = lambda primals, tangents, *, axis: (
    cumsum(primals[0], axis=axis), cumsum(tangents[0], axis=axis))


def cumsum_transpose(ct, x, *, axis):
    return (sh.flip(cumsum(sh.flip(ct, axis), axis=axis), axis),)


cumsum_p.transpose = cumsum_transpose
cumsum_p.deriv_class = ("linear",)


# -- argmax / argmin: integer results, no derivative ---------------------------------------------
def _arg_abstract(x, *, axis):
    shape = () if axis is None else tuple(d for i, d in enumerate(x.shape) if i != axis)
    return ShapedArray(shape, np.int64)


argmax_p, argmax = def_zero("argmax", lambda x, *, axis: np.argmax(x, axis=axis),
                            abstract_eval=_arg_abstract)
argmin_p, argmin = def_zero("argmin", lambda x, *, axis: np.argmin(x, axis=axis),
                            abstract_eval=_arg_abstract)
