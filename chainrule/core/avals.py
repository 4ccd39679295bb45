"""Abstract values: what an interpreter may know about an array without its contents.

A ShapedArray is a shape and a dtype. Python scalars are *weakly typed* (NumPy's NEP 50 rule:
``float32_array * 2.0`` stays float32), so avals of Python scalars carry ``weak_type=True`` and
dtype promotion in shape rules follows NumPy's own ``result_type`` on them.
"""
import math

import numpy as np

# The value NumPy's result_type treats as "a Python scalar of this kind" (weak typing).
_WEAK_STANDIN = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}


class ShapedArray:
    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type=False):
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.weak_type = weak_type

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(math.prod(self.shape))

    def dtype_standin(self):
        """What to hand to ``np.result_type`` so that weak types promote as NumPy does."""
        return _WEAK_STANDIN[self.dtype.kind] if self.weak_type else self.dtype

    def strip_weak(self):
        return ShapedArray(self.shape, self.dtype) if self.weak_type else self

    def update(self, shape=None, dtype=None):
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype)

    def __eq__(self, other):
        return (type(other) is ShapedArray and self.shape == other.shape
                and self.dtype == other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def str_short(self):
        dims = ",".join(map(str, self.shape))
        return f"{_DTYPE_SHORT.get(self.dtype.name, self.dtype.name)}[{dims}]"

    __repr__ = __str__ = str_short


_DTYPE_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "int64": "i64",
                "int32": "i32", "bool": "bool", "complex128": "c128", "complex64": "c64",
                "uint8": "u8", "int8": "i8"}

_PY_SCALARS = {float: np.dtype(np.float64), int: np.dtype(np.int64),
               bool: np.dtype(np.bool_), complex: np.dtype(np.complex128)}


# avals are never mutated, so the avals of scalars are shared: this runs on every traced op
_SCALAR_AVALS = {t: ShapedArray((), dt, weak_type=True) for t, dt in _PY_SCALARS.items()}


def get_aval(x):
    """The ShapedArray of a raw value (array, NumPy scalar, Python scalar) or of a tracer."""
    t = type(x)
    aval = _SCALAR_AVALS.get(t)
    if aval is not None:
        return aval
    if t is np.ndarray:
        return ShapedArray(x.shape, x.dtype)
    aval = getattr(x, "aval", None)  # tracers carry theirs
    if aval is not None:
        return aval
    if isinstance(x, np.generic):
        aval = _SCALAR_AVALS[t] = ShapedArray((), x.dtype)
        return aval
    try:
        return ShapedArray(x.shape, x.dtype)
    except AttributeError:
        arr = np.asarray(x)
        return ShapedArray(arr.shape, arr.dtype)


def is_differentiable_dtype(dtype):
    """Floating and complex dtypes carry derivatives; integers and booleans do not."""
    return np.dtype(dtype).kind in "fc"


def result_dtype(*avals):
    """NumPy's promotion of the dtypes of ``avals``, honouring weak types."""
    return np.result_type(*[a.dtype_standin() for a in avals])
