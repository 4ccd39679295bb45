"""The tape: how Tensor operations are recorded, and how one recorded operation is transposed.

Two interpreters live for the whole session, below every functional transformation:

    TapeInterpreter  (level -1)   Tensors are its tracers. ``process_primitive`` runs the
                                  primitive's JVP rule on the raw values, with the tangents of
                                  the inputs that require grad being LinearTracers
    LinearRecorder   (level -2)   records the operations the JVP rule applies to those tangents:
                                  the linear map of this one operation, with the residuals the
                                  rule computed (``cos(x)`` for ``sin``) as constants

That is linearization (JVP + partial evaluation) done once, as the operation runs: the recorded
equations are stored on the operation's ``Node`` and ``transpose_node`` walks them backwards with
the primitives' transpose rules. No per-operation ``vjp`` call, no graph building, and no rule of
the Tensor layer's own: every derivative is the functional core's.

A functional transformation entered later gets a higher level, so its tracers win ``bind`` and a
Tensor is a constant to it (its operations are still recorded on the tape). That is what the
``create_graph=True`` backward uses (autograd.py): it linearizes an operation again at the input
Tensors, so the residuals are Tensors with history and the gradient can be differentiated again.
"""
from functools import partial

import numpy as np

from ..core import (Interpreter, Tracer, UndefPrimal, Zero, add_tangents, get_aval,
                    infinite_somewhere, loose_after, strict_operands, tangent_aval,
                    transpose_rule)
from ..core.errors import MissingRuleError

__all__ = ["LinearTracer", "LinearRecorder", "TapeInterpreter", "transpose_node",
           "transpose_eqn"]


class LinearTracer(Tracer):
    """A tangent inside one recorded operation: its aval, the UndefPrimal standing for it in
    transpose rules, and its number among the operation's linear values (the operation's
    tangent inputs are 0, 1, ...; the results of the recorded equations follow). ``aval`` is a
    plain attribute (read on every recorded equation); the interpreter is the one recorder
    (``LINEAR``, a class attribute)."""
    __slots__ = ("aval", "_undef", "index")

    def __init__(self, known, index):
        self.aval, self._undef = known
        self.index = index


