"""The functional API: grad, value_and_grad, jvp, vjp, linearize, jacfwd, jacrev, jacobian,
hessian, hvp, stop_gradient.

Pytrees and ``argnums`` are handled here and only here: each transformation flattens its inputs,
calls a ``*_flat`` driver of the interpreters, and rebuilds the outputs. Inputs may be Python
floats and ints (taken as float64), NumPy arrays and scalars, or tracers of an enclosing
transformation (that is how transformations nest); outputs mirror inputs, so a Python float in
gives a Python float out.
"""
import contextlib
import functools
import numbers

import numpy as np

from .core.arrays import array_scope, check_same_chunks, is_foreign, like_input
from .core.errors import ComplexOutputError
from .core import (AmbiguousZero, InvalidArgumentError, NonDifferentiableInputError,
                   NonScalarOutputError, ShapeMismatchError, Tracer, Zero, broadcast_prefix,
                   forward_only, get_aval, instantiate, is_differentiable_dtype,
                   reset_forward_only, reset_watch_ambiguous, tangent_aval, tree_flatten,
                   tree_map, tree_unflatten, watch_ambiguous)
from .core.graph import graph_phase
from .interpreters.batching import SEED, unit_seeds, vmap_flat
from .interpreters.forward import jvp_flat
from .interpreters.partial_eval import linearize_flat
from .interpreters.reverse import vjp_flat
from .interpreters.taylor import instantiate_series, jet_flat
from .interpreters.transpose import backward_pass
from .interpreters.structural import forward_pass
from .interpreters import graphs as _graphs  # noqa: F401  (graph transformations for ops that hold graphs)
from .ops import control

__all__ = ["grad", "value_and_grad", "jvp", "vjp", "linearize", "jacfwd", "jacrev", "jacobian",
           "hessian", "hvp", "vmap", "choose_mode", "jet", "taylor", "derivative",
           "derivatives", "stop_gradient"]


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
    if type(value) is Zero:     # a NumPy input gets NumPy zeros even beside Dask inputs
        numpy_input = like is not None and not is_foreign(like) and not isinstance(like, Tracer)
        value = (np.zeros(value.aval.shape, value.aval.dtype) if numpy_input
                 else instantiate(value))
    if is_foreign(like):        # a Dask input gets a Dask derivative, with its chunks
        return _mirror_dtype(like_input(value, like), like)
    if is_foreign(value):       # a Dask (or CuPy) result stays one, lazy, whatever the input
        return _mirror_dtype(value, like)
    if isinstance(like, (float, numbers.Integral)) and not isinstance(like, (np.generic, bool)) \
            and not isinstance(value, Tracer) and np.ndim(value) == 0:
        return float(value)
    if isinstance(like, np.ndarray) and not isinstance(value, (np.ndarray, Tracer)):
        value = np.asarray(value)
    return _mirror_dtype(value, like)


def _mirror_dtype(value, like):
    # the derivative has the input's dtype (float32 in, float32 out, as JAX and PyTorch give),
    # even where a float64 constant promoted the computation
    dt = getattr(like, "dtype", None)
    if dt is not None and dt.kind == "f" and not isinstance(value, Tracer) and \
            getattr(value, "dtype", dt) != dt and value.dtype.kind == "f":
        value = value.astype(dt)
    return value


