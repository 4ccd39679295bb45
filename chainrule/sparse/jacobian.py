"""Sparse Jacobians and Hessians: detect the pattern, color it, one sweep per color, recover.

    prep = prepare_sparse_hessian(f, x0)    # pattern + coloring + recovery plan, once
    H = prep(x)                             # at any x: one linearization, ncolors sweeps

A sweep pushes the sum of the basis vectors of one color through the linearized function:
forward (``J s``) for column colors, reverse (``s^T J``) for row colors, forward over reverse
(the linearized gradient, ``H s``) for Hessians. The function is linearized once per point and
the linear graph is then evaluated on the colors' seeds: in vmapped batches of up to
``ELEMENT_BUDGET // n`` seeds for small arrays (below about a thousand elements, where one
batched sweep saves the Python overhead of many), one seed at a time for larger ones, where
the graph is already vectorized over the array and batching only adds copies (measured at
n = 1e4 with 5 colors: 5 ms batched against 1.5 ms). ``chunk_size=k`` sets the batch size
(1: a plain loop). Results are ``scipy.sparse.csr_array`` with the detected pattern
(structural zeros included where a value happens to be 0 at this x).
"""
import time
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

from .. import api
from ..core import (InvalidArgumentError, NonScalarOutputError, ShapeMismatchError, Zero,
                    eval_graph, get_aval, instantiate)
from ..interpreters.batching import vmap_flat
from ..interpreters.partial_eval import linearize_flat
from ..interpreters.reverse import vjp_flat
from ..interpreters.sparsity import key_dtype, sparsity_flat
from ..interpreters.transpose import backward_pass
from . import coloring as col
from .detect import _check_mode, as_inputs, flat_function
from .staged import StagedSweeps

GRAPH_BUDGET = 50_000_000       # entries of a column/row intersection graph worth building
ELEMENT_BUDGET = 4096           # seeds x length of one vmapped batch of sweeps
JAC_MODES = ("auto", "fwd", "rev")
HESSIAN_COLORINGS = ("star", "acyclic", "column")


# -- sweeps -----------------------------------------------------------------------------------------
def _split(vec, avals):
    """A flat vector (or a (b, N) block of them) as leaves of the given avals."""
    lead = vec.shape[:-1]
    out, start = [], 0
    for a in avals:
        out.append(vec[..., start:start + a.size].reshape(lead + a.shape))
        start += a.size
    return out


def _join(leaves, lead=()):
    flat = [np.reshape(np.asarray(leaf), lead + (-1,)) for leaf in leaves]
    return flat[0] if len(flat) == 1 else np.concatenate(flat, axis=len(lead))


