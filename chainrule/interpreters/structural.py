"""Per-element structural zeros of a backward pass: which zeros of a cotangent the NaN-safe
products may treat as 0 * inf = 0.

The backward pass (transpose.py) tracks per variable whether its cotangent may hold a structural
zero ("loose"). A loose cotangent may also hold zeros that are not structural: with a one-hot
seed (``jacrev``), an element of ``cbrt(x)**3``'s cotangent is 0 because 3 cbrt(x)**2 is, while
the others are 0 because the seed does not reach them. Where a safe product of a loose cotangent
meets a factor that is actually infinite (a concrete residual, so this is decided at the point,
in eager evaluation), ``StructuralZeros.mask`` works the distinction out element by element: it
runs the backward pass again, on the equations recorded on the way, with the indicator of the
non-structural elements in place of the cotangents:

- a seed's structural zeros are its zeros;
- a primitive that selects, slices, gathers or places (select, getitem, scatter, ...) or an
  equation marked ``by_constant`` (a 0/1 mask) applies its own transpose rule to the indicator:
  its zeros are where the rule puts zeros;
- a product by a derivative factor (mul, div, the safe products, dot_general) applies its rule
  with the factor replaced by ones: a zero of the factor is a vanishing derivative, not
  structural;
- sums, reshapes and the other coefficient-free linear maps apply their rule as it is;
- FFTs and solves, whose rules could cancel, count no zero as structural (the product gives NaN
  there, never a wrong 0); primitives that hold graphs (loops, custom rules) keep the old
  assumption that every zero of their cotangent is structural.

An element is structural where every contribution to its cotangent is. The cost is paid only at
such a point, once per backward pass and variable.
"""
import numpy as np

from ..core import (COEFFICIENT, NONE_STRUCTURAL, Graph, ShapedArray, UndefPrimal, Var, Zero,
                    any_infinite, bind,
                    decide_when_run, dispatch, eval_graph, infinite_somewhere, instantiate,
                    is_concrete, peek,
                    linear_unknown, may_hold_zero, real_dtype, split_list as _split,
                    strict_operands, structural_part)



def has_safe_products(graph):
    """Whether ``graph`` holds a zero-safe product (cached on the graph)."""
    found = graph.cache.get("safe_products")
    if found is None:
        found = graph.cache["safe_products"] = any(
            e.prim.strict_transpose is not None for e in graph.eqns)
    return found


_OPAQUE = frozenset({"custom_vjp_lin", "linear_solve", "expm_frechet", "cond", "scan",
                     "checkpoint", "while"})


def _opaque(prim):
    return prim.multiple_results or prim.name in _OPAQUE


class StructuralZeros:
    """The structural zeros of one backward pass's loose cotangents, worked out on demand."""
    __slots__ = ("seeds", "uses", "loose", "memo")

    def __init__(self, graph, cts_out, loose):
        self.seeds = {v: ct for v, ct in zip(graph.outvars, cts_out) if type(v) is Var}
        self.uses = {}          # var -> [(equation, input position, kept cotangent or None)]
        self.loose = loose
        self.memo = {}

    def seed_vars(self):
        return [v for v, ct in self.seeds.items() if type(ct) is not Zero]

    def seed(self, v):
        return self.seeds[v]

    def branch(self, keys, values):
        """A copy for a staged branch, its seeds ``keys`` taking the branch's ``values``: the
        masks it works out stay in the branch."""
        other = StructuralZeros.__new__(StructuralZeros)
        other.seeds = {**self.seeds, **dict(zip(keys, values))}
        other.uses, other.loose, other.memo = self.uses, self.loose, {}
        return other

    def record(self, eqn, position, ct):
        """Note that ``eqn`` contributed ``ct`` to the cotangent of its input ``position``."""
        keep = ct if _opaque(eqn.prim) else None
        self.uses.setdefault(eqn.inputs[position], []).append((eqn, position, keep))

    def mask(self, v):
        """A boolean array of ``v``'s shape (a tracer under vmap): True where the cotangent of
        ``v`` is a structural zero."""
        found = self.memo.get(v)
        if found is not None:
            return found
        shape = v.aval.shape
        if v not in self.loose:
            result = np.zeros(shape, bool)
        else:
            result = None
            if v in self.seeds and type(self.seeds[v]) is not Zero:
                result = np.equal(self.seeds[v], 0)
            for eqn, position, kept in self.uses.get(v, ()):
                part = self._part(eqn, position, kept, shape)
                result = part if result is None else np.logical_and(result, part)
            if result is None:
                result = np.ones(shape, bool)
        self.memo[v] = result
        return result

    def _part(self, eqn, position, kept, shape):
        prim = eqn.prim
        if kept is not None:                    # a graph-holding primitive: the old assumption
            return np.equal(kept, 0)
        if all(o not in self.loose for o in eqn.outvars) and not eqn.by_constant \
                and "no-new-zeros" in prim.zero_safety:
            return np.zeros(shape, bool)
        out = eqn.outvars[0]
        args = [UndefPrimal(x.aval) if type(x) is Var else x.val for x in eqn.inputs]
        return structural_part(prim, eqn.params, self.mask(out), out.aval.dtype, args, position,
                               eqn.by_constant, shape)


