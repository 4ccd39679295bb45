"""PyTorch-style Tensors on chainrule's functional core: requires_grad, backward(), .grad.

    x = cr.tensor([2.0], requires_grad=True)
    y = x**3 + 2*x**2 + x
    y.backward()
    x.grad                                  # tensor([21.])

How it works: micrograd's design, with chainrule's primitives doing the calculus.

* A Tensor wraps a NumPy array (``.data``) that is never modified in place. An in-place method
  (``t += 1`` under ``no_grad()``, ``zero_()``, ``t[i] = v``) stores a new array and bumps the
  Tensor's version counter, so every array a recorded operation read stays as it was.
* Python operators, methods and NumPy functions on Tensors (``np.sin(t)`` through NEP 13,
  ``np.sum(t)`` through NEP 18) reach the primitives' ``bind``, whose interpreter for Tensors is
  ``_record`` (the arithmetic operators, and the ufuncs that are one primitive, call it at
  once): it runs the primitive on the raw arrays and, when an argument requires grad,
  runs the primitive's JVP rule instead, recording the linear map of the operation (tape.py)
  on a ``Node``: the primitive, its arguments, the versions of the Tensor arguments, and the
  recorded equations with their residuals.
* No derivative rule lives in this package. ``autograd.py`` walks the nodes in reverse
  topological order (the reverse of the order they were made in) and transposes each node's recorded linear map with the primitives'
  transpose rules.
* Higher orders (``create_graph=True``): the backward linearizes each operation again at its
  input Tensors with ``chainrule.vjp``, so the residuals are recorded Tensors with history and
  the gradient is differentiable again, to any order.

Functional transformations win: when a chainrule Tracer is among the arguments, the Tensor
returns ``NotImplemented`` and the tracer handles the call (a Tensor is then a constant array to
it). ``chainrule.core.get_aval`` reads a Tensor's ``.shape`` and ``.dtype`` like an array's.
"""
import itertools
import weakref

import numpy as np

from ..core import ShapedArray, Tracer, Zero, dispatch, get_aval, tree_flatten, \
    tree_unflatten
from ..core.errors import (ConcretizationError, InvalidArgumentError, NonDifferentiableInputError,
                           ShapeMismatchError, UnsupportedFunctionError)
from .. import numpy as _numpy_layer  # noqa: F401  (fills dispatch.ufuncs, read below)
from .errors import AutogradError
from .grad_mode import _grad_enabled
from .inplace import InplaceMethods, _own, _raw, _requires_grad
from .methods import TorchMethods
from .tape import TAPE, LinearTracer, TapeInterpreter, out_index, run_jvp

__all__ = ["Tensor", "tensor", "apply_op", "Node"]


# -- the recorded graph -------------------------------------------------------------------------
_NODE_SEQ = itertools.count()


class Node:
    """One recorded primitive application, the ``grad_fn`` of its results.

    ``prim``/``params``/``args``: what ran (``args`` holds the Tensors themselves, for the
    ``create_graph`` backward); ``inputs``: the argument Tensors that require grad, in order,
    and ``diff_pos`` their positions in ``args``; ``eqns``, ``count`` and ``outs``: the linear
    map of the operation as its JVP rule recorded it (tape.py), from the tangents of
    ``inputs`` (linear values 0, 1, ...) to those of the results (values ``outs``, None for a
    result with zero derivative), ``count`` values in all; ``out_avals``: the avals of the
    results of a primitive with several results (None otherwise); ``versions``: per argument,
    the version of a Tensor argument when the operation ran (None for other arguments), or
    None when every Tensor argument was at version 0. ``release()`` frees the linear map and
    the arguments (what ``backward`` does unless ``retain_graph``). ``hooks``/``retained``:
    per result slot, the hooks registered on that result and the results that keep their
    ``.grad`` (``retain_grad``). ``seq``: the number of the node in the order nodes are made,
    which is a topological order (the nodes of the inputs are made first)."""
    __slots__ = ("prim", "params", "args", "diff_pos", "count", "outs", "out_avals", "eqns",
                 "versions", "hooks", "retained", "seq", "__weakref__")

    def __init__(self, prim, params, args, diff_pos, count, outs, eqns, versions):
        self.seq = next(_NODE_SEQ)
        self.prim = prim
        self.params = params
        self.args = args
        self.diff_pos = diff_pos
        self.count = count
        self.outs = outs
        self.out_avals = None
        self.eqns = eqns
        self.versions = versions
        self.hooks = None
        self.retained = None

    @property
    def inputs(self):
        args = self.args
        return [args[i] for i in self.diff_pos]

    @property
    def name(self):
        return _node_name(self.prim.name)

    @property
    def multiple(self):
        return self.prim.multiple_results

    def release(self):
        self.eqns = None
        self.args = ()
        self.diff_pos = ()
        self.versions = None

    def __repr__(self):
        return f"<{self.name}>"


