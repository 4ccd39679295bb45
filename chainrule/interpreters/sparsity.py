"""Sparsity detection: which inputs each output depends on, and which pairs of inputs the
second derivatives couple, found by running the program on index sets instead of numbers.

A SparsityTracer stands for an array ``v`` computed from the inputs ``x`` (all of them
flattened into one vector of ``n`` elements). It carries the *Jacobian pattern* of ``v``: a
boolean sparse matrix ``T`` of shape ``(v.size, n)`` whose row ``k`` marks the inputs element
``k`` of ``v`` depends on. The inputs start with identity rows; every primitive maps the
patterns of its arguments to the pattern of its result. Nothing here is a Python set per element:
a pattern is one scipy.sparse CSR matrix, and a primitive costs a few vectorized operations on
it, so a million inputs take seconds.

How does a primitive map patterns? Two pieces of metadata on the Primitive answer it:

* ``prim.sparsity(out_aval, avals, values, **params)`` says, per argument ``j``, which elements
  of that argument each output element reads. Its answer ``L_j`` is one of
      None            the output does not read argument j
      slice(None)     output element k reads element k (same size: elementwise, reshape)
      int array       output element k reads element sel[k] (-1: none): broadcasting,
                      indexing, transposes, concatenation (a selection)
      sparse matrix   (out.size, arg.size), any pattern: sums, scans, contractions
  For a multiple-result primitive: one such list per result. Elementwise families get their
  rule from the family helpers in ``ops/_define.py``; a primitive without a rule gets the
  conservative "every output element reads every input element" (recorded in ``fallbacks``).
* ``prim.deriv_class`` says, per argument, whether the derivative is ``"zero"`` (comparisons,
  floor: no dependence at all), ``"linear"`` or ``"nonlinear"``, plus ``"cross"`` when the
  primitive couples its first two arguments at second order (``x * y``).

The Jacobian rule is then ``T_out = OR_j L_j T_j`` over the arguments that are not "zero": the
rows read through ``L_j`` (a row selection or a boolean sparse product, ``R_j = L_j T_j``).

Hessians. A nonlinear argument makes every output element couple, at second order, the inputs
it reads: the primitive adds ``R_j^T R_j`` (the pairs within each row of ``R_j``) to the
Hessian pattern; a cross term adds ``R_0^T R_1`` and its transpose. But only where the output
element actually reaches the function's result with a nonzero derivative: ``where(x**2 > 1,
...)`` reads ``x**2`` only through a comparison, so ``x**2`` contributes nothing. So for a
Hessian the interpreter also keeps a tape (one record per primitive: inputs, the ``L_j`` and the
second-order terms), and at the end walks it backwards with a boolean mask per value ("this
element reaches the result"), ``mask_in |= L_j^T mask_out``; each second-order term is counted
only over the rows whose mask is set: ``R_a^T diag(mask) R_b``. This is the exact union over
the output's elements of their Hessian patterns, given the per-primitive classes.

Global and local patterns. By default (global) the values of traced arrays are unknown: the
pattern holds for every ``x``, shapes come from ``abstract_eval``, and Python control flow on a
traced value (``if x > 0``) raises ConcretizationError, since its branch could differ at another
``x``. With ``local=True`` the tracer also carries the value at this ``x``: control flow works
and primitives may refine their pattern with the values (``where`` reads only the branch it
takes), but the pattern is only valid at this ``x``. Constants are known in both modes, so
``where(mask, x, y)`` with a constant mask is exact in global mode too.
"""
import numpy as np
import scipy.sparse as sp

from ..core import (ConcretizationError, Interpreter, Tracer, add_any_p, get_aval,
                    is_differentiable_dtype, new_interpreter)