def masked_safe_transpose(eqn, ct, args, zeros, rule):
    """The safe product's transpose (``rule`` is its own) where its factor may be infinite
    somewhere: 0 at the structural zeros of the cotangent, the plain product (NaN at 0 * inf)
    elsewhere."""
    def masked(ct, zeros):
        s = np.logical_and(zeros.mask(eqn.outvars[0]), np.equal(ct, 0))
        ct, c = strict_operands(eqn.prim.name, ct, args[1], s)
        return eqn.prim.strict_transpose(ct, args[0], c, **eqn.params)[0]

    known = infinite_factor(eqn)
    if known:
        return masked(ct, zeros), None
    if known is False or not decide_when_run():     # finite, or in a body: zero-safe
        return rule(ct, *args, **eqn.params)
    return staged_decision(_factor_infinite(eqn), [ct], zeros,
                           lambda v, zeros: [masked(v[0], zeros)],
                           lambda v: [rule(v[0], *args, **eqn.params)[0]])[0], None


def infinite_factor(eqn):
    """Whether the safe product ``eqn`` meets a factor that is infinite somewhere (a quotient:
    a divisor 0 or NaN): True or False where that is known here, None where it is known only
    when the staged program runs (core.zeros.infinite_somewhere)."""
    c = eqn.inputs[1]
    if type(c) is Var:
        return False
    return infinite_somewhere(c.val, divide=eqn.prim.name == "safe_div")


def staged_decision(bad, values, zeros, masked, safe):
    """Where whether a factor is infinite is known only when the staged program runs (the
    scalar ``bad``): ``masked(values, zeros)`` (the element-by-element decision) if it is then,
    else ``safe(values)`` (equal to it where the factors are finite everywhere), staged as a
    ``cond``; both return a list. The seeds go into the branch as operands, so the masks are
    worked out inside it: the per-element work runs only where a factor is infinite."""
    keys = zeros.seed_vars()
    seeds = [zeros.seed(k) for k in keys]
    n = len(values)
    return dispatch.hooks["cond"](bad,
                                  lambda *ops: masked(list(ops[:n]), zeros.branch(keys, ops[n:])),
                                  lambda *ops: safe(list(ops[:n])), *values, *seeds)


def _factor_infinite(eqn):
    """The staged predicate "the safe product ``eqn``'s factor is infinite somewhere"."""
    return any_infinite(eqn.inputs[1].val, divide=eqn.prim.name == "safe_div")


# -- forward: pushing tangents through a linear graph (jacfwd) ----------------------------------
def forward_pass(graph, tangents):
    """``eval_graph(graph, tangents, linear=True)`` for a linear graph (linearize's), with the
    NaN-safe products decided as the backward pass decides them: plain while no input tangent
    may hold a structural zero; where a loose tangent meets an infinite factor, the tangent's
    structural zeros worked out element by element (the indicator of the elements the seeds
    reach, pushed through the producing equations). Loops, branches and checkpoints reached by
    a loose tangent carry the structural zeros through their bodies (``_held``)."""
    if not holds_safe_products(graph) or any(linear_unknown(t) for t in tangents):
        return eval_graph(graph, tangents, linear=True)
    push = _Forward(graph, tangents)
    return push.run()


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


