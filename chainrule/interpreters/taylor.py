"""Taylor mode (jet): truncated Taylor series pushed through a program.

A JetTracer carries a primal value ``x0`` and the normalized Taylor coefficients ``[x1..xK]`` of
a curve ``x(t) = x0 + x1 t + x2 t^2 + ... + xK t^K`` (``None`` for a curve that is constant).
Normalized coefficients (the k-th derivative divided by k!) neither overflow nor lose precision
to factorials at high orders. ``process_primitive`` calls the primitive's Taylor rule::

    taylor(primals, series, **params) -> (primal_out, series_out)

where ``series`` holds one list of K coefficients (or None) per argument. A primitive without a
Taylor rule gets one derived from its JVP rule: ``y'(t) = J_F(x(t)) x'(t)``, so the coefficients
of y' to order K-1 come from running the JVP rule under a jet of order K-1 on the series of x and
of x'; then ``y_k = y'_{k-1} / k``. That costs a polynomial in K for primitives whose derivative
is written with arithmetic, and every rule stays correct to any order.

Most primitives have a rule of their own, written with the truncated series arithmetic of
``ops/_series.py`` (Cauchy products, the recurrences of exp, log, powers, sin/cos, ...), so the
cost of order K is a small polynomial in K. Some of those rules need the series of another
function (``def_unary`` solves ``y' = deriv(x, y) x'`` and needs the series of ``deriv``):
they reach ``jet_flat`` through the core's hook table (``dispatch.hooks["jet"]``), set below,
since the ops import only the core.
"""
from ..core import (Interpreter, PrimalTracer, Zero, call_rule, dispatch, get_aval,
                    instantiate, may_hold_zero, new_interpreter, tangent_aval)
from ..core.primitive import bind


class JetTracer(PrimalTracer):
    """``loose``: a coefficient may hold a structural zero (a seed's zero, a constant mask), so
    the NaN-safe products must treat its zeros as structural (core/zeros.py)."""
    __slots__ = ("series", "loose")

    def __init__(self, interp, primal, series, loose=True):
        self._interp = interp
        self.primal = primal
        self.series = series
        self._aval = None
        self.loose = loose

    def _become(self, new):
        self.primal, self.series, self._aval = new.primal, new.series, new._aval
        self.loose = new.loose


class JetInterpreter(Interpreter):
    __slots__ = ("order",)

    def __init__(self, level, order):
        super().__init__(level)
        self.order = order

    def lift(self, x):
        return JetTracer(self, x, None)

    def process_primitive(self, prim, args, params):
        primals, series = [], []
        loose = constant = by_constant = False
        for x in args:
            if (type(x) is JetTracer and x._interp is self) or self.owns(x):
                primals.append(x.primal)
                series.append(x.series)
                loose = loose or (x.series is not None and x.loose)
            else:
                primals.append(x)
                series.append(None)
                constant = True
                by_constant = by_constant or may_hold_zero(x)
        if all(s is None for s in series) or self.order == 0:
            return bind(prim, *primals, **params)
        rule = prim.taylor or taylor_from_jvp(prim)
        (out, out_series), loose = call_rule(prim, rule, (primals, series), params, loose,
                                             constant, by_constant)
        if prim.multiple_results:
            return [self._wrap(o, s, loose) for o, s in zip(out, out_series)]
        return self._wrap(out, out_series, loose)

    def _wrap(self, primal, series, loose=True):
        if series is None or all(type(c) is Zero for c in series):
            return primal
        return JetTracer(self, primal, series, loose)

    def unpack(self, out):
        if (type(out) is JetTracer and out._interp is self) or self.owns(out):
            return out.primal, out.series
        return out, None


def jet_flat(fun, primals, series, order, loose=None, loose_out=None):
    """Push the normalized series (one list of ``order`` coefficients, or None, per input)
    through ``fun`` (flat list -> flat list): ``(primals_out, series_out)``; a constant output
    has series None. ``loose`` and ``loose_out`` as for ``forward.jvp_flat``, per series."""
    series = [None if s is None or all(type(c) is Zero for c in s) else s for s in series]
    if loose is None:
        loose = [s is not None and any(type(c) is not Zero and may_hold_zero(c) for c in s)
                 for s in series]
    with new_interpreter(JetInterpreter, order) as interp:
        ins = [JetTracer(interp, p, s, lo) if s is not None else p
               for p, s, lo in zip(primals, series, loose)]
        outs = fun(ins)
        pairs = [interp.unpack(o) for o in outs]
        if loose_out is not None:
            loose_out.extend(o.loose if type(o) is JetTracer and o._interp is interp else False
                             for o in outs)
    return [p for p, _ in pairs], [s for _, s in pairs]


dispatch.hooks["jet"] = jet_flat


def zero_series(x, order):
    return [Zero(tangent_aval(get_aval(x)))] * order


def instantiate_series(s, x, order):
    """``s`` as a list of ``order`` coefficients (None: zeros like ``x``)."""
    return zero_series(x, order) if s is None else s


def taylor_from_jvp(prim):
    """The Taylor rule of ``prim`` derived from its JVP rule (see the module docstring)."""
    jvp_rule = prim.rule("jvp")

    def rule(primals, series, **params):
        order = len(next(s for s in series if s is not None))
        # x'(t): coefficient j is (j + 1) x_{j+1}
        tangents0, tangent_series = [], []
        for x, s in zip(primals, series):
            if s is None:
                tangents0.append(Zero(tangent_aval(get_aval(x))))
                tangent_series.append(None)
            else:
                d = [_scale(c, j + 1) for j, c in enumerate(s)]
                rest = d[1:] if order > 1 and any(type(c) is not Zero for c in d[1:]) else None
                d0 = d[0]
                if type(d0) is Zero and rest is not None:
                    d0 = instantiate(d0)
                tangents0.append(d0)
                tangent_series.append(rest)
        low_series = [None if s is None else s[:order - 1] for s in series]

        def jvp_of_flat(ins):
            k = len(primals)
            outs, out_dots = jvp_rule(ins[:k], ins[k:], **params)
            if not prim.multiple_results:
                outs, out_dots = [outs], [out_dots]
            return list(outs) + list(out_dots)

        if order == 1:
            res = jvp_of_flat(list(primals) + tangents0)
            n = len(res) // 2
            outs = res[:n]
            out_series = [[_as_coeff(d, o)] for o, d in zip(outs, res[n:])]
        else:
            # run the JVP rule on curves truncated at order - 1
            res_p, res_s = jet_flat(
                jvp_of_flat, list(primals) + tangents0, low_series + tangent_series,
                order - 1)
            n = len(res_p) // 2
            outs = res_p[:n]
            out_series = []
            for o, y_s, d0, d_s in zip(outs, res_s[:n], res_p[n:], res_s[n:]):
                d = [_as_coeff(d0, o)] + [_as_coeff(c, o) for c in
                                           instantiate_series(d_s, o, order - 1)]
                out_series.append([_scale(c, 1.0 / (k + 1)) for k, c in enumerate(d)])
        if prim.multiple_results:
            return outs, out_series
        return outs[0], out_series[0]
    rule.__name__ = f"{prim.name}_taylor_from_jvp"
    return rule


def _scale(c, factor):
    if type(c) is Zero or factor == 1:
        return c
    return c * factor


def _as_coeff(c, like):
    return Zero(tangent_aval(get_aval(like))) if type(c) is Zero else c
