"""Symbolic zeros.

A tangent or cotangent that is zero by structure (the derivative of a constant, the cotangent of
an output nobody used) is represented by ``Zero(aval)`` rather than an array of zeros.
Interpreters test for it and skip work: a JVP whose input tangents are all Zero does not run its
rule at all, and the backward pass skips an equation whose output cotangents are all Zero.
"""
import contextvars

import numpy as np

from . import dispatch
from .arrays import is_foreign, zeros_like_aval
from .avals import ShapedArray
from .primitive import Primitive, bind
from .tracer import PrimalTracer, Tracer


class AvalMarker:
    """A stand-in that has only an aval: the shared base of Zero and UndefPrimal."""
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    @property
    def shape(self):
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    def __repr__(self):
        return f"{type(self).__name__}({self.aval})"


class Zero(AvalMarker):
    """A structurally zero tangent or cotangent."""
    __slots__ = ()


def instantiate(t):
    """Turn a symbolic Zero into a real array of zeros; pass anything else through."""
    if type(t) is Zero:
        return zeros_like_aval(t.aval)
    return t


def tangent_aval(aval):
    """The aval of a tangent (or cotangent) for a primal of the given aval."""
    return ShapedArray(aval.shape, aval.dtype) if aval.weak_type else aval


class UndefPrimal(AvalMarker):
    """Marks the linear argument of a transpose rule (its value is what is being solved for)."""
    __slots__ = ()


def is_undefined(x):
    return type(x) is UndefPrimal


def add_tangents(a, b):
    """Sum of two tangents (or cotangents) of the same aval, skipping symbolic zeros."""
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    return bind(add_any_p, a, b)


# add_any_p: the one primitive the core itself needs, to accumulate tangents and cotangents.
# Its operands always have the same shape (no broadcasting), so its rules are trivial.
add_any_p = Primitive("add_any", linear_in=(0, 1))
add_any_p.impl = lambda a, b: a + b
add_any_p.abstract_eval = lambda a, b: ShapedArray(a.shape, a.dtype)
add_any_p.jvp = lambda primals, tangents: (bind(add_any_p, *primals),
                                           add_tangents(*tangents))
add_any_p.transpose = lambda ct, a, b: (ct, ct)
add_any_p.deriv_class = ("linear", "linear")


def add_any_batch(vals, dims):
    """vmap: both operands have the same per-example shape; put their batch axes first."""
    vals = [v if d is None or d == 0 else np.moveaxis(v, d, 0) for v, d in zip(vals, dims)]
    return bind(add_any_p, *vals) if all(d is not None for d in dims) else vals[0] + vals[1], 0


add_any_p.batch = add_any_batch


# -- structural zeros and the NaN-safe products ---------------------------------------------------
# A zero-safe product (ops.arithmetic.safe_mul) turns 0 * inf into 0. That is right only where the
# zero is structural (a seed that does not reach the element, the branch np.where did not take, a
# constant mask) and wrong where it is a derivative vanishing at this point. The forward pass
# runs "strict" (plain products, NaN at 0 * inf) while no tangent it combines can hold a
# structural zero; interpreters/forward.py sets the flag, the JVP rules read it (tangent_scale).
_strict = contextvars.ContextVar("chainrule_strict_products", default=False)
# True while a JVP rule runs with an operand that has no tangent and may hold a zero (a 0/1
# mask): the equations it stages are marked ``Eqn.by_constant`` (core/graph.py)
by_constant_mark = contextvars.ContextVar("chainrule_by_constant", default=False)


def strict_products():
    """Whether the JVP rule running now may apply its infinite factors with plain products."""
    return _strict.get()


# A loose tangent (it may hold structural zeros) meeting an infinite factor at one of its zeros
# cannot be decided per tracer: ``jvp`` watches for it (``watch_ambiguous``) and, where it
# happens, computes again by linearize and structural.forward_pass, which decides per element.
_watch = contextvars.ContextVar("chainrule_watch_ambiguous", default=False)


# Where the factor is known only when a staged program runs, the decision is staged too (a cond,
# interpreters/structural.py), but not inside the bodies of loops, branches and custom rules,
# whose graphs are staged once for every use (graphs.close): there the zero-safe product stands,
# as the structural zeros of their incoming cotangents are not known inside them either; a scan
# body's transpose that is told which incoming cotangents may hold one decides again
# (graphs.transpose_graph).
_stage_decisions = contextvars.ContextVar("chainrule_stage_decisions", default=True)


def stage_decisions(flag):
    return _stage_decisions.set(flag)


reset_stage_decisions = _stage_decisions.reset


def decide_when_run():
    """Whether an undecided zero-safe product may stage its decision here (not in a body)."""
    return _stage_decisions.get()


# While ``jvp`` linearizes to decide element by element (watch_ambiguous), the linear map is
# applied once, forward: loops are then staged whole (their tangents computed with the primal
# values recomputed in the loop) rather than storing every step's residuals, so a jvp through
# a long loop keeps the memory of one step (ops/loops.py).
_forward_only = contextvars.ContextVar("chainrule_forward_only", default=False)


