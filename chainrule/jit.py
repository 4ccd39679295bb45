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

A call that hits the cache with arrays and scalars as positional arguments costs one dictionary
lookup keyed by the argument types (and the shapes and dtypes of arrays) and one call of the
compiled code, about 0.15 us; a scalar program runs on Python floats (see ``codegen``).

jit is never slower than the function run eagerly: a signature whose compiled call takes over
a millisecond is timed against eager evaluation on its first calls and answered eagerly where
that wins clearly (``PathChoice`` below; ``cache_info()["paths"]``, ``eager_fallback=False``
turns it off). Jacobian sweeps keep their unit seeds as one-hot terms under staging as they do
eagerly (``cache_info()["sweeps"]``), so the compiled Jacobians are the fast ones.

Called with tracers of another transformation (``grad(jit(f))``, jit inside a nested
derivative), a jitted function simply runs ``f`` under that transformation.
"""
import collections
import inspect
import time

import numpy as np

from .core.arrays import array_scope
from .core import Tracer, get_aval, new_interpreter, tree_flatten, tree_unflatten
from .api import SWEEP_LABEL
from .core.errors import InvalidArgumentError
from .interpreters.codegen import RESERVED_NAMES, GuardFailure, compile_graph, is_scalar_graph
from .interpreters.staging import StagingInterpreter

__all__ = ["jit", "show_code"]


class _Variant:
    __slots__ = ("fn", "source", "out_def", "n_guards", "call", "scalar", "background")

    def __init__(self, fn, source, out_def, n_guards, scalar=False, background=None):
        self.out_def = out_def
        self.n_guards = n_guards
        self.scalar = scalar        # every value a scalar: compiled code always wins
        self.background = background    # a Numba compile still running (native_background)
        self.set_code(fn, source)

    def set_code(self, fn, source):
        self.fn = fn                # flat leaves -> flat outputs (one output: itself)
        self.source = source
        out_def = self.out_def      # flat leaves -> the output pytree
        self.call = fn if _is_leaf(out_def) else \
            (lambda *leaves: tree_unflatten(out_def, fn(*leaves)))


def _is_leaf(treedef):
    """True for the structure of a single array: compiled code then returns it bare."""
    return treedef.node_type is None


# types whose values' avals the type alone fixes (Python scalars: weakly typed; NumPy's numeric
# scalars: their dtype, which strings and datetimes do not fix)
_SCALAR_TYPES = (float, int, bool, complex)
_NUMERIC = (np.number, np.bool_)
_ndarray = np.ndarray
_NO_ARG = object()      # a jitted function called without arguments


class Jitted:
    """A function compiled per input signature, and its cache. ``jit`` returns its
    ``function``, which is called like the original."""

    def __init__(self, fun, static_argnums=(), max_signatures=64, max_variants=8,
                 backend="numpy", eager_fallback=True, background_compile=False):
        if backend not in _BACKENDS:
            raise InvalidArgumentError(f"jit: backend must be one of {_BACKENDS}, not "
                                       f"{backend!r}")
        self.fun = fun
        self.backend = backend
        self._backend_used = ("numpy", None)    # of the last trace: (backend, fallback reason)
        self.background_compile = background_compile and backend != "numpy"
        self._background = []   # the Numba compiles started in the background, in order
        self._sweeps = []       # of the last trace: how its Jacobian sweeps carry their seeds
        # signature key -> PathChoice: its compiled code or eager evaluation
        self.eager_fallback = eager_fallback
        self._paths = {}
        self._path_reason = None    # of the latest decision
        self.static_argnums = ((static_argnums,) if isinstance(static_argnums, int)
                               else tuple(static_argnums))
        self.max_signatures = max_signatures
        self.max_variants = max_variants
        self._cache = collections.OrderedDict()
        # calls with only arrays and scalars as positional arguments: the argument types (and
        # the shapes and dtypes of arrays) -> a function of the arguments returning the result
        self._fast = {}
        self._hits = 0          # answered through self._fast
        self._stats = {"hits": 0, "traces": 0, "guard_failures": 0, "fallbacks": 0}
        self.__name__ = f"jit({getattr(fun, '__name__', 'f')})"
        self.__doc__ = getattr(fun, "__doc__", None)
        self.__wrapped__ = fun
        self.function = self._function()

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
        return self.function(*args, **kwargs)

    def _function(self):
        """The function ``jit`` returns. A plain function rather than this object, since calling
        a function costs less than calling an object (and it binds as a method, as functions
        do); it carries ``source``, ``cache_info`` and ``clear_cache``."""
        fast, general, ndarray = self._fast, self._call, np.ndarray

        def jitted(a=_NO_ARG, /, *rest, **kwargs):
            # the common case, a cache hit with arrays and scalars as positional arguments; one
            # argument (``a``) written out, since this path is the per-call cost of small programs
            if not kwargs:
                if not rest:
                    hit = fast.get((a.shape, a.dtype) if type(a) is ndarray else type(a))
                    if hit is not None:
                        self._hits += 1
                        return hit(a)
                else:
                    args = (a, *rest)
                    hit = fast.get(_fast_key(args))
                    if hit is not None:
                        self._hits += 1
                        return hit(*args)
            return general(rest if a is _NO_ARG else (a, *rest), kwargs)

        name = getattr(self.fun, "__name__", "f")
        jitted.__name__ = jitted.__qualname__ = f"jit({name})"
        jitted.__doc__ = getattr(self.fun, "__doc__", None)
        jitted.__wrapped__ = self.fun
        jitted.source, jitted.cache_info = self.source, self.cache_info
        jitted.clear_cache, jitted.jitted = self.clear_cache, self
        jitted.wait_native = self.wait_native
        return jitted

    def _call(self, args, kwargs, tried=False):
        """The general path: flatten, look the signature up, run a variant whose guards hold
        or trace a new one (``tried``: every cached variant has failed its guards already)."""
        static, leaves, in_def = self._split(args, kwargs)
        # Dask inputs are staged by shape and dtype like NumPy ones (chunks do not enter the
        # generated code, which runs on them through NumPy's protocols and returns Dask arrays)
        with array_scope(self.__name__, leaves):
            return self._call_split(args, kwargs, tried, static, leaves, in_def)

    def _call_split(self, args, kwargs, tried, static, leaves, in_def):
        if any(isinstance(x, Tracer) for x in leaves):
            return self.fun(*args, **kwargs)        # under another transformation: trace through
        key = self._key(static, leaves, in_def)
        variants = self._cache.get(key)
        if variants is not None and not tried:
            self._cache.move_to_end(key)
            choice = self._paths.get(key)
            if choice is not None and choice.path == "eager":
                self._stats["hits"] += 1
                self._remember(args, kwargs, variants, key)
                return self.fun(*args, **kwargs)
            for v in variants:
                try:
                    if choice is not None and choice.path == "timing":
                        out = self._timed(key, choice, v, leaves, args, kwargs)
                    else:
                        out = v.call(*leaves)
                except GuardFailure:
                    self._stats["guard_failures"] += 1
                    continue
                self._stats["hits"] += 1
                self._remember(args, kwargs, variants, key)
                return out
        variant = self._trace(static, leaves, in_def)
        if variant is None:
            self._stats["fallbacks"] += 1
            return self.fun(*args, **kwargs)
        variants = self._cache.setdefault(key, [])
        variants.insert(0, variant)
        del variants[self.max_variants:]
        while len(self._cache) > self.max_signatures:
            self._paths.pop(self._cache.popitem(last=False)[0], None)
        self._fast.clear()      # entries built on the variant lists of before
        out = variant.call(*leaves)
        if self.eager_fallback and not variant.scalar and key not in self._paths \
                and variant.background is None:     # timed once the native code answers
            self._paths[key] = PathChoice()
        self._remember(args, kwargs, variants, key)
        return out

    def _timed(self, key, choice, v, leaves, args, kwargs):
        """A call of a signature whose path is not decided yet (``PathChoice``)."""
        out, decided = choice.answer(lambda: v.call(*leaves), lambda: self.fun(*args, **kwargs))
        if decided:
            self._path_reason = choice.reason()
            self._fast.clear()      # the entries of this signature follow the decision
        return out

    def _remember(self, args, kwargs, variants, sig_key):
        """Enter the variants of a signature in ``self._fast`` for calls like this one."""
        if kwargs or self.static_argnums or not args or not all(
                type(a) is _ndarray or type(a) in _SCALAR_TYPES or isinstance(a, _NUMERIC)
                for a in args):
            return
        choice = self._paths.get(sig_key)
        if choice is not None and choice.path == "timing":
            return                  # timed through the general path until decided
        key = _fast_key(args)
        if choice is not None and choice.path == "eager":
            self._fast[key] = self.fun
            return
        if len(variants) == 1 and variants[0].n_guards == 0:
            self._fast[key] = variants[0].call      # no branch taken: nothing to check
            return

        def guarded(*leaves):
            for v in variants:
                try:
                    return v.call(*leaves)
                except GuardFailure:
                    self._stats["guard_failures"] += 1
            self._hits -= 1         # counted as a hit by the caller, but traced anew
            return self._call(leaves, {}, tried=True)
        self._fast[key] = guarded

    # -- tracing ------------------------------------------------------------------------------
    def _trace(self, static, leaves, in_def):
        self._stats["traces"] += 1
        started = time.perf_counter()
        with new_interpreter(StagingInterpreter, concrete=True) as stage:
            ins = [stage.new_input(get_aval(x), x) for x in leaves]
            args, kwargs = self._rebuild(static, in_def, ins)
            out_leaves, out_def = tree_flatten(self.fun(*args, **kwargs))
            guards = list(stage.guards)
            graph = stage.build(ins, out_leaves, [var for _, var, _ in guards]).typecheck()
        self._sweeps = _sweep_labels(graph)
        consts = [x.val for e in graph.eqns for x in e.inputs if not hasattr(x, "count")]
        consts += [v.val for v in graph.outvars if not hasattr(v, "count")]
        if any(isinstance(c, Tracer) for c in consts):
            return None     # closes over a value of an enclosing transformation: not compilable
        names = self._arg_names(static, in_def, len(leaves))
        fn, src = compile_graph(graph, names, _identifier(self.__name__), guards,
                                bare=_is_leaf(out_def))
        if self.backend != "numpy" and self.background_compile:
            return self._native_background(graph, names, guards, out_def, fn, src, leaves,
                                           started)
        if self.backend != "numpy":
            fn, src = self._native(graph, names, guards, out_def, fn, src, leaves)
        return _Variant(fn, src, out_def, len(guards), is_scalar_graph(graph))

    def _native(self, graph, names, guards, out_def, fn, src, leaves, reference=None):
        """The Numba version of ``graph`` where it compiles and agrees with the NumPy version
        ``fn`` on the traced inputs; otherwise ``fn`` again, and the reason is recorded."""
        from .interpreters.native import compile_native
        fn, src, used, reason = compile_native(graph, names, _identifier(self.__name__), guards,
                                               _is_leaf(out_def), fn, src, leaves,
                                               self.backend, reference=reference)
        self._backend_used = (used, reason)
        return fn, src

    def _native_background(self, graph, names, guards, out_def, fn, src, leaves, started):
        """A variant answered by the NumPy version ``fn`` while a thread compiles the Numba
        version (``interpreters.native_background``); the first call after that finishes
        switches to it, and the signature's path is decided from then on."""
        from .interpreters.native_background import COMPILING, BackgroundNative

        def compile_in_thread(traced, reference):
            return compile_native(graph, names, _identifier(self.__name__), guards,
                                  _is_leaf(out_def), fn, src, traced, self.backend,
                                  reference=reference)

        def on_switch(new_fn, new_src, used, reason):
            variant.set_code(new_fn, new_src or variant.source)
            variant.background = None
            self._backend_used = (used, reason)
            self._fast.clear()      # entries holding the NumPy tier
            for key, variants in self._cache.items():
                if variant in variants and self.eager_fallback and not variant.scalar:
                    self._paths.setdefault(key, PathChoice())

        from .interpreters.native import compile_native
        handle = BackgroundNative(compile_in_thread, fn, leaves, started, on_switch)
        self._background.append(handle)
        self._backend_used = ("numpy", COMPILING)
        header = f"# backend: numpy ({COMPILING})\n"
        variant = _Variant(handle.call, header + src, out_def, len(guards),
                           is_scalar_graph(graph), background=handle)
        return variant

    def wait_native(self):
        """Block until every Numba compile started in the background has finished, and
        switch to its code (or keep the NumPy code, with the reason, where it fell back)."""
        for handle in list(self._background):
            handle.switch()

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
        seen = set(RESERVED_NAMES)
        unique = []
        for nm in names:
            while nm in seen or nm[0] == "c" and nm[1:].isdigit():     # constants c0, c1
                nm += "_"
            seen.add(nm)
            unique.append(nm)
        return unique

    # -- inspection ----------------------------------------------------------------------------
    def source(self, *args, **kwargs):
        """The generated source for these arguments (traced now if needed)."""
        static, leaves, in_def = self._split(args, kwargs)
        key = self._key(static, leaves, in_def)
        choice = self._paths.get(key)
        for v in self._cache.get(key, ()):
            if choice is not None and choice.path == "eager":
                return f"# this signature is answered eagerly ({choice.reason()}); its " \
                    f"compiled code:\n{v.source}"
            try:
                v.call(*leaves)
                return v.source
            except GuardFailure:
                continue
        variant = self._trace(static, leaves, in_def)
        if variant is None:
            raise InvalidArgumentError(f"{self.__name__} closes over a traced value of an "
                                       "enclosing transformation and is not compiled here")
        self._cache.setdefault(key, []).insert(0, variant)
        self._fast.clear()
        return variant.source

    def cache_info(self):
        """Counts of cache hits, traces (compilations), guard failures and fallbacks, the
        number of cached signatures and variants, and of the latest trace: its Jacobian
        sweeps (``sweeps``: how each carries its unit seeds, e.g. "Jacobian sweep of 2048 unit
        seeds as one-hot terms", the eager path's structure staged) and the backend used."""
        info = dict(self._stats)
        info["hits"] += self._hits
        info["signatures"] = len(self._cache)
        info["variants"] = sum(len(v) for v in self._cache.values())
        info["sweeps"] = list(self._sweeps)
        paths = [c.path for c in self._paths.values()]
        info["paths"] = {p: paths.count(p) for p in ("compiled", "eager", "timing")}
        info["path_reason"] = self._path_reason
        info["backend"], reason = self._backend_used
        if self.backend != "numpy":
            info["requested_backend"] = self.backend
            info["backend_reason"] = reason
        if self._background:
            # time to native code: from the start of the call that traced the latest
            # signature until its background compile finished (None while it runs)
            info["native_after_s"] = self._background[-1].native_after()
        return info

    def clear_cache(self):
        self._cache.clear()
        self._fast.clear()
        self._paths.clear()


