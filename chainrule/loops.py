"""Loops and branches that stay loops and branches under every transformation: ``scan``,
``fori_loop``, ``while_loop``, ``cond``, ``switch`` and ``checkpoint``, with JAX's signatures.

A Python loop is unrolled by tracing: ``jit`` stages one equation per operation per step, and
reverse mode keeps every step's residuals. ``scan`` traces its body once into a graph held by
one primitive; derivatives, batching and Taylor mode transform that graph, ``jit`` emits one
Python ``for`` loop over the body's code, and the backward pass may recompute instead of store
(``checkpoints=``: binomial checkpointing, memory O(s) carries for T steps).
"""
import numbers

import numpy as np

from .core import (InvalidArgumentError, Tracer, dispatch, get_aval,
                   tree_flatten, tree_unflatten)
from .core.errors import ChainruleError
from .ops.loops import scan_p

__all__ = ["scan", "fori_loop", "while_loop", "cond", "switch", "checkpoint", "remat",
           "LoopError"]


class LoopError(ChainruleError, ValueError):
    """A loop body or its inputs do not fit: a carry that changes shape or dtype, ``xs`` of
    different lengths, a non-scalar predicate, ..."""


def _leaf_aval(x, what):
    try:
        aval = get_aval(x).strip_weak()
    except Exception:
        aval = None
    if aval is None or aval.dtype.kind not in "biufc":
        raise LoopError(f"{what}: {type(x).__name__} is not an array (the carry and xs must be "
                        "pytrees of arrays and numbers)")
    return aval


def _paths(treedef, n):
    """Readable names of the leaves of a pytree: 'leaf 0', ... (structure shown alongside)."""
    return [f"leaf {i} of {treedef}" if n > 1 else "the carry" for i in range(n)]


def _close(fun, in_avals):
    """``fun`` staged into a closed graph, and the traced values it closes over."""
    return dispatch.hooks["graphs"].close(fun, in_avals)


def scan(f, init, xs=None, length=None, reverse=False, checkpoints=None, memory_limit=None):
    """Loop ``f(carry, x) -> (carry, y)`` over the leading axis of ``xs``, as ``jax.lax.scan``:
    returns ``(final carry, ys)`` with the ``y``s stacked on a new leading axis.

    ``init``/the carry: a pytree of arrays whose structure, shapes and dtypes ``f`` must keep.
    ``xs``: a pytree of arrays with a common leading length (or None, with ``length`` given).
    ``reverse=True`` runs from the last element to the first (ys stay in input order).

    ``checkpoints`` sets what reverse mode keeps: None stores every step's residuals (fastest);
    an int ``s`` keeps at most ``s`` carries (the initial one included) and recomputes the rest
    by the binomial schedule of Revolve (Griewank and Walther), which minimizes the number of
    recomputed steps for that memory; ``"auto"`` chooses ``s`` so that the carries fit in
    ``memory_limit`` bytes (default 100 MB)."""
    c_leaves, c_def = tree_flatten(init)
    x_leaves, x_def = tree_flatten(xs)
    c_avals = [_leaf_aval(c, "scan init") for c in c_leaves]
    x_avals = [_leaf_aval(x, "scan xs") for x in x_leaves]
    lengths = {a.shape[0] if a.shape else None for a in x_avals}
    if None in lengths:
        raise LoopError("scan: every leaf of xs needs a leading axis to scan over; got a 0-d "
                        "array")
    if len(lengths) > 1:
        detail = ", ".join(f"leaf {i}: {a.shape[0]}" for i, a in enumerate(x_avals))
        raise LoopError(f"scan: the leaves of xs have different leading lengths ({detail})")
    if length is not None:
        if not isinstance(length, numbers.Integral) or isinstance(length, bool) or length < 0:
            raise LoopError(f"scan: length must be a non-negative int, got {length!r}")
        if lengths and lengths != {length}:
            raise LoopError(f"scan: length={length} but xs has leading length {lengths.pop()}")
    elif not lengths:
        raise LoopError("scan: give xs or length")
    T = int(length) if length is not None else lengths.pop()
    n_carry = len(c_leaves)
    slice_avals = [a.update(shape=a.shape[1:]) for a in x_avals]
    box = []

    def flat_body(ins):
        carry = tree_unflatten(c_def, ins[:n_carry])
        x = tree_unflatten(x_def, ins[n_carry:])
        out = f(carry, x)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise LoopError("scan: the body must return a pair (new carry, y); return "
                            "(carry, None) when there is nothing to stack")
        new, y = out
        new_leaves, new_def = tree_flatten(new)
        if new_def != c_def:
            raise LoopError(f"scan: the body returned a carry of structure {new_def}, but the "
                            f"initial carry has structure {c_def}")
        new_leaves = [_keep_dtype(v, a) for v, a in zip(new_leaves, c_avals)]
        y_leaves, y_def = tree_flatten(y)
        box.append(y_def)
        return new_leaves + y_leaves

    graph, consts = _close(flat_body, c_avals + slice_avals)
    _check_carry(graph.outvars[:n_carry], c_avals, _paths(c_def, n_carry), "scan")
    ckpt = _checkpoints(checkpoints, memory_limit, c_avals, T)
    outs = scan_p.bind(*consts, *c_leaves, *x_leaves, body=graph, n_consts=len(consts),
                       n_carry=n_carry, length=T, reverse=bool(reverse), checkpoints=ckpt)
    return tree_unflatten(c_def, outs[:n_carry]), tree_unflatten(box[0], outs[n_carry:])


