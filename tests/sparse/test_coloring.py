"""Colorings (chainrule.sparse.coloring): validity on random patterns, and the counts theory
predicts on structured ones."""
import numpy as np
import pytest
import scipy.sparse as sp

from chainrule import sparse as crs
from chainrule.sparse import coloring as col


def banded(n, b):
    return sp.diags([np.ones(n - abs(k)) for k in range(-b, b + 1)], range(-b, b + 1),
                    format="csr").astype(bool)


def arrowhead(n):
    A = sp.lil_array((n, n), dtype=bool)
    A.setdiag(True)
    A[0, :] = True
    A[:, 0] = True
    return A.tocsr()


def random_symmetric(n, density, seed):
    A = sp.random_array((n, n), density=density, rng=np.random.default_rng(seed),
                        format="csr").astype(bool)
    return (A + A.T + sp.eye_array(n, dtype=bool)).tocsr()


@pytest.mark.parametrize("b", [1, 2, 3, 5])
def test_banded_jacobian_needs_2b_plus_1_colors(b):
    J = banded(40, b)
    c = crs.column_coloring(J)
    assert c.ncolors == 2 * b + 1
    assert crs.row_coloring(J).ncolors == 2 * b + 1
    assert crs.is_column_coloring(J, c.colors)


def test_tridiagonal_jacobian_three_colors_every_order():
    J = banded(30, 1)
    assert crs.column_coloring(J).ncolors == 3
    for order in col.ORDERS:
        c = crs.column_coloring(J, order)
        assert crs.is_column_coloring(J, c.colors) and c.ncolors <= 5


def test_star_coloring_of_tridiagonal_hessian():
    H = banded(30, 1)
    c = crs.star_coloring(H)
    assert c.ncolors == 3
    assert crs.is_star_coloring(H, c.colors)
    assert crs.acyclic_coloring(H).ncolors == 2      # a path is a tree: two colors suffice


def test_arrowhead_hessian_star_beats_column():
    H = arrowhead(25)
    assert crs.star_coloring(H).ncolors == 2
    assert crs.star_coloring(H, "largest_first").ncolors == 2
    assert crs.symmetric_column_coloring(H).ncolors == 25
    # its Jacobian: column coloring needs n colors (a dense row), and so does row coloring
    assert crs.column_coloring(H).ncolors == 25


def test_grid_colorings():
    k = 12
    lap = banded(k, 1)
    eye = sp.eye_array(k, dtype=bool, format="csr")
    H = (sp.kron(lap, eye) + sp.kron(eye, lap)).tocsr().astype(bool)
    star = crs.star_coloring(H)
    assert star.ncolors == 5 and crs.is_star_coloring(H, star.colors)
    acyc = crs.acyclic_coloring(H)
    assert acyc.ncolors <= 4 and crs.is_acyclic_coloring(H, acyc.colors)
    assert crs.symmetric_column_coloring(H).ncolors >= 5


@pytest.mark.parametrize("order", col.ORDERS)
@pytest.mark.parametrize("seed", range(4))
def test_colorings_are_valid_on_random_patterns(order, seed):
    H = random_symmetric(60, 0.05, seed)
    star = crs.star_coloring(H, order)
    assert crs.is_star_coloring(H, star.colors)
    acyc = crs.acyclic_coloring(H, order)
    assert crs.is_acyclic_coloring(H, acyc.colors)
    assert acyc.ncolors <= star.ncolors + 2
    d2 = crs.symmetric_column_coloring(H, order)
    assert crs.is_column_coloring(H, d2.colors) and crs.is_star_coloring(H, d2.colors)
    J = sp.random_array((50, 70), density=0.06, rng=np.random.default_rng(seed),
                        format="csr").astype(bool)
    assert crs.is_column_coloring(J, crs.column_coloring(J, order).colors)
    assert crs.is_column_coloring(J.T, crs.row_coloring(J, order).colors)


def test_checks_reject_bad_colorings():
    H = banded(6, 1)
    assert not crs.is_star_coloring(H, np.array([0, 1, 0, 1, 0, 1]))    # a 2-colored path
    assert not crs.is_acyclic_coloring(random_symmetric(30, 0.3, 1), np.zeros(30, int))
    assert crs.is_acyclic_coloring(H, np.array([0, 1, 0, 1, 0, 1]))
    assert not crs.is_column_coloring(H, np.array([0, 1, 0, 1, 0, 1]))


def test_seeds_and_repr():
    c = crs.column_coloring(banded(5, 1))
    S = c.seeds()
    assert S.shape == (3, 5) and np.all(S.sum(axis=0) == 1)
    assert "3 colors" in repr(c)


def test_smallest_last_is_a_permutation():
    G = col.adjacency_graph(random_symmetric(40, 0.1, 3))
    order = col.vertex_order(G, "smallest_last")
    assert sorted(order.tolist()) == list(range(40))