class _HookHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook."""
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _node_name(op_name):
    parts = str(op_name).replace(".", "_").split("_")
    return "".join(p[:1].upper() + p[1:] for p in parts) + "Backward"


def _is_array(x):
    return isinstance(x, (np.ndarray, np.generic))


def _record(prim, args, params):
    """``TAPE.process_primitive``: apply ``prim`` to ``args`` (Tensors among them) and wrap the
    results as Tensors; when grad mode is on and an argument requires grad, run the primitive's
    JVP rule instead, recording its linear map on a Node (tape.py)."""
    primals = []
    mask = 0
    bumped = False
    for i, a in enumerate(args):
        if type(a) in TENSOR_TYPES:
            primals.append(a._value)
            if a._requires_grad:
                mask |= 1 << i
            if a._version:
                bumped = True
        else:
            primals.append(a)
    if not mask or not _grad_enabled.get():
        out = prim.impl(*primals, **params)
        if prim.multiple_results:
            return [Tensor._make(_own(v)) for v in out]
        return Tensor._make(_own(out))
    diff_pos = _POSITIONS.get(mask)
    if diff_pos is None:
        diff_pos = _POSITIONS[mask] = tuple(i for i in range(mask.bit_length()) if mask >> i & 1)
    out, out_dot, eqns, count = run_jvp(prim, primals, diff_pos, params)
    versions = tuple(a._version if type(a) in TENSOR_TYPES else None for a in args) \
        if bumped else None
    if not prim.multiple_results:
        if type(out_dot) is LinearTracer:
            outs = _OUT_INDEX.get(out_dot.index) or (out_dot.index,)
        elif type(out_dot) is Zero:
            return Tensor._make(_own(out))
        else:
            outs = (None,)
        return Tensor._make(out if type(out) is _F64 else _own(out),
                            Node(prim, params, args, diff_pos, count, outs, eqns, versions), 0)
    out_dot = tuple(out_dot)
    if all(type(t) is Zero for t in out_dot):
        return [Tensor._make(_own(v)) for v in out]
    node = Node(prim, params, args, diff_pos, count, tuple(out_index(t) for t in out_dot), eqns,
                versions)
    node.out_avals = tuple(get_aval(t) for t in out_dot)
    return [Tensor._make(_own(v), None if type(t) is Zero else node, s)
            for s, (v, t) in enumerate(zip(out, out_dot))]


# shared tuples: positions of the arguments that require grad, by bit mask, and (i,) for the
# number of the result of a single-result operation
_POSITIONS = {}
_F64 = np.float64           # what NumPy's ufuncs return for 0-d operands: immutable already
_OUT_INDEX = {i: (i,) for i in range(64)}


TapeInterpreter.process_primitive = staticmethod(_record)



def _wrap(out):
    """Results of a NumPy-layer function called on Tensors: raw arrays (computed without a
    primitive, e.g. integer results) become Tensors; other values pass through."""
    if isinstance(out, Tensor):
        return out
    if _is_array(out):
        return Tensor._make(_own(out))
    if isinstance(out, (tuple, list)) and out and all(isinstance(o, Tensor) or _is_array(o)
                                                      for o in out):
        return tuple(_wrap(o) for o in out)
    return out


def apply_op(func, args, kwargs=None, name=None, supported=False):
    """Apply NumPy function ``func``, which chainrule has no primitive for, to ``args``/``kwargs``
    with every Tensor in them replaced by its array, and wrap the array result(s) as Tensors
    without history. Refused (UnsupportedFunctionError) when grad mode is on, an argument
    requires grad and a result is floating-point: its derivative would be lost silently."""
    leaves, treedef = tree_flatten((args, {} if kwargs is None else kwargs))
    needs_grad = False
    raw = list(leaves)
    for i, x in enumerate(leaves):
        if isinstance(x, Tensor):
            raw[i] = x._value
            needs_grad = needs_grad or x._requires_grad
        elif isinstance(x, Tracer):
            return NotImplemented
    a, k = tree_unflatten(treedef, raw)
    out = func(*a, **k)
    outs = out if isinstance(out, (tuple, list)) else [out]
    if needs_grad and _grad_enabled.get() and any(
            _is_array(o) and np.asarray(o).dtype.kind in "fc" for o in outs):
        name = name or getattr(func, "__name__", "op")
        raise UnsupportedFunctionError(
            f"{name} has no derivative in chainrule; call it on t.detach() or inside "
            "chainrule.no_grad() (see docs/supported.md for what is differentiable)")
    return _wrap(out)


def _getitem(a, idx):
    return a[idx]


def _axis(axis, dim):
    return axis if dim is None else dim


# constructors whose result never depends on the values of their argument
_NO_HISTORY = {np.zeros_like, np.ones_like, np.empty_like}


# -- Tensor -------------------------------------------------------------------------------------
class Tensor(InplaceMethods, TorchMethods, Tracer):
    """An array that can record the operations applied to it and differentiate through them.

    ``Tensor(data, requires_grad=False, dtype=None)`` copies ``data`` (NumPy's dtype rules;
    float64 for Python floats). Shapes, dtypes and broadcasting are NumPy's; the methods follow
    NumPy's signatures (``axis``, ``keepdims``; ``sum`` and ``mean`` also take PyTorch's ``dim``
    and ``keepdim``)."""
    __slots__ = ("_value", "_requires_grad", "_node", "_slot", "_version", "_grad", "_grad_of",
                 "_hooks", "_retains", "__weakref__")
    __array_priority__ = 100        # below chainrule's other tracers (1000)
    __hash__ = object.__hash__      # identity, as elementwise == leaves no other choice
    _interp = TAPE                  # every Tensor is a tracer of the one tape interpreter

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data._value
        value = np.array(data, dtype=dtype)
        value.flags.writeable = False
        self._init(value, None, 0)
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, value, node=None, slot=0):
        t = cls.__new__(cls)
        t._init(value, node, slot)
        return t

    def _init(self, value, node, slot):
        self._value = value
        self._node = node
        self._slot = slot
        self._requires_grad = node is not None
        self._version = 0
        self._grad = None
        self._grad_of = None
        self._hooks = None
        self._retains = False

    # -- autograd attributes ----------------------------------------------------------------
    @property
    def requires_grad(self):
        """Whether operations on this Tensor are recorded for differentiation."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if self._node is not None:
            raise AutogradError("requires_grad can only be changed on leaf Tensors; use "
                                "t.detach() for a copy outside the graph")
        if flag and self._value.dtype.kind not in "fc":
            raise NonDifferentiableInputError(
                f"only floating-point Tensors can require grad, this one has dtype "
                f"{self._value.dtype}; convert with t.astype(float)")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place (leaves only); returns ``self``."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        """True for Tensors not produced by a recorded operation (those created by the user, and
        every Tensor that does not require grad)."""
        return self._node is None

    @property
    def grad_fn(self):
        """The Node that produced this Tensor (``repr``: ``<MultiplyBackward>``), or None."""
        return self._node

    @property
    def grad(self):
        """The gradient accumulated by ``backward`` (leaves only), a Tensor of this Tensor's
        shape, or None before the first backward. With ``create_graph=True`` it has history."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                value = Tensor(value)
            if value.shape != self.shape:
                raise ShapeMismatchError(f"assigned grad has shape {value.shape}, the Tensor "
                                         f"has shape {self.shape}")
            value._grad_of = weakref.ref(self)
        self._grad = value

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate the gradient of this Tensor into ``.grad`` of every leaf it depends on.

        ``gradient``: the cotangent, same shape as this Tensor; it may be omitted for a Tensor
        with one element. ``create_graph=True`` records the backward pass, so the gradients can
        be differentiated again. The graph is freed afterwards unless ``retain_graph`` (default:
        ``create_graph``); a second backward through it raises GraphFreedError."""
        from .autograd import backward
        backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph)

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever the gradient with respect to this Tensor is computed
        (``backward`` or ``autograd.grad``); a hook that returns a Tensor replaces the gradient
        (for a leaf: before it is accumulated into ``.grad``). Returns a handle whose
        ``remove()`` unregisters the hook."""
        if not self._requires_grad:
            raise AutogradError("cannot register a hook on a Tensor that does not require grad")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self._node.hooks is None:
                self._node.hooks = {}
            hooks = self._node.hooks.setdefault(self._slot, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def retain_grad(self):
        """Keep the gradient of this non-leaf Tensor in ``.grad`` on backward (leaves always
        keep theirs)."""
        if not self._requires_grad:
            raise AutogradError("retain_grad() on a Tensor that does not require grad")
        if self._node is not None:
            if self._node.retained is None:
                self._node.retained = {}
            self._node.retained[self._slot] = weakref.ref(self)
        self._retains = True

    @property
    def retains_grad(self):
        return self._retains and self._node is not None

    def detach(self):
        """A new leaf Tensor with the same (immutable) values and no history."""
        return Tensor._make(self._value)

    # -- values --------------------------------------------------------------------------------
    @property
    def data(self):
        """The values as a read-only NumPy array. Assigning ``t.data = array`` replaces them (no
        recording, but the version counter is bumped so stale graphs are detected)."""
        return self._value

    @data.setter
    def data(self, value):
        self._value = _own(np.array(_raw(value), dtype=self._value.dtype))
        self._version += 1

    def numpy(self):
        """The values as a read-only NumPy array; refused for a Tensor that requires grad (the
        derivative would be lost): call ``t.detach().numpy()``."""
        if self._requires_grad:
            raise ConcretizationError("numpy() was called on a Tensor that requires grad; call "
                                      "t.detach().numpy() (the derivative would be lost)")
        return self._value

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad:
            raise ConcretizationError(
                "a Tensor that requires grad was converted to a NumPy array (np.asarray, "
                "np.array([...]), plotting); use t.detach() first, or np.stack([...]) to build a "
                "Tensor from Tensors")
        v = self._value
        if dtype is not None and np.dtype(dtype) != v.dtype:
            return v.astype(dtype)
        return v.copy() if copy else v

    def item(self):
        """The single element as a Python number."""
        return self._value.item()

    def tolist(self):
        return self._value.tolist()

    @property
    def aval(self):
        return ShapedArray(self._value.shape, self._value.dtype)

    def concrete_value(self):
        return self._value

    shape = property(lambda self: self._value.shape)
    dtype = property(lambda self: self._value.dtype)
    ndim = property(lambda self: self._value.ndim)
    T = property(lambda self: np.transpose(self))

    def numel(self):
        return self._value.size

    def dim(self):
        return self._value.ndim

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("iteration over a 0-d Tensor")
        return (self[i] for i in range(len(self._value)))

    def __bool__(self):
        return bool(self._value)

    def __float__(self):
        return float(self._value.item())

    def __int__(self):
        return int(self._value.item())

    def __index__(self):
        if self._value.dtype.kind not in "iu" or self._value.ndim:
            raise TypeError("only 0-d integer Tensors can be used as an index")
        return int(self._value.item())

    def __format__(self, spec):
        if spec and self._value.size == 1:
            return format(self._value.item(), spec)
        return format(str(self), spec)

    def __repr__(self):
        body = np.array2string(self._value, separator=", ", prefix="tensor(")
        extra = []
        if self._value.dtype not in (np.float64, np.int64, np.bool_):
            extra.append(f"dtype={self._value.dtype}")
        if self._node is not None:
            extra.append(f"grad_fn={self._node!r}")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extra) + ")"

    # -- NEP 13 / NEP 18 ---------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:
            prim = _UFUNC_PRIMITIVES.get(ufunc)
            if prim is not None and (len(inputs) == 1 or not any(
                    isinstance(x, Tracer) and type(x) not in TENSOR_TYPES for x in inputs)):
                return _record(prim, inputs, {})
            handler = dispatch.ufuncs.get(ufunc)
            if handler is not None:
                return _wrap(handler(*inputs))
        out = kwargs.pop("out", None)
        if out is not None and any(o is not None for o in out):
            return _ufunc_into(ufunc, method, inputs, kwargs, out)
        if method == "__call__" and ufunc not in dispatch.ufuncs:
            return apply_op(ufunc, inputs, kwargs, ufunc.__name__)
        try:
            return _wrap(dispatch.array_ufunc(ufunc, method, inputs, kwargs))
        except UnsupportedFunctionError:
            func = ufunc if method == "__call__" else getattr(ufunc, method)
            return apply_op(func, inputs, kwargs, f"{ufunc.__name__}.{method}")

    def __array_function__(self, func, types, args, kwargs):
        if kwargs.get("out") is not None:
            raise UnsupportedFunctionError(f"the out= argument of numpy.{func.__name__} with "
                                           "Tensors; assign the result instead")
        if func in _NO_HISTORY or "like" in kwargs:
            return Tensor._make(_own(func(*_raw(args), **_raw(kwargs))))
        handler = dispatch.functions.get(func)
        if handler is None:
            return apply_op(func, args, kwargs, func.__name__)
        return _wrap(handler(*args, **kwargs))

    def __getitem__(self, idx):
        return dispatch.getitem(self, _raw(idx))

    # -- methods, through NumPy's functions (so they are recorded like any other) ---------------
    def sum(self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None):
        return np.sum(self, axis=_axis(axis, dim), dtype=dtype,
                      keepdims=keepdims if keepdim is None else keepdim)

    def mean(self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None):
        return np.mean(self, axis=_axis(axis, dim), dtype=dtype,
                       keepdims=keepdims if keepdim is None else keepdim)

    def astype(self, dtype, copy=True):
        return _wrap(dispatch.astype(self, dtype))

    def copy(self):
        """A copy that keeps the history (the derivative flows through it)."""
        return np.copy(self)

    clone = copy