def _keep_dtype(v, aval):
    """A weakly typed carry output (a Python number) takes the carry's dtype."""
    a = get_aval(v)
    if a.weak_type and a.dtype != aval.dtype and np.can_cast(a.dtype, aval.dtype,
                                                               "same_kind"):
        if isinstance(v, Tracer):
            return v.astype(aval.dtype)
        return np.asarray(v, aval.dtype)
    return v


def _checkpoints(checkpoints, memory_limit, c_avals, T):
    if checkpoints is None:
        return None
    if isinstance(checkpoints, str):
        if checkpoints != "auto":
            raise InvalidArgumentError(f"scan: checkpoints must be None, an int or 'auto', "
                                       f"got {checkpoints!r}")
        limit = 100e6 if memory_limit is None else float(memory_limit)
        # a held carry: its arrays' data plus the Python objects holding them
        per = sum(a.size * a.dtype.itemsize + 112 for a in c_avals) + 64
        return int(max(2, min(T + 1, limit // per)))
    if not isinstance(checkpoints, numbers.Integral) or checkpoints < 1:
        raise InvalidArgumentError(f"scan: checkpoints must be a positive int, got "
                                   f"{checkpoints!r}")
    return int(checkpoints)


def fori_loop(lower, upper, body_fun, init_val):
    """``for i in range(lower, upper): val = body_fun(i, val)``, as ``jax.lax.fori_loop``, with
    Python int bounds: a scan over ``i`` (so every mode, reverse included, works)."""
    for b, nm in ((lower, "lower"), (upper, "upper")):
        if isinstance(b, Tracer) or not isinstance(b, numbers.Integral):
            raise LoopError(f"fori_loop: {nm} must be a Python int (a traced bound makes the "
                            "trip count unknown: use while_loop)")
    idx = np.arange(lower, upper)

    def step(carry, i):
        return body_fun(i, carry), None
    if idx.size == 0:
        return init_val
    return scan(step, init_val, idx)[0]


def while_loop(cond_fun, body_fun, init_val):
    """``while cond_fun(val): val = body_fun(val)``, as ``jax.lax.while_loop``. Forward mode,
    vmap (examples that finish early keep their value while the others run), Taylor mode and
    jit transform it as a loop. Reverse mode needs the trip count: it is counted when the loop
    runs on known values (eager ``grad``); where it cannot be (under ``jit``) the error says so
    (use ``scan`` or ``fori_loop`` with a fixed number of steps)."""
    from .ops.loops import while_p
    c_leaves, c_def = tree_flatten(init_val)
    avals = [_leaf_aval(c, "while_loop init_val") for c in c_leaves]

    def flat_cond(ins):
        pred = cond_fun(tree_unflatten(c_def, ins))
        a = get_aval(pred)
        if a.shape != () or a.dtype != np.bool_:
            raise LoopError(f"while_loop: cond_fun must return a boolean scalar, got {a}")
        return [pred]

    def flat_body(ins):
        out = body_fun(tree_unflatten(c_def, ins))
        leaves, d = tree_flatten(out)
        if d != c_def:
            raise LoopError(f"while_loop: body_fun returned structure {d}, the initial value "
                            f"has structure {c_def}")
        return [_keep_dtype(v, a) for v, a in zip(leaves, avals)]
    cond_g, cc = _close(flat_cond, avals)
    body_g, bc = _close(flat_body, avals)
    _check_carry(body_g.outvars, avals, _paths(c_def, len(avals)), "while_loop")
    outs = while_p.bind(*cc, *bc, *c_leaves, cond=cond_g, body=body_g, n_cc=len(cc),
                        n_bc=len(bc))
    return tree_unflatten(c_def, outs)


def _check_carry(outvars, avals, names, fname):
    for v, a, nm in zip(outvars, avals, names):
        b = v.aval.strip_weak()
        if b.shape != a.shape or b.dtype != a.dtype:
            raise LoopError(f"{fname}: the body changes {nm} from {a} to {b}; a carry must "
                            "keep its shape and dtype (cast it, or start from an array of the "
                            "final shape)")


def switch(index, branches, *operands):
    """``branches[index](*operands)``, as ``jax.lax.switch``: the index is clamped to the
    valid range. Under ``vmap`` with a batched index every branch runs and each example takes
    its own branch's result (as ``np.where`` would); under ``jit`` the choice is made when the
    compiled code runs, never baked in. The branches must return the same structure, shapes
    and dtypes."""
    from .ops.loops import cond_p
    branches = list(branches)
    if not branches:
        raise InvalidArgumentError("switch: no branches")
    a = get_aval(index)
    if a.shape != () or a.dtype.kind not in "iub":
        raise LoopError(f"switch/cond: the index or predicate must be an integer or boolean "
                        f"scalar, got {a}")
    leaves, in_def = tree_flatten(operands)
    avals = [_leaf_aval(x, "cond operands") for x in leaves]
    graphs, consts, out_defs = [], [], []
    for br in branches:
        box = []

        def flat(ins, br=br, box=box):
            out_leaves, d = tree_flatten(br(*tree_unflatten(in_def, ins)))
            box.append(d)
            return out_leaves
        g, c = _close(flat, avals)
        graphs.append(g)
        consts.append(c)
        out_defs.append(box[0])
    for k, (g, d) in enumerate(zip(graphs, out_defs)):
        if d != out_defs[0]:
            raise LoopError(f"switch/cond: branch {k} returns structure {d}, branch 0 "
                            f"returns {out_defs[0]}")
        for v, w in zip(g.outvars, graphs[0].outvars):
            if v.aval.strip_weak() != w.aval.strip_weak():
                raise LoopError(f"switch/cond: branch {k} returns {v.aval.strip_weak()} where "
                                f"branch 0 returns {w.aval.strip_weak()}")
    # every branch takes every branch's hoisted constants, then the operands
    from .core import Graph, Var
    all_consts = [c for cs in consts for c in cs]
    joined = []
    for k, g in enumerate(graphs):
        before = sum(len(c) for c in consts[:k])
        after = sum(len(c) for c in consts[k + 1:])
        pad_b = [Var(get_aval(c).strip_weak()) for c in all_consts[:before]]
        pad_a = [Var(get_aval(c).strip_weak()) for c in all_consts[len(all_consts) - after:]] \
            if after else []
        n_own = len(consts[k])
        joined.append(Graph(pad_b + g.invars[:n_own] + pad_a + g.invars[n_own:], g.eqns,
                            g.outvars))
    idx = index if a.dtype.kind != "b" else index.astype(np.int64) \
        if isinstance(index, Tracer) else np.int64(bool(index))
    outs = cond_p.bind(idx, *all_consts, *leaves, branches=tuple(joined))
    return tree_unflatten(out_defs[0], outs)


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands) if pred else false_fun(*operands)``, as ``jax.lax.cond``, for
    value-dependent branches that must survive ``jit`` and ``vmap`` (see ``switch``)."""
    a = get_aval(pred)
    if a.shape != ():
        raise LoopError(f"cond: the predicate must be a scalar, got shape {a.shape}")
    p = pred != 0 if a.dtype.kind != "b" else pred
    return switch(p, [false_fun, true_fun], *operands)


# the NaN-safe products' staged decision (interpreters/structural.py)
dispatch.hooks["cond"] = cond


def checkpoint(fun):
    """``fun`` whose intermediate values reverse mode does not store: they are recomputed in
    the backward pass (``jax.checkpoint``). Wrap a step of a long simulation to trade one
    recomputation of the step for its memory; nests, and works under ``jit``."""
    from .ops.loops import checkpoint_p

    def checkpointed(*args):
        leaves, in_def = tree_flatten(args)
        avals = [_leaf_aval(x, "checkpoint argument") for x in leaves]
        box = []

        def flat(ins):
            out_leaves, d = tree_flatten(fun(*tree_unflatten(in_def, ins)))
            box.append(d)
            return out_leaves
        g, consts = _close(flat, avals)
        return tree_unflatten(box[0], checkpoint_p.bind(*consts, *leaves, body=g))
    checkpointed.__name__ = f"checkpoint({getattr(fun, '__name__', 'f')})"
    checkpointed.__wrapped__ = fun
    return checkpointed


remat = checkpoint
