"""The NaN-safe rule's forward pass (``structural._Forward``) through the graphs that loops,
branches and checkpoints hold, in a linear graph reached by a tangent that may hold structural
zeros.

A body is staged once for every step, so the structural zeros of its tangents cannot be worked
out from the seeds inside it as they are in straight-line code. Instead:

- ``masked_graph`` makes the body carry them: boolean masks as extra inputs and outputs (a
  loop's extra carries), pushed through the body's equations as ``_Forward`` pushes them;
- a scan's derivative factors are its residual inputs, known before it runs: where none is
  infinite the loop runs plainly, its zero-safe products then equal to the strict ones;
- a body that computes its factors (a joint body: a branch, a checkpoint, a loop staged whole)
  first runs plainly with one more output saying whether a factor was infinite
  (``flagged_graph``), and with the masks only where one was.

``HELD`` maps each such primitive to its rule: ``infinite(eqn)`` (True, False, the staged
predicate, or FLAG: run ``flagged(eqn, vals)``), ``flags(eqn)`` (whether it is run flagged) and
``masked(eqn, vals, in_masks)`` (the outputs, and the masks of the linear ones).
"""
import numpy as np

from ..core import (Graph, ShapedArray, Var, any_infinite, any_of, bind, dispatch, eval_graph,
                    infinite_somewhere, instantiate, is_concrete, peek, split_list as _split,
                    with_unused_inputs)


def has_safe_products(graph):
    """Whether ``graph`` holds a zero-safe product (cached on the graph)."""
    found = graph.cache.get("safe_products")
    if found is None:
        found = graph.cache["safe_products"] = any(
            e.prim.strict_transpose is not None for e in graph.eqns)
    return found


def holds_safe_products(graph):
    """Whether ``graph`` or a graph one of its equations holds has a zero-safe product."""
    found = graph.cache.get("holds_safe_products")
    if found is None:
        found = graph.cache["holds_safe_products"] = has_safe_products(graph) or any(
            holds_safe_products(g) for e in graph.eqns for g in held_graphs(e))
    return found


def held_graphs(eqn):
    """The graphs ``eqn`` holds in its parameters (a loop's body, a cond's branches)."""
    for v in eqn.params.values():
        if isinstance(v, Graph):
            yield v
        elif isinstance(v, tuple):
            yield from (g for g in v if isinstance(g, Graph))


def linear_flags(eqn):
    """Which inputs of a loop, branch or checkpoint in a linear graph are tangents: its
    ``linear`` parameter where partial evaluation staged it (a tangent may be a literal, a
    carry starting from zeros), else its variables."""
    lin = eqn.params.get("linear")
    if lin is None:
        return [type(x) is Var for x in eqn.inputs]
    lin = ([False] if len(lin) < len(eqn.inputs) else []) + list(lin)      # cond's index
    return [flag or type(x) is Var for x, flag in zip(eqn.inputs, lin)]


def linear_values(eqn, vals):
    return [v for v, lin in zip(vals, linear_flags(eqn)) if lin]


def with_linear_values(eqn, vals, linear):
    it = iter(linear)
    return [next(it) if lin else v for v, lin in zip(vals, linear_flags(eqn))]