# -- the fast paths: vectorized distance-1 greedy, bipartite sides, the bipartite star shortcut --
def grid(k1, k2=None, stencil=5):
    k2 = k1 if k2 is None else k2
    a, b = banded(k1, 1), banded(k2, 1)
    if stencil == 9:
        return sp.kron(a, b).tocsr().astype(bool)
    return (sp.kron(a, sp.eye_array(k2, dtype=bool)) + sp.kron(sp.eye_array(k1, dtype=bool), b)
            ).tocsr().astype(bool)


def grid3(k):
    a, e = banded(k, 1), sp.eye_array(k, dtype=bool)
    return (sp.kron(sp.kron(a, e), e) + sp.kron(sp.kron(e, a), e) + sp.kron(sp.kron(e, e), a)
            ).tocsr().astype(bool)


def random_tree(n, seed):
    rng = np.random.default_rng(seed)
    parent = np.array([rng.integers(0, i) for i in range(1, n)])
    A = sp.csr_array((np.ones(n - 1, bool), (np.arange(1, n), parent)), shape=(n, n))
    return (A + A.T + sp.eye_array(n, dtype=bool)).tocsr()


def random_bipartite(m, density, seed, permute=True):
    rng = np.random.default_rng(seed)
    A = sp.random_array((m, m), density=density, rng=rng, format="csr").astype(bool)
    e = sp.eye_array(m, dtype=bool)
    H = sp.block_array([[e, A], [A.T, e]]).tocsr().astype(bool)
    if permute:
        p = rng.permutation(2 * m)
        H = H[p][:, p].tocsr()
    return H


def plain_star(H, order="natural"):
    G = col.adjacency_graph(H)
    return col.star_greedy(G, col.vertex_order(G, order))


def test_distance1_greedy_is_first_fit():
    # the vectorized setup and bit-mask loop give what first fit gives, vertex by vertex
    for seed in range(3):
        G = col.adjacency_graph(random_symmetric(80, 0.08, seed))
        for order in col.ORDERS:
            o = col.vertex_order(G, order)
            colors = col._greedy_distance1(G, o)
            expected = np.full(80, -1)
            for v in o:
                taken = set(expected[G.indices[G.indptr[v]:G.indptr[v + 1]]])
                expected[v] = min(set(range(81)) - taken)
            np.testing.assert_array_equal(colors, expected)


@pytest.mark.parametrize("H", [grid(7), grid(6, 9), banded(15, 1), arrowhead(9), grid3(4),
                               random_tree(40, 0), random_bipartite(30, 0.08, 1),
                               sp.block_diag([grid(4), banded(5, 1), sp.eye_array(3)],
                                             format="csr").astype(bool)],
                         ids=["grid", "grid6x9", "path", "arrowhead", "grid3d", "tree",
                              "random_bipartite", "components"])
def test_bipartite_side_is_a_two_coloring_side(H):
    G = col.adjacency_graph(H)
    for order in ("natural", "random"):
        o = col.vertex_order(G, order)
        first = col.bipartite_side(G, o)
        coo = G.tocoo()
        assert np.all(first[coo.row] != first[coo.col])
        # each component's first vertex in the order is on the chosen side
        _, labels = sp.csgraph.connected_components(G, directed=False)
        firsts = o[np.unique(labels[o], return_index=True)[1]]
        assert first[firsts].all()


@pytest.mark.parametrize("H", [banded(10, 2), grid(6, stencil=9), random_symmetric(30, 0.2, 0),
                               sp.csr_array(np.ones((3, 3), bool))],
                         ids=["band2", "ninepoint", "random", "triangle"])
def test_bipartite_side_of_non_bipartite_graphs_is_none(H):
    G = col.adjacency_graph(H)
    assert col.bipartite_side(G, col.vertex_order(G)) is None


@pytest.mark.parametrize("k1,k2", [(8, 8), (12, 12), (5, 40), (9, 9), (31, 31), (100, 100)])
def test_grid_star_coloring_takes_the_bipartite_shortcut(k1, k2):
    H = grid(k1, k2)
    G = col.adjacency_graph(H)
    o = col.vertex_order(G)
    colors = col._star_bipartite(G, col.bipartite_side(G, o), o)
    assert colors is not None                       # the shortcut was kept ...
    c = crs.star_coloring(H)
    np.testing.assert_array_equal(c.colors, colors)
    assert crs.is_star_coloring(H, c.colors)
    # ... with the colors plain greedy needs: 5 (6 when a side has odd length)
    assert c.ncolors == (6 if k1 % 2 and k2 % 2 else 5)
    assert np.all(c.colors[(np.add.outer(np.arange(k1), np.arange(k2)) % 2 == 0).ravel()] == 0)
    if k1 * k2 <= 1000:
        assert plain_star(H).max() + 1 == c.ncolors


