"""The hooks through which a Tracer reaches the NumPy layer.

The core knows no operation; ``chainrule.numpy`` fills these tables when it is imported (which
``import chainrule`` always does). ``ufuncs`` maps a NumPy/SciPy ufunc to a function of its
positional arguments; ``functions`` maps a NumPy function (``np.sum``) to a function with the
same signature. The tables are a dispatch index only; every derivative rule lives on a Primitive.
"""
import functools
import sys

import numpy as np

from .errors import UnsupportedFunctionError

ufuncs = {}
functions = {}
# set by the NumPy layer: ufunc methods (reduce, accumulate, outer, at), indexing, astype
hooks = {}


def _qualname(f):
    mod = getattr(f, "__module__", None) or "numpy"
    name = getattr(f, '__name__', repr(f))
    if type(f).__name__ == "ufunc":
        mod = "numpy" if mod in (None, "numpy") else mod
        special = sys.modules.get("scipy.special")     # SciPy's ufuncs say module "numpy"
        if special is not None and getattr(special, name, None) is f \
                and getattr(np, name, None) is not f:
            mod = "scipy.special"
    return f"{mod}.{name}"


def call_ufunc(ufunc, *args):
    handler = ufuncs.get(ufunc)
    if handler is None:
        raise UnsupportedFunctionError(
            f"{_qualname(ufunc)} is not supported on traced arrays (chainrule has no "
            "derivative for it); see docs/supported.md for the list")
    return handler(*args)


def array_ufunc(ufunc, method, inputs, kwargs):
    return hooks["array_ufunc"](ufunc, method, inputs, kwargs)


def array_function(func, types, args, kwargs):
    handler = functions.get(func)
    if handler is None:
        raise UnsupportedFunctionError(
            f"{_qualname(func)} is not supported on traced arrays; see docs/supported.md "
            "for the list of supported functions")
    return handler(*args, **kwargs)


def getitem(x, idx):
    return hooks["getitem"](x, idx)


def setitem(x, idx, value):
    return hooks["setitem"](x, idx, value)


def astype(x, dtype):
    return hooks["astype"](x, dtype)


def foreign_aware(func):
    """``func`` (a function of ``chainrule.scipy``, which calls primitives directly rather than
    dispatching through NEP 18) made to reach array types that wrap their own arrays: the
    Tensor API registers ``hooks["foreign"](func, args, kwargs)``, which returns
    ``NotImplemented`` when none of the arguments is a Tensor."""
    @functools.wraps(func)
    def reaching(*args, **kwargs):
        handler = hooks.get("foreign")
        if handler is not None:
            out = handler(func, args, kwargs)
            if out is not NotImplemented:
                return out
        return func(*args, **kwargs)
    return reaching


def make_foreign_aware(namespace, module_name):
    """Wrap every public function defined in ``module_name`` with ``foreign_aware``."""
    for name, value in list(namespace.items()):
        if not name.startswith("_") and getattr(value, "__module__", None) == module_name \
                and type(value).__name__ == "function":
            namespace[name] = foreign_aware(value)