# -- loops, branches and checkpoints in a linear graph ------------------------------------------
def masked_graph(graph, lin, has_mask, force=False):
    """``graph`` (linear in its inputs ``lin``; the others are known: residuals, or the primal
    inputs of a joint body) pushing the structural zeros of its tangents along. Inputs: the
    graph's, then a boolean mask for each input in ``has_mask`` (True where its tangent is a
    structural zero; an input in ``lin`` without one holds none); outputs: the graph's, then a
    mask for each output computed from a linear input (``force``, a bool or one per output,
    makes an output one). Returns ``(graph, out_lin)`` (cached on the graph)."""
    key = ("masked_forward", tuple(lin), tuple(has_mask),
           force if isinstance(force, bool) else tuple(force))
    found = graph.cache.get(key)
    if found is not None:
        return found
    from .structural import _Forward
    G = dispatch.hooks["graphs"]
    known, unknown, out_lin, n_res = G.partial_eval_graph(graph, lin, force_unknown=force)
    n = len(graph.invars)
    lin_vars = unknown.invars[n_res:]
    masked_vars = [v for v, h in zip(lin_vars, [h for h, l in zip(has_mask, lin) if l]) if h]

    def fun(ins):
        vals = ins[:n]
        k_out = eval_graph(known, [v for v, l in zip(vals, lin) if not l])
        n_k = len(k_out) - n_res
        body = G.substitute(unknown, dict(zip(unknown.invars[:n_res], k_out[n_k:])))
        push = _Forward(body, [v for v, l in zip(vals, lin) if l],
                        dict(zip(masked_vars, ins[n:])))
        it_t, it_k = iter(push.run()), iter(k_out[:n_k])
        outs = [instantiate(next(it_t)) if u else next(it_k) for u in out_lin]
        masks = [push.output_mask(o, o.aval.shape) for o in body.outvars]
        return outs + masks
    avals = [v.aval for v in graph.invars] + [ShapedArray(v.aval.shape, np.dtype(bool))
                                              for v in masked_vars]
    graph.cache[key] = found = (G.stage(fun, avals), out_lin)
    return found


FLAG = object()     # a rule's "run plainly, saying whether a factor was infinite"


def known_flag(bad):
    """A flag from a plain run: True or False where its value is known here, else the
    staged scalar."""
    v = peek(bad)
    return bool(np.any(v)) if is_concrete(v) else bad


def flagged_graph(graph, flag_in=None):
    """``graph`` with one more output, last: whether a zero-safe product in it met a factor
    infinite somewhere (True where a graph it holds has one); ``flag_in``, an input position,
    adds a flag input there that the output ORs in (a loop's carry). Cached on the graph."""
    key = ("flagged", flag_in)
    found = graph.cache.get(key)
    if found is not None:
        return found
    factors = [(e.inputs[1], e.prim.name == "safe_div") for e in graph.eqns
               if e.prim.strict_transpose is not None]
    nested = any(holds_safe_products(g) for e in graph.eqns for g in held_graphs(e))
    wide = Graph(graph.invars, graph.eqns, list(graph.outvars) + [c for c, _ in factors])
    n_out = len(graph.outvars)

    def fun(ins):
        ins = list(ins)
        bad = [ins.pop(flag_in)] if flag_in is not None else []
        outs = eval_graph(wide, ins)
        bad += [any_infinite(v, divide) for v, (_, divide) in zip(outs[n_out:], factors)]
        flag = np.array(True) if nested else any_of(bad) if bad else np.array(False)
        return list(outs[:n_out]) + [flag]
    avals = [v.aval for v in graph.invars]
    if flag_in is not None:
        avals.insert(flag_in, ShapedArray((), np.dtype(bool)))
    found = graph.cache[key] = dispatch.hooks["graphs"].stage(fun, avals)
    return found


def _scan_factors(eqn):
    """Whether a factor of a safe product in the scan ``eqn``'s linear body is infinite
    somewhere: its factors are the scan's residual inputs (or literals), known before it runs
    (True, False, or the staged predicate); FLAG where a factor is computed in the body."""
    found = _factor_inputs(eqn.params["body"])
    if found is None:
        return FLAG
    staged = []
    for i, divide in found:
        x = eqn.inputs[i]
        bad = True if type(x) is Var else infinite_somewhere(x.val, divide)
        if bad:
            return True
        if bad is None:
            staged.append(any_infinite(x.val, divide))
    if not staged:
        return False
    return any_of(staged)


