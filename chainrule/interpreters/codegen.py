"""Code generation: a Graph becomes plain Python source that calls NumPy.

The generated function has one argument per graph input and closes over the graph's constants,
which are passed in (never written into the source by ``repr``; only Python ints, floats and
bools appear as literals, since their ``repr`` is exact). Every equation becomes one line::

    b = np.sin(a)                  # a primitive whose implementation is a NumPy ufunc
    c = b * 0.999                  # arithmetic as operators
    d = reduce_sum(c, axes=(0,))   # any other primitive: its implementation, by name

A scalar program (every value a 0-d float64 or bool) gets a second version that computes on
Python floats with ``math``, about ten times faster per operation than NumPy scalars: each
temporary used once is written into the expression that uses it, and where ``math`` or a Python
operator raises (overflow, a domain error, a division by zero) the NumPy version answers with
NumPy's inf or nan. ``math`` (the C library) and NumPy's SIMD loops may round ``exp``, ``log``,
``tanh``, ``pow`` and the like differently in the last bit (on an AVX-512 machine, ``exp`` at about
one point in twenty); arithmetic, ``sqrt`` and the powers NumPy computes exactly (``x**2`` as
``x * x``, ``x**0.5`` as ``sqrt(x)``, ``x**-1`` as ``1 / x``) agree to the bit.

Guards recorded while staging (Python control flow on example values) become checks that raise
``GuardFailure`` as soon as the value they test is computed, so a compiled program never runs
down a branch other than the one it was traced on.

Before emitting, ``optimize`` simplifies the graph: constant folding, algebraic identities of
derivative code (x * 1, x + 0, -(-x), casts and reshapes that change nothing), common
subexpressions and dead code; and ``add_any`` accumulations whose left operand is a fresh
temporary array become in-place ``+=``.
"""
import builtins
import keyword
import math

import numpy as np

from ..core.arrays import is_foreign
from ..core import Eqn, Graph, Lit, Tracer, Var, Zero, substitute
from ..core.indexing import flat_places, take_axis
from .staging import dead_code_elim


class GuardFailure(Exception):
    """Raised by generated code when an input takes the other branch of a traced condition."""


# -- optimization -----------------------------------------------------------------------------
def _is_plain_const(x):
    """A constant whose values may be read (a Dask constant is lazy: its values are not)."""
    return (type(x) is Lit and not isinstance(x.val, Tracer) and type(x.val) is not Zero
            and not is_foreign(x.val))


def _lit_equals(x, number):
    """True if ``x`` is a constant every element of which equals ``number``."""
    if not _is_plain_const(x):
        return False
    try:
        return bool(np.all(x.val == number))
    except Exception:
        return False


def _same_aval(atom, var):
    return atom.aval.shape == var.aval.shape and atom.aval.dtype == var.aval.dtype


def _simplify(eqn):
    """An atom equal to the single output of ``eqn`` by an algebraic identity, or None."""
    name, ins, out = eqn.prim.name, eqn.inputs, eqn.outvars[0]
    if name == "mul":
        for a, b in (ins, ins[::-1]):
            if _lit_equals(b, 1) and _same_aval(a, out):
                return a
    elif name == "safe_mul":          # zero-safe t * c (ops.arithmetic): 1 * c and t * 1
        for a, b in (ins, ins[::-1]):
            if _lit_equals(b, 1) and _same_aval(a, out):
                return a
    elif name in ("add", "add_any"):
        for a, b in (ins, ins[::-1]):
            if _lit_equals(b, 0) and _same_aval(a, out):
                return a
    elif name == "sub" and _lit_equals(ins[1], 0) and _same_aval(ins[0], out):
        return ins[0]
    elif name in ("div", "pow") and _lit_equals(ins[1], 1) and _same_aval(ins[0], out):
        return ins[0]
    elif name in ("reshape", "broadcast_to", "convert_element_type") and \
            _same_aval(ins[0], out):
        return ins[0]
    return None


def _py_scalar(x):
    return type(x) is Lit and type(x.val) in (int, float)


def _fold_scalars(eqn, producer, uses):
    """``c1 * (c2 * w) -> (c1 c2) * w`` and ``-(c * w) -> (-c) * w`` for Python scalars, when the
    inner product is used only there: one pass over the array instead of two."""
    name = eqn.prim.name
    if name not in ("mul", "neg"):
        return eqn
    pairs = [(Lit(-1), eqn.inputs[0])] if name == "neg" else \
        [(eqn.inputs[0], eqn.inputs[1]), (eqn.inputs[1], eqn.inputs[0])]
    for c, v in pairs:
        p = producer.get(v)
        if not (_py_scalar(c) and p is not None and p.prim.name == "mul" and uses.get(v) == 1):
            continue
        for c2, w in ((p.inputs[0], p.inputs[1]), (p.inputs[1], p.inputs[0])):
            if _py_scalar(c2) and _same_aval(w, eqn.outvars[0]):
                new = Eqn(p.prim, [Lit(c.val * c2.val), w], {}, eqn.outvars)
                new.phase = eqn.phase
                return new
    return eqn


