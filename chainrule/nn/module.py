"""``Parameter``, ``Module`` and the containers ``Sequential`` and ``ModuleList``.

A Module holds parameters (``Parameter``: a leaf Tensor that requires grad), buffers (Tensors
that are state but not trained, like BatchNorm's running statistics) and sub-modules, in the
order they were assigned. ``state_dict()`` names them with dotted paths as PyTorch does
(``"0.weight"``, ``"bn.running_mean"``), so a state dict can be moved between the two
libraries by converting the arrays.
"""
import collections

import numpy as np

from ..core.errors import InvalidArgumentError, ShapeMismatchError
from ..tensor import Tensor, no_grad
from ..tensor.functions import _register
from ..tensor.tensor import TENSOR_TYPES, _own

__all__ = ["Parameter", "Module", "Sequential", "ModuleList"]


class Parameter(Tensor):
    """A Tensor that a Module trains: a leaf that requires grad (unless
    ``requires_grad=False``), registered by assigning it to a Module attribute."""
    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.detach()._value
        super().__init__(data, requires_grad=False)
        if requires_grad:
            self.requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


TENSOR_TYPES.add(Parameter)
_register(Parameter)


class Module:
    """Base class: define ``forward``; assign Parameters, sub-modules and (through
    ``register_buffer``) buffers as attributes in ``__init__`` after ``super().__init__()``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "training", True)

    def _check_init(self):
        if "_parameters" not in self.__dict__:
            raise InvalidArgumentError(f"{type(self).__name__}.__init__ must call "
                                       "super().__init__() before assigning attributes")

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._check_init()
            self._buffers.pop(name, None)
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_init()
            self._parameters.pop(name, None)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise InvalidArgumentError(f"cannot assign a {type(value).__name__} to "
                                           f"parameter {name!r}; assign a Parameter")
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """Keep ``tensor`` (no grad) as state: in ``state_dict`` and moved by ``to``."""
        self._check_init()
        self._buffers[name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def register_parameter(self, name, param):
        setattr(self, name, param)

    def add_module(self, name, module):
        self._check_init()
        self._modules[name] = module

    # -- calling ------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # -- traversal ----------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        """``(dotted name, module)`` for this module ("") and every sub-module, each once."""
        seen = set()

        def visit(m, name):
            if id(m) in seen:
                return
            seen.add(id(m))
            yield name, m
            for key, sub in m._modules.items():
                if sub is not None:
                    yield from visit(sub, f"{name}.{key}" if name else key)
        return list(visit(self, prefix))

    def modules(self):
        return [m for _, m in self.named_modules()]

    def named_children(self):
        return [(k, m) for k, m in self._modules.items() if m is not None]

    def children(self):
        return [m for _, m in self.named_children()]

    def named_parameters(self, prefix="", recurse=True):
        """``[(dotted name, Parameter)]`` of this module and (``recurse``) its sub-modules, in
        registration order, each Parameter once."""
        out, seen = [], set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for name, m in mods:
            for key, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    out.append((f"{name}.{key}" if name else key, p))
        return out

    def parameters(self, recurse=True):
        """The Parameters, in registration order."""
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix=""):
        return [(f"{name}.{key}" if name else key, b) for name, m in self.named_modules(prefix)
                for key, b in m._buffers.items() if b is not None]

    def buffers(self):
        return [b for _, b in self.named_buffers()]

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, then on this one (as PyTorch); returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- modes and state ------------------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (Dropout active, BatchNorm on batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        """Forget accumulated gradients: ``p.grad = None`` (default) or zero them."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros(p.shape, p.dtype))

    def state_dict(self, prefix=""):
        """An ordered dict from dotted names to detached Tensors: parameters, then buffers, per
        module (PyTorch's names and order)."""
        out = collections.OrderedDict()
        for name, m in self.named_modules():
            skip = m.__dict__.get("_non_persistent", ())
            for key, v in list(m._parameters.items()) + list(m._buffers.items()):
                if v is not None and key not in skip:
                    out[prefix + (f"{name}.{key}" if name else key)] = v.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` (Tensors or arrays, as ``state_dict`` names them) into
        the parameters and buffers, in place. ``strict``: missing or unexpected keys raise
        InvalidArgumentError. Returns ``(missing_keys, unexpected_keys)``."""
        own = {}
        for name, m in self.named_modules():
            for table in (m._parameters, m._buffers):
                for key, v in table.items():
                    if v is not None:
                        own[f"{name}.{key}" if name else key] = (m, table, key)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise InvalidArgumentError(f"load_state_dict: missing keys {missing}, unexpected "
                                       f"keys {unexpected}")
        with no_grad():
            for k, (m, table, key) in own.items():
                if k not in state_dict:
                    continue
                v = state_dict[k]
                value = np.asarray(v.detach().data if isinstance(v, Tensor) else v)
                target = table[key]
                if isinstance(target, Tensor):
                    if value.shape != target.shape:
                        raise ShapeMismatchError(f"load_state_dict: {k} has shape "
                                                 f"{value.shape}, the module's {target.shape}")
                    target._store(value.astype(target.dtype))
                else:
                    table[key] = value
        return missing, unexpected

    def to(self, *args, dtype=None, **kwargs):
        """Convert the floating-point parameters and buffers to ``dtype`` (``to(np.float32)``;
        ``to("cpu")`` changes nothing), in place; returns self."""
        for a in args:
            if not isinstance(a, str):
                dtype = a
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for key, v in table.items():
                    if isinstance(v, Tensor) and v.dtype.kind == "f" and v.dtype != dtype:
                        v._value = _own(v._value.astype(dtype))
                        v._version += 1
                        if v._grad is not None:
                            v._grad = None
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"  ({k}): " + repr(m).replace("\n", "\n  ") for k, m in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(lines) + "\n)" if lines else ")")


class Sequential(Module):
    """Modules applied in order: ``Sequential(f, g)(x) == g(f(x))``; named "0", "1", ... (or
    by the keys of one OrderedDict argument)."""

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], collections.OrderedDict):
            for k, m in layers[0].items():
                self.add_module(k, m)
        else:
            for i, m in enumerate(layers):
                self.add_module(str(i), m)

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, i):
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*mods[i])
        return mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (named "0", "1", ...)."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
