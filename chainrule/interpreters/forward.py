"""Forward mode: the JVP interpreter.

A JVPTracer carries a primal value and a tangent (the directional derivative along the input
tangents). ``process_primitive`` splits its arguments into primals and tangents, a constant
(anything that is not this interpreter's tracer) getting a symbolic ``Zero`` tangent, and calls
the primitive's JVP rule. The rule is written with chainrule's own operations, so primals and
tangents may themselves be tracers of enclosing interpreters: that is all nested derivatives need.

Two shortcuts keep it cheap: when every input tangent is Zero the rule is skipped and the
primitive is applied to the primals alone; and an output whose tangent is Zero is returned as the
plain primal (a constant to this interpreter), never wrapped.
"""
from ..core import Interpreter, PrimalTracer, Zero, get_aval, new_interpreter, tangent_aval
from ..core.primitive import bind


class JVPTracer(PrimalTracer):
    __slots__ = ("tangent",)

    def __init__(self, interp, primal, tangent):
        self._interp = interp
        self.primal = primal
        self.tangent = tangent
        self._aval = None

    def _become(self, new):
        self.primal, self.tangent, self._aval = new.primal, new.tangent, new._aval


class JVPInterpreter(Interpreter):
    __slots__ = ()

    def lift(self, x):
        return JVPTracer(self, x, Zero(tangent_aval(get_aval(x))))

    def process_primitive(self, prim, args, params):
        primals, tangents = [], []
        nonzero = False
        for x in args:
            if (type(x) is JVPTracer and x._interp is self) or self.owns(x):
                primals.append(x.primal)
                tangents.append(x.tangent)
                nonzero = nonzero or type(x.tangent) is not Zero
            else:
                primals.append(x)
                tangents.append(Zero(tangent_aval(get_aval(x))))
        if not nonzero:
            return bind(prim, *primals, **params)
        out, out_dot = prim.rule("jvp")(primals, tangents, **params)
        if prim.multiple_results:
            return [self._wrap(p, t) for p, t in zip(out, out_dot)]
        return self._wrap(out, out_dot)

    def _wrap(self, primal, tangent):
        if type(tangent) is Zero:
            return primal
        return JVPTracer(self, primal, tangent)

    def unpack(self, out):
        """Split an output into (primal, tangent); a constant has a Zero tangent."""
        if self.owns(out):
            return out.primal, out.tangent
        return out, Zero(tangent_aval(get_aval(out)))


def jvp_flat(fun, primals, tangents):
    """Push ``tangents`` through ``fun`` (a function of a flat list returning a flat list).
    Returns ``(primals_out, tangents_out)``; an output tangent may be a symbolic Zero."""
    with new_interpreter(JVPInterpreter) as interp:
        ins = [JVPTracer(interp, p, t) for p, t in zip(primals, tangents)]
        outs = fun(ins)
        pairs = [interp.unpack(o) for o in outs]
    return [p for p, _ in pairs], [t for _, t in pairs]