def _array_scoped(fname):
    """Run the decorated transformation in the array scope of its arguments (core/arrays.py):
    with Dask (or CuPy) arrays among them, zeros are made in their library and, for Dask,
    nothing may be computed before the user asks."""
    def deco(fun):
        @functools.wraps(fun)
        def scoped(*args, **kwargs):
            with array_scope(fname, (args, kwargs)):
                return fun(*args, **kwargs)
        return scoped
    return deco


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
    if len(set(nums)) != len(nums):
        # PyTorch would give each position the full gradient, a product rule applied to one
        # variable read twice; JAX refuses, and so does chainrule
        raise InvalidArgumentError(f"{fname}: argnums={argnums} names an argument twice")
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
def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """``value_and_grad(f)(*args) -> (f(*args), gradient)``.

    ``f`` must return a real scalar (a 0-d float, or an array holding one element, such as shape
    (1,) or (1, 1), as in PyTorch and autograd), or ``(scalar, aux)`` with ``has_aux=True``, in
    which case the result is ``((value, aux), gradient)``. The gradient has the structure and
    shapes of ``args[argnums]`` (a tuple of those when ``argnums`` is a tuple).

    A complex output raises ComplexOutputError (as JAX and autograd do) unless
    ``holomorphic=True``: then the inputs and the output must be complex and the result is the
    complex derivative df/dz (``grad(lambda z: z**2, holomorphic=True)(z) == 2*z``), which is
    only meaningful where f is holomorphic."""
    @_array_scoped("grad")
    def value_and_grad_fun(*args, **kwargs):
        dyn, single, rebuild = _split_args("grad", args, argnums)
        leaves, orig, treedef = _flat_inputs("grad", dyn)
        if holomorphic:
            _check_holomorphic_inputs(leaves)
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
            _check_scalar_output(out)
            return [out]

        outs, vjp_fn = vjp_flat(flat_fun, leaves)
        out = outs[0]
        aval = get_aval(out)
        if aval.size != 1:
            raise NonScalarOutputError(
                f"grad requires a function with a scalar output, but the output has shape "
                f"{aval.shape}; use chainrule.jacobian for the full Jacobian or chainrule.vjp "
                "for a vector-Jacobian product")
        if not is_differentiable_dtype(aval.dtype):
            raise NonScalarOutputError(f"grad requires a floating-point output, got {aval.dtype}")
        _check_output_kind(aval.dtype, holomorphic)
        cts = [np.ones(aval.shape, aval.dtype)] + [Zero(get_aval(a)) for a in outs[1:]]
        grads = [_mirror(g, o) for g, o in zip(vjp_fn(cts), orig)]
        g = tree_unflatten(treedef, grads)
        value = _mirror(out, 0.0 if all(isinstance(o, float) for o in orig) else None)
        if has_aux:
            return (value, tree_unflatten(aux_box[0], outs[1:])), g
        return value, g
    _name(value_and_grad_fun, "value_and_grad", fun)
    return value_and_grad_fun


def _check_scalar_output(out):
    """A pytree where grad wants one array: say what the output must be, before NumPy's
    conversion of a list of tracers fails with a ConcretizationError."""
    if isinstance(out, (tuple, list, dict)):
        kind = type(out).__name__
        hint = (" If the function returns (loss, aux), pass has_aux=True to get (gradient, aux)."
                if isinstance(out, (tuple, list)) and len(out) == 2 else "")
        raise NonScalarOutputError(
            f"grad requires the function to return one scalar array, but it returned a {kind} "
            f"of {len(out)} item(s).{hint} For several outputs use chainrule.jacobian or "
            "chainrule.vjp; to combine them into one loss, add them (np.sum, +).")


def _check_holomorphic_inputs(leaves):
    for x in leaves:
        if np.dtype(get_aval(x).dtype).kind != "c":
            raise ComplexOutputError(
                "grad with holomorphic=True requires complex inputs, got dtype "
                f"{get_aval(x).dtype}; pass x.astype(complex)")


def _check_output_kind(dtype, holomorphic):
    is_complex = np.dtype(dtype).kind == "c"
    if is_complex and not holomorphic:
        raise ComplexOutputError(
            f"grad requires a real-valued output, got {np.dtype(dtype)}: the gradient of a "
            "complex function is not defined. Differentiate a real loss (np.abs(f)**2, "
            "np.real(f)), pass holomorphic=True for the complex derivative of a holomorphic "
            "function, or use chainrule.jacfwd / jvp / vjp")
    if holomorphic and not is_complex:
        raise ComplexOutputError(
            f"grad with holomorphic=True requires a complex output, got {np.dtype(dtype)}")


def grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """``grad(f)(*args)``: the gradient of scalar-valued ``f`` with respect to ``args[argnums]``
    (same structure and shapes). With ``has_aux=True`` ``f`` returns ``(scalar, aux)`` and the
    result is ``(gradient, aux)``. Computed in reverse mode (linearize, then transpose). The
    output may have any shape holding one element; complex outputs need ``holomorphic=True``
    (see value_and_grad)."""
    vg = value_and_grad(fun, argnums, has_aux, holomorphic)

    def grad_fun(*args, **kwargs):
        (value, g) = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    _name(grad_fun, "grad", fun)
    return grad_fun


@_array_scoped("vjp")
def vjp(fun, *primals, has_aux=False):
    """``vjp(f, *primals) -> (out, vjp_fn)``; ``vjp_fn(ct)`` returns a tuple with one cotangent per
    primal (``J^T ct``), where ``ct`` has the structure and shapes of ``out``. With
    ``has_aux=True`` returns ``(out, vjp_fn, aux)``."""
    leaves, orig, treedef = _flat_inputs("vjp", primals)
    box = []

    def flat_fun(ins):
        out = fun(*tree_unflatten(treedef, ins))
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise InvalidArgumentError(
                    "vjp(has_aux=True): the function must return a tuple (output, aux), got "
                    + (f"an array of shape {get_aval(out).shape}" if hasattr(out, "shape")
                       else type(out).__name__))
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

    @_array_scoped("vjp")
    def vjp_fn(ct):
        ct_leaves, ct_def = tree_flatten(ct)
        if ct_def != out_def:
            raise ShapeMismatchError(f"vjp: the cotangent has structure {ct_def}, the output "
                                     f"{out_def}")
        for c, a, o in zip(ct_leaves, out_avals, outs):
            check_same_chunks("vjp", "a cotangent", c, o)
            ca = get_aval(c)
            if ca.shape != a.shape:
                raise ShapeMismatchError(f"vjp: a cotangent has shape {ca.shape}, the "
                                         f"output it belongs to has shape {a.shape}")
            if np.dtype(ca.dtype).kind != np.dtype(tangent_aval(a).dtype).kind:
                raise ShapeMismatchError(
                    f"vjp: a cotangent has dtype {ca.dtype}, the output it belongs to has "
                    f"dtype {a.dtype} (its cotangent must be {tangent_aval(a).dtype})")
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
        check_same_chunks(fname, "a tangent", t, p)
        if get_aval(t).shape != get_aval(p).shape:
            raise ShapeMismatchError(f"{fname}: a tangent has shape {get_aval(t).shape}, its "
                                     f"primal has shape {get_aval(p).shape}")
        out.append(t)
    return out


@_array_scoped("jvp")
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

    # a tangent holding zeros where an infinite factor meets one cannot be decided per tracer:
    # then the same function is linearized and the tangents pushed element by element
    # (also where that is known only when a staged program runs: structural.forward_pass then
    # stages the element-by-element decision; loops are linearized whole, without storing
    # their residuals: the map is applied once)
    watch = watch_ambiguous()
    try:
        outs, out_tangents = jvp_flat(flat_fun, leaves, t_leaves)
        ambiguous = False
    except AmbiguousZero:
        ambiguous = True
    finally:
        reset_watch_ambiguous(watch)
    if ambiguous:
        box.clear()
        watch, once = watch_ambiguous(False), forward_only(True)
        try:
            outs, graph = linearize_flat(flat_fun, leaves)
            out_tangents = forward_pass(graph, t_leaves)
        finally:
            reset_forward_only(once)
            reset_watch_ambiguous(watch)
    like = 0.0 if orig and all(isinstance(o, float) for o in orig) else None
    return (tree_unflatten(box[0], [_mirror(o, like) for o in outs]),
            tree_unflatten(box[0], [_mirror(t, like) for t in out_tangents]))


@_array_scoped("linearize")
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

    @_array_scoped("linearize")
    def jvp_fn(*tangents):
        t_leaves = _check_tangents("linearize", leaves, treedef, tangents)
        res = forward_pass(graph, t_leaves)
        return tree_unflatten(box[0], [instantiate(r) for r in res])
    return tree_unflatten(box[0], outs), jvp_fn


