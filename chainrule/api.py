"""The functional API: grad, value_and_grad, jvp, vjp, linearize, jacfwd, jacrev, jacobian,
hessian, hvp, stop_gradient.

Pytrees and ``argnums`` are handled here and only here: each transformation flattens its inputs,
calls a ``*_flat`` driver of the interpreters, and rebuilds the outputs. Inputs may be Python
floats and ints (taken as float64), NumPy arrays and scalars, or tracers of an enclosing
transformation (that is how transformations nest); outputs mirror inputs, so a Python float in
gives a Python float out.
"""
import numbers

import numpy as np

from .core import (InvalidArgumentError, NonDifferentiableInputError, NonScalarOutputError,
                   ShapeMismatchError, Tracer, Zero, eval_graph, get_aval, instantiate,
                   is_differentiable_dtype, tree_flatten, tree_map, tree_unflatten)
from .interpreters.forward import jvp_flat
from .interpreters.partial_eval import linearize_flat
from .interpreters.reverse import vjp_flat
from .interpreters.transpose import backward_pass
from .ops import control

__all__ = ["grad", "value_and_grad", "jvp", "vjp", "linearize", "jacfwd", "jacrev", "jacobian",
           "hessian", "hvp", "stop_gradient"]


# -- the edge: argnums, pytrees, input conversion --------------------------------------------
def _as_input(x, what):
    """Validate and convert one differentiated leaf. Python ints and floats become float64."""
    if isinstance(x, bool):
        raise NonDifferentiableInputError(f"{what}: a bool is not differentiable")
    if isinstance(x, numbers.Integral) and not isinstance(x, np.integer):
        return np.float64(x)
    if isinstance(x, float):
        return np.float64(x)
    if not isinstance(x, Tracer) and not hasattr(x, "dtype"):
        try:
            x = np.asarray(x)
        except Exception:
            raise NonDifferentiableInputError(f"{what}: cannot differentiate with respect to a "
                                              f"{type(x).__name__}") from None
    dtype = get_aval(x).dtype
    if not is_differentiable_dtype(dtype):
        raise NonDifferentiableInputError(
            f"{what}: inputs must be floating point to be differentiated, got dtype {dtype}; "
            "convert with x.astype(float) (integers and booleans carry no derivative)")
    return x


def _mirror(value, like):
    """Give a result the type of the input it belongs to: Python float in, Python float out."""
    if type(value) is Zero:
        value = instantiate(value)
    if isinstance(like, (float, numbers.Integral)) and not isinstance(like, (np.generic, bool)) \
            and not isinstance(value, Tracer) and np.ndim(value) == 0:
        return float(value)
    if isinstance(like, np.ndarray) and not isinstance(value, (np.ndarray, Tracer)):
        return np.asarray(value)
    return value


def _split_args(fname, args, argnums):
    """-> (dynamic args as a tuple of pytrees, function rebuilding the full argument list)."""
    single = isinstance(argnums, numbers.Integral)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise InvalidArgumentError(f"{fname}: argnums is empty")
    for n in nums:
        if not isinstance(n, numbers.Integral) or not -len(args) <= n < len(args):
            raise InvalidArgumentError(
                f"{fname}: argnums={argnums} but the function was called with {len(args)} "
                "positional argument(s)")
    nums = tuple(n % len(args) for n in nums)
    dyn = tuple(args[n] for n in nums)

    def rebuild(dyn_values):
        full = list(args)
        for n, v in zip(nums, dyn_values):
            full[n] = v
        return full
    return (dyn[0] if single else dyn), single, rebuild


def _flat_inputs(fname, tree):
    leaves, treedef = tree_flatten(tree)
    return [_as_input(x, f"{fname}") for x in leaves], leaves, treedef


