"""Rules whose NumPy implementation writes in place, for arrays of other libraries.

    scatter_add_foreign(operand, updates, idx)   operand with updates added at idx, built with
                                                 ``out[sel] = out[sel] + u`` on a copy (Dask
                                                 builds that lazily; it has no ``np.add.at``)

Repeated indices of one 1-d index array accumulate by layers: layer k holds the k-th occurrence
of every index, so each layer's indices are distinct and one assignment per layer suffices (as
many assignments as the largest repeat count). Other index arrays (two arrays, 2-d arrays) are
refused with LazyArrayError.
"""
import numpy as np

from ..core.arrays import is_foreign
from ..core.errors import LazyArrayError


def _indexed_shape(shape, idx):
    return np.broadcast_to(np.empty((), bool), shape)[idx].shape


def _occurrence(a):
    """``rank[i]``: how many times ``a[i]`` occurred before position i."""
    order = np.argsort(a, kind="stable")
    s = a[order]
    run_start = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    lengths = np.diff(np.r_[run_start, a.size])
    rank = np.empty(a.size, np.int64)
    rank[order] = np.arange(a.size) - np.repeat(run_start, lengths)
    return rank


def in_library_of(x, ref, dtype=None):
    """The NumPy array ``x`` as an array of ``ref``'s library (Dask: lazy, auto-chunked)."""
    return np.zeros_like(ref, shape=np.shape(x), dtype=dtype or np.result_type(x)) + x


def setitem_foreign(x, v, idx):
    """``x`` with ``x[idx] = v`` where ``v`` is a foreign array and ``x`` may be NumPy."""
    out = x.copy() if is_foreign(x) else in_library_of(x, v, np.result_type(x))
    out[idx] = v
    return out


def scatter_add_foreign(operand, updates, idx):
    """``operand`` (a Dask or CuPy array, or NumPy beside a foreign ``updates``) with ``updates``
    added at ``idx`` (the layout of ``operand[idx]``)."""
    if not is_foreign(operand):
        operand = in_library_of(operand, updates, np.result_type(operand, updates))
    shape = np.shape(operand)
    if any(i is None for i in idx):          # setitem takes no np.newaxis: drop the unit axes
        idx = tuple(i for i in idx if i is not None)
        updates = np.reshape(updates, _indexed_shape(shape, idx))
    out = operand.copy()
    arrays = [k for k, i in enumerate(idx) if isinstance(i, np.ndarray) and i.dtype != bool]
    if not arrays:
        out[idx] = out[idx] + updates
        return out
    p = arrays[0]
    if len(arrays) > 1 or idx[p].ndim != 1 or any(
            i is Ellipsis or isinstance(i, (int, np.integer)) for i in idx):
        raise LazyArrayError(
            f"x[idx] with the index {idx} of a {type(operand).__name__}: its derivative adds "
            "at the indices, which a lazy array supports for one 1-d integer array beside "
            "slices (repeats allowed); index with slices, or compute the array first")
    a = idx[p] % shape[p]
    rank = _occurrence(a)
    for k in range(int(rank.max()) + 1 if a.size else 0):
        pos = np.flatnonzero(rank == k)
        sel = idx[:p] + (a[pos],) + idx[p + 1:]
        out[sel] = out[sel] + updates[(slice(None),) * p + (pos,)]
    return out