# -- the path of a signature: compiled code or eager evaluation ------------------------------
# jit's choice of path per input signature: the compiled code, or the function run eagerly.
#
# Compiled code is faster than eager evaluation almost always: it pays no interpretation per
# primitive, and derivative programs lose their symbolic zeros and dead branches once, at trace
# time. It can lose where eager evaluation exploits values that staging must treat as unknown,
# or where one NumPy call per equation is all either path does and the compiled program's
# layout differs. ``jit`` therefore times both paths on a signature's first calls and keeps the
# faster for that signature, so that ``jit(f)`` is never slower than ``f``:
#
# - programs of scalars only run on Python floats (``codegen``) and are never compared;
# - the call that traces is not timed (a first run of new code pays for its first touches);
#   the next call times the compiled code, and a program faster than ``CHECK_ABOVE_S`` is kept
#   compiled at once (eager evaluation pays Python per primitive, so it cannot win there, and
#   cheap calls are not worth timing);
# - otherwise the next calls time ``SAMPLES`` compiled calls in a row, then up to ``SAMPLES``
#   eager ones, each answered by the path it times (in a row, not alternating: a path run after
#   the other finds memory and caches in the other's state, and memory-bound programs then
#   look alike; a user's repeated calls are what should be compared);
# - eager is kept only when its median call beat the best compiled call by ``MARGIN``: timings
#   on a shared machine are noisy, and a choice made on noise must fall on the compiled code.
#   A first eager call over twice the best compiled one ends the comparison (compiled).
#
# Both paths compute the same function; they may differ in rounding (the compiled program folds
# constants), within 1e-14 relative on the test suite's derivatives.
# The decision is made once per signature and never revisited, so repeated calls with one
# signature always take the same path. ``cache_info()["paths"]`` counts the signatures on each
# path, ``cache_info()["path_reason"]`` gives the timings behind the latest decision, and
# ``source``/``show_code`` head the code of a signature answered eagerly with a comment saying so.
# A function with Python side effects (printing, appending to a list) performs them on every
# call answered eagerly, as it does without jit.
CHECK_ABOVE_S = 1e-3     # compiled calls faster than this are kept compiled without timing
MARGIN = 0.85            # the median eager call must take under MARGIN x the best compiled
SAMPLES = 3              # calls timed on each path (at most)


