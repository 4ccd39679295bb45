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
  there, never a wrong 0); the cotangents a loop, branch or custom rule hands back count their
  zeros as structural (their bodies decide per step what enters them, ops/loops.py).

An element is structural where every contribution to its cotangent is. The cost is paid only at
such a point, once per backward pass and variable.

Where the factors are known only when a staged program runs (``jit``), one ``cond`` decides for
the whole pass (``decided_pass``): the pass with every such product masked if one of their
factors is infinite somewhere, else the zero-safe pass (equal to it where every factor is
finite), so the masks' work stays linear in the length of the graph.

``forward_pass`` pushes tangents through a linear graph (``jacfwd``, ``linearize``, ``jvp``'s
element-by-element fallback) by the same rule, working the structural zeros out forward from the
seeds (``_Forward.mask``); loops, branches and checkpoints carry them through their bodies
(structural_held.py).
"""
import numpy as np

from ..core import (COEFFICIENT, NONE_STRUCTURAL, Tracer, UndefPrimal, Var, Zero, any_infinite,
                    any_of, bind, decide_when_run, dispatch, eval_graph, infinite_somewhere,
                    instantiate, linear_unknown, loose_after, peek, may_hold_zero, real_dtype,
                    reset_stage_decisions, stage_decisions, strict_operands, structural_part)
from .structural_held import (FLAG, HELD, held_graphs, holds_safe_products, known_flag,
                              linear_flags, linear_values, with_linear_values)



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
        return found if found is not None else resolve(self.memo, v, self._needs, self._mask)

    def _needs(self, v):
        """The variables whose masks ``_mask(v)`` reads: those its uses produce."""
        if v not in self.loose:
            return ()
        return [eqn.outvars[0] for eqn, _, kept in self.uses.get(v, ())
                if kept is None and not self._none_new(eqn)]

    def _none_new(self, eqn):
        return all(o not in self.loose for o in eqn.outvars) and not eqn.by_constant \
            and "no-new-zeros" in eqn.prim.zero_safety

    def _mask(self, v):
        shape = v.aval.shape
        if v not in self.loose:
            return np.zeros(shape, bool)
        result = None
        if v in self.seeds and type(self.seeds[v]) is not Zero:
            result = np.equal(self.seeds[v], 0)
        for eqn, position, kept in self.uses.get(v, ()):
            part = self._part(eqn, position, kept, shape)
            result = part if result is None else np.logical_and(result, part)
        return np.ones(shape, bool) if result is None else result

    def _part(self, eqn, position, kept, shape):
        prim = eqn.prim
        if kept is not None:                    # a graph-holding primitive: the old assumption
            return np.equal(kept, 0)
        if self._none_new(eqn):
            return np.zeros(shape, bool)
        out = eqn.outvars[0]
        args = [UndefPrimal(x.aval) if type(x) is Var else x.val for x in eqn.inputs]
        return structural_part(prim, eqn.params, self.mask(out), out.aval.dtype, args, position,
                               eqn.by_constant, shape)


def resolve(memo, v, needs, compute):
    """``memo[v]``, computing it by ``compute`` once every variable it ``needs`` is in
    ``memo``, depth first without recursion (a chain of masks is as long as the graph)."""
    stack = [v]
    while stack:
        u = stack[-1]
        if u in memo:
            stack.pop()
            continue
        missing = [w for w in needs(u) if w not in memo]
        if missing:
            stack.extend(missing)
        else:
            memo[u] = compute(u)
            stack.pop()
    return memo[v]


def masked_safe_transpose(eqn, ct, args, zeros, rule, staged_masked=False):
    """The safe product's transpose (``rule`` is its own) where its factor may be infinite
    somewhere: 0 at the structural zeros of the cotangent, the plain product (NaN at 0 * inf)
    elsewhere. Where the factor is known only when the staged program runs, the backward
    pass's decision for all such products (``decided_pass``): masked, or zero-safe."""
    known = infinite_factor(eqn)
    if known or known is None and staged_masked:
        s = np.logical_and(zeros.mask(eqn.outvars[0]), np.equal(ct, 0))
        ct, c = strict_operands(eqn.prim.name, ct, args[1], s)
        return eqn.prim.strict_transpose(ct, args[0], c, **eqn.params)[0], None
    return rule(ct, *args, **eqn.params)


def undecided_products(graph, cts_out, loose_out):
    """The staged predicates ("the factor is infinite somewhere") of the safe products a
    backward pass of ``graph`` would apply to a cotangent that may hold
    a structural zero with a factor known only when the staged program runs: a dry run of the
    pass's flags (transpose.py), which reaches a superset of the equations it reaches."""
    reached = {v for v, ct in zip(graph.outvars, cts_out)
               if type(v) is Var and type(ct) is not Zero}
    loose = {v for v, lo in zip(graph.outvars, loose_out) if lo and v in reached}
    found = []
    for eqn in reversed(graph.eqns):
        if not any(o in reached for o in eqn.outvars):
            continue
        out_loose = any(o in loose for o in eqn.outvars)
        if out_loose and eqn.prim.strict_transpose is not None and factor_staged(eqn):
            found.append(_factor_infinite(eqn))
        ins = [x for x in eqn.inputs if type(x) is Var]
        reached.update(ins)
        if loose_after(eqn.prim, out_loose, eqn.by_constant):
            loose.update(ins)
    return found


