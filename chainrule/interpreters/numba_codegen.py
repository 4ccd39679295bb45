"""Code generation for Numba: a Graph becomes Python source that ``numba.njit`` compiles.

The same optimized IR as the NumPy backend (``codegen.optimize``), emitted for Numba's nopython
mode: 0-d values are plain floats (so a scalar program is straight scalar machine code);
equations on arrays go to ``numba_fusion``, which writes elementwise chains, the reductions and
scatter-adds that end them, and views as explicit loop nests; ``scan``, ``while`` and
``checkpoint`` become native loops over bodies compiled the same way (``cond`` an if/elif chain
of compiled branches). Matrix products call ``np.dot`` (BLAS), other contractions are loop
nests; ``solve`` calls ``np.linalg.solve`` (LAPACK). A primitive without a translation
(``untranslated``) calls its NumPy implementation from the compiled code (``callback``, a
``numba.objmode`` block); values other than float64, int64 and bool raise ``Unsupported`` (the
caller then keeps the NumPy backend for the graph and records the reason). Guards (Python
branches on traced values) raise ``GuardFailure`` as soon as their value is computed. Code is
compiled with ``error_model="numpy"``: division by zero gives inf or nan as in NumPy.

Constants are closed over (Numba freezes them into the compiled code, read-only); those that
enter a loop (where a carry's type must match the body's writable results) are copied once per
call at the top of the function. Compiled code is cached on disk (``numba_cache``).
"""
import hashlib

import numpy as np

from ..core import Lit, Var, Zero
from .numba_along import ALONG, along_lines, along_untranslated
from .numba_cache import load_module
from .numba_fusion import Fusion, map_index
from .numba_loops import emit_scan, filled
from .codegen import (_LOOP_EMITTERS, GuardFailure, _build, _emit_call, _emit_while,
                      _index_src, _names, _params_key, module_source, optimize)


class Unsupported(Exception):
    """The graph holds something the Numba backend does not compile; the message says what."""


_OPS = {"add": "({} + {})", "add_any": "({} + {})", "sub": "({} - {})", "mul": "({} * {})",
        "div": "({} / {})", "neg": "(-{})", "lt": "({} < {})", "le": "({} <= {})",
        "gt": "({} > {})", "ge": "({} >= {})", "eq": "({} == {})", "ne": "({} != {})"}
# NumPy ufuncs that Numba implements for scalars and arrays alike
UFUNCS = {"sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh",
          "arcsinh", "arccosh", "arctanh", "exp", "expm1", "exp2", "log", "log1p", "log2",
          "log10", "sqrt", "absolute", "fabs", "sign", "maximum", "minimum", "square",
          "reciprocal", "floor", "ceil", "hypot", "logaddexp", "power", "negative", "cbrt",
          "isnan", "isinf", "isfinite", "logical_and", "logical_or", "logical_not",
          "logical_xor", "trunc", "rint", "floor_divide", "signbit", "copysign", "fmod",
          "logaddexp2", "deg2rad", "rad2deg"}
# primitives emitted by hand (besides the operators, the ufuncs above and the loops)
SUPPORTED = set(_OPS) | {"pow", "integer_pow", "select", "safe_mul", "safe_div", "reduce_sum",
                         "copy", "stop_gradient",
                         "reduce_max", "reduce_min", "reduce_any", "reduce_all",
                         "reshape", "broadcast_to", "convert_element_type", "getitem",
                         "scatter_add", "dot_general", "transpose", "scan", "while", "checkpoint",
                         "cond", "solve", "concatenate", "expit", "setitem"} | set(ALONG)
_NUMERIC = (np.float64, np.int64, np.bool_)


def _numba():
    try:
        import numba
    except ImportError:
        raise Unsupported("numba is not installed (pip install chainrule[numba])") from None
    return numba


def check_supported(graph):
    """Raise ``Unsupported`` naming the first value type this backend lacks (primitives
    without a translation call NumPy from the compiled code: ``callbacks``)."""
    for v in graph.invars:
        if v.aval.dtype not in _NUMERIC:
            raise Unsupported(f"an input of dtype {v.aval.dtype}")
    for e in graph.eqns:
        for v in list(e.outvars) + [x for x in e.inputs if type(x) is Var]:
            if v.aval.dtype not in _NUMERIC:
                raise Unsupported(f"{e.prim.name} takes or gives dtype {v.aval.dtype}")
        for sub in _subgraphs(e):
            check_supported(sub)


def _cpu_has(feature):
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:         # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return bool(__cpu_features__.get(feature))


