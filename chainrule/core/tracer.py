"""The Tracer base class: what user code holds while chainrule traces it.

A tracer stands for an array inside a transformation. It is tagged with the interpreter that made
it (``_interp``) and looks like a NumPy array to the code that handles it: Python operators,
``np.sin(t)`` through NEP 13 (``__array_ufunc__``), ``np.sum(t)`` through NEP 18
(``__array_function__``), and the attributes and methods users touch (``shape``, ``T``,
``.sum()``, ``.reshape()``, ...). All of these forward to the NumPy layer's dispatch tables
(``dispatch``), which map NumPy functions onto primitives; the core itself knows no operation.

A tracer refuses to become a plain value (``float(t)``, ``np.asarray(t)``, using it as an index),
since its derivative would be lost; it says what to write instead. ``bool(t)`` is allowed when
the value is concrete (eager mode), so ``if x > 0:`` works: comparisons return plain booleans.
"""
import sys

import numpy as np

from . import dispatch
from .array_methods import ArrayMethods
from .avals import get_aval
from .errors import ConcretizationError, UnsupportedFunctionError

_ESCAPE_HINT = (
    "its derivative would be lost. Keep it an array: use np.zeros_like(x) or "
    "np.zeros(shape, like=x) for buffers you write into, chainrule.stop_gradient(x) for a value "
    "that should not be differentiated, or compute on x with NumPy functions.")

# np.array([a, b]) cannot be intercepted: NumPy's protocols do not reach np.array of a list
_ARRAY_HINT = (" To build an array from traced values (np.array([a, b, c])), write "
               "chainrule.numpy.array([a, b, c]) or np.stack([a, b, c]); for np.r_[...], "
               "np.c_[...] and np.vectorize(f) write chainrule.numpy.r_, .c_, .vectorize.")
_MATH_HINT = (" Functions of the math module convert their argument with float(): write "
              "np.sin(x), np.exp(x), ... instead of math.sin(x), math.exp(x).")


def _caller_hint():
    """A pointer to chainrule's own version when the conversion happened inside SciPy (whose
    functions convert their inputs with np.asarray before NumPy's protocols can dispatch)."""
    frame, public = sys._getframe(2), None
    while frame is not None:
        parts = frame.f_globals.get("__name__", "").split(".")
        if parts[0] == "scipy" and len(parts) > 1 and not parts[1].startswith("_"):
            public = parts[1]           # the outermost public SciPy package on the stack
        frame = frame.f_back
    if public is None:
        return ""
    for mod in (f"chainrule.scipy.{public}", f"chainrule.{public}"):
        if _module_exists(mod):
            return (f" This happened inside scipy.{public}, which converts its inputs with "
                    f"np.asarray: use {mod} for the differentiable version of that function.")
    return (f" This happened inside scipy.{public}, which converts its inputs with np.asarray; "
            f"chainrule has no differentiable version of scipy.{public}: write the computation "
            "with NumPy functions on the traced arrays (docs/supported.md lists them).")


def _module_exists(name):
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