def _ufunc_into(ufunc, method, inputs, kwargs, out):
    """A ufunc called with ``out=``: into a Tensor (an in-place update) or, when nothing needs a
    derivative, into a plain array."""
    if any(isinstance(x, Tracer) and not isinstance(x, Tensor) for x in inputs + tuple(out)):
        return NotImplemented
    if len(out) == 1 and isinstance(out[0], Tensor):
        result = getattr(ufunc, method)(*inputs, **kwargs) if method != "__call__" \
            else ufunc(*inputs, **kwargs)
        out[0]._check_inplace(result)
        return out[0]._store(result._value if isinstance(result, Tensor) else result)
    if _grad_enabled.get() and any(_requires_grad(x) for x in inputs):
        raise ConcretizationError(f"numpy.{ufunc.__name__} would write a Tensor that requires "
                                  "grad into a plain array, losing its derivative; assign the "
                                  "result")
    func = ufunc if method == "__call__" else getattr(ufunc, method)
    return func(*_raw(inputs), out=tuple(_raw(o) for o in out), **kwargs)


def _binary(ufunc, reflected=False, direct=False):
    """Python's binary operator as ``ufunc``; ``direct``: the primitive that the NumPy layer's
    handler of ``ufunc`` binds, recorded at once (the arithmetic operators, which every Tensor
    expression runs through, skip the handler and ``bind``), unless the other operand is a
    transformation's tracer, which then handles the call."""
    if direct:
        prim = _UFUNC_PRIMITIVES[ufunc]
        if reflected:
            def op(self, other):
                if isinstance(other, Tracer) and type(other) not in TENSOR_TYPES:
                    return dispatch.ufuncs[ufunc](other, self)
                return _record(prim, (other, self), {})
        else:
            def op(self, other):
                if isinstance(other, Tracer) and type(other) not in TENSOR_TYPES:
                    return dispatch.ufuncs[ufunc](self, other)
                return _record(prim, (self, other), {})
    elif reflected:
        def op(self, other):
            return ufunc(other, self)
    else:
        def op(self, other):
            return ufunc(self, other)
    op.__name__ = ufunc.__name__
    return op


