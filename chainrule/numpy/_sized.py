"""NumPy's functions whose result's shape depends on the values of their argument: nonzero,
flatnonzero, argwhere, extract, compress and unique (boolean masks as indices: _shape.py).

Where the values are known (eagerly, under grad, jvp and Taylor mode) NumPy finds the indices and
the traced values are gathered at them, so derivatives flow. Where they are not (under vmap they
differ from example to example; under jit they are not known when it traces) no shape can be
fixed: these raise ValueDependentShapeError, saying what to write instead. As in JAX,
``chainrule.numpy.nonzero/flatnonzero/argwhere/unique(..., size=k, fill_value=...)`` give the
first k results (unique: the k smallest distinct values), padded with ``fill_value``: a fixed
shape, computed from a sort, cumulative counts and searchsorted, which batch and stage.
"""
import numpy as np

from ..core import InvalidArgumentError, Tracer, get_aval
from ._dispatch import implements, unsupported
from ._shape import (MASK_INSTEAD, nonzero_instead, ravel, take, values_for_shape)

UNIQUE_INSTEAD = ("write chainrule.numpy.unique(x, size=k, fill_value=...) for the k smallest "
                  "distinct values (a fixed shape, padded with fill_value, as in JAX)")


def _firsts(flags, size):
    """For a 1-D boolean ``flags`` (traced or not): the positions of its first ``size`` True
    entries and which of the ``size`` slots hold one. -> (positions (0 in empty slots), valid,
    cumulative counts)."""
    counts = np.cumsum(flags)
    slot = np.arange(1, size + 1)
    valid = slot <= counts[-1] if get_aval(flags).size else np.zeros(size, bool)
    if not get_aval(flags).size:
        return np.zeros(size, np.intp), valid, counts
    pos = np.searchsorted(counts, slot)         # first position where the count reaches slot
    return np.where(valid, pos, 0), valid, counts


