"""Graph colorings that compress a sparse Jacobian or Hessian into a few dense sweeps.

Columns of a Jacobian that share no row can be added up into one seed: one forward sweep with
the sum of their basis vectors computes all of them, and each nonzero is read back from the
compressed result. Grouping columns so is a coloring problem:

    column coloring (J)   distance-2 coloring of the bipartite row/column graph: columns of one
                          color share no row. Forward sweeps, one per color; J[i, j] is read at
                          row i of the sweep of color(j).
    row coloring (J)      the same on the rows, for reverse sweeps.
    star coloring (H)     for a symmetric H, a proper coloring of its adjacency graph in which
                          every path on four vertices uses at least three colors. Fewer colors
                          than a column coloring (an arrowhead matrix needs two, not n), still
                          with direct recovery: for every nonzero H[i, j], either j is the only
                          neighbour of i colored color(j), or i the only neighbour of j colored
                          color(i), and the entry is read from that sweep.
    acyclic coloring (H)  a proper coloring in which every cycle uses at least three colors, so
                          each two-colored subgraph is a forest. Fewer colors again; the entries
                          are recovered by substitution along each tree, leaves first (one
                          sparse triangular solve).

All four are greedy: vertices in a given order, each taking the smallest color its colored
neighbours allow. Each choice depends on the ones before, so the sweep itself stays a Python
loop; everything around it is vectorized. Distance-1 colorings (columns, rows) gather each
vertex's earlier neighbours with array operations and loop over one-bit color masks (about
0.2 us per vertex and neighbour). Star colorings of bipartite adjacency graphs (grids with a
5-point stencil, chains, arrowheads) color one side 0 in one step and the other by a
distance-1 coloring, which is the greedy column grouping of Curtis, Powell and Reid on that
side's columns of the pattern: SciPy's compiled one where it is there and cheaper (a pass per
color; 0.4 ms instead of 2 ms on a 100 x 100 grid), else that loop; other graphs run the full
star rules (about a microsecond per vertex and neighbour pair). Vectorizing the greedy choice itself (rounds of vertices far enough apart to
be colored at once) was measured and dropped: a few dozen rounds of array operations cost as
much as the loop at n = 1e4, and orders with few rounds (random priorities) need 8 colors on a
grid where index order needs 5. Orders: ``"natural"`` (index order, optimal on banded
matrices: 2b + 1 colors for bandwidth b), ``"largest_first"`` (by decreasing degree),
``"smallest_last"`` (repeatedly set aside a vertex of smallest degree, then color in reverse:
good on irregular graphs, one more pass), ``"random"``.
"""
import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from ..core import InvalidArgumentError
from ..interpreters.sparsity import key_dtype, split_keys

try:        # SciPy's compiled greedy column grouping (Curtis, Powell and Reid), the one its
    from scipy.optimize._group_columns import group_sparse  # finite differences use
except ImportError:                                         # a private module: kept optional
    group_sparse = None

ORDERS = ("natural", "largest_first", "smallest_last", "random")


class Coloring:
    """The result of a coloring: ``colors[k]`` is the color (0 .. ncolors-1) of column, row or
    vertex ``k``; ``kind`` is "column", "row", "star" or "acyclic"; ``order`` the vertex order
    used."""
    __slots__ = ("colors", "ncolors", "kind", "order")

    def __init__(self, colors, kind, order):
        self.colors = np.asarray(colors, dtype=np.int64)
        self.ncolors = int(self.colors.max()) + 1 if self.colors.size else 0
        self.kind = kind
        self.order = order

    def seeds(self, dtype=np.float64):
        """The compression seeds: ``(ncolors, len(colors))``, row c the sum of the basis
        vectors of color c."""
        S = np.zeros((self.ncolors, self.colors.size), dtype)
        S[self.colors, np.arange(self.colors.size)] = 1
        return S

    def __repr__(self):
        return (f"Coloring({self.kind}, {self.ncolors} colors for {self.colors.size} "
                f"{'rows' if self.kind == 'row' else 'columns'}, order={self.order!r})")


# -- graphs ---------------------------------------------------------------------------------------
def _pattern(A):
    """``A`` as a canonical boolean CSR array."""
    A = sp.csr_array(A, dtype=bool)
    A.sum_duplicates()
    A.eliminate_zeros()
    return A