# -- reverse mode ---------------------------------------------------------------------------
def value_and_grad(fun, argnums=0, has_aux=False):
    """``value_and_grad(f)(*args) -> (f(*args), gradient)``.

    ``f`` must return a scalar (a 0-d float), or ``(scalar, aux)`` with ``has_aux=True``, in which
    case the result is ``((value, aux), gradient)``. The gradient has the structure and shapes
    of ``args[argnums]`` (a tuple of those when ``argnums`` is a tuple)."""
    def value_and_grad_fun(*args, **kwargs):
        dyn, single, rebuild = _split_args("grad", args, argnums)
        leaves, orig, treedef = _flat_inputs("grad", dyn)
        aux_box = []

        def flat_fun(ins):
            dyn_vals = tree_unflatten(treedef, ins)
            out = fun(*rebuild((dyn_vals,) if single else dyn_vals), **kwargs)
            if has_aux:
                if not (isinstance(out, (tuple, list)) and len(out) == 2):
                    raise InvalidArgumentError(
                        "has_aux=True: the function must return a pair (output, aux)")
                out, aux = out
                aux_leaves, aux_def = tree_flatten(aux)
                aux_box.append(aux_def)
                return [out] + aux_leaves
            return [out]

        outs, vjp_fn = vjp_flat(flat_fun, leaves)
        out = outs[0]
        aval = get_aval(out)
        if aval.shape != ():
            raise NonScalarOutputError(
                f"grad requires a function with a scalar output, but the output has shape "
                f"{aval.shape}; use chainrule.jacobian for the full Jacobian or chainrule.vjp "
                "for a vector-Jacobian product")
        if not is_differentiable_dtype(aval.dtype):
            raise NonScalarOutputError(f"grad requires a floating-point output, got {aval.dtype}")
        cts = [np.ones((), aval.dtype)] + [Zero(get_aval(a)) for a in outs[1:]]
        grads = [_mirror(g, o) for g, o in zip(vjp_fn(cts), orig)]
        g = tree_unflatten(treedef, grads)
        value = _mirror(out, 0.0 if all(isinstance(o, float) for o in orig) else None)
        if has_aux:
            return (value, tree_unflatten(aux_box[0], outs[1:])), g
        return value, g
    _name(value_and_grad_fun, "value_and_grad", fun)
    return value_and_grad_fun


def grad(fun, argnums=0, has_aux=False):
    """``grad(f)(*args)``: the gradient of scalar-valued ``f`` with respect to ``args[argnums]``
    (same structure and shapes). With ``has_aux=True`` ``f`` returns ``(scalar, aux)`` and the
    result is ``(gradient, aux)``. Computed in reverse mode (linearize, then transpose)."""
    vg = value_and_grad(fun, argnums, has_aux)

    def grad_fun(*args, **kwargs):
        (value, g) = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    _name(grad_fun, "grad", fun)
    return grad_fun


def vjp(fun, *primals, has_aux=False):
    """``vjp(f, *primals) -> (out, vjp_fn)``; ``vjp_fn(ct)`` returns a tuple with one cotangent per
    primal (``J^T ct``), where ``ct`` has the structure and shapes of ``out``. With
    ``has_aux=True`` returns ``(out, vjp_fn, aux)``."""
    leaves, orig, treedef = _flat_inputs("vjp", primals)
    box = []

    def flat_fun(ins):
        out = fun(*tree_unflatten(treedef, ins))
        if has_aux:
            out, aux = out
            aux_leaves, aux_def = tree_flatten(aux)
        else:
            aux_leaves, aux_def = [], None
        out_leaves, out_def = tree_flatten(out)
        box[:] = [out_def, len(out_leaves), aux_def]
        return out_leaves + aux_leaves

    outs, vjp_flat_fn = vjp_flat(flat_fun, leaves)
    out_def, n_out, aux_def = box
    out_avals = [get_aval(o) for o in outs[:n_out]]

    def vjp_fn(ct):
        ct_leaves, ct_def = tree_flatten(ct)
        if ct_def != out_def:
            raise ShapeMismatchError(f"vjp: the cotangent has structure {ct_def}, the output "
                                     f"{out_def}")
        for c, a in zip(ct_leaves, out_avals):
            if get_aval(c).shape != a.shape:
                raise ShapeMismatchError(f"vjp: a cotangent has shape {get_aval(c).shape}, the "
                                         f"output it belongs to has shape {a.shape}")
        cts = list(ct_leaves) + [Zero(get_aval(a)) for a in outs[n_out:]]
        res = [_mirror(g, o) for g, o in zip(vjp_flat_fn(cts), orig)]
        return tuple(tree_unflatten(treedef, res))

    out = tree_unflatten(out_def, outs[:n_out])
    if has_aux:
        return out, vjp_fn, tree_unflatten(aux_def, outs[n_out:])
    return out, vjp_fn