# ufuncs that NumPy computes with SIMD loops (SVML on AVX512_SKX machines; exp and log from
# AVX2 on), 10 to 40 times faster per element than the scalar libm calls Numba emits
_SIMD_UFUNCS = ({"exp", "log"} if _cpu_has("AVX2") or _cpu_has("AVX512F") else set()) | (
    {"tanh", "sinh", "cosh", "expm1", "log1p", "log2", "log10", "exp2", "cbrt", "arctan",
     "arcsin", "arccos", "arcsinh", "arccosh", "arctanh", "tan"}
    if _cpu_has("AVX512_SKX") else set())
VECTOR_CALL_SIZE = 1024     # arrays at least this long call NumPy's loop (an objmode call)


def numpy_is_faster(eqn):
    """True for a ufunc NumPy computes with SIMD, on an array large enough to repay the call."""
    impl = eqn.prim.impl
    return (isinstance(impl, np.ufunc) and impl.__name__ in _SIMD_UFUNCS and not eqn.params
            and eqn.outvars[0].aval.size >= VECTOR_CALL_SIZE
            and eqn.outvars[0].aval.dtype == np.float64)


def untranslated(eqn):
    """Why ``eqn`` has no Numba translation (it then calls NumPy), or None."""
    name, impl = eqn.prim.name, eqn.prim.impl
    ufunc = isinstance(impl, np.ufunc) and impl.__name__ in UFUNCS and not eqn.params
    if name not in SUPPORTED and not ufunc:
        return f"primitive {name!r} has no Numba translation"
    if name == "dot_general" and eqn.outvars[0].aval.dtype != np.float64:
        return f"dot_general giving {eqn.outvars[0].aval.dtype}"
    if name == "solve" and (eqn.inputs[0].aval.ndim != 2 or eqn.inputs[1].aval.ndim > 2
                            or eqn.inputs[0].aval.shape[0] > SMALL_SOLVE):
        return "solve of a large or stacked system (LAPACK through NumPy)"
    if name in ("reduce_max", "reduce_min") and eqn.outvars[0].aval.dtype.kind not in "fi":
        return f"{name} of {eqn.outvars[0].aval.dtype}"
    if name in ("reduce_any", "reduce_all") and \
            len(eqn.params["axes"]) != eqn.inputs[0].aval.ndim:
        return f"{name} over some of the axes"
    if name in ALONG:
        return along_untranslated(eqn)
    if name == "setitem" and not _setitem_translated(eqn):
        return "setitem with index arrays, or casting its value"
    if name in ("getitem", "scatter_add") and not _index_translated(eqn):
        return f"{name} with this combination of index arrays (NumPy's advanced indexing)"
    return None


def _setitem_translated(eqn):
    """True for ``x[idx] = v`` with a basic index and ``v`` of ``x``'s dtype and of the
    selection's shape, or a scalar (what Numba's own assignment to a view does as NumPy)."""
    idx, (x, v) = eqn.params["idx"], (i.aval for i in eqn.inputs)
    if not isinstance(idx, tuple) or not idx or any(i is None or i is Ellipsis or isinstance(
            i, (np.ndarray, bool, np.bool_)) or not isinstance(i, (int, np.integer, slice))
            for i in idx):
        return False
    return x.dtype == v.dtype and x.ndim > 0 and v.shape in (
        (), np.broadcast_to(np.empty(()), x.shape)[idx].shape)


def _index_translated(eqn):
    """True if the index of a ``getitem`` or ``scatter_add`` has a translation: basic indices,
    index arrays that a loop nest reads (``view_index``), or (``getitem``: one array without
    None; ``scatter_add``: one 1-d array after full slices) a loop over the array."""
    idx = eqn.params["idx"]
    arrays = [k for k, i in enumerate(idx) if isinstance(i, np.ndarray)]
    if not arrays:
        return True
    shape = eqn.inputs[0].aval.shape
    if eqn.prim.name == "getitem":
        return (len(arrays) == 1 and not any(i is None for i in idx)) or map_index(
            idx, shape, ["i"] * eqn.outvars[0].aval.ndim, lambda a: "c") is not None
    u = eqn.inputs[1].aval
    if (u.shape == np.broadcast_to(np.empty(()), shape)[idx].shape and u.dtype == np.float64
            and map_index(idx, shape, ["i"] * u.ndim, lambda a: "c") is not None):
        return True
    m = len(idx) - 1
    return arrays == [m] and idx[m].ndim == 1 and all(i == slice(None) for i in idx[:m])


_MAX_INLINE_ARGS = 30


def _subgraphs(eqn):
    p = eqn.params
    if eqn.prim.name == "scan" or eqn.prim.name == "checkpoint":
        return [p["body"]]
    if eqn.prim.name == "while":
        return [p["cond"], p["body"]]
    if eqn.prim.name == "cond":
        return list(p["branches"])
    return []