def _without_diagonal(G):
    G = G.tocoo()
    keep = G.row != G.col
    out = sp.csr_array((np.ones(int(keep.sum()), bool), (G.row[keep], G.col[keep])),
                       shape=G.shape)
    out.sum_duplicates()
    return out


def column_graph(J):
    """Columns adjacent when they share a row of ``J``: the pattern of ``J^T J`` (no diagonal).
    Its size grows with the square of the row lengths: a dense row makes it dense."""
    J = _pattern(J)
    return _without_diagonal(J.T @ J)


def adjacency_graph(H):
    """The adjacency graph of a square pattern, symmetrized, without the diagonal."""
    H = _pattern(H)
    if H.shape[0] != H.shape[1]:
        raise InvalidArgumentError(f"a Hessian pattern must be square, got shape {H.shape}")
    return _without_diagonal(H + H.T)


def off_diagonal(H):
    """The adjacency graph of a pattern already symmetric and canonical (sorted, no repeats,
    as the sparse Hessian builds it): its entries off the diagonal, by array operations."""
    n = H.shape[0]
    rows = np.repeat(np.arange(n), np.diff(H.indptr))
    keep = H.indices != rows
    indptr = np.zeros(n + 1, H.indptr.dtype)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    return sp.csr_array((np.ones(int(indptr[-1]), bool), H.indices[keep], indptr),
                        shape=H.shape)


def gram_cost(J):
    """The work (and the nonzeros, before merging) of ``column_graph(J)``: sum of squared row
    lengths. Also a lower bound on column colors: the longest row."""
    counts = np.diff(_pattern(J).indptr)
    return int(np.sum(counts.astype(np.int64) ** 2)), int(counts.max(initial=0))


# -- vertex orders --------------------------------------------------------------------------------
def vertex_order(G, order="natural", seed=0):
    """The order in which the greedy colorings visit the vertices of graph ``G``."""
    n = G.shape[0]
    if order == "natural":
        return np.arange(n)
    degree = np.diff(G.indptr)
    if order == "largest_first":
        return np.argsort(-degree, kind="stable")
    if order == "random":
        return np.random.default_rng(seed).permutation(n)
    if order == "smallest_last":
        return _smallest_last(G, degree)
    raise InvalidArgumentError(f"order must be one of {ORDERS}, got {order!r}")


def _smallest_last(G, degree):
    """Repeatedly remove a vertex of smallest remaining degree; color in reverse removal
    order. Buckets of vertices by current degree, emptied lazily (stale entries skipped)."""
    ptr, idx = G.indptr.tolist(), G.indices.tolist()
    deg = degree.tolist()
    buckets = [[] for _ in range(max(deg, default=0) + 1)]
    for v, d in enumerate(deg):
        buckets[d].append(v)
    removed = [False] * len(deg)
    out = []
    low = 0
    while len(out) < len(deg):
        while not buckets[low]:
            low += 1
        v = buckets[low].pop()
        if removed[v] or deg[v] != low:
            continue
        removed[v] = True
        out.append(v)
        for w in idx[ptr[v]:ptr[v + 1]]:
            if not removed[w]:
                deg[w] -= 1
                buckets[deg[w]].append(w)
                if deg[w] < low:
                    low = deg[w]
    return np.array(out[::-1], dtype=np.int64)


# -- the greedy colorings -------------------------------------------------------------------------
def _gather(ptr, idx, rows):
    """The CSR rows ``rows`` one after the other: ``(lengths, their column indices)``."""
    starts = ptr[rows]
    counts = ptr[rows + 1] - starts
    ends = np.cumsum(counts)
    total = int(ends[-1]) if counts.size else 0
    shift = np.repeat(starts - (ends - counts), counts)
    return counts, idx[np.arange(total, dtype=shift.dtype) + shift]


def _first_fit_bits(lower_ptr, lower_idx):
    """The greedy loop of a distance-1 coloring, on vertices already numbered in coloring
    order: vertex v's earlier neighbours are ``lower_idx[lower_ptr[v]:lower_ptr[v+1]]`` (all
    below v; a repeat costs nothing). Colors are one-bit masks and the smallest free color of
    v is the lowest zero bit of the union of its neighbours' masks, ``~m & (m + 1)``: a few
    integer operations per neighbour, which is all that is left in Python (about 0.2 us per
    vertex and neighbour). -> colors (int array)."""
    bits = []
    append = bits.append
    ptr, idx = lower_ptr.tolist(), lower_idx.tolist()
    for lo, hi in zip(ptr, ptr[1:]):
        m = 0
        for w in idx[lo:hi]:
            m |= bits[w]
        append(~m & (m + 1))
    return np.fromiter(map(int.bit_length, bits), np.int64, len(bits)) - 1


