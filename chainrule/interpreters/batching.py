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

Seed batches. The unit seeds of a Jacobian sweep are a batch in which example b is zero except
at element b. Kept dense, a sweep in the mode that does not suit the function costs
batch x size per operation (a 1e4 x 1e4 identity is 800 MB). A ``SeedBatch`` (``bdim`` is
``SEED``) keeps such a batch as a short sum of terms ``(d, pos)``: term t puts ``d[i]`` at
element i of example ``pos[i]`` (-1: of none; ``d`` is zero there). Operations that are linear
in their batched arguments, which is every operation of a tangent or cotangent sweep, map a term
to a term: with the primitive's sparsity rule saying which argument element each output element
reads, the output term is the primitive applied to ``d`` (with zeros for the other batched
arguments) and ``pos`` read through the same map. An output element that reads elements of
several examples (a sum over the seeded axis) becomes dense: for primitives that add what they
read (reduce_sum, cumsum, scatter_add) by one bincount, for the rest by densifying the
arguments and using the ordinary batching rule, which is also what any other case falls back to
(at once for rules marked ``mixes``, contractions, whose dependency matrices cost as much as
the dense sweep).
A wrong-mode sweep over an elementwise-and-reductions program thus costs O(size) per operation.
"""
import numpy as np
import scipy.sparse as sp

from ..core import Interpreter, Tracer, add_any_p, get_aval, new_interpreter
from ..core.errors import ConcretizationError, InvalidArgumentError
from .sparsity import Entries, _add_any_sparsity, _classes

SEED = "seed"           # the bdim of a BatchTracer whose value is a SeedBatch
MAX_TERMS = 16          # more terms than this: the batch is stored dense
MIN_SEED_BATCH = 16         # sweeps of fewer seeds, or of fewer batch x size elements than
DENSE_SEEDS_BELOW = 2**16   # this, start dense


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim", "_aval")

    def __init__(self, interp, val, bdim):
        self._interp = interp
        self.val = val
        self.bdim = bdim
        self._aval = None

    @property
    def aval(self):
        if self._aval is None and self.bdim is SEED:
            self._aval = self.val.aval
        elif self._aval is None:
            a = get_aval(self.val)
            shape = a.shape if self.bdim is None else \
                a.shape[:self.bdim] + a.shape[self.bdim + 1:]
            self._aval = a.update(shape=shape)
        return self._aval

    def _become(self, new):
        self.val, self.bdim, self._aval = new.val, new.bdim, new._aval

    def concrete_value(self):
        raise ConcretizationError(
            "a batched (vmap) value differs from example to example, so Python control flow, "
            "an index or a shape cannot follow it; use np.where to select per example")

    def beneath(self):
        return None if self.bdim is SEED else self.val


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
        if SEED in dims:
            out = self._seed_rule(prim, vals, dims, params)
            if out is not None:
                return self._wrap(*out)
            vals = [v.dense(self.size) if d is SEED else v for v, d in zip(vals, dims)]
            dims = [0 if d is SEED else d for d in dims]
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

    def _seed_rule(self, prim, vals, dims, params):
        """``prim`` on seed batches kept as terms (module docstring): ``(value, bdim)``, or
        None where the ordinary rule must run on dense batches."""
        batched = [j for j, d in enumerate(dims) if d is not None]
        if prim.multiple_results or any(dims[j] is not SEED for j in batched):
            return None
        rule = _add_any_sparsity if prim is add_any_p else prim.sparsity
        classes, cross = _classes(prim, len(vals))
        if rule is None or getattr(rule, "mixes", False) or classes is None or \
                any(classes[j] != "linear" for j in batched):
            return None
        if cross and len(batched) > 1:                  # bilinear in two batched arguments
            return None
        if not cross and not all(_is_zero(v) for v, c, d in zip(vals, classes, dims)
                                 if c == "linear" and d is None):
            return None                                 # affine, not linear, in the batch
        avals = [v.aval if d is SEED else get_aval(v) for v, d in zip(vals, dims)]
        out_aval = prim.abstract_eval(*avals, **params)
        known = [None if d is not None or isinstance(v, Tracer) else v
                 for v, d in zip(vals, dims)]
        deps = rule(out_aval, avals, known, **params)
        terms, dense = [], None
        for j in batched:
            L = Entries(deps[j]) if sp.issparse(deps[j]) else deps[j]   # taken apart once
            if L is None:
                continue
            for d, pos in vals[j].terms:
                out_pos = _read_pos(L, pos, out_aval.size)
                if out_pos is None:                     # reads several examples per element
                    if not getattr(rule, "sums", False):
                        return None
                    part = _bincount(L, d, pos, self.size, out_aval)
                    dense = part if dense is None else dense + part
                    continue
                args = [d if k == j else np.zeros(a.shape, a.dtype) if dims[k] is not None
                        else vals[k] for k, a in enumerate(avals)]
                terms.append((prim.bind(*args, **params), out_pos.reshape(out_aval.shape)))
        out = SeedBatch(out_aval, _merge(terms))
        if dense is not None or len(out.terms) > MAX_TERMS or 2 * len(out.terms) > self.size:
            full = out.dense(self.size)
            return (full if dense is None else full + dense.astype(full.dtype)), 0
        return out, SEED

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
        if bdim is SEED:
            val, bdim = val.dense(self.size), 0
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
    Returns the outputs batched along ``out_dims``;
    ``in_dims`` entries may be SEED with the value a SeedBatch."""
    with new_interpreter(BatchInterpreter, size) as interp:
        ins = [v if d is None else BatchTracer(interp, v, d) for v, d in zip(vals, in_dims)]
        outs = fun(ins)
        if len(out_dims) == 1 and len(outs) != 1:
            out_dims = out_dims * len(outs)
        return [interp.unpack(o, d) for o, d in zip(outs, out_dims)]