# -- patterns: boolean CSR matrices, rows = elements of a value, columns = the n inputs --------
# A Pattern is the bare CSR triple, rows sorted and free of repeats, built and combined with
# NumPy directly: a primitive costs a few array operations, not the checks and conversions of
# a scipy.sparse object (which dominated small problems); scipy only sees the final patterns.
class Pattern:
    """A boolean sparse matrix of shape ``(nrows, ncols)``: row i holds the sorted column
    indices ``indices[indptr[i]:indptr[i + 1]]``. ``width``: the common length of all rows, or
    None; elementwise code on shifted or selected inputs keeps rows of one length (1 for an
    input, 2 for ``x[1:] - x[:-1]``), and such a pattern is also the dense ``(rows, width)``
    index array ``grid()``, on which unions, selections and the Hessian's pairs are single
    array operations. Its ``indptr`` is then made only when asked for: a pattern of one width
    is its indices and nothing else (the tape of a Hessian holds many)."""
    __slots__ = ("_indptr", "indices", "nrows", "ncols", "_width")

    def __init__(self, indptr, indices, ncols, width=False, nrows=None):
        self._indptr, self.indices, self.ncols = indptr, indices, ncols
        self.nrows = indptr.size - 1 if indptr is not None else nrows
        self._width = width         # False: not known yet (never with indptr None)

    @property
    def indptr(self):
        if self._indptr is None:
            self._indptr = np.arange(self.nrows + 1, dtype=np.int64) * self._width
        return self._indptr

    @property
    def shape(self):
        return (self.nrows, self.ncols)

    @property
    def nnz(self):
        return self.indices.size

    @property
    def width(self):
        if self._width is False:
            m = self.nrows
            w = self.indices.size // m if m else 0
            self._width = w if self._indptr[-1] == m * w and np.array_equal(
                self._indptr, np.arange(m + 1) * w) else None
        return self._width

    def grid(self):
        return self.indices.reshape(-1, self._width)

    @classmethod
    def from_grid(cls, grid, ncols):
        m, w = grid.shape
        return cls(None, grid.ravel(), ncols, w, nrows=m)

    def rows(self):
        """The row of each stored entry."""
        return np.repeat(np.arange(self.nrows), np.diff(self.indptr))

    def to_scipy(self):
        return sp.csr_array((np.ones(self.nnz, bool), self.indices, self.indptr),
                            shape=self.shape)


def index_dtype(n):
    """Column indices of patterns over n inputs: 32 bits where they fit (half the memory, and
    on small problems the temporaries stay off the page-mapping path of the allocator)."""
    return np.int32 if n < 1 << 31 else np.int64


def empty_pattern(size, n):
    return Pattern(None, np.zeros(0, index_dtype(n)), n, 0, nrows=size)


def identity_pattern(size, n, offset=0):
    """The pattern of an input occupying columns ``offset .. offset + size`` of the n inputs."""
    return Pattern(None, np.arange(offset, offset + size, dtype=index_dtype(n)), n, 1,
                   nrows=size)


def from_entries(rows, cols, nrows, ncols):
    """The pattern holding entries (rows[k], cols[k]) (any order, repeats allowed)."""
    kd = key_dtype(nrows, ncols)
    return from_keys(rows.astype(kd) * ncols + cols.astype(kd), nrows, ncols)


def from_keys(keys, nrows, ncols):
    """The pattern holding the entries with keys ``row * ncols + col`` (any order, repeats
    allowed): through a flag per position when the matrix is small against the entries (a
    reduction to a few rows), else by sorting the keys (a stable sort: merging sorted runs,
    which is what unions and the Hessian terms hand in, is linear)."""
    if nrows * ncols <= max(8 * keys.size, 1 << 16):
        flags = np.zeros(nrows * ncols, bool)
        flags[keys] = True
        keys = np.flatnonzero(flags)
    elif keys.size:
        keys = np.sort(keys, kind="stable")
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    if nrows == 1:
        return Pattern(np.array([0, keys.size], np.int64), keys.astype(index_dtype(ncols)),
                       ncols)
    r, c = split_keys(keys, nrows, ncols)
    indptr = np.zeros(nrows + 1, np.int64)
    np.cumsum(np.bincount(r, minlength=nrows), out=indptr[1:])
    return Pattern(indptr, c.astype(index_dtype(ncols)), ncols)


def key_dtype(nrows, ncols):
    """The dtype of keys ``row * ncols + col``: 32 bits where they fit (half the memory and
    sort traffic of 64)."""
    return np.int32 if nrows * ncols < 1 << 31 else np.int64


def split_keys(keys, nrows, ncols, inplace=False):
    """``divmod(keys, ncols)`` for keys ``row * ncols + col`` < nrows * ncols. NumPy divides an
    integer array by one integer with a multiplication (libdivide), faster than ``divmod``,
    which takes a general path for the remainder. ``inplace``: ``keys`` becomes the columns,
    with no temporaries."""
    r = keys // max(ncols, 1)
    if not inplace:
        return r, keys - r * ncols
    r *= ncols
    keys -= r
    r //= max(ncols, 1)
    return r, keys