class Tracer(ArrayMethods):
    __slots__ = ("_interp",)
    __array_priority__ = 1000
    __hash__ = None

    # -- what subclasses provide -------------------------------------------------------------
    @property
    def aval(self):
        raise NotImplementedError

    def concrete_value(self):
        """The raw value, if this interpreter knows it (eager mode); else ConcretizationError."""
        raise ConcretizationError(
            f"the value of a {type(self).__name__} is not known while it is being traced; "
            "Python control flow on it cannot be staged")

    def beneath(self):
        """The value this tracer carries one level down (forward mode's primal, a vmap's
        batched value), or None where it carries none (a value being staged by ``jit``). Read
        without recording anything: only for decisions that do not change a result, such as the
        NaN-safe products' choice of formula (core/zeros.py ``peek``)."""
        return None

    # -- the array surface ---------------------------------------------------------------------
    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)
    T = property(lambda self: np.transpose(self))
    real = property(lambda self: np.real(self))
    imag = property(lambda self: np.imag(self))

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of a 0-d array")
        return self.aval.shape[0]

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.aval.shape[0]))

    def __getitem__(self, idx):
        return dispatch.getitem(self, idx)

    def __setitem__(self, idx, value):
        dispatch.setitem(self, idx, value)

    def _become(self, new):
        """Make this object stand for ``new``, a tracer of the same interpreter: item assignment
        (``x[idx] = v``) rebinds the array object ``x`` to the updated value."""
        raise UnsupportedFunctionError(
            f"item assignment on a {type(self).__name__} (this transformation does not support "
            "writing into traced arrays)")

    # -- NEP 13 / NEP 18 --------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        make = dispatch.hooks.get("like", {}).get(func)   # np.zeros(shape, like=self), ...
        if make is not None:
            return make(self, *args, **kwargs)
        return dispatch.array_function(func, types, args, kwargs)

    # -- refusing to become a plain value ------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise ConcretizationError(
            f"a traced array ({self.aval}) was converted to a NumPy array (np.asarray, "
            "np.array, or writing it into a plain ndarray); " + _ESCAPE_HINT + _ARRAY_HINT
            + _caller_hint())

    def _refuse(self, kind):
        raise ConcretizationError(f"{kind}() was called on a traced value ({self.aval}); "
                                  + _ESCAPE_HINT + _MATH_HINT + _caller_hint())

    def __float__(self):
        self._refuse("float")

    def __int__(self):
        self._refuse("int")

    def __complex__(self):
        self._refuse("complex")

    def __index__(self):
        raise ConcretizationError(
            f"a traced value ({self.aval}) was used as an index or size; indices are not "
            "differentiable: compute them from chainrule.stop_gradient(x) or from plain arrays")

    def __bool__(self):
        return bool(self.concrete_value())

    def item(self):
        self._refuse("item")

    def tolist(self):
        self._refuse("tolist")

    def __repr__(self):
        try:
            val = f", value={self.concrete_value()!r}"
        except Exception:
            val = ""
        return f"{type(self).__name__}({self.aval}{val})"

    # -- methods: ArrayMethods (np.sum(self, ...), ...), plus these two -----------------------
    def astype(self, dtype, copy=True):
        return dispatch.astype(self, dtype)

    def copy(self):
        return np.copy(self)


def _binary(ufunc, reflected=False):
    if reflected:
        def op(self, other):
            return dispatch.call_ufunc(ufunc, other, self)
    else:
        def op(self, other):
            return dispatch.call_ufunc(ufunc, self, other)
    op.__name__ = ufunc.__name__
    return op


def _unary(ufunc):
    def op(self):
        return dispatch.call_ufunc(ufunc, self)
    op.__name__ = ufunc.__name__
    return op


for _name, _uf in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                   ("mod", np.remainder), ("pow", np.power), ("matmul", np.matmul)]:
    setattr(Tracer, f"__{_name}__", _binary(_uf))
    setattr(Tracer, f"__r{_name}__", _binary(_uf, reflected=True))
for _name, _uf in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal),
                   ("and", np.logical_and), ("or", np.logical_or),
                   ("xor", np.logical_xor)]:
    setattr(Tracer, f"__{_name}__", _binary(_uf))
for _name, _uf in [("neg", np.negative), ("pos", np.positive), ("abs", np.absolute),
                   ("invert", np.logical_not)]:
    setattr(Tracer, f"__{_name}__", _unary(_uf))
del _name, _uf


class PrimalTracer(Tracer):
    """A tracer that carries its primal value alongside what its transformation adds (forward
    mode's tangent, Taylor mode's series): its aval and concrete value are the primal's."""
    __slots__ = ("primal", "_aval")

    @property
    def aval(self):
        if self._aval is None:
            self._aval = get_aval(self.primal)
        return self._aval

    def concrete_value(self):
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else p

    def beneath(self):
        return self.primal