# -- Jacobians and Hessians ------------------------------------------------------------------
def _sweep(linear_fn, aval, chunk_size, traced=False):
    """Apply ``linear_fn`` to all ``aval.size`` unit seeds in one vectorized sweep (vmap), or in
    chunks of ``chunk_size`` to bound memory. The seeds are a SeedBatch, which operations keep
    as terms while they can (interpreters/batching.py). Returns the outputs stacked on a leading
    axis."""
    chunk = max(1, aval.size if not chunk_size else int(chunk_size))
    pieces = []
    for start in range(0, max(aval.size, 1), chunk):        # size 0: one empty sweep
        stop = min(start + chunk, aval.size)
        seeds, kind = unit_seeds(aval, start, stop, traced)
        with graph_phase(_sweep_label(stop - start, kind)) if traced else _NO_LABEL:
            pieces.append(vmap_flat(lambda s: [instantiate(r) for r in linear_fn(s[0])],
                                    [seeds], [kind], [0], stop - start))
    if len(pieces) == 1:
        return pieces[0]
    return [_concat([p[i] for p in pieces]) for i in range(len(pieces[0]))]


_NO_LABEL = contextlib.nullcontext()
SWEEP_LABEL = "Jacobian sweep"


def _sweep_label(size, kind):
    """The label of a staged sweep's equations (generated code shows it, ``cache_info`` of a
    jitted Jacobian lists it): how its unit seeds travel."""
    how = "one-hot terms" if kind == SEED else "a dense batch"
    return f"{SWEEP_LABEL} of {size} unit seeds as {how}"


def _concat(xs):
    from .numpy import concatenate
    return concatenate(xs, axis=0) if any(isinstance(x, Tracer) for x in xs) else \
        np.concatenate(xs, axis=0)


def choose_mode(n_in, n_out):
    """The cost model of ``jacobian(mode="auto")``: a forward sweep per input element against a
    reverse sweep per output element, the reverse sweep costing about 1.5 forward sweeps
    (it reads the residuals and accumulates cotangents)."""
    if n_in <= 1.5 * n_out:
        return "fwd", f"{n_in} input elements <= 1.5 x {n_out} output elements"
    return "rev", f"{n_in} input elements > 1.5 x {n_out} output elements"


def _jacobian_flat(fun, leaves, mode, chunk_size=None):
    """Jacobian blocks ``jac[i][j]`` of flat output i with respect to flat input j, each of shape
    ``out_i.shape + in_j.shape``, and the mode used. ``fun``: flat list -> flat list."""
    outs, graph = linearize_flat(fun, leaves)
    traced = any(isinstance(x, Tracer) for x in leaves)
    in_avals = [get_aval(x).strip_weak() for x in leaves]
    out_avals = [get_aval(o).strip_weak() for o in outs]
    n_in = sum(a.size for a in in_avals)
    n_out = sum(a.size for a in out_avals)
    reason = f"mode={mode!r} requested"
    if mode == "auto":
        mode, reason = choose_mode(n_in, n_out)
    blocks = [[None] * len(leaves) for _ in outs]
    if mode == "fwd":
        for j, a in enumerate(in_avals):
            def push(t, j=j):
                return forward_pass(graph, [t if k == j else Zero(b)
                                            for k, b in enumerate(in_avals)])
            cols = _sweep(push, a, chunk_size, traced)
            for i, oa in enumerate(out_avals):      # cols[i]: (n_j,) + out_i.shape
                c = np.reshape(cols[i], (a.size, oa.size))
                blocks[i][j] = np.reshape(np.transpose(c), oa.shape + a.shape)
    else:
        for i, oa in enumerate(out_avals):
            def pull(ct, i=i):
                return backward_pass(graph, [ct if k == i else Zero(b)
                                             for k, b in enumerate(out_avals)])
            rows = _sweep(pull, oa, chunk_size, traced)
            for j, a in enumerate(in_avals):        # rows[j]: (m_i,) + in_j.shape
                blocks[i][j] = np.reshape(rows[j], oa.shape + a.shape)
    info = {"mode": mode, "n_inputs": n_in, "n_outputs": n_out, "reason": reason}
    return outs, blocks, info