def _factor_inputs(graph):
    """The factors of the safe products of a linear body, as ``(input position, divide)``
    pairs, or None where one is computed in the body (cached on the graph)."""
    key = "factor_inputs"
    if key in graph.cache:
        return graph.cache[key]
    pos = {v: i for i, v in enumerate(graph.invars)}
    found = set()
    for e in graph.eqns:
        if e.prim.strict_transpose is not None:
            c = e.inputs[1]
            if type(c) is Var and c not in pos:
                found = None
                break
            if type(c) is Var:
                found.add((pos[c], e.prim.name == "safe_div"))
            elif infinite_somewhere(c.val, e.prim.name == "safe_div") is not False:
                found = None
                break
        elif any(holds_safe_products(g) for g in held_graphs(e)):
            found = None
            break
    graph.cache[key] = found
    return found


def _carry_masks(masks, lin, invars):
    """The masks of a loop's carries: every linear carry carries one (none of its zeros
    structural where it enters without one), since a step may give it some."""
    return [np.zeros(v.aval.shape, bool) if m is None and l else m
            for m, l, v in zip(masks, lin, invars)]


class _ScanRule:
    @staticmethod
    def infinite(eqn):
        return _scan_factors(eqn)

    @staticmethod
    def flags(eqn):
        """Whether the body computes its factors (a plain run says if one was infinite)."""
        return _factor_inputs(eqn.params["body"]) is None

    @staticmethod
    def flagged(eqn, vals):
        p = eqn.params
        nc, nk = p["n_consts"], p["n_carry"]
        body = flagged_graph(p["body"], nc + nk)
        fb = Graph(body.invars, body.eqns, body.outvars[:nk] + body.outvars[-1:]
                   + body.outvars[nk:-1])
        c, k, x = _split(vals, nc, nk)
        outs = bind(eqn.prim, *c, *k, np.array(False), *x, body=fb, n_consts=nc,
                    n_carry=nk + 1, length=p["length"], reverse=p["reverse"],
                    checkpoints=p.get("checkpoints"))
        return outs[:nk] + outs[nk + 1:], outs[nk]

    @staticmethod
    def masked(eqn, vals, in_masks):
        """The scan ``eqn`` with its linear carries' structural zeros carried as extra
        carries and its other linear inputs' as extra consts and xs."""
        p = eqn.params
        body, nc, nk = p["body"], p["n_consts"], p["n_carry"]
        lin = linear_flags(eqn)
        m_c, m_k, m_x = _split(in_masks, nc, nk)
        m_k = _carry_masks(m_k, lin[nc:nc + nk], body.invars[nc:nc + nk])
        has = [m is not None for m in m_c + m_k + m_x]
        n_ys = len(body.outvars) - nk
        mg, out_lin = masked_graph(body, lin, has, force=lin[nc:nc + nk] + [False] * n_ys)
        if out_lin[:nk] != lin[nc:nc + nk]:
            raise AssertionError("scan: a linear carry's tangent became known")
        n = len(body.invars)
        mi = mg.invars[n:]
        mc, mk, mx = _split(mi, sum(has[:nc]), sum(has[nc:nc + nk]))
        ic, ik, ix = _split(mg.invars[:n], nc, nk)
        ok, oy = _split(mg.outvars[:len(body.outvars)], nk)
        mok, moy = _split(mg.outvars[len(body.outvars):], sum(out_lin[:nk]))
        new = Graph(ic + mc + ik + mk + ix + mx, mg.eqns, ok + mok + oy + moy)
        c, k, x = _split(vals, nc, nk)
        mcv, mkv, mxv = ([m for m in ms if m is not None] for ms in (m_c, m_k, m_x))
        outs = bind(eqn.prim, *c, *mcv, *k, *mkv, *x, *mxv, body=new,
                    n_consts=nc + len(mcv), n_carry=nk + len(mkv), length=p["length"],
                    reverse=p["reverse"], checkpoints=p.get("checkpoints"))
        k_out, mk_out, y_out, my_out = _split(outs, nk, len(mkv), n_ys)
        itk, ity = iter(mk_out), iter(my_out)
        masks = [next(itk) if l else None for l in out_lin[:nk]] + \
            [next(ity) if l else None for l in out_lin[nk:]]
        return k_out + y_out, masks


class _BodyComputesFactors:
    """A rule whose body computes its factors: run flagged first (``flagged_graph``)."""
    @staticmethod
    def infinite(eqn):
        return FLAG

    @staticmethod
    def flags(eqn):
        return True


