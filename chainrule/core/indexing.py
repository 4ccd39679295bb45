"""Faster NumPy forms of three common array operations, shared by the primitives' implementations
(eager mode) and by code generation (jit), which must compute the same numbers.

- ``x[..., i, ...]`` with one 1-D integer array ``i`` on one axis and full slices elsewhere (the
  pair gathers ``x[i]`` of particle codes) is ``np.take(x, i, axis=k)``: about five times
  faster than NumPy's general fancy indexing for small trailing axes.
- Its transpose, ``np.add.at(out, idx, u)``, accumulates element by element through a slow
  generic loop; ``np.bincount`` over precomputed flat positions adds the same numbers in the
  same order (each output element sums its updates in the order they appear; added into a
  nonzero operand, the operand is added last) about eight times faster, when the output is
  not much larger than the updates.
- A sum over a short last axis (``np.sum(d * d, axis=1)`` of (pairs, 3) coordinates) is a
  reduction with an inner loop of length 3; adding the slices is about five times faster and
  sums in the same (sequential) order.
"""
import numpy as np

# bincount writes a whole output: used while the output has at most this many elements per update
SCATTER_DENSITY = 8
SHORT_AXIS = 4          # sums over a last axis of at most this length add slices
_SUMMED = (np.dtype(np.float64), np.dtype(np.float32))  # NumPy sums these in their own type


def take_axis(idx, ndim):
    """The axis ``k`` if ``x[idx] == np.take(x, i, axis=k)`` for an ``ndim``-d ``x``: ``idx`` is
    ``k`` full slices, one 1-D integer array ``i``, then only full slices. Else None."""
    k = None
    for pos, i in enumerate(idx):
        if isinstance(i, np.ndarray):
            if k is not None or i.ndim != 1 or i.dtype.kind not in "iu":
                return None
            k = pos
        elif not (isinstance(i, slice) and i == slice(None)):
            return None
    return k if k is not None and len(idx) <= ndim else None


_POSITIONS = {}      # (id of the index array, shapes) -> (the array, a copy of it, positions)


def scatter_positions(idx, shape, updates_shape):
    """For ``np.add.at(out, idx, u)`` with ``out`` of ``shape``, ``idx`` of ``take_axis``'s
    form and ``u`` of ``out[idx]``'s shape: the flat positions in ``out`` of the elements of
    ``u`` (C order), for ``scatter_flat``; None where that form does not apply (``u``
    broadcast, too), an index is out of range, or the output is much larger than the updates
    (``np.add.at`` is then cheaper)."""
    k = take_axis(idx, len(shape))
    if k is None:
        return None
    i, n = idx[k], shape[k]
    if tuple(updates_shape) != tuple(shape[:k]) + (i.size,) + tuple(shape[k + 1:]) or \
            i.size * SCATTER_DENSITY < n:
        return None
    # eager mode scatters with the same index array at every call: its positions are kept
    # (checked against a copy, since the caller may have changed the array in place)
    key = (id(i), tuple(shape), k)
    hit = _POSITIONS.get(key)
    if hit is not None and hit[0] is i and np.array_equal(hit[1], i):
        return hit[2]
    pos = _positions(i, shape, k)
    if pos is not None:
        if len(_POSITIONS) >= 64:
            _POSITIONS.clear()
        _POSITIONS[key] = (i, i.copy(), pos)
    return pos


def _positions(i, shape, k):
    n = shape[k]
    if i.size and (i.min() < -n or i.max() >= n):
        return None                     # np.add.at raises its IndexError
    i = np.where(i < 0, i + n, i)
    before, after = int(np.prod(shape[:k])), int(np.prod(shape[k + 1:]))
    pos = (np.arange(before)[:, None, None] * n + i[None, :, None]) * after + \
        np.arange(after)[None, None, :]
    return pos.ravel()


def flat_places(shape, idx):
    """The flat positions in an array of ``shape`` that ``x[idx]`` reads, shaped as ``x[idx]``
    (any NumPy index): where ``np.add.at(out, idx, u)`` adds each element of ``u``."""
    return np.arange(int(np.prod(shape))).reshape(shape)[idx]


def scatter_flat(pos, updates, shape):
    """``u`` (float64) added into zeros of ``shape`` at the flat positions ``pos``."""
    size = int(np.prod(shape))
    return np.bincount(pos, np.ravel(updates), minlength=size).reshape(shape)


def sum_last(x):
    """``np.sum(x, axis=-1)`` for a last axis of length 2 to SHORT_AXIS, by adding slices."""
    out = x[..., 0] + x[..., 1]
    for j in range(2, x.shape[-1]):
        out += x[..., j]
    return out


def short_last_axis(x, axes):
    """True if ``np.sum(x, axis=axes)`` may be ``sum_last(x)``: a float ndarray of 2 or more
    dimensions summed over its last axis only, of length 2 to SHORT_AXIS."""
    return (type(x) is np.ndarray and x.ndim >= 2 and x.dtype in _SUMMED
            and tuple(axes) in ((x.ndim - 1,), (-1,)) and 2 <= x.shape[-1] <= SHORT_AXIS)
