"""NumPy's shape, indexing and item-assignment functions on traced arrays, built from
chainrule's primitives (compositions only, no rules).

Item assignment (``x[idx] = v``, ``x[idx] += v``, ``np.add.at(x, idx, v)``, ``out=x``) rebinds
the traced array object ``x`` to the updated value (``Tracer._become``): every name bound to that
object sees the write, as in NumPy. Arrays computed from ``x`` (slices, reshapes, ...) are new
values: a write into one of them does not reach ``x``, nor does a later write into ``x`` reach
them (NumPy's views would share memory). ``np.copy(x)``, ``x.copy()`` and ``np.zeros_like(x)``
give new arrays to write into.
"""
import math
import numbers

import numpy as np

from ..core import Tracer, get_aval
from ..core.errors import (ConcretizationError, InvalidArgumentError, PerturbationConfusionError,
                           ValueDependentShapeError)
from ..ops import arithmetic as ar
from ..ops import gather
from ..ops import reductions as red
from ..ops import shape as sh
from ._dispatch import exported, implements, unsupported

_shape = lambda x: get_aval(x).shape  # noqa: E731
_ndim = lambda x: len(get_aval(x).shape)  # noqa: E731


def normalize_axes(axis, ndim, name="axis"):
    """``axis`` (None, int or tuple, negatives allowed) -> sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted(axis_list(axis, ndim, name)))


def axis_list(axis, ndim, name="axis"):
    """``axis`` (int or sequence, negatives allowed) -> list of non-negative ints, in order."""
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise InvalidArgumentError(f"{name}={axis} is out of range for an array of "
                                       f"dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise InvalidArgumentError(f"repeated axis in {name}={axis}")
    return out


def one_axis(axis, ndim, name="axis"):
    return axis_list(axis, ndim, name)[0]


def cast(y, dtype):
    return y if dtype is None else sh.convert_element_type(y, dtype=dtype)


def no_out(out, where=True, fname=""):
    if out is not None:
        raise unsupported(f"the out= argument of numpy.{fname}")
    if where is not True:
        raise unsupported(f"the where= argument of numpy.{fname}")


def concrete(x, what, instead=None, error=ConcretizationError,
             message="{what} needs the values of a traced array, which are not known here"):
    """The value of ``x`` for a computation that needs it (an index, a shape); derivatives do
    not flow through it. Where it is not known (vmap, jit): ``error``, saying why and, with
    ``instead``, what to write instead."""
    if isinstance(x, Tracer):
        try:
            return x.concrete_value()
        except ConcretizationError as e:
            raise error(message.format(what=what) + f" ({e})" +
                        (f". Instead, {instead}" if instead else "")) from None
    return x


# what to write instead of the functions whose result's shape depends on values (_sized.py)
MASK_INSTEAD = ("write np.where(mask, x, 0) for x[mask] (the same shape, 0 where the mask is "
                "False; np.sum(np.where(mask, x, 0)) for a masked sum) and x = np.where(mask, v, "
                "x) for x[mask] = v")


def nonzero_instead(name):
    return (f"write chainrule.numpy.{name}(..., size=k) for the first k results (a fixed shape, "
            "padded with fill_value, as in JAX), or use the condition as a mask: "
            "np.where(condition, x, 0)")


def values_for_shape(x, what, instead):
    """``concrete`` for a function whose result's shape depends on the values of ``x``:
    refused with ValueDependentShapeError where they are not known."""
    return concrete(x, what, instead, ValueDependentShapeError,
                    "the shape of {what} depends on the values of a traced array, which are "
                    "not known here")


def along(axis, ndim, index):
    """An index tuple applying ``index`` on ``axis`` and taking everything elsewhere."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