@implements(np.nonzero)
def nonzero(a, *, size=None, fill_value=None):
    """``numpy.nonzero``; with ``size=k``: the first k indices (C order), each index array
    padded with ``fill_value`` (default 0; a tuple gives one per axis) where there are fewer."""
    if size is None:
        return np.nonzero(values_for_shape(a, "numpy.nonzero", nonzero_instead("nonzero")))
    shape = get_aval(a).shape
    pos, valid, _ = _firsts(ravel(a) != 0, int(size))
    fills = fill_value if isinstance(fill_value, (tuple, list)) else \
        (0 if fill_value is None else fill_value,) * len(shape)
    out, stride = [], 1
    for d in reversed(range(len(shape))):
        out.append(np.where(valid, (pos // stride) % shape[d], fills[d]))
        stride *= shape[d]
    return tuple(out[::-1])


@implements(np.flatnonzero)
def flatnonzero(a, *, size=None, fill_value=None):
    """``numpy.flatnonzero``; ``size=k`` and ``fill_value`` as in ``nonzero``."""
    if size is None:
        return np.flatnonzero(values_for_shape(a, "numpy.flatnonzero",
                                               nonzero_instead("flatnonzero")))
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


@implements(np.argwhere)
def argwhere(a, *, size=None, fill_value=None):
    """``numpy.argwhere``: (count, ndim); with ``size=k``: (k, ndim), as ``nonzero``."""
    if size is None:
        return np.argwhere(values_for_shape(a, "numpy.argwhere", nonzero_instead("argwhere")))
    return np.stack(nonzero(a, size=size, fill_value=fill_value), axis=-1)


@implements(np.count_nonzero)
def count_nonzero(a, axis=None, *, keepdims=False):
    if isinstance(a, Tracer):        # a fixed shape: it batches and stages
        return np.sum(a != 0, axis=axis, keepdims=keepdims)
    return np.count_nonzero(a, axis=axis, keepdims=keepdims)


@implements(np.extract)
def extract(condition, arr):
    cond = values_for_shape(condition, "numpy.extract(condition)", MASK_INSTEAD)
    return ravel(arr)[np.nonzero(np.ravel(cond))]


@implements(np.compress)
def compress(condition, a, axis=None, out=None):
    if out is not None:
        raise unsupported("the out= argument of numpy.compress")
    cond = values_for_shape(condition, "numpy.compress(condition)", MASK_INSTEAD)
    return take(a, np.nonzero(np.asarray(cond))[0], axis=axis)


@implements(np.unique)
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True, size=None, fill_value=None):
    """``numpy.unique`` of the flattened array (``axis=None``): the sorted distinct values,
    gathered from ``ar`` (differentiable), and the integer ``return_*`` arrays. With
    ``size=k`` (as in JAX): the k smallest distinct values, padded with ``fill_value``
    (default: the smallest value) where there are fewer; indices padded with the index of the
    smallest value, counts with 0 (as JAX pads them). An empty ``ar`` needs ``fill_value``:
    every slot is padding (indices and counts 0)."""
    if axis is not None:
        raise unsupported("numpy.unique with axis=")
    flat = ravel(ar)
    flags = (return_index, return_inverse, return_counts)
    if size is None:
        vals = values_for_shape(ar, "numpy.unique", UNIQUE_INSTEAD)
        res = np.unique(vals, return_index=True, return_inverse=return_inverse,
                        return_counts=return_counts, equal_nan=equal_nan)
        values = take(flat, res[1])     # gathered from ar: derivatives flow to them
        if not any(flags):
            return values
        return tuple([values] + ([res[1]] if return_index else []) + list(res[2:]))
    return _unique_sized(flat, get_aval(ar).shape, int(size), fill_value, flags, equal_nan)


def _unique_sized(flat, shape, size, fill_value, flags, equal_nan):
    if get_aval(flat).size == 0 and size:       # every slot is padding (as JAX pads them)
        if fill_value is None:
            raise InvalidArgumentError(
                "numpy.unique(..., size=k) of an empty array: give fill_value, the value of "
                "the padding (there is no smallest value to pad with)")
        values = np.full(size, fill_value, dtype=get_aval(flat).dtype)
        pads = [np.zeros(size, np.int64), np.zeros(_inverse_shape(shape), np.int64),
                np.zeros(size, np.int64)]
        return values if not any(flags) else \
            tuple([values] + [p for p, f in zip(pads, flags) if f])
    order = np.argsort(flat, kind="stable")
    s = take(flat, order)
    n = get_aval(flat).size
    first = np.ones(min(n, 1), bool)
    differ = s[1:] != s[:-1]
    if equal_nan:               # NumPy's default: all NaNs are one value
        differ = differ & ~(np.isnan(s[1:]) & np.isnan(s[:-1]))
    new = np.concatenate([first, differ])
    start, valid, counts = _firsts(new, size)
    fill = s[0] if fill_value is None else fill_value
    values = np.where(valid, take(s, start), fill)
    if not any(flags):
        return values
    out = [values]
    if flags[0]:                # the first occurrence: stable sort keeps the smallest index;
        out.append(np.where(valid, take(order, start), order[0]))   # padded as JAX does
    if flags[1]:                # each element's slot: its group among the sorted values
        inverse = take(counts - 1, np.argsort(order, kind="stable"))
        out.append(np.reshape(inverse, _inverse_shape(shape)))
    if flags[2]:
        nxt, nvalid, _ = _firsts(new, size + 1)
        ends = np.where(nvalid[1:], nxt[1:], n)
        out.append(np.where(valid, ends - start, 0))
    return tuple(out)


def _inverse_shape(shape):
    """The shape NumPy gives ``unique(..., return_inverse=True)[1]`` for an input of ``shape``
    (axis=None: it changed between NumPy 2.0 and 2.1)."""
    return np.unique(np.zeros(shape), return_inverse=True)[1].shape
