"""Gathers whose indices are values of the program (sort, quantiles, interp, x[i] with a
traced i): staged and batched like any primitive instead of read as constants.

    take_along(x, idx, *, axis)             np.take_along_axis; idx has x's shape except along
                                            axis; linear in x, piecewise constant in idx
    scatter_along(ct, idx, *, axis, shape)  its transpose: ct added into zeros(shape) at idx

    take_along_jvp:   (take_along(x, idx), take_along(x_dot, idx))
    take_along_T:     x_bar = scatter_along(ct, idx)
    scatter_along_T:  ct_bar = take_along(ct, idx)
"""
import numpy as np

from ..core.arrays import is_foreign
from ..core.errors import LazyArrayError
from ..core import Primitive, ShapedArray, Zero, bind, get_aval, is_undefined
from . import shape as sh
from . import arithmetic as ar
from ._define import batch_size, to_front
from ._sparsity import _bool_matrix, _ids


def _take_along_impl(x, idx, *, axis):
    return np.take_along_axis(x, idx, axis)


def _scatter_along_impl(ct, idx, *, axis, shape):
    if is_foreign(ct):
        raise LazyArrayError(
            f"the derivative of a gather along an axis (sort, quantile, take_along_axis) adds "
            f"at traced indices, which a {type(ct).__name__} cannot do lazily; compute the "
            "array first")
    out = np.zeros(shape, ct.dtype)
    where = list(np.indices(idx.shape, sparse=True))
    where[axis] = idx
    np.add.at(out, tuple(where), ct)
    return out


take_along_p = Primitive("take_along", linear_in=(0,))
take_along_p.impl = _take_along_impl
take_along_p.abstract_eval = lambda x, idx, *, axis: ShapedArray(idx.shape, x.dtype)
scatter_along_p = Primitive("scatter_along", linear_in=(0,))
scatter_along_p.impl = _scatter_along_impl
scatter_along_p.abstract_eval = lambda ct, idx, *, axis, shape: ShapedArray(shape, ct.dtype)


def take_along(x, idx, *, axis):
    """``(..., n, ...)`` and integer ``idx`` ``(..., m, ...)`` (x's shape except along ``axis``)
    -> ``(..., m, ...)``: ``np.take_along_axis``; ``idx`` may be traced."""
    return bind(take_along_p, x, idx, axis=axis)


def scatter_along(ct, idx, *, axis, shape):
    """``ct`` (idx's shape) added into zeros of ``shape`` at ``idx`` along ``axis``."""
    return bind(scatter_along_p, ct, idx, axis=axis, shape=tuple(shape))


def take_along_jvp(primals, tangents, *, axis):
    (x, idx), (x_dot, _) = primals, tangents
    out = take_along(x, idx, axis=axis)
    if type(x_dot) is Zero:
        return out, Zero(get_aval(out))
    return out, take_along(x_dot, idx, axis=axis)


def take_along_transpose(ct, x, idx, *, axis):
    if type(ct) is Zero or not is_undefined(x):
        return None, None
    return scatter_along(ct, idx, axis=axis, shape=x.aval.shape), None


def scatter_along_jvp(primals, tangents, *, axis, shape):
    (ct, idx), (ct_dot, _) = primals, tangents
    out = scatter_along(ct, idx, axis=axis, shape=shape)
    if type(ct_dot) is Zero:
        return out, Zero(get_aval(out))
    return out, scatter_along(ct_dot, idx, axis=axis, shape=shape)


def scatter_along_transpose(ct_out, ct, idx, *, axis, shape):
    if type(ct_out) is Zero or not is_undefined(ct):
        return None, None
    return take_along(ct_out, idx, axis=axis), None


def _front(vals, dims):
    """Both operands with the vmapped axis in front (an unbatched one broadcast to it)."""
    size = batch_size(vals, dims)
    return [sh.broadcast_to(v, (size,) + get_aval(v).shape) if d is None else to_front(v, d)
            for v, d in zip(vals, dims)], size


def take_along_batch(vals, dims, *, axis):
    (x, idx), size = _front(vals, dims)
    return take_along(x, idx, axis=axis + 1), 0


def scatter_along_batch(vals, dims, *, axis, shape):
    (ct, idx), size = _front(vals, dims)
    return scatter_along(ct, idx, axis=axis + 1, shape=(size,) + tuple(shape)), 0


def _series_map(prim):
    def taylor(primals, series, **params):
        (x, idx), (s, _) = primals, series
        out = bind(prim, x, idx, **params)
        return out, [c if type(c) is Zero else bind(prim, c, idx, **params) for c in s]
    taylor.__name__ = f"{prim.name}_taylor"
    return taylor


take_along_p.jvp, take_along_p.transpose = take_along_jvp, take_along_transpose
take_along_p.batch, take_along_p.taylor = take_along_batch, _series_map(take_along_p)
take_along_p.deriv_class = ("linear", "zero")
scatter_along_p.jvp, scatter_along_p.transpose = scatter_along_jvp, scatter_along_transpose
scatter_along_p.batch, scatter_along_p.taylor = scatter_along_batch, _series_map(scatter_along_p)
scatter_along_p.deriv_class = ("linear", "zero")


def take_along_sparsity(out_aval, avals, values, *, axis):
    """Known indices: the element each output reads; unknown: every element along ``axis``."""
    x_aval = avals[0]
    labels = _ids(x_aval.size, x_aval.shape)
    if values[1] is not None:
        return [np.take_along_axis(labels, np.asarray(values[1]), axis).ravel(), None]
    out_ids = _ids(out_aval.size).ravel()
    cols = [np.broadcast_to(np.take(labels, [k], axis=axis), out_aval.shape).ravel()
            for k in range(x_aval.shape[axis])]
    return [_bool_matrix(np.tile(out_ids, len(cols)), np.concatenate(cols),
                         (out_aval.size, x_aval.size)), None]


def scatter_along_sparsity(out_aval, avals, values, *, axis, shape):
    """Known indices: each ``ct`` element adds to one output element; unknown: to every element
    along ``axis``."""
    ct_aval = avals[0]
    out_labels = _ids(out_aval.size, out_aval.shape)
    ct_ids = _ids(ct_aval.size).ravel()
    if values[1] is not None:
        rows = np.take_along_axis(out_labels, np.asarray(values[1]), axis).ravel()
        return [_bool_matrix(rows, ct_ids, (out_aval.size, ct_aval.size)), None]
    rows = [np.broadcast_to(np.take(out_labels, [k], axis=axis), ct_aval.shape).ravel()
            for k in range(out_aval.shape[axis])]
    return [_bool_matrix(np.concatenate(rows), np.tile(ct_ids, len(rows)),
                         (out_aval.size, ct_aval.size)), None]


take_along_p.sparsity = take_along_sparsity
scatter_along_p.sparsity = scatter_along_sparsity


def take_rows(x, idx):
    """``x[idx]`` for a (possibly traced) integer array ``idx`` indexing axis 0 of ``x``
    (negative entries count from the end), staged as ``take_along``."""
    xs, ishape = get_aval(x).shape, get_aval(idx).shape
    n = xs[0]
    idx = ar.select(ar.lt(idx, 0), ar.add(idx, n), idx)
    rest = int(np.prod(xs[1:], dtype=np.int64))
    m = int(np.prod(ishape, dtype=np.int64))
    flat = sh.broadcast_to(sh.reshape(idx, shape=(m, 1)), (m, rest))
    rows = take_along(sh.reshape(x, shape=(n, rest)), flat, axis=0)
    return sh.reshape(rows, shape=tuple(ishape) + tuple(xs[1:]))