# -- reshaping ----------------------------------------------------------------------------------
@implements(np.reshape)
def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C":
        raise unsupported(f"numpy.reshape with order={order!r}")
    shape = newshape if shape is None else shape
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(int(d) for d in shape)
    size = get_aval(a).size
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        shape = tuple(size // known if d == -1 and known else d for d in shape)
    if math.prod(shape) != size:
        raise InvalidArgumentError(f"cannot reshape an array of size {size} into {shape}")
    return sh.reshape(a, shape=shape)


@implements(np.ravel)
def ravel(a, order="C"):
    return reshape(a, (-1,), order=order)


@implements(np.transpose)
def transpose(a, axes=None):
    nd = _ndim(a)
    perm = tuple(range(nd))[::-1] if axes is None else axis_list(axes, nd, "axes")
    return sh.transpose(a, perm=perm)


@implements(np.permute_dims)
def permute_dims(a, axes=None):
    return transpose(a, axes)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    nd = _ndim(a)
    perm = list(range(nd))
    i, j = one_axis(axis1, nd), one_axis(axis2, nd)
    perm[i], perm[j] = perm[j], perm[i]
    return sh.transpose(a, perm=perm)


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    nd = _ndim(a)
    src, dst = axis_list(source, nd, "source"), axis_list(destination, nd, "destination")
    if len(src) != len(dst):
        raise InvalidArgumentError("moveaxis: source and destination must have the same length")
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return sh.transpose(a, perm=order)


@implements(np.squeeze)
def squeeze(a, axis=None):
    shape = _shape(a)
    axes = (tuple(i for i, d in enumerate(shape) if d == 1) if axis is None
            else normalize_axes(axis, len(shape)))
    for i in axes:
        if shape[i] != 1:
            raise InvalidArgumentError(f"cannot squeeze axis {i} of size {shape[i]}")
    return sh.reshape(a, shape=tuple(d for i, d in enumerate(shape) if i not in axes))


@implements(np.expand_dims)
def expand_dims(a, axis):
    shape = _shape(a)
    nd = len(shape) + (1 if isinstance(axis, numbers.Integral) else len(axis))
    axes = normalize_axes(axis, nd)
    it = iter(shape)
    return sh.reshape(a, shape=tuple(1 if i in axes else next(it) for i in range(nd)))


@implements(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    return sh.broadcast_to(array, shape)


@implements(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*[_shape(a) for a in args])
    return tuple(sh.broadcast_to(a, shape) for a in args)


def _atleast(a, nd, place):
    s = _shape(a)
    return a if len(s) >= nd else sh.reshape(a, shape=place(s))


def _one_or_list(res):
    return res[0] if len(res) == 1 else tuple(res)


@implements(np.atleast_1d)
def atleast_1d(*arys):
    return _one_or_list([_atleast(a, 1, lambda s: (1,)) for a in arys])


@implements(np.atleast_2d)
def atleast_2d(*arys):
    return _one_or_list([_atleast(a, 2, lambda s: (1,) * (2 - len(s)) + s) for a in arys])


@implements(np.atleast_3d)
def atleast_3d(*arys):
    def place(s):
        return {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)]
    return _one_or_list([_atleast(a, 3, place) for a in arys])


# -- joining and splitting --------------------------------------------------------------------
@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    no_out(out, True, "concatenate")
    arrays = list(arrays)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    axis = one_axis(axis, _ndim(arrays[0]))
    if len(arrays) == 1:
        return cast(arrays[0], dtype)
    return cast(sh.concatenate(arrays, axis=axis), dtype)


def _holds_tracer(a):
    return any(isinstance(o, Tracer) or (isinstance(o, (list, tuple)) and _holds_tracer(o))
               for o in a)


def from_sequence(a):
    """A (nested) list or tuple holding traced values -> one traced array, as cnp.array builds
    it (NumPy cannot); anything else is returned as it is."""
    if isinstance(a, (list, tuple)) and _holds_tracer(a):
        return stack([from_sequence(o) if isinstance(o, (list, tuple)) else
                      (o if isinstance(o, Tracer) else np.asarray(o)) for o in a])
    return a


@implements(np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = list(arrays)
    shapes = {_shape(a) for a in arrays}
    if len(shapes) != 1:
        raise InvalidArgumentError(f"stack: all input arrays must have the same shape, got "
                                   f"{sorted(shapes)}")
    axis = one_axis(axis, _ndim(arrays[0]) + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, out=out, dtype=dtype)


@implements(np.hstack)
def hstack(tup, dtype=None, casting="same_kind"):
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, axis=0 if _ndim(arrs[0]) == 1 else 1, dtype=dtype)


@implements(np.vstack)
def vstack(tup, dtype=None, casting="same_kind"):
    return concatenate([atleast_2d(a) for a in tup], axis=0, dtype=dtype)


@implements(np.dstack)
def dstack(tup):
    return concatenate([atleast_3d(a) for a in tup], axis=2)


@implements(np.column_stack)
def column_stack(tup):
    if not isinstance(tup, (list, tuple)):      # one array: a sequence of its rows, as NumPy
        tup = [tup[i] for i in range(_shape(tup)[0])]
    return concatenate([sh.reshape(a, shape=(int(np.prod(_shape(a))), 1)) if _ndim(a) < 2
                        else a for a in tup], axis=1)


@implements(np.append)
def append(arr, values, axis=None):
    arr, values = from_sequence(arr), from_sequence(values)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis=axis)