# -- forward mode --------------------------------------------------------------------------
def _check_tangents(fname, primal_leaves, primal_def, tangents):
    t_leaves, t_def = tree_flatten(tangents)
    if t_def != primal_def:
        raise ShapeMismatchError(f"{fname}: tangents have structure {t_def}, primals "
                                 f"{primal_def}")
    out = []
    for p, t in zip(primal_leaves, t_leaves):
        t = _as_input(t, f"{fname} tangent")
        if get_aval(t).shape != get_aval(p).shape:
            raise ShapeMismatchError(f"{fname}: a tangent has shape {get_aval(t).shape}, its "
                                     f"primal has shape {get_aval(p).shape}")
        out.append(t)
    return out


def jvp(fun, primals, tangents):
    """``jvp(f, primals, tangents) -> (f(*primals), J tangents)``, in forward mode. ``primals``
    and ``tangents`` are tuples (or lists) of the same structure and shapes."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise InvalidArgumentError("jvp: primals and tangents must be tuples (or lists) of "
                                   "arguments, e.g. jvp(f, (x,), (v,))")
    leaves, orig, treedef = _flat_inputs("jvp", tuple(primals))
    t_leaves = _check_tangents("jvp", leaves, treedef, tuple(tangents))
    box = []

    def flat_fun(ins):
        out_leaves, out_def = tree_flatten(fun(*tree_unflatten(treedef, ins)))
        box.append(out_def)
        return out_leaves

    outs, out_tangents = jvp_flat(flat_fun, leaves, t_leaves)
    like = 0.0 if orig and all(isinstance(o, float) for o in orig) else None
    return (tree_unflatten(box[0], [_mirror(o, like) for o in outs]),
            tree_unflatten(box[0], [_mirror(t, like) for t in out_tangents]))


def linearize(fun, *primals):
    """``linearize(f, *primals) -> (out, jvp_fn)``: evaluates ``f`` once and returns the linear
    map ``jvp_fn(*tangents) = J tangents``, which can be applied many times without re-running
    ``f``."""
    leaves, orig, treedef = _flat_inputs("linearize", primals)
    box = []

    def flat_fun(ins):
        out_leaves, out_def = tree_flatten(fun(*tree_unflatten(treedef, ins)))
        box.append(out_def)
        return out_leaves

    outs, graph = linearize_flat(flat_fun, leaves)

    def jvp_fn(*tangents):
        t_leaves = _check_tangents("linearize", leaves, treedef, tangents)
        res = eval_graph(graph, t_leaves, linear=True)
        return tree_unflatten(box[0], [instantiate(r) for r in res])
    return tree_unflatten(box[0], outs), jvp_fn


# -- Jacobians and Hessians ------------------------------------------------------------------
def _basis(aval):
    """The standard basis of the space of arrays of ``aval``, one array per element."""
    n = aval.size
    eye = np.eye(n, dtype=aval.dtype)
    return [eye[i].reshape(aval.shape) for i in range(n)]


def _jacobian_flat(fun, leaves, mode):
    """Jacobian blocks ``jac[i][j]`` of flat output i with respect to flat input j, each of shape
    ``out_i.shape + in_j.shape``. ``fun``: flat list -> flat list."""
    outs, graph = linearize_flat(fun, leaves)
    in_avals = [get_aval(x) for x in leaves]
    out_avals = [get_aval(o) for o in outs]
    if mode == "auto":
        # one forward sweep per input element, or one backward sweep per output element
        n_in = sum(a.size for a in in_avals)
        n_out = sum(a.size for a in out_avals)
        mode = "fwd" if n_in <= n_out else "rev"
    blocks = [[None] * len(leaves) for _ in outs]
    if mode == "fwd":
        for j, a in enumerate(in_avals):
            cols = []
            for e in _basis(a):
                t = [Zero(b) if k != j else e for k, b in enumerate(in_avals)]
                cols.append([instantiate(r) for r in eval_graph(graph, t, linear=True)])
            for i, oa in enumerate(out_avals):
                col = [c[i] for c in cols]
                blk = np.stack(col, axis=-1) if not any(isinstance(c, Tracer) for c in col) \
                    else _stack_traced(col, axis=-1)
                blocks[i][j] = _reshape_any(blk, oa.shape + a.shape)
    else:
        for i, oa in enumerate(out_avals):
            rows = []
            for e in _basis(oa):
                ct = [Zero(b) if k != i else e for k, b in enumerate(out_avals)]
                rows.append([instantiate(r) for r in backward_pass(graph, ct)])
            for j, a in enumerate(in_avals):
                row = [r[j] for r in rows]
                blk = np.stack(row) if not any(isinstance(r, Tracer) for r in row) \
                    else _stack_traced(row, axis=0)
                blocks[i][j] = _reshape_any(blk, oa.shape + a.shape)
    return outs, blocks


def _stack_traced(xs, axis):
    from .numpy import stack
    return stack(xs, axis=axis)


def _reshape_any(x, shape):
    from .numpy import reshape
    return reshape(x, shape) if isinstance(x, Tracer) else np.reshape(x, shape)


def _jac_transform(fname, fun, argnums, mode):
    if mode not in ("auto", "fwd", "rev"):
        raise InvalidArgumentError(f"{fname}: mode must be 'auto', 'fwd' or 'rev', got {mode!r}")
    def jac_fun(*args, **kwargs):
        dyn, single, rebuild = _split_args(fname, args, argnums)
        leaves, orig, in_def = _flat_inputs(fname, dyn)
        box = []

        def flat_fun(ins):
            dyn_vals = tree_unflatten(in_def, ins)
            out = fun(*rebuild((dyn_vals,) if single else dyn_vals), **kwargs)
            out_leaves, out_def = tree_flatten(out)
            box.append(out_def)
            return out_leaves

        outs, blocks = _jacobian_flat(flat_fun, leaves, mode)
        out_def = box[0]
        per_out = [tree_unflatten(in_def, [_mirror(b, None) for b in row]) for row in blocks]
        return tree_unflatten(out_def, per_out)
    _name(jac_fun, fname, fun)
    return jac_fun


def jacfwd(fun, argnums=0):
    """The Jacobian of ``f`` with respect to ``args[argnums]`` in forward mode: for each output
    leaf, an array of shape ``out.shape + in.shape`` (per input leaf, as a pytree of the input's
    structure). Costs one tangent sweep per input element, after a single evaluation of f."""
    return _jac_transform("jacfwd", fun, argnums, "fwd")


def jacrev(fun, argnums=0):
    """The Jacobian of ``f`` in reverse mode (shapes as ``jacfwd``). Costs one backward sweep per
    output element, after a single evaluation of f."""
    return _jac_transform("jacrev", fun, argnums, "rev")


def jacobian(fun, argnums=0, mode="auto"):
    """The Jacobian of ``f`` (shapes as ``jacfwd``). ``mode="auto"`` picks forward mode when the
    inputs have fewer elements than the outputs and reverse mode otherwise; ``"fwd"`` and
    ``"rev"`` force one."""
    return _jac_transform("jacobian", fun, argnums, mode)


def hessian(fun, argnums=0):
    """The Hessian of scalar ``f``: shape ``in.shape + in.shape`` (per pair of input leaves),
    computed forward-over-reverse (``jacfwd(grad(f))``)."""
    return jacfwd(grad(fun, argnums), argnums)


def hvp(fun, x, v):
    """The Hessian-vector product ``H(x) v`` of scalar ``f`` at ``x`` without forming ``H``:
    forward mode over the reverse-mode gradient, one sweep."""
    return jvp(grad(fun), (x,), (v,))[1]


def stop_gradient(x):
    """``x`` (a pytree) with its derivative cut: every transformation sees a constant."""
    return tree_map(control.stop_gradient, x)


def _name(wrapper, kind, fun):
    wrapper.__name__ = f"{kind}({getattr(fun, '__name__', 'f')})"
    wrapper.__qualname__ = wrapper.__name__
    wrapper.__doc__ = getattr(fun, "__doc__", None)
    wrapper.__wrapped__ = fun
