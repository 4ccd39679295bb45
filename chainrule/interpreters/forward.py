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
from ..core import (Interpreter, PrimalTracer, Zero, call_rule, get_aval, may_hold_zero,
                    new_interpreter, tangent_aval)
from ..core.primitive import bind


class JVPTracer(PrimalTracer):
    """``loose``: the tangent may hold a structural zero (a seed's zero, a constant branch or
    mask), so the NaN-safe products must treat its zeros as structural (core.zeros)."""
    __slots__ = ("tangent", "loose")

    def __init__(self, interp, primal, tangent, loose=True):
        self._interp = interp
        self.primal = primal
        self.tangent = tangent
        self._aval = None
        self.loose = loose

    def _become(self, new):
        self.primal, self.tangent, self._aval = new.primal, new.tangent, new._aval
        self.loose = new.loose


class JVPInterpreter(Interpreter):
    __slots__ = ()

    def lift(self, x):
        return JVPTracer(self, x, Zero(tangent_aval(get_aval(x))))

    def process_primitive(self, prim, args, params):
        primals, tangents = [], []
        nonzero = loose = False
        constant = by_constant = False
        for x in args:
            if (type(x) is JVPTracer and x._interp is self) or self.owns(x):
                primals.append(x.primal)
                tangents.append(x.tangent)
                if type(x.tangent) is not Zero:
                    nonzero = True
                    loose = loose or x.loose
            else:
                primals.append(x)
                tangents.append(Zero(tangent_aval(get_aval(x))))
                constant = True
                by_constant = by_constant or may_hold_zero(x)
        if not nonzero:
            return bind(prim, *primals, **params)
        # the NaN-safe products: strict while no input tangent holds a structural zero, and
        # equations scaled by a constant that may hold one are marked (core/zeros.py)
        (out, out_dot), loose = call_rule(prim, prim.rule("jvp"), (primals, tangents), params,
                                          loose, constant, by_constant)
        if prim.multiple_results:
            return [self._wrap(p, t, loose) for p, t in zip(out, out_dot)]
        return self._wrap(out, out_dot, loose)

    def _wrap(self, primal, tangent, loose=True):
        if type(tangent) is Zero:
            return primal
        return JVPTracer(self, primal, tangent, loose)

    def unpack(self, out):
        """Split an output into (primal, tangent); a constant has a Zero tangent."""
        if self.owns(out):
            return out.primal, out.tangent
        return out, Zero(tangent_aval(get_aval(out)))


def jvp_flat(fun, primals, tangents, loose=None, loose_out=None):
    """Push ``tangents`` through ``fun`` (a function of a flat list returning a flat list).
    Returns ``(primals_out, tangents_out)``; an output tangent may be a symbolic Zero.
    ``loose``: per input, whether its tangent may hold a structural zero (core/zeros.py;
    default: where it may hold a zero at all); the same of the outputs is appended to the list
    ``loose_out`` where one is given."""
    if loose is None:
        loose = [may_hold_zero(t) for t in tangents]
    with new_interpreter(JVPInterpreter) as interp:
        ins = [JVPTracer(interp, p, t, lo) for p, t, lo in zip(primals, tangents, loose)]
        outs = fun(ins)
        pairs = [interp.unpack(o) for o in outs]
        if loose_out is not None:
            loose_out.extend(o.loose if type(o) is JVPTracer and o._interp is interp else False
                             for o in outs)
    return [p for p, _ in pairs], [t for _, t in pairs]
