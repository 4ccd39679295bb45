"""Linearize: JVP with unknown tangents, which yields the linear part of a function as a Graph.

Partial evaluation splits a computation into what can be computed now (the known values) and
what must be recorded for later (the unknown ones). Applied to a JVP it splits into the primal
computation, which runs eagerly, and the tangent computation, which is linear in the input
tangents and is recorded. We get that split for free by nesting two interpreters:

    StagingInterpreter (level L)      records every operation on the tangents
    JVPInterpreter     (level L + 1)  runs JVP rules on primals that are plain values

The JVP tracers' tangents are staging tracers. A JVP rule computes its primal output from plain
values (the implementation runs at once) and its tangent with operations on staging tracers,
which the staging interpreter records, closing over the primal values it needs as literals
(the residuals). The result is ``(primal outputs, linear Graph from input tangents to output
tangents)``. Reverse mode transposes that graph (transpose.py); forward mode may evaluate it many
times without re-running the primal computation.
"""
from ..core import new_interpreter, tangent_aval, get_aval
from .forward import JVPInterpreter, JVPTracer
from .staging import StagingInterpreter


def linearize_flat(fun, primals):
    """``fun``: flat list -> flat list. Returns ``(primals_out, graph)`` where ``graph`` maps
    input tangents to output tangents linearly (outputs that do not depend on the inputs are
    literal Zeros)."""
    with new_interpreter(StagingInterpreter, partial=True) as stage, \
            new_interpreter(JVPInterpreter) as jvp:
        tangents_in = [stage.new_input(tangent_aval(get_aval(p))) for p in primals]
        outs = fun([JVPTracer(jvp, p, t) for p, t in zip(primals, tangents_in)])
        pairs = [jvp.unpack(o) for o in outs]
        graph = stage.build(tangents_in, [t for _, t in pairs])
    return [p for p, _ in pairs], graph