def _hashable(v):
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    if type(v) is tuple:
        return tuple(_hashable(e) for e in v)
    if isinstance(v, np.ndarray):
        return ("array", v.dtype.str, v.shape, v.tobytes())
    return v


def _params_key(params):
    try:
        key = tuple((k, _hashable(v)) for k, v in sorted(params.items()))
        hash(key)
        return key
    except TypeError:
        return None


def _is_zero_const(x):
    return (type(x) is Lit and type(x.val) is Zero) or _lit_equals(x, 0)


def _operand_key(x):
    """An equation input as part of a common-subexpression key: a variable by identity, a
    Python or NumPy scalar constant by its type and repr (two literals 4.0 are one; 0.0 and
    -0.0 are not), any other constant by identity."""
    if type(x) is not Lit:
        return (2, id(x))
    v = x.val
    if type(v) in (int, float, complex, bool) or isinstance(v, (np.number, np.bool_)):
        return (0, type(v).__name__, repr(v))
    return (1, id(v))


# the binary primitives whose arguments commute, for common subexpressions (b * a is a * b)
_COMMUTATIVE = {"add", "mul", "add_any", "maximum", "minimum"}
_ELEMENTWISE_BINARY = {"add", "sub", "mul", "div", "pow", "add_any", "maximum", "minimum",
                       "safe_mul", "safe_div"}


def _scalarize(eqn):
    """Uniform array constants in an elementwise op become Python scalars when the other
    operand alone fixes the result's shape and dtype (no broadcasting, no promotion)."""
    if eqn.prim.name not in _ELEMENTWISE_BINARY:
        return eqn
    out = eqn.outvars[0]
    ins = list(eqn.inputs)
    for k in (0, 1):
        c, other = ins[k], ins[1 - k]
        if (_is_plain_const(c) and type(c.val) not in (int, float, bool) and type(other) is Var
                and _same_aval(other, out) and c.aval.dtype == out.aval.dtype
                and out.aval.dtype in (np.float64, np.int64, np.bool_)):
            flat = np.asarray(c.val).ravel()
            if flat.size and np.all(flat == flat[0]):
                ins[k] = Lit(flat[0].item())
    if ins == list(eqn.inputs):
        return eqn
    new = Eqn(eqn.prim, ins, eqn.params, eqn.outvars)
    new.phase = eqn.phase
    return new


def _cond_with_constants(eqn):
    """A cond whose operands include constants, with those constants moved into its branches
    (each branch then folds what it computes from them: jacrev's one-hot seeds)."""
    ins = eqn.inputs
    lits = {i: x.val for i, x in enumerate(ins[1:]) if _is_plain_const(x)}
    branches = tuple(substitute(b, {b.invars[i]: v for i, v in lits.items()})
                     for b in eqn.params["branches"])
    new = Eqn(eqn.prim, [ins[0]] + [x for i, x in enumerate(ins[1:]) if i not in lits],
              dict(eqn.params, branches=branches), eqn.outvars)
    new.phase = eqn.phase
    return new


def optimize(graph, roots=()):
    """A simplified copy of ``graph``; ``roots`` are extra variables to keep alive (guards)."""
    subst = {}

    def look(x):
        while type(x) is Var and x in subst:
            x = subst[x]
        return x

    uses = {}
    for eqn in graph.eqns:
        for x in eqn.inputs:
            if type(x) is Var:
                uses[x] = uses.get(x, 0) + 1
    for v in list(graph.outvars) + list(roots):
        uses[v] = uses.get(v, 0) + 2
    producer = {}
    eqns, seen = [], {}
    for eqn in graph.eqns:
        ins = [look(x) for x in eqn.inputs]
        new = Eqn(eqn.prim, ins, eqn.params, eqn.outvars)
        new.phase = eqn.phase
        if eqn.prim.name == "add_any":
            # a + scatter_add(0, u, idx) = scatter_add(a, u, idx): accumulate in place
            for a, s in (ins, ins[::-1]):
                p = producer.get(s)
                if (p is not None and p.prim.name == "scatter_add" and uses.get(s) == 1
                        and _is_zero_const(p.inputs[0]) and type(a) is Var
                        and _same_aval(a, eqn.outvars[0])):
                    new = Eqn(p.prim, [a, p.inputs[1]], p.params, eqn.outvars)
                    new.phase = eqn.phase
                    break
        if eqn.prim.name == "cond" and any(_is_plain_const(x) for x in ins[1:]):
            new = _cond_with_constants(new)
        new = _fold_scalars(_scalarize(new), producer, uses)
        for o in new.outvars:
            producer[o] = new
        ins = new.inputs
        if not new.prim.multiple_results:
            if all(_is_plain_const(x) for x in ins):
                with np.errstate(all="ignore"):
                    val = new.prim.impl(*[x.val for x in ins], **new.params)
                subst[eqn.outvars[0]] = Lit(val, eqn.outvars[0].aval)
                continue
            simpler = _simplify(new)
            if simpler is not None:
                subst[eqn.outvars[0]] = simpler
                continue
        pkey = _params_key(new.params)
        if pkey is not None:
            operands = tuple(_operand_key(x) for x in ins)
            if new.prim.name in _COMMUTATIVE:       # a * b and b * a: one product
                operands = tuple(sorted(operands))
            key = (new.prim, operands, pkey)
            prev = seen.get(key)
            if prev is not None:
                for o, p in zip(eqn.outvars, prev.outvars):
                    subst[o] = p
                continue
            seen[key] = new
        eqns.append(new)
    outvars = [look(v) for v in graph.outvars]
    live_roots = outvars + [look(r) for r in roots]
    eqns = dead_code_elim(eqns, live_roots)
    return Graph(graph.invars, eqns, outvars), {r: look(r) for r in roots}