def _grouped(owner, other, n):
    """CSR rows from pairs (owner[k], other[k]) with ``owner`` nondecreasing: repeats within
    a row dropped (one sort of the keys, which are nearly sorted already)."""
    key = owner.astype(np.int64 if n * n >= 1 << 31 else owner.dtype) * n + other
    key.sort(kind="stable")
    step = key[1:] != key[:-1]
    if not step.all():
        key = key[np.concatenate([[True], step])]
    rows, other = split_keys(key, n, n)
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=ptr[1:])
    return ptr, other


def _greedy_distance1(G, order):
    """Each vertex takes the smallest color none of its colored neighbours has."""
    n = G.shape[0]
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    counts, nbrs = _gather(G.indptr, G.indices, order)
    owner = np.repeat(np.arange(n), counts)
    nbr_rank = rank[nbrs]
    earlier = nbr_rank < owner
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(owner[earlier], minlength=n), out=ptr[1:])
    colors = np.empty(n, np.int64)
    colors[order] = _first_fit_bits(ptr, nbr_rank[earlier])
    return colors


def column_coloring(J, order="natural"):
    """A column coloring of the pattern ``J`` (m x n): columns of one color share no row.
    Returns a Coloring of the n columns."""
    G = column_graph(J)
    return Coloring(_greedy_distance1(G, vertex_order(G, order)), "column", order)


def row_coloring(J, order="natural"):
    """A row coloring of ``J``: rows of one color share no column (for reverse sweeps)."""
    c = column_coloring(sp.csr_array(J).T, order)
    return Coloring(c.colors, "row", order)


def symmetric_column_coloring(H, order="natural"):
    """A column coloring of a symmetric pattern: vertices at distance <= 2 differ."""
    G = adjacency_graph(H)
    G2 = _without_diagonal((G + sp.eye_array(G.shape[0], dtype=bool, format="csr")) @ G)
    return Coloring(_greedy_distance1(G2, vertex_order(G, order)), "column", order)


def star_coloring(H, order="natural"):
    """A star coloring of the symmetric pattern ``H`` (n x n): a Coloring of its n vertices,
    greedy in ``order``.

    On a bipartite adjacency graph (grids with a 5-point stencil, chains, arrowheads)
    first the shortcut of ``_star_bipartite``: one side colored 0, the other by a plain
    distance-1 coloring of a derived graph, a few vectorized steps and a tight loop. It needs
    at least 1 + the largest clique of that derived graph, and it is taken only when that bound
    is at most the median degree of the side colored 0 (no hubs there: on trees and random
    bipartite graphs plain greedy needs fewer colors) and the coloring comes within one color
    of it: 5 colors on a grid, 6 when both sides of the grid are odd, as plain greedy (an even
    cycle in random order is the one case seen where it takes one color more). Otherwise, as
    for every other graph, plain greedy (``star_greedy``), a Python loop of about a microsecond
    per vertex and neighbour pair."""
    return star_coloring_of_graph(adjacency_graph(H), order)


def star_coloring_of_graph(G, order="natural"):
    """``star_coloring`` of the adjacency graph ``G`` itself (symmetric CSR, no diagonal)."""
    order_v = vertex_order(G, order)
    first = bipartite_side(G, order_v)
    colors = None if first is None else _star_bipartite(G, first, order_v)
    if colors is None:
        colors = star_greedy(G, order_v)
    return Coloring(colors, "star", order)


