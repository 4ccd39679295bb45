"""Sparsity rules of the families: which elements of each argument an output element reads.

    rule(out_aval, avals, values, **params) -> [L_j per argument]   (interpreters/sparsity.py)
    L_j: None (not read), slice(None) (element k reads element k), an int array sel with
    output element k reading element sel[k] (-1: none), or a boolean sparse (out.size, arg.size)
    ``values``: each argument's value where known (constants; traced values in local mode),
    else None. Rules run on index arrays with NumPy and SciPy; they are metadata, never traced.

    elementwise_sparsity            broadcasting elementwise ops (set by the family helpers)
    same_order_sparsity             reshape: element k reads element k
    select_sparsity                 where(c, x, y): a known c selects the branch read
    choice_sparsity(larger)         maximum/minimum: known values select the argument read
    selection_sparsity(prim)        ops that only move elements (reshape, transpose, indexing,
                                    concatenate, setitem): the implementation run on labels
    reduction_sparsity              ops with ``axes`` reducing to one element per kept index
    extremum_sparsity(impl)         reduce_max/min: a known value reads only its extrema
    scan_sparsity                   cumulative ops along ``axis``: element k reads 0..k
    scatter_add_sparsity            operand element k, plus the updates added at k
    contraction_sparsity            dot_general ``spec``; its ``cross_terms`` are the products
    stacked_matrix_sparsity         decompositions of stacks (..., n, n) (eig, sqrtm): each result
                                    element reads its whole matrix, never another's
"""
import numpy as np
import scipy.sparse as sp

# product terms enumerated for an exact second-order cross term of a contraction; beyond it
# the interpreter uses the conservative all-pairs-per-output rule
MAX_CROSS_TERMS = 20_000_000


def _bool_matrix(rows, cols, shape):
    """In COO form: the interpreter reads the entries as they are, with no conversion."""
    return sp.coo_array((np.ones(len(rows), bool), (rows, cols)), shape=shape)


def _ids(size, shape=None):
    """``arange(size)`` in 32 bits where it fits (the rules' label arrays), reshaped."""
    ids = np.arange(size, dtype=np.int32 if size < 1 << 31 else np.int64)
    return ids if shape is None else ids.reshape(shape)


def same_order_sparsity(out_aval, avals, values, **params):
    """Element k of the result is element k of the argument (reshape, in C order)."""
    return [slice(None)]


def elementwise_sparsity(out_aval, avals, values, **params):
    deps = []
    for a in avals:
        if a.shape == out_aval.shape:
            deps.append(slice(None))
        else:
            ids = np.arange(a.size).reshape(a.shape)
            deps.append(np.broadcast_to(ids, out_aval.shape).ravel())
    return deps


def select_sparsity(out_aval, avals, values):
    deps = elementwise_sparsity(out_aval, avals, values)
    c = values[0]
    if c is None:
        return deps
    c = np.broadcast_to(np.asarray(c, bool), out_aval.shape).ravel()
    x, y = [np.arange(out_aval.size) if isinstance(d, slice) else d for d in deps[1:]]
    return [None, np.where(c, x, -1), np.where(c, -1, y)]


def choice_sparsity(larger):
    def sparsity(out_aval, avals, values):
        deps = elementwise_sparsity(out_aval, avals, values)
        x, y = values
        if x is None or y is None:
            return deps
        x, y = (np.broadcast_to(v, out_aval.shape).ravel() for v in (x, y))
        unordered = np.isnan(x) | np.isnan(y)       # NaN: read both, conservatively
        take_x = (x >= y if larger else x <= y) | unordered
        take_y = (y >= x if larger else y <= x) | unordered
        x_ids, y_ids = [np.arange(out_aval.size) if isinstance(d, slice) else d for d in deps]
        return [np.where(take_x, x_ids, -1), np.where(take_y, y_ids, -1)]
    sparsity.__name__ = "max_sparsity" if larger else "min_sparsity"
    return sparsity


def selection_sparsity(prim):
    def sparsity(out_aval, avals, values, **params):
        # label element i of argument j as offset_j + i + 1; 0 is what fills new elements
        offsets = np.cumsum([0] + [a.size for a in avals])
        labels = [(_ids(a.size, a.shape) + (o + 1)).astype(np.int64 if offsets[-1] >= 1 << 31
                                                             else np.int32, copy=False)
                  for o, a in zip(offsets, avals)]
        got = np.asarray(prim.impl(*labels, **params)).ravel() - 1
        if len(avals) == 1:
            return [got]
        return [np.where((got >= o) & (got < o + a.size), got - o, -1)
                for o, a in zip(offsets, avals)]
    sparsity.__name__ = f"{prim.name}_sparsity"
    return sparsity


