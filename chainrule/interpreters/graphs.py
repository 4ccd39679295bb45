"""Transformations of staged graphs: what primitives that hold a graph (loops, branches,
checkpoints, user rules) need to transform their bodies without unrolling them.

A primitive such as ``scan`` keeps its body as a *closed* Graph in its parameters: every value
the body uses is either one of its inputs or a plain constant. ``close`` stages a Python function
into such a graph; values of enclosing transformations that the function closes over (a JVP
tracer of the parameters being differentiated, a staging tracer of an enclosing ``jit``) become
extra leading inputs, returned as ``consts`` for the caller to pass to ``bind`` explicitly. That
is closure conversion: because the tracers are now arguments of the primitive, ``bind`` hands
it to the right interpreter, and each interpreter's rule sees every value that carries a
derivative.

The other functions build a new closed graph from an old one by running the old one
(``eval_graph``) under an interpreter while staging the result, so each is a few lines:

    jvp_graph(g, nonzeros)              primals + tangents -> outputs + output tangents
    partial_eval_graph(g, unknowns)     split into a known graph (also returning residuals)
                                        and an unknown graph (residuals + unknowns -> rest)
    transpose_graph(g, linear)          cotangents of the linear inputs, as a graph
    batch_graph(g, batched, size)       the graph on a batch (vmap of the body)
    jet_graph(g, has_series, order)     Taylor propagation through the body

The ops layer reaches them through the core's hook table (``dispatch.hooks["graphs"]``), since
ops import only the core.
"""
from types import SimpleNamespace

from ..core import (Graph, Lit, Tracer, Var, Zero, dispatch, eval_graph, instantiate,
                    new_interpreter, reset_stage_decisions, stage_decisions, substitute,
                    tangent_aval, with_inputs)
from .codegen import compile_graph
from .batching import BatchInterpreter, BatchTracer, SEED, move_to_front
from .forward import jvp_flat
from .staging import StagingInterpreter, dead_code_elim
from .taylor import jet_flat
from .structural_held import holds_safe_products
from .transpose import backward_pass_flags


def close(fun, in_avals):
    """Stage ``fun`` (flat list -> flat list) on inputs of ``in_avals``: ``(graph, consts)``.
    ``graph.invars`` are ``len(consts)`` variables for the hoisted tracers, then the inputs."""
    token = stage_decisions(False)      # a body: its zero-safe products stay (core/zeros.py)
    try:
        with new_interpreter(StagingInterpreter) as stage:
            ins = [stage.new_input(a) for a in in_avals]
            outs = fun(ins)
            graph = stage.build(ins, outs)
    finally:
        reset_stage_decisions(token)
    return hoist(graph)


def hoist(graph):
    """Turn the literals of ``graph`` that are tracers (of enclosing transformations) into
    leading input variables: ``(closed graph, their values)``."""
    consts, var_of = [], {}

    def conv(x):
        if type(x) is Lit and isinstance(x.val, Tracer):
            v = var_of.get(id(x.val))
            if v is None:
                v = var_of[id(x.val)] = Var(x.aval.strip_weak() if hasattr(x.aval, "strip_weak")
                                            else x.aval)
                consts.append(x.val)
            return v
        return x
    eqns = []
    for e in graph.eqns:
        ins = [conv(x) for x in e.inputs]
        if any(a is not b for a, b in zip(ins, e.inputs)):
            e = with_inputs(e, ins)
        eqns.append(e)
    outvars = [conv(x) for x in graph.outvars]
    const_vars = [var_of[id(c)] for c in consts]
    return Graph(const_vars + list(graph.invars), eqns, outvars).typecheck(), consts


def _avals(vs):
    return [v.aval for v in vs]


def _stage(fun, in_avals):
    """``close`` for functions of graphs that must stay closed: a tracer of an enclosing
    transformation cannot appear (the graph being transformed was closed already)."""
    graph, consts = close(fun, in_avals)
    if consts:      # only possible when a rule closed over a foreign tracer: a bug, not user's
        raise AssertionError("a transformed closed graph picked up an outer tracer")
    return graph


