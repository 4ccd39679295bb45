"""The Numba backend of ``jit``: machine code for graphs Numba can compile, NumPy code otherwise.

A primitive without a Numba translation (``numba_codegen.untranslated``: FFTs, decompositions,
cumulative sums, stacked solves, ...) does not stop the rest of the graph: that one equation
calls its NumPy implementation from the compiled code (``numba.objmode``), and the header of
``show_code`` lists such primitives.

``jit(f, backend="numba")`` stages ``f`` as usual, then compiles the optimized graph with
``numba.njit`` (``interpreters.numba_codegen``). It keeps the NumPy version of the graph
(the reference) and uses it instead, recording why, when:

- numba is not installed;
- the graph holds values other than float64, int64 and bool (complex numbers: FFTs);
- Numba fails to compile it;
- its result on the traced inputs differs from the NumPy version's by more than rounding
  (relative 1e-9, to each element or to the largest output where a result cancels to rounding
  noise), so a wrong translation falls back rather than answering.

The compiled function takes the exact argument types of the trace; other types (a 0-d array
where a float was traced, say) run the NumPy version. Scalar outputs have the types the NumPy
version gives. Compiled code is cached on disk (``numba_cache``): a second process with the same
program loads it instead of compiling (seconds for a program; once per signature); the header
of ``show_code`` says which.

``backend="auto"`` is the same, without complaint where numba is missing.
"""
import re

import numpy as np

from ..core import tree_flatten
from .numba_codegen import Unsupported, compile_graph_numba

__all__ = ["compile_native", "numba_available"]

_RTOL = 1e-9


def numba_available():
    """True if numba can be imported."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _header(backend, reason):
    return f"# backend: {backend}" + (f" (numba not used: {reason})" if reason else "") + "\n"


def compile_native(graph, names, fn_name, guards, bare, fn, src, leaves, requested,
                   reference=None):
    """``(function, source, backend used, fallback reason or None)`` for ``graph``; ``fn`` and
    ``src`` are its NumPy version, ``leaves`` the traced inputs; ``reference()``, if given,
    returns ``fn(*leaves)`` (already computed elsewhere: ``native_background``)."""
    def fallback(reason):
        return fn, _header("numpy", reason) + src, "numpy", reason

    if not numba_available():
        return fallback("numba is not installed (pip install chainrule[numba])")
    try:
        native, nsrc = compile_graph_numba(graph, names, fn_name, bare=bare, guards=guards)
    except Unsupported as e:
        return fallback(str(e))
    want = fn(*leaves) if reference is None else None
    try:
        got = native(*leaves)
    except Exception as e:      # Numba's typing and lowering errors, and any other failure
        return fallback(f"numba could not compile it: {_first_lines(e)}")
    if reference is not None:
        want = reference()
    if not _agree(want, got):
        return fallback("the compiled result differed from the NumPy version's")
    native.disable_compile()        # other argument types: the NumPy version (below)
    return _wrap(native, fn, want, bare), _cache_note(native, nsrc) + nsrc, "numba", None


def _cache_note(native, src):
    """The header of Numba code: whether its machine code came from the on-disk cache, and
    the primitives computed by NumPy from it (no Numba translation)."""
    stats = getattr(native, "stats", None)
    path = getattr(stats, "cache_path", None)
    if not path:
        note = "compiled in memory, no on-disk cache"
    elif sum(stats.cache_hits.values()):
        note = f"machine code loaded from the cache in {path}"
    else:
        note = f"compiled; machine code cached in {path}"
    calls = re.findall(r"# _cb\w*: (\w+) in NumPy", src)
    if calls:
        note += "; NumPy computes " + ", ".join(sorted(set(calls)))
    return f"# backend: numba ({note})\n"


def _first_lines(error):
    """The gist of a Numba error: its first two non-empty lines, without terminal colours."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()][:2]
    return " ".join(lines) or type(error).__name__


def _agree(want, got):
    """True if ``got`` equals ``want`` to ``_RTOL`` relative to each element, or to the
    largest finite element of all the outputs: a result that cancels to rounding noise (a
    derivative that is 0 up to 1e-17, say) differs relatively between two correct versions
    (libm's exp and NumPy's SIMD exp differ in the last bit)."""
    w, _ = tree_flatten(want)
    g, _ = tree_flatten(got)
    if len(w) != len(g):
        return False
    w = [np.asarray(a) for a in w]
    scale = max([np.max(np.abs(a), initial=0, where=np.isfinite(a)) for a in w
                 if a.dtype.kind == "f"], default=0.0)
    for a, b in zip(w, g):
        b = np.asarray(b)
        if a.shape != b.shape or not np.allclose(a, b, rtol=_RTOL, atol=_RTOL * scale,
                                                 equal_nan=True):
            return False
    return True


def _wrap(native, fn, want, bare):
    """The compiled function with NumPy's output types, running ``fn`` for argument types
    it was not compiled for."""
    outs = [want] if bare else list(want)
    fix = [type(o) if isinstance(o, np.generic) else None for o in outs]

    if bare:
        t = fix[0]
        if t is None:
            def call(*leaves):
                try:
                    return native(*leaves)
                except TypeError:
                    return fn(*leaves)
        else:
            def call(*leaves):
                try:
                    return t(native(*leaves))
                except TypeError:
                    return fn(*leaves)
        return call
    if not any(fix):
        def call(*leaves):
            try:
                return native(*leaves)
            except TypeError:
                return fn(*leaves)
        return call

    def call(*leaves):
        try:
            r = native(*leaves)
        except TypeError:
            return fn(*leaves)
        return tuple(x if t is None else t(x) for x, t in zip(r, fix))
    return call
