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
import numpy as np

from ..core import Interpreter, Tracer, UndefPrimal, Zero, add_tangents, get_aval, tangent_aval
from ..core.errors import MissingRuleError

__all__ = ["LinearTracer", "LinearRecorder", "TapeInterpreter", "transpose_node"]


class LinearTracer(Tracer):
    """A tangent inside one recorded operation: its aval and, during backward, its cotangent."""
    __slots__ = ("_aval", "ct")

    def __init__(self, interp, aval):
        self._interp = interp
        self._aval = aval
        self.ct = None

    @property
    def aval(self):
        return self._aval


class LinearRecorder(Interpreter):
    """Records ``(prim, params, args, out)`` into ``eqns`` (a list the caller swaps in per
    operation); ``args`` hold LinearTracers for the linear inputs and constants otherwise;
    ``out`` is a LinearTracer, or a list of them for a primitive with several results. Avals
    are interned, so a long tape holds few distinct ones (fewer objects for the garbage
    collector to traverse)."""
    __slots__ = ("eqns", "avals")

    def __init__(self, level):
        super().__init__(level)
        self.eqns = None
        self.avals = {}

    def lift(self, x):
        return x

    def _intern(self, aval):
        key = (aval.shape, aval.dtype, aval.weak_type)
        known = self.avals.get(key)
        if known is None:
            if len(self.avals) > 4096:
                self.avals.clear()
            known = self.avals[key] = aval
        return known

    def process_primitive(self, prim, args, params):
        if prim.partial_eval is not None:
            # a primitive holding a graph (scan, cond, ...): its known part runs now and only
            # the part linear in the tangents is recorded, as linearize does
            return prim.partial_eval(self, args, params)
        return self.stage(prim, args, params)

    def stage(self, prim, args, params):
        """Record ``prim`` applied to ``args`` (some of them this recorder's tangents)."""
        abstract_eval = prim.abstract_eval or prim.rule("abstract_eval")
        out_avals = abstract_eval(*[get_aval(a) for a in args], **params)
        if prim.multiple_results:
            outs = [LinearTracer(self, self._intern(a)) for a in out_avals]
            self.eqns.append((prim, params, args, outs))
            return outs
        out = LinearTracer(self, self._intern(out_avals))
        self.eqns.append((prim, params, args, out))
        return out


class TapeInterpreter(Interpreter):
    """The interpreter of Tensors; tensor.py supplies ``process_primitive`` (``_record``)."""
    __slots__ = ()

    def lift(self, x):
        return x


LINEAR = LinearRecorder(-2)
TAPE = TapeInterpreter(-1)


def placeholder(value):
    """The tangent standing for an input of the operation being recorded."""
    return LinearTracer(LINEAR, LINEAR._intern(tangent_aval(get_aval(value))))


def run_jvp(prim, primals, tangents, params):
    """The primitive's JVP rule on raw ``primals``; returns ``(outs, out_tangents, eqns)`` with
    the tangent computation recorded in ``eqns``."""
    saved, LINEAR.eqns = LINEAR.eqns, []
    try:
        out, out_dot = prim.rule("jvp")(primals, tangents, **params)
        return out, out_dot, LINEAR.eqns
    finally:
        LINEAR.eqns = saved


def transpose_node(placeholders, out_tangents, eqns, cts_out):
    """Cotangents of ``placeholders`` (None where zero) given those of the operation's results
    (``cts_out``, None where zero): the recorded linear map, transposed equation by equation."""
    for lt, c in zip(out_tangents, cts_out):
        if c is not None and type(lt) is LinearTracer:
            lt.ct = c if lt.ct is None else add_tangents(lt.ct, c)
    try:
        for prim, params, args, outs in reversed(eqns):
            if type(outs) is LinearTracer:
                ct = outs.ct
                if ct is None:
                    continue
                outs.ct = None
            else:
                cts = [o.ct for o in outs]
                if all(c is None for c in cts):
                    continue
                for o in outs:
                    o.ct = None
                ct = [Zero(o._aval) if c is None else c for o, c in zip(outs, cts)]
            rule = prim.transpose
            if rule is None:
                raise MissingRuleError(
                    f"primitive '{prim.name}' was used linearly in a derivative but has no "
                    "transpose rule (a JVP rule applied a non-linear operation to a tangent)")
            undef = [UndefPrimal(a._aval) if type(a) is LinearTracer else a for a in args]
            for a, c in zip(args, rule(ct, *undef, **params)):
                if c is None or type(a) is not LinearTracer or type(c) is Zero:
                    continue
                if a._aval.dtype.kind != "c" and getattr(c, "dtype", a._aval.dtype).kind == "c":
                    c = np.real(c)
                a.ct = c if a.ct is None else add_tangents(a.ct, c)
    except BaseException:
        _clear(out_tangents, eqns)      # an error must not leave stale cotangents behind
        raise
    result = []
    for p in placeholders:
        result.append(p.ct)
        p.ct = None
    return result


def _clear(out_tangents, eqns):
    for lt in out_tangents:
        if type(lt) is LinearTracer:
            lt.ct = None
    for _, _, args, outs in eqns:
        for a in args:
            if type(a) is LinearTracer:
                a.ct = None
        for o in (outs,) if type(outs) is LinearTracer else outs:
            o.ct = None