def jvp_graph(graph, nonzeros, instantiate_out=False, loose=None):
    """The JVP of a closed graph. ``nonzeros[i]``: input i has a tangent. Returns
    ``(jvp_graph, out_nonzeros)``: inputs are the primals then the tangents of the nonzero
    inputs; outputs the primal outputs then the tangents of the outputs in ``out_nonzeros``
    (``instantiate_out``: a bool, or one per output, forcing a tangent, zeros if need be).
    ``loose``: per input, whether its tangent may hold a structural zero (the NaN-safe rule;
    default: every one may); the same of the outputs is left in ``cache["loose_out"]``."""
    n = len(graph.invars)
    inst = [instantiate_out] * len(graph.outvars) if isinstance(instantiate_out, bool) \
        else list(instantiate_out)
    t_avals = [tangent_aval(v.aval) for v, nz in zip(graph.invars, nonzeros) if nz]
    box, loose_out = [], []

    def fun(ins):
        primals, it = ins[:n], iter(ins[n:])
        tangents = [next(it) if nz else Zero(tangent_aval(v.aval))
                    for v, nz in zip(graph.invars, nonzeros)]
        flags = None if loose is None else [lo and type(t) is not Zero
                                            for lo, t in zip(loose, tangents)]
        outs, out_dots = jvp_flat(lambda a: eval_graph(graph, a), primals, tangents, flags,
                                  loose_out)
        nz_out = [type(t) is not Zero or i for t, i in zip(out_dots, inst)]
        box.append(nz_out)
        return list(outs) + [instantiate(t) for t, nz in zip(out_dots, nz_out) if nz]
    g = _stage(fun, _avals(graph.invars) + t_avals)
    g.cache["loose_out"] = tuple(loose_out)
    return g, box[0]


def partial_eval_graph(graph, unknowns, force_unknown=False):
    """Split a closed graph by which inputs are known. ``unknowns[i]``: input i is unknown.
    Returns ``(known, unknown, out_unknowns, n_res)``:

        known:   known inputs -> known outputs, then n_res residuals
        unknown: residuals, then unknown inputs -> unknown outputs

    It runs the graph with the known inputs staged into one graph and the unknown ones into
    another, exactly as ``linearize`` splits a JVP: an equation with an unknown input is
    recorded in the unknown graph, whose literals that are values of the known graph become
    its residuals; a primitive holding a graph (a loop inside the loop) splits itself by its
    ``partial_eval`` rule. ``force_unknown`` (a bool, or one per output) makes the unknown
    graph return an output even where it is known (a loop carry that is unknown elsewhere)."""
    with new_interpreter(StagingInterpreter) as known_st, \
            new_interpreter(StagingInterpreter, partial=True) as unknown_st:
        ins, k_ins, u_ins = [], [], []
        for v, u in zip(graph.invars, unknowns):
            t = (unknown_st if u else known_st).new_input(v.aval)
            (u_ins if u else k_ins).append(t)
            ins.append(t)
        outs = eval_graph(graph, ins)
        force = [force_unknown] * len(outs) if isinstance(force_unknown, bool) \
            else force_unknown
        out_unknowns = [unknown_st.owns(o) or f for o, f in zip(outs, force)]
        unknown = unknown_st.build(u_ins, [o for o, u in zip(outs, out_unknowns) if u])
        unknown, residuals = hoist(unknown)
        known = known_st.build(k_ins, [o for o, u in zip(outs, out_unknowns) if not u]
                               + residuals)
    return known.typecheck(), unknown, out_unknowns, len(residuals)


def _body_backward_pass(graph, cts, loose_out):
    """``backward_pass_flags`` of a body being staged: where a cotangent flagged as holding
    structural zeros enters it, its zeros are told apart from the body's own (the incoming
    ones count as structural), deciding when the staged program runs; else the body keeps its
    zero-safe products (graphs.close's default)."""
    token = stage_decisions(loose_out is not None and True in loose_out)
    try:
        return backward_pass_flags(graph, cts, loose_out)
    finally:
        reset_stage_decisions(token)


