"""The PyTorch method names of ``Tensor``: ``size()``, ``view``, ``permute``, ``max(dim)``,
``topk``, ``softmax``, ``float()``, ...

Every method is a composition of NumPy functions on the Tensor, so each is recorded as the
primitives it is made of and differentiated by their rules; integer results (indices) are plain
Tensors. Where NumPy and PyTorch name the same method differently, PyTorch's meaning wins when
its arguments are used (``t.max(dim=1)`` returns values and indices; ``t.max(axis=1)`` is NumPy's
and returns values), and ``t.transpose(0, 1)`` swaps two dimensions as in PyTorch.
"""
import collections
import numbers

import numpy as np

from ..core.errors import InvalidArgumentError
from ..scipy import special

__all__ = ["TorchMethods", "Size", "ValuesIndices"]

ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])


class Size(int):
    """``t.size``: the number of elements (NumPy's attribute), and also callable as PyTorch's
    method: ``t.size()`` is the shape tuple and ``t.size(d)`` the length of dimension ``d``."""
    def __new__(cls, shape):
        self = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        self._shape = tuple(shape)
        return self

    def __call__(self, dim=None):
        if dim is None:
            return self._shape
        return self._shape[dim]


def _dims(args):
    """``f(1, 2)`` or ``f((1, 2))`` -> (1, 2)."""
    if len(args) == 1 and not isinstance(args[0], numbers.Integral):
        return tuple(args[0])
    return tuple(args)


def _kw(axis, dim):
    return axis if dim is None else dim


def _var_args(dim, unbiased, keepdim, correction, axis, ddof, keepdims):
    """NumPy's ``axis``/``ddof``/``keepdims`` for PyTorch's ``var``/``std`` arguments: the
    correction is 1 unless ``unbiased=False`` or ``correction``/``ddof`` say otherwise; a
    bool as the first argument is ``unbiased`` (PyTorch's ``t.var(False)``)."""
    if isinstance(dim, (bool, np.bool_)):
        dim, unbiased = None, bool(dim)
    if sum(c is not None for c in (unbiased, correction, ddof)) > 1:
        raise InvalidArgumentError("var/std: give only one of unbiased, correction and ddof")
    if correction is None:
        correction = ddof if ddof is not None else (0 if unbiased is False else 1)
    dim = _kw(axis, dim)
    if isinstance(dim, list):
        dim = tuple(dim)
    return dict(axis=dim, ddof=correction, keepdims=keepdim if keepdims is None else keepdims)