def test_small_grids_and_hubs_go_to_plain_greedy():
    for H in (grid(4), random_tree(60, 0)):         # a side with hubs against its median degree
        G = col.adjacency_graph(H)
        o = col.vertex_order(G)
        assert col._star_bipartite(G, col.bipartite_side(G, o), o) is None
        np.testing.assert_array_equal(crs.star_coloring(H).colors, plain_star(H))


def test_star_coloring_counts_on_chains_and_arrowheads():
    for n, ncolors in ((2, 2), (3, 2), (4, 3), (10, 3), (51, 3)):    # P3 is a star
        assert crs.star_coloring(banded(n, 1)).ncolors == ncolors
    H = arrowhead(200)
    assert crs.star_coloring(H).ncolors == 2
    p = np.arange(200)[::-1]                        # the hub last: the other side colored 0
    assert crs.star_coloring(H[p][:, p].tocsr()).ncolors == 2
    assert crs.star_coloring(sp.eye_array(6, dtype=bool, format="csr")).ncolors == 1
    assert crs.star_coloring(sp.csr_array((0, 0), dtype=bool)).ncolors == 0


@pytest.mark.parametrize("make", [lambda s: random_tree(120, s),
                                  lambda s: random_bipartite(60, 0.05, s),
                                  lambda s: random_bipartite(60, 0.05, s, permute=False),
                                  lambda s: random_symmetric(90, 0.04, s),
                                  lambda s: grid3(4 + s), lambda s: grid(5 + s, stencil=9)],
                         ids=["tree", "bipartite", "bipartite_blocks", "random", "grid3d",
                              "ninepoint"])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("order", ["natural", "random"])
def test_star_coloring_valid_and_never_worse_than_plain_greedy(make, seed, order):
    H = make(seed)
    c = crs.star_coloring(H, order)
    assert crs.is_star_coloring(H, c.colors)
    assert c.ncolors <= plain_star(H, order).max() + 1


def first_fit_on_side_b(G, first, order):
    """Reference for the bipartite shortcut's loop, vertex by vertex: v of side B (in order)
    avoids the colors of earlier x of B sharing a neighbour s with it, unless both have s as
    their only neighbour."""
    nbrs = [set(G.indices[G.indptr[v]:G.indptr[v + 1]].tolist()) for v in range(G.shape[0])]
    bverts = [v for v in order.tolist() if not first[v]]
    colors = {}
    for v in bverts:
        taken = {c for x, c in colors.items() if nbrs[v] & nbrs[x]
                 and not (len(nbrs[v]) == 1 and nbrs[v] == nbrs[x])}
        colors[v] = min(set(range(len(bverts) + 1)) - taken)
    return np.array([colors[v] for v in bverts], dtype=np.int64)


@pytest.mark.parametrize("H", [grid(7), grid(6, 9), banded(15, 1), arrowhead(9),
                               random_tree(40, 0), random_tree(50, 2),
                               random_bipartite(30, 0.08, 1), random_bipartite(25, 0.15, 3),
                               sp.block_diag([grid(4), banded(5, 1), arrowhead(4)],
                                             format="csr").astype(bool)],
                         ids=["grid", "grid6x9", "path", "arrowhead", "tree", "tree2",
                              "random_bipartite", "denser_bipartite", "components"])
@pytest.mark.parametrize("order", ["natural", "random"])
def test_grouped_first_fit_of_side_b_is_first_fit(H, order):
    if col.group_sparse is None:
        pytest.fail("scipy.optimize._group_columns.group_sparse is missing")
    G = col.adjacency_graph(H)
    o = col.vertex_order(G, order)
    first = col.bipartite_side(G, o)
    bverts = o[~first[o]]
    rank = np.empty(G.shape[0], np.int32)
    rank[bverts] = np.arange(bverts.size, dtype=np.int32)
    c1, s = col._gather(G.indptr, G.indices, bverts)
    single = np.diff(G.indptr) == 1
    got = col._first_fit_shared_rows(G.indptr, G.indices, bverts, c1, s, rank,
                                     single if single.any() else None)
    np.testing.assert_array_equal(got, first_fit_on_side_b(G, first, o))


@pytest.mark.parametrize("H", [grid(9), grid(8, 11), random_tree(70, 1), arrowhead(30),
                               random_bipartite(40, 0.06, 2)],
                         ids=["grid", "grid8x11", "tree", "arrowhead", "random_bipartite"])
def test_star_coloring_without_scipy_grouping_is_the_same(H, monkeypatch):
    with_grouping = crs.star_coloring(H).colors
    monkeypatch.setattr(col, "group_sparse", None)
    np.testing.assert_array_equal(crs.star_coloring(H).colors, with_grouping)
    assert crs.is_star_coloring(H, with_grouping)