def decided_pass(bad, values, run):
    """One decision for every undecided safe product of a pass, staged as a ``cond`` on "one
    of their factors is infinite somewhere" (``bad``, their predicates): ``run(values, True)``
    with every one masked element by element, else ``run(values, False)`` with the zero-safe
    products (equal where every factor is finite). ``run`` returns a list that may hold Zeros
    (the same in both); ``values`` may too. One cond per pass keeps the masks' work linear in the
    graph's length (a cond per product would work them out again in each branch)."""
    bad = any_of(bad)
    # the values known here (jacrev's one-hot seeds) stay constants of the branches, which
    # the code generator folds
    keep = [i for i, v in enumerate(values) if isinstance(v, Tracer)]
    pattern = []

    def branch(masked):
        def fun(*ops):
            full = list(values)
            for i, v in zip(keep, ops):
                full[i] = v
            outs = run(full, masked)
            zero = [type(o) is Zero for o in outs]
            if pattern and pattern[0] != zero:
                raise AssertionError("the two branches of a pass's decision differ in Zeros")
            pattern[:] = [zero, outs]
            return [o for o in outs if type(o) is not Zero]
        return fun
    got = iter(dispatch.hooks["cond"](bad, branch(True), branch(False),
                                      *[values[i] for i in keep]))
    return [o if type(o) is Zero else next(got) for o in pattern[1]]


def infinite_factor(eqn):
    """Whether the safe product ``eqn`` meets a factor that is infinite somewhere (a quotient:
    a divisor 0 or NaN): True or False where that is known here, None where it is known only
    when the staged program runs (core.zeros.infinite_somewhere)."""
    c = eqn.inputs[1]
    if type(c) is Var:
        return False
    return infinite_somewhere(c.val, divide=eqn.prim.name == "safe_div")


def factor_staged(eqn):
    """Whether the safe product ``eqn``'s factor is known only when the staged program runs
    (``infinite_factor``'s None), found without reading its values."""
    c = eqn.inputs[1]
    return type(c) is not Var and isinstance(peek(c.val), Tracer)


def staged_factors(graph):
    """Whether a safe product, loop or branch of ``graph`` reads a value known only when the
    staged program runs: where none does (eager evaluation), every decision is made here and
    no pass needs a staged one."""
    return any(type(x) is not Var and isinstance(peek(x.val), Tracer)
               for e in graph.eqns if e.prim.strict_transpose is not None or e.prim.name in HELD
               for x in e.inputs)


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
    if decide_when_run() and staged_factors(graph):
        bad = _Forward(graph, tangents).undecided()
        if bad:             # factors known only when the staged program runs: one decision
            def run(tangents, masked):
                token = stage_decisions(True)       # a joint body's own flag (_held)
                try:
                    return _Forward(graph, tangents, staged=masked).run()
                finally:
                    reset_stage_decisions(token)
            return decided_pass(bad, list(tangents), run)
    return _Forward(graph, tangents).run()


