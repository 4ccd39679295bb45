"""Reverse mode, derived: vjp = linearize, then transpose the linear graph.

No primitive has a reverse-mode rule of its own. ``linearize_flat`` runs the primal computation
and records the tangent computation as a linear Graph; the returned ``vjp`` function runs that
graph backwards (``backward_pass``). So reverse mode can never disagree with forward mode, and
only linear primitives need a transpose rule.
"""
from .partial_eval import linearize_flat
from .transpose import backward_pass


def vjp_flat(fun, primals):
    """``fun``: flat list -> flat list. Returns ``(primals_out, vjp)``; ``vjp(cts_out)`` gives the
    cotangents of the inputs (Zero where an input does not reach any output)."""
    primals_out, graph = linearize_flat(fun, primals)

    def vjp(cts_out):
        return backward_pass(graph, cts_out)
    return primals_out, vjp