def _literal(val):
    """Source of a float/int/bool constant, or None for an array."""
    if type(val) is Zero:
        return "0.0" if val.aval.shape == () else None
    if isinstance(val, (np.ndarray, np.generic)) and np.ndim(val) == 0:
        val = val.item()
    if type(val) is bool or type(val) is int:
        return repr(val)
    if type(val) is float:
        if np.isnan(val):
            return "np.nan"
        if np.isinf(val):
            return "np.inf" if val > 0 else "(-np.inf)"
        return repr(val)
    return None


class _Ctx:
    """Loop bodies: compiled functions defined before the function that calls them. They are
    module globals (``global`` in ``_make``; named after the enclosing body where nested), so
    the function calling them closes over constants only (Numba's cache keys a closure by its
    cells' pickles, which a compiled function's are not). They are compiled with
    ``inline="always"``: Numba inlines each into its caller's IR instead of compiling and
    optimizing it on its own and again in the caller's module (W8's step is 25% faster, the
    compile no slower); those calling NumPy back (``objmode``), which Numba cannot inline, are
    compiled on their own."""

    def __init__(self, consts, namespace, prefix):
        self.consts, self.namespace, self.prelude, self.count = consts, namespace, [], 0
        self.prefix, self.defined = prefix, []

    def function(self, graph, kind):
        name = f"{self.prefix}{kind}{self.count}"
        self.count += 1
        self.defined.append(name)
        graph, _ = optimize(graph)
        names = [f"in{i}" for i in range(len(graph.invars))]
        src, ns, consts = generate(graph, names, name, prefix=f"{name}_", unbox=True)
        base = len(self.consts)
        self.consts.extend(consts)
        self.namespace.update(ns)
        lines = src.replace("def _make(", f"def _make_{name}(", 1).splitlines()
        self.prelude.extend(lines)
        args = ", ".join(f"c{base + i}" for i in range(len(consts)))
        # Numba cannot inline a function holding an objmode block (a call back to NumPy), nor
        # one taking more than 30 arguments (Python passes those as a tuple, *args)
        njit = "_njit" if "_objmode(" in src or len(names) > _MAX_INLINE_ARGS else "_njit_body"
        self.prelude.append(f"{name} = {njit}(_make_{name}({args}))")
        return name


