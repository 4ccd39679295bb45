"""Shape and indexing: reshape, broadcast_to, transpose, getitem, scatter_add, setitem,
concatenate, convert_element_type, copy. All are linear in their array arguments.

Rules: ``*_jvp(primals, tangents, **params)``, ``*_transpose(ct, *args, **params)``,
``*_batch(vals, dims, **params)`` (the vmapped axis goes to the front).
``getitem`` takes a normalized static index (ints, slices, None, Ellipsis and integer arrays);
its transpose is ``scatter_add`` into zeros. ``setitem`` (``out = x.copy(); out[idx] = v``) is
linear in ``(x, v)`` jointly; its transpose zeroes ``idx`` in the cotangent of ``x`` and gathers
the cotangent of ``v``.
"""
import numpy as np

from ..core import arrays
from ..core.arrays import is_foreign
from ..core import (Primitive, ShapedArray, Zero, bind, get_aval, instantiate, is_undefined,
                    tangent_aval)
from ..core.indexing import flat_places, scatter_flat, scatter_positions, take_axis
from . import arithmetic as ar
from . import reductions as red
from ._foreign import scatter_add_foreign, setitem_foreign
from ._define import batch_size, elementwise_batch, linear_taylor, to_front
from ._sparsity import (elementwise_sparsity, same_order_sparsity, scatter_add_sparsity,
                        selection_sparsity)


def _linear_unary(name, impl, abstract_eval, transpose, batch=None):
    prim = Primitive(name, linear_in=(0,))
    prim.impl = impl
    prim.abstract_eval = abstract_eval
    prim.jvp = lambda primals, tangents, **params: (
        bind(prim, primals[0], **params), bind(prim, tangents[0], **params))
    prim.transpose = transpose
    prim.batch = batch or elementwise_batch(prim)
    prim.deriv_class = ("linear",)
    prim.taylor = linear_taylor(prim)
    prim.sparsity = selection_sparsity(prim)
    return prim


# -- reshape ---------------------------------------------------------------------------------------
reshape_p = _linear_unary(
    "reshape", lambda x, *, shape: np.reshape(x, shape),
    lambda x, *, shape: ShapedArray(shape, x.dtype, x.weak_type),
    lambda ct, x, *, shape: (reshape(ct, shape=x.aval.shape),),
    lambda vals, dims, *, shape: (
        reshape(to_front(vals[0], dims[0]), shape=(batch_size(vals, dims),) + shape), 0))
reshape_p.sparsity = same_order_sparsity    # C order: nothing moves


def reshape(x, *, shape):
    shape = tuple(shape)
    if get_aval(x).shape == shape:
        return x
    return bind(reshape_p, x, shape=shape)


# -- broadcast_to ----------------------------------------------------------------------------------
def unbroadcast(ct, aval):
    """Sum a cotangent of a broadcast result back to the shape of an input of aval ``aval``."""
    shape = get_aval(ct).shape
    if shape == aval.shape:
        return ct
    lead = len(shape) - len(aval.shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(aval.shape) if d == 1 and shape[lead + i] != 1)
    out = red.reduce_sum(ct, axes=axes) if axes else ct
    return reshape(out, shape=aval.shape)


def _batched_like(x, d, rank):
    """A batched ``x`` with its vmapped axis in front and ones up to ``rank`` other axes."""
    x = to_front(x, d)
    shape = get_aval(x).shape
    return reshape(x, shape=shape[:1] + (1,) * (rank - len(shape) + 1) + shape[1:])


broadcast_to_p = _linear_unary(
    "broadcast_to", arrays.broadcast_to,      # np.broadcast_to, in the inputs' library
    lambda x, *, shape: ShapedArray(shape, x.dtype, x.weak_type),
    lambda ct, x, *, shape: (unbroadcast(ct, x.aval),),
    lambda vals, dims, *, shape: (broadcast_to(_batched_like(vals[0], dims[0], len(shape)),
                                               (batch_size(vals, dims),) + shape), 0))


def broadcast_to(x, shape):
    shape = tuple(shape)
    if get_aval(x).shape == shape:
        return x
    return bind(broadcast_to_p, x, shape=shape)