def reduction_sparsity(out_aval, avals, values, *, axes):
    (a,) = avals
    kept = tuple(1 if i in axes else d for i, d in enumerate(a.shape))
    out_idx = np.broadcast_to(_ids(out_aval.size, kept), a.shape).ravel()
    return [_bool_matrix(out_idx, _ids(a.size), (out_aval.size, a.size))]


def extremum_sparsity(impl):
    def sparsity(out_aval, avals, values, *, axes):
        (L,) = reduction_sparsity(out_aval, avals, values, axes=axes)
        x = values[0]
        if x is None:
            return [L]
        ext = impl(x, axis=axes, keepdims=True)
        hit = ((x == ext) | np.isnan(ext)).ravel()    # ties: every extremum is read
        L = L.tocoo()
        keep = hit[L.col]
        return [_bool_matrix(L.row[keep], L.col[keep], L.shape)]
    sparsity.__name__ = f"{impl.__name__}_sparsity"
    return sparsity


def scan_sparsity(out_aval, avals, values, *, axis):
    (a,) = avals
    m = a.shape[axis]
    lines = np.moveaxis(np.arange(a.size).reshape(a.shape), axis, -1).reshape(-1, m)
    k, j = np.tril_indices(m)                   # element k of a line reads elements j <= k
    return [_bool_matrix(lines[:, k].ravel(), lines[:, j].ravel(), (a.size, a.size))]


def scatter_add_sparsity(out_aval, avals, values, *, idx):
    operand, updates = avals
    target = np.arange(operand.size).reshape(operand.shape)[idx]
    read = np.broadcast_to(np.arange(updates.size).reshape(updates.shape), target.shape)
    return [slice(None), _bool_matrix(target.ravel(), read.ravel(),
                                      (operand.size, updates.size))]


# -- contractions: dot_general with spec "ij,jk->ik" -------------------------------------------
def stacked_matrix_sparsity(out_aval, avals, values, **params):
    """For ``prim(a)`` with ``a`` of shape ``(..., m, n)`` and results sharing its batch
    dimensions: element k of a result reads all of the matrix of its batch index."""
    (a,) = avals
    batch = int(np.prod(a.shape[:-2], dtype=np.int64))
    per_in = a.size // batch if batch else 0

    def deps(o):
        per_out = o.size // batch if batch else 0
        rows = np.repeat(_ids(o.size), per_in)
        cols = (np.repeat(np.arange(batch), per_out * per_in) * per_in
                + np.tile(np.arange(per_in), o.size))
        return [_bool_matrix(rows, cols, (o.size, a.size))]
    return [deps(o) for o in out_aval] if isinstance(out_aval, list) else deps(out_aval)


def _parse(spec):
    ins, out = spec.split("->")
    a, b = ins.split(",")
    return a, b, out


def _grid_labels(letters, grid, sizes):
    """The flat (C-order) index over ``letters`` of every point of the grid over ``grid``."""
    shape = [sizes[c] for c in grid]
    label = np.zeros([1] * len(grid), dtype=np.int64)
    stride = 1
    for c in reversed(letters):
        axis = grid.index(c)
        label = label + stride * np.arange(sizes[c]).reshape(
            [-1 if i == axis else 1 for i in range(len(grid))])
        stride *= sizes[c]
    return np.broadcast_to(label, shape).ravel()


def contraction_sparsity(out_aval, avals, values, *, spec):
    a_s, b_s, o_s = _parse(spec)
    sizes = dict(zip(a_s, avals[0].shape))
    sizes.update(zip(b_s, avals[1].shape))
    deps = []
    for s, aval in zip((a_s, b_s), avals):
        grid = list(o_s) + [c for c in s if c not in o_s]
        deps.append(_bool_matrix(_grid_labels(o_s, grid, sizes), _grid_labels(s, grid, sizes),
                                 (out_aval.size, aval.size)))
    return deps


def _contraction_cross_terms(out_aval, avals, values, *, spec):
    """The products a[p] * b[p'] summed into each output element: ``(out, a_idx, b_idx)``,
    one entry per product (None when there are too many to list)."""
    a_s, b_s, o_s = _parse(spec)
    sizes = dict(zip(a_s, avals[0].shape))
    sizes.update(zip(b_s, avals[1].shape))
    grid = list(dict.fromkeys(o_s + a_s + b_s))
    if np.prod([sizes[c] for c in grid], dtype=np.float64) > MAX_CROSS_TERMS:
        return None
    return tuple(_grid_labels(s, grid, sizes) for s in (o_s, a_s, b_s))


contraction_sparsity.cross_terms = _contraction_cross_terms
# the linear primitives using these rules (reduce_sum, cumsum, scatter_add) add what they read
reduction_sparsity.sums = scan_sparsity.sums = scatter_add_sparsity.sums = True
# a contraction mixes the elements it reads (weights from the other operand): seed batches go
# dense at once rather than build its out x in dependency matrix
contraction_sparsity.mixes = True