def _jac_transform(fname, fun, argnums, mode, chunk_size=None, explain=False):
    if mode not in ("auto", "fwd", "rev"):
        raise InvalidArgumentError(f"{fname}: mode must be 'auto', 'fwd' or 'rev', got {mode!r}")

    @_array_scoped(fname)
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

        outs, blocks, info = _jacobian_flat(flat_fun, leaves, mode, chunk_size)
        jac_fun.choice = info
        out_def = box[0]
        per_out = [tree_unflatten(in_def, [_mirror(b, o) for b, o in zip(row, orig)])
                   for row in blocks]
        jac = tree_unflatten(out_def, per_out)
        return (jac, info) if explain else jac
    _name(jac_fun, fname, fun)
    jac_fun.choice = None
    return jac_fun


def jacfwd(fun, argnums=0, chunk_size=None):
    """The Jacobian of ``f`` with respect to ``args[argnums]`` in forward mode: for each output
    leaf, an array of shape ``out.shape + in.shape`` (per input leaf, as a pytree of the input's
    structure). One evaluation of f, then all input directions pushed through its linearization
    in one vectorized sweep (``chunk_size`` directions at a time, to bound memory)."""
    return _jac_transform("jacfwd", fun, argnums, "fwd", chunk_size)


def jacrev(fun, argnums=0, chunk_size=None):
    """The Jacobian of ``f`` in reverse mode (shapes as ``jacfwd``): one evaluation of f, then all
    output cotangents pulled back in one vectorized sweep (``chunk_size`` at a time)."""
    return _jac_transform("jacrev", fun, argnums, "rev", chunk_size)


def jacobian(fun, argnums=0, mode="auto", chunk_size=None, explain=False):
    """The Jacobian of ``f`` (shapes as ``jacfwd``). ``mode="auto"`` chooses forward mode when
    the inputs are fewer than the outputs (``choose_mode`` is the cost model), ``"fwd"`` and
    ``"rev"`` force one. The choice is kept in ``jacobian(f).choice`` after each call, and
    ``explain=True`` returns ``(jac, choice)``."""
    return _jac_transform("jacobian", fun, argnums, mode, chunk_size, explain)


def hessian(fun, argnums=0, chunk_size=None):
    """The Hessian of scalar ``f``: shape ``in.shape + in.shape`` (per pair of input leaves),
    computed forward-over-reverse: all directions pushed through the gradient in one sweep."""
    return jacfwd(grad(fun, argnums), argnums, chunk_size)


def hvp(fun, x, v):
    """The Hessian-vector product ``H(x) v`` of scalar ``f`` at ``x`` without forming ``H``:
    forward mode over the reverse-mode gradient, one sweep."""
    return jvp(grad(fun), (x,), (v,))[1]


