"""Reductions and scans: reduce_sum, reduce_max, reduce_min, reduce_prod, cumsum, cumprod,
argmax, argmin, argsort, argpartition, searchsorted, reduce_all, reduce_any.

``axes`` is always a tuple of non-negative ints (the NumPy layer normalizes ``axis`` and handles
``keepdims`` with a reshape). Rules: ``*_jvp(primals, tangents, *, axes)``,
``*_transpose(ct, x, *, axes)``. Products are differentiated without division, so zeros in the
input are exact at every order: the JVP of cumprod is a log-depth scan of the product rule,
and reduce_prod's uses the products of all the other elements (exclusive cumprods from both ends).
"""
import numpy as np

from ..core import Primitive, ShapedArray, bind, get_aval
from . import arithmetic as ar
from . import shape as sh
from . import _series as ser
from ._define import axes_batch, def_zero, linear_taylor, local_linear_taylor, to_front
from ._sparsity import extremum_sparsity, reduction_sparsity, scan_sparsity


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
reduce_sum_p.batch = axes_batch(reduce_sum_p)
reduce_sum_p.deriv_class = ("linear",)
reduce_sum_p.taylor = linear_taylor(reduce_sum_p)
reduce_sum_p.sparsity = reduction_sparsity


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
    prim.batch = axes_batch(prim)
    prim.deriv_class = ("nonlinear",)
    prim.taylor = local_linear_taylor(prim)   # the tie-averaged mask at the primal
    prim.sparsity = extremum_sparsity(impl)   # local mode: only the extrema are read

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
cumsum_p.batch = axes_batch(cumsum_p)
cumsum_p.deriv_class = ("linear",)
cumsum_p.taylor = linear_taylor(cumsum_p)
cumsum_p.sparsity = scan_sparsity


# -- reduce_prod and cumprod: the product rule, no division --------------------------------------
def _shift(x, k, axis, fill):
    """``x`` shifted by ``k`` along ``axis`` towards higher indices, ``fill`` coming in."""
    shape = get_aval(x).shape
    head_shape = tuple(k if i == axis else d for i, d in enumerate(shape))
    head = np.full(head_shape, fill, dtype=get_aval(x).dtype)
    body = sh.getitem(x, idx=tuple(slice(0, shape[axis] - k) if i == axis else slice(None)
                                   for i in range(len(shape))))
    return sh.concatenate([head, body], axis=axis)


cumprod_p = Primitive("cumprod")
cumprod_p.impl = lambda x, *, axis: np.cumprod(x, axis=axis)
cumprod_p.abstract_eval = lambda x, *, axis: ShapedArray(x.shape, _sum_dtype(x.dtype))


def cumprod(x, *, axis):
    return bind(cumprod_p, x, axis=axis)


def cumprod_jvp(primals, tangents, *, axis):
    # inclusive scan of (p, t) pairs under (p1, t1) o (p2, t2) = (p1 p2, t1 p2 + p1 t2)
    (x,), (x_dot,) = primals, tangents
    p, t = x, x_dot
    n, k = get_aval(x).shape[axis], 1
    while k < n:
        p_prev, t_prev = _shift(p, k, axis, 1), _shift(t, k, axis, 0)
        t = ar.add(ar.mul(t_prev, p), ar.mul(p_prev, t))
        p = ar.mul(p_prev, p)
        k *= 2
    return cumprod(x, axis=axis), t


cumprod_p.jvp = cumprod_jvp
cumprod_p.batch = axes_batch(cumprod_p)
cumprod_p.deriv_class = ("nonlinear",)


def cumprod_taylor(primals, series, *, axis):
    # the same log-depth scan as the JVP, on whole series (Cauchy products)
    (x,), (s,) = primals, series
    p = ser.full(x, s)
    n, k = get_aval(x).shape[axis], 1
    while k < n:
        prev = [None if c is None else _shift(c, k, axis, 1 if j == 0 else 0)
                for j, c in enumerate(p)]
        p = ser.mul_series(prev, p)
        k *= 2
    out = cumprod(x, axis=axis)
    return out, ser.finish(out, p[1:])


cumprod_p.taylor = cumprod_taylor
cumprod_p.sparsity = scan_sparsity

reduce_prod_p = Primitive("reduce_prod")
reduce_prod_p.impl = lambda x, *, axes: np.prod(x, axis=axes)
reduce_prod_p.abstract_eval = lambda x, *, axes: ShapedArray(
    _reduced_shape(x.shape, axes), _sum_dtype(x.dtype))


def reduce_prod(x, *, axes):
    return bind(reduce_prod_p, x, axes=tuple(axes))


def _to_last_axis(x, axes):
    """``x`` with ``axes`` moved to the end and merged into one axis."""
    shape = get_aval(x).shape
    kept = [i for i in range(len(shape)) if i not in axes]
    n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    x = sh.transpose(x, perm=kept + list(axes))
    return sh.reshape(x, shape=tuple(shape[i] for i in kept) + (n,))