def transpose_graph(graph, linear, loose_out=None):
    """The transpose of a graph that is linear in the inputs marked ``linear`` (the others are
    constants of it, e.g. residuals). Returns a closed graph from (the non-linear inputs, then
    the cotangents of every output) to the cotangents of the linear inputs (zeros where none
    flows). ``loose_out``: per output, whether its cotangent may hold a structural zero (the
    NaN-safe rule; default: every one may); the same of the linear inputs is left in the
    result's ``cache["loose_in"]``."""
    nonlin = [v for v, lin in zip(graph.invars, linear) if not lin]
    k = len(nonlin)
    flags = []

    def fun(ins):
        const_vals, cts = ins[:k], ins[k:]
        g = substitute(graph, dict(zip(nonlin, const_vals)))
        cts_in, flags[:] = _body_backward_pass(g, cts, loose_out)
        return [instantiate(c) for c in cts_in]
    out_avals = [tangent_aval(v.aval) for v in graph.outvars]
    result = _stage(fun, _avals(nonlin) + out_avals)
    result.cache["loose_in"] = tuple(flags)
    return result


def batch_graph(graph, batched, size, force_out=False):
    """The graph on a batch of ``size`` examples. ``batched[i]``: input i carries a batch axis
    at 0. Returns ``(batched_graph, out_batched)``; outputs are batched at axis 0 where
    ``out_batched`` (``force_out``: a bool, or one per output, forcing a batch axis)."""
    force = [force_out] * len(graph.outvars) if isinstance(force_out, bool) else list(force_out)
    in_avals = [v.aval.update(shape=(size,) + v.aval.shape) if b else v.aval
                for v, b in zip(graph.invars, batched)]
    box = []

    def fun(ins):
        with new_interpreter(BatchInterpreter, size) as interp:
            tr = [BatchTracer(interp, x, 0) if b else x for x, b in zip(ins, batched)]
            outs = eval_graph(graph, tr)
            res, flags = [], []
            for o, f in zip(outs, force):
                if (type(o) is BatchTracer and o._interp is interp) or interp.owns(o):
                    val, bdim = o.val, o.bdim
                    if bdim is SEED:
                        val, bdim = val.dense(size), 0
                    res.append(move_to_front(val, bdim))
                    flags.append(True)
                elif f:
                    res.append(interp.unpack(o, 0))
                    flags.append(True)
                else:
                    res.append(o)
                    flags.append(False)
        box.append(flags)
        return res
    return _stage(fun, in_avals), box[0]


def jet_graph(graph, has_series, order, force_out=False, loose=None):
    """Taylor propagation through a closed graph. ``has_series[i]``: input i carries ``order``
    normalized coefficients. Returns ``(graph, out_has_series)``: inputs are the primals then
    the coefficients of the inputs with series (input-major); outputs the primal outputs then
    the coefficients of the outputs with series (``force_out``: a bool or one per output).
    ``loose`` as for ``jvp_graph``, per series; the outputs' in ``cache["loose_out"]``."""
    n = len(graph.invars)
    force = [force_out] * len(graph.outvars) if isinstance(force_out, bool) else list(force_out)
    s_avals = [tangent_aval(v.aval) for v, h in zip(graph.invars, has_series) if h
               for _ in range(order)]
    box, loose_out = [], []

    def fun(ins):
        primals, it = ins[:n], iter(ins[n:])
        series = [[next(it) for _ in range(order)] if h else None
                  for h in has_series]
        flags = None if loose is None else [lo and h for lo, h in zip(loose, has_series)]
        outs, out_series = jet_flat(lambda a: eval_graph(graph, a), primals, series, order,
                                    flags, loose_out)
        flags = [s is not None or f for s, f in zip(out_series, force)]
        box.append(flags)
        coeffs = [instantiate(c) if s is not None else instantiate(Zero(tangent_aval(v.aval)))
                  for s, f, v in zip(out_series, flags, graph.outvars) if f
                  for c in (s if s is not None else [None] * order)]
        return list(outs) + coeffs
    g = _stage(fun, _avals(graph.invars) + s_avals)
    g.cache["loose_out"] = tuple(loose_out)
    return g, box[0]


