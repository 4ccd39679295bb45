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
