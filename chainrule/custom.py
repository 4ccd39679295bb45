"""Custom derivative rules: ``custom_jvp``, ``custom_vjp``, ``pure_callback``, and ``primitive`` for a
new operation with all its rules.

    @cr.custom_jvp                          @cr.custom_vjp
    def f(x, y): ...                        def g(x): ...
    @f.defjvp                               def g_fwd(x): return g(x), residuals
    def f_jvp(primals, tangents):           def g_bwd(residuals, ct): return (x_bar,)
        return f(*primals), out_dot         g.defvjp(g_fwd, g_bwd)

The signatures are JAX's. With ``nondiff_argnums`` the arguments at those positions are passed
unchanged (any Python object: a function, an int, an array that is not differentiated) and come
first: ``rule(*nondiff, primals, tangents)``, ``bwd(*nondiff, residuals, ct)``; ``primals``,
``tangents`` and bwd's result cover the other arguments only. Arguments and results are pytrees.

How they run. Called on plain values, the function itself runs (no staging, no rules). Called
with tracers, it is staged into a closed graph (``graphs.close``; values of enclosing
transformations it closes over become extra leading arguments) held by a primitive,
``custom_jvp_call`` or ``custom_vjp_call`` (ops/custom.py), whose rules call yours:

- forward mode: your JVP rule, on the primal values and the tangents (zeros instantiated);
- reverse mode of custom_jvp: derived, as for every primitive: your JVP rule is linearized and
  transposed, so it must be linear in the tangents (it is, if it is a JVP);
- reverse mode of custom_vjp: its JVP calls fwd and puts your bwd into the linear graph as the
  transpose of a primitive (custom_vjp_lin) whose only inputs are fwd's residuals; forward mode
  raises CustomVJPForwardModeError, as in JAX; higher orders differentiate bwd as ordinary code;
- vmap: the primitive is applied example by example (the batching interpreter's loop; a JVP rule
  run under vmap of a derivative is itself batched);
- jit: the generated code calls the primitive, which evaluates the staged graph;
- Taylor mode: nested JVPs of your JVP rule (custom_jvp; write it with chainrule's operations
  or NumPy on the arguments so that it is differentiable again); custom_vjp raises;
- sparsity: conservative, every output element depends on every input element.

Differentiating with respect to a value the function closes over (rather than takes as an
argument) raises CustomRuleError: your rule does not cover it.
"""
import functools

import numpy as np

from .core import ShapedArray, Tracer, get_aval, tangent_aval, tree_flatten, tree_unflatten
from .core.errors import CustomRuleError
from .core.primitive import Primitive, bind
from .interpreters.graphs import close
from .ops.custom import custom_jvp_call_p, custom_vjp_call_p, pure_callback_p

__all__ = ["custom_jvp", "custom_vjp", "pure_callback", "primitive", "UserPrimitive"]


def _name(fun):
    return getattr(fun, "__name__", "function")


def _has_tracer(leaves):
    return any(isinstance(x, Tracer) for x in leaves)


class _Call:
    """One call of a custom function: the split of its arguments into nondiff (passed through)
    and differentiable ones (flattened), and how to rebuild them."""

    def __init__(self, name, nondiff_argnums, args):
        n = len(args)
        for i in nondiff_argnums:
            if not -n <= i < n:
                raise CustomRuleError(f"{name}: nondiff_argnums={nondiff_argnums} but it was "
                                      f"called with {n} arguments")
        self.name = name
        self.nums = sorted({i % n for i in nondiff_argnums})
        self.nondiff = [args[i] for i in self.nums]
        self.dyn = tuple(a for i, a in enumerate(args) if i not in self.nums)
        self.leaves, self.tree = tree_flatten(self.dyn)
        self.out_tree = None
        self.out_avals = None

    def args(self, leaves):
        dyn = iter(tree_unflatten(self.tree, leaves))
        nondiff = dict(zip(self.nums, self.nondiff))
        return [nondiff[i] if i in nondiff else next(dyn)
                for i in range(len(self.nums) + len(self.dyn))]

    def primals(self, leaves):
        return tuple(tree_unflatten(self.tree, leaves))

    def stage(self, fun):
        """The closed graph of ``fun`` at these arguments, and the values it closes over."""
        def flat(ins):
            out_leaves, self.out_tree = tree_flatten(fun(*self.args(ins)))
            return out_leaves
        avals = [get_aval(x).strip_weak() for x in self.leaves]
        graph, consts = close(flat, avals)
        self.out_avals = [v.aval for v in graph.outvars]
        return graph, consts

    def check_out(self, out, what, tangent=False):
        """The leaves of a rule's result ``out``, checked against the function's output."""
        leaves, tree = tree_flatten(out)
        if tree != self.out_tree:
            raise CustomRuleError(f"{self.name}: {what} has structure {tree}, the function's "
                                  f"output {self.out_tree}")
        for i, (x, a) in enumerate(zip(leaves, self.out_avals)):
            want = tangent_aval(a) if tangent else a
            _check_leaf(self.name, f"{what} (leaf {i})", x, want)
        return leaves