def sweeps(linear_fn, seeds, in_avals, chunk_size=None):
    """Apply ``linear_fn`` (flat list of leaves of ``in_avals`` -> flat list of leaves) to every
    row of ``seeds`` (k, N), ``chunk_size`` rows per vmapped call (default: as many as fit in
    ``ELEMENT_BUDGET`` elements; 1: a plain loop). Returns the results flattened and stacked:
    (k, M)."""
    k, N = seeds.shape
    chunk = max(1, int(chunk_size or ELEMENT_BUDGET // max(N, 1)))
    B = None
    for start in range(0, k, chunk):
        block = seeds[start:start + chunk]
        b = block.shape[0]
        if b == 1:
            out = _join([instantiate(o) for o in linear_fn(_split(block[0], in_avals))])
        else:
            out = _join(vmap_flat(lambda s: [instantiate(o) for o in linear_fn(s)],
                                  _split(block, in_avals), [0] * len(in_avals), [0], b), (b,))
        if b == k:          # one block: the result itself, no copy into fresh memory
            return out if b > 1 else out.reshape(1, -1)
        if B is None:       # written row block by row block: no list of blocks to join
            B = np.empty((k,) + out.shape[1:] if b > 1 else (k, out.size), out.dtype)
        B[start:start + b] = out
    return B if B is not None else np.zeros((0, 0))


def identity_sweeps(linear_fn, in_avals, chunk_size):
    """``sweeps`` of every unit seed, one input leaf after the other, as the dense ``jacfwd``
    runs them (api._sweep: seeds the batching interpreter keeps as terms, ``chunk_size`` at a
    time): (N, M), row k the image of basis vector k."""
    blocks = []
    for j, a in enumerate(in_avals):
        def push(t, j=j):
            return linear_fn([t if k == j else Zero(b) for k, b in enumerate(in_avals)])
        blocks.append(_join(api._sweep(push, a, chunk_size), (a.size,)))
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


# -- recovery plans: compressed (k, M) -> CSR ---------------------------------------------------
class _DirectRecovery:
    """Each nonzero is one entry of the compressed matrix: ``values = B.ravel()[take]``."""

    def __init__(self, pattern, take):
        # intp once here: NumPy would convert 32-bit indices anew at every call
        self.pattern, self.take = pattern, take.astype(np.intp, copy=False)

    def __call__(self, B):
        P = self.pattern
        return sp.csr_array((B.ravel()[self.take], P.indices, P.indptr), shape=P.shape)


def _entries(P):
    return np.repeat(np.arange(P.shape[0]), np.diff(P.indptr)), P.indices


def column_recovery(J, colors, symmetric=False):
    i, j = _entries(J)
    if symmetric:       # H[i, j] and H[j, i] both read B[c_hi, lo]: exactly symmetric
        i, j = np.minimum(i, j), np.maximum(i, j)
    return _DirectRecovery(J, colors[j] * J.shape[0] + i)      # B[c_j, i] = J[i, j]


def row_recovery(J, colors):
    i, j = _entries(J)
    return _DirectRecovery(J, colors[i] * J.shape[1] + j)      # B[c_i, j] = J[i, j]


def star_recovery(H, colors, graph=None):
    """H[i, j] from the sweep of color(j) at row i when j is i's only neighbour of that color,
    else from the sweep of color(i) at row j; both triangles read the same entry, so the result
    is exactly symmetric. ``graph``: the adjacency graph of ``H``, if at hand. Computed in 32
    bits where the indices fit, reusing buffers: it is a dozen passes over the entries."""
    n = H.shape[0]
    one = col.neighbour_color_counts(H if graph is None else graph, colors,
                                     graph=graph is not None) == 1
    nc = one.shape[1]
    one = one.ravel()
    kd = key_dtype(max(n, 1), max(nc, 1))
    colors = colors.astype(kd)
    hi = np.repeat(np.arange(n, dtype=kd), np.diff(H.indptr))
    j = H.indices
    lo = np.minimum(hi, j, dtype=kd)
    np.maximum(hi, j, out=hi)
    c_lo, c_hi = colors[lo], colors[hi]
    key = lo * nc
    key += c_hi
    from_lo = one[key]                                # j is lo's only neighbour of its color
    from_lo |= lo == hi
    np.multiply(hi, nc, out=key)
    key += c_lo
    if not np.all(one[key] | from_lo):
        raise InvalidArgumentError("the coloring is not a star coloring of this pattern")
    take = np.multiply(c_lo, n, out=c_lo)
    take += hi                                      # B[c_lo, hi]
    np.multiply(c_hi, n, out=c_hi)
    c_hi += lo                                      # B[c_hi, lo]
    np.copyto(take, c_hi, where=from_lo)
    return _DirectRecovery(H, take)


class _SubstitutionRecovery:
    """Acyclic coloring: the diagonal is read directly; the off-diagonal entries of each
    two-colored tree are solved for leaves first. Rooting every tree (breadth-first), the edge
    from node u to its parent has value ``h_u = B[color, vertex(u)] - sum of h over u's child
    edges``: a unit lower-triangular system in reverse breadth-first order, one sparse
    triangular solve for all trees."""

    def __init__(self, H, colors):
        n = H.shape[0]
        self.pattern = H
        G = col.adjacency_graph(H)
        nodes, (ei, ej, ni, nj, keys, nc) = col._bicolored_forest(G, colors)
        m = nodes.shape[0]
        n_comp, labels = csgraph.connected_components(nodes, directed=False)
        if n_comp != m - ei.size:
            raise InvalidArgumentError("the coloring is not an acyclic coloring of this pattern")
        # a virtual root (node m) joined to the first node of every tree
        first = np.unique(labels, return_index=True)[1]
        coo = nodes.tocoo()
        ext = sp.csr_array((np.ones(coo.nnz + first.size, bool),
                            (np.concatenate([coo.row, np.full(first.size, m)]),
                             np.concatenate([coo.col, first]))), shape=(m + 1, m + 1))
        bfs, pred = csgraph.breadth_first_order(ext, m, directed=False,
                                                return_predecessors=True)
        bfs = bfs[1:]                                   # drop the virtual root
        unknown = bfs[pred[bfs] != m][::-1]             # nodes with a parent edge, leaves first
        pos = np.full(m, -1)
        pos[unknown] = np.arange(unknown.size)
        child = unknown
        parent = pred[unknown]
        rows = pos[parent]
        ok = rows >= 0                                   # a child edge of a non-root node
        k = unknown.size
        self.system = sp.csr_array(
            (np.ones(k + int(ok.sum())), (np.concatenate([np.arange(k), rows[ok]]),
                                          np.concatenate([np.arange(k), pos[child[ok]]]))),
            shape=(k, k))
        # right-hand side: node u = (vertex i, partner color a) reads B[a, i]
        vert, partner = keys[unknown] // nc, keys[unknown] % nc
        self.rhs = partner * n + vert
        # every stored entry (i, j), i != j: the tree edge {i, j}, solved at its child node
        edge_child = np.where(pred[ni] == nj, ni, nj)
        i, j = _entries(H)
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        edge_key = ei * n + ej
        order = np.argsort(edge_key)
        off = i != j
        which = order[np.searchsorted(edge_key[order], lo[off] * n + hi[off])]
        self.off = off
        self.off_take = pos[edge_child[which]]
        self.diag_take = colors[i[~off]] * n + i[~off]

    def __call__(self, B):
        P = self.pattern
        h = spla.spsolve_triangular(self.system, B.ravel()[self.rhs], lower=True,
                                    unit_diagonal=True) if self.rhs.size else np.zeros(0)
        data = np.empty(P.nnz, dtype=B.dtype)
        data[self.off] = h[self.off_take]
        data[~self.off] = B.ravel()[self.diag_take]
        return sp.csr_array((data, P.indices, P.indptr), shape=P.shape)


# -- prepared objects ----------------------------------------------------------------------------
def _canonical(P, shape, what):
    P = sp.csr_array(P, dtype=bool)
    if P.shape != shape:
        raise ShapeMismatchError(f"{what}: the given pattern has shape {P.shape}, expected "
                                 f"{shape}")
    P.sum_duplicates()
    P.eliminate_zeros()
    P.sort_indices()
    return P


def _check_point(prep, leaves, treedef):
    if treedef != prep.treedef or [get_aval(x).shape for x in leaves] != \
            [a.shape for a in prep.in_avals]:
        raise ShapeMismatchError(f"{type(prep).__name__} was prepared for inputs "
                                 f"{prep.in_avals} and cannot be applied to "
                                 f"{[get_aval(x) for x in leaves]}")


class SparseJacobian(StagedSweeps):
    """A sparse Jacobian prepared once (pattern, coloring, recovery plan) and evaluated at
    many points: ``prep(x)`` is a ``scipy.sparse.csr_array`` of shape ``(m, n)``.

    Attributes: ``pattern`` (boolean CSR), ``coloring`` (a Coloring: ``ncolors`` sweeps per
    call), ``mode`` ("fwd": column colors and forward sweeps; "rev": row colors, reverse
    sweeps), ``info`` (sizes, the reason for the mode, preparation times, fallbacks).

    Extra arguments: ``f(x, *args)`` is prepared with ``args=`` (held constant, not
    differentiated) and ``prep(x, *args)`` evaluates it with other values of them (the same
    pattern). ``prep.compressed(x, *args)`` / ``prep.recover(B)`` / ``prep.jit()``: the sweeps
    as one traceable, compilable program (sparse/staged.py)."""

    def __init__(self, f, x, mode="auto", order="natural", sparsity="global", pattern=None,
                 chunk_size=None, args=()):
        if mode not in JAC_MODES:
            raise InvalidArgumentError(f"mode must be one of {JAC_MODES}, got {mode!r}")
        self.f, self.chunk_size, self.args = f, chunk_size, tuple(args)
        leaves, self.treedef = as_inputs(x, "sparse_jacobian")
        self.in_avals = [get_aval(x).strip_weak() for x in leaves]
        t0 = time.perf_counter()
        fallbacks = ()
        if pattern is None:
            local = _check_mode("sparse_jacobian", sparsity)
            J, _, fallbacks = sparsity_flat(flat_function(self._bind(self.args),
                                                          self.treedef), leaves, local=local)
        else:
            J = pattern
        n = sum(a.size for a in self.in_avals)
        m = sp.csr_array(J).shape[0]
        self.pattern = J = _canonical(J, (m, n), "sparse_jacobian")
        t1 = time.perf_counter()
        self.mode, self.coloring, reason = _choose_jacobian_coloring(J, mode, order)
        k = n if self.mode == "fwd" else m
        # a dense pattern (one sweep per column or row): swept with the identity as the dense
        # jacfwd/jacrev do, in large batches, and read back without index arithmetic
        dense = k > 1 and self.coloring.ncolors == k and J.nnz >= DENSE_FRACTION * m * n
        if dense:
            self._recover = _DenseRecovery(J, self.mode)
            self.chunk_size = _dense_chunk(chunk_size, k, max(m, n))
        else:
            recover = column_recovery if self.mode == "fwd" else row_recovery
            self._recover = recover(J, self.coloring.colors)
        self._seed_matrix = None
        t2 = time.perf_counter()
        self.info = {"mode": self.mode, "reason": reason, "ncolors": self.coloring.ncolors,
                     "shape": (m, n), "nnz": J.nnz, "sparsity": "given" if pattern is not None
                     else sparsity, "dense_fallback": dense, "fallbacks": sorted(fallbacks),
                     "detect_s": t1 - t0, "color_s": t2 - t1}

    @property
    def ncolors(self):
        return self.coloring.ncolors

    def __call__(self, x, *args):
        leaves, treedef = as_inputs(x, "sparse_jacobian")
        _check_point(self, leaves, treedef)
        outs, graph = linearize_flat(flat_function(self._bind(args or self.args),
                                                   self.treedef), leaves)
        out_avals = [get_aval(o).strip_weak() for o in outs]
        if self.mode == "fwd":
            push, avals = (lambda ts: eval_graph(graph, ts, linear=True)), self.in_avals
        else:
            push, avals = (lambda cts: backward_pass(graph, cts)), out_avals
        if self.info["dense_fallback"]:
            return self._recover(identity_sweeps(push, avals, self.chunk_size))
        return self._recover(sweeps(push, self._seeds, avals, self.chunk_size))

    def __repr__(self):
        m, n = self.info["shape"]
        return (f"SparseJacobian({m}x{n}, nnz={self.pattern.nnz}, {self.ncolors} "
                f"{self.mode} sweeps)")


def _choose_jacobian_coloring(J, mode, order):
    """-> (mode, Coloring, reason). Forward sweeps cost one per column color, reverse ones
    about 1.5 forward sweeps per row color (the model of ``chainrule.choose_mode``). Column
    colors are at least the longest row, row colors at least the longest column: the direction
    with the smaller bound is colored first, and the other only if it could still be cheaper.
    A coloring whose intersection graph would be too large to build (a dense row or column)
    is not tried: it would need about as many colors as that row has entries."""
    m, n = J.shape
    if mode in ("fwd", "rev"):
        if col.gram_cost(J if mode == "fwd" else J.T)[0] > GRAPH_BUDGET:
            return mode, _one_color_each(n if mode == "fwd" else m, mode), \
                f"mode={mode!r} requested; lines too long to color: one sweep each"
        return mode, col.column_coloring(J, order) if mode == "fwd" else \
            col.row_coloring(J, order), f"mode={mode!r} requested"
    weight = {"fwd": 1.0, "rev": 1.5}
    graph_cost, longest = {}, {}
    graph_cost["fwd"], longest["fwd"] = col.gram_cost(J)          # longest row
    graph_cost["rev"], longest["rev"] = col.gram_cost(J.T)        # longest column
    bound = {d: weight[d] * longest[d] for d in weight}
    colorings = {}
    for d in sorted(weight, key=lambda d: bound[d]):
        if graph_cost[d] > GRAPH_BUDGET:
            continue
        if colorings and min(weight[k] * c.ncolors for k, c in colorings.items()) <= bound[d]:
            continue                                    # cannot beat what we have
        colorings[d] = col.column_coloring(J, order) if d == "fwd" else \
            col.row_coloring(J, order)
    if not colorings:   # dense rows and dense columns: one sweep per input or per output
        d = "fwd" if n <= 1.5 * m else "rev"
        size = n if d == "fwd" else m
        return d, _one_color_each(size, d), \
            f"a dense row and a dense column: {size} {'forward' if d == 'fwd' else 'reverse'} sweeps"
    d = min(colorings, key=lambda d: (weight[d] * colorings[d].ncolors, d != "fwd"))
    other = "rev" if d == "fwd" else "fwd"
    what = {"fwd": "column colors (forward sweeps)", "rev": "row colors (reverse sweeps)"}
    alt = (f"{colorings[other].ncolors} {what[other]}" if other in colorings else
           f"at least {longest[other]} {what[other]}")
    return d, colorings[d], f"{colorings[d].ncolors} {what[d]} against {alt}"


def _one_color_each(size, mode):
    return col.Coloring(np.arange(size), "column" if mode == "fwd" else "row", "natural")


# a Hessian pattern with at least this fraction of its n^2 entries is treated as dense
DENSE_FRACTION = 0.5
DENSE_ELEMENT_BUDGET = 1 << 24  # seeds x length of one batch of a dense Hessian's sweeps


class _DenseRecovery:
    """A dense pattern swept with the identity: ``layout`` "fwd" (one forward sweep per
    column, ``B[j, i] = J[i, j]``), "rev" (one reverse sweep per row, ``B = J``) or
    "symmetric" (a Hessian, ``B[j, i] = H[i, j]``: the mean of B and its transpose, exactly
    symmetric as the other recoveries), read at the pattern's entries; a full pattern is the
    whole array, with no index arrays at all."""

    def __init__(self, P, layout):
        self.pattern, self.layout = P, layout
        m, n = P.shape
        self.take = None
        if P.nnz != m * n:
            kd = key_dtype(max(m, 1), max(n, 1))
            take = np.repeat(np.arange(0, m * n, n, dtype=kd), np.diff(P.indptr))
            take += P.indices.astype(kd, copy=False)
            self.take = take

    def __call__(self, B):
        P = self.pattern
        if self.layout == "symmetric":
            full = B + B.T
            full *= 0.5
        else:
            full = np.ascontiguousarray(B.T if self.layout == "fwd" else B)
        data = full.ravel() if self.take is None else full.ravel()[self.take]
        return sp.csr_array((data, P.indices, P.indptr), shape=P.shape)


def _dense_chunk(chunk_size, k, N):
    """The batch of a dense pattern's identity sweeps: all k at once, as the dense jacfwd and
    jacrev run them, up to DENSE_ELEMENT_BUDGET elements of seeds."""
    return chunk_size if chunk_size is not None else max(1, min(k, DENSE_ELEMENT_BUDGET // N))


class DensePatternWarning(UserWarning):
    """sparse_hessian found a dense pattern and computed it without coloring."""


class SparseHessian(StagedSweeps):
    """A sparse Hessian of a scalar function prepared once and evaluated at many points:
    ``prep(x)`` is a symmetric ``scipy.sparse.csr_array`` of shape ``(n, n)``, computed with
    one Hessian-vector product per color (forward over reverse: the gradient linearized once,
    then applied to each seed).

    ``coloring``: "star" (default; direct recovery), "acyclic" (fewer colors, recovery by
    substitution) or "column" (distance-2 coloring, direct). Attributes, extra arguments
    and the staged sweeps as SparseJacobian."""

    def __init__(self, f, x, coloring="star", order="natural", sparsity="global", pattern=None,
                 chunk_size=None, args=()):
        if coloring not in HESSIAN_COLORINGS:
            raise InvalidArgumentError(f"coloring must be one of {HESSIAN_COLORINGS}, got "
                                       f"{coloring!r}")
        self.f, self.chunk_size, self.args = f, chunk_size, tuple(args)
        self.mode = "hessian"
        leaves, self.treedef = as_inputs(x, "sparse_hessian")
        self.in_avals = [get_aval(x).strip_weak() for x in leaves]
        n = sum(a.size for a in self.in_avals)
        t0 = time.perf_counter()
        fallbacks, G = (), None
        if pattern is None:     # detected: canonical already, with its adjacency graph
            local = _check_mode("sparse_hessian", sparsity)
            _, (H, G), fallbacks = sparsity_flat(flat_function(self._bind(self.args),
                                                               self.treedef), leaves,
                                                 local=local, hessian=True, graph=True)
        else:
            H = sp.csr_array(pattern, dtype=bool)
            H = _canonical(H + H.T, (n, n), "sparse_hessian")
        self.pattern = H
        t1 = time.perf_counter()
        dense = n > 1 and H.nnz >= DENSE_FRACTION * n * n
        if dense:
            # a (nearly) dense pattern: every coloring needs about n colors, and star coloring
            # costs O(n^3) in Python; one color per column is as good, at no cost
            warnings.warn(f"sparse_hessian: the Hessian pattern is dense ({H.nnz} of {n * n} "
                          "entries); computing it with one Hessian-vector product per column "
                          "without coloring (chainrule.hessian gives the dense array)",
                          DensePatternWarning, stacklevel=3)
            self.coloring = col.Coloring(np.arange(n), "column", order)
            self._recover = _DenseRecovery(H, "symmetric")
            self.chunk_size = _dense_chunk(chunk_size, n, n)
        elif coloring == "star":
            G = col.off_diagonal(H) if G is None else G
            self.coloring = col.star_coloring_of_graph(G, order)
            self._recover = star_recovery(H, self.coloring.colors, G)
        elif coloring == "acyclic":
            self.coloring = col.acyclic_coloring(H, order)
            self._recover = _SubstitutionRecovery(H, self.coloring.colors)
        else:
            self.coloring = col.symmetric_column_coloring(H, order)
            self._recover = column_recovery(H, self.coloring.colors, symmetric=True)
        self._seed_matrix = None
        t2 = time.perf_counter()
        self.info = {"coloring": coloring, "ncolors": self.coloring.ncolors, "shape": (n, n),
                     "nnz": H.nnz, "sparsity": "given" if pattern is not None else sparsity,
                     "dense_fallback": dense,
                     "fallbacks": sorted(fallbacks), "detect_s": t1 - t0, "color_s": t2 - t1}

    @property
    def ncolors(self):
        return self.coloring.ncolors

    def __call__(self, x, *args):
        leaves, treedef = as_inputs(x, "sparse_hessian")
        _check_point(self, leaves, treedef)
        _, graph = linearize_flat(_gradient(self._bind(args or self.args), self.treedef),
                                  leaves)
        push = lambda ts: eval_graph(graph, ts, linear=True)  # noqa: E731
        if self.info["dense_fallback"]:
            return self._recover(identity_sweeps(push, self.in_avals, self.chunk_size))
        return self._recover(sweeps(push, self._seeds, self.in_avals, self.chunk_size))

    def __repr__(self):
        n = self.info["shape"][0]
        return (f"SparseHessian({n}x{n}, nnz={self.pattern.nnz}, {self.ncolors} "
                f"{self.info['coloring']} colors)")


def _gradient(f, treedef):
    """The gradient of scalar ``f`` as a function of flat leaves (reverse mode)."""
    flat_f = flat_function(f, treedef)

    def grad_flat(ins):
        outs, vjp = vjp_flat(flat_f, ins)
        if len(outs) != 1 or get_aval(outs[0]).shape != ():
            raise NonScalarOutputError(
                "sparse_hessian needs a function with one scalar output, got outputs of "
                f"shapes {[get_aval(o).shape for o in outs]}")
        return [instantiate(g) for g in vjp([np.ones((), get_aval(outs[0]).dtype)])]
    return grad_flat


# -- one-shot functions ---------------------------------------------------------------------------
def prepare_sparse_jacobian(f, x, mode="auto", order="natural", sparsity="global",
                            pattern=None, chunk_size=None, args=()):
    """Detect the Jacobian pattern of ``f`` at ``x`` (or take ``pattern``), color it and plan
    its recovery, once. Returns a SparseJacobian ``prep``; ``prep(x)`` computes the Jacobian
    (``scipy.sparse.csr_array`` of shape (m, n)) at any x of the same shapes with
    ``prep.ncolors`` sweeps. With ``sparsity="local"`` the pattern is only valid at this x.
    ``args``: extra arguments of ``f(x, *args)`` (not differentiated); ``prep(x, *args)``
    takes new values of them."""
    return SparseJacobian(f, x, mode, order, sparsity, pattern, chunk_size, args)


def prepare_sparse_hessian(f, x, coloring="star", order="natural", sparsity="global",
                           pattern=None, chunk_size=None, args=()):
    """Detect the Hessian pattern of scalar ``f`` at ``x`` (or take ``pattern``), color it and
    plan its recovery, once. Returns a SparseHessian ``prep``; ``prep(x)`` computes the Hessian
    (symmetric ``scipy.sparse.csr_array`` (n, n)) with ``prep.ncolors`` Hessian-vector
    products. ``args`` as for prepare_sparse_jacobian."""
    return SparseHessian(f, x, coloring, order, sparsity, pattern, chunk_size, args)


def sparse_jacobian(f, x, mode="auto", order="natural", sparsity="global", pattern=None,
                    chunk_size=None):
    """The Jacobian of ``f`` at ``x`` as a ``scipy.sparse.csr_array`` of shape (m, n) (m output
    elements, n input elements, C order, pytree leaves one after the other): pattern detection,
    coloring and one sweep per color. ``mode``: "auto" (the cheaper of column colors with
    forward sweeps and row colors with reverse sweeps), "fwd" or "rev". To evaluate at many
    points, prepare once with ``prepare_sparse_jacobian``."""
    return SparseJacobian(f, x, mode, order, sparsity, pattern, chunk_size)(x)


def sparse_hessian(f, x, coloring="star", order="natural", sparsity="global", pattern=None,
                   chunk_size=None):
    """The Hessian of scalar ``f`` at ``x`` as a symmetric ``scipy.sparse.csr_array`` (n, n):
    pattern detection, star coloring (or ``coloring="acyclic"``/``"column"``) and one
    Hessian-vector product per color. To evaluate at many points, prepare once with
    ``prepare_sparse_hessian``."""
    return SparseHessian(f, x, coloring, order, sparsity, pattern, chunk_size)(x)
