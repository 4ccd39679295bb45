"""Primitives and ``bind``.

A Primitive is an operation that chainrule knows how to differentiate. It holds every rule about
itself in one place; the interpreters read those slots and never import the ops that fill them:

    impl(*arrays, **params)                     raw NumPy on raw arrays (the evaluator)
    abstract_eval(*avals, **params) -> aval(s)  shape/dtype rule (staging, typechecking)
    jvp(primals, tangents, **params)            -> (primal_out, tangent_out); tangents may be Zero
    transpose(ct, *args, **params)              linear primitives only: args that are
                                                UndefPrimal are the linear inputs; returns one
                                                cotangent (or None) per argument
    taylor(primals, series, **params)           truncated Taylor propagation (jet)
    batch(args, dims, **params)                 vmap
    deriv_class                                 per-argument derivative structure for sparsity:
                                                "zero", "linear" or "nonlinear"
    sparsity(avals, values, **params)           which input elements each output element reads
                                                (interpreters/sparsity.py); None: elementwise
                                                families get theirs from _define, others fall
                                                back to "every output reads every input"
    partial_eval(stage, args, params)           primitives that hold a graph (loops, branches):
                                                called by a linearizing StagingInterpreter when
                                                some arguments are known values and others are
                                                its tracers; it computes what is known now and
                                                stages the rest (interpreters/staging.py)
    zero_safety                                 how the primitive takes part in the NaN-safe
                                                products (interpreters/transpose.py), a tuple of
                                                flags: "no-new-zeros" (its transpose puts no zero
                                                into a cotangent beyond those the incoming
                                                cotangent or a constant coefficient has: mul,
                                                sums, reshapes; select and slicing do), and
                                                "pass-constants" (a constant operand is added or
                                                placed, never multiplied: add, concatenate)
    strict_transpose                            the safe products only: the transpose used where
                                                no cotangent zero can come from an untaken branch

``bind`` is the single entry point used by every op: it finds the innermost interpreter among the
tracers in ``args`` and hands it the call. With no tracer among the arguments it calls the
implementation directly, so code that is not being differentiated pays almost nothing.
"""
from .errors import EscapedTracerError, MissingRuleError
from .tracer import Tracer


class Primitive:
    __slots__ = ("name", "multiple_results", "impl", "abstract_eval", "jvp", "transpose",
                 "taylor", "batch", "deriv_class", "sparsity", "linear_in", "partial_eval",
                 "zero_safety", "strict_transpose", "__weakref__")

    def __init__(self, name, *, multiple_results=False, linear_in=()):
        self.name = name
        self.multiple_results = multiple_results
        self.linear_in = tuple(linear_in)   # argument positions in which it is linear
        self.impl = None
        self.abstract_eval = None
        self.jvp = None
        self.transpose = None
        self.taylor = None
        self.batch = None
        self.deriv_class = None
        self.sparsity = None
        self.partial_eval = None
        self.zero_safety = ()
        self.strict_transpose = None

    def bind(self, *args, **params):
        return bind(self, *args, **params)

    def __repr__(self):
        return f"{self.name}_p"

    def rule(self, slot):
        """The rule in ``slot``, or a MissingRuleError naming the primitive and the slot."""
        r = getattr(self, slot)
        if r is None:
            raise MissingRuleError(f"primitive '{self.name}' has no {slot} rule")
        return r


def bind(prim, *args, **params):
    """Apply ``prim`` to ``args``: dispatch to the innermost interpreter among the tracers in
    ``args``, or run the implementation when there is none. Parameters are keyword-only and
    never contain tracers."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            interp = a._interp
            if top is None or interp.level > top.level:
                top = interp
    if top is None:
        return prim.impl(*args, **params)
    if not top.active:
        raise EscapedTracerError(
            f"a value traced by a finished {type(top).__name__} reached '{prim.name}'; "
            "a tracer escaped the function being differentiated (was it stored in a global "
            "or a closure that outlived the call?)")
    return top.process_primitive(prim, args, params)