def _check_leaf(name, what, x, want):
    if x is None:
        raise CustomRuleError(f"{name}: {what} is None; return zeros instead")
    got = get_aval(x)
    if got.shape != want.shape:
        raise CustomRuleError(f"{name}: {what} has shape {got.shape}, expected {want.shape}")
    if not got.weak_type and got.dtype != want.dtype:
        raise CustomRuleError(f"{name}: {what} has dtype {got.dtype}, expected {want.dtype}")


def _pair(name, what, res):
    if not (isinstance(res, (tuple, list)) and len(res) == 2):
        raise CustomRuleError(f"{name}: {what} must return a pair, got {type(res).__name__}")
    return res


class _CustomFunction:
    """What custom_jvp and custom_vjp share: the wrapped function, nondiff_argnums, and a call
    that runs the function itself on plain values and binds the primitive on tracers."""
    defines = None      # the method that defines the rule, for the error message

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)

    def __call__(self, *args):
        name = _name(self.fun)
        if not self._has_rule():
            raise CustomRuleError(f"{name}: no rule; define one with {name}.{self.defines}")
        call = _Call(name, self.nondiff_argnums, args)
        if not _has_tracer(tree_flatten(args)[0]):
            return self.fun(*args)
        graph, consts = call.stage(self.fun)
        outs = self._bind(call, graph, consts)
        return tree_unflatten(call.out_tree, outs)


class custom_jvp(_CustomFunction):
    """``custom_jvp(fun, nondiff_argnums=())``: ``fun`` with a JVP rule of your own, given by
    ``defjvp``. Called like ``fun`` (pytrees in and out); every transformation uses the rule.
    Usable as a decorator, ``@custom_jvp`` or ``@functools.partial(custom_jvp,
    nondiff_argnums=(0,))``."""

    defines = "defjvp"

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp):
        """``jvp(*nondiff, primals, tangents) -> (primal_out, tangent_out)``: ``primals`` and
        ``tangents`` are tuples with one entry per differentiable argument (same structure
        and shapes); ``tangent_out`` has the structure, shapes and dtypes of the output and
        must be linear in ``tangents``. Returns ``jvp``, so it works as a decorator."""
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        """One rule per differentiable argument, ``jvp_i(tangent_i, primal_out, *primals) ->
        its contribution to tangent_out`` (None: the output does not depend on it); the
        contributions are added. Arrays in, arrays out (no nondiff_argnums)."""
        if self.nondiff_argnums:
            raise CustomRuleError(f"{_name(self.fun)}: defjvps does not take nondiff_argnums; "
                                  "use defjvp")

        def jvp(primals, tangents):
            out = self(*primals)
            total = 0.0
            for rule, t in zip(jvps, tangents):
                if rule is not None:
                    total = total + rule(t, out, *primals)
            return out, total + np.zeros(np.shape(out), get_aval(out).dtype)
        self.defjvp(jvp)

    def _has_rule(self):
        return self.jvp is not None

    def _bind(self, call, graph, consts):
        return bind(custom_jvp_call_p, *consts, *call.leaves, graph=graph,
                    jvp=_flat_jvp(self.jvp, call), n_consts=len(consts), name=call.name)


def _flat_jvp(rule, call, tangents_only=False):
    """The user's JVP rule on flat lists, its results checked: ``(outs, out_dots)``, or only
    ``out_dots`` (``tangents_only``)."""
    def jvp(primals, tangents):
        res = rule(*call.nondiff, call.primals(primals), call.primals(tangents))
        out, out_dot = _pair(call.name, "the JVP rule", res)
        out_dots = call.check_out(out_dot, "the JVP rule's tangent output", tangent=True)
        if tangents_only:
            return out_dots
        return call.check_out(out, "the JVP rule's primal output"), out_dots
    return jvp


