"""Code of the Numba backend written for a short compile: ``scan``'s stacked outputs are
filled element by element, and filled arrays are allocated empty and then filled.

The NumPy backend's ``scan`` stores each step's outputs with ``ys[i] = y`` (one NumPy call).
In Numba that statement is a slice assignment from an array, whose lowering compiles a
shape-mismatch error message (string formatting, ``str.join``): 2 to 4 seconds of the first
compile in a process, more than the whole program it belongs to. An explicit loop nest over
the step's shape does the same copy without it, and compiles in milliseconds.

Likewise ``np.full`` and ``np.zeros`` cost about 0.1 s each to compile (per number of
dimensions), ``np.empty`` followed by a scalar assignment to all of it next to nothing, and
``np.empty`` of that rank is compiled for the program anyway.
"""
import numpy as np
from .codegen import _emit_scan

__all__ = ["emit_scan", "filled", "store_rows"]


def filled(name, shape, value, dtype=np.float64):
    """Source allocating ``name`` of ``shape`` filled with ``value`` (a source), as
    ``np.full`` does."""
    dtype = np.dtype(dtype)
    numba_dtype = "np.bool_" if dtype == np.bool_ else f"np.{dtype.name}"
    if not shape:
        return f"{name} = np.full((), {value}, {numba_dtype})"
    return f"{name} = np.empty({tuple(shape)!r}, {numba_dtype}); {name}[:] = {value}"


def store_rows(dest, row, src, aval):
    """Lines storing the array ``src`` as ``dest[row]`` (``aval``: that of ``dest``), one
    element at a time; a 0-d ``src`` is a scalar: one assignment."""
    shape = aval.shape[1:]
    if not shape:
        return [f"{dest}[{row}] = {src}"]
    idx = [f"_s{k}" for k in range(len(shape))]
    lines = [f"{'    ' * k}for {i} in range({n}):" for k, (i, n) in enumerate(zip(idx, shape))]
    lines.append(f"{'    ' * len(shape)}{dest}[{row}, {', '.join(idx)}] = "
                 f"{src}[{', '.join(idx)}]")
    return lines


def emit_scan(eqn, atom, ctx):
    """``scan`` in the Numba backend: a native loop over the compiled body, its stacked
    outputs stored by ``store_rows``."""
    return _emit_scan(eqn, atom, ctx, store=store_rows)