def vmap(fun, in_axes=0, out_axes=0, axis_size=None):
    """Vectorize ``fun`` over a batch axis: ``vmap(f)(xs)[i] == f(xs[i])``, in one call.

    ``in_axes``: an int (the batch axis of every argument), None (not batched), or a tuple with
    one entry per positional argument, each an int, None, or a pytree of those with the
    argument's structure. ``out_axes``: where the batch axis goes in the outputs (int, or a
    pytree matching the output). Keyword arguments are passed unbatched. ``axis_size`` is
    needed only when no argument is batched."""
    @_array_scoped("vmap")
    def batched(*args, **kwargs):
        if isinstance(in_axes, (tuple, list)):
            if len(in_axes) != len(args):
                raise InvalidArgumentError(
                    f"vmap: in_axes has {len(in_axes)} entries but the function was called "
                    f"with {len(args)} positional arguments")
            specs = list(in_axes)
        else:
            specs = [in_axes] * len(args)
        leaves, dims, owners = [], [], []
        for i, (arg, spec) in enumerate(zip(args, specs)):
            arg_leaves, _ = tree_flatten(arg)
            try:
                arg_dims = broadcast_prefix(spec, arg, is_leaf=lambda s: s is None)
            except ShapeMismatchError as e:
                raise InvalidArgumentError(f"vmap: in_axes[{i}] does not fit argument {i}: "
                                           f"the structure {e}") from None
            for leaf, d in zip(arg_leaves, arg_dims):
                if d is not None:
                    nd = get_aval(leaf).ndim
                    if not -nd <= d < nd:
                        raise InvalidArgumentError(
                            f"vmap: in_axes={d} is out of range for argument {i} of "
                            f"dimension {nd}")
                    d %= nd
                leaves.append(leaf)
                dims.append(d)
                owners.append(i)
        sizes = {(o, get_aval(x).shape[d]) for x, d, o in zip(leaves, dims, owners)
                 if d is not None}
        distinct = {s for _, s in sizes}
        if len(distinct) > 1:
            detail = ", ".join(f"argument {o}: {s}" for o, s in sorted(sizes))
            raise InvalidArgumentError(f"vmap: batch sizes differ ({detail})")
        if not distinct and axis_size is None:
            raise InvalidArgumentError("vmap: no argument is batched; pass axis_size")
        size = distinct.pop() if distinct else axis_size
        _, args_def = tree_flatten(tuple(args))
        box = []

        def flat_fun(ins):
            out = fun(*tree_unflatten(args_def, ins), **kwargs)
            out_leaves, out_def = tree_flatten(out)
            box.append(out_def)
            return out_leaves

        out_dims = [out_axes] if out_axes is None or isinstance(out_axes, numbers.Integral) \
            else tree_flatten(out_axes, is_leaf=lambda s: s is None)[0]
        outs = vmap_flat(flat_fun, leaves, dims, out_dims, size)
        return tree_unflatten(box[0], outs)
    _name(batched, "vmap", fun)
    return batched


# -- Taylor mode ------------------------------------------------------------------------------
def _factorials(n):
    out = [1.0]
    for k in range(1, n + 1):
        out.append(out[-1] * k)
    return out