def forward_only(flag=None):
    """Whether loops being linearized now are for a forward pass only (with ``flag``: set it,
    returning the token for ``reset_forward_only``)."""
    return _forward_only.get() if flag is None else _forward_only.set(flag)


reset_forward_only = _forward_only.reset


# While the backward pass runs the transpose rule of a primitive with several results (a loop),
# which of their cotangents may hold a structural zero: scan's rule passes that into its body.
_incoming_loose = contextvars.ContextVar("chainrule_incoming_loose", default=None)


def set_incoming_loose(flags):
    return _incoming_loose.set(flags)


reset_incoming_loose = _incoming_loose.reset


def incoming_loose():
    """Per result of the equation being transposed, whether its cotangent may hold a
    structural zero (None where the rule is not called by the backward pass: all may)."""
    return _incoming_loose.get()


class AmbiguousZero(Exception):
    """Internal: a zero-safe product met an infinite factor at a zero of a loose tangent."""


def watch_ambiguous(flag=True):
    return _watch.set(flag)


reset_watch_ambiguous = _watch.reset


def check_ambiguous(t, c, divide=False):
    """Raise AmbiguousZero where ``jvp`` watches and the tangent ``t`` is 0 where the factor
    ``c`` is infinite (or, dividing, 0 or NaN), or where that is not known until the staged
    program runs (``jit``): the values are seen through the tracers that carry them (``peek``)."""
    if not _watch.get() or linear_unknown(t):
        return
    bad = infinite_somewhere(c, divide)
    if bad is False:
        return
    t = peek(t)
    if bad is None or isinstance(t, Tracer):
        if decide_when_run():
            raise AmbiguousZero()
        return
    c = peek(c)
    if is_concrete(t) and np.any(np.equal(t, 0) & _infinite(c, divide)):
        raise AmbiguousZero()


def check_ambiguous_body(graphs, tangents):
    """jvp's watch for a loop, branch or checkpoint reached by a loose tangent: where its body
    (the JVP ``graphs``) holds zero-safe products, their zeros cannot be told apart inside it
    (a body is staged once for all its uses), so ``jvp`` computes again by linearize, whose
    forward pass carries the structural zeros through the body (interpreters/structural.py)."""
    if _watch.get() and not _strict.get() and decide_when_run() and not any(
            linear_unknown(t) for t in tangents) and any(
            dispatch.hooks["graphs"].holds_safe_products(g) for g in graphs):
        raise AmbiguousZero()


def _infinite(c, divide):
    """Where the factor ``c`` of a product (or, ``divide``, of a quotient) is infinite."""
    with np.errstate(invalid="ignore"):
        return (np.equal(c, 0) | np.isnan(c)) if divide else ~np.isfinite(c)


def strict_operands(name, x, c, s):
    """The operands with which the plain product (``name``: "safe_mul" or "safe_div") of a
    tangent or cotangent ``x`` and a factor ``c`` gives the safe product's answer except where
    ``x`` is 0 at an infinite factor and ``s`` (a structural zero there) is False: NaN there.
    The factor is 1 where ``s``; a product's ``x`` is 0 where the factor is 0 (the safe
    product's 0 * inf = 0 in the factor, which the per-element decision leaves as it is)."""
    if name == "safe_mul":
        x = np.where(np.equal(c, 0), 0.0, x)
    return x, np.where(s, 1.0, c)


def linear_unknown(x):
    """Whether ``x`` is, beneath its tracers, a value linearize stages as unknown: a tangent
    its linear map receives only later (a custom JVP rule's, or ``jvp`` called inside
    ``grad``). Its zeros cannot be told apart here without making that map non-linear, so
    the zero-safe products stand for it."""
    v = peek(x)
    return isinstance(v, Tracer) and getattr(v._interp, "partial", False)


def peek(x):
    """The innermost value beneath ``x`` (``Tracer.beneath``, level by level): concrete where
    every interpreter down the stack carries one, else a tracer being staged; ``x`` itself if
    not a tracer."""
    while isinstance(x, Tracer):
        below = x.beneath()
        if below is None:
            return x
        x = below
    return x


def carries_derivative(x):
    """Whether a forward-mode or Taylor tracer (which an outer transformation differentiates)
    is in ``x``'s stack: where none is, a product's zero-safety matters only at this level."""
    while isinstance(x, Tracer):
        if isinstance(x, PrimalTracer):
            return True
        x = x.beneath()
    return False


def infinite_somewhere(c, divide=False):
    """Whether the derivative factor ``c`` is infinite somewhere (dividing: 0 or NaN somewhere):
    True or False where its value is known here (also beneath forward-mode and vmap tracers),
    None where it is known only when a staged program runs (``jit``). A lazy array of another
    library is never computed: False, the zero-safe product's assumption."""
    v = peek(c)
    if is_concrete(v):
        with np.errstate(invalid="ignore"):
            return bool(any_infinite(v, divide))
    return None if isinstance(v, Tracer) else False


