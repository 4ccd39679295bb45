"""In-place operations on Tensors (``add_``, ``zero_``, ``t[i] = v``, ``t += v``, ...) and the
helpers that keep values immutable.

A Tensor's array is never written to: an in-place operation stores a new array and bumps the
Tensor's version counter, so every array a recorded operation read stays as it was, and a
backward pass that needs a value that has changed since raises InplaceModificationError.
"""

import sys

import numpy as np

from ..core.errors import ShapeMismatchError
from .errors import InplaceModificationError
from .grad_mode import _grad_enabled

__all__ = ["InplaceMethods"]


def _own(a):
    """``a`` as a value that no one else can write to: chainrule's values are immutable."""
    if type(a) is not np.ndarray:
        if isinstance(a, np.generic):
            return a
        a = np.asarray(a)
    if a.flags.writeable:
        # a writable view is copied, unless its base is a temporary that only this view holds
        # (a transpose or reshape of a fresh result): then no one else can write the values
        if a.base is not None and not (type(a.base) is np.ndarray and a.base.base is None
                                       and sys.getrefcount(a.base) == 2):
            a = a.copy()
        a.flags.writeable = False
    return a


def _raw(x):
    """Tensors in a (nested) argument replaced by their arrays."""
    if isinstance(x, InplaceMethods):
        return x._value
    if isinstance(x, (tuple, list)):
        return type(x)(_raw(i) for i in x)
    if isinstance(x, dict):
        return {k: _raw(v) for k, v in x.items()}
    return x


def _requires_grad(x):
    return isinstance(x, InplaceMethods) and x._requires_grad


class InplaceMethods:
    """The in-place methods of Tensor (a mixin; ``_value``, ``_version``, ``_node`` and
    ``_requires_grad`` are Tensor's slots)."""
    __slots__ = ()

    # -- in-place operations -------------------------------------------------------------------
    def _check_inplace(self, other=None):
        """Refuse an in-place change that could make a derivative wrong."""
        if not _grad_enabled.get():
            return
        if self._node is None and self._requires_grad:
            raise InplaceModificationError(
                "a leaf Tensor that requires grad was modified in place; update parameters "
                "inside `with chainrule.no_grad():`")
        if self._node is not None or _requires_grad(other):
            raise InplaceModificationError(
                "in-place operation on a Tensor that is part of a graph (or with an operand "
                "that requires grad); chainrule never modifies a recorded value: write "
                "t = t + v, or build the array with np.where / np.concatenate")

    def _store(self, value):
        value = np.asarray(value)
        if value.shape != self._value.shape:
            raise ShapeMismatchError(f"an in-place operation would change the shape "
                                     f"{self.shape} to {value.shape}")
        if value.dtype != self._value.dtype:
            if not np.can_cast(value.dtype, self._value.dtype, "same_kind"):
                raise TypeError(f"in-place result of dtype {value.dtype} cannot be stored in a "
                                f"Tensor of dtype {self.dtype}")
            value = value.astype(self._value.dtype)
        self._value = _own(value)
        self._version += 1
        return self

    def _inplace(self, ufunc, other):
        self._check_inplace(other)
        return self._store(ufunc(self._value, _raw(other)))

    def _inplace_or_rebind(self, ufunc, other):
        # `t += v`: in place when no history is involved; otherwise NotImplemented, so that
        # Python rebinds t to the new Tensor t + v and the recorded value stays untouched.
        if _grad_enabled.get() and not (self._node is None and self._requires_grad) and \
                (self._node is not None or _requires_grad(other)):
            return NotImplemented
        return self._inplace(ufunc, other)

    def __iadd__(self, other):
        return self._inplace_or_rebind(np.add, other)

    def __isub__(self, other):
        return self._inplace_or_rebind(np.subtract, other)

    def __imul__(self, other):
        return self._inplace_or_rebind(np.multiply, other)

    def __itruediv__(self, other):
        return self._inplace_or_rebind(np.true_divide, other)

    def add_(self, other, alpha=1):
        """``self += alpha * other`` in place; returns self."""
        return self._inplace(np.add, _raw(other) * alpha if alpha != 1 else other)

    def sub_(self, other, alpha=1):
        return self._inplace(np.subtract, _raw(other) * alpha if alpha != 1 else other)

    def mul_(self, other):
        return self._inplace(np.multiply, other)

    def div_(self, other):
        return self._inplace(np.true_divide, other)

    def fill_(self, value):
        self._check_inplace(value)
        return self._store(np.full_like(self._value, _raw(value)))

    def copy_(self, src):
        """Overwrite the values with those of ``src`` (broadcast to this shape)."""
        self._check_inplace(src)
        return self._store(np.broadcast_to(_raw(src), self.shape))

    def zero_(self):
        """Set to zero in place; returns the zeroed Tensor.

        On a gradient with history (``x.grad`` after ``backward(create_graph=True)``) this
        resets the accumulator instead: ``x.grad`` becomes a new zero Tensor and the old
        gradient, which other names may still hold, keeps its value and its graph. That is what
        makes ``g1 = x.grad; x.grad.zero_(); g1.backward()`` give the second derivative."""
        owner = self._grad_of() if self._grad_of is not None else None
        if self._node is not None and owner is not None and owner._grad is self:
            fresh = type(self)._make(_own(np.zeros_like(self._value)))
            owner.grad = fresh
            return fresh
        self._check_inplace()
        return self._store(np.zeros_like(self._value))

    def __setitem__(self, idx, value):
        self._check_inplace(value)
        new = self._value.copy()
        new[_raw(idx)] = _raw(value)
        self._store(new)
