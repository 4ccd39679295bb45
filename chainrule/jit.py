"""jit: derivatives (and any function) compiled to plain, readable NumPy code.

``jit(f)`` stages ``f`` once per input signature (pytree structure, shapes, dtypes, static
arguments) into the graph IR, optimizes it and generates Python source that calls NumPy; later
calls with the same signature run that code, with no tracers and no interpretation overhead per
primitive. Because staging runs the transformations, ``jit(grad(f))`` is source-transformation AD:
straight-line derivative code, forward sweep then adjoint sweep, that ``show_code`` prints.

Python control flow on values works: staging runs on the example inputs, and every branch
decision becomes a guard in the generated code. A call whose inputs take another branch fails its
guard and is traced again (a new variant of the same signature); a compiled program never
replays a wrong branch. ``cache_info()`` shows hits, traces and variants.

Called with tracers of another transformation (``grad(jit(f))``, jit inside a nested
derivative), a jitted function simply runs ``f`` under that transformation.
"""
import collections
import inspect

import numpy as np

from .core import Tracer, get_aval, new_interpreter, tree_flatten, tree_unflatten
from .core.errors import InvalidArgumentError
from .interpreters.codegen import GuardFailure, compile_graph
from .interpreters.staging import StagingInterpreter

__all__ = ["jit", "show_code"]


class _Variant:
    __slots__ = ("fn", "source", "out_def", "n_guards")

    def __init__(self, fn, source, out_def, n_guards):
        self.fn = fn
        self.source = source
        self.out_def = out_def
        self.n_guards = n_guards


