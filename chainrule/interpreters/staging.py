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
    __slots__ = ("var",)

    def __init__(self, interp, var):
        self._interp = interp
        self.var = var

    @property
    def aval(self):
        return self.var.aval


class StagingInterpreter(Interpreter):
    __slots__ = ("eqns",)

    def __init__(self, level):
        super().__init__(level)
        self.eqns = []

    def new_input(self, aval):
        return StagingTracer(self, Var(aval))

    def lift(self, x):
        # constants are not turned into tracers: they enter equations as literals
        return x

    def _atom(self, x):
        return x.var if self.owns(x) else Lit(x)

    def process_primitive(self, prim, args, params):
        inputs = [self._atom(x) for x in args]
        out_avals = prim.rule("abstract_eval")(*[a.aval for a in inputs], **params)
        if prim.multiple_results:
            outvars = [Var(a) for a in out_avals]
        else:
            outvars = [Var(out_avals)]
        self.eqns.append(Eqn(prim, inputs, params, outvars))
        outs = [StagingTracer(self, v) for v in outvars]
        return outs if prim.multiple_results else outs[0]

    def build(self, in_tracers, outs):
        """The Graph from ``in_tracers`` to ``outs`` (tracers, constants or Zeros), with the
        equations nothing depends on removed."""
        invars = [t.var for t in in_tracers]
        outvars = [self._atom(o) for o in outs]
        return Graph(invars, dead_code_elim(self.eqns, outvars), outvars)


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