def reduce_prod_jvp(primals, tangents, *, axes):
    (x,), (x_dot,) = primals, tangents
    xs = _to_last_axis(x, axes)
    last = get_aval(xs).ndim - 1
    before = _shift(cumprod(xs, axis=last), 1, last, 1)
    after = sh.flip(_shift(cumprod(sh.flip(xs, last), axis=last), 1, last, 1), last)
    others = ar.mul(before, after)          # the product of all the other elements
    y_dot = reduce_sum(ar.mul(_to_last_axis(x_dot, axes), others), axes=(last,))
    return reduce_prod(x, axes=axes), y_dot


reduce_prod_p.jvp = reduce_prod_jvp
reduce_prod_p.batch = axes_batch(reduce_prod_p)
reduce_prod_p.deriv_class = ("nonlinear",)


def reduce_prod_taylor(primals, series, *, axes):
    # a log-depth tree of Cauchy products over the reduced elements (exact with zeros)
    (x,), (s,) = primals, series
    out = reduce_prod(x, axes=axes)
    p = [None if c is None else _to_last_axis(c, axes) for c in ser.full(x, s)]
    shape = get_aval(p[0]).shape
    n, last = shape[-1], len(shape) - 1
    if n == 0:
        return out, None
    lead = (slice(None),) * last
    while n > 1:
        if n % 2:
            pad = shape[:-1] + (1,)
            p = [None if c is None else sh.concatenate(
                [c, np.full(pad, 1 if j == 0 else 0, get_aval(c).dtype)], axis=last)
                for j, c in enumerate(p)]
            n += 1
        even = [None if c is None else sh.getitem(c, idx=lead + (slice(0, None, 2),)) for c in p]
        odd = [None if c is None else sh.getitem(c, idx=lead + (slice(1, None, 2),)) for c in p]
        p = ser.mul_series(even, odd)
        n //= 2
    out_shape = get_aval(out).shape
    return out, ser.finish(out, [None if c is None else sh.reshape(c, shape=out_shape)
                                 for c in p[1:]])


reduce_prod_p.taylor = reduce_prod_taylor
reduce_prod_p.sparsity = reduction_sparsity


# -- argmax / argmin: integer results, no derivative ---------------------------------------------
def _arg_abstract(x, *, axis):
    shape = () if axis is None else tuple(d for i, d in enumerate(x.shape) if i != axis)
    return ShapedArray(shape, np.int64)


argmax_p, argmax = def_zero("argmax", lambda x, *, axis: np.argmax(x, axis=axis),
                            abstract_eval=_arg_abstract, batch=axes_batch)
argmin_p, argmin = def_zero("argmin", lambda x, *, axis: np.argmin(x, axis=axis),
                            abstract_eval=_arg_abstract, batch=axes_batch)


def _argsort_abstract(x, *, axis):
    return ShapedArray(x.shape, np.int64)


argsort_p, argsort = def_zero("argsort", lambda x, *, axis: np.argsort(x, axis=axis,
                                                                       kind="stable"),
                              abstract_eval=_argsort_abstract, batch=axes_batch)


def _argpartition_abstract(x, *, kth, axis):
    return ShapedArray(x.shape, np.int64)


# NumPy's own arrangement (introselect), slice by slice along axis, at run time
argpartition_p, argpartition = def_zero(
    "argpartition", lambda x, *, kth, axis: np.argpartition(x, kth, axis=axis),
    abstract_eval=_argpartition_abstract, batch=axes_batch)


def _searchsorted_abstract(a, v, *, side):
    return ShapedArray(v.shape, np.int64)


def _searchsorted_batch(prim):
    def batch(vals, dims, *, side):
        (a, v), (da, dv) = vals, dims
        if da is None:
            return searchsorted(a, to_front(v, dv), side=side), 0
        a = to_front(a, da)
        size = get_aval(a).shape[0]
        v = v if dv is None else to_front(v, dv)
        outs = [searchsorted(sh.getitem(a, idx=(i,)), v if dv is None else
                             sh.getitem(v, idx=(i,)), side=side) for i in range(size)]
        return sh.concatenate([sh.reshape(o, shape=(1,) + get_aval(o).shape) for o in outs],
                              axis=0), 0
    return batch


searchsorted_p, searchsorted = def_zero(
    "searchsorted", lambda a, v, *, side: np.searchsorted(a, v, side=side), 2,
    abstract_eval=_searchsorted_abstract, batch=_searchsorted_batch)


def _bool_reduce_abstract(x, *, axes):
    return ShapedArray(_reduced_shape(x.shape, axes), np.bool_)


reduce_all_p, reduce_all = def_zero("reduce_all", lambda x, *, axes: np.all(x, axis=axes),
                                    abstract_eval=_bool_reduce_abstract, batch=axes_batch)
reduce_any_p, reduce_any = def_zero("reduce_any", lambda x, *, axes: np.any(x, axis=axes),
                                    abstract_eval=_bool_reduce_abstract, batch=axes_batch)