def compiled(graph):
    """``graph`` compiled to Python/NumPy code by jit's code generator (once per graph): a
    function of the graph's inputs returning the tuple of its outputs."""
    fn = graph.cache.get("compiled")
    if fn is None:
        names = [f"in{i}" for i in range(len(graph.invars))]
        fn = graph.cache["compiled"] = compile_graph(graph, names, "body")[0]
    return fn


dispatch.hooks["graphs"] = SimpleNamespace(
    close=close, hoist=hoist, jvp_graph=jvp_graph, partial_eval_graph=partial_eval_graph,
    transpose_graph=transpose_graph, batch_graph=batch_graph, jet_graph=jet_graph,
    compiled=compiled, substitute=substitute, holds_safe_products=holds_safe_products,
    stage=_stage)


def joint_transpose_graph(graph, linear, loose_out=None):
    """The transpose of a graph that computes its non-linear part too (the joint JVP body of a
    checkpointed function or of a branch): a closed graph from (the inputs not in ``linear``,
    then the cotangents of every output) to the cotangents of the linear inputs. The residuals
    are recomputed from the known inputs when it runs. ``loose_out`` as for
    ``transpose_graph``."""
    known_in = [v for v, lin in zip(graph.invars, linear) if not lin]
    out_avals = [tangent_aval(v.aval).strip_weak() for v in graph.outvars]
    return _stage(_joint_transpose(graph, linear, loose_out), _avals(known_in) + out_avals)


def joint_transpose(graph, linear, loose_out, ins):
    """``joint_transpose_graph``'s function applied to ``ins`` at once, without staging it
    (eager evaluation, where every value is known: its decisions are made here)."""
    return _joint_transpose(graph, linear, loose_out)(ins)


def _joint_transpose(graph, linear, loose_out):
    key = ("joint_split", tuple(linear))
    if key not in graph.cache:
        graph.cache[key] = partial_eval_graph(graph, linear)
    known, unknown, out_unk, n_res = graph.cache[key]
    nk = len(linear) - sum(linear)
    loose_u = None if loose_out is None else [lo for lo, u in zip(loose_out, out_unk) if u]

    def fun(ins):
        kv, cts = ins[:nk], ins[nk:]
        outs = eval_graph(known, kv)
        res = outs[len(outs) - n_res:] if n_res else []
        u = substitute(unknown, dict(zip(unknown.invars[:n_res], res)))
        cts_u = [c for c, unk in zip(cts, out_unk) if unk]
        return [instantiate(c) for c in _body_backward_pass(u, cts_u, loose_u)[0]]
    return fun


def first_outputs(graph, n):
    """``graph`` computing only its first ``n`` outputs (what they do not need is dropped)."""
    outs = graph.outvars[:n]
    return Graph(graph.invars, dead_code_elim(graph.eqns, outs), outs)


def known_part(graph, unknowns, force_unknown=False):
    """The part of ``graph`` computable from its known inputs: ``(graph of the known inputs to
    the known outputs, out_unknowns)`` (``force_unknown`` as for ``partial_eval_graph``)."""
    known, _, out_unk, n_res = partial_eval_graph(graph, unknowns, force_unknown)
    return first_outputs(known, len(known.outvars) - n_res), out_unk


dispatch.hooks["graphs"].joint_transpose_graph = joint_transpose_graph
dispatch.hooks["graphs"].joint_transpose = joint_transpose
dispatch.hooks["graphs"].known_part = known_part
dispatch.hooks["graphs"].first_outputs = first_outputs


# -- for user rules (ops/custom.py): Taylor mode through a JVP rule known only at run time ----
from .taylor import taylor_from_jvp  # noqa: E402

dispatch.hooks["taylor_from_jvp"] = taylor_from_jvp

# -- for user rules: the exact dependency pattern of a held graph (its primitive's sparsity) --
from .sparsity import ALL, sparsity_flat  # noqa: E402

dispatch.hooks["sparsity_flat"] = sparsity_flat
dispatch.hooks["sparsity_all"] = ALL        # "every output element reads every input element"
