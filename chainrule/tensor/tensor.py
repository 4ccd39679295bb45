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
  ``np.sum(t)`` through NEP 18) all reach ``apply_op``: it runs the NumPy function on the raw
  arrays and, when an argument requires grad, records a ``Node``: the operation as a pure
  function ``fn`` of the values of the arguments that require grad (the others are closed over),
  those argument Tensors, and the version of every Tensor argument.
* No derivative rule lives in this package. ``autograd.py`` walks the nodes in reverse
  topological order and gets each node's pullback from ``chainrule.vjp(node.fn, *values)``, i.e.
  from the primitives' JVP rules, linearized and transposed by the core.
* Higher orders (``create_graph=True``): applying a pullback is recorded as one more Tensor
  operation, whose function is ``lambda *xs, ct: vjp(fn, *xs)[1](ct)``. Differentiating the
  gradient again differentiates through chainrule's own ``vjp`` (reverse over reverse, which the
  core supports to any depth), so gradients are differentiable to any order.

Why the pullback is recorded as an operation rather than run on Tensors: the alternative, handing
the input Tensors themselves to ``chainrule.vjp`` as primals so that the JVP and transpose rules
record Tensor operations, requires every primitive implementation to accept a Tensor in place of
an array. Here the core only ever sees raw arrays and its own tracers, so every operation with a
first derivative has all higher ones, indexing included (the implementation of ``scatter_add``,
the transpose of indexing, writes into a plain buffer and cannot take a Tensor). The price is that
the k-th derivative nests k ``vjp`` calls per operation, which is fine for the few orders asked of
a Tensor interface; ``chainrule.grad`` nesting and Taylor mode serve high orders.

Functional transformations win: when a chainrule Tracer is among the arguments, the Tensor
returns ``NotImplemented`` and the tracer handles the call (a Tensor is then a constant array to
it). ``chainrule.core.get_aval`` reads a Tensor's ``.shape`` and ``.dtype`` like an array's.
"""
import weakref

import numpy as np

from ..core import Tracer, dispatch, tree_flatten, tree_unflatten
from ..core.array_methods import ArrayMethods
from ..core.errors import (ConcretizationError, InvalidArgumentError, NonDifferentiableInputError,
                           ShapeMismatchError, UnsupportedFunctionError)
from .errors import AutogradError, InplaceModificationError
from .grad_mode import _grad_enabled

__all__ = ["Tensor", "tensor", "apply_op", "Node"]


# -- the recorded graph -------------------------------------------------------------------------
class Node:
    """One recorded operation, the ``grad_fn`` of its results.

    ``fn(*values)`` recomputes the result(s) from the values of ``inputs``, the argument Tensors
    that require grad, in order; a tuple when the operation has several results (``multiple``).
    ``saved`` pairs every Tensor argument with its version when the operation ran; ``out_meta``
    holds (shape, dtype) per result. ``release()`` frees the function and the edges (what
    ``backward`` does unless ``retain_graph``)."""
    __slots__ = ("name", "fn", "inputs", "saved", "out_meta", "multiple")

    def __init__(self, name, fn, inputs, saved, out_meta, multiple):
        self.name = name
        self.fn = fn
        self.inputs = inputs
        self.saved = saved
        self.out_meta = out_meta
        self.multiple = multiple

    def release(self):
        self.fn = None
        self.inputs = ()
        self.saved = ()

    def __repr__(self):
        return f"<{self.name}>"


def _node_name(op_name):
    parts = str(op_name).replace(".", "_").split("_")
    return "".join(p[:1].upper() + p[1:] for p in parts) + "Backward"


def _own(a):
    """``a`` as an array that no one else can write to: chainrule's values are immutable."""
    a = np.asarray(a)
    if a.flags.writeable:
        if a.base is not None:        # a writable view (of a temporary, or of the caller's array)
            a = a.copy()
        a.flags.writeable = False
    return a


def _is_array(x):
    return isinstance(x, (np.ndarray, np.generic))