@implements(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    nd = _ndim(ary)
    axis = one_axis(axis, nd)
    n = _shape(ary)[axis]
    if isinstance(indices_or_sections, numbers.Integral):
        k = int(indices_or_sections)
        if k <= 0:
            raise InvalidArgumentError("number of sections must be larger than 0")
        each, extra = divmod(n, k)
        sizes = [each + 1] * extra + [each] * (k - extra)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
    else:
        bounds = np.concatenate([[0], np.asarray(indices_or_sections, dtype=np.int64), [n]])
    return [sh.getitem(ary, idx=along(axis, nd, slice(int(lo), int(max(lo, hi)))))
            for lo, hi in zip(bounds[:-1], bounds[1:])]


@implements(np.split)
def split(ary, indices_or_sections, axis=0):
    if isinstance(indices_or_sections, numbers.Integral):
        n = _shape(ary)[one_axis(axis, _ndim(ary))]
        if n % indices_or_sections:
            raise InvalidArgumentError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


@implements(np.hsplit)
def hsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, axis=1 if _ndim(ary) > 1 else 0)


@implements(np.vsplit)
def vsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, axis=0)


# -- repetition and rearrangement ---------------------------------------------------------------
@implements(np.tile)
def tile(A, reps):
    reps = (reps,) if isinstance(reps, numbers.Integral) else tuple(reps)
    shape = _shape(A)
    d = max(len(reps), len(shape))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    spread = sum(((1, s) for s in shape), ())
    big = sum(((r, s) for r, s in zip(reps, shape)), ())
    out = sh.broadcast_to(sh.reshape(A, shape=spread), big)
    return sh.reshape(out, shape=tuple(r * s for r, s in zip(reps, shape)))


@implements(np.repeat)
def repeat(a, repeats, axis=None):
    if axis is None:
        a, axis = ravel(a), 0
    nd = _ndim(a)
    axis = one_axis(axis, nd)
    idx = np.repeat(np.arange(_shape(a)[axis]), concrete(repeats, "numpy.repeat(repeats)"))
    return sh.getitem(a, idx=along(axis, nd, idx))


@implements(np.flip)
def flip(m, axis=None):
    nd = _ndim(m)
    axes = normalize_axes(axis, nd)
    if not axes:
        return m
    return sh.getitem(m, idx=tuple(slice(None, None, -1) if i in axes else slice(None)
                                   for i in range(nd)))


@implements(np.fliplr)
def fliplr(m):
    return flip(m, 1)


@implements(np.flipud)
def flipud(m):
    return flip(m, 0)


@implements(np.roll)
def roll(a, shift, axis=None):
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), _shape(a))
    nd = _ndim(a)
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    for s, ax in zip(shifts.ravel(), axes.ravel()):
        ax = one_axis(int(ax), nd)
        n = _shape(a)[ax]
        if n and int(s) % n:
            a = sh.getitem(a, idx=along(ax, nd, (np.arange(n) - int(s)) % n))
    return a