class _Forward:
    """One forward pass of tangents through a linear graph. ``given``: the structural zeros of
    some inputs' tangents (a body's, ``masked_graph``); a body's other inputs hold none."""
    __slots__ = ("graph", "env", "loose", "producer", "memo", "in_body", "staged")

    def __init__(self, graph, tangents, given=None, staged=None):
        self.graph = graph
        self.env = dict(zip(graph.invars, tangents))
        self.producer = {}
        self.in_body = given is not None
        self.staged = staged        # the pass's decision for factors known only when run
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
            if _loose_forward(eqn, in_loose, placed):
                loose.update(eqn.outvars)
            if prim.multiple_results:
                env.update(zip(eqn.outvars, out))
            else:
                env[eqn.outvars[0]] = out
        return [self.env[v] if type(v) is Var else v.val for v in self.graph.outvars]

    def undecided(self):
        """The staged predicates ("a factor is infinite somewhere") of the safe products and
        scans this pass would reach with a loose tangent where the factors are known only
        when the staged program runs: a dry run of ``run``'s flags."""
        zero = {v for v, t in self.env.items() if type(t) is Zero}
        loose = set(self.loose)
        found = []
        for eqn in self.graph.eqns:
            ins = [x for x in eqn.inputs if type(x) is Var]
            if all(x in zero for x in ins):
                zero.update(eqn.outvars)
                continue
            in_loose = any(x in loose for x in ins)
            prim = eqn.prim
            if in_loose and prim.strict_transpose is not None and factor_staged(eqn):
                found.append(_factor_infinite(eqn))
            elif in_loose and prim.name in HELD and not HELD[prim.name].flags(eqn) and any(
                    holds_safe_products(g) for g in held_graphs(eqn)):
                bad = HELD[prim.name].infinite(eqn)
                if bad is not True and bad is not False:
                    found.append(bad)
            if _loose_forward(eqn, in_loose, any(x in zero for x in ins)):
                loose.update(eqn.outvars)
        return found

    def _masked(self, eqn, vals):
        """The safe product ``eqn`` on loose tangents where its factor may be infinite: 0 at
        the structural zeros of the tangent, the plain product elsewhere (decided when the
        staged program runs where the factor is known only then; in a body, where the masks
        are at hand, always element by element)."""
        def masked(t, push):
            s = np.logical_and(push.mask(eqn.inputs[0]), np.equal(t, 0))
            return _plain(eqn.prim, strict_operands(eqn.prim.name, t, vals[1], s))

        known = infinite_factor(eqn)
        if known or self.in_body or known is None and self.staged:
            return masked(vals[0], self)
        if known is None and self.staged is None and decide_when_run():
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
            return self._held_masked(eqn, vals, linear_values(eqn, vals), self)
        # a scan's staged predicate is part of the pass's decision where there is one
        bad = rule.infinite(eqn) if self.staged is None or rule.flags(eqn) else self.staged
        if bad is FLAG:
            outs, bad = rule.flagged(eqn, vals)
            bad = known_flag(bad)

            def plain(v):
                return outs
        else:
            def plain(v):
                return bind(eqn.prim, *with_linear_values(eqn, vals, v), **eqn.params)
        if bad is False:
            return plain(linear_values(eqn, vals))
        if bad is True or not decide_when_run():
            return self._held_masked(eqn, vals, linear_values(eqn, vals), self)
        return staged_decision(bad, linear_values(eqn, vals), self,
                               lambda v, push: self._held_masked(eqn, vals, v, push), plain)

    def _held_masked(self, eqn, vals, v, push):
        """The held ``eqn`` run with its tangents ``v`` and their masks (``push``'s); the
        masks of its results kept where ``push`` is this pass."""
        outs, masks = HELD[eqn.prim.name].masked(eqn, with_linear_values(eqn, vals, v),
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
        other.in_body, other.staged = self.in_body, self.staged
        other.memo = dict(self.memo) if self.in_body else {}     # a body's: its inputs' masks
        return other

    def mask(self, v):
        """True where the tangent of ``v`` is a structural zero (the seeds do not reach it)."""
        found = self.memo.get(v)
        return found if found is not None else resolve(self.memo, v, self._needs, self._mask)

    def _needs(self, v):
        """The variables whose masks ``_mask(v)`` reads: the producing equation's inputs."""
        eqn = self.producer.get(v)
        if eqn is None or v not in self.loose or type(self.env[v]) is Zero or (
                eqn.prim.name not in HELD and (_opaque(eqn.prim) or (
                    eqn.prim.name in NONE_STRUCTURAL and not eqn.by_constant))):
            return ()
        return [x for x in eqn.inputs if type(x) is Var and x in self.loose]

    def _mask(self, v):
        value = self.env[v]
        shape = v.aval.shape
        eqn = self.producer.get(v)
        if type(value) is Zero:
            return np.ones(shape, bool)
        if v not in self.loose:
            return np.zeros(shape, bool)
        if eqn is None:                         # an input: the seed's zeros
            return np.equal(value, 0)
        if eqn.prim.name in HELD:               # a loop or branch: through its body
            vals = [instantiate(self.env[x]) if type(x) is Var else x.val for x in eqn.inputs]
            self._held_masked(eqn, vals, linear_values(eqn, vals), self)
            result = self.memo.get(v)
            return np.equal(value, 0) if result is None else result
        if _opaque(eqn.prim):
            return np.equal(value, 0)
        if eqn.prim.name in NONE_STRUCTURAL and not eqn.by_constant:
            return np.zeros(shape, bool)
        ones = eqn.prim.name in COEFFICIENT and not eqn.by_constant
        args = [self._indicator(x) if type(x) is Var else
                (np.ones(np.shape(x.val)) if ones else x.val) for x in eqn.inputs]
        return np.equal(bind(eqn.prim, *args, **eqn.params), 0)

    def output_mask(self, v, shape):
        """The structural zeros of an output ``v`` of the graph (a Var or a literal)."""
        if type(v) is not Var:
            return np.broadcast_to(np.equal(v.val, 0), shape)
        return np.broadcast_to(self.mask(v), shape)

    def _indicator(self, x):
        return np.logical_not(self.mask(x)).astype(real_dtype(x.aval.dtype))


def _loose_forward(eqn, in_loose, placed):
    """The forward rule of the NaN-safe products (``loose_after``'s twin): whether ``eqn``'s
    results' tangents may hold a structural zero, given whether a tangent it takes may
    (``in_loose``) and whether one of them is a symbolic zero it places (``placed``)."""
    zs = eqn.prim.zero_safety
    return in_loose or eqn.by_constant or "no-new-zeros" not in zs or (
        placed and "pass-constants" not in zs)


def _plain(prim, vals):
    """The safe product as a plain one (NaN at 0 * inf)."""
    return np.multiply(*vals) if prim.name == "safe_mul" else np.true_divide(*vals)
