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
neighbours allow. The graphs and the checks are built with scipy.sparse; the greedy sweep
itself is a tight Python loop over flat lists (about a microsecond per vertex and neighbour
pair), since each choice depends on the previous ones. Orders: ``"natural"`` (index order,
optimal on banded matrices: 2b + 1 colors for bandwidth b), ``"largest_first"`` (by
decreasing degree), ``"smallest_last"`` (repeatedly set aside a vertex of smallest degree, then
color in reverse: good on irregular graphs, one more pass), ``"random"``.
"""
import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from ..core import InvalidArgumentError

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
def _greedy_distance1(G, order):
    """Each vertex takes the smallest color none of its colored neighbours has."""
    n = G.shape[0]
    ptr, idx = G.indptr.tolist(), G.indices.tolist()
    color = [-1] * n
    mark = [-1] * (n + 1)       # mark[c] == v: color c is taken around v (mark[-1]: uncolored)
    for v in order.tolist():
        for w in idx[ptr[v]:ptr[v + 1]]:
            mark[color[w]] = v
        c = 0
        while mark[c] == v:
            c += 1
        color[v] = c
    return color


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
    """A star coloring of the symmetric pattern ``H`` (n x n).

    Vertex v may not take color a when (1) a neighbour has it, or (2) for a colored neighbour
    w (color b) with another colored neighbour x of color a, the path v-w-x would become part
    of a two-colored path on four vertices: x has a second b-colored neighbour y (path v-w-x-y),
    or v has a second b-colored neighbour w' (path x-w-v-w'). Checking both at each new vertex
    covers every such path, whichever of its vertices is colored last."""
    G = adjacency_graph(H)
    n = G.shape[0]
    ptr, idx = G.indptr.tolist(), G.indices.tolist()
    color = [-1] * n
    count = [None] * n          # count[x][b]: colored neighbours of x with color b
    mark = [-1] * (n + 1)
    for v in vertex_order(G, order).tolist():
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
    return Coloring(color, "star", order)


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


def neighbour_color_counts(A, colors):
    """``count[i, c]``: how many neighbours of vertex i (off-diagonal entries of row i) have
    color c, as a dense ``(n, ncolors)`` int array."""
    A = _without_diagonal(_pattern(A)).tocoo()
    nc = int(colors.max(initial=-1)) + 1
    flat = np.bincount(A.row.astype(np.int64) * nc + colors[A.col],
                       minlength=A.shape[0] * nc)
    return flat.reshape(A.shape[0], nc)


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
