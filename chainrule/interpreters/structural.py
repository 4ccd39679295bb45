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

from ..core import (UndefPrimal, Var, Zero, bind, eval_graph, instantiate, is_concrete,
                    may_hold_zero)

_COEFFICIENT = frozenset({"mul", "div", "safe_mul", "safe_div", "dot_general"})
_NONE_STRUCTURAL = frozenset({"fft", "rfft", "irfft", "solve", "triangular_solve"})


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
        if prim.name in _NONE_STRUCTURAL and not eqn.by_constant:
            return np.zeros(shape, bool)
        if all(o not in self.loose for o in eqn.outvars) and not eqn.by_constant \
                and "no-new-zeros" in prim.zero_safety:
            return np.zeros(shape, bool)
        out = eqn.outvars[0]
        indicator = np.logical_not(self.mask(out)).astype(_real_dtype(out.aval.dtype))
        ones = prim.name in _COEFFICIENT and not eqn.by_constant
        args = [UndefPrimal(x.aval) if type(x) is Var else
                (np.ones(np.shape(x.val)) if ones else x.val) for x in eqn.inputs]
        part = prim.transpose(indicator, *args, **eqn.params)[position]
        if part is None or type(part) is Zero:
            return np.ones(shape, bool)
        return np.broadcast_to(np.equal(part, 0), shape)


def _real_dtype(dtype):
    dtype = np.dtype(dtype)
    return np.float64 if dtype.kind == "c" else dtype if dtype.kind == "f" else np.float64


def masked_safe_transpose(eqn, ct, args, zeros):
    """The safe product's transpose where its factor is infinite somewhere: 0 at the structural
    zeros of the cotangent, the plain product (NaN at 0 * inf) elsewhere."""
    s = zeros.mask(eqn.outvars[0])
    c = args[1]
    ct = np.where(s, 0.0, ct)
    c = np.where(s, 1.0, c)
    return eqn.prim.strict_transpose(ct, args[0], c, **eqn.params)


def infinite_factor(eqn):
    """Whether the safe product ``eqn`` meets a factor known here to be infinite somewhere."""
    c = eqn.inputs[1]
    if type(c) is Var:
        return False
    return is_concrete(c.val) and not np.all(np.isfinite(c.val))


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
            elif prim.strict_transpose is not None and infinite_factor(eqn):
                s = self.mask(eqn.inputs[0])
                out = _plain(prim, [np.where(s, 0.0, vals[0]), np.where(s, 1.0, vals[1])])
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
        elif eqn.prim.name in _NONE_STRUCTURAL and not eqn.by_constant:
            result = np.zeros(shape, bool)
        else:
            ones = eqn.prim.name in _COEFFICIENT and not eqn.by_constant
            args = [self._indicator(x) if type(x) is Var else
                    (np.ones(np.shape(x.val)) if ones else x.val) for x in eqn.inputs]
            result = np.equal(bind(eqn.prim, *args, **eqn.params), 0)
        self.memo[v] = result
        return result

    def _indicator(self, x):
        return np.logical_not(self.mask(x)).astype(_real_dtype(x.aval.dtype))


def _plain(prim, vals):
    """The safe product as a plain one (NaN at 0 * inf)."""
    return np.multiply(*vals) if prim.name == "safe_mul" else np.true_divide(*vals)