def generate(graph, arg_names, fn_name="compiled", bare=False, prefix="", guards=(),
             unbox=False):
    """Numba source of an optimized ``graph``: ``(source, namespace, consts)`` like
    ``codegen.generate`` (``_make(<constants>)`` returns the plain function, to be njit-ed).
    ``guards`` (kind, var, value) raise ``GuardFailure`` as soon as their value is computed.
    ``unbox``: 0-d inputs may arrive as 0-d arrays; the code reads them as scalars
    (``_unbox``), as it holds every other 0-d value."""
    check_supported(graph)
    taken = set(arg_names)
    gen = _names(taken | {e.prim.name for e in graph.eqns})
    names, consts = dict(zip(graph.invars, arg_names)), []
    namespace = {"np": np}

    def const(val):
        lit = _literal(val)
        if lit is not None:
            return lit
        if type(val) is Zero:
            val = np.zeros(val.aval.shape, val.aval.dtype)
        consts.append(np.array(val))
        return f"c{len(consts) - 1}"

    inline, depth = {}, {}     # single-use elementwise results, written into their user

    def atom(x):
        if type(x) is Var:
            if x in inline:
                return inline.pop(x)
            if x in fusion.lazy and x not in fusion.materialized:
                fusion.materialize(x)
            if x not in names:
                names[x] = next(gen)
            return names[x]
        return const(x.val)

    copies = []     # writable copies of array constants, made once per call at the top

    def atom_copy(x):
        src = atom(x)
        if type(x) is Var or _literal(x.val) is not None:
            return src
        copies.append(f"_w{len(copies)} = {src}.copy()")
        return f"_w{len(copies) - 1}"

    ctx = _Ctx(consts, namespace, prefix)
    body = []
    uses = _uses(graph)
    producer = {v: e for e in graph.eqns for v in e.outvars}
    fusion = Fusion(graph, atom, const, names, gen, body, scalar_src,
                    lambda v: _fresh(producer.get(v)), UFUNCS)
    checks = {}         # guarded value -> its checks, emitted once the value is computed
    for i, (kind, var, val) in enumerate(guards):
        checks.setdefault(var, []).append((i, kind, val))
        uses[var] = uses.get(var, 0) + 2
        fusion.outputs.add(var)
    if guards:
        namespace["_GuardFailure"] = GuardFailure
    computed = set(graph.invars)

    def check_guards():
        for v in [v for v in checks if v in computed and not fusion.in_group(v)]:
            body.extend(_guard_lines(v, checks.pop(v), atom, const))

    check_guards()
    for eqn in _schedule(graph.eqns, fusion, computed):
        check_guards()
        computed.update(eqn.outvars)
        in_numpy = untranslated(eqn) is not None or numpy_is_faster(eqn)
        if not in_numpy and fusion.take(eqn):
            continue
        fusion.before(eqn)
        if in_numpy:
            x = eqn.inputs[0] if len(eqn.inputs) == 1 else None
            own = (numpy_is_faster(eqn) and type(x) is Var and uses.get(x) == 1
                   and x not in fusion.lazy and x.aval == eqn.outvars[0].aval
                   and _fresh(producer.get(x)))
            body.extend(callback(eqn, atom, namespace, prefix, in_place=own))
            continue
        out = eqn.outvars[0] if eqn.outvars else None
        if _fusible(eqn) and uses.get(out) == 1:
            # one expression per chain: Numba compiles an array expression as one loop
            d = 1 + max([depth.get(x, 0) for x in eqn.inputs if x in inline], default=0)
            if d <= _MAX_DEPTH:
                line, = _equation(eqn, atom, consts)
                depth[out] = d
                inline[out] = f"({line.split(' = ', 1)[1]})"
                continue
        if eqn.prim.name in _LOOP_EMITTERS:
            # loops take constants writable: a carry's type must match the body's results
            body.extend({"scan": emit_scan, "while": _emit_while, "cond": _emit_cond,
                         "checkpoint": _emit_call}[eqn.prim.name](eqn, atom_copy, ctx))
            continue
        if eqn.prim.name == "dot_general" and (
                _dot_src(eqn.params["spec"], "a", "b") is None
                or max(x.aval.size for x in eqn.inputs) <= SMALL_DOT):
            body.extend(fusion.contraction(eqn))
            continue
        if eqn.prim.name == "scatter_add":
            a = eqn.inputs[0]
            own = type(a) is Var and uses.get(a) == 2 and _fresh(producer.get(a))
            body.extend(_scatter_add(eqn, atom(out), [atom(x) for x in eqn.inputs], consts,
                                     in_place=own))
            continue
        body.extend(_equation(eqn, atom, consts))
    fusion.close()
    check_guards()
    outs = []
    for v in graph.outvars:
        src = atom(v)
        if (type(v) is not Var or v in graph.invars) and v.aval.shape != ():
            src += ".copy()"        # never the caller's array nor a frozen constant
        outs.append(src)
    params = list(arg_names)
    if unbox:
        for k, v in enumerate(graph.invars):
            if v.aval.shape == () and v in names:
                params[k] = f"{arg_names[k]}_in"
                copies.insert(0, f"{arg_names[k]} = _unbox({params[k]})")
    body = copies + body
    if bare and len(outs) == 1:
        body.append(f"return {outs[0]}")
    else:
        body.append(f"return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    prelude = ([f"global {', '.join(ctx.defined)}"] if ctx.defined else []) + ctx.prelude
    return module_source(len(consts), prelude, fn_name, params, body), namespace, consts


_MAX_DEPTH = 16
_FUSIBLE = set(_OPS) | {"pow", "integer_pow", "expit"}


def _fusible(eqn):
    """An elementwise equation written as one expression (operators and ufuncs)."""
    impl = eqn.prim.impl
    return eqn.prim.name in _FUSIBLE or (isinstance(impl, np.ufunc) and not eqn.params
                                         and impl.__name__ in UFUNCS)


def _fresh(eqn):
    """True if ``eqn``'s result is a new array (never a view of an input or a carry)."""
    if eqn is None:
        return False
    name = eqn.prim.name
    if name == "getitem":
        return any(isinstance(i, np.ndarray) for i in eqn.params["idx"])
    return _fusible(eqn) or name in ("select", "safe_mul", "safe_div", "reduce_sum",
                                     "dot_general", "broadcast_to", "scatter_add")


def _uses(graph):
    """How often the generated code names each variable; anything used in a loop body, a
    scatter loop, a repeated operand or a graph output counts as several (never inlined)."""
    uses = {}
    for e in graph.eqns:
        name = e.prim.name
        many = name in _LOOP_EMITTERS or name in ("scatter_add", "safe_mul", "safe_div",
                                                  "select") \
            or (name == "integer_pow" and e.params["n"] <= 4)
        for x in e.inputs:
            if type(x) is Var:
                uses[x] = uses.get(x, 0) + (2 if many else 1)
    for v in graph.outvars:
        if type(v) is Var:
            uses[v] = uses.get(v, 0) + 2
    return uses


def _emit_cond(eqn, atom, ctx):
    """The branch picked by the (clamped) index, as an if/elif chain of compiled branches."""
    branches = [ctx.function(b, "branch") for b in eqn.params["branches"]]
    ins = [atom(x) for x in eqn.inputs]
    outs = [atom(v) for v in eqn.outvars]
    pick = f"_p{ctx.count}"
    lines = [f"{pick} = min(max(int({ins[0]}), 0), {len(branches) - 1})"]
    lhs = f"{', '.join(outs)}, = " if outs else ""
    for k, b in enumerate(branches):
        test = "else:" if k == len(branches) - 1 else f"{'if' if k == 0 else 'elif'} {pick} == {k}:"
        lines += [test, f"    {lhs}{b}({', '.join(ins[1:])})"]
    return lines


def scalar_src(eqn, args):
    """Source of an elementwise equation on scalars ``args`` (sources), or None."""
    name, p = eqn.prim.name, eqn.params
    if name in _OPS:
        return _OPS[name].format(*args)
    if name == "pow":
        return f"{args[0]} ** {args[1]}"
    if name == "integer_pow":
        n, x = p["n"], args[0]
        src = {2: f"{x} * {x}", 3: f"{x} * {x} * {x}", 4: f"({x} * {x}) * ({x} * {x})"}
        return src.get(n, f"{x} ** {float(n)!r}")
    if name == "select":
        c, a, b = args
        return f"{a} if {c} else {b}"
    if name in ("safe_mul", "safe_div"):
        t, c = args
        value = f"{t} * {c}" if name == "safe_mul" else f"{t} / {c}"
        zero = f"{t} == 0 or {c} == 0" if name == "safe_mul" else f"{t} == 0"
        return f"0.0 if {zero} else {value}"
    if name in ("broadcast_to", "copy", "stop_gradient"):
        return args[0]
    if name == "expit":         # SciPy's formula: equal bit for bit with the same exp
        return f"1.0 / (1.0 + np.exp(-{args[0]}))"
    if name == "convert_element_type":
        dt = np.dtype(p.get("new_dtype", eqn.outvars[0].aval.dtype))
        kind = {"f": "float", "i": "int", "b": "bool"}[dt.kind]
        if eqn.inputs[0].aval.dtype == np.bool_ and kind != "bool":
            return f"{kind}(1) if {args[0]} else {kind}(0)"
        return f"{kind}({args[0]})"
    impl = eqn.prim.impl
    if isinstance(impl, np.ufunc) and impl.__name__ in UFUNCS:
        return f"np.{impl.__name__}({', '.join(args)})"
    return None


def _equation(eqn, atom, consts):
    """Source lines computing one equation outside loop nests (scalars, and arrays where no
    nest applies)."""
    name, p = eqn.prim.name, eqn.params
    out = eqn.outvars[0]
    scalar = out.aval.shape == ()
    args = [atom(x) for x in eqn.inputs]
    lhs = atom(out)
    if scalar or name in _OPS:
        src = scalar_src(eqn, args)
        if src is not None:
            return [f"{lhs} = {src}"]
    if name in ("reduce_sum", "reduce_max", "reduce_min") and eqn.inputs[0].aval.shape == ():
        return [f"{lhs} = {args[0]}"]
    if name in ("reduce_any", "reduce_all"):        # over every axis (untranslated otherwise)
        x = args[0] if eqn.inputs[0].aval.shape == () else f"np.{name[7:]}({args[0]})"
        return [f"{lhs} = {x} != 0" if eqn.inputs[0].aval.dtype != np.bool_ else f"{lhs} = {x}"]
    if name == "reduce_sum":
        axes, ndim = p["axes"], eqn.inputs[0].aval.ndim
        if len(axes) == ndim:
            return [f"{lhs} = np.sum({args[0]})"]
        return [f"{lhs} = np.sum({args[0]}, axis={axes[0] % ndim})"]
    if name == "reshape":
        x, shape, in_scalar = args[0], out.aval.shape, eqn.inputs[0].aval.shape == ()
        if scalar:
            return [f"{lhs} = {x}" if in_scalar else f"{lhs} = {x}.ravel()[0]"]
        if in_scalar:
            return [filled(lhs, shape, x, out.aval.dtype)]
        return [f"{lhs} = np.ascontiguousarray({x}).reshape({shape!r})"]
    if name == "broadcast_to":
        shape = out.aval.shape
        if eqn.inputs[0].aval.shape == ():
            return [filled(lhs, shape, args[0], out.aval.dtype)]
        return [f"{lhs} = np.zeros({shape!r}) + {args[0]}"] if out.aval.dtype == np.float64 \
            else _unsupported(f"broadcast_to of dtype {out.aval.dtype}")
    if name == "convert_element_type":
        return [f"{lhs} = {args[0]}.astype(np.{np.dtype(p.get('new_dtype', out.aval.dtype)).name})"]
    if name == "getitem":
        idx = p["idx"]
        arrays = [i for i in idx if isinstance(i, np.ndarray)]
        if len(arrays) > 1 or any(i is None for i in idx):
            _unsupported("indexing with several index arrays or None")
        src = _index_src(idx, consts)
        return [f"{lhs} = {args[0]}[{src[:-1] if src.endswith(',') else src}]"]
    if name == "transpose":
        if scalar or out.aval.ndim == 1:
            return [f"{lhs} = {args[0]}"]
        return [f"{lhs} = np.ascontiguousarray(np.transpose({args[0]}, {p['perm']!r}))"]
    if name == "scatter_add":
        return _scatter_add(eqn, lhs, args, consts)
    if name == "dot_general":
        return [f"{lhs} = {_dot_src(p['spec'], *args)}"]
    if name == "solve":
        return _small_solve(lhs, *args, eqn.inputs[1].aval.ndim)
    if name == "concatenate":
        return [f"{lhs} = np.concatenate(({', '.join(args)},), axis={p['axis']})"]
    if name in ALONG:
        return along_lines(eqn, lhs, args)
    if name == "setitem":
        src = _index_src(p["idx"], consts)
        return [f"{lhs} = {args[0]}.copy()", f"{lhs}[{src.rstrip(',')}] = {args[1]}"]
    _unsupported(f"primitive {name!r}")


# small systems are solved by Gaussian elimination in the generated code (Numba compiles its
# LAPACK binding in seconds); products of small operands are loop nests (BLAS calls cost more)
SMALL_SOLVE = 8
SMALL_DOT = 64


def _small_solve(x, a, b, b_ndim):
    """``x = solve(a, b)``: LU with partial pivoting as LAPACK's ``gesv`` does it (rows
    scaled by the pivot's reciprocal), ``LinAlgError`` for an exactly singular matrix."""
    def at(row):
        return f"{x}[{row}]" if b_ndim == 1 else f"{x}[{row}, _q]"

    def cols(line, depth):      # ``line`` for each column of ``x``, indented ``depth`` levels
        pad = "    " * depth
        if b_ndim == 1:
            return [pad + line]
        return [pad + f"for _q in range({x}.shape[1]):", pad + "    " + line]
    return (["# solve: Gaussian elimination with partial pivoting",
             f"_A = np.ascontiguousarray({a}).copy()",
             f"{x} = np.ascontiguousarray({b}).copy()",
             "_n = _A.shape[0]",
             "for _k in range(_n):",
             "    _p = _k",
             "    for _r in range(_k + 1, _n):",
             "        if abs(_A[_r, _k]) > abs(_A[_p, _k]):",
             "            _p = _r",
             "    if _A[_p, _k] == 0.0:",
             "        raise np.linalg.LinAlgError('Singular matrix')",
             "    if _p != _k:",
             "        for _c in range(_n):",
             "            _A[_k, _c], _A[_p, _c] = _A[_p, _c], _A[_k, _c]"]
            + cols(f"{at('_k')}, {at('_p')} = {at('_p')}, {at('_k')}", 2)
            + ["    _inv = 1.0 / _A[_k, _k]",
               "    for _r in range(_k + 1, _n):",
               "        _l = _A[_r, _k] * _inv",
               "        for _c in range(_k + 1, _n):",
               "            _A[_r, _c] -= _l * _A[_k, _c]"]
            + cols(f"{at('_r')} -= _l * {at('_k')}", 2)
            + ["for _k in range(_n - 1, -1, -1):",
               "    for _c in range(_k + 1, _n):"]
            + cols(f"{at('_k')} -= _A[_k, _c] * {at('_c')}", 2)
            + cols(f"{at('_k')} = {at('_k')} / _A[_k, _k]", 1))


def _dot_src(spec, a, b):
    """``np.dot``/``np.outer`` source for a two-operand contraction of vectors and matrices
    over at most one letter, without batch letters; None for other specs."""
    ins, out = spec.split("->")
    sa, sb = ins.split(",")
    if len(sa) > 2 or len(sb) > 2 or len(set(sa)) < len(sa) or len(set(sb)) < len(sb):
        return None
    shared = set(sa) & set(sb)
    if "" in (sa, sb):
        return f"({a} * {b})" if out == sa + sb else None
    if not shared:
        if len(sa) == len(sb) == 1:
            return {sa + sb: f"np.outer({a}, {b})", sb + sa: f"np.outer({b}, {a})"}.get(out)
        return None
    if len(shared) != 1:
        return None
    k = shared.pop()
    ra, rb = sa.replace(k, ""), sb.replace(k, "")
    if k in out or len(set(ra + rb)) < len(ra + rb):
        return None

    def arranged(x, s, last):       # x with its letter k last (left operand) or first
        if len(s) == 1 or (s[-1] == k) == last:
            return f"np.ascontiguousarray({x})"
        # the transpose of a C-contiguous matrix: Fortran order, which BLAS reads transposed
        # (no copy; a no-op where x is C-contiguous already)
        return f"np.ascontiguousarray({x}).T"
    if out == ra + rb:
        return f"np.dot({arranged(a, sa, True)}, {arranged(b, sb, False)})"
    if out == rb + ra:
        return f"np.dot({arranged(b, sb, True)}, {arranged(a, sa, False)})"
    return None


def _unsupported(why):
    raise Unsupported(why)


def _scatter_add(eqn, lhs, args, consts, in_place=False):
    """``a`` with ``u`` added at ``idx``: ``a`` (a copy unless ``in_place``) or zeros, then a
    loop over the index array (repeated indices accumulate, as ``np.add.at``) or a basic-index
    ``+=``."""
    target, upd = args
    out = eqn.outvars[0]
    a = eqn.inputs[0]
    if type(a) is Lit and type(a.val) is Zero:
        first = filled(lhs, out.aval.shape, "0.0")
    else:
        # a temporary used only here is accumulated into in place
        first = f"{lhs} = {target}" + ("" if in_place else ".copy()")
    idx = eqn.params["idx"]
    arrays = [k for k, i in enumerate(idx) if isinstance(i, np.ndarray)]
    if not arrays:
        return [first, f"{lhs}[{_index_src(idx, consts)}] += {upd}"]
    full = slice(None)
    m = len(idx) - 1
    if arrays != [m] or idx[m].ndim != 1 or any(i != full for i in idx[:m]):
        _unsupported("scatter_add with an index other than one 1-d array after full slices")
    consts.append(np.asarray(idx[m]))
    c = f"c{len(consts) - 1}"
    k = f"_k_{lhs}"
    lead = ":, " * m
    return [first, f"for {k} in range({c}.shape[0]):",
            f"    {lhs}[{lead}{c}[{k}]] += {upd}[{lead}{k}]"]


def compile_graph_numba(graph, arg_names, fn_name="compiled", bare=False, guards=()):
    """Optimize ``graph`` and compile it with Numba: ``(dispatcher, source)``, through the
    on-disk cache (``numba_cache``) where there is one. Raises
    ``Unsupported`` (with the reason) where the graph holds what this backend cannot compile."""
    numba = _numba()
    graph, where = optimize(graph, [var for _, var, _ in guards])
    guards = [(kind, where[var], val) for kind, var, val in guards]
    guards = [(k, v, val) for k, v, val in guards if type(v) is Var]
    src, namespace, consts = generate(graph, arg_names, fn_name, bare=bare, guards=guards,
                                      unbox=True)
    namespace["_objmode"] = numba.objmode
    namespace["_unbox"] = _unbox_function(numba)
    module = load_module(src, consts, numba.__version__)
    if module is None:
        namespace["_njit"] = numba.njit(error_model="numpy")
        namespace["_njit_body"] = numba.njit(error_model="numpy", inline="always")
        return namespace["_njit"](_build(src, namespace, consts, f"numba {fn_name}")), src
    for name, value in namespace.items():       # callbacks to NumPy and the objmode hook
        if name.startswith("_"):
            setattr(module, name, value)
    module._njit = numba.njit(error_model="numpy", cache=True)
    module._njit_body = numba.njit(error_model="numpy", inline="always")
    return module._njit(module._make(*consts)), src


_UNBOX = []


def _unbox_function(numba):
    """``_unbox(x)``: the element of a 0-d array, a scalar unchanged (resolved by type when
    Numba compiles the caller, so a float argument costs nothing)."""
    if not _UNBOX:
        from numba.core import types
        from numba.extending import overload

        def _unbox(x):
            return x

        @overload(_unbox)
        def _unbox_impl(x):
            if isinstance(x, types.Array):
                return lambda x: x[()]
            return lambda x: x
        _UNBOX.append(_unbox)
    return _UNBOX[0]


def _guard_lines(var, checks, atom, const):
    """``raise _GuardFailure(i)`` where ``var`` differs from its traced value (NaN equals NaN)."""
    lines = []
    for i, kind, val in checks:
        x = atom(var)
        if kind == "bool":
            lines.append(f"if bool({x}) != {bool(val)}: raise _GuardFailure({i})")
            continue
        if np.ndim(val) == 0:
            c = const(np.asarray(val).item() if isinstance(val, np.generic) else val)
            lines.append(f"if not ({x} == {c} or ({x} != {x} and {c} != {c})): "
                         f"raise _GuardFailure({i})")
            continue
        c = const(np.asarray(val))
        shape = np.shape(val)
        idx = ", ".join(f"_j{k}" for k in range(len(shape)))
        lines.append(f"_g{i} = True")
        lines += [("    " * k) + f"for _j{k} in range({n}):" for k, n in enumerate(shape)]
        a, b = f"{x}[{idx}]", f"{c}[{idx}]"
        lines.append("    " * len(shape) + f"if not ({a} == {b} or ({a} != {a} and {b} != {b})):")
        lines.append("    " * (len(shape) + 1) + f"_g{i} = False")
        lines.append(f"if not _g{i}: raise _GuardFailure({i})")
    return lines


_LOOKAHEAD = 64


def _schedule(eqns, fusion, computed):
    """The equations in an order that keeps loop nests long: while a group is open, one of the
    next ``_LOOKAHEAD`` equations whose inputs are computed and that joins it goes first;
    otherwise program order (whose first equation is always ready). An elementwise equation
    read only by one elementwise equation of its shape waits for it (``_sinks``), so that it is
    computed in that nest instead of stored (``1 - y * y`` of a saved ``tanh`` output, read by
    the adjoint sweep)."""
    rest = list(eqns)
    waiting = {}        # id(reader) -> the equations computed just before it

    def with_waiting(e):
        for w in waiting.pop(id(e), ()):
            yield from with_waiting(w)
        yield e
    while rest:
        pick = 0
        if fusion.group is not None:
            for k, e in enumerate(rest[:_LOOKAHEAD]):
                if all(type(x) is not Var or x in computed for x in e.inputs) and \
                        untranslated(e) is None and not numpy_is_faster(e) and fusion.joins(e):
                    pick = k
                    break
        e = rest.pop(pick)
        reader = _sinks(e, fusion)
        if reader is not None:
            waiting.setdefault(id(reader), []).append(e)
            continue
        yield from with_waiting(e)


def _sinks(e, fusion):
    """The one reader that elementwise ``e`` may wait for, or None: an elementwise equation
    of ``e``'s shape, ``e``'s result read nowhere else, ``e``'s operands outside the open
    group (arrays already stored)."""
    if len(e.outvars) != 1 or untranslated(e) is not None or numpy_is_faster(e):
        return None
    out = e.outvars[0]
    readers = fusion.consumers.get(out, [])
    if (out.aval.shape == () or out in fusion.outputs or len(readers) != 1
            or not _sinkable(e, fusion) or not _sinkable(readers[0], fusion)
            or readers[0].outvars[0].aval.shape != out.aval.shape
            or any(type(x) is Var and fusion.in_group(x) for x in e.inputs)):
        return None
    return readers[0]


def _sinkable(e, fusion):
    return (len(e.outvars) == 1 and fusion.elementwise(e) and untranslated(e) is None
            and not numpy_is_faster(e) and e.outvars[0].aval.dtype.kind in "fib")


def _numba_type(aval):
    """Numba's name of a value's type, as ``objmode`` takes it (C-contiguous arrays)."""
    base = {"float64": "float64", "int64": "int64", "bool": "boolean"}[aval.dtype.name]
    if aval.ndim == 0:
        return base
    return f"{base}[{', '.join([':'] * (aval.ndim - 1) + ['::1'])}]"


def callback(eqn, atom, namespace, prefix="", in_place=False):
    """An equation Numba cannot compile, computed by its NumPy implementation from the
    compiled code (a ``numba.objmode`` block: the arrays are passed to Python and back).
    ``in_place``: a ufunc writes into its operand, a temporary used only here."""
    k = sum(1 for name in namespace if name.startswith(f"_cb{prefix}"))
    fn = f"_cb{prefix}{k}"
    prim, params, outs = eqn.prim, dict(eqn.params), eqn.outvars
    avals = [v.aval for v in outs]

    def call(*args):
        res = prim.impl(*args, out=args[0]) if in_place else prim.impl(*args, **params)
        res = res if prim.multiple_results else (res,)
        out = tuple(np.ascontiguousarray(r, a.dtype) if a.ndim else a.dtype.type(r)
                    for r, a in zip(res, avals))
        return out if prim.multiple_results else out[0]
    call.__name__ = fn
    namespace[fn] = call
    args = ", ".join(atom(x) for x in eqn.inputs)
    names = [atom(v) for v in outs]
    types = ", ".join(f'{n}="{_numba_type(v.aval)}"' for n, v in zip(names, outs))
    key = _params_key({**params, "out": "operand"} if in_place else params)
    # the key is in the source, so a cached module's callbacks match it
    key = hashlib.sha256(repr(key if key is not None else id(call)).encode()).hexdigest()[:12]
    why = "no Numba translation" if untranslated(eqn) else "NumPy's SIMD loop" + (
        ", in place" if in_place else "")
    return [f"# {fn}: {prim.name} in NumPy ({why}; parameters {key})",
            f"with _objmode({types}):",
            f"    {', '.join(names)}{',' if len(names) == 1 and prim.multiple_results else ''}"
            f" = {fn}({args})"]
