"""``python -m chainrule.numpy > docs/supported.md``: the list of supported functions, generated
from the dispatch tables so that it cannot drift from the code (a test compares the file)."""
import numpy as np

from ..core import dispatch
from . import _dispatch
from . import _funcs  # noqa: F401  (fills the tables)

HEADER = """# Supported NumPy and SciPy functions

Generated from chainrule's dispatch tables by `python -m chainrule.numpy > docs/supported.md`;
do not edit by hand. Every function below works on traced arrays through NumPy's protocols
(`np.sin(x)`, `np.sum(x)`, `scipy.special.erf(x)`), in forward and reverse mode and to any
order, and is also available as `chainrule.numpy.<name>`. Anything else raises
`chainrule.UnsupportedFunctionError` naming the function.

Functions that read values decide when the program runs, so they work under `jit` and `vmap`
too: `sort`, `argsort`, `partition` and `argpartition` (NumPy's own arrangement), quantiles,
`chainrule.numpy.vectorize` (Python branches per element). `real_if_close` returns a real
or a complex array depending on the values: `jit` records that decision as a guard, `vmap` and
`make_graph` raise `ConcretizationError`.
"""


def _name(f):
    return getattr(f, "__name__", repr(f))


def _function_name(f):
    mod = getattr(f, "__module__", None) or "numpy"
    mod = "numpy" if mod.startswith("numpy._") or mod == "numpy" else mod
    return f"{mod}.{_name(f)}"


def _ufunc_name(uf):
    return f"numpy.{uf.__name__}" if getattr(np, uf.__name__, None) is uf \
        else f"scipy.special.{uf.__name__}"


def _wrap(names, width=98):
    lines, line = [], ""
    for n in names:
        item = f"`{n}`"
        if line and len(line) + len(item) + 2 > width:
            lines.append(line + ",")
            line = item
        else:
            line = f"{line}, {item}" if line else item
    if line:
        lines.append(line)
    return "\n".join(lines)


def _floating_ufuncs():
    return sorted({uf for uf in vars(np).values() if isinstance(uf, np.ufunc)
                   and any(t.split("->")[1].find("d") >= 0 for t in uf.types)},
                  key=lambda uf: uf.__name__)


def render():
    """The Markdown text of docs/supported.md."""
    ufuncs = sorted({_ufunc_name(uf) for uf in dispatch.ufuncs})
    funcs = sorted({_function_name(f) for f in dispatch.functions})
    like = sorted({_function_name(f) for f in dispatch.hooks.get("like", {})})
    missing = sorted(f"numpy.{uf.__name__}" for uf in _floating_ufuncs()
                     if uf not in dispatch.ufuncs)
    reached = set(dispatch.functions) | set(dispatch.ufuncs)
    only_here = sorted(n for n in _dispatch.exported if "." not in n
                       and getattr(np, n, None) not in reached)
    parts = [HEADER,
             f"## Ufuncs ({len(ufuncs)}), through `__array_ufunc__`\n\n" + _wrap(ufuncs) + "\n",
             "### Ufunc methods\n\n" + "\n".join(
                 f"- `{m}`: {d}" for m, d in sorted(_dispatch.ufunc_methods.items())) + "\n",
             f"## Functions ({len(funcs)}), through `__array_function__`\n\n"
             + _wrap(funcs) + "\n",
             "## Constructors called with `like=x`\n\nThey return arrays of x's "
             "transformation, which can be written into (`buf[i] = v`):\n\n" + _wrap(like) + "\n",
             "## Only in `chainrule.numpy` (what the protocols cannot reach)\n\n"
             + _wrap(only_here) + "\n",
             "## `chainrule.scipy.special`\n\nSciPy's plain functions convert their inputs "
             "with `np.asarray`,\nwhich a traced array refuses (`ConcretizationError`); call "
             "these instead:\n\n" + _wrap(f"chainrule.scipy.special.{n}"
                                    for n in sorted(_dispatch.scipy_functions)) + "\n",
             "## `chainrule.scipy.stats`, `chainrule.scipy.optimize` and "
             "`chainrule.scipy.signal`\n\nDistributions (`logpdf`, `pdf`, `logcdf`, `cdf`, "
             "`logsf`, `sf`, `ppf` where closed;\n`logpmf`, `pmf` for counts; other methods "
             "such as `rvs` are SciPy's), differentiable\nin values and parameters, SciPy's "
             "test functions, and N-d convolution and correlation:\n\n" + _wrap(f"chainrule.scipy.{mod}.{n}" for mod, names
                                               in sorted(_dispatch.scipy_modules.items())
                                               for n in names) + "\n",
             "## `chainrule.scipy.linalg`\n\nscipy.linalg's decompositions, solvers and "
             "matrix functions, differentiable in every mode:\n\n"
             + _wrap(f"chainrule.scipy.linalg.{n}" for n in sorted(_dispatch.scipy_linalg)) + "\n",
             "## Floating-point ufuncs of NumPy not supported\n\n"
             + (_wrap(missing) if missing else "None.") + "\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
