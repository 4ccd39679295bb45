"""Arrays of other libraries: Dask (lazy, chunked, out of core or on a cluster) and CuPy (GPU).

chainrule's implementations call NumPy API functions on raw arrays and never coerce them with
``np.asarray``, so an array that implements NumPy's protocols (NEP 13 ``__array_ufunc__``, NEP 18
``__array_function__``) flows through every rule unchanged: ``np.sin(dask_array)`` is a Dask
array, and so is every tangent and cotangent computed from it. Two things cannot come from the
protocols alone, and this module supplies them:

1. **Creation follows the inputs' library.** A symbolic ``Zero`` carries only an aval (shape and
   dtype), so when the backward pass must make it a real array it asks ``zeros_like_aval``, which
   reads the *array scope*: the foreign input arrays of the transformation being run. Zeros of an
   input's shape are ``np.zeros_like(input)`` (same library, same chunks); other shapes are
   ``np.zeros(shape, like=input)`` (NEP 35). Outside any scope (plain NumPy) it is ``np.zeros``.
   Likewise a NumPy scalar broadcast to a shape (the cotangent of a sum) becomes zeros of the
   inputs' library plus the scalar, not a large NumPy constant that Dask would embed.
2. **Laziness is guarded.** A Dask array turns into a NumPy array silently when something calls
   ``np.asarray`` or ``float`` on it, computing the whole graph. Inside the scope of a
   transformation of Dask inputs, Dask's scheduler is replaced by one that raises
   LazyComputeError, so any rule or user code that needs concrete values says so by name
   instead of computing (maybe 8 GB) behind the user's back. The derivatives are computed only
   when the user calls ``.compute()`` or ``dask.compute(value, grad)``. Dask's configuration is
   process-wide: while such a transformation runs, Dask computations started by other threads
   are refused too.

Dask itself is imported only when a Dask array is met: chainrule runs without it.
"""
import contextlib
import contextvars

import numpy as np

from .avals import ShapedArray
from .errors import ChunkMismatchError, LazyComputeError, UnknownChunksError
from .tracer import Tracer
from .tree import tree_leaves

_NATIVE = (np.ndarray, np.generic, int, float, complex, bool, Tracer)

# the foreign arrays (a tuple) of the innermost transformation whose inputs include some
_SCOPE = contextvars.ContextVar("chainrule_array_scope", default=None)
_NO_SCOPE = contextlib.nullcontext()


def is_foreign(x):
    """An array of another library that speaks NumPy's protocols (a Dask or CuPy array): not a
    NumPy array or scalar, not a Python number, not a tracer."""
    return not isinstance(x, _NATIVE) and hasattr(type(x), "__array_function__")


def is_dask(x):
    """A Dask collection (checked without importing Dask)."""
    return hasattr(type(x), "__dask_graph__") and hasattr(x, "chunks")


def zeros_like_aval(aval):
    """Zeros of ``aval``'s shape and dtype, in the library of the current array scope."""
    scope = _SCOPE.get()
    if scope is None:
        return np.zeros(aval.shape, aval.dtype)
    for ref in scope:
        if ref.shape == aval.shape:     # same library and, for Dask, the input's chunks
            return np.zeros_like(ref, dtype=aval.dtype)
    return np.zeros(aval.shape, aval.dtype, like=scope[0])


def array_scope(fname, tree):
    """The context a transformation ``fname`` runs its arguments ``tree`` (a pytree) in: nothing
    to do for NumPy arguments; for foreign arrays among them, creation in their library, and for
    Dask arrays a check of the chunks and the guard against computing. Cheap for NumPy."""
    foreign = []
    _collect_foreign(tree, foreign)
    if not foreign:
        return _NO_SCOPE
    return _ArrayScope(fname, tuple(foreign))


_PLAIN = (np.ndarray, float, int, bool, complex, str, type(None))


def _collect_foreign(x, out):
    """Append the foreign arrays among the leaves of ``x`` to ``out``: builtin containers are
    walked directly (the common case, and fast); other registered pytree nodes by tree_leaves."""
    t = type(x)
    if t in _PLAIN:
        return
    if t is tuple or t is list:
        for c in x:
            _collect_foreign(c, out)
    elif t is dict:
        for c in x.values():
            _collect_foreign(c, out)
    elif is_foreign(x):
        out.append(x)
    elif not isinstance(x, _NATIVE):
        for leaf in tree_leaves(x):
            if leaf is not x:
                _collect_foreign(leaf, out)


