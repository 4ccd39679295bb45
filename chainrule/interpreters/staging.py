"""Staging: recording primitives into a Graph instead of running them.

A StagingTracer stands for a graph variable whose value is unknown. ``process_primitive`` asks
the primitive's shape rule for the output avals, records one equation and returns tracers for its
outputs. Anything that is not this interpreter's tracer (a NumPy array, a Python scalar, a tracer
of an enclosing transformation) enters the graph as a literal constant (``Lit``).

This is the one graph builder of chainrule: ``make_graph`` stages a whole function; linearize
(partial_eval.py) stages only the tangent half of a JVP, which yields the linear graph that
reverse mode transposes.
"""
from ..core import Eqn, Graph, Interpreter, Lit, Tracer, Var, new_interpreter
from ..core.tree import tree_flatten, tree_unflatten
from ..core.avals import get_aval


class StagingTracer(Tracer):
    __slots__ = ("var", "val")

    def __init__(self, interp, var, val=None):
        self._interp = interp
        self.var = var
        self.val = val          # the concrete value, when staging on example inputs (jit)

    @property
    def aval(self):
        return self.var.aval

    def concrete_value(self):
        """The example value, recorded as a guard: the staged program is valid only for inputs
        that give the same value here. Without an example value: ConcretizationError."""
        if self.val is None:
            return super().concrete_value()
        self._interp.guards.append(("equal", self.var, self.val))
        return self.val

    def __bool__(self):
        if self.val is None:
            return super().__bool__()
        b = bool(self.val)
        self._interp.guards.append(("bool", self.var, b))
        return b

    def __repr__(self):
        shown = "" if self.val is None else f", value={self.val!r}"
        return f"StagingTracer({self.aval}{shown})"

    def _become(self, new):
        self.var, self.val = new.var, new.val


class StagingInterpreter(Interpreter):
    """Records equations. With ``concrete=True`` (jit) it also computes every value on the
    example inputs, so Python control flow on staged values works; each such use is recorded
    in ``guards`` as ``(kind, var, value)`` for the compiled code to re-check.

    With ``partial=True`` (linearize) the arguments that are not this interpreter's tracers
    are *known* values: a primitive with a ``partial_eval`` rule (one that holds a graph, such
    as ``scan``) then computes its known outputs at once and stages only the rest, as
    ``linearize`` needs its primal outputs as values."""
    __slots__ = ("eqns", "concrete", "guards", "input_vars", "partial")

    def __init__(self, level, concrete=False, partial=False):
        super().__init__(level)
        self.eqns = []
        self.concrete = concrete
        self.partial = partial
        self.guards = []
        self.input_vars = {}    # id(input tracer) -> its variable (item assignment rebinds it)

    def new_input(self, aval, val=None):
        t = StagingTracer(self, Var(aval), val)
        self.input_vars[id(t)] = t.var
        return t

    def lift(self, x):
        # constants are not turned into tracers: they enter equations as literals
        return x

    def _atom(self, x):
        return x.var if self.owns(x) else Lit(x)

    def process_primitive(self, prim, args, params):
        if self.partial and prim.partial_eval is not None:
            return prim.partial_eval(self, args, params)
        return self.stage(prim, args, params)

    def stage(self, prim, args, params):
        """Record ``prim`` applied to ``args`` as one equation; its result tracers."""
        inputs = [x.var if type(x) is StagingTracer and x._interp is self else self._atom(x)
                  for x in args]
        abstract_eval = prim.abstract_eval or prim.rule("abstract_eval")
        out_avals = abstract_eval(*[a.aval for a in inputs], **params)
        if not prim.multiple_results:
            var = Var(out_avals)
            self.eqns.append(Eqn(prim, inputs, params, [var]))
            val = self._example_values(prim, args, params, 1)[0] if self.concrete else None
            return StagingTracer(self, var, val)
        outvars = [Var(a) for a in out_avals]
        self.eqns.append(Eqn(prim, inputs, params, outvars))
        vals = self._example_values(prim, args, params, len(outvars))
        return [StagingTracer(self, v, val) for v, val in zip(outvars, vals)]

    def _example_values(self, prim, args, params, n_out):
        if not self.concrete:
            return [None] * n_out
        vals = []
        for x in args:
            if isinstance(x, Tracer):
                x = x.val if type(x) is StagingTracer and x._interp is self else None
                if x is None:       # a value of an enclosing transformation: unknown here
                    return [None] * n_out
            vals.append(x)
        out = prim.impl(*vals, **params)
        return list(out) if prim.multiple_results else [out]

    def build(self, in_tracers, outs, roots=()):
        """The Graph from ``in_tracers`` to ``outs`` (tracers, constants or Zeros), with the
        equations that neither the outputs nor the variables ``roots`` depend on removed."""
        invars = [self.input_vars.get(id(t), t.var) for t in in_tracers]
        outvars = [self._atom(o) for o in outs]
        return Graph(invars, dead_code_elim(self.eqns, outvars + list(roots)), outvars)


def dead_code_elim(eqns, outvars):
    """Keep only the equations whose results reach ``outvars``."""
    live = {v for v in outvars if type(v) is Var}
    kept = []
    for eqn in reversed(eqns):
        if any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(x for x in eqn.inputs if type(x) is Var)
    kept.reverse()
    return kept


def make_graph_flat(fun, in_avals):
    """Stage ``fun`` (flat list -> flat list) on inputs of the given avals into a Graph."""
    with new_interpreter(StagingInterpreter) as interp:
        ins = [interp.new_input(a) for a in in_avals]
        outs = fun(ins)
        graph = interp.build(ins, outs)
    return graph.typecheck()


def make_graph(fun):
    """``make_graph(f)(*args)`` returns the typechecked Graph of ``f`` at the avals of ``args``
    (arrays or pytrees of arrays). Printing the graph gives a readable listing."""
    def staged(*args):
        leaves, treedef = tree_flatten(args)
        avals = [get_aval(x).strip_weak() for x in leaves]

        def flat(ins):
            out = fun(*tree_unflatten(treedef, ins))
            out_leaves, _ = tree_flatten(out)
            return out_leaves
        return make_graph_flat(flat, avals)
    return staged