class LinearRecorder(Interpreter):
    """Records the operations applied to LinearTracers into ``eqns`` (a list the caller swaps in
    per operation), flat, ``4 + n`` entries per equation of ``n`` arguments: ``prim, params,
    lin, out, *targs``. ``lin`` is the number of the linear value at each argument position
    (None for constants), ``out`` the number of the result (for a primitive with several
    results, the tuple of their LinearTracers), ``targs`` the arguments as the transpose rule
    takes them (an UndefPrimal for each linear input, the constants as they are). The
    LinearTracers themselves are not kept: a recorded operation holds one list and tuples of
    ints (which the garbage collector stops tracking), so a long tape gives the collector few
    objects to track. Avals and their UndefPrimals are interned, and so are the results of
    parameterless single-result equations on tangents and scalar constants (``results``: the
    shape rule runs once per signature, not once per operation)."""
    __slots__ = ("eqns", "count", "avals", "scalars", "results")

    def __init__(self, level):
        super().__init__(level)
        self.eqns = None
        self.count = 0
        self.avals = {}
        self.scalars = {}       # type of a NumPy or Python scalar -> its tangent's interned pair
        self.results = {}       # stage's key of an equation -> its result's interned pair

    def lift(self, x):
        return x

    def new(self, aval):
        """A fresh LinearTracer of ``aval`` (a tangent aval), numbered next."""
        known = self.avals.get((aval.shape, aval.dtype, aval.weak_type))
        if known is None:
            known = self._known(aval)
        index = self.count
        self.count = index + 1
        return LinearTracer(known, index)

    def tangent_of(self, value):
        """A fresh LinearTracer for the tangent of the array or NumPy scalar ``value``."""
        known = self.scalars.get(type(value))
        if known is None:
            if type(value) is np.ndarray:
                known = self.avals.get((value.shape, value.dtype, False))
            if known is None:
                aval = tangent_aval(get_aval(value))
                known = self.avals.get((aval.shape, aval.dtype, aval.weak_type)) \
                    or self._known(aval)
                if isinstance(value, np.generic):
                    self.scalars[type(value)] = known
        index = self.count
        self.count = index + 1
        return LinearTracer(known, index)

    def _known(self, aval):
        """The interned ``(aval, UndefPrimal(aval))`` of ``aval``."""
        if len(self.avals) > 4096:
            self.avals.clear()
            self.scalars.clear()
            self.results.clear()
        key = (aval.shape, aval.dtype, aval.weak_type)
        known = self.avals[key] = (aval, UndefPrimal(aval))
        return known

    def process_primitive(self, prim, args, params):
        """Record ``prim`` applied to ``args`` (some of them this recorder's tangents)."""
        if prim.partial_eval is not None:
            # a primitive holding a graph (scan, cond, ...): its known part runs now and only
            # the part linear in the tangents is recorded, as linearize does
            return prim.partial_eval(self, args, params)
        return self.stage(prim, args, params)

    def stage(self, prim, args, params):
        """Record ``prim`` applied to ``args`` as one equation (what ``partial_eval`` rules
        call for the part of a loop or branch that is linear in the tangents). ``key`` names
        a tangent by its interned UndefPrimal and a constant by its type."""
        if len(args) == 2:      # the most common equation (a tangent times or plus a residual)
            a, b = args
            if type(a) is LinearTracer:
                ta = ka = a._undef
                ia = a.index
            else:
                ta, ka, ia = a, type(a), None
            if type(b) is LinearTracer:
                tb = kb = b._undef
                ib = b.index
            else:
                tb, kb, ib = b, type(b), None
            targs, lin, key = (ta, tb), (ia, ib), (prim, ka, kb)
        else:
            targs, lin, key = [], [], [prim]
            for a in args:
                if type(a) is LinearTracer:
                    u = a._undef
                    targs.append(u)
                    lin.append(a.index)
                    key.append(u)
                else:
                    targs.append(a)
                    lin.append(None)
                    key.append(type(a))
            lin, key = tuple(lin), tuple(key)
        if not params and not prim.multiple_results:
            known = self.results.get(key)
            if known is None:
                known = self._result(prim, args, key)
            index = self.count
            self.count = index + 1
            self.eqns.extend((prim, params, lin, index, *targs))
            return LinearTracer(known, index)
        avals = [a.aval if type(a) is LinearTracer else get_aval(a) for a in args]
        out_avals = (prim.abstract_eval or prim.rule("abstract_eval"))(*avals, **params)
        if prim.multiple_results:
            outs = [self.new(a) for a in out_avals]
            self.eqns.extend((prim, params, lin, tuple(outs), *targs))
            return outs
        out = self.new(out_avals)
        self.eqns.extend((prim, params, lin, out.index, *targs))
        return out

    def _result(self, prim, args, key):
        """The interned aval pair of the result of parameterless ``prim`` on ``args``; kept in
        ``results`` under ``key`` when every constant among ``args`` is a scalar (whose aval
        its type decides)."""
        avals = [a.aval if type(a) is LinearTracer else get_aval(a) for a in args]
        out = (prim.abstract_eval or prim.rule("abstract_eval"))(*avals)
        known = self.avals.get((out.shape, out.dtype, out.weak_type)) or self._known(out)
        if all(type(a) is LinearTracer or type(a) in _PY_SCALARS or isinstance(a, np.generic)
               for a in args):
            if len(self.results) > 4096:
                self.results.clear()
            self.results[key] = known
        return known


class TapeInterpreter(Interpreter):
    """The interpreter of Tensors; tensor.py supplies ``process_primitive`` (``_record``)."""
    __slots__ = ()

    def lift(self, x):
        return x


_F64 = np.float64
_PY_SCALARS = frozenset((float, int, bool, complex))
LINEAR = LinearTracer._interp = LinearRecorder(-2)
TAPE = TapeInterpreter(-1)


def run_jvp(prim, primals, diff_pos, params):
    """The primitive's JVP rule on raw ``primals``, with LinearTracers numbered 0, 1, ... as
    the tangents of the arguments at ``diff_pos`` and symbolic zeros for the others; returns
    ``(outs, out_tangents, eqns, count)``: the tangent computation recorded in ``eqns``,
    ``count`` linear values numbered."""
    saved_eqns, saved_count = LINEAR.eqns, LINEAR.count
    LINEAR.eqns = eqns = []
    LINEAR.count = 0
    try:
        if len(diff_pos) == len(primals):
            tangents = [LINEAR.tangent_of(p) for p in primals]
        else:
            tangents = []
            for i, p in enumerate(primals):
                if i in diff_pos:
                    tangents.append(LINEAR.tangent_of(p))
                else:
                    z = _SCALAR_ZEROS.get(type(p))
                    tangents.append(_zero(p) if z is None else z)
        out, out_dot = (prim.jvp or prim.rule("jvp"))(primals, tangents, **params)
        return out, out_dot, eqns, LINEAR.count
    finally:
        LINEAR.eqns, LINEAR.count = saved_eqns, saved_count


_SCALAR_ZEROS = {}


def _zero(p):
    """The symbolic zero tangent of a constant argument (cached for Python scalars)."""
    z = Zero(tangent_aval(get_aval(p)))
    if type(p) in (float, int, bool, complex):
        _SCALAR_ZEROS[type(p)] = z
    return z