class PathChoice:
    """The path of one signature: ``path`` is "compiled", "eager" or "timing" (still
    comparing); ``compiled`` and ``eager`` hold the times of the calls timed so far."""
    __slots__ = ("path", "compiled", "eager")

    def __init__(self):
        self.compiled, self.eager = [], []
        self.path = "timing"

    def answer(self, compiled_call, eager_call):
        """Answer one call while timing: by the compiled code for the first ``SAMPLES``
        timed calls, then by eager evaluation. Returns ``(result, decided)``, ``decided``
        True when this call settled the path."""
        run_eager = len(self.compiled) >= SAMPLES
        t0 = time.perf_counter()
        out = eager_call() if run_eager else compiled_call()
        dt = time.perf_counter() - t0
        (self.eager if run_eager else self.compiled).append(dt)
        best = min(self.compiled)
        if not run_eager:
            if dt < CHECK_ABOVE_S:
                self.path = "compiled"      # cheap: eager evaluation cannot win
        elif self.eager[0] > 2 * best:
            self.path = "compiled"          # far slower: no more eager calls
        elif len(self.eager) >= SAMPLES:
            median = sorted(self.eager)[len(self.eager) // 2]
            self.path = "eager" if median < MARGIN * best else "compiled"
        return out, self.path != "timing"

    def reason(self):
        """The timings behind the decision, in words."""
        c = f"compiled {min(self.compiled) * 1e3:.3g} ms"
        if not self.eager:
            return f"{c} per call (under {CHECK_ABOVE_S * 1e3:g} ms: not compared with eager)"
        e = f"eager {min(self.eager) * 1e3:.3g} ms"
        if self.path == "timing":
            return f"timing: {c}, {e} so far"
        first, second = (e, c) if self.path == "eager" else (c, e)
        return f"{self.path}: {first} per call against {second} (best of " \
               f"{len(self.compiled)} compiled and {len(self.eager)} eager calls)"


def _fast_key(args):
    """The key of ``Jitted._fast``: the argument types, and the shape and dtype of arrays (for
    these arguments they fix the avals); one argument: its type, or its shape and dtype."""
    if len(args) == 1:
        a = args[0]
        return (a.shape, a.dtype) if type(a) is _ndarray else type(a)
    key = tuple(map(type, args))
    if _ndarray in key:
        key = (key, tuple([(a.shape, a.dtype) for a in args if type(a) is _ndarray]))
    return key


def _sweep_labels(graph):
    """The distinct Jacobian sweep labels of ``graph``'s equations, in order (api._sweep)."""
    labels = []
    for e in graph.eqns:
        label = (e.phase or "").split("; ")[0]
        if label.startswith(SWEEP_LABEL) and label not in labels:
            labels.append(label)
    return labels


def _identifier(name):
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_") or "f"
    return out if not out[0].isdigit() else "f_" + out


_BACKENDS = ("numpy", "numba", "auto")


def jit(fun=None, static_argnums=(), *, max_signatures=64, max_variants=8, backend="numpy",
        eager_fallback=True, background_compile=False):
    """Compile ``fun`` to plain NumPy code once per input signature (see the module docstring).
    ``static_argnums``: positions of arguments that are Python values baked into the program
    (hashable; each distinct value compiles anew). Usable as ``@jit`` or ``@jit(static_argnums=1)``.
    ``backend``: "numpy" (the default), "numba" (machine code through ``numba.njit`` where the
    graph is supported, else the NumPy code; ``cache_info()`` says which and why) or "auto"
    (numba where it is installed and supports the graph); see ``chainrule.interpreters.native``.
    ``eager_fallback``: a signature whose compiled call takes over a millisecond is timed
    against ``fun`` run eagerly on its first calls, and answered eagerly from then on where that
    is faster (``PathChoice``; ``cache_info()["paths"]`` and ``["path_reason"]``);
    False keeps every signature compiled. The result is the same function either way.
    ``background_compile`` (Numba backends): a new signature is answered at once by its NumPy
    code while a thread compiles the Numba code, which answers from the first call after it is
    ready (``chainrule.interpreters.native_background``); ``cache_info()["native_after_s"]``
    says when, and ``wait_native()`` on the returned function waits for it.
    """
    if fun is None:
        return lambda f: jit(f, static_argnums, max_signatures=max_signatures,
                             max_variants=max_variants, backend=backend,
                             eager_fallback=eager_fallback,
                             background_compile=background_compile)
    return Jitted(fun, static_argnums, max_signatures, max_variants, backend,
                  eager_fallback, background_compile).function


def show_code(fun, *args, backend=None, **kwargs):
    """Print the Python/NumPy source that ``jit(fun)`` generates for these arguments, e.g.
    ``show_code(grad(f), x)`` shows the forward sweep and then the adjoint sweep.
    ``backend="numba"`` (or "auto") shows the Numba kernel, headed by the backend used and,
    where it fell back to NumPy, the reason (a jitted ``fun`` keeps its own backend)."""
    jitted = getattr(fun, "jitted", None)
    jitted = jitted if isinstance(jitted, Jitted) else Jitted(fun, backend=backend or "numpy")
    print(jitted.source(*args, **kwargs))
