"""Transposition of a linear Graph: the backward pass of reverse mode.

A linear graph computes tangents_out = J tangents_in. Its transpose computes
cotangents_in = J^T cotangents_out by walking the equations backwards and applying each linear
primitive's transpose rule. A rule is called as ``rule(ct, *args, **params)`` where every argument
that is a graph variable (a linear input) is passed as ``UndefPrimal(aval)`` and every literal is
passed as its value; it returns one cotangent per argument, ``None`` for the non-linear ones.

Cotangents are accumulated per variable with ``add_tangents``; a variable no output depends on
keeps a symbolic Zero, and an equation whose output cotangents are all Zero is skipped. Rules
are written with chainrule's operations, so the backward pass itself can be differentiated (its
literals and cotangents may be tracers of enclosing transformations).

NaN-safe products. A derivative factor that is infinite at a singular point (sqrt'(0)) is
applied with a zero-safe product (ops.arithmetic.safe_mul: 0 * inf = 0). That is right where
the cotangent's zero is structural: the branch ``np.where`` did not take, an element a slice or
gather did not read, a zero of a constant coefficient (a 0/1 mask), a zero of the cotangent
seed (an output not asked for). It is wrong where the zero is an outer derivative vanishing at
this very point (``np.cbrt(x) ** 3`` at 0: 0 * inf there is the indeterminate form of a
derivative that is 1). The pass tracks, per variable, whether its cotangent may hold a
structural zero ("loose"): seeds with a zero (or not known here), and every input of an
equation that is loose or that creates zeros (a primitive without "no-new-zeros" in its
``zero_safety``, or an equation marked ``by_constant``). A safe product whose cotangent is not
loose uses the primitive's ``strict_transpose``: plain NumPy arithmetic, NaN at 0 * inf, as JAX
and PyTorch give.
"""
import numpy as np

from ..core import (MissingRuleError, UndefPrimal, Var, Zero, add_tangents, decide_when_run,
                    graph_phase, loose_after, may_hold_zero, reset_incoming_loose,
                    set_incoming_loose, transpose_rule)
from .structural import (StructuralZeros, decided_pass, masked_safe_transpose, staged_factors,
                         undecided_products)
from .structural_held import has_safe_products


def backward_pass(graph, cts_out, loose_out=None):
    """Cotangents of ``graph.invars`` given cotangents of ``graph.outvars`` (Zero allowed).
    ``loose_out``: per output, whether its cotangent may hold a structural zero (default: where
    it may hold a zero at all); ``backward_pass_flags`` also returns the same of the inputs."""
    return backward_pass_flags(graph, cts_out, loose_out)[0]


def backward_pass_flags(graph, cts_out, loose_out=None):
    """``(cotangents of graph.invars, per input whether its cotangent may hold a structural
    zero)``: what a loop body's transposition needs to carry the flags across its steps."""
    with graph_phase("adjoint sweep"):
        return _backward_pass(graph, cts_out, loose_out)


def _backward_pass(graph, cts_out, loose_out):
    if loose_out is None:
        loose_out = [type(ct) is not Zero and may_hold_zero(ct) for ct in cts_out]
    if has_safe_products(graph) and decide_when_run() and staged_factors(graph):
        products = undecided_products(graph, cts_out, loose_out)
        if products:        # factors known only when the staged program runs: one decision
            flags = []

            def run(cts, masked):
                cts_in, flags[:] = _pass(graph, cts, loose_out, masked)
                return cts_in
            return decided_pass(products, list(cts_out), run), flags
    return _pass(graph, cts_out, loose_out, False)


def _pass(graph, cts_out, loose_out, staged_masked):
    ct_env = {}
    loose = set()           # variables whose cotangent may hold a structural zero
    for v, ct, lo in zip(graph.outvars, cts_out, loose_out):
        if type(v) is Var and type(ct) is not Zero:
            ct_env[v] = add_tangents(ct_env[v], ct) if v in ct_env else ct
            if lo:
                loose.add(v)
    # per-element structural zeros, worked out only where a safe product meets an infinite
    # factor with a loose cotangent (structural.py)
    zeros = StructuralZeros(graph, cts_out, loose) if has_safe_products(graph) else None
    pop = ct_env.pop
    for eqn in reversed(graph.eqns):
        prim = eqn.prim
        incoming = None
        if prim.multiple_results:
            cts = [pop(v, None) for v in eqn.outvars]
            if all(c is None for c in cts):
                continue
            ct = [Zero(v.aval) if c is None else c for v, c in zip(eqn.outvars, cts)]
            incoming = tuple(v in loose for v in eqn.outvars)
            out_loose = True in incoming
        else:
            ct = pop(eqn.outvars[0], None)
            if ct is None:
                continue
            out_loose = eqn.outvars[0] in loose
        args = [UndefPrimal(x.aval) if type(x) is Var else x.val for x in eqn.inputs]
        if loose_after(prim, out_loose, eqn.by_constant):
            loose.update(x for x in eqn.inputs if type(x) is Var)
        rule = transpose_rule(prim, out_loose)
        if out_loose and zeros is not None and prim.strict_transpose is not None:
            cts_in = masked_safe_transpose(eqn, ct, args, zeros, rule, staged_masked)
        elif rule is None:
            raise MissingRuleError(
                f"primitive '{prim.name}' was used linearly in a derivative but has no "
                "transpose rule (a JVP rule applied a non-linear operation to a tangent)")
        elif incoming is None:
            cts_in = rule(ct, *args, **eqn.params)
        else:                   # a loop's rule passes its results' flags into its body
            token = set_incoming_loose(incoming)
            try:
                cts_in = rule(ct, *args, **eqn.params)
            finally:
                reset_incoming_loose(token)
        for i, (x, c) in enumerate(zip(eqn.inputs, cts_in)):
            if c is None or type(x) is not Var or type(c) is Zero:
                continue
            if x.aval.dtype.kind != "c" and getattr(c, "dtype", x.aval.dtype).kind == "c":
                c = np.real(c)      # a real input's cotangent: the real pairing Re(ct . t)
            if zeros is not None:
                zeros.record(eqn, i, c)
            prev = ct_env.get(x)
            ct_env[x] = c if prev is None else add_tangents(prev, c)
    return [ct_env.get(v, Zero(v.aval)) for v in graph.invars], [v in loose for v in graph.invars]