def bipartite_side(G, order):
    """For a graph ``G`` (symmetric CSR, no diagonal): a boolean mask of one side of a
    2-coloring, the side holding the first vertex in ``order`` of each connected component;
    None if ``G`` is not bipartite. Breadth-first search from that vertex (or, for several
    components, from a virtual root joined to each) gives a tree; the parity of each vertex's
    depth comes from pointer jumping up the tree (log(depth) vectorized steps); the graph is
    bipartite when every edge joins vertices of different parity."""
    n = G.shape[0]
    if n == 0:
        return np.zeros(0, bool)
    ptr, idx = G.indptr, G.indices
    Gf = sp.csr_array((np.ones(idx.size), idx, ptr), shape=G.shape)
    root = int(order[0])
    reached, pred = csgraph.breadth_first_order(Gf, root, directed=True,
                                                return_predecessors=True)
    if reached.size < n:        # several components: a virtual root n above their first vertices
        _, labels = csgraph.connected_components(Gf, directed=True, connection="strong")
        firsts = order[np.sort(np.unique(labels[order], return_index=True)[1])]
        Ge = sp.csr_array((np.ones(idx.size + firsts.size), np.concatenate([idx, firsts]),
                           np.concatenate([ptr, [ptr[-1] + firsts.size]])), shape=(n + 1, n + 1))
        root = n
        _, pred = csgraph.breadth_first_order(Ge, root, directed=True, return_predecessors=True)
    up = pred.astype(np.int64)
    up[root] = root
    parity = np.ones(up.size, np.int8)          # parity of the path from v to up[v]
    parity[root] = 0
    while True:
        parity ^= parity[up]
        up = up[up]
        if not np.any(up != root):
            break
    parity = parity[:n]
    rows = np.repeat(np.arange(n), np.diff(ptr))
    if np.any(parity[rows] == parity[idx]):
        return None
    return parity == (0 if root < n else 1)