class TorchMethods:
    __slots__ = ()

    # -- shapes -------------------------------------------------------------------------------
    @property
    def size(self):
        return Size(self.shape)

    def view(self, *shape):
        """The same values in shape ``shape`` (one entry may be -1); recorded like reshape."""
        return np.reshape(self, _dims(shape))

    def reshape(self, *shape, order="C"):
        return np.reshape(self, _dims(shape), order=order)

    def view_as(self, other):
        return np.reshape(self, other.shape)

    def permute(self, *dims):
        """Dimensions reordered: result dimension i is input dimension ``dims[i]``."""
        return np.transpose(self, _dims(dims))

    def transpose(self, *axes):
        """``t.transpose(d0, d1)`` swaps two dimensions (PyTorch); ``t.transpose()`` or a full
        permutation tuple is NumPy's."""
        if len(axes) == 2 and all(isinstance(a, numbers.Integral) for a in axes):
            return np.swapaxes(self, axes[0], axes[1])
        return np.transpose(self, _dims(axes) if axes else None)

    def t(self):
        """The transpose of a matrix (or a 1-D Tensor unchanged)."""
        return self if self.ndim < 2 else np.swapaxes(self, 0, 1)

    def flatten(self, start_dim=0, end_dim=-1):
        """Dimensions ``start_dim..end_dim`` (inclusive) merged into one."""
        shape = self.shape
        if not shape:
            return np.reshape(self, (1,))
        s, e = start_dim % len(shape), end_dim % len(shape)
        merged = int(np.prod(shape[s:e + 1], dtype=np.int64))
        return np.reshape(self, shape[:s] + (merged,) + shape[e + 1:])

    def unsqueeze(self, dim):
        """A new dimension of length 1 at ``dim`` (negative counts from the end of the result)."""
        return np.expand_dims(self, dim if dim >= 0 else dim + self.ndim + 1)

    def squeeze(self, dim=None, *, axis=None):
        """Dimensions of length 1 removed (only ``dim``, and only if it has length 1)."""
        dim = _kw(axis, dim)
        if dim is not None:
            dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
            dims = tuple(d for d in dims if self.shape[d] == 1)
            return np.squeeze(self, dims) if dims else self
        return np.squeeze(self)

    def expand(self, *sizes):
        """Broadcast to ``sizes`` (-1 keeps a dimension)."""
        sizes = _dims(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(s if s != -1 else self.shape[i - lead] for i, s in enumerate(sizes))
        return np.broadcast_to(self, shape)

    def expand_as(self, other):
        return np.broadcast_to(self, other.shape)

    def repeat(self, *sizes):
        """Tiled ``sizes[i]`` times along dimension i (PyTorch's ``repeat``, NumPy's ``tile``)."""
        return np.tile(self, _dims(sizes))

    def contiguous(self):
        return self

    # -- dtypes ---------------------------------------------------------------------------------
    def float(self):
        """Converted to float32 (PyTorch's ``float``); differentiable."""
        return self.astype(np.float32)

    def double(self):
        """Converted to float64; differentiable."""
        return self.astype(np.float64)

    def long(self):
        return self.astype(np.int64)

    def int(self):
        return self.astype(np.int32)

    def bool(self):
        return self.astype(np.bool_)

    def to(self, *args, dtype=None, **kwargs):
        """``t.to(dtype)``, ``t.to(other_tensor)`` (its dtype) or ``t.to("cpu")`` (the only
        device: no change). Returns ``self`` when nothing changes, as PyTorch does."""
        for a in args:
            if isinstance(a, str):
                if a != "cpu":
                    raise ValueError(f"device {a!r}: chainrule Tensors live on the CPU")
            elif hasattr(a, "dtype") and hasattr(a, "shape"):
                dtype = a.dtype
            else:
                dtype = a
        if dtype is None or np.dtype(dtype) == self.dtype:
            return self
        return self.astype(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    # -- reductions with indices ------------------------------------------------------------------
    def _extremum(self, name, dim, keepdim, axis, keepdims):
        reduce = np.max if name == "max" else np.min
        if dim is None:
            return reduce(self, axis=axis, keepdims=keepdims)
        if not isinstance(dim, numbers.Integral):        # t.max(other): elementwise
            return (np.maximum if name == "max" else np.minimum)(self, dim)
        arg = (np.argmax if name == "max" else np.argmin)(self.detach(), axis=dim, keepdims=True)
        values = np.take_along_axis(self, arg, axis=dim)
        if not keepdim:
            values, arg = np.squeeze(values, dim), np.squeeze(arg, dim)
        return ValuesIndices(values, arg)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """``t.max()``: the largest element; ``t.max(dim)``: (values, indices) along ``dim``
        (PyTorch); ``t.max(axis=d)``: values only (NumPy); ``t.max(other)``: elementwise."""
        return self._extremum("max", dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """Like ``max``, for the smallest elements."""
        return self._extremum("min", dim, keepdim, axis, keepdims)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        return np.argmax(self, axis=_kw(axis, dim), keepdims=keepdim)

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        return np.argmin(self, axis=_kw(axis, dim), keepdims=keepdim)

    def sort(self, dim=-1, descending=False, stable=False, *, axis=None):
        """(values, indices) sorted along ``dim``; the values are differentiable (a gather)."""
        dim = _kw(axis, dim)
        raw = self.detach()
        idx = np.argsort(-raw if descending else raw, axis=dim, kind="stable")
        return ValuesIndices(np.take_along_axis(self, idx, axis=dim), idx)

    def argsort(self, dim=-1, descending=False, *, axis=None):
        return self.sort(_kw(axis, dim), descending).indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """(values, indices) of the ``k`` largest (``largest=False``: smallest) along ``dim``."""
        values, idx = self.sort(dim, descending=largest)
        idx = np.take(idx, np.arange(k), axis=dim)
        return ValuesIndices(np.take_along_axis(self, idx, axis=dim), idx)

    # -- elementwise and normalizations ---------------------------------------------------------
    def norm(self, p=2, dim=None, keepdim=False):
        """The ``p``-norm over ``dim`` (all elements by default; ``p="fro"`` is 2, ``inf`` the
        largest magnitude)."""
        if p == "fro":
            p = 2
        a = np.abs(self)
        if p == np.inf:
            return np.max(a, axis=dim, keepdims=keepdim)
        if p == 2:
            return np.sqrt(np.sum(self * self, axis=dim, keepdims=keepdim))
        if p == 1:
            return np.sum(a, axis=dim, keepdims=keepdim)
        return np.sum(a ** p, axis=dim, keepdims=keepdim) ** (1.0 / p)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            ddof=None, keepdims=None):
        """The variance over ``dim`` (all elements by default), PyTorch's: the unbiased
        estimator (divisor ``N - 1``) unless ``unbiased=False`` (divisor ``N``) or
        ``correction=c`` (divisor ``N - c``); ``t.var(False)`` is ``unbiased=False`` as in
        PyTorch. NumPy's ``axis``, ``ddof`` and ``keepdims`` are accepted too (``ddof`` is
        ``correction``), but the default stays PyTorch's; ``np.var(t)`` is NumPy's (ddof 0).
        Result shape: the input's without the reduced dimensions (kept as 1 with ``keepdim``)."""
        return np.var(self, **_var_args(dim, unbiased, keepdim, correction, axis, ddof,
                                         keepdims))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            ddof=None, keepdims=None):
        """The standard deviation, the square root of ``var`` with the same arguments
        (unbiased by default, as PyTorch)."""
        return np.std(self, **_var_args(dim, unbiased, keepdim, correction, axis, ddof,
                                         keepdims))

    def softmax(self, dim=-1):
        """``exp(t) / sum(exp(t), dim)``, computed stably."""
        return special.softmax(self, axis=dim)

    def log_softmax(self, dim=-1):
        """``t - logsumexp(t, dim)``, computed stably."""
        return special.log_softmax(self, axis=dim)

    def clamp(self, min=None, max=None):
        """Elementwise ``min(max(t, min), max)``; the derivative is 1 inside, 0 outside."""
        out = self
        if min is not None:
            out = np.maximum(out, min)
        if max is not None:
            out = np.minimum(out, max)
        return out

    clip = clamp

    def clamp_min(self, min):
        return np.maximum(self, min)

    def clamp_max(self, max):
        return np.minimum(self, max)

    def where(self, condition, other):
        """``self`` where ``condition``, else ``other`` (PyTorch's method form)."""
        return np.where(condition, self, other)

    def masked_fill(self, mask, value):
        return np.where(mask, value, self)

    def exp(self):
        return np.exp(self)

    def log(self):
        return np.log(self)

    def sqrt(self):
        return np.sqrt(self)

    def sin(self):
        return np.sin(self)

    def cos(self):
        return np.cos(self)

    def tanh(self):
        return np.tanh(self)

    def abs(self):
        return np.abs(self)

    def relu(self):
        return np.where(self > 0, self, 0.0)

    def sigmoid(self):
        return 0.5 * (np.tanh(0.5 * self) + 1.0)

    def pow(self, exponent):
        return np.power(self, exponent)

    def matmul(self, other):
        return np.matmul(self, other)

    mm = matmul

    # -- in place (version-checked, see Tensor._inplace) ------------------------------------
    def clamp_(self, min=None, max=None):
        self._check_inplace()
        return self._store(np.clip(self._value, min, max))

    def exp_(self):
        self._check_inplace()
        return self._store(np.exp(self._value))
