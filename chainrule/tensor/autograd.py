"""The backward pass of the Tensor interface: micrograd's algorithm, chainrule's calculus.

``backward`` and ``grad`` both run ``_run``:

1. collect the nodes the outputs depend on, in topological order (inputs before consumers);
2. walk them in reverse, giving each node the cotangents of its results and getting the
   cotangents of its inputs by transposing the node's recorded linear map (tape.py);
   cotangents reaching the same Tensor are summed;
3. ``backward`` adds the cotangents that reach leaves to their ``.grad``; ``grad`` returns those
   of the requested inputs and leaves ``.grad`` alone.

With ``create_graph=True`` the cotangents are Tensors and each operation is linearized again at
its input Tensors (``_relinearized_pullback``), so the result has history and can be
differentiated again.

Aliasing and accumulation. ``backward`` never changes a gradient Tensor in place: ``.grad``
becomes a new Tensor (the old one plus the new contribution), so a name bound to an earlier
gradient keeps its value. ``zero_()`` on a gradient that has history resets ``.grad`` instead of
destroying the value and graph that other names hold, so the lecture's
``grad_1 = x.grad; x.grad.zero_(); grad_1.backward()`` leaves the second derivative in
``x.grad`` (in PyTorch the in-place ``zero_()`` also zeroes ``grad_1``, and it leaves 0). The
clean way to take a derivative of a derivative does not touch ``.grad`` at all::

    g, = chainrule.autograd.grad(y, x, create_graph=True)
    g2, = chainrule.autograd.grad(g, x)

Freed graphs. Unless ``retain_graph`` (default: ``create_graph``), every node a backward pass
went through is released afterwards (its function and its edges dropped, so the recorded
intermediate values can be garbage collected) and a second backward through it raises
GraphFreedError, as PyTorch users expect.
"""
import operator
from functools import partial

import numpy as np

from .. import api
from ..core import Zero, may_hold_zero
from ..core.primitive import bind
from ..core.errors import InvalidArgumentError, NonScalarOutputError, ShapeMismatchError
from .errors import GraphFreedError, InplaceModificationError, RequiresGradError, \
    UnusedInputError
from .grad_mode import enable_grad, no_grad
from .structural import TapeZeros
from .tape import transpose_node
from .tensor import TENSOR_TYPES, Tensor, _own