# -- emission -----------------------------------------------------------------------------------
_OPERATORS = {"add": "{} + {}", "add_any": "{} + {}", "sub": "{} - {}", "mul": "{} * {}",
              "div": "{} / {}", "pow": "{} ** {}", "neg": "-{}", "lt": "{} < {}",
              "le": "{} <= {}", "gt": "{} > {}", "ge": "{} >= {}", "eq": "{} == {}",
              "ne": "{} != {}"}
# primitives whose result is a new array (so it may be accumulated into in place)
_FRESH = {"add", "add_any", "sub", "mul", "div", "neg", "dot_general", "reduce_sum",
          "scatter_add", "concatenate", "pow", "select"}


# Python's builtins: the generated code calls some bare (min, max, int, range, len)
_BUILTIN_NAMES = frozenset(dir(builtins))


def _names(taken):
    """Temporary names a, b, ..., aa, ab, ...: none that the code calls bare, a keyword or a
    builtin (past 702 temporaries, three letters reach ``int``, ``max`` and ``min``)."""
    n = 0
    while True:
        n += 1
        s, k = "", n
        while k:
            k, r = divmod(k - 1, 26)
            s = chr(97 + r) + s
        if s not in taken and not keyword.iskeyword(s) and s not in RESERVED_NAMES \
                and s not in _BUILTIN_NAMES:
            yield s


# scalar programs run on Python floats: these primitives have exact float counterparts (math
# raises where NumPy would return inf or nan; the compiled function then reruns in NumPy)
_MATH = {np.sin: "sin", np.cos: "cos", np.tan: "tan", np.exp: "exp", np.log: "log",
         np.sqrt: "sqrt", np.tanh: "tanh", np.sinh: "sinh", np.cosh: "cosh", np.arcsin: "asin",
         np.arccos: "acos", np.arctan: "atan", np.arcsinh: "asinh", np.arccosh: "acosh",
         np.arctanh: "atanh", np.expm1: "expm1", np.log1p: "log1p", np.fabs: "fabs",
         np.absolute: "fabs", np.log2: "log2", np.log10: "log10"}
# NumPy's power computes these exponents as x * x, sqrt(x) and 1 / x (so sqrt(-inf) is nan where
# C's pow gives inf), and so do scalar programs; other exponents go to C's pow
_SCALAR_POWERS = {0.5: "math.sqrt({})", -1.0: "1.0 / {}"}
# integer_pow (ops.arithmetic) as the products its implementation computes
_PRODUCTS = {2: "{0} * {0}", 3: "{0} * {0} * {0}", 4: "({0} * {0}) * ({0} * {0})"}
_SCALAR_FORMS = {"pow": "math.pow({}, {})", "div": "{} / {}", "select": "({1} if {0} else {2})",
                 "safe_mul": "(0.0 if {0} == 0 or {1} == 0 else {0} * {1})",
                 "safe_div": "(0.0 if {0} == 0 else {0} / {1})"}


def _scalar_exponent(eqn):
    """The exponent of a ``pow`` as a float, if it is a real scalar constant."""
    y = eqn.inputs[1]
    if not _is_plain_const(y) or np.ndim(y.val) != 0 or np.iscomplexobj(y.val):
        return None
    return float(y.val)


def _square(eqn):
    return eqn.prim.name == "pow" and _scalar_exponent(eqn) == 2.0