def apply_op(func, args, kwargs=None, name=None, supported=True):
    """Apply NumPy function ``func`` to ``args``/``kwargs`` with every Tensor in them (at any depth
    of lists, tuples and dicts) replaced by its array, and wrap the array result(s) as Tensors.

    If grad mode is on and a Tensor argument requires grad, the floating-point results get a
    ``Node`` recording ``func`` as a function of those arguments; ``supported=False`` says
    chainrule cannot differentiate ``func``, which is then an error. Results that are not arrays
    (shapes, Python numbers) are returned unchanged; a tuple or list of arrays becomes a tuple of
    Tensors. Returns ``NotImplemented`` when a chainrule Tracer is among the arguments."""
    leaves, treedef = tree_flatten((args, {} if kwargs is None else kwargs))
    raw = list(leaves)
    where = []
    for i, x in enumerate(leaves):
        if isinstance(x, Tensor):
            where.append(i)
            raw[i] = x._value
        elif isinstance(x, Tracer):
            return NotImplemented
    a, k = tree_unflatten(treedef, raw)
    out = func(*a, **k)
    multiple = isinstance(out, (tuple, list)) and len(out) > 0 and all(map(_is_array, out))
    outs = list(out) if multiple else [out]
    if not all(map(_is_array, outs)):
        return out
    values = [_own(o) for o in outs]
    node = None
    diff = [i for i in where if leaves[i]._requires_grad] if _grad_enabled.get() else []
    if diff and any(v.dtype.kind in "fc" for v in values):
        name = name or getattr(func, "__name__", "op")
        if not supported:
            raise UnsupportedFunctionError(
                f"{name} has no derivative in chainrule; call it on t.detach() or inside "
                "chainrule.no_grad() (see docs/supported.md for what is differentiable)")

        def fn(*xs):
            vals = list(raw)
            for i, x in zip(diff, xs):
                vals[i] = x
            a, k = tree_unflatten(treedef, vals)
            r = func(*a, **k)
            return tuple(r) if multiple else r
        fn.__name__ = str(name)
        node = Node(_node_name(name), fn, tuple(leaves[i] for i in diff),
                    tuple((leaves[i], leaves[i]._version) for i in where),
                    tuple((v.shape, v.dtype) for v in values), multiple)
    results = [Tensor._make(v, node if v.dtype.kind in "fc" else None, s)
               for s, v in enumerate(values)]
    return tuple(results) if multiple else results[0]


def _raw(x):
    """Tensors in a (nested) argument replaced by their arrays."""
    if isinstance(x, Tensor):
        return x._value
    if isinstance(x, (tuple, list)):
        return type(x)(_raw(i) for i in x)
    return x


def _requires_grad(x):
    return isinstance(x, Tensor) and x._requires_grad


def _getitem(a, idx):
    return a[idx]


def _axis(axis, dim):
    return axis if dim is None else dim


# constructors whose result never depends on the values of their argument
_NO_HISTORY = {np.zeros_like, np.ones_like, np.empty_like}