class _Forward:
    """One forward pass of tangents through a linear graph. ``given``: the structural zeros of
    some inputs' tangents (a body's, ``masked_graph``); a body's other inputs hold none."""
    __slots__ = ("graph", "env", "loose", "producer", "memo", "in_body")

    def __init__(self, graph, tangents, given=None):
        self.graph = graph
        self.env = dict(zip(graph.invars, tangents))
        self.producer = {}
        self.in_body = given is not None
        self.memo = dict(given or {})
        self.loose = set(self.memo) if self.in_body else {
            v for v, t in self.env.items() if type(t) is not Zero and may_hold_zero(t)}

    def run(self):
        env, loose = self.env, self.loose
        for eqn in self.graph.eqns:
            prim = eqn.prim
            raw = [env[x] if type(x) is Var else x.val for x in eqn.inputs]
            var_vals = [v for x, v in zip(eqn.inputs, raw) if type(x) is Var]
            for o in eqn.outvars:
                self.producer[o] = eqn
            if all(type(v) is Zero for v in var_vals):
                for o in eqn.outvars:
                    env[o] = Zero(o.aval)
                continue
            placed = any(type(v) is Zero for v in var_vals)
            vals = [instantiate(v) for v in raw]
            in_loose = any(type(x) is Var and x in loose for x in eqn.inputs)
            if prim.strict_transpose is not None and not in_loose:
                out = _plain(prim, vals)
            elif prim.strict_transpose is not None and infinite_factor(eqn) is not False:
                out = self._masked(eqn, vals)
            elif in_loose and prim.name in HELD and any(
                    holds_safe_products(g) for g in held_graphs(eqn)):
                out = self._held(eqn, vals)
            else:
                out = bind(prim, *vals, **eqn.params)
            if in_loose or eqn.by_constant or "no-new-zeros" not in prim.zero_safety or (
                    placed and "pass-constants" not in prim.zero_safety):
                loose.update(eqn.outvars)
            if prim.multiple_results:
                env.update(zip(eqn.outvars, out))
            else:
                env[eqn.outvars[0]] = out
        return [self.env[v] if type(v) is Var else v.val for v in self.graph.outvars]

    def _masked(self, eqn, vals):
        """The safe product ``eqn`` on loose tangents where its factor may be infinite: 0 at
        the structural zeros of the tangent, the plain product elsewhere (decided when the
        staged program runs where the factor is known only then; in a body, where the masks
        are at hand, always element by element)."""
        def masked(t, push):
            s = np.logical_and(push.mask(eqn.inputs[0]), np.equal(t, 0))
            return _plain(eqn.prim, strict_operands(eqn.prim.name, t, vals[1], s))

        if infinite_factor(eqn) or self.in_body:
            return masked(vals[0], self)
        if decide_when_run():
            return staged_decision(_factor_infinite(eqn), vals[:1], self,
                                   lambda v, push: [masked(v[0], push)],
                                   lambda v: [bind(eqn.prim, v[0], vals[1], **eqn.params)])[0]
        return bind(eqn.prim, vals[0], vals[1], **eqn.params)

    def _held(self, eqn, vals):
        """A loop, branch or checkpoint whose body holds safe products, reached by a loose
        tangent: run plainly where no factor in it is infinite, else with the structural
        zeros carried through the body (``masked_graph``), decided when the staged program
        runs where the factors are known only then. A scan's factors are its residual inputs,
        known before it runs; where a body computes them (a joint body), the plain run also
        says whether one was infinite (``flagged_graph``)."""
        rule = HELD[eqn.prim.name]
        if self.in_body:
            return self._held_masked(eqn, vals, _linear(eqn, vals), self)
        bad = rule.infinite(eqn)
        if bad is FLAG:
            outs, bad = rule.flagged(eqn, vals)
            bad = _known(bad)

            def plain(v):
                return outs
        else:
            def plain(v):
                return bind(eqn.prim, *_with_linear(eqn, vals, v), **eqn.params)
        if bad is False:
            return plain(_linear(eqn, vals))
        if bad is True or not decide_when_run():
            return self._held_masked(eqn, vals, _linear(eqn, vals), self)
        return staged_decision(bad, _linear(eqn, vals), self,
                               lambda v, push: self._held_masked(eqn, vals, v, push), plain)

    def _held_masked(self, eqn, vals, v, push):
        outs, masks = HELD[eqn.prim.name].masked(eqn, _with_linear(eqn, vals, v),
                                                 push.input_masks(eqn))
        if push is self:
            self.memo.update((o, m) for o, m in zip(eqn.outvars, masks) if m is not None)
        return outs

    def input_masks(self, eqn):
        """The structural zeros of the tangents ``eqn`` takes (None where none can hold one;
        a tangent given as a literal, a loop's carry starting from zeros, has its zeros)."""
        return [None if not lin else
                np.equal(x.val, 0) if type(x) is not Var else
                np.ones(x.aval.shape, bool) if type(self.env[x]) is Zero else
                self.mask(x) if x in self.loose else None
                for x, lin in zip(eqn.inputs, linear_flags(eqn))]

    def seed_vars(self):
        return [v for v in dict.fromkeys(self.graph.invars) if type(self.env[v]) is not Zero]

    def seed(self, v):
        return self.env[v]

    def branch(self, keys, values):
        """A copy for a staged branch, its inputs' tangents ``keys`` taking the branch's
        ``values``: the masks it works out stay in the branch."""
        other = _Forward.__new__(_Forward)
        other.graph, other.loose, other.producer = self.graph, self.loose, self.producer
        other.env = {**self.env, **dict(zip(keys, values))}
        other.in_body = self.in_body
        other.memo = dict(self.memo) if self.in_body else {}     # a body's: its inputs' masks
        return other

    def mask(self, v):
        """True where the tangent of ``v`` is a structural zero (the seeds do not reach it)."""
        found = self.memo.get(v)
        if found is not None:
            return found
        value = self.env[v]
        shape = v.aval.shape
        eqn = self.producer.get(v)
        if type(value) is Zero:
            result = np.ones(shape, bool)
        elif v not in self.loose:
            result = np.zeros(shape, bool)
        elif eqn is None:                       # an input: the seed's zeros
            result = np.equal(value, 0)
        elif eqn.prim.name in HELD:             # a loop or branch: through its body
            rule = HELD[eqn.prim.name]
            masks = rule.masked(eqn, [instantiate(self.env[x]) if type(x) is Var else x.val
                                      for x in eqn.inputs], self.input_masks(eqn))[1]
            self.memo.update((o, m) for o, m in zip(eqn.outvars, masks) if m is not None)
            result = masks[eqn.outvars.index(v)]
            if result is None:
                result = np.equal(value, 0)
        elif _opaque(eqn.prim):
            result = np.equal(value, 0)
        elif eqn.prim.name in NONE_STRUCTURAL and not eqn.by_constant:
            result = np.zeros(shape, bool)
        else:
            ones = eqn.prim.name in COEFFICIENT and not eqn.by_constant
            args = [self._indicator(x) if type(x) is Var else
                    (np.ones(np.shape(x.val)) if ones else x.val) for x in eqn.inputs]
            result = np.equal(bind(eqn.prim, *args, **eqn.params), 0)
        self.memo[v] = result
        return result

    def output_mask(self, v, shape):
        """The structural zeros of an output ``v`` of the graph (a Var or a literal)."""
        if type(v) is not Var:
            return np.broadcast_to(np.equal(v.val, 0), shape)
        return np.broadcast_to(self.mask(v), shape)

    def _indicator(self, x):
        return np.logical_not(self.mask(x)).astype(real_dtype(x.aval.dtype))