def _star_bipartite(G, first, order):
    """Greedy star coloring of a bipartite graph: the side ``first`` takes color 0, then the
    other side B in ``order``. -> colors, or None where plain greedy is likely to do better.

    A vertex v of B has only neighbours colored 0, so the star rules come down to: v differs
    from every earlier x of B sharing a neighbour s with it, unless v and x both have s as
    their only neighbour (then each two-colored path through s is a star centered at s). That
    is a distance-1 coloring of B over those pairs, found two steps away from each v (v -> s ->
    x) and colored by the loop of ``_first_fit_bits``. The neighbours of one s are pairwise
    constrained, save pairs of single-neighbour vertices: a clique, whose size bounds the
    colors of B from below; None when that bound exceeds the median degree of the side
    colored 0 (a hub there) or the coloring needs more than one color above it."""
    n = G.shape[0]
    ptr, idx = G.indptr, G.indices
    colors = np.zeros(n, np.int64)
    bverts = order[~first[order]]
    nb = bverts.size
    if nb == 0:
        return colors
    deg = np.diff(ptr)
    single = deg == 1
    any_single = bool(single.any())
    clique = deg
    if any_single:
        rows = np.repeat(np.arange(n), deg)
        n_single = np.bincount(rows, weights=single[idx], minlength=n).astype(np.int64)
        clique = deg - n_single + np.minimum(n_single, 1)
    bound = int(clique[first].max())
    counts = np.bincount(deg[first & (deg > 0)])   # the median degree on that side
    if bound > np.searchsorted(np.cumsum(counts), (counts.sum() + 1) // 2):
        return None
    rank = np.empty(n, np.int32)
    rank[bverts] = np.arange(nb, dtype=np.int32)
    c1, s = _gather(ptr, idx, bverts)           # v -> its neighbours s, v in coloring order
    # the greedy loop on the conflict pairs costs about 50 ns a pair in Python; SciPy's
    # compiled grouping costs a pass over the columns per color, which the earlier pairs of
    # a vertex bound: take it unless that bound makes it the dearer one
    pairs = np.bincount(np.repeat(np.arange(nb), c1), weights=deg[s] - 1, minlength=nb)
    colors_bound = int(pairs.max(initial=0)) + 1
    if group_sparse is not None and colors_bound * (n + nb) <= 25 * pairs.sum():
        colors[bverts] = 1 + _first_fit_shared_rows(ptr, idx, bverts, c1, s, rank,
                                                    single if any_single else None)
        return colors if colors.max() <= bound + 1 else None
    c2, x = _gather(ptr, idx, s)                # s -> its neighbours x
    owner = np.repeat(np.repeat(np.arange(nb, dtype=np.int32), c1), c2)
    x_rank = rank[x]
    keep = x_rank < owner                       # earlier vertices only (drops v itself)
    if any_single:                              # both with one neighbour: no constraint
        keep &= ~(single[bverts][owner] & single[x])
    colors[bverts] = 1 + _first_fit_bits(*_grouped(owner[keep], x_rank[keep], nb))
    return colors if colors.max() <= bound + 1 else None


def _first_fit_shared_rows(ptr, idx, bverts, c1, s, rank, single):
    """The distance-1 greedy coloring of ``_star_bipartite`` (side B in coloring order, ``c1``
    and ``s`` its neighbour lists) as a column grouping: column v of B holds its neighbours s
    as rows, so two columns meet exactly when they share a neighbour, and SciPy's greedy
    grouping, which visits the columns in order and puts each in the first group it meets
    nothing in, is first fit. A vertex with one neighbour s (``single``) holds instead a row
    of its own, which every vertex of B with more than one neighbour and s among them also
    holds: single vertices of one s then share nothing. -> colors of B, in order."""
    nb = bverts.size
    if single is None:
        indptr = np.zeros(nb + 1, np.int64)
        np.cumsum(c1, out=indptr[1:])
        rows, m = s, ptr.size - 1
    else:
        n = ptr.size - 1
        owner = np.repeat(np.arange(nb, dtype=np.int64), c1)
        alone = single[bverts]
        own = np.flatnonzero(alone)                 # single vertices (by rank): row n + t
        c3, u = _gather(ptr, idx, s[alone[owner]])  # the neighbours of their s
        partner = np.repeat(np.arange(own.size), c3)
        keep = ~single[u]
        rows = np.concatenate([s[~alone[owner]], n + np.arange(own.size),
                               n + partner[keep]])
        cols = np.concatenate([owner[~alone[owner]], own, rank[u[keep]]])
        by_col = np.argsort(cols, kind="stable")
        rows = rows[by_col]
        indptr = np.zeros(nb + 1, np.int64)
        np.cumsum(np.bincount(cols, minlength=nb), out=indptr[1:])
        m = n + own.size
    return group_sparse(int(m), int(nb), rows.astype(np.int64), indptr).astype(np.int64)


def star_greedy(G, order):
    """Greedy star coloring of graph ``G`` (symmetric CSR, no diagonal) in ``order``: colors.

    Vertex v may not take color a when (1) a neighbour has it, or (2) for a colored neighbour
    w (color b) with another colored neighbour x of color a, the path v-w-x would become part
    of a two-colored path on four vertices: x has a second b-colored neighbour y (path v-w-x-y),
    or v has a second b-colored neighbour w' (path x-w-v-w'). Checking both at each new vertex
    covers every such path, whichever of its vertices is colored last."""
    n = G.shape[0]
    ptr, idx = G.indptr.tolist(), G.indices.tolist()
    color = [-1] * n
    count = [None] * n          # count[x][b]: colored neighbours of x with color b
    mark = [-1] * (n + 1)
    for v in order.tolist():
        nv = idx[ptr[v]:ptr[v + 1]]
        around = {}             # color b -> number of v's neighbours with it
        for w in nv:
            b = color[w]
            if b >= 0:
                mark[b] = v
                around[b] = around.get(b, 0) + 1
        if around:
            for w in nv:
                b = color[w]
                if b < 0:
                    continue
                twice = around[b] > 1
                for x in idx[ptr[w]:ptr[w + 1]]:
                    a = color[x]
                    if a >= 0 and x != v and (twice or count[x][b] > 1):
                        mark[a] = v
        c = 0
        while mark[c] == v:
            c += 1
        color[v] = c
        for w in nv:
            cw = count[w]
            if cw is None:
                count[w] = {c: 1}
            else:
                cw[c] = cw.get(c, 0) + 1
    return np.array(color, dtype=np.int64)


def acyclic_coloring(H, order="natural"):
    """An acyclic coloring of the symmetric pattern ``H``: proper, and no cycle uses only two
    colors. The two-colored forests are tracked with a union-find over the edges: vertex v may
    not take color a when two of its neighbours w, w' (both of color b) lie on the same
    {a, b} tree, since v would close a cycle; after coloring, v's edges join their trees."""
    G = adjacency_graph(H)
    n = G.shape[0]
    ptr, idx = G.indptr.tolist(), G.indices.tolist()
    edge = _edge_ids(G).tolist()            # CSR position -> id of the undirected edge
    parent = list(range(max(edge, default=-1) + 1))

    def find(e):
        while parent[e] != e:
            parent[e] = parent[parent[e]]
            e = parent[e]
        return e

    color = [-1] * n
    mark = [-1] * (n + 1)
    for v in vertex_order(G, order).tolist():
        lo, hi = ptr[v], ptr[v + 1]
        for w in idx[lo:hi]:
            mark[color[w]] = v
        reached = {}            # (color a, tree) -> the neighbour of v that reaches it
        for p in range(lo, hi):
            w = idx[p]
            if color[w] < 0:
                continue
            for q in range(ptr[w], ptr[w + 1]):
                x = idx[q]
                a = color[x]
                if a < 0 or x == v:
                    continue
                key = (a, find(edge[q]))
                seen = reached.setdefault(key, w)
                if seen != w:
                    mark[a] = v
        c = 0
        while mark[c] == v:
            c += 1
        color[v] = c
        first = {}              # color b -> an edge from v to a b-colored neighbour
        for p in range(lo, hi):
            w = idx[p]
            b = color[w]
            if b < 0:
                continue
            e = edge[p]
            f = first.setdefault(b, e)
            if f != e:
                parent[find(e)] = find(f)
            for q in range(ptr[w], ptr[w + 1]):     # w's edges to c-colored vertices: one tree
                x = idx[q]
                if x != v and color[x] == c:
                    parent[find(e)] = find(edge[q])
                    break
    return Coloring(color, "acyclic", order)


def _edge_ids(G):
    """For each stored entry (i, j) of the symmetric CSR ``G``: the id of edge {i, j}, the same
    for (j, i); ids number the entries with i < j."""
    rows = np.repeat(np.arange(G.shape[0]), np.diff(G.indptr))
    cols = G.indices
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    key = lo.astype(np.int64) * G.shape[0] + hi
    upper = np.sort(key[rows < cols])
    return np.searchsorted(upper, key)


# -- checks ---------------------------------------------------------------------------------------
def is_column_coloring(J, colors):
    """True if no two columns of ``J`` sharing a row have the same color."""
    J = _pattern(J).tocoo()
    colors = np.asarray(colors)
    key = J.row.astype(np.int64) * (colors.max(initial=0) + 1) + colors[J.col]
    return len(np.unique(key)) == len(key)


def neighbour_color_counts(A, colors, graph=False):
    """``count[i, c]``: how many neighbours of vertex i (off-diagonal entries of row i) have
    color c, as a dense ``(n, ncolors)`` int array. ``graph=True``: ``A`` is already an
    adjacency graph (CSR without diagonal), used as it is."""
    if not graph:
        A = _without_diagonal(_pattern(A))
    n = A.shape[0]
    nc = int(colors.max(initial=-1)) + 1
    keys = np.repeat(np.arange(0, n * nc, max(nc, 1), dtype=key_dtype(n, max(nc, 1))),
                     np.diff(A.indptr))
    keys += colors[A.indices]
    return np.bincount(keys, minlength=n * nc).reshape(n, nc)


def is_star_coloring(H, colors):
    """True if ``colors`` is proper on the adjacency graph of ``H`` and every edge can be read
    directly (the defining property used by star recovery)."""
    G = adjacency_graph(H).tocoo()
    colors = np.asarray(colors)
    i, j = G.row, G.col
    if np.any(colors[i] == colors[j]):
        return False
    count = neighbour_color_counts(G, colors)
    return bool(np.all((count[i, colors[j]] == 1) | (count[j, colors[i]] == 1)))


def is_acyclic_coloring(H, colors):
    """True if ``colors`` is proper on the adjacency graph of ``H`` and every two-colored
    subgraph is a forest."""
    G = adjacency_graph(H)
    colors = np.asarray(colors)
    coo = G.tocoo()
    if np.any(colors[coo.row] == colors[coo.col]):
        return False
    nodes, edges = _bicolored_forest(G, colors)
    n_comp, _ = csgraph.connected_components(nodes, directed=False)
    return n_comp == nodes.shape[0] - edges[0].size


def _bicolored_forest(G, colors):
    """The union of the two-colored subgraphs as one graph: node (i, a) is vertex i inside the
    subgraph of colors {colors[i], a}; edge {i, j} links (i, colors[j]) and (j, colors[i]).
    -> (node adjacency CSR, (upper-triangle rows, cols, node_i, node_j) per edge)."""
    coo = G.tocoo()
    up = coo.row < coo.col
    i, j = coo.row[up].astype(np.int64), coo.col[up].astype(np.int64)
    nc = int(colors.max(initial=-1)) + 1
    keys, inv = np.unique(np.concatenate([i * nc + colors[j], j * nc + colors[i]]),
                          return_inverse=True)
    ni, nj = inv[:i.size], inv[i.size:]
    m = keys.size
    A = sp.csr_array((np.ones(2 * i.size, bool), (np.concatenate([ni, nj]),
                                                   np.concatenate([nj, ni]))), shape=(m, m))
    return A, (i, j, ni, nj, keys, nc)
