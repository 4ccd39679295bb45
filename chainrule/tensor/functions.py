"""PyTorch's Tensor constructors and functions: ``zeros``, ``ones``, ``full``, ``arange``,
``linspace``, ``rand``, ``randn``, ``randint``, ``cat``, ``stack``, ``where``, ``save``,
``load``.

Constructors make new leaf Tensors, float64 unless ``dtype`` says otherwise (chainrule's
default; PyTorch's is float32); ``requires_grad=True`` marks them for differentiation.
``cat``/``stack``/``where`` are NumPy's functions on Tensors, so they are recorded like any
other operation. ``save``/``load`` pickle nested containers of Tensors and arrays (a
``state_dict``); ``load`` refuses anything else unless ``weights_only=False``.
"""
import io
import numbers
import pickle

import numpy as np

from ..core.errors import InvalidArgumentError
from .random import generator
from .tensor import Tensor

__all__ = ["zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like",
           "arange", "linspace", "eye", "rand", "randn", "randint", "rand_like",
           "randn_like", "cat", "concat", "stack", "where", "save", "load", "from_numpy",
           "as_tensor"]


def _shape(size):
    if len(size) == 1 and not isinstance(size[0], numbers.Integral):
        return tuple(size[0])
    return tuple(size)


def _leaf(values, dtype, requires_grad):
    t = Tensor(values, dtype=dtype)
    if requires_grad:
        t.requires_grad = True
    return t


def zeros(*size, dtype=np.float64, requires_grad=False):
    """A Tensor of zeros of shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``)."""
    return _leaf(np.zeros(_shape(size)), dtype, requires_grad)


def ones(*size, dtype=np.float64, requires_grad=False):
    """A Tensor of ones of shape ``size``."""
    return _leaf(np.ones(_shape(size)), dtype, requires_grad)


def empty(*size, dtype=np.float64, requires_grad=False):
    """A Tensor of shape ``size`` (zero-filled: chainrule never hands out uninitialized data)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    """A Tensor of shape ``size`` filled with ``fill_value``."""
    if dtype is None:
        dtype = np.float64 if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    return _leaf(np.full(tuple(size) if not isinstance(size, numbers.Integral) else (size,),
                         fill_value), dtype, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return _leaf(np.zeros(np.shape(t)), dtype or t.dtype, requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return _leaf(np.ones(np.shape(t)), dtype or t.dtype, requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return _leaf(np.full(np.shape(t), fill_value), dtype or t.dtype, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """``[start, end)`` in steps of ``step`` (``arange(n)`` is 0..n-1); integer if all three
    are integers, as in PyTorch."""
    if end is None:
        start, end = 0, start
    return _leaf(np.arange(start, end, step), dtype, requires_grad)


def linspace(start, end, steps, dtype=np.float64, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    return _leaf(np.linspace(start, end, steps), dtype, requires_grad)


def eye(n, m=None, dtype=np.float64, requires_grad=False):
    return _leaf(np.eye(n, m), dtype, requires_grad)


def rand(*size, dtype=np.float64, requires_grad=False):
    """Uniform on [0, 1), shape ``size``, from the generator ``manual_seed`` seeds."""
    return _leaf(generator().random(_shape(size)), dtype, requires_grad)


def randn(*size, dtype=np.float64, requires_grad=False):
    """Standard normal, shape ``size``, from the generator ``manual_seed`` seeds."""
    return _leaf(generator().standard_normal(_shape(size)), dtype, requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(*np.shape(t), dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(*np.shape(t), dtype=dtype or t.dtype, requires_grad=requires_grad)


def randint(low, high=None, size=None, dtype=np.int64):
    """Integers uniform on ``[low, high)`` (``randint(high, size)`` starts at 0), of shape
    ``size`` (a tuple)."""
    if size is None:
        if high is None or isinstance(high, numbers.Integral):
            raise InvalidArgumentError("randint needs a size tuple: randint(low, high, (n,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    return Tensor(generator().integers(low, high, tuple(size)), dtype=dtype)


def cat(tensors, dim=0, *, axis=None):
    """Tensors joined along the existing dimension ``dim`` (recorded: differentiable)."""
    return np.concatenate(list(tensors), axis=dim if axis is None else axis)


concat = cat


def stack(tensors, dim=0, *, axis=None):
    """Tensors stacked along a new dimension ``dim`` (recorded: differentiable)."""
    return np.stack(list(tensors), axis=dim if axis is None else axis)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` else ``other`` (broadcast; differentiable in both);
    ``where(condition)`` alone gives the indices of the true elements, as NumPy's."""
    if input is None and other is None:
        return tuple(Tensor(i) for i in np.nonzero(np.asarray(
            condition.data if isinstance(condition, Tensor) else condition)))
    return np.where(condition, input, other)


def from_numpy(a):
    """A Tensor holding a copy of the array ``a`` (chainrule's values are immutable, so no
    memory is shared)."""
    return Tensor(a)


def as_tensor(data, dtype=None):
    return data if isinstance(data, Tensor) and dtype is None else Tensor(data, dtype=dtype)


# -- save / load ----------------------------------------------------------------------------------
def _rebuild_tensor(value, requires_grad):
    t = Tensor(value)
    if requires_grad:
        t.requires_grad = True
    return t


def _reduce_tensor(t):
    return _rebuild_tensor, (np.array(t._value), t.is_leaf and t.requires_grad)


class _Pickler(pickle.Pickler):
    dispatch_table = {**pickle.dispatch_table}


def _register(cls):
    _Pickler.dispatch_table[cls] = _reduce_tensor


_register(Tensor)

_SAFE = {("collections", "OrderedDict"), ("builtins", "dict"), ("builtins", "list"),
         ("builtins", "tuple"), ("builtins", "set"), ("builtins", "slice"),
         ("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "_reconstruct"),
         ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
         ("numpy._core.multiarray", "scalar"), ("numpy._core.numeric", "_frombuffer"),
         ("numpy.core.numeric", "_frombuffer"), (__name__, "_rebuild_tensor")}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE or (module == "numpy" and name.endswith("DType")) or \
                (module.startswith("numpy.dtypes") and name.endswith("DType")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"chainrule.load(weights_only=True) refuses {module}.{name}: only Tensors, arrays "
            "and containers are loaded by default; pass weights_only=False for a trusted file")


def save(obj, f):
    """Write ``obj`` (Tensors, arrays, numbers, strings, and dicts/lists/tuples of them, such
    as a ``state_dict``) to the path or binary file ``f``. Tensors are saved without history."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    if hasattr(f, "write"):
        f.write(buf.getvalue())
    else:
        with open(f, "wb") as fh:
            fh.write(buf.getvalue())


def load(f, weights_only=True):
    """Read what ``save`` wrote. ``weights_only=True`` (the default, as PyTorch's) accepts only
    Tensors, arrays and containers, so a file cannot run code; ``False`` unpickles anything
    (trusted files only)."""
    if hasattr(f, "read"):
        data = f.read()
    else:
        with open(f, "rb") as fh:
            data = fh.read()
    if weights_only:
        return _SafeUnpickler(io.BytesIO(data)).load()
    return pickle.loads(data)