def out_index(t):
    """The number of a result tangent in its operation's linear map; None for a zero."""
    return t.index if type(t) is LinearTracer else None


def transpose_node(n_in, count, outs, eqns, cts_out, loose_out, by_constant, mask=None):
    """Cotangents of the operation's ``n_in`` tangent inputs (None where zero) given those of
    its results (``cts_out``, None where zero; ``outs`` their numbers): the recorded linear
    map, transposed equation by equation. Also returns, per input, whether its cotangent may
    hold a structural zero, given the same of the results (``loose_out``) and whether the
    operation scaled by a constant that may hold one (``by_constant``): the NaN-safe products
    are plain where none can be present (interpreters/transpose.py states the rule), and
    where a loose cotangent meets a factor that is infinite somewhere they are told apart
    element by element (``mask(i)``: True where the cotangent of linear value ``i`` is a
    structural zero; tensor/structural.py)."""
    n = len(eqns)
    if count == n_in + 1 and n and n == 4 + len(eqns[2]) and eqns[3] == n_in \
            and outs == (n_in,):
        # one equation from the inputs to the one result (most operations)
        cts, loose = [None] * n_in, [False] * n_in
        if cts_out[0] is not None:
            transpose_eqn(eqns, 0, cts_out[0], loose_out[0], by_constant, cts, loose, mask)
        return cts, loose
    cts = [None] * count
    loose = [False] * count
    for i, c, lo in zip(outs, cts_out, loose_out):
        if c is not None and i is not None:
            cts[i] = c if cts[i] is None else add_tangents(cts[i], c)
            loose[i] = loose[i] or lo
    for k in reversed(eqn_starts(eqns)):
        out = eqns[k + 3]
        if type(out) is int:
            ct = cts[out]
            if ct is None:
                continue
            out_loose = loose[out]
        else:
            ct = [cts[o.index] for o in out]
            if all(c is None for c in ct):
                continue
            ct = [Zero(o.aval) if c is None else c for o, c in zip(out, ct)]
            out_loose = True
        transpose_eqn(eqns, k, ct, out_loose, by_constant, cts, loose, mask)
    return cts[:n_in], loose[:n_in]


def eqn_starts(eqns):
    """The offsets of the equations in a recorded operation's flat list, in order."""
    starts, k, n = [], 0, len(eqns)
    while k < n:
        starts.append(k)
        k += 4 + len(eqns[k + 2])
    return starts


def transpose_eqn(eqns, k, ct, out_loose, by_constant, cts, loose, mask=None):
    """Transpose the recorded equation at ``eqns[k]`` given the cotangent ``ct`` of its result:
    add the cotangents of its linear inputs into ``cts`` (by their numbers). The NaN-safe rule,
    in this one place: ``out_loose`` (the cotangent may hold a structural zero) picks the
    transpose rule, and with ``by_constant`` decides whether the inputs' cotangents may hold
    one (``loose``, by the same numbers); where such a cotangent meets a factor that is
    infinite somewhere, ``mask`` (see ``transpose_node``) tells its zeros apart."""
    prim, lin = eqns[k], eqns[k + 2]
    rule = transpose_rule(prim, out_loose)
    if rule is None:
        raise MissingRuleError(
            f"primitive '{prim.name}' was used linearly in a derivative but has no "
            "transpose rule (a JVP rule applied a non-linear operation to a tangent)")
    spread = loose_after(prim, out_loose, by_constant)
    targs = eqns[k + 4:k + 4 + len(lin)]
    if out_loose and mask is not None and prim.strict_transpose is not None and \
            infinite_somewhere(targs[1], divide=prim.name == "safe_div"):
        s = np.logical_and(mask(eqns[k + 3]), np.equal(ct, 0))
        rule = partial(_masked, prim, s)
    for pos, c in enumerate(rule(ct, *targs, **eqns[k + 1])):
        j = lin[pos]
        if j is None or c is None or type(c) is Zero:
            continue
        if type(c) is not _F64 and getattr(c, "dtype", None) is not None \
                and c.dtype.kind == "c" and targs[pos].aval.dtype.kind != "c":
            c = np.real(c)
        cts[j] = c if cts[j] is None else add_tangents(cts[j], c)
        if spread:
            loose[j] = True


def _masked(prim, s, ct, t, c, **params):
    """A safe product's transpose where its factor is infinite somewhere: the plain product,
    0 at the structural zeros ``s`` of the cotangent (core.zeros.strict_operands)."""
    ct, c = strict_operands(prim.name, ct, c, s)
    return prim.strict_transpose(ct, t, c, **params)