def _plain(prim, vals):
    """The safe product as a plain one (NaN at 0 * inf)."""
    return np.multiply(*vals) if prim.name == "safe_mul" else np.true_divide(*vals)


def linear_flags(eqn):
    """Which inputs of a loop, branch or checkpoint in a linear graph are tangents: its
    ``linear`` parameter where partial evaluation staged it (a tangent may be a literal, a
    carry starting from zeros), else its variables."""
    lin = eqn.params.get("linear")
    if lin is None:
        return [type(x) is Var for x in eqn.inputs]
    lin = ([False] if len(lin) < len(eqn.inputs) else []) + list(lin)      # cond's index
    return [flag or type(x) is Var for x, flag in zip(eqn.inputs, lin)]


def _linear(eqn, vals):
    return [v for v, lin in zip(vals, linear_flags(eqn)) if lin]


def _with_linear(eqn, vals, linear):
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
    masked, consts = G.close(fun, avals)
    if consts:      # a closed graph transformed: no outer tracer can appear
        raise AssertionError("a masked body picked up an outer tracer")
    graph.cache[key] = found = (masked, out_lin)
    return found


FLAG = object()     # a rule's "run plainly, saying whether a factor was infinite"


def _known(bad):
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
        flag = np.array(True) if nested else \
            bad[0] if len(bad) == 1 else np.any(np.stack(bad)) if bad else np.array(False)
        return list(outs[:n_out]) + [flag]
    avals = [v.aval for v in graph.invars]
    if flag_in is not None:
        avals.insert(flag_in, ShapedArray((), np.dtype(bool)))
    G = dispatch.hooks["graphs"]
    found, consts = G.close(fun, avals)
    if consts:
        raise AssertionError("a flagged body picked up an outer tracer")
    graph.cache[key] = found
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
    return staged[0] if len(staged) == 1 else np.any(np.stack(staged))


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


