"""Numba translations of the primitives that work along one axis: ``cumsum`` and ``cumprod``
(NumPy's sequential accumulation, so results are NumPy's bit for bit), ``take_along``
(``np.take_along_axis``) and ``scatter_along`` (its adjoint: ``np.add.at`` in C order, the
order NumPy adds repeated indices in). Each is a loop nest written into the generated code
(``numba_codegen``); an index out of range raises ``IndexError`` as NumPy does.
"""
import numpy as np

__all__ = ["ALONG", "along_lines", "along_untranslated"]

ALONG = ("cumsum", "cumprod", "take_along", "scatter_along")


def along_untranslated(eqn):
    """Why ``eqn`` (one of ``ALONG``) has no translation here, or None."""
    name, p = eqn.prim.name, eqn.params
    x, out = eqn.inputs[0].aval, eqn.outvars[0].aval
    axis = p.get("axis")
    if not isinstance(axis, (int, np.integer)) or x.ndim == 0:
        return f"{name} without one axis"
    if name in ("cumsum", "cumprod"):
        return None if x.dtype == out.dtype else f"{name} of {x.dtype} giving {out.dtype}"
    idx = eqn.inputs[1].aval
    big = x.shape if name == "take_along" else out.shape
    axis %= len(big)
    if idx.ndim != len(big) or any(a != b for k, (a, b) in enumerate(zip(idx.shape, big))
                                   if k != axis):
        return f"{name} whose index broadcasts"
    if idx.dtype.kind != "i":
        return f"{name} with an index of dtype {idx.dtype}"
    return None


def _nest(shape, names, inner, depth=0):
    lines = ["    " * (depth + k) + f"for {names[k]} in range({n}):" for k, n in enumerate(shape)]
    pad = "    " * (depth + len(shape))
    return lines + [pad + line for line in inner]


def along_lines(eqn, lhs, args):
    """Source lines computing ``eqn`` (one of ``ALONG``) into ``lhs`` from ``args``."""
    name = eqn.prim.name
    out = eqn.outvars[0].aval
    ndim = eqn.inputs[0].aval.ndim
    axis = eqn.params["axis"] % ndim
    j = [f"_j{k}" for k in range(ndim)]
    head = [f"# {name} along axis {axis}",
            f"{lhs} = np.{'zeros' if name == 'scatter_along' else 'empty'}"
            f"({out.shape!r}, np.{out.dtype.name})"]
    if name in ("cumsum", "cumprod"):
        n = out.shape[axis]
        if n == 0 or 0 in out.shape:
            return head
        x = args[0]
        outer = [d for k, d in enumerate(out.shape) if k != axis]
        names = [v for k, v in enumerate(j) if k != axis]
        at = [v if k != axis else "0" for k, v in enumerate(j)]
        first = ", ".join(at)
        at[axis] = j[axis]
        here = ", ".join(at)
        op = "+" if name == "cumsum" else "*"
        acc = f"_acc_{lhs}"
        inner = [f"{acc} = {x}[{first}]", f"{lhs}[{first}] = {acc}",
                 f"for {j[axis]} in range(1, {n}):",
                 f"    {acc} = {acc} {op} {x}[{here}]",
                 f"    {lhs}[{here}] = {acc}"]
        return head + _nest(outer, names, inner)
    src, idx = args
    n = (eqn.inputs[0].aval if name == "take_along" else out).shape[axis]
    shape = eqn.inputs[1].aval.shape
    k_ = f"_k_{lhs}"
    at = ", ".join(k_ if k == axis else v for k, v in enumerate(j))
    here = ", ".join(j)
    inner = [f"{k_} = {idx}[{here}]",
             f"if {k_} < 0:",
             f"    {k_} += {n}",
             f"if {k_} < 0 or {k_} >= {n}:",
             f"    raise IndexError('index out of bounds for axis {axis} with size {n}')"]
    if name == "take_along":
        inner.append(f"{lhs}[{here}] = {src}[{at}]")
    else:
        inner.append(f"{lhs}[{at}] += {src}[{here}]")
    return head + _nest(shape, j, inner)