# -- transpose ------------------------------------------------------------------------------------
transpose_p = _linear_unary(
    "transpose", lambda x, *, perm: np.transpose(x, perm),
    lambda x, *, perm: ShapedArray(tuple(x.shape[i] for i in perm), x.dtype, x.weak_type),
    lambda ct, x, *, perm: (transpose(ct, perm=tuple(np.argsort(perm))),),
    lambda vals, dims, *, perm: (transpose(to_front(vals[0], dims[0]),
                                           perm=(0,) + tuple(p + 1 for p in perm)), 0))


def transpose(x, *, perm):
    perm = tuple(int(p) for p in perm)
    if perm == tuple(range(len(perm))):
        return x
    return bind(transpose_p, x, perm=perm)


# -- getitem / scatter_add ------------------------------------------------------------------------
def is_basic_index(idx):
    return not any(isinstance(i, np.ndarray) for i in idx)


def _getitem_abstract(x, *, idx):
    probe = np.broadcast_to(np.empty((), x.dtype), x.shape)[idx]
    return ShapedArray(probe.shape, x.dtype)


def batched_index_dim(idx):
    """Where the vmapped axis lands in ``x[(slice(None),) + idx]``: in front, unless the
    advanced indices (arrays, and ints among them) are not adjacent, in which case NumPy puts
    their broadcast dimensions first."""
    if is_basic_index(idx):
        return 0
    pos = [k for k, i in enumerate(idx) if isinstance(i, (np.ndarray, int, np.integer))
           and not isinstance(i, bool)]
    if pos == list(range(pos[0], pos[-1] + 1)):
        return 0
    return len(np.broadcast_shapes(*[np.shape(idx[k]) for k in pos]))


def _getitem_impl(x, *, idx):
    k = take_axis(idx, np.ndim(x))
    return x[idx] if k is None else np.take(x, idx[k], axis=k)


getitem_p = _linear_unary(
    "getitem", _getitem_impl, _getitem_abstract,
    lambda ct, x, *, idx: (scatter_add(Zero(x.aval), ct, idx=idx),),
    lambda vals, dims, *, idx: (getitem(to_front(vals[0], dims[0]), idx=(slice(None),) + idx),
                                batched_index_dim(idx)))


def getitem(x, *, idx):
    return bind(getitem_p, x, idx=idx)


def _scatter_add_impl(operand, updates, *, idx):
    if is_foreign(operand) or is_foreign(updates):
        return scatter_add_foreign(operand, updates, idx)
    if is_basic_index(idx):
        out = np.array(operand, copy=True)
        out[idx] += updates
        return out
    if _summable_by_bincount(operand, updates):
        # into zeros (the transpose of indexing), np.bincount sums as np.add.at does, bit for
        # bit; one index array on one axis reuses cached flat positions
        pos = scatter_positions(idx, operand.shape, np.shape(updates)) \
            if type(updates) is np.ndarray else None
        if pos is not None:
            return scatter_flat(pos, updates, operand.shape)
        return _bincount_scatter(operand, updates, idx)
    out = np.array(operand, copy=True)
    np.add.at(out, idx, updates)
    return out


def _summable_by_bincount(operand, updates):
    """Whether ``np.bincount`` gives exactly what ``np.add.at`` gives: float64 arrays and a zero
    operand (the transpose of indexing), where both sum the updates of each position in the
    same order starting from 0."""
    return (type(operand) is np.ndarray and operand.dtype == np.float64
            and np.result_type(updates) == np.float64 and not operand.any())


def _bincount_scatter(operand, updates, idx):
    """``np.add.at(zeros, idx, updates)`` as one ``np.bincount`` over the flat positions the
    index reads (an order of magnitude faster than ``add.at`` on the im2col gathers)."""
    where = flat_places(operand.shape, idx)
    return scatter_flat(where.ravel(), np.broadcast_to(updates, where.shape), operand.shape)


scatter_add_p = Primitive("scatter_add", linear_in=(0, 1))
scatter_add_p.impl = _scatter_add_impl
scatter_add_p.abstract_eval = lambda operand, updates, *, idx: ShapedArray(
    operand.shape, np.result_type(operand.dtype, updates.dtype))


def scatter_add(operand, updates, *, idx):
    """``operand`` with ``updates`` added at ``idx`` (repeated indices accumulate); a Zero
    operand is instantiated."""
    return bind(scatter_add_p, instantiate(operand), updates, idx=idx)