def any_infinite(c, divide=False):
    """The scalar "``c`` is infinite somewhere" (dividing: 0 or NaN somewhere), for a value or
    a tracer (the staged decision's predicate, interpreters/structural.py): ``_infinite``
    reduced, without negating a whole array where the factor multiplies."""
    if divide:
        return np.any(np.equal(c, 0) | np.isnan(c))
    return np.logical_not(np.all(np.isfinite(c)))


def any_of(flags):
    """The scalar OR of scalar ``flags`` (values or tracers), one ``logical_or`` after another:
    no array is built for them (a staged predicate runs once per loop step)."""
    out = flags[0]
    for f in flags[1:]:
        out = np.logical_or(out, f)
    return out


def is_concrete(x):
    """A NumPy array or scalar, or a Python number: a value known here (not a tracer, not a
    lazy array of another library), which the NaN-safe rule may inspect."""
    return isinstance(x, (np.ndarray, np.generic, float, int, complex))


def loose_after(prim, out_loose, by_constant):
    """The reverse rule of the NaN-safe products: whether the cotangents an equation of ``prim``
    hands its inputs may hold a structural zero, given that of its output (``out_loose``) and
    whether it scales by a constant that may hold one (interpreters/transpose.py)."""
    return out_loose or by_constant or "no-new-zeros" not in prim.zero_safety


def transpose_rule(prim, out_loose):
    """The transpose rule the NaN-safe rule picks: the plain one of a safe product whose
    cotangent cannot hold a structural zero, else the primitive's own (None if it has none)."""
    if not out_loose and prim.strict_transpose is not None:
        return prim.strict_transpose
    return prim.transpose


def may_hold_zero(x):
    """Whether a value may hold an exact zero (a value not known here may: a tracer, or a lazy
    array of another library, which is never computed to find out)."""
    t = type(x)
    if t is float or t is int:
        return x == 0
    if t is np.ndarray:
        return not x.all()
    if isinstance(x, Tracer) or is_foreign(x):
        return True
    try:
        return not np.all(x)
    except Exception:
        return True


def call_rule(prim, rule, args, params, loose, constant, by_constant):
    """Run a forward rule (JVP or Taylor) of ``prim`` as the forward interpreters do: strict
    while no input tangent is ``loose`` (holds a structural zero), and with its staged linear
    equations marked where a ``constant`` operand that may hold a zero (``by_constant``) scales
    the tangent. Returns ``(result, loose)``, the second saying whether the result's tangent may
    hold a structural zero."""
    by_constant = by_constant and "pass-constants" not in prim.zero_safety
    mark = by_constant_mark.set(True) if by_constant else None
    strict = _strict.set(not loose)
    try:
        result = rule(*args, **params)
    finally:
        _strict.reset(strict)
        if mark is not None:
            by_constant_mark.reset(mark)
    return result, loose or by_constant or (constant and "no-new-zeros" not in prim.zero_safety)


# -- the structural part of one contribution to a cotangent --------------------------------------
# (used by interpreters/structural.py for graphs and by tensor/structural.py for the tape)
COEFFICIENT = frozenset({"mul", "div", "safe_mul", "safe_div", "dot_general"})
NONE_STRUCTURAL = frozenset({"fft", "rfft", "irfft", "solve", "triangular_solve"})


def structural_part(prim, params, out_mask, out_dtype, args, position, by_constant, shape):
    """True where the contribution of an equation of ``prim`` to the cotangent of its linear
    input ``position`` (of ``shape``) is a structural zero, given ``out_mask`` (True where the
    equation's own cotangent, of ``out_dtype``, is one) and ``args`` as its transpose rule
    takes them (an UndefPrimal for each linear input): the rule applied to the indicator of
    the elements that are not structural, a product by a derivative factor with the factor
    replaced by ones (a zero of the factor is a vanishing derivative, not structure) unless
    ``by_constant`` (the equation scales by a constant mask), and FFTs and solves (whose
    rules could cancel) counting no zero as structural."""
    if prim.name in NONE_STRUCTURAL and not by_constant:
        return np.zeros(shape, bool)
    indicator = np.logical_not(out_mask).astype(real_dtype(out_dtype))
    ones = prim.name in COEFFICIENT and not by_constant
    args = [a if type(a) is UndefPrimal else (np.ones(np.shape(a)) if ones else a)
            for a in args]
    part = prim.transpose(indicator, *args, **params)[position]
    if part is None or type(part) is Zero:
        return np.ones(shape, bool)
    return np.broadcast_to(np.equal(part, 0), shape)


def real_dtype(dtype):
    """The dtype of an indicator of a cotangent of ``dtype`` (a real float)."""
    dtype = np.dtype(dtype)
    return np.float64 if dtype.kind == "c" else dtype if dtype.kind == "f" else np.float64