class custom_vjp(_CustomFunction):
    """``custom_vjp(fun, nondiff_argnums=())``: ``fun`` with a reverse-mode rule of your own,
    given by ``defvjp(fwd, bwd)``. Reverse mode (grad, vjp, jacrev, hessian) uses it; forward
    mode raises CustomVJPForwardModeError."""

    defines = "defvjp"

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.fwd = self.bwd = self.jvp = None

    def defvjp(self, fwd, bwd):
        """``fwd(*args) -> (out, residuals)`` (residuals: a pytree of arrays, or anything
        else, passed to bwd unchanged); ``bwd(*nondiff, residuals, ct) -> tuple`` of one
        cotangent per differentiable argument (its structure and shapes; None for zeros),
        where ``ct`` has the structure and shapes of ``out``."""
        self.fwd, self.bwd = fwd, bwd

    def defjvp(self, jvp):
        """Optional: a JVP rule as ``custom_jvp.defjvp`` takes, for forward mode (jvp, jacfwd,
        Taylor mode), which otherwise raises CustomVJPForwardModeError. Reverse mode still
        uses fwd and bwd. Returns ``jvp``."""
        self.jvp = jvp
        return jvp

    def _has_rule(self):
        return self.fwd is not None

    def _bind(self, call, graph, consts):
        name = call.name
        in_avals = [get_aval(x).strip_weak() for x in call.leaves]

        def fwd(primals):
            out, res = _pair(name, "fwd", self.fwd(*call.args(primals)))
            outs = call.check_out(out, "fwd's output")
            res_leaves, res_tree = tree_flatten(res)
            dyn = [i for i, r in enumerate(res_leaves) if _is_array(r)]

            def bwd(res_dyn, cts):
                full = list(res_leaves)
                for i, r in zip(dyn, res_dyn):
                    full[i] = r
                got = self.bwd(*call.nondiff, tree_unflatten(res_tree, full),
                               tree_unflatten(call.out_tree, cts))
                return _bwd_leaves(name, call, in_avals, got)
            return outs, [res_leaves[i] for i in dyn], bwd
        return bind(custom_vjp_call_p, *consts, *call.leaves, graph=graph, fwd=fwd,
                    jvp=self.jvp and _flat_jvp(self.jvp, call, tangents_only=True),
                    n_consts=len(consts), name=name)


def _is_array(x):
    return isinstance(x, (Tracer, np.ndarray, np.generic, float, complex)) or \
        (isinstance(x, int) and not isinstance(x, bool))


def _bwd_leaves(name, call, in_avals, got):
    """bwd's result as one cotangent leaf (or None) per differentiable input leaf."""
    n = len(call.dyn)
    if not isinstance(got, (tuple, list)) or len(got) != n:
        what = f"{len(got)} cotangent(s)" if isinstance(got, (tuple, list)) else \
            f"a {type(got).__name__}, not a tuple of cotangents,"
        raise CustomRuleError(
            f"{name}: bwd returned {what} for {n} differentiable argument(s); it must return "
            "a tuple with one cotangent per argument not in nondiff_argnums (None for zero)")
    leaves = []
    for k, (arg, ct) in enumerate(zip(call.dyn, got)):
        arg_leaves, arg_tree = tree_flatten(arg)
        if ct is None:
            leaves.extend([None] * len(arg_leaves))
            continue
        ct_leaves, ct_tree = tree_flatten(ct)
        if ct_tree != arg_tree:
            raise CustomRuleError(f"{name}: bwd's cotangent {k} has structure {ct_tree}, its "
                                  f"argument {arg_tree}")
        leaves.extend(ct_leaves)
    for i, (c, a) in enumerate(zip(leaves, in_avals)):
        if c is not None:
            _check_leaf(name, f"bwd's cotangent leaf {i}", c, tangent_aval(a))
    return leaves