def _unary(ufunc):
    def op(self):
        return ufunc(self)
    op.__name__ = ufunc.__name__
    return op


# the ufuncs whose NumPy-layer handler binds exactly one primitive (``op.primitive``): on
# Tensors they are recorded without the handler
_UFUNC_PRIMITIVES = {uf: h.primitive for uf, h in dispatch.ufuncs.items()
                     if getattr(h, "primitive", None) is not None}

for _name, _uf in [("and", np.bitwise_and), ("or", np.bitwise_or), ("xor", np.bitwise_xor)]:
    setattr(Tensor, f"__{_name}__", _binary(_uf))
    setattr(Tensor, f"__r{_name}__", _binary(_uf, reflected=True))
for _name, _uf in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide)]:
    setattr(Tensor, f"__{_name}__", _binary(_uf, direct=True))
    setattr(Tensor, f"__r{_name}__", _binary(_uf, reflected=True, direct=True))
Tensor.__invert__ = _unary(np.invert)
del _name, _uf


# the Tensor classes (nn.Parameter adds itself): the recording path checks membership here
TENSOR_TYPES = {Tensor}


def tensor(data, requires_grad=False, dtype=None):
    """A new leaf Tensor holding a copy of ``data`` (array-like of any shape; NumPy's dtype
    rules, so Python floats give float64). ``requires_grad=True`` (floating dtypes only) makes
    backward accumulate this Tensor's gradient, of the same shape, into ``.grad``."""
    if isinstance(data, Tracer) and not isinstance(data, Tensor):
        raise InvalidArgumentError("chainrule.tensor() was given a traced value; Tensors are "
                                   "the eager interface, use the array inside transformations")
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


