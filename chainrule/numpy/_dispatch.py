"""Registration of the NumPy layer into the core's dispatch tables (NEP 13 and NEP 18).

``implements(np.sum)`` registers a function with NumPy's signature as the handler of ``np.sum``
on traced arrays; ``implements_ufunc(np.sin)`` does the same for a ufunc (``scipy.special``
ufuncs too); ``implements_like(np.zeros)`` for a constructor called as
``np.zeros(shape, like=x)``. The tables are an index from NumPy's names to chainrule functions;
no derivative rule lives here. ``exported`` is the ``chainrule.numpy`` namespace, ``scipy_exported``
the ufuncs of ``chainrule.scipy.special``; ``ufunc_methods`` lists the ufunc methods (reduce,
accumulate, outer, at) the NumPy layer handles, for the generated list of supported functions.
"""
from ..core import dispatch
from ..core.errors import UnsupportedFunctionError

# name -> function, for the chainrule.numpy namespace and the generated list of supported names
exported = {}
# name -> function, the scipy.special ufuncs (chainrule.scipy.special re-exports them)
scipy_exported = {}
# method name -> description of the ufuncs it supports
ufunc_methods = {}
# the plain (non-ufunc) functions of chainrule.scipy.special, for the list of supported names
# (the numpy layer does not import chainrule.scipy; a test checks the two agree)
scipy_functions = ("logsumexp", "softmax", "log_softmax", "polygamma", "multigammaln")
# the other chainrule.scipy modules, by name (listed in docs/supported.md; a test checks them)
scipy_modules = {
    "stats": ("norm", "t", "chi2", "beta", "gamma", "expon", "laplace", "cauchy", "logistic",
              "poisson", "binom", "multivariate_normal", "dirichlet"),
    "optimize": ("rosen", "rosen_der", "rosen_hess", "rosen_hess_prod"),
    "signal": ("convolve", "correlate"),
}
# the functions of chainrule.scipy.linalg (listed in docs/supported.md; a test checks them)
scipy_linalg = ("cho_factor", "cho_solve", "cholesky", "det", "eigh", "expm", "expm_frechet",
                "inv", "lu", "lu_factor", "lu_solve", "solve", "solve_banded",
                "solve_continuous_lyapunov", "solve_discrete_lyapunov", "solve_sylvester",
                "solve_triangular", "sqrtm", "svd")


def implements(*np_funcs, name=None, export=True):
    def register(f):
        for nf in np_funcs:
            dispatch.functions[nf] = f
        if export:
            exported[name or f.__name__] = f
        return f
    return register


def implements_ufunc(*ufuncs, name=None, namespace=exported):
    def register(f):
        for uf in ufuncs:
            dispatch.ufuncs[uf] = f
        if namespace is not None:
            namespace[name or ufuncs[0].__name__] = f
        return f
    return register


def implements_like(*np_funcs):
    """Register ``f(like, *args, **kwargs)`` as ``np_func(*args, like=like, **kwargs)``."""
    def register(f):
        table = dispatch.hooks.setdefault("like", {})
        for nf in np_funcs:
            table[nf] = f
        return f
    return register


def unsupported(what):
    return UnsupportedFunctionError(f"{what} is not supported on traced arrays; see "
                                    "docs/supported.md for the supported functions")