# -- seed batches ------------------------------------------------------------------------------
class SeedBatch:
    """A batch kept as terms ``(d, pos)`` (module docstring), of per-example aval ``aval``."""
    __slots__ = ("aval", "terms")

    def __init__(self, aval, terms):
        self.aval = aval
        self.terms = terms

    @classmethod
    def unit(cls, aval, start, stop):
        """Rows start..stop of the identity as a batch of arrays of ``aval``."""
        pos = np.arange(-start, aval.size - start)
        pos[(pos < 0) | (pos >= stop - start)] = -1
        d = (pos >= 0).astype(aval.dtype)
        return cls(aval, [(d.reshape(aval.shape), pos.reshape(aval.shape))])

    def dense(self, size):
        """The batch as an array of shape ``(size,) + aval.shape``."""
        n = self.aval.size
        traced = next((d for d, _ in self.terms if isinstance(d, Tracer)), None)
        if traced is not None:          # staged: one scatter-add per term, at static places
            out = np.zeros(size * n, self.aval.dtype, like=traced)
            for d, pos in self.terms:
                p = pos.ravel()
                at = np.flatnonzero(p >= 0)
                np.add.at(out, (p[at] * n + at,), _take(np.ravel(d), at, n))
            return np.reshape(out, (size,) + self.aval.shape)
        out = np.zeros((size, n), self.aval.dtype)
        for d, pos in self.terms:
            p = pos.ravel()
            at = np.flatnonzero(p >= 0)
            out[p[at], at] += np.ravel(d)[at]
        return np.reshape(out, (size,) + self.aval.shape)


def unit_seeds(aval, start, stop, traced=False):
    """Rows start..stop of the identity as the batched input of a sweep: ``(value, bdim)``.
    A SeedBatch, except for small sweeps, where a dense batch costs less than the bookkeeping
    of terms in every operation. At traced primals (``traced``: under jit or an outer
    derivative) the terms carry traced values; their positions are still known, so the
    structure is staged as it is: each operation on a term becomes one operation on an array
    of the argument's size, and sums over examples and the final dense batch become
    scatter-adds at constant places (the staged program is as cheap as the eager sweep)."""
    seeds = SeedBatch.unit(aval, start, stop)
    size = stop - start
    if size < MIN_SEED_BATCH or size * aval.size < DENSE_SEEDS_BELOW:
        return seeds.dense(size), 0
    return seeds, SEED


def _is_zero(v):
    return not isinstance(v, Tracer) and not np.any(v)


def _read_pos(L, pos, out_size):
    """The example of each output element when it reads the elements ``L`` says (sparsity
    rule: a slice, an index array or ``Entries``) of an argument whose elements belong to
    examples ``pos``; None when an output element reads elements of two different examples."""
    p = pos.ravel()
    if isinstance(L, slice):
        return p
    if not isinstance(L, Entries):              # output element k reads element L[k] (-1: none)
        if p.size == 0:
            return np.full(out_size, -1)
        return np.where(L >= 0, p[L], -1)
    got = p[L.cols]
    keep = got >= 0
    rows, got = L.rows[keep], got[keep]
    lo = np.full(out_size, np.iinfo(np.intp).max)
    hi = np.full(out_size, -1)
    np.minimum.at(lo, rows, got)
    np.maximum.at(hi, rows, got)
    if np.any(lo[rows] != hi[rows]):
        return None
    return hi


def _bincount(L, d, pos, size, out_aval):
    """Dense ``(size,) + out shape`` result of a primitive that adds the argument elements its
    sparsity ``L`` (``Entries``) says each output element reads, applied to the term
    ``(d, pos)``."""
    p = pos.ravel()[L.cols]
    keep = p >= 0
    keys = p[keep] * out_aval.size + L.rows[keep]
    n = size * out_aval.size
    if isinstance(d, Tracer):           # staged: a scatter-add at constant places
        out = np.zeros(n, d.aval.dtype, like=d)
        np.add.at(out, (keys,), _take(np.ravel(d), L.cols[keep], d.aval.size))
        return np.reshape(out, (size,) + out_aval.shape)
    w = np.ravel(d)[L.cols[keep]]
    out = np.bincount(keys, w.real, minlength=n)
    if np.iscomplexobj(w):
        out = out + 1j * np.bincount(keys, w.imag, minlength=n)
    return out.reshape((size,) + out_aval.shape)


def _take(flat, at, n):
    """``flat[at]`` for constant indices ``at``; ``flat`` itself where ``at`` is
    ``arange(n)`` (no gather staged)."""
    if at.size == n and np.array_equal(at, np.arange(n)):
        return flat
    return flat[at]


def _merge(terms):
    """Terms with the same ``pos`` added into one (compared in full only where a few sampled
    entries agree)."""
    merged, where = [], {}
    for d, pos in terms:
        p = pos.ravel()
        key = (pos.shape, int(p[0]), int(p[-1]), int(p[p.size // 2])) if p.size else pos.shape
        for i in where.setdefault(key, []):
            d2, pos2 = merged[i]
            if pos2 is pos or np.array_equal(pos2, pos):
                merged[i] = (d2 + d, pos2)
                break
        else:
            where[key].append(len(merged))
            merged.append((d, pos))
    return merged
