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

from ..core import (COEFFICIENT, NONE_STRUCTURAL, UndefPrimal, Var, Zero, any_infinite, bind,
                    decide_when_run, dispatch, eval_graph, infinite_somewhere, instantiate,
                    may_hold_zero, real_dtype, structural_part)



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
        return eqn.prim.strict_transpose(ct, args[0], np.where(s, 1.0, args[1]), **eqn.params)[0]

    known = infinite_factor(eqn)
    if known:
        return masked(ct, zeros), None
    if known is False or not decide_when_run():     # finite, or in a body: zero-safe
        return rule(ct, *args, **eqn.params)
    return staged_decision(eqn, ct, zeros, masked,
                           lambda ct: rule(ct, *args, **eqn.params)[0]), None


def infinite_factor(eqn):
    """Whether the safe product ``eqn`` meets a factor that is infinite somewhere (a quotient:
    a divisor 0 or NaN): True or False where that is known here, None where it is known only
    when the staged program runs (core.zeros.infinite_somewhere)."""
    c = eqn.inputs[1]
    if type(c) is Var:
        return False
    return infinite_somewhere(c.val, divide=eqn.prim.name == "safe_div")


def staged_decision(eqn, value, zeros, masked, safe):
    """Where the factor of the safe product ``eqn`` is known only when the staged program runs:
    ``masked(value, zeros)`` (the element-by-element decision) if the factor is infinite
    somewhere then, else ``safe(value)`` (equal to it where the factor is finite everywhere),
    staged as a ``cond``. The seeds go into the branch as operands, so the masks are worked out
    inside it: the per-element work runs only where a factor is infinite."""
    bad = any_infinite(eqn.inputs[1].val, divide=eqn.prim.name == "safe_div")
    keys = zeros.seed_vars()
    seeds = [zeros.seed(k) for k in keys]
    return dispatch.hooks["cond"](bad,
                                  lambda v, *s: masked(v, zeros.branch(keys, s)),
                                  lambda v, *s: safe(v), value, *seeds)


# -- forward: pushing tangents through a linear graph (jacfwd) ----------------------------------
def forward_pass(graph, tangents):
    """``eval_graph(graph, tangents, linear=True)`` for a linear graph (linearize's), with the
    NaN-safe products decided as the backward pass decides them: plain while no input tangent
    may hold a structural zero; where a loose tangent meets an infinite factor, the tangent's
    structural zeros worked out element by element (the indicator of the elements the seeds
    reach, pushed through the producing equations)."""
    if not has_safe_products(graph):
        return eval_graph(graph, tangents, linear=True)
    push = _Forward(graph, tangents)
    return push.run()


class _Forward:
    __slots__ = ("graph", "env", "loose", "producer", "memo")

    def __init__(self, graph, tangents):
        self.graph = graph
        self.env = dict(zip(graph.invars, tangents))
        self.loose = {v for v, t in self.env.items() if type(t) is not Zero and may_hold_zero(t)}
        self.producer = {}
        self.memo = {}

    def run(self):
        env, loose = self.env, self.loose
        for eqn in self.graph.eqns:
            prim = eqn.prim
            vals = [env[x] if type(x) is Var else x.val for x in eqn.inputs]
            var_vals = [v for x, v in zip(eqn.inputs, vals) if type(x) is Var]
            for o in eqn.outvars:
                self.producer[o] = eqn
            if all(type(v) is Zero for v in var_vals):
                for o in eqn.outvars:
                    env[o] = Zero(o.aval)
                continue
            placed = any(type(v) is Zero for v in var_vals)
            vals = [instantiate(v) for v in vals]
            in_loose = any(type(x) is Var and x in loose for x in eqn.inputs)
            if prim.strict_transpose is not None and not in_loose:
                out = _plain(prim, vals)
            elif prim.strict_transpose is not None and infinite_factor(eqn) is not False:
                out = self._masked(eqn, vals)
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
        staged program runs where the factor is known only then)."""
        def masked(t, push):
            s = np.logical_and(push.mask(eqn.inputs[0]), np.equal(t, 0))
            return _plain(eqn.prim, [t, np.where(s, 1.0, vals[1])])

        def safe(t):
            return bind(eqn.prim, t, vals[1], **eqn.params)

        if infinite_factor(eqn):
            return masked(vals[0], self)
        return staged_decision(eqn, vals[0], self, masked, safe) if decide_when_run() else \
            safe(vals[0])

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
        other.memo = {}
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

    def _indicator(self, x):
        return np.logical_not(self.mask(x)).astype(real_dtype(x.aval.dtype))


def _plain(prim, vals):
    """The safe product as a plain one (NaN at 0 * inf)."""
    return np.multiply(*vals) if prim.name == "safe_mul" else np.true_divide(*vals)