class _JointRule(_BodyComputesFactors):
    """cond and checkpoint: their staged bodies compute the primal values too (joint), so a
    factor is computed in the body; index (cond's) and primal inputs are the known ones."""
    @staticmethod
    def flagged(eqn, vals):
        if eqn.prim.name == "cond":
            branches = tuple(flagged_graph(b) for b in eqn.params["branches"])
            outs = bind(eqn.prim, *vals, branches=branches)
        else:
            outs = bind(eqn.prim, *vals, body=flagged_graph(eqn.params["body"]))
        return outs[:-1], outs[-1]

    @staticmethod
    def masked(eqn, vals, in_masks):
        lin = linear_flags(eqn)
        skip = 1 if eqn.prim.name == "cond" else 0
        graphs = eqn.params["branches"] if skip else (eqn.params["body"],)
        lin_ops, m_ops = lin[skip:], in_masks[skip:]
        has = [m is not None for m in m_ops]
        G = dispatch.hooks["graphs"]
        union = [any(u) for u in zip(*[G.partial_eval_graph(g, lin_ops)[2] for g in graphs])]
        mgs = [masked_graph(g, lin_ops, has, force=union)[0] for g in graphs]
        key = "branches" if skip else "body"
        params = {key: tuple(mgs) if skip else mgs[0]}
        outs = bind(eqn.prim, *vals[:skip], *vals[skip:], *[m for m in m_ops if m is not None],
                    **params)
        n = len(graphs[0].outvars)
        it = iter(outs[n:])
        masks = [next(it) if u else None for u in union]
        return outs[:n], masks


class _WhileRule(_BodyComputesFactors):
    """A while loop that partial evaluation staged whole (its trip count not known): the
    structural zeros of its linear carries are carried too, which its condition ignores."""
    @staticmethod
    def flagged(eqn, vals):
        p = eqn.params
        cond, n_cc, n_bc = p["cond"], p["n_cc"], p["n_bc"]
        body = flagged_graph(p["body"], len(p["body"].invars))
        new_cond = with_unused_inputs(cond, [ShapedArray((), np.dtype(bool))], len(cond.invars))
        outs = bind(eqn.prim, *vals, np.array(False), cond=new_cond, body=body, n_cc=n_cc,
                    n_bc=n_bc)
        return outs[:-1], outs[-1]

    @staticmethod
    def masked(eqn, vals, in_masks):
        p = eqn.params
        cond, body, n_cc, n_bc = p["cond"], p["body"], p["n_cc"], p["n_bc"]
        lin = linear_flags(eqn)[n_cc:]
        nk = len(body.outvars)
        m_b, m_k = _split(in_masks[n_cc:], n_bc)
        m_k = _carry_masks(m_k, lin[n_bc:], body.invars[n_bc:])
        has = [m is not None for m in m_b + m_k]
        mg, out_lin = masked_graph(body, lin, has, force=lin[n_bc:])
        if out_lin != lin[n_bc:]:
            raise AssertionError("while: a linear carry's tangent became known")
        n = len(body.invars)
        mb, mk = _split(mg.invars[n:], sum(has[:n_bc]))
        new = Graph(mg.invars[:n_bc] + mb + mg.invars[n_bc:n] + mk, mg.eqns, mg.outvars)
        new_cond = with_unused_inputs(cond, [v.aval for v in mk], len(cond.invars))
        mbv, mkv = [m for m in m_b if m is not None], [m for m in m_k if m is not None]
        cc, bc, k = _split(vals, n_cc, n_bc)
        outs = bind(eqn.prim, *cc, *bc, *mbv, *k, *mkv, cond=new_cond, body=new,
                    n_cc=n_cc, n_bc=n_bc + len(mbv))
        it = iter(outs[nk:])
        return outs[:nk], [next(it) if l else None for l in out_lin]


HELD = {"scan": _ScanRule, "cond": _JointRule, "checkpoint": _JointRule, "while": _WhileRule}