@implements(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    nd = _ndim(m)
    a0, a1 = axis_list(axes, nd, "axes")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return sh.transpose(flip(m, a1), perm=perm)
    return flip(sh.transpose(m, perm=perm), a1)


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    if callable(mode) or mode not in ("constant", "edge", "reflect", "symmetric", "wrap"):
        raise unsupported(f"numpy.pad with mode={mode!r}")
    nd = _ndim(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (nd, 2))
    if mode == "constant":
        values = kwargs.pop("constant_values", 0)
        if isinstance(values, Tracer) and _ndim(values) > 0:
            raise unsupported("numpy.pad with traced per-axis constant_values")
        values = values if isinstance(values, Tracer) else np.broadcast_to(
            np.asarray(values), (nd, 2))
    elif mode in ("reflect", "symmetric") and kwargs.pop("reflect_type", "even") != "even":
        raise unsupported("numpy.pad with reflect_type='odd'")
    if kwargs:
        raise unsupported(f"numpy.pad with {sorted(kwargs)}")
    for ax in range(nd):
        before, after = int(widths[ax, 0]), int(widths[ax, 1])
        if not before and not after:
            continue
        shape = _shape(array)
        if mode == "constant":
            parts = []
            for w, side in ((before, 0), (after, 1)):
                block = tuple(w if i == ax else d for i, d in enumerate(shape))
                parts.append(sh.broadcast_to(values, block) if isinstance(values, Tracer)
                             else np.full(block, values[ax, side], get_aval(array).dtype))
            array = sh.concatenate([parts[0], array, parts[1]], axis=ax)
        else:
            idx = np.pad(np.arange(shape[ax]), (before, after), mode=mode)
            array = sh.getitem(array, idx=along(ax, nd, idx))
    return array


def _tri_mask(shape, k, lower):
    n, m = shape[-2:]
    return np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)


@implements(np.triu)
def triu(m, k=0):
    if _ndim(m) < 2:
        raise unsupported("numpy.triu of a 1-d traced array")
    return ar.select(_tri_mask(_shape(m), k, lower=False), m, 0.0)


@implements(np.tril)
def tril(m, k=0):
    if _ndim(m) < 2:
        raise unsupported("numpy.tril of a 1-d traced array")
    return ar.select(_tri_mask(_shape(m), k, lower=True), m, 0.0)


def _diag_index(n, m, k):
    length = max(0, min(n + min(k, 0), m - max(k, 0)))
    i = np.arange(length)
    return i - min(k, 0), i + max(k, 0)