class Jitted:
    """A function compiled per input signature. Call it like the original."""

    def __init__(self, fun, static_argnums=(), max_signatures=64, max_variants=8):
        self.fun = fun
        self.static_argnums = ((static_argnums,) if isinstance(static_argnums, int)
                               else tuple(static_argnums))
        self.max_signatures = max_signatures
        self.max_variants = max_variants
        self._cache = collections.OrderedDict()
        self._fast = {}     # avals of plain positional arguments -> the same variant lists
        self._stats = {"hits": 0, "traces": 0, "guard_failures": 0, "fallbacks": 0}
        self.__name__ = f"jit({getattr(fun, '__name__', 'f')})"
        self.__doc__ = getattr(fun, "__doc__", None)
        self.__wrapped__ = fun

    # -- calling ----------------------------------------------------------------------------
    def _split(self, args, kwargs):
        n = len(args)
        for i in self.static_argnums:
            if not -n <= i < n:
                raise InvalidArgumentError(f"{self.__name__}: static_argnums={i} but the function "
                                           f"was called with {n} positional arguments")
        static_pos = {i % n for i in self.static_argnums}
        static = tuple((i, args[i]) for i in sorted(static_pos))
        dyn = tuple(a for i, a in enumerate(args) if i not in static_pos)
        leaves, in_def = tree_flatten((dyn, kwargs))
        return static, leaves, in_def

    def _rebuild(self, static, in_def, leaves):
        dyn, kwargs = tree_unflatten(in_def, leaves)
        args, it = [], iter(dyn)
        static = dict(static)
        for i in range(len(dyn) + len(static)):
            args.append(static[i] if i in static else next(it))
        return args, kwargs

    def _key(self, static, leaves, in_def):
        try:
            hash(static)
        except TypeError:
            raise InvalidArgumentError(f"{self.__name__}: static arguments must be hashable") \
                from None
        avals = tuple((a.shape, a.dtype, a.weak_type) for a in map(get_aval, leaves))
        return in_def, avals, static

    def __call__(self, *args, **kwargs):
        if not kwargs and not self.static_argnums:
            # the common case, arrays and scalars as positional arguments: one dict lookup
            try:
                fast_key = tuple((a.shape, a.dtype, a.weak_type) for a in map(_leaf_aval, args))
            except TypeError:
                fast_key = None
            variants = self._fast.get(fast_key) if fast_key is not None else None
            if variants:
                for v in variants:
                    try:
                        out = v.fn(*args)
                    except GuardFailure:
                        self._stats["guard_failures"] += 1
                        continue
                    self._stats["hits"] += 1
                    return tree_unflatten(v.out_def, out)
        static, leaves, in_def = self._split(args, kwargs)
        if any(isinstance(x, Tracer) for x in leaves):
            return self.fun(*args, **kwargs)        # under another transformation: trace through
        key = self._key(static, leaves, in_def)
        variants = self._cache.get(key)
        if variants is not None:
            self._cache.move_to_end(key)
            for v in variants:
                try:
                    out = v.fn(*leaves)
                except GuardFailure:
                    self._stats["guard_failures"] += 1
                    continue
                self._stats["hits"] += 1
                return tree_unflatten(v.out_def, out)
        variant = self._trace(static, leaves, in_def)
        if variant is None:
            self._stats["fallbacks"] += 1
            return self.fun(*args, **kwargs)
        variants = self._cache.setdefault(key, [])
        variants.insert(0, variant)
        del variants[self.max_variants:]
        while len(self._cache) > self.max_signatures:
            self._cache.popitem(last=False)
            self._fast.clear()
        if not kwargs and not self.static_argnums and len(leaves) == len(args):
            try:
                self._fast[tuple((a.shape, a.dtype, a.weak_type)
                                 for a in map(_leaf_aval, args))] = variants
            except TypeError:
                pass
        return tree_unflatten(variant.out_def, variant.fn(*leaves))

    # -- tracing ------------------------------------------------------------------------------
    def _trace(self, static, leaves, in_def):
        self._stats["traces"] += 1
        with new_interpreter(StagingInterpreter, concrete=True) as stage:
            ins = [stage.new_input(get_aval(x), x) for x in leaves]
            args, kwargs = self._rebuild(static, in_def, ins)
            out_leaves, out_def = tree_flatten(self.fun(*args, **kwargs))
            guards = list(stage.guards)
            graph = stage.build(ins, out_leaves, [var for _, var, _ in guards]).typecheck()
        consts = [x.val for e in graph.eqns for x in e.inputs if not hasattr(x, "count")]
        consts += [v.val for v in graph.outvars if not hasattr(v, "count")]
        if any(isinstance(c, Tracer) for c in consts):
            return None     # closes over a value of an enclosing transformation: not compilable
        names = self._arg_names(static, in_def, len(leaves))
        fn, src = compile_graph(graph, names, _identifier(self.__name__), guards)
        return _Variant(fn, src, out_def, len(guards))

    def _arg_names(self, static, in_def, n):
        try:
            params = list(inspect.signature(self.fun).parameters)
        except (TypeError, ValueError):
            params = []
        static_pos = {i for i, _ in static}
        dyn_names = [p for i, p in enumerate(params) if i not in static_pos]
        dyn_def, kw_def = in_def.children
        names = []
        for i, child in enumerate(dyn_def.children):
            base = _identifier(dyn_names[i] if i < len(dyn_names) else f"arg{i}")
            names += [base] if child.num_leaves == 1 else \
                [f"{base}_{k}" for k in range(child.num_leaves)]
        names += [f"kw{k}" for k in range(kw_def.num_leaves)]
        seen = set()
        unique = []
        for nm in names:
            while nm in seen:
                nm += "_"
            seen.add(nm)
            unique.append(nm)
        return unique

    # -- inspection ----------------------------------------------------------------------------
    def source(self, *args, **kwargs):
        """The generated source for these arguments (traced now if needed)."""
        static, leaves, in_def = self._split(args, kwargs)
        key = self._key(static, leaves, in_def)
        for v in self._cache.get(key, ()):
            try:
                v.fn(*leaves)
                return v.source
            except GuardFailure:
                continue
        variant = self._trace(static, leaves, in_def)
        if variant is None:
            raise InvalidArgumentError(f"{self.__name__} closes over a traced value of an "
                                       "enclosing transformation and is not compiled here")
        self._cache.setdefault(key, []).insert(0, variant)
        return variant.source

    def cache_info(self):
        """Counts of cache hits, traces (compilations), guard failures and fallbacks, and the
        number of cached signatures and variants."""
        info = dict(self._stats)
        info["signatures"] = len(self._cache)
        info["variants"] = sum(len(v) for v in self._cache.values())
        return info

    def clear_cache(self):
        self._cache.clear()
        self._fast.clear()


def _leaf_aval(x):
    """The aval of a positional argument that is a single array or scalar (TypeError for a
    container or a tracer, which take the general path)."""
    if type(x) in (float, int, bool, complex, np.ndarray) or isinstance(x, np.generic):
        return get_aval(x)
    raise TypeError


def _identifier(name):
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_") or "f"
    return out if not out[0].isdigit() else "f_" + out


def jit(fun=None, static_argnums=(), *, max_signatures=64, max_variants=8):
    """Compile ``fun`` to plain NumPy code once per input signature (see the module docstring).
    ``static_argnums``: positions of arguments that are Python values baked into the program
    (hashable; each distinct value compiles anew). Usable as ``@jit`` or ``@jit(static_argnums=1)``.
    """
    if fun is None:
        return lambda f: jit(f, static_argnums, max_signatures=max_signatures,
                             max_variants=max_variants)
    return Jitted(fun, static_argnums, max_signatures, max_variants)


def show_code(fun, *args, **kwargs):
    """Print the Python/NumPy source that ``jit(fun)`` generates for these arguments, e.g.
    ``show_code(grad(f), x)`` shows the forward sweep and then the adjoint sweep."""
    jitted = fun if isinstance(fun, Jitted) else jit(fun)
    print(jitted.source(*args, **kwargs))