# -- Tensor -------------------------------------------------------------------------------------
class Tensor(ArrayMethods):
    """An array that can record the operations applied to it and differentiate through them.

    ``Tensor(data, requires_grad=False, dtype=None)`` copies ``data`` (NumPy's dtype rules;
    float64 for Python floats). Shapes, dtypes and broadcasting are NumPy's; the methods follow
    NumPy's signatures (``axis``, ``keepdims``; ``sum`` and ``mean`` also take PyTorch's ``dim``
    and ``keepdim``)."""
    __slots__ = ("_value", "_requires_grad", "_node", "_slot", "_version", "_grad", "_grad_of",
                 "__weakref__")
    __array_priority__ = 100        # below chainrule's tracers (1000): tracers win
    __hash__ = object.__hash__      # identity, as elementwise == leaves no other choice

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

    shape = property(lambda self: self._value.shape)
    dtype = property(lambda self: self._value.dtype)
    ndim = property(lambda self: self._value.ndim)
    size = property(lambda self: self._value.size)
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
        out = kwargs.pop("out", None)
        func = ufunc if method == "__call__" else getattr(ufunc, method)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}_{method}"
        supported = method != "__call__" or ufunc in dispatch.ufuncs
        if out is None or all(o is None for o in out):
            return apply_op(func, inputs, kwargs, name, supported)
        return _ufunc_into(func, inputs, kwargs, out, name, supported)

    def __array_function__(self, func, types, args, kwargs):
        if any(issubclass(t, Tracer) for t in types):
            return NotImplemented
        if kwargs.get("out") is not None:
            raise UnsupportedFunctionError(f"the out= argument of numpy.{func.__name__} with "
                                           "Tensors; assign the result instead")
        if func in _NO_HISTORY:
            return Tensor._make(_own(func(*_raw(args), **kwargs)))
        return apply_op(func, args, kwargs, func.__name__, func in dispatch.functions)

    def __getitem__(self, idx):
        out = apply_op(_getitem, (self, idx), None, "getitem")
        if out is NotImplemented:
            raise ConcretizationError("a traced value was used to index a Tensor; indices are "
                                      "not differentiable, use a plain integer array")
        return out

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
            fresh = Tensor._make(_own(np.zeros_like(self._value)))
            owner.grad = fresh
            return fresh
        self._check_inplace()
        return self._store(np.zeros_like(self._value))

    def __setitem__(self, idx, value):
        self._check_inplace(value)
        new = self._value.copy()
        new[_raw(idx)] = _raw(value)
        self._store(new)

    # -- methods, through NumPy's functions (so they are recorded like any other) ---------------
    def sum(self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None):
        return np.sum(self, axis=_axis(axis, dim), dtype=dtype,
                      keepdims=keepdims if keepdim is None else keepdim)

    def mean(self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None):
        return np.mean(self, axis=_axis(axis, dim), dtype=dtype,
                       keepdims=keepdims if keepdim is None else keepdim)

    view = ArrayMethods.reshape
    clamp = ArrayMethods.clip

    def unsqueeze(self, axis):
        return np.expand_dims(self, axis)

    def astype(self, dtype):
        return apply_op(lambda a: a.astype(dtype), (self,), None, "astype")

    def copy(self):
        """A copy that keeps the history (the derivative flows through it)."""
        return apply_op(np.copy, (self,), None, "copy")

    clone = copy

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


def _ufunc_into(func, inputs, kwargs, out, name, supported):
    """A ufunc called with ``out=``: into a Tensor (an in-place update) or, when nothing needs a
    derivative, into a plain array."""
    if any(isinstance(x, Tracer) for x in inputs + tuple(out)):
        return NotImplemented
    if len(out) == 1 and isinstance(out[0], Tensor):
        result = apply_op(func, inputs, kwargs, name, supported)
        out[0]._check_inplace(result)
        return out[0]._store(result._value)
    if _grad_enabled.get() and any(_requires_grad(x) for x in inputs):
        raise ConcretizationError(f"numpy.{name} would write a Tensor that requires grad into "
                                  "a plain array, losing its derivative; assign the result")
    return func(*_raw(inputs), out=tuple(_raw(o) for o in out), **kwargs)


def _binary(ufunc, reflected=False):
    if reflected:
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


for _name, _uf in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                   ("mod", np.remainder), ("pow", np.power), ("matmul", np.matmul),
                   ("and", np.bitwise_and), ("or", np.bitwise_or), ("xor", np.bitwise_xor)]:
    setattr(Tensor, f"__{_name}__", _binary(_uf))
    setattr(Tensor, f"__r{_name}__", _binary(_uf, reflected=True))
for _name, _uf in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)]:
    setattr(Tensor, f"__{_name}__", _binary(_uf))
for _name, _uf in [("neg", np.negative), ("pos", np.positive), ("abs", np.absolute),
                   ("invert", np.invert)]:
    setattr(Tensor, f"__{_name}__", _unary(_uf))
del _name, _uf


def tensor(data, requires_grad=False, dtype=None):
    """A new leaf Tensor holding a copy of ``data`` (array-like of any shape; NumPy's dtype
    rules, so Python floats give float64). ``requires_grad=True`` (floating dtypes only) makes
    backward accumulate this Tensor's gradient, of the same shape, into ``.grad``."""
    if isinstance(data, Tracer):
        raise InvalidArgumentError("chainrule.tensor() was given a traced value; Tensors are "
                                   "the eager interface, use the array inside transformations")
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _foreign_call(func, args, kwargs):
    """``chainrule.scipy`` functions called with Tensors (core.dispatch.foreign_aware)."""
    leaves = tree_flatten((args, kwargs))[0]
    if not any(isinstance(x, Tensor) for x in leaves):
        return NotImplemented
    return apply_op(func, args, kwargs, getattr(func, "__name__", None))


dispatch.hooks["foreign"] = _foreign_call