@implements(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    nd = _ndim(a)
    a1, a2 = one_axis(axis1, nd, "axis1"), one_axis(axis2, nd, "axis2")
    a = moveaxis(a, [a1, a2], [nd - 2, nd - 1])
    rows, cols = _diag_index(*_shape(a)[-2:], offset)
    return sh.getitem(a, idx=(Ellipsis, rows, cols))


@implements(np.diag)
def diag(v, k=0):
    if _ndim(v) == 2:
        return diagonal(v, k)
    if _ndim(v) != 1:
        raise InvalidArgumentError("diag: input must be 1-d or 2-d")
    n = _shape(v)[0] + abs(k)
    rows, cols = _diag_index(n, n, k)
    return sh.scatter_add(np.zeros((n, n), get_aval(v).dtype), v, idx=(rows, cols))


@implements(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    no_out(out, True, "trace")
    d = diagonal(a, offset, axis1, axis2)
    return cast(red.reduce_sum(d, axes=(_ndim(d) - 1,)), dtype)


@implements(np.meshgrid)
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    nd = len(xi)
    outs = []
    for i, x in enumerate(xi):
        shape = [1] * nd
        shape[i] = get_aval(x).size
        if indexing == "xy" and nd > 1 and i < 2:
            shape[0], shape[1] = shape[1], shape[0]
        outs.append(sh.reshape(x, shape=tuple(shape)))
    if not sparse:
        outs = broadcast_arrays(*outs)
    return tuple(outs)


@implements(np.diff)
def diff(a, n=1, axis=-1, prepend=None, append=None):
    nd = _ndim(a)
    axis = one_axis(axis, nd)
    parts = []
    for extra in (prepend, append):
        if extra is not None and _ndim(extra) == 0:
            shape = tuple(1 if i == axis else d for i, d in enumerate(_shape(a)))
            extra = sh.broadcast_to(extra, shape)
        parts.append(extra)
    if prepend is not None or append is not None:
        a = concatenate([p for p in (parts[0], a, parts[1]) if p is not None], axis=axis)
    for _ in range(n):
        hi = along(axis, nd, slice(1, None))
        lo = along(axis, nd, slice(None, -1))
        a = ar.sub(sh.getitem(a, idx=hi), sh.getitem(a, idx=lo))
    return a


@implements(np.copy)
def copy(a, order="K", subok=False):
    if not isinstance(a, Tracer):
        return np.copy(a)
    return owned(a._interp, sh.copy(a), "numpy.copy")


# -- selection and indexing ----------------------------------------------------------------------
@implements(np.where)
def where(condition, x=None, y=None):
    if x is None and y is None:
        return np.nonzero(values_for_shape(condition, "numpy.where(condition)",
                                           nonzero_instead("nonzero")))
    return ar.select(condition, x, y)


@implements(np.select)
def select(condlist, choicelist, default=0):
    if len(condlist) != len(choicelist):
        raise InvalidArgumentError("select: condlist and choicelist must have the same length")
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = ar.select(cond, choice, out)
    shape = np.broadcast_shapes(*[_shape(c) for c in list(condlist) + list(choicelist)])
    return sh.broadcast_to(out, shape) if _shape(out) != shape else out


@implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    no_out(out, True, "take")
    if axis is None:
        a, axis = ravel(a), 0
    nd = _ndim(a)
    axis = one_axis(axis, nd)
    n = _shape(a)[axis]
    if isinstance(indices, Tracer) and axis == 0 and mode == "raise":
        return gather.take_rows(a, indices)     # traced indices: a staged gather
    idx = np.asarray(concrete(indices, "numpy.take(indices)"))
    if mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    elif np.any((idx < -n) | (idx >= n)):
        raise IndexError(f"index out of bounds for axis {axis} with size {n}")
    return sh.getitem(a, idx=along(axis, nd, idx))


def _along_axis_index(shape, indices, axis):
    nd = len(shape)
    idx = []
    for i in range(nd):
        if i == axis:
            idx.append(indices)
        else:
            idx.append(np.arange(shape[i]).reshape([-1 if j == i else 1 for j in range(nd)]))
    return tuple(idx)


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1):
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = one_axis(axis, _ndim(arr))
    if isinstance(indices, Tracer) and _ndim(indices) == _ndim(arr):
        # traced indices: a staged gather, arguments broadcast except along axis
        sa, si = _shape(arr), _shape(indices)
        rest = np.broadcast_shapes(*[s[:axis] + (1,) + s[axis + 1:] for s in (sa, si)])
        arr = sh.broadcast_to(arr, rest[:axis] + (sa[axis],) + rest[axis + 1:])
        indices = sh.broadcast_to(indices, rest[:axis] + (si[axis],) + rest[axis + 1:])
        n = sa[axis]
        indices = ar.select(ar.lt(indices, 0), ar.add(indices, n), indices)
        return gather.take_along(arr, indices, axis=axis)
    indices = np.asarray(concrete(indices, "numpy.take_along_axis(indices)"))
    return sh.getitem(arr, idx=_along_axis_index(_shape(arr), indices, axis))


@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    if order is not None:
        raise unsupported("numpy.sort with order=")
    if axis is None:
        a, axis = ravel(a), 0
    axis = one_axis(axis, _ndim(a))
    perm = red.argsort(a, axis=axis)
    if isinstance(perm, Tracer):        # staged and batched without reading the order
        return gather.take_along(a, perm, axis=axis)
    return take_along_axis(a, perm, axis)


@implements(np.argsort)
def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    if axis is None:
        a, axis = ravel(a), 0
    return red.argsort(a, axis=one_axis(axis, _ndim(a)))


@implements(np.searchsorted)
def searchsorted(a, v, side="left", sorter=None):
    if sorter is not None:
        a = take(a, sorter)
    return red.searchsorted(a, v, side=side)


def normalize_index(idx, shape):
    """A user's index -> a tuple of ints, slices, None, Ellipsis and integer arrays."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    idx = _expand_ellipsis(idx, len(shape))
    out = []
    dim = 0
    for i in idx:
        if isinstance(i, Tracer) and get_aval(i).dtype == bool:
            i = values_for_shape(i, "x[mask] (a boolean mask as an index)", MASK_INSTEAD)
        elif isinstance(i, Tracer):
            i = concrete(i, "an integer index array x[i]", "write chainrule.numpy.take(x, i, "
                         "axis=...) or np.take_along_axis (a gather at traced indices)")
            if np.asarray(i).dtype.kind not in "biu":
                raise ConcretizationError("a traced floating-point value was used as an index")
        if isinstance(i, (list, tuple)):      # x[(0, 1), (3, 2)]: integer arrays
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype == bool:
            out.extend(np.nonzero(i))
            dim += i.ndim
            continue
        if isinstance(i, np.ndarray):
            if i.dtype.kind not in "iu":
                raise IndexError(f"arrays used as indices must be of integer type, not {i.dtype}")
            out.append(i)
        elif isinstance(i, numbers.Integral) and not isinstance(i, (bool, np.bool_)):
            i = int(i)
            n = shape[dim] if dim < len(shape) else 0
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
            out.append(i)
        elif i is None or i is Ellipsis or isinstance(i, slice):
            out.append(i)
        else:
            raise IndexError(f"unsupported index {i!r}")
        if i is not None and i is not Ellipsis:
            dim += 1
    return tuple(out)


def _expand_ellipsis(idx, ndim):
    """``idx`` with its Ellipsis replaced by the full slices it stands for (so that every
    later position counts axes from the front), as NumPy reads it."""
    at = [k for k, i in enumerate(idx) if i is Ellipsis]
    if not at:
        return idx
    if len(at) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = 0
    for i in idx:
        if isinstance(i, (np.ndarray, list)) and np.asarray(i).dtype == bool:
            used += np.ndim(i)
        elif i is not None and i is not Ellipsis:
            used += 1
    k = at[0]
    return idx[:k] + (slice(None),) * max(ndim - used, 0) + idx[k + 1:]


def getitem(x, idx):
    if isinstance(idx, Tracer) and np.dtype(get_aval(idx).dtype).kind in "iu" and _shape(x):
        # x[i] with traced integer indices (x[np.argsort(x)]): a staged gather, batched and
        # compiled without reading the indices' values
        return gather.take_rows(x, idx)
    return sh.getitem(x, idx=normalize_index(idx, _shape(x)))


# -- writing into traced arrays ---------------------------------------------------------------
def owned(interp, value, what):
    """A tracer of ``interp`` standing for ``value`` (what a traced array can be rebound to)."""
    try:
        if interp.owns(value):
            return value
    except PerturbationConfusionError:
        raise PerturbationConfusionError(
            f"{what}: the value written is traced by a transformation nested inside the "
            "one the array belongs to (the array was created outside the function being "
            "differentiated); create the array inside it, e.g. with np.zeros_like(v)") from None
    lifted = interp.lift(value)
    if isinstance(lifted, Tracer) and lifted._interp is interp:
        return lifted
    # an interpreter that keeps constants as literals (staging): bind the value to a variable
    return interp.process_primitive(sh.copy_p, (value,), {})


def rebind(x, value, what):
    """Make the traced array object ``x`` stand for ``value`` (item assignment)."""
    x._become(owned(x._interp, value, what))
    return x


def setitem(x, idx, value):
    if isinstance(value, (list, tuple)):
        value = exported["array"](value)
    new = sh.setitem(x, value, idx=normalize_index(idx, _shape(x)))
    rebind(x, new, "x[idx] = v")


def write_refused(what):
    return ConcretizationError(
        f"{what} writes a traced value into a plain NumPy array, which cannot hold it (its "
        "derivative would be lost); create the array with np.zeros_like(x) or "
        "np.zeros(shape, like=x) instead")
