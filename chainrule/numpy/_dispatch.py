"""Registration of the NumPy layer into the core's dispatch tables (NEP 13 and NEP 18).

``implements(np.sum)`` registers a function with NumPy's signature as the handler of ``np.sum``
on traced arrays; ``implements_ufunc(np.sin)`` does the same for a ufunc. The tables are an index
from NumPy's names to chainrule functions; no derivative rule lives here.
"""
from ..core import dispatch
from ..core.errors import UnsupportedFunctionError

# name -> function, for the chainrule.numpy namespace and the generated list of supported names
exported = {}


def implements(*np_funcs, name=None):
    def register(f):
        for nf in np_funcs:
            dispatch.functions[nf] = f
        exported[name or f.__name__] = f
        return f
    return register


def implements_ufunc(*ufuncs, name=None):
    def register(f):
        for uf in ufuncs:
            dispatch.ufuncs[uf] = f
        exported[name or ufuncs[0].__name__] = f
        return f
    return register


def unsupported(what):
    return UnsupportedFunctionError(f"{what} is not supported on traced arrays; see "
                                    "docs/supported.md for the supported functions")