def pure_callback(fun, result_shape_dtypes, *args, name=None):
    """Call ``fun(*args)`` on plain NumPy arrays, even inside jit or vmap: code chainrule cannot
    trace (a SciPy solver, a compiled library). ``result_shape_dtypes``: an array (or pytree of
    arrays, or objects with ``shape`` and ``dtype``) describing what ``fun`` returns. It has no
    derivative: give the function that calls it one with ``custom_jvp`` or ``custom_vjp``.
    Under vmap it runs once per example; ``fun`` must be pure (the same inputs, the same
    result), since jit may run it once for constant inputs."""
    shapes, out_tree = tree_flatten(result_shape_dtypes)
    out_avals = tuple(ShapedArray(np.shape(s), s.dtype) for s in shapes)
    leaves, in_tree = tree_flatten(args)

    def flat(*xs):
        out = fun(*tree_unflatten(in_tree, list(xs)))
        return tree_flatten(out)[0]
    outs = bind(pure_callback_p, *leaves, fun=flat, out_avals=out_avals,
                name=name or _name(fun))
    return tree_unflatten(out_tree, outs)


# -- user primitives ---------------------------------------------------------------------------
class UserPrimitive(Primitive):
    """A primitive defined outside chainrule, with the same rule slots as chainrule's own
    (core/primitive.py): ``impl``, ``abstract_eval``, ``jvp``, ``transpose``, ``batch``,
    ``taylor``, ``deriv_class``, ``sparsity``. Calling it binds it: ``p(*arrays, **params)``.
    The slots can also be filled with decorators: ``@p.def_jvp``, ``@p.def_transpose``, ..."""
    __slots__ = ("__dict__",)

    def __call__(self, *args, **params):
        return bind(self, *args, **params)

    def _setter(slot):
        def define(self, rule):
            setattr(self, slot, rule)
            return rule
        define.__name__ = f"def_{slot}"
        define.__doc__ = f"Set the {slot} rule (usable as a decorator); returns it."
        return define

    def_impl = _setter("impl")
    def_abstract_eval = _setter("abstract_eval")
    def_jvp = _setter("jvp")
    def_transpose = _setter("transpose")
    def_batch = _setter("batch")
    def_taylor = _setter("taylor")
    del _setter


def _abstract_eval_by_running(prim):
    """A shape rule that runs the implementation on zeros (costs one evaluation per staging)."""
    def abstract_eval(*avals, **params):
        out = prim.impl(*[np.zeros(a.shape, a.dtype) for a in avals], **params)
        if prim.multiple_results:
            return [get_aval(o).strip_weak() for o in out]
        return get_aval(out).strip_weak()
    return abstract_eval


def primitive(name, impl, *, abstract_eval=None, jvp=None, transpose=None, batch=None,
              taylor=None, multiple_results=False, linear_in=(), deriv_class=None,
              sparsity=None):
    """A new operation with all its rules in one place, written as chainrule's own ops are:

        impl(*arrays, **params)                    plain NumPy on plain arrays
        abstract_eval(*avals, **params)            output ShapedArray(s) (default: run impl
                                                   on zeros of the input shapes)
        jvp(primals, tangents, **params)           -> (out, out_tangent); tangents may be
                                                   symbolic Zero; write it with chainrule's
                                                   operations (NumPy on the arguments works)
                                                   so that it is differentiable again
        transpose(ct, *args, **params)             for a primitive linear in ``linear_in``:
                                                   one cotangent (or None) per argument;
                                                   linear arguments come as UndefPrimal
        batch(vals, dims, **params)                -> (out, out_dim) for vmap (default: a loop
                                                   over the examples)
        taylor(primals, series, **params)          Taylor mode (default: derived from jvp)

    ``deriv_class`` (per argument "zero", "linear" or "nonlinear") and ``sparsity`` feed
    sparsity detection (default: conservative, every output reads every input). Reverse mode
    needs no rule: it is jvp, linearized and transposed. Returns a callable ``UserPrimitive``:
    ``p(*arrays, **params)``. Check its rules with ``chainrule.testing.check_primitive``."""
    p = UserPrimitive(name, multiple_results=multiple_results, linear_in=linear_in)
    p.impl = impl
    p.abstract_eval = abstract_eval or _abstract_eval_by_running(p)
    p.jvp, p.transpose, p.batch, p.taylor = jvp, transpose, batch, taylor
    p.deriv_class = deriv_class or ("nonlinear",)
    p.sparsity = sparsity
    return p