def scatter_add_jvp(primals, tangents, *, idx):
    (operand, updates), (op_dot, up_dot) = primals, tangents
    out = scatter_add(operand, updates, idx=idx)
    if type(up_dot) is Zero:
        return out, op_dot
    if type(op_dot) is Zero:
        op_dot = Zero(tangent_aval(get_aval(out)))
    return out, scatter_add(op_dot, up_dot, idx=idx)


def scatter_add_transpose(ct, operand, updates, *, idx):
    ct_updates = None
    if is_undefined(updates):
        ct_updates = unbroadcast(getitem(ct, idx=idx), updates.aval)
    return (ct if is_undefined(operand) else None), ct_updates


def _indexed_batch(prim):
    """Batching of ``prim(x, v, idx=...)`` (scatter_add, setitem): ``x`` gets the vmapped axis
    in front, ``v`` is laid out like ``x[(slice(None),) + idx]``."""
    def batch(vals, dims, *, idx):
        (x, v), (dx, dv) = vals, dims
        size = batch_size(vals, dims)
        x_aval = get_aval(x)
        x_shape = x_aval.shape if dx is None else x_aval.shape[:dx] + x_aval.shape[dx + 1:]
        x = broadcast_to(x, (size,) + x_shape) if dx is None else to_front(x, dx)
        part = np.broadcast_to(np.empty((), x_aval.dtype), x_shape)[idx].shape
        p = batched_index_dim(idx)
        if dv is not None or p:
            v = (broadcast_to(v, (size,) + part) if dv is None
                 else broadcast_to(_batched_like(v, dv, len(part)), (size,) + part))
            if p:
                rest = list(range(1, len(part) + 1))
                v = transpose(v, perm=rest[:p] + [0] + rest[p:])
        return bind(prim, x, v, idx=(slice(None),) + idx), 0
    batch.__name__ = f"{prim.name}_batch"
    return batch


scatter_add_p.jvp, scatter_add_p.transpose = scatter_add_jvp, scatter_add_transpose
scatter_add_p.batch = _indexed_batch(scatter_add_p)
scatter_add_p.deriv_class = ("linear", "linear")
scatter_add_p.taylor = linear_taylor(scatter_add_p)
scatter_add_p.sparsity = scatter_add_sparsity


def _setitem_impl(x, v, *, idx):
    if is_foreign(v):
        return setitem_foreign(x, v, idx)
    out = x.copy()
    out[idx] = v
    return out


setitem_p = Primitive("setitem", linear_in=(0, 1))
setitem_p.impl = _setitem_impl
setitem_p.abstract_eval = lambda x, v, *, idx: ShapedArray(x.shape, x.dtype)


def setitem(x, v, *, idx):
    """``x`` with ``x[idx] = v`` (NumPy's casting to ``x``'s dtype); ``x`` is not changed."""
    return bind(setitem_p, x, v, idx=idx)


def setitem_jvp(primals, tangents, *, idx):
    (x, v), (x_dot, v_dot) = primals, tangents
    out = setitem(x, v, idx=idx)
    t_aval = tangent_aval(get_aval(out))
    if t_aval.dtype.kind not in "fc":
        return out, Zero(t_aval)
    v_dot = 0.0 if type(v_dot) is Zero else v_dot
    return out, setitem(instantiate(Zero(t_aval)) if type(x_dot) is Zero else x_dot, v_dot,
                        idx=idx)


def _written(x_shape, idx):
    """Mask, over the elements of ``x[idx]``, of those whose write survives (NumPy's own rule
    for repeated advanced indices: a later write wins); None when every write survives."""
    if is_basic_index(idx):
        return None
    target = np.full(x_shape, -1, dtype=np.int64)
    slots = target[idx].shape
    labels = np.arange(int(np.prod(slots, dtype=np.int64))).reshape(slots)
    target[idx] = labels
    mask = target[idx] == labels
    return None if mask.all() else mask


def setitem_transpose(ct, x, v, *, idx):
    ct_x = setitem(ct, 0.0, idx=idx) if is_undefined(x) else None
    ct_v = None
    if is_undefined(v):
        ct_v = getitem(ct, idx=idx)
        mask = _written(get_aval(ct).shape, idx)
        if mask is not None:
            ct_v = ar.select(mask, ct_v, 0.0)
        ct_v = convert_element_type(unbroadcast(ct_v, v.aval), dtype=v.aval.dtype)
    return ct_x, ct_v