class _ScanRule:
    @staticmethod
    def infinite(eqn):
        return _scan_factors(eqn)

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
        k_avals = [v.aval for v in body.invars[nc:nc + nk]]
        m_k = [np.zeros(a.shape, bool) if m is None and l else m
               for m, l, a in zip(m_k, lin[nc:nc + nk], k_avals)]
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


class _JointRule:
    """cond and checkpoint: their staged bodies compute the primal values too (joint), so a
    factor is computed in the body; index (cond's) and primal inputs are the known ones."""
    @staticmethod
    def infinite(eqn):
        return FLAG

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


class _WhileRule:
    """A while loop that partial evaluation staged whole (its trip count not known): the
    structural zeros of its linear carries are carried too, which its condition ignores."""
    @staticmethod
    def infinite(eqn):
        return FLAG

    @staticmethod
    def flagged(eqn, vals):
        p = eqn.params
        cond, n_cc, n_bc = p["cond"], p["n_cc"], p["n_bc"]
        body = flagged_graph(p["body"], len(p["body"].invars))
        new_cond = Graph(cond.invars + [Var(ShapedArray((), np.dtype(bool)))], cond.eqns,
                         cond.outvars)
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
        m_k = [np.zeros(v.aval.shape, bool) if m is None and l else m
               for m, l, v in zip(m_k, lin[n_bc:], body.invars[n_bc:])]
        has = [m is not None for m in m_b + m_k]
        mg, out_lin = masked_graph(body, lin, has, force=lin[n_bc:])
        if out_lin != lin[n_bc:]:
            raise AssertionError("while: a linear carry's tangent became known")
        n = len(body.invars)
        mb, mk = _split(mg.invars[n:], sum(has[:n_bc]))
        new = Graph(mg.invars[:n_bc] + mb + mg.invars[n_bc:n] + mk, mg.eqns, mg.outvars)
        extra = [Var(v.aval) for v in mk]
        new_cond = Graph(cond.invars + extra, cond.eqns, cond.outvars)
        mbv, mkv = [m for m in m_b if m is not None], [m for m in m_k if m is not None]
        cc, bc, k = _split(vals, n_cc, n_bc)
        outs = bind(eqn.prim, *cc, *bc, *mbv, *k, *mkv, cond=new_cond, body=new,
                    n_cc=n_cc, n_bc=n_bc + len(mbv))
        it = iter(outs[nk:])
        return outs[:nk], [next(it) if l else None for l in out_lin]


HELD = {"scan": _ScanRule, "cond": _JointRule, "checkpoint": _JointRule, "while": _WhileRule}