@_array_scoped("jet")
def jet(fun, primals, series, normalized=False):
    """Push truncated Taylor series through ``fun`` in one pass (Taylor mode).

    ``primals``: tuple of inputs; ``series``: tuple (one per input) of lists of K coefficients.
    By default the coefficients are derivatives, as in ``jax.experimental.jet``: the input curve
    is ``x(t) = x0 + x1 t + x2 t^2 / 2! + ...``; with ``normalized=True`` it is
    ``x0 + x1 t + x2 t^2 + ...``. A coefficient may be ``None`` (zero, skipped symbolically).
    Returns ``(fun(*primals), out_series)`` in the same convention. Cost grows polynomially
    with K (nested first-order AD grows exponentially)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(series, (tuple, list)):
        raise InvalidArgumentError("jet: primals and series must be tuples, e.g. "
                                   "jet(f, (x,), ([x1, x2, x3],))")
    leaves, orig, treedef = _flat_inputs("jet", tuple(primals))
    if len(series) != len(primals):
        raise ShapeMismatchError(f"jet: {len(series)} series for {len(primals)} primals")
    orders = {len(s) for s in series}
    if len(orders) != 1:
        raise ShapeMismatchError(f"jet: every series must have the same length, got {orders}")
    order = orders.pop()
    fact = _factorials(order)
    flat_series = []
    for p, s in zip(primals, series):
        p_leaves, p_def = tree_flatten(p)
        terms = [None if c is None else tree_flatten(c) for c in s]
        for c_leaves, c_def in filter(None, terms):
            if c_def != p_def:
                raise ShapeMismatchError(f"jet: a series term has structure {c_def}, its "
                                         f"primal {p_def}")
        for i, leaf in enumerate(p_leaves):
            coeffs = []
            for k, term in enumerate(terms):
                if term is None:
                    coeffs.append(Zero(tangent_aval(get_aval(leaf))))
                    continue
                c = _as_input(term[0][i], "jet series")
                if get_aval(c).shape != get_aval(leaf).shape:
                    raise ShapeMismatchError(f"jet: a series term has shape "
                                             f"{get_aval(c).shape}, its primal "
                                             f"{get_aval(leaf).shape}")
                coeffs.append(c if normalized else c / fact[k + 1])
            flat_series.append(coeffs)
    box = []

    def flat_fun(ins):
        out_leaves, out_def = tree_flatten(fun(*tree_unflatten(treedef, ins)))
        box.append(out_def)
        return out_leaves

    outs, out_series = jet_flat(flat_fun, leaves, flat_series, order)
    result = []
    for o, s in zip(outs, out_series):
        s = [instantiate(c) for c in instantiate_series(s, o, order)]
        result.append([c if normalized else c * fact[k + 1] for k, c in enumerate(s)])
    out_def = box[0]
    per_term = [tree_unflatten(out_def, [r[k] for r in result]) for k in range(order)]
    return tree_unflatten(out_def, outs), per_term


def taylor(fun, x, v, order):
    """The normalized Taylor coefficients ``[c0, c1, ..., c_order]`` of ``t -> fun(x + t v)`` at
    ``t = 0`` (``c_k`` is the k-th directional derivative divided by k!)."""
    if order == 0:
        return [fun(x)]
    out, terms = jet(fun, (x,), ([v] + [None] * (order - 1),), normalized=True)
    return [out] + list(terms)


@_array_scoped("derivatives")
def derivatives(fun, x, n):
    """``[f(x), f'(x), ..., f^(n)(x)]`` for a scalar function ``f`` (applied elementwise to an
    array ``x``), by one Taylor-mode pass of order n."""
    if not isinstance(n, numbers.Integral) or n < 0:
        raise InvalidArgumentError(f"derivatives: the order must be a non-negative int, got {n!r}")
    if n == 0:
        return [fun(x)]
    leaf = _as_input(x, "derivatives")
    aval = get_aval(leaf)
    one = np.ones(aval.shape, aval.dtype) if aval.shape else 1.0
    box = []

    def flat_fun(ins):
        out_leaves, out_def = tree_flatten(fun(ins[0]))
        box.append(out_def)
        return out_leaves
    # the unit direction, then symbolic zeros: the input curve is x + t
    outs, out_series = jet_flat(flat_fun, [leaf], [[one] + [Zero(tangent_aval(aval))] * (n - 1)],
                                n)
    fact = _factorials(n)
    per_order = [outs] + [[] for _ in range(n)]
    for o, s in zip(outs, out_series):
        for k in range(1, n + 1):
            c = None if s is None else s[k - 1]
            per_order[k].append(instantiate(Zero(tangent_aval(get_aval(o)))) if c is None or
                                type(c) is Zero else c * fact[k])
    return [_mirror(tree_unflatten(box[0], leaves), x) for leaves in per_order]


def derivative(fun, n=1):
    """``derivative(f, n)(x)``: the n-th derivative of a scalar function ``f`` at ``x`` (float or
    array, elementwise), computed in Taylor mode at a cost polynomial in n."""
    if not isinstance(n, numbers.Integral) or n < 0:
        raise InvalidArgumentError(f"derivative: the order must be a non-negative int, got {n!r}")

    def nth(x):
        return derivatives(fun, x, n)[n] if n else fun(x)
    _name(nth, f"derivative[{n}]", fun)
    return nth


def stop_gradient(x):
    """``x`` (a pytree) with its derivative cut: every transformation sees a constant."""
    return tree_map(control.stop_gradient, x)


def _name(wrapper, kind, fun):
    wrapper.__name__ = f"{kind}({getattr(fun, '__name__', 'f')})"
    wrapper.__qualname__ = wrapper.__name__
    wrapper.__doc__ = getattr(fun, "__doc__", None)
    wrapper.__wrapped__ = fun