setitem_p.jvp, setitem_p.transpose = setitem_jvp, setitem_transpose
setitem_p.batch = _indexed_batch(setitem_p)
setitem_p.deriv_class = ("linear", "linear")
setitem_p.taylor = linear_taylor(setitem_p)
setitem_p.sparsity = selection_sparsity(setitem_p)

# -- copy: a new array object with the same value (what item assignment may write into) --------
copy_p = _linear_unary("copy", lambda x: x.copy() if hasattr(x, "copy") else x,
                       lambda x: ShapedArray(x.shape, x.dtype, x.weak_type),
                       lambda ct, x: (ct,))


def copy(x):
    return bind(copy_p, x)


copy_p.jvp = lambda primals, tangents: (copy(primals[0]), tangents[0])


def flip(x, axis):
    idx = tuple(slice(None, None, -1) if i == axis else slice(None)
                for i in range(get_aval(x).ndim))
    return getitem(x, idx=idx)


# -- concatenate --------------------------------------------------------------------------------
concatenate_p = Primitive("concatenate")
concatenate_p.impl = lambda *xs, axis: np.concatenate(xs, axis=axis)


def _concatenate_abstract(*xs, axis):
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    return ShapedArray(shape, np.result_type(*[x.dtype for x in xs]))


concatenate_p.abstract_eval = _concatenate_abstract


def concatenate(xs, *, axis):
    return bind(concatenate_p, *xs, axis=axis)


def concatenate_jvp(primals, tangents, *, axis):
    out = concatenate(primals, axis=axis)
    tangents = [instantiate(t) for t in tangents]
    return out, concatenate(tangents, axis=axis)


def concatenate_transpose(ct, *xs, axis):
    cts, start = [], 0
    ndim = len(xs[0].shape)
    for x in xs:
        n = get_aval(x).shape[axis]
        if is_undefined(x):
            idx = tuple(slice(start, start + n) if i == axis else slice(None)
                        for i in range(ndim))
            cts.append(getitem(ct, idx=idx))
        else:
            cts.append(None)
        start += n
    return cts


def concatenate_batch(vals, dims, *, axis):
    size = batch_size(vals, dims)
    args = [broadcast_to(v, (size,) + get_aval(v).shape) if d is None else to_front(v, d)
            for v, d in zip(vals, dims)]
    return concatenate(args, axis=axis + 1), 0


concatenate_p.jvp, concatenate_p.transpose = concatenate_jvp, concatenate_transpose
concatenate_p.batch = concatenate_batch
concatenate_p.linear_in = ("all",)
concatenate_p.deriv_class = ("linear",)  # every argument
concatenate_p.taylor = linear_taylor(concatenate_p)
concatenate_p.sparsity = selection_sparsity(concatenate_p)

# -- convert_element_type (astype) --------------------------------------------------------------
convert_element_type_p = Primitive("convert_element_type", linear_in=(0,))
convert_element_type_p.impl = lambda x, *, dtype: np.asarray(x).astype(dtype) \
    if np.ndim(x) == 0 else x.astype(dtype)
convert_element_type_p.abstract_eval = lambda x, *, dtype: ShapedArray(x.shape, dtype)


def convert_element_type(x, *, dtype):
    dtype = np.dtype(dtype)
    if get_aval(x).dtype == dtype:
        return x
    return bind(convert_element_type_p, x, dtype=dtype)


def convert_element_type_jvp(primals, tangents, *, dtype):
    (x,), (x_dot,) = primals, tangents
    out = convert_element_type(x, dtype=dtype)
    if dtype.kind not in "fc":
        return out, Zero(ShapedArray(get_aval(out).shape, dtype))
    return out, convert_element_type(x_dot, dtype=dtype)


convert_element_type_p.jvp = convert_element_type_jvp
convert_element_type_p.batch = elementwise_batch(convert_element_type_p)
convert_element_type_p.transpose = lambda ct, x, *, dtype: (
    convert_element_type(ct, dtype=x.aval.dtype),)
convert_element_type_p.deriv_class = ("linear",)
convert_element_type_p.taylor = linear_taylor(convert_element_type_p)
convert_element_type_p.sparsity = elementwise_sparsity