class _ArrayScope:
    __slots__ = ("fname", "foreign", "token", "guard")

    def __init__(self, fname, foreign):
        self.fname, self.foreign = fname, foreign
        self.token = self.guard = None

    def __enter__(self):
        lazy = [x for x in self.foreign if is_dask(x)]
        for x in lazy:
            check_known_chunks(self.fname, x)
        self.token = _SCOPE.set(self.foreign)
        if lazy:
            import dask
            self.guard = dask.config.set(scheduler=_refusing_scheduler(self.fname))
            self.guard.__enter__()
        return self

    def __exit__(self, *exc):
        if self.guard is not None:
            self.guard.__exit__(*exc)
        _SCOPE.reset(self.token)
        return False


def _refusing_scheduler(fname):
    def refuse(dsk, keys, **kwargs):
        raise LazyComputeError(
            f"{fname}: an operation needed the values of a Dask array while the derivative was "
            "being built (np.asarray, float, bool, .compute(), a Python `if` on an array, or a "
            "rule that needs concrete values: sparsity detection, a value-dependent shape, a "
            "while_loop's trip count, a jit guard). chainrule builds derivatives of Dask arrays "
            "lazily and computes nothing until you call .compute() or dask.compute(value, "
            "grad); write the function with array operations (np.where instead of `if`), or "
            "compute the input first (x.compute()) to work in memory.")
    return refuse


def check_known_chunks(fname, x):
    """Refuse a Dask array whose chunk sizes are unknown (nan), e.g. after boolean indexing."""
    if any(c != c for dim in x.chunks for c in dim):
        raise UnknownChunksError(
            f"{fname}: a Dask array of shape {x.shape} has unknown (nan) chunk sizes (as after "
            "boolean indexing x[x > 0]); shapes must be known to build derivatives. Call "
            "x.compute_chunk_sizes() first, or use np.where(mask, x, 0) to keep the shape.")


def check_same_chunks(fname, what, t, ref):
    """A tangent or cotangent ``t`` given as a Dask array must be chunked as the array ``ref``
    it belongs to (a NumPy ``t`` is fine: Dask chunks it to fit)."""
    if is_dask(t) and is_dask(ref):
        check_known_chunks(fname, t)
        if t.chunks != ref.chunks:
            raise ChunkMismatchError(
                f"{fname}: {what} has chunks {t.chunks}, the array it belongs to has chunks "
                f"{ref.chunks}; the derivative keeps the array's chunks, so rechunk the {what} "
                f"first: t.rechunk(x.chunks)")


def like_input(value, like):
    """A derivative ``value`` in the library of the foreign input ``like`` it belongs to. A Dask
    input gets a lazy Dask derivative chunked as the input along the input's axes (the trailing
    ones: a Jacobian block has shape ``out.shape + in.shape``); a NumPy value is wrapped, a Dask
    value of other chunks rechunked. Other libraries get ``np.asarray(value, like=like)``."""
    if not is_dask(like):
        return value if is_foreign(value) else np.asarray(value, like=like)
    shape = np.shape(value)
    lead = len(shape) - like.ndim
    if lead < 0 or tuple(shape[lead:]) != like.shape:
        chunks = "auto"
    elif is_dask(value):
        chunks = value.chunks[:lead] + like.chunks
    else:
        chunks = tuple((n,) for n in shape[:lead]) + like.chunks
    if is_dask(value):
        return value if chunks == "auto" or value.chunks == chunks else value.rechunk(chunks)
    import dask.array as da
    return da.from_array(np.asarray(value), chunks=chunks)


def broadcast_to(x, shape):
    """``np.broadcast_to(x, shape)``. Inside the array scope of foreign inputs a NumPy ``x``
    (the cotangent of a sum, a scalar) is broadcast into their library, as zeros of ``shape``
    plus ``x``: for Dask a lazy chunked array instead of a large NumPy constant that Dask would
    hash and embed in its graph."""
    scope = _SCOPE.get()
    if scope is None or is_foreign(x):
        return np.broadcast_to(x, shape)
    return zeros_like_aval(ShapedArray(shape, np.result_type(x))) + x
