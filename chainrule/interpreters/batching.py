"""Batching (vmap): run a function written for one example on a whole batch at once.

A BatchTracer holds a value with an extra axis (``bdim``) along which the examples lie, or
``bdim = None`` for a value that is the same for every example. ``process_primitive`` calls the
primitive's batching rule::

    batch(vals, dims, **params) -> (out, out_dim)       (lists for multiple results)

which computes the batched result with one NumPy call (elementwise ops broadcast, reductions
shift their axes, dot_general gains a batch letter, ...). A primitive without a batching rule
falls back to a loop over the examples, which is correct but slow; the rule-coverage test lists
those. The interpreter only uses NumPy's API on values (``np.moveaxis``, ``np.stack``,
indexing), which dispatches to the NumPy layer when the values are themselves tracers.
"""
import numpy as np

from ..core import Interpreter, Tracer, get_aval, new_interpreter
from ..core.errors import ConcretizationError, InvalidArgumentError


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim", "_aval")

    def __init__(self, interp, val, bdim):
        self._interp = interp
        self.val = val
        self.bdim = bdim
        self._aval = None

    @property
    def aval(self):
        if self._aval is None:
            a = get_aval(self.val)
            shape = a.shape if self.bdim is None else \
                a.shape[:self.bdim] + a.shape[self.bdim + 1:]
            self._aval = a.update(shape=shape)
        return self._aval

    def _become(self, new):
        self.val, self.bdim, self._aval = new.val, new.bdim, new._aval

    def concrete_value(self):
        raise ConcretizationError(
            "a batched (vmap) value differs from example to example, so Python control flow "
            "on it cannot be batched; use np.where to select per example")


def move_to_front(val, bdim):
    """``val`` with its batch axis first (``bdim`` None: unchanged)."""
    if bdim is None or bdim == 0:
        return val
    return np.moveaxis(val, bdim, 0)


class BatchInterpreter(Interpreter):
    __slots__ = ("size",)

    def __init__(self, level, size):
        super().__init__(level)
        self.size = size

    def lift(self, x):
        return BatchTracer(self, x, None)

    def process_primitive(self, prim, args, params):
        vals, dims = [], []
        for x in args:
            if (type(x) is BatchTracer and x._interp is self) or self.owns(x):
                vals.append(x.val)
                dims.append(x.bdim)
            else:
                vals.append(x)
                dims.append(None)
        if all(d is None for d in dims):
            return prim.bind(*vals, **params)
        rule = prim.batch
        if rule is None:
            out, out_dim = self._loop(prim, vals, dims, params)
        else:
            out, out_dim = rule(vals, dims, **params)
        if prim.multiple_results:
            return [self._wrap(o, d) for o, d in zip(out, out_dim)]
        return self._wrap(out, out_dim)

    def _wrap(self, val, bdim):
        return val if bdim is None else BatchTracer(self, val, bdim)

    def _loop(self, prim, vals, dims, params):
        """The fallback: apply ``prim`` example by example and stack the results."""
        vals = [move_to_front(v, d) for v, d in zip(vals, dims)]
        results = []
        for i in range(self.size):
            results.append(prim.bind(*[v[i] if d is not None else v
                                       for v, d in zip(vals, dims)], **params))
        if prim.multiple_results:
            return [np.stack(r) for r in zip(*results)], [0] * len(results[0])
        return np.stack(results), 0

    def unpack(self, out, out_axis):
        """The batched value of ``out`` with its batch axis at ``out_axis`` (a value that does
        not depend on the batch is broadcast)."""
        if (type(out) is BatchTracer and out._interp is self) or self.owns(out):
            val, bdim = out.val, out.bdim
        else:
            val, bdim = out, None
        if bdim is None:
            shape = np.shape(val) if not isinstance(val, Tracer) else val.aval.shape
            val = np.broadcast_to(np.expand_dims(val, 0), (self.size,) + tuple(shape))
            bdim = 0
        if out_axis is None:
            raise InvalidArgumentError("out_axes=None requires an output that does not depend "
                                       "on the batch")
        nd = np.ndim(val) if not isinstance(val, Tracer) else val.aval.ndim
        out_axis = out_axis % nd
        return val if bdim == out_axis else np.moveaxis(val, bdim, out_axis)


def vmap_flat(fun, vals, in_dims, out_dims, size):
    """``fun``: flat list -> flat list; ``vals`` batched along ``in_dims`` (None: unbatched).
    Returns the outputs batched along ``out_dims``."""
    with new_interpreter(BatchInterpreter, size) as interp:
        ins = [v if d is None else BatchTracer(interp, v, d) for v, d in zip(vals, in_dims)]
        outs = fun(ins)
        if len(out_dims) == 1 and len(outs) != 1:
            out_dims = out_dims * len(outs)
        return [interp.unpack(o, d) for o, d in zip(outs, out_dims)]