def _mentions(eqn, scalar):
    """How many times the emitted expression names each operand (one use can be inlined):
    products of integer_pow, and the zero-safe scalar forms and squares, repeat theirs."""
    if eqn.prim.name == "integer_pow" and eqn.params["n"] in _PRODUCTS:
        return eqn.params["n"]
    if scalar and (eqn.prim.name in ("safe_mul", "safe_div") or _square(eqn)):
        return 2
    return 1


def is_scalar_graph(graph):
    """True if every value of ``graph`` is a 0-d float64 or bool (a scalar program)."""
    def ok(v):
        return v.aval.shape == () and v.aval.dtype in (np.float64, np.bool_)
    return (all(ok(v) for v in graph.invars)
            and all(not e.prim.multiple_results and all(ok(v) for v in e.outvars)
                    for e in graph.eqns))


# names of the generated code's module: argument names must differ from them (and from c0, c1, ...)
RESERVED_NAMES = ("np", "math", "float64", "bool_", "GuardFailure", "_fallback", "_make")


def generate(graph, arg_names, fn_name="compiled", guards=(), scalar=False, bare=False,
             fallback=None):
    """Python source of ``graph``, the namespace it needs and its constants:
    ``(source, namespace, consts)``. The source defines ``_make(<constants>)`` returning the
    function ``fn_name``, which returns the tuple of outputs (``bare=True`` and one output: the
    output itself).

    ``scalar=True`` (for ``is_scalar_graph`` graphs) computes on Python floats and ``math``, with
    each temporary used once written into the expression that uses it (a Python float operation
    costs about as much as storing and loading its result); float outputs are NumPy float64 unless
    every float input is a Python float, as in eager mode. ``fallback``: a function called with
    the same arguments where ``math`` or a Python operator raises (``ArithmeticError``,
    ``ValueError``), whose result is returned instead."""
    taken = set(arg_names)
    # temporaries never take the name of a function the code calls bare (lu, qr, fft, ...):
    # an assignment anywhere in the function would make that name local throughout it
    gen = _names(taken | {e.prim.name for e in graph.eqns})
    names, consts = {}, []
    namespace = dict(zip(RESERVED_NAMES[:-1], (np, math, np.float64, np.bool_, GuardFailure,
                                                fallback)))
    for v, n in zip(graph.invars, arg_names):
        names[v] = n

    def const(val, as_float):
        if type(val) is Zero:
            val = np.zeros(val.aval.shape, val.aval.dtype)
        if as_float and isinstance(val, (np.floating, np.ndarray)) and np.ndim(val) == 0:
            val = float(val)
        if as_float and type(val) is int and abs(val) < 2 ** 53:
            val = float(val)        # an exact float: float-float operations are the fast ones
        if type(val) in (int, bool) or (type(val) is float and np.isfinite(val)):
            return repr(val)
        consts.append(val)
        return f"c{len(consts) - 1}"

    inline, depth = {}, {}      # scalar: single-use temporaries as expressions, and their depth

    def atom(x):
        if type(x) is Var:
            if x in inline:
                return inline.pop(x)
            if x not in names:
                names[x] = next(gen)
            return names[x]
        return const(x.val, scalar)

    def call(eqn):
        prim = eqn.prim
        args = [atom(x) for x in eqn.inputs]
        if prim.name in ("safe_mul", "safe_div") and _is_plain_const(eqn.inputs[0]) and \
                np.all(np.isfinite(eqn.inputs[0].val) & (np.asarray(eqn.inputs[0].val) != 0)):
            # the zero-safe product differs from the plain one only where t == 0
            return _OPERATORS["mul" if prim.name == "safe_mul" else "div"].format(*args)
        if prim.name == "integer_pow" and eqn.params["n"] in _PRODUCTS:
            return _PRODUCTS[eqn.params["n"]].format(args[0])
        if scalar and not eqn.params:
            if prim.name == "pow" and _square(eqn):
                return f"{args[0]} * {args[0]}"
            if prim.name == "pow" and _scalar_exponent(eqn) in _SCALAR_POWERS:
                return _SCALAR_POWERS[_scalar_exponent(eqn)].format(args[0])
            if prim.name in _SCALAR_FORMS:
                return _SCALAR_FORMS[prim.name].format(*args)
            if prim.impl in _MATH:
                return f"math.{_MATH[prim.impl]}({', '.join(args)})"
        if prim.name in ("div", "pow") and all(x.aval.weak_type for x in eqn.inputs) or \
                prim.name == "pow" and eqn.outvars[0].aval.shape == ():
            # both may be Python scalars at run time: Python's / and ** raise where NumPy
            # returns inf or nan, so call the ufunc; and ** of NumPy scalars is C's pow, not
            # the ufunc (whose x**2 is x * x, x**0.5 is sqrt(x), others within an ulp)
            return f"np.{prim.impl.__name__}({', '.join(args)})"
        if prim.name in _OPERATORS and not eqn.params:
            return _OPERATORS[prim.name].format(*args)
        if prim.name == "getitem":
            idx = eqn.params["idx"]
            k = take_axis(idx, len(eqn.inputs[0].aval.shape))
            if k is not None:       # as the implementation: np.take (core/indexing.py)
                return f"np.take({args[0]}, {_param_src(idx[k], consts)}, axis={k})"
            return f"{args[0]}[{_index_src(idx, consts)}]"
        impl = prim.impl
        if isinstance(impl, np.ufunc) and not eqn.params and \
                getattr(np, impl.__name__, None) is impl:
            return f"np.{impl.__name__}({', '.join(args)})"
        fname = f"{prim.name}_impl" if prim.name in taken else prim.name
        namespace[fname] = impl
        kw = []
        for k, v in eqn.params.items():
            kw.append(f"{k}={_param_src(v, consts)}")
        return f"{fname}({', '.join(args + kw)})"

    loop_ctx = _LoopContext(consts, namespace, fn_name)
    guard_at = {}
    for i, (kind, var, val) in enumerate(guards):
        guard_at.setdefault(var, []).append((i, kind, val))

    body, phase = [], None
    has_phases = any(e.phase for e in graph.eqns)
    uses = {}
    for eqn in graph.eqns:
        for x in eqn.inputs:
            if type(x) is Var:
                uses[x] = uses.get(x, 0) + _mentions(eqn, scalar)
    for v in graph.outvars:
        if type(v) is Var:
            uses[v] = uses.get(v, 0) + 1
    for g in guard_at:
        uses[g] = uses.get(g, 0) + 1
    fresh = set()
    if scalar:
        for v in graph.invars:
            if v.aval.dtype == np.float64:
                arg, names[v] = names[v], next(gen)
                body.append(f"{names[v]} = float({arg})")
    elif is_scalar_graph(graph):
        # the NumPy version of a scalar program may be called with Python floats, on which
        # ``/`` and ``**`` raise where NumPy returns inf or nan: compute on NumPy scalars
        for v in graph.invars:
            if v.aval.dtype == np.float64 and v.aval.weak_type:
                arg, names[v] = names[v], next(gen)
                body.append(f"{names[v]} = float64({arg})")
    for v in graph.invars:
        if v in guard_at:
            body.extend(_guard_lines(v, guard_at[v], atom, consts))
    stacks, absorbed = _scalar_stacks(graph.eqns, uses, guard_at)
    for eqn in graph.eqns:
        if eqn.outvars[0] in absorbed:
            continue                # a scalar reshaped to (1,): written into its stack
        if has_phases and eqn.phase != phase:
            body.append(f"# {eqn.phase or 'forward sweep'}")
            phase = eqn.phase
        a = eqn.inputs[0] if eqn.inputs else None
        in_place = (type(a) is Var and a in fresh and uses[a] == 1
                    and a.aval == eqn.outvars[0].aval and a.aval.shape != ())
        out = eqn.outvars[0]
        if scalar and not eqn.prim.multiple_results and uses.get(out) == 1 and \
                out not in guard_at:
            d = 1 + max([depth.get(x, 0) for x in eqn.inputs if x in inline], default=0)
            if d <= _MAX_INLINE_DEPTH:      # deeper: a temporary, within the parser's limits
                depth[out] = d
                inline[out] = f"({call(eqn)})"
                continue
        if eqn.prim.name in _LOOP_EMITTERS:
            body.extend(_LOOP_EMITTERS[eqn.prim.name](eqn, atom, loop_ctx))
            continue
        lhs = ", ".join(atom(v) for v in eqn.outvars)
        if eqn.prim.multiple_results:
            lhs += ","
        if id(eqn) in stacks:
            items = ", ".join(atom(x) for x in stacks[id(eqn)])
            body.append(f"{lhs} = np.array([{items}], np.{out.aval.dtype.name})")
        elif eqn.prim.name == "add_any" and in_place:
            # a fresh temporary used only here: accumulate in place
            body.append(f"{atom(a)} += {atom(eqn.inputs[1])}")
            names[out] = names[a]
        elif eqn.prim.name == "scatter_add" and (in_place or _is_zero_const(a)):
            idx = eqn.params["idx"]
            keys = _scatter_keys(out.aval, eqn.inputs[1].aval, idx)
            # more float64 updates than places (adjoints of gathers that repeat): one bincount
            # pass at the flat places (known here), summing each place's updates in order
            counted = keys is not None and out.aval.size <= keys.size and \
                out.aval.dtype == eqn.inputs[1].aval.dtype == np.float64
            shape = out.aval.shape if keys is None else (out.aval.size,)
            if in_place:
                names[out] = names[a]
            elif not counted:
                dt = out.aval.dtype
                body.append(f"{lhs} = np.zeros({shape!r}, np.{dt.name})")
            target, upd = atom(out), atom(eqn.inputs[1])
            if counted:
                summed = f"np.bincount({_param_src(keys, consts)}, np.ravel({upd}), " \
                    f"minlength={out.aval.size}).reshape({out.aval.shape!r})"
                body.append(f"{target} += {summed}" if in_place else f"{lhs} = {summed}")
            elif keys is not None:
                # np.add.at with a tuple of indices takes NumPy's slow general path; on the
                # flat array at the flat places (known here) it takes the fast one, adding the
                # same values in the same order. A fresh temporary is rebound to its flat
                # form (a view, or a copy where it is not contiguous) and back.
                if in_place:
                    body.append(f"{target} = {target}.reshape(-1)")
                body.append(f"np.add.at({target}, {_param_src(keys, consts)}, np.ravel({upd}))")
                body.append(f"{target} = {target}.reshape({out.aval.shape!r})")
            elif any(isinstance(i, np.ndarray) for i in idx):
                body.append(f"np.add.at({target}, {_param_src(idx, consts)}, {upd})")
            else:
                body.append(f"{target}[{_index_src(idx, consts)}] += {upd}")
        else:
            body.append(f"{lhs} = {call(eqn)}")
        if eqn.prim.name in _FRESH and not eqn.prim.multiple_results:
            fresh.add(out)
        for v in eqn.outvars:
            if v in guard_at:
                body.extend(_guard_lines(v, guard_at[v], atom, consts))
    missing = [v for v in guard_at if v not in names]
    if missing:
        raise AssertionError("a guard tests a value that the generated code never computes")
    outs = [_output(v, graph.invars, arg_names, atom, const, scalar) for v in graph.outvars]
    if bare and len(outs) == 1:
        body.append(f"return {outs[0]}")
    else:
        body.append(f"return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    if fallback is not None:
        body = ["try:"] + [f"    {line}" for line in body] + \
            ["except (ArithmeticError, ValueError):",
             f"    return _fallback({', '.join(arg_names)})"]
    return module_source(len(consts), loop_ctx.prelude, fn_name, arg_names, body), \
        namespace, consts


def module_source(n_consts, prelude, fn_name, arg_names, body):
    """``def _make(c0, ...):`` holding the ``prelude`` lines and ``def fn_name(args):`` with
    the ``body`` lines, returning that function."""
    const_names = ", ".join(f"c{i}" for i in range(n_consts))
    src = [f"def _make({const_names}):"] + [f"    {line}" for line in prelude]
    src += [f"    def {fn_name}({', '.join(arg_names)}):"]
    src += [f"        {line}" for line in body]
    src += [f"    return {fn_name}"]
    return "\n".join(src) + "\n"


_MAX_INLINE_DEPTH = 24


# -- loops: a primitive holding a graph becomes a nested function and a Python loop ----------------
class _LoopContext:
    """What emitting loops adds to a generated module: the bodies' definitions (``prelude``,
    placed inside ``_make``, before the function), their constants and their namespace."""

    def __init__(self, consts, namespace, enclosing):
        self.consts, self.namespace, self.prelude, self.count = consts, namespace, [], 0
        self.enclosing = enclosing      # the function being generated: no body takes its name

    def function(self, graph, kind):
        """Define the compiled ``graph`` in the prelude; returns its name. A scalar body runs on
        Python floats, falling back to its NumPy version where ``math`` raises."""
        name = f"{kind}{self.count}"
        self.count += 1
        if name == self.enclosing:      # a branch inside a branch: the names are local to each
            name = f"{kind}{self.count}"
            self.count += 1
        graph, _ = optimize(graph)
        names = [f"in{i}" for i in range(len(graph.invars))]
        src, ns, consts = generate(graph, names, name)
        if is_scalar_graph(graph):
            fallback = _build(src, ns, consts, name)
            src, ns, consts = generate(graph, names, name, scalar=True, fallback=fallback)
            ns[f"_fallback_{name}"] = fallback
            src = src.replace("_fallback(", f"_fallback_{name}(")
        base = len(self.consts)
        self.consts.extend(consts)
        self.namespace.update((k, v) for k, v in ns.items()
                              if k not in RESERVED_NAMES or k.startswith("_fallback_"))
        self.prelude.extend(src.replace("def _make(", f"def _make_{name}(", 1).splitlines())
        args = ", ".join(f"c{base + i}" for i in range(len(consts)))
        self.prelude.append(f"{name} = _make_{name}({args})")
        return name


def _emit_scan(eqn, atom, ctx, store=None):
    """``store(ys, i, y, aval)``: the lines storing one step's output ``y`` (of ``aval``, the
    stacked array's) as ``ys[i]``; by default one slice assignment."""
    p = eqn.params
    nc, nk, T = p["n_consts"], p["n_carry"], p["length"]
    fn = ctx.function(p["body"], "scan_body")
    ins = [atom(x) for x in eqn.inputs]
    c_in, k_in, x_in = ins[:nc], ins[nc:nc + nk], ins[nc + nk:]
    outs = [atom(v) for v in eqn.outvars]
    k_out, y_out = outs[:nk], outs[nk:]
    i, r = f"_i{ctx.count}", f"_r{ctx.count}"
    lines = [f"# scan: {T} steps{', last to first' if p['reverse'] else ''}"]
    if nk:
        lines.append(f"{', '.join(k_out)}, = {', '.join(k_in)},")
    for y, v in zip(y_out, eqn.outvars[nk:]):
        lines.append(f"{y} = np.empty({v.aval.shape!r}, np.{v.aval.dtype.name})")
    rng = f"range({T - 1}, -1, -1)" if p["reverse"] else f"range({T})"
    lines.append(f"for {i} in {rng}:")
    args = ", ".join(c_in + k_out + [f"{x}[{i}]" for x in x_in])
    lines.append(f"    {r} = {fn}({args})")
    if nk:
        lines.append(f"    {', '.join(k_out)}, = {r}[:{nk}]")
    for j, (y, v) in enumerate(zip(y_out, eqn.outvars[nk:])):
        lines += [f"    {ln}" for ln in (store(y, i, f"{r}[{nk + j}]", v.aval) if store
                                         else [f"{y}[{i}] = {r}[{nk + j}]"])]
    return lines


def _emit_while(eqn, atom, ctx):
    p = eqn.params
    fc, fb = ctx.function(p["cond"], "while_cond"), ctx.function(p["body"], "while_body")
    ins = [atom(x) for x in eqn.inputs]
    cc, bc, k_in = ins[:p["n_cc"]], ins[p["n_cc"]:p["n_cc"] + p["n_bc"]], \
        ins[p["n_cc"] + p["n_bc"]:]
    k = [atom(v) for v in eqn.outvars]
    return [f"{', '.join(k)}, = {', '.join(k_in)},",
            f"while {fc}({', '.join(cc + k)})[0]:",
            f"    {', '.join(k)}, = {fb}({', '.join(bc + k)})"]


def _emit_cond(eqn, atom, ctx):
    branches = [ctx.function(b, "branch") for b in eqn.params["branches"]]
    ins = [atom(x) for x in eqn.inputs]
    outs = [atom(v) for v in eqn.outvars]
    pick = f"min(max(int({ins[0]}), 0), {len(branches) - 1})"
    call = f"({', '.join(branches)},)[{pick}]({', '.join(ins[1:])})"
    return [f"{', '.join(outs)}, = {call}" if outs else call]


def _emit_call(eqn, atom, ctx):
    fn = ctx.function(eqn.params["body"], "checkpointed")
    ins = [atom(x) for x in eqn.inputs]
    outs = [atom(v) for v in eqn.outvars]
    call = f"{fn}({', '.join(ins)})"
    return [f"{', '.join(outs)}, = {call}" if outs else call]


_LOOP_EMITTERS = {"scan": _emit_scan, "while": _emit_while, "cond": _emit_cond,
                  "checkpoint": _emit_call}


def _output(v, invars, arg_names, atom, const, scalar):
    """Source of one output. A scalar program returns an input as it was passed, constants as
    the NumPy version does, and computed values as NumPy scalars unless every float input is a
    Python float (the types the eager transformations return)."""
    if type(v) is not Var:
        # a constant output: a fresh copy per call, so that a caller who updates the result in
        # place does not change what later calls return (as eager mode gives new arrays)
        src = const(v.val, False)
        return f"{src}.copy()" if isinstance(v.val, np.ndarray) or type(v.val) is Zero else src
    if v in invars:
        # an input returned as it is: a copy, never the caller's own array
        name = arg_names[invars.index(v)]
        return name if scalar or v.aval.shape == () else f"{name}.copy()"
    src = atom(v)
    if not scalar or all(u.aval.weak_type for u in invars if u.aval.dtype == np.float64) \
            and any(u.aval.dtype == np.float64 for u in invars):
        return src
    return f"{'float64' if v.aval.dtype == np.float64 else 'bool_'}({src})"


def _scalar_stacks(eqns, uses, keep):
    """Stacks of scalars (``np.stack`` stages each scalar reshaped to (1,), then a
    concatenate along axis 0), where each reshape is read only there: one ``np.array`` call
    instead of n + 1. Returns ``({id(concatenate): its scalars}, the reshape outputs
    absorbed)``; ``keep``: variables that must be computed (guards)."""
    made = {e.outvars[0]: e.inputs[0] for e in eqns
            if e.prim.name == "reshape" and e.params.get("shape") == (1,)
            and e.inputs[0].aval.shape == ()}
    stacks, absorbed = {}, set()
    for e in eqns:
        if e.prim.name == "concatenate" and e.params.get("axis") == 0 and len(e.inputs) > 1 \
                and all(type(x) is Var and x in made and uses.get(x) == 1 and x not in keep
                        for x in e.inputs):
            stacks[id(e)] = [made[x] for x in e.inputs]
            absorbed.update(e.inputs)
    return stacks, absorbed


MAX_SCATTER_KEYS = 1 << 24     # flat places held as a constant for a flat scatter, at most


def _scatter_keys(out_aval, upd_aval, idx):
    """The flat places in the result of ``scatter_add(x, upd, idx=idx)`` that the elements of
    ``upd`` add to, where ``idx`` holds index arrays, is not already one index array into a
    vector (NumPy's fast path) and ``upd`` has the indexed shape; None otherwise."""
    if not any(isinstance(i, np.ndarray) for i in idx) or \
            (len(idx) == 1 and len(out_aval.shape) == 1) or \
            not 0 < upd_aval.size <= MAX_SCATTER_KEYS:
        return None
    places = flat_places(out_aval.shape, idx)
    if places.shape != upd_aval.shape:
        return None
    return places.ravel()


def _guard_lines(var, checks, atom, consts):
    lines = []
    for i, kind, val in checks:
        if kind == "bool":
            lines.append(f"if bool({atom(var)}) is not {val}: raise GuardFailure({i})")
        else:
            consts.append(val)
            lines.append(f"if not np.array_equal({atom(var)}, c{len(consts) - 1}, "
                         f"equal_nan={_equal_nan(val)}): "
                         f"raise GuardFailure({i})")
    return lines


def _equal_nan(val):
    """Whether a value guard counts NaN equal to NaN: yes for inexact values (a trace on an
    input holding a NaN must pass its own guard); NumPy refuses ``equal_nan`` for others."""
    return bool(np.issubdtype(np.asarray(val).dtype, np.inexact))


def _index_src(idx, consts):
    """Source of a static index as it would be written inside brackets: ``1:, ::-1, None``."""
    parts = []
    for i in idx:
        if isinstance(i, slice):
            s = ":".join("" if b is None else repr(int(b)) for b in (i.start, i.stop))
            parts.append(s + ("" if i.step is None else f":{int(i.step)}"))
        elif i is Ellipsis:
            parts.append("...")
        else:
            parts.append(_param_src(i, consts))
    if not parts:
        return "()"
    return ", ".join(parts) + ("," if len(parts) == 1 and isinstance(idx[0], np.ndarray)
                               else "")


def _param_src(v, consts):
    """Source for a parameter value: literals for plain data, a passed-in constant otherwise."""
    if v is None or type(v) in (int, bool, str) or (type(v) is float and np.isfinite(v)):
        return repr(v)
    if isinstance(v, np.dtype):
        return f"np.dtype({v.name!r})"
    if isinstance(v, slice):
        return f"slice({_param_src(v.start, consts)}, {_param_src(v.stop, consts)}, " \
               f"{_param_src(v.step, consts)})"
    if v is Ellipsis:
        return "..."
    if type(v) is tuple:
        inner = ", ".join(_param_src(e, consts) for e in v)
        return f"({inner}{',' if len(v) == 1 else ''})"
    if isinstance(v, np.integer):
        return repr(int(v))
    consts.append(v)
    return f"c{len(consts) - 1}"


def _build(src, namespace, consts, label):
    """Execute generated source and return the function its ``_make`` builds."""
    exec(compile(src, f"<chainrule.jit {label}>", "exec"), namespace)
    return namespace["_make"](*consts)


def compile_graph(graph, arg_names, fn_name="compiled", guards=(), bare=False):
    """Optimize ``graph``, generate its source and compile it: ``(function, source)``. The
    function returns the tuple of outputs (``bare=True`` and one output: the output itself)."""
    roots = [var for _, var, _ in guards]
    graph, where = optimize(graph, roots)
    guards = [(kind, where[var], val) for kind, var, val in guards]
    guards = [(k, v, val) for k, v, val in guards if type(v) is Var]
    src, namespace, consts = generate(graph, arg_names, fn_name, guards, bare=bare)
    general = _build(src, namespace, consts, fn_name)
    if not is_scalar_graph(graph):
        return general, src
    # a scalar program: the same code on Python floats and math, about ten times faster per
    # operation than NumPy scalars; where math raises (overflow, a domain error, a division
    # by zero) NumPy's answer (inf, nan) is the right one, so the NumPy version answers instead
    fast_src, fast_ns, fast_consts = generate(graph, arg_names, fn_name, guards, scalar=True,
                                              bare=bare, fallback=general)
    fast = _build(fast_src, fast_ns, fast_consts, f"{fn_name} (floats)")
    fast.fast_source = fast_src
    return fast, src