def take_rows(T, sel):
    """Rows ``sel`` of pattern ``T`` (an empty row where ``sel < 0``), in O(result) vectorized:
    the new row k is a copy of the index segment of row sel[k]."""
    sel = np.asarray(sel).ravel()
    valid = sel >= 0
    if T.width and valid.all():
        return Pattern.from_grid(T.grid()[sel], T.ncols)
    s = np.where(valid, sel, 0)
    starts = T.indptr[s]
    counts = np.where(valid, T.indptr[s + 1] - starts, 0)
    indptr = np.zeros(len(sel) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    total = int(indptr[-1])
    # position p of the result copies T.indices[start(row of p) + (p - indptr[row of p])]
    shift = np.repeat(starts - indptr[:-1], counts)
    return Pattern(indptr, T.indices[np.arange(total) + shift], T.ncols)


def union(a, b):
    if a is None or a.nnz == 0:
        return b if b is not None else a
    if b is None or b.nnz == 0 or b is a:
        return a
    if a.indices is b.indices and a.nrows == b.nrows and (
            a._indptr is b._indptr or np.array_equal(a.indptr, b.indptr)):
        return a
    for full in (a, b):         # rows reading every input (x * sum(x)): nothing to add
        if full.width == full.ncols:
            return full
    if a.shape[0] == 1:                 # sums of reductions: one row
        return from_keys(np.concatenate([a.indices, b.indices]), 1, a.ncols)
    if a.width == 1 and b.width == 1:   # x[1:] - x[:-1]: two entries per row, or one
        lo = np.minimum(a.indices, b.indices)
        hi = np.maximum(a.indices, b.indices)
        if not np.any(lo == hi):
            return Pattern.from_grid(np.stack([lo, hi], axis=1), a.ncols)
    if a.width and b.width and a.width + b.width <= 16:   # short rows side by side, sorted
        both = np.concatenate([a.grid(), b.grid()], axis=1)
        both.sort(axis=1)
        repeat = both[:, 1:] == both[:, :-1]
        if not repeat.any():
            return Pattern.from_grid(both, a.ncols)
        keep = np.concatenate([np.ones((both.shape[0], 1), bool), ~repeat], axis=1)
        indptr = np.zeros(both.shape[0] + 1, np.int64)
        np.cumsum(keep.sum(axis=1), out=indptr[1:])
        return Pattern(indptr, both[keep], a.ncols)
    return from_entries(np.concatenate([a.rows(), b.rows()]),
                        np.concatenate([a.indices, b.indices]), a.shape[0], a.ncols)


class Entries:
    """A dependency a rule gave as a sparse matrix, taken apart once: output element
    ``rows[k]`` reads argument element ``cols[k]``."""
    __slots__ = ("rows", "cols", "shape")

    def __init__(self, L):
        self.shape = L.shape
        if L.format == "coo":           # what the family rules build: no conversion
            self.rows, self.cols = L.row, L.col
            return
        L = L.tocsr() if L.format != "csr" else L
        self.rows = np.repeat(np.arange(L.shape[0], dtype=L.indices.dtype), np.diff(L.indptr))
        self.cols = L.indices


def as_entries(L):
    """A dependency given as a sparse matrix (a rule's answer): ``(rows, cols, shape)``."""
    E = L if isinstance(L, Entries) else Entries(L)
    return E.rows, E.cols, E.shape


class _AllDeps:
    """The fallback dependency: every output element reads every element of the argument."""
    __repr__ = lambda self: "ALL"  # noqa: E731


ALL = _AllDeps()


def apply_deps(L, T, out_size):
    """``R = L T``: the rows of pattern ``T`` read by each output element (see the module
    docstring for the forms of ``L``)."""
    if L is None:
        return None
    if isinstance(L, slice):
        return T if L == slice(None) else take_rows(T, np.arange(T.shape[0])[L])
    if L is ALL:
        cols = np.unique(T.indices)
        return Pattern(np.arange(out_size + 1, dtype=np.int64) * len(cols),
                       np.tile(cols, out_size), T.ncols)
    if isinstance(L, np.ndarray):
        if L.size == T.shape[0] and np.array_equal(L.ravel(), np.arange(L.size)):
            return T                        # reshapes and the like move nothing
        return take_rows(T, L)
    rows, cols, _ = as_entries(L)           # row r of R: the union of the rows cols read
    if out_size == 1:                       # a full reduction: the columns met anywhere
        read = T.indices if cols.size == T.shape[0] else take_rows(T, cols).indices
        return from_keys(read, 1, T.ncols)
    read = take_rows(T, cols)
    return from_entries(np.repeat(rows, np.diff(read.indptr)), read.indices, out_size,
                        T.ncols)


def pull_mask(L, mask_out, in_size):
    """``L^T mask``: which elements of an argument some marked output element reads."""
    if isinstance(L, slice):
        if L == slice(None):
            return mask_out
        m = np.zeros(in_size, bool)
        m[np.arange(in_size)[L][mask_out]] = True
        return m
    if L is ALL:
        return np.full(in_size, bool(mask_out.any()))
    m = np.zeros(in_size, bool)
    if isinstance(L, np.ndarray):
        sel = L.ravel()[mask_out]
        m[sel[sel >= 0]] = True
        return m
    rows, cols, _ = as_entries(L)
    m[cols[mask_out[rows]]] = True
    return m


def pair_entries(Ra, Rb, keep):
    """The entries of ``Ra^T diag(keep) Rb``: for each kept row, every column of ``Ra`` in it
    with every column of ``Rb`` in it. -> (rows, cols)."""
    if Ra.width and Rb.width:
        A, B = Ra.grid(), Rb.grid()
        if not keep.all():
            A, B = A[keep], B[keep]
        return (np.repeat(A, Rb.width, axis=1).ravel(), np.tile(B, (1, Ra.width)).ravel())
    la, lb = np.diff(Ra.indptr), np.diff(Rb.indptr)
    la, lb = np.where(keep, la, 0), np.where(keep, lb, 0)
    # each entry of Ra in a kept row meets the lb[row] entries of that row of Rb
    ea = np.flatnonzero(np.repeat(keep, np.diff(Ra.indptr)))
    ra = np.repeat(np.arange(la.size), la)
    times = lb[ra]
    left = np.repeat(Ra.indices[ea], times)
    starts = np.repeat(Rb.indptr[ra], times)
    offset = np.arange(left.size) - np.repeat(np.cumsum(times) - times, times)
    return left, Rb.indices[starts + offset]


# -- the tracer and the interpreter -------------------------------------------------------------
class SparsityTracer(Tracer):
    __slots__ = ("_aval", "value", "pattern", "node")

    def __init__(self, interp, aval, value, pattern, node):
        self._interp = interp
        self._aval = aval
        self.value = value          # the concrete value (local mode) or None (global mode)
        self.pattern = pattern      # boolean CSR (aval.size, n)
        self.node = node            # its index on the Hessian tape (None without a tape)

    @property
    def aval(self):
        return self._aval

    def concrete_value(self):
        if self.value is None:
            raise ConcretizationError(
                "a global sparsity pattern must hold for every input, so the value of a traced "
                f"array ({self._aval}) is unknown and Python control flow on it (if, while, "
                "bool(), int(), an index computed from it) cannot be followed; use np.where for "
                "branches, or ask for the pattern at this point: sparsity='local' in "
                "sparse_jacobian/sparse_hessian, mode='local' in jacobian_sparsity/"
                "hessian_sparsity")
        v = self.value
        return v.concrete_value() if isinstance(v, Tracer) else v

    def _become(self, new):
        self._aval, self.value, self.pattern, self.node = \
            new._aval, new.value, new.pattern, new.node


def _classes(prim, nargs):
    """The derivative class of each argument, and whether the arguments couple (cross)."""
    dc = prim.deriv_class
    if dc is None or dc == ("coupled",):     # "coupled": any inputs may couple (loops)
        return None, False
    cross = "cross" in dc
    per_arg = tuple(c for c in dc if c != "cross")
    if len(per_arg) == 1 and nargs > 1:      # one class for every argument (concatenate)
        per_arg = per_arg * nargs
    return per_arg, cross


def _add_any_sparsity(out_aval, avals, values):
    return [slice(None), slice(None)]


class SparsityInterpreter(Interpreter):
    __slots__ = ("n", "local", "tape", "n_nodes", "fallbacks")

    def __init__(self, level, n, local, hessian):
        super().__init__(level)
        self.n = n                  # number of input elements (columns of every pattern)
        self.local = local
        self.tape = [] if hessian else None
        self.n_nodes = 0
        self.fallbacks = set()      # names of primitives that used the conservative rule

    def new_node(self):
        if self.tape is None:
            return None
        self.n_nodes += 1
        return self.n_nodes - 1

    def new_input(self, value, offset):
        aval = get_aval(value)
        return SparsityTracer(self, aval, value if self.local else None,
                              identity_pattern(aval.size, self.n, offset), self.new_node())

    def lift(self, x):
        aval = get_aval(x)
        return SparsityTracer(self, aval, x, empty_pattern(aval.size, self.n), None)

    def process_primitive(self, prim, args, params):
        avals, values, tracers = [], [], []
        for x in args:
            if (type(x) is SparsityTracer and x._interp is self) or self.owns(x):
                avals.append(x._aval)
                values.append(x.value)
                tracers.append(x)
            else:                   # a constant: its value is known, its pattern empty
                avals.append(get_aval(x))
                values.append(x)
                tracers.append(None)
        # 1. the primal: the value itself (local) or only its shape and dtype (global)
        if self.local:
            out = prim.bind(*values, **params)
            outs = list(out) if prim.multiple_results else [out]
            out_avals = [get_aval(o) for o in outs]
        else:
            out = prim.abstract_eval(*avals, **params)
            out_avals = list(out) if prim.multiple_results else [out]
            outs = [None] * len(out_avals)
        # 2. which arguments carry a dependence, and through which class
        classes, cross = _classes(prim, len(args))
        live = [j for j, t in enumerate(tracers) if t is not None and t.pattern.nnz
                and (classes is None or classes[j] != "zero")]
        if not live or not any(is_differentiable_dtype(a.dtype) for a in out_avals):
            results = [self._result(a, v, None, None) for a, v in zip(out_avals, outs)]
            return results if prim.multiple_results else results[0]
        # 3. the primitive's dependency rule, told the values known (constants; local mode)
        values = [None if isinstance(v, Tracer) else v for v in values]
        deps_all = self._deps(prim, out_avals, avals, values, params)
        # 4. per result: the rows read through each argument, their union, and for a Hessian
        #    a tape record (what to pull masks through, which second-order terms to count)
        results = []
        for o_aval, o_val, deps in zip(out_avals, outs, deps_all):
            if not is_differentiable_dtype(o_aval.dtype):
                results.append(self._result(o_aval, o_val, None, None))
                continue
            R = {j: apply_deps(deps[j], tracers[j].pattern, o_aval.size) for j in live}
            R = {j: r for j, r in R.items() if r is not None}
            pattern = None
            for r in R.values():
                pattern = union(pattern, r)
            node = None
            if self.tape is not None and pattern is not None and pattern.nnz:
                node = self.new_node()
                terms = self._second_order(prim, classes, cross, R, tracers, deps, o_aval,
                                           avals, values, params)
                self.tape.append((node, o_aval.size,
                                  [(tracers[j].node, deps[j], avals[j].size) for j in R],
                                  terms))
            results.append(self._result(o_aval, o_val, pattern, node))
        return results if prim.multiple_results else results[0]

    def _deps(self, prim, out_avals, avals, values, params):
        """Per result, per argument, the dependency ``L_j`` (module docstring)."""
        rule = prim.sparsity
        if rule is None and prim is add_any_p:
            rule = _add_any_sparsity
        if rule is None:
            self.fallbacks.add(prim.name)
            return [[ALL] * len(avals) for _ in out_avals]
        out_aval = out_avals if prim.multiple_results else out_avals[0]
        deps = rule(out_aval, avals, values, **params)
        deps = deps if prim.multiple_results else [deps]
        return [[Entries(L) if sp.issparse(L) else L for L in d] for d in deps]

    def _second_order(self, prim, classes, cross, R, tracers, deps, o_aval, avals, values,
                      params):
        """The second-order terms ``(R_a, R_b, rows)`` of this result: each contributes
        ``R_a^T diag(mask[rows]) R_b`` to the Hessian pattern (rows None: one per element)."""
        if classes is None:         # no metadata: every pair of inputs it reads may couple
            u = None
            for r in R.values():
                u = union(u, r)
            return [(u, u, None)]
        terms = [(R[j], R[j], None) for j in R if classes[j] == "nonlinear"]
        if cross and 0 in R and 1 in R:
            pairs = getattr(prim.sparsity, "cross_terms", None)
            products = pairs and pairs(o_aval, avals, values, **params)
            if products is not None:    # the exact product terms (dot_general)
                rows, i0, i1 = products
                terms.append((take_rows(tracers[0].pattern, i0),
                              take_rows(tracers[1].pattern, i1), rows))
            else:                       # every pair read by one output element
                terms.append((R[0], R[1], None))
        if cross and len(R) > 2:        # more arguments (betainc): every further pair couples
            idx = sorted(R)
            terms += [(R[i], R[j], None) for n, i in enumerate(idx) for j in idx[n + 1:]
                      if (i, j) != (0, 1)]
        return terms

    def _result(self, aval, value, pattern, node):
        if pattern is None or pattern.nnz == 0:
            if self.local and value is not None:
                return value        # a constant: nothing it holds depends on the inputs
            pattern = empty_pattern(aval.size, self.n)
        return SparsityTracer(self, aval, value, pattern, node)

    def pattern_of(self, out):
        """The pattern of an output of the traced function (a constant has an empty one)."""
        if (type(out) is SparsityTracer and out._interp is self) or self.owns(out):
            return out.pattern, out.node
        return empty_pattern(get_aval(out).size, self.n), None

    def hessian_pattern(self, out_nodes, graph=False):
        """The union of the Hessian patterns of the outputs on the tape's nodes ``out_nodes``:
        a backward sweep of "reaches an output" masks, then the masked second-order terms,
        whose entries a PairSet gathers (interpreters/hessian_pairs.py: dense couplings stay
        cheap there) into a scipy CSR array. ``graph``: return also its adjacency graph (the
        entries off the diagonal), ``(H, G)``. The tape is used up."""
        from .hessian_pairs import PairSet      # it builds on this module's patterns
        masks = {}
        for node, size in out_nodes:
            if node is not None:
                masks[node] = np.ones(size, bool)
        pairs = PairSet(self.n)
        tape = self.tape
        while tape:     # records dropped as they are used: their memory serves what follows
            node, size, inputs, terms = tape.pop()
            mask = masks.pop(node, None)
            if mask is None or not mask.any():
                continue
            for in_node, L, in_size in inputs:
                if in_node is None:
                    continue
                m = pull_mask(L, mask, in_size)
                prev = masks.get(in_node)
                masks[in_node] = m if prev is None else (prev | m)
            for Ra, Rb, term_rows in terms:
                keep = mask if term_rows is None else mask[term_rows]
                if Ra.nnz == 0 or Rb.nnz == 0 or not keep.any():
                    continue
                if pairs.add(Ra, Rb, keep):     # full: nothing further can change it
                    tape.clear()
                    break
        return pairs.csr(graph)


def sparsity_flat(fun, primals, *, local=False, hessian=False, graph=False):
    """Trace ``fun`` (flat list of arrays -> flat list of arrays) on index sets.

    Returns ``(J, H, fallbacks)``: ``J`` the boolean CSR Jacobian pattern of shape
    ``(sum of output sizes, n)`` with ``n`` the sum of the input sizes (elements in C order,
    leaves one after the other), ``H`` the boolean CSR ``(n, n)`` union of the Hessian patterns
    of all output elements (None unless ``hessian``), and the set of primitive names that used
    the conservative fallback rule. ``local``: patterns at these values only (module docstring).
    ``graph`` (with ``hessian``): ``H`` is the pair ``(H, adjacency graph of H)``. Both are
    canonical: indices sorted within rows, no repeats.
    """
    sizes = [get_aval(p).size for p in primals]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    n = int(offsets[-1])
    with new_interpreter(SparsityInterpreter, n, local, hessian) as interp:
        ins = [interp.new_input(p, int(o)) for p, o in zip(primals, offsets[:-1])]
        outs = fun(ins)
        pats = [interp.pattern_of(o) for o in outs]
        sizes = [p.shape[0] for p, _ in pats]
        starts = np.cumsum([0] + [p.nnz for p, _ in pats])
        J = Pattern(np.concatenate([[0]] + [p.indptr[1:] + s for (p, _), s in
                                            zip(pats, starts)]).astype(np.int64),
                    np.concatenate([np.zeros(0, np.int64)] + [p.indices for p, _ in pats]), n)
        H = None
        if hessian:
            H = interp.hessian_pattern([(node, size) for (_, node), size in zip(pats, sizes)],
                                       graph)
    return J.to_scipy(), H, interp.fallbacks