__all__ = ["backward", "grad"]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate into ``leaf.grad``, for every leaf that requires grad and that ``tensors``
    depend on, the gradient of ``sum_i <grad_tensors[i], tensors[i]>`` (same shape as the leaf).

    ``tensors``: a Tensor or a sequence of Tensors; ``grad_tensors``: matching cotangents of the
    same shapes (None for a one-element Tensor, which gets 1)."""
    roots, cts = _roots(tensors, grad_tensors, create_graph, "backward")
    retain_graph = create_graph if retain_graph is None else retain_graph
    with (enable_grad() if create_graph else no_grad()):
        leaf_cts = _run(roots, cts, None, retain_graph, create_graph)
        for leaf, ct in leaf_cts.items():
            if not isinstance(ct, Tensor):
                ct = Tensor._make(_own(ct))
            elif ct._node is None:
                ct = ct.detach()           # never alias a Tensor someone else holds
            leaf.grad = ct if leaf.grad is None else leaf.grad + ct


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """The gradients of ``sum_i <grad_outputs[i], outputs[i]>`` with respect to each of
    ``inputs``: a tuple with one Tensor per input, of the input's shape. ``.grad`` is not
    touched.

    ``outputs``, ``inputs``: a Tensor or a sequence of Tensors (inputs may be intermediate
    results, not only leaves); ``grad_outputs``: cotangents shaped like ``outputs`` (None for
    one-element outputs). ``create_graph=True`` makes the results differentiable again. An input
    the outputs do not depend on raises UnusedInputError, or gives None with
    ``allow_unused=True``."""
    inputs = _as_tuple(inputs, "inputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise InvalidArgumentError(f"grad: inputs[{i}] is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RequiresGradError(f"grad: inputs[{i}] (shape {t.shape}) does not require grad")
    roots, cts = _roots(outputs, grad_outputs, create_graph, "grad")
    retain_graph = create_graph if retain_graph is None else retain_graph
    with (enable_grad() if create_graph else no_grad()):
        found = _run(roots, cts, inputs, retain_graph, create_graph)
    results = []
    for i, t in enumerate(inputs):
        g = found.get(_key(t))
        if g is None:
            if not allow_unused:
                raise UnusedInputError(
                    f"grad: the outputs do not depend on inputs[{i}] (shape {t.shape}); pass "
                    "allow_unused=True to get None for it")
        elif not isinstance(g, Tensor):
            g = Tensor._make(_own(g))
        results.append(g)
    return tuple(results)


# -- the engine ---------------------------------------------------------------------------------
def _as_tuple(x, what):
    if isinstance(x, Tensor):
        return (x,)
    if isinstance(x, (tuple, list)):
        return tuple(x)
    raise InvalidArgumentError(f"{what} must be a Tensor or a sequence of Tensors, got "
                               f"{type(x).__name__}")


def _roots(tensors, grads, create_graph, fname):
    """Validate the outputs and their cotangents (Tensors if ``create_graph``, else arrays)."""
    tensors = _as_tuple(tensors, "outputs")
    grads = (None,) * len(tensors) if grads is None else _as_tuple_any(grads)
    if len(grads) != len(tensors):
        raise ShapeMismatchError(f"{fname}: {len(tensors)} outputs but {len(grads)} gradients")
    cts = []
    for t, g in zip(tensors, grads):
        if not isinstance(t, Tensor):
            raise InvalidArgumentError(f"{fname}: expected a Tensor, got {type(t).__name__}")
        if not t.requires_grad:
            raise RequiresGradError(
                f"{fname}: the Tensor (shape {t.shape}) does not require grad and has no "
                "grad_fn; create the inputs with requires_grad=True, outside no_grad()")
        if g is None:
            if t.size != 1:
                raise NonScalarOutputError(
                    f"{fname}: the output has shape {t.shape}; a gradient is created implicitly "
                    "only for outputs with one element: pass the cotangent (a Tensor of the "
                    "output's shape), or reduce first, e.g. y.sum().backward()")
            g = np.ones_like(t.data)
        if (g.shape if isinstance(g, Tensor) else np.shape(g)) != t.shape:
            raise ShapeMismatchError(f"{fname}: the gradient has shape {np.shape(g)}, the "
                                     f"output has shape {t.shape}")
        if create_graph:
            g = g if isinstance(g, Tensor) else Tensor._make(_own(np.asarray(g, t.dtype)))
        else:
            g = g.data if isinstance(g, Tensor) else np.asarray(g, t.dtype)
        cts.append(g)
    return tensors, cts


def _as_tuple_any(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _key(t):
    """Where the cotangent of Tensor ``t`` is collected: the leaf itself, or its node and
    result slot (``_slot_key``)."""
    return t if t._node is None else _slot_key(t._node, t._slot)


def _slot_key(node, slot):
    """The key of result ``slot`` of ``node``: the node itself for the first (most nodes have
    one result), ``(node, slot)`` for the others."""
    return node if slot == 0 else (node, slot)


def _topo_sort(nodes):
    """The nodes that ``nodes`` depend on (themselves included), inputs before consumers. A
    node is made after the nodes of its inputs, so the order in which they were made
    (``Node.seq``) is a topological order: a search collects the nodes (iterative, so long
    chains do not hit Python's recursion limit) and a sort orders them."""
    seen = set(nodes)
    stack = list(seen)
    pop, push, add = stack.pop, stack.append, seen.add
    while stack:
        node = pop()
        args = node.args
        for i in node.diff_pos:
            n = args[i]._node
            if n is not None and n not in seen:
                add(n)
                push(n)
    return sorted(seen, key=_SEQ)


_SEQ = operator.attrgetter("seq")


def _prune(order, targets):
    """Keep the nodes through which a cotangent can reach one of ``targets``."""
    keys = {_key(t) for t in targets}
    needed = set()
    for node in order:
        for t in node.inputs:
            k = _key(t)
            if k in keys or (t._node is not None and t._node in needed):
                needed.add(node)
                break
    return [n for n in order if n in needed]


def _accumulate(cts, key, ct):
    if ct is not None:
        cts[key] = ct if key not in cts else cts[key] + ct


def _apply_hooks(hooks, ct, create_graph):
    """Run the hooks registered on a Tensor (``register_hook``) on its gradient ``ct``; a hook
    that returns a value replaces the gradient."""
    for hook in list(hooks):
        g = ct if isinstance(ct, Tensor) else Tensor._make(_own(ct))
        new = hook(g)
        if new is not None:
            if not isinstance(new, Tensor):
                new = Tensor(new)
            if new.shape != g.shape:
                raise ShapeMismatchError(f"a hook returned a gradient of shape {new.shape} for "
                                         f"a Tensor of shape {g.shape}")
            ct = new if create_graph else new._value
    return ct


def _node_slot_grad(node, slot, c, create_graph):
    """Hooks and ``retain_grad`` of result ``slot`` of ``node``, whose gradient is ``c``."""
    if node.hooks is not None and slot in node.hooks:
        c = _apply_hooks(node.hooks[slot], c, create_graph)
    if node.retained is not None and slot in node.retained:
        t = node.retained[slot]()
        if t is not None:
            g = c if isinstance(c, Tensor) and create_graph else Tensor._make(_own(
                c._value if isinstance(c, Tensor) else c))
            t._grad = g if t._grad is None else t._grad + g
    return c


def _run(roots, root_cts, targets, retain_graph, create_graph):
    """The backward pass. Returns the cotangents of ``targets`` keyed by ``_key`` (of every leaf
    reached, keyed by the leaf, when ``targets`` is None)."""
    order = _topo_sort([r._node for r in roots if r._node is not None])
    if targets is not None:
        order = _prune(order, targets)
    wanted = None if targets is None else {_key(t) for t in targets}
    cts, found = {}, {}
    loose = set()       # keys whose cotangent may hold a structural zero (the NaN-safe rule)
    zeros = TapeZeros({}, loose)        # their structural zeros, element by element, on demand
    for r, c in zip(roots, root_cts):
        _accumulate(cts, _key(r), c)
        if may_hold_zero(c._value if isinstance(c, Tensor) else c):
            loose.add(_key(r))
            zeros.seeds[_key(r)] = cts[_key(r)]
    for node in reversed(order):
        if len(node.outs) == 1:         # one result, keyed by the node itself
            c = cts.pop(node, None)
            if c is None:
                continue                # no cotangent reached this node
            if node.hooks is not None or node.retained is not None:
                c = _node_slot_grad(node, 0, c, create_graph)
            if wanted is not None and node in wanted:
                found[node] = c
            cts_out = (c,)
            loose_out = (node in loose,)
        else:
            cts_out = _slot_cts(node, cts, wanted, found, create_graph)
            if cts_out is None:
                continue
            loose_out = tuple(_slot_key(node, s) in loose for s in range(len(node.outs)))
        args = node.args
        cts_in, loose_in = _pullback(node, cts_out, loose_out, create_graph, zeros)
        for j, (i, c, lo) in enumerate(zip(node.diff_pos, cts_in, loose_in)):
            if c is not None:
                t = args[i]
                key = t if t._node is None else (t._node if t._slot == 0 else
                                                 (t._node, t._slot))
                cts[key] = c if key not in cts else cts[key] + c
                if lo:
                    loose.add(key)
                    zeros.record(key, node, j)
        if not retain_graph:
            node.release()
    if wanted is None:
        found = {k: c for k, c in cts.items() if isinstance(k, Tensor)}
    else:
        found.update((k, cts[k]) for k in wanted if k not in found and k in cts)
    for k in list(found):
        if isinstance(k, Tensor) and k._hooks:
            found[k] = _apply_hooks(k._hooks, found[k], create_graph)
    return found


def _slot_cts(node, cts, wanted, found, create_graph):
    """The cotangents of the results of a node with several (None where zero), or None when
    none reached it; hooks and ``retain_grad`` applied, those of ``wanted`` results noted."""
    cts_out = []
    for slot in range(len(node.outs)):
        key = _slot_key(node, slot)
        c = cts.pop(key, None)
        if c is not None and (node.hooks is not None or node.retained is not None):
            c = _node_slot_grad(node, slot, c, create_graph)
        if c is not None and wanted is not None and key in wanted:
            found[key] = c
        cts_out.append(c)
    return None if all(c is None for c in cts_out) else cts_out


def _pullback(node, cts_out, loose_out, create_graph, zeros):
    """Cotangents of ``node.inputs`` from those of its results (None: zero), and per input
    whether its cotangent may hold a structural zero (``loose_out``: the same of the results;
    ``zeros``: the pass's TapeZeros, which tells them apart element by element)."""
    if node.eqns is None:
        raise GraphFreedError(
            f"backward reached {node.name}, whose graph an earlier backward pass freed; pass "
            "retain_graph=True to the first backward (or compute both in one pass)")
    versions = node.versions
    if versions is None:                # every Tensor argument was at version 0
        for t in node.args:
            if type(t) in TENSOR_TYPES and t._version:
                _modified(node, t, 0)
    else:
        for t, version in zip(node.args, versions):
            if type(t) in TENSOR_TYPES and t._version != version:
                _modified(node, t, version)
    if create_graph:       # differentiable again: the functional vjp, which tracks its own
        return _relinearized_pullback(node, cts_out), (True,) * len(node.diff_pos)
    pos = node.diff_pos
    by_constant = False
    if len(pos) != len(node.args) and "pass-constants" not in node.prim.zero_safety:
        for i, a in enumerate(node.args):
            if i not in pos and may_hold_zero(a._value if isinstance(a, Tensor) else a):
                by_constant = True
                break
    mask = partial(_inner_mask, zeros, node, cts_out, by_constant) if True in loose_out \
        else None
    cts_in, loose_in = transpose_node(len(pos), node.count, node.outs, node.eqns, cts_out,
                                      loose_out, by_constant, mask)
    if True in loose_in:        # its contributions are noted: keep what their masks need
        _note(zeros, node, cts_out, by_constant)
    return cts_in, loose_in


def _note(zeros, node, cts_out, by_constant):
    zeros.note_node(node, [_slot_key(node, s) for s in range(len(node.outs))], cts_out,
                    by_constant)


def _inner_mask(zeros, node, cts_out, by_constant, i):
    """True where the cotangent of linear value ``i`` of ``node``'s map is a structural zero."""
    _note(zeros, node, cts_out, by_constant)
    return zeros.node_masks(node)[i]


def _modified(node, t, version):
    raise InplaceModificationError(
        f"a Tensor of shape {t.shape} read by {node.name} was modified in place after it was "
        f"used (version {version}, now {t._version}); its derivative would be computed at the "
        "wrong value. Modify a copy, or call backward before the update")


def _relinearized_pullback(node, cts_out):
    """The pullback for ``create_graph=True``: the operation linearized again at its input
    Tensors, so that the residuals of its linear map (``cos(x)`` for ``sin``) are recorded
    Tensors with history, and the transposed map is applied to the cotangent Tensors. The
    result is differentiable again, to any order."""
    prim, params, args, pos = node.prim, node.params, node.args, node.diff_pos

    def fun(*xs):
        vals = list(args)
        for i, x in zip(pos, xs):
            vals[i] = x
        out = bind(prim, *vals, **params)
        return tuple(out) if prim.multiple_results else out
    _, vjp_fn = api.vjp(fun, *[args[i] for i in pos])
    if prim.multiple_results:
        cts = tuple(Zero(a) if c is None else c for c, a in zip(cts_out, node.out_avals))
    else:
        cts = cts_out[0]
    return list(vjp_fn(cts))
