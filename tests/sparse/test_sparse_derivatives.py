"""Sparse Jacobians and Hessians against dense ones (chainrule.jacfwd / chainrule.hessian) on
random and structured functions: banded, block, grid, arrowhead, PDE residuals."""
import numpy as np
import pytest
import scipy.sparse as sp

import chainrule as cr
from chainrule import sparse as crs
from chainrule.core import ShapeMismatchError

rng = np.random.default_rng(1)


def bratu_1d(u, lam=2.0):
    """Residual of -u'' = lam exp(u) on (0, 1), u(0) = u(1) = 0, second-order differences."""
    h = 1.0 / (u.size + 1)
    up = np.concatenate([np.zeros(1), u, np.zeros(1)])
    return (2 * up[1:-1] - up[:-2] - up[2:]) / h ** 2 - lam * np.exp(u)


def laplace_2d_residual(x):
    k = int(round(x.size ** 0.5))
    u = np.pad(x.reshape(k, k), 1)
    lap = 4 * u[1:-1, 1:-1] - u[:-2, 1:-1] - u[2:, 1:-1] - u[1:-1, :-2] - u[1:-1, 2:]
    return (lap + u[1:-1, 1:-1] ** 3).ravel()


def banded_fn(x, b=2):
    out = np.sin(x)
    for s in range(1, b + 1):
        out = out + x[s:].sum() * 0 + np.concatenate([x[s:] * x[:-s], np.zeros(s)])
    return out


def block_fn(x):
    blocks = x.reshape(5, 4)
    return (np.exp(blocks) @ np.arange(16.0).reshape(4, 4) * blocks).ravel()


def arrowhead_fn(x):
    return np.concatenate([np.sum(x ** 2).reshape(1), x[1:] * x[0] + np.cos(x[1:])])


def wide_fn(x):
    return np.stack([np.sum(np.sin(x)), np.sum(x ** 2), np.sum(x[:-1] * x[1:])])


JACOBIANS = {
    "bratu_1d": (bratu_1d, 30),
    "laplace_2d": (laplace_2d_residual, 36),
    "banded": (banded_fn, 25),
    "block": (block_fn, 20),
    "arrowhead": (arrowhead_fn, 15),
    "wide": (wide_fn, 40),
    "tall": (lambda p: p[0] * np.sin(p[1] * np.linspace(0, 10, 50)) + p[2], 3),
}


@pytest.mark.parametrize("mode", ["auto", "fwd", "rev"])
@pytest.mark.parametrize("name", sorted(JACOBIANS))
def test_sparse_jacobian_equals_dense(name, mode):
    f, n = JACOBIANS[name]
    x = rng.uniform(0.1, 0.9, n)
    J = crs.sparse_jacobian(f, x, mode=mode)
    assert isinstance(J, sp.csr_array) and J.shape == (np.size(f(x)), n)
    np.testing.assert_allclose(J.toarray(), cr.jacfwd(f)(x).reshape(J.shape), rtol=1e-12,
                               atol=1e-12)


def test_automatic_mode_picks_the_cheap_direction():
    x = rng.uniform(size=40)
    assert crs.prepare_sparse_jacobian(wide_fn, x).mode == "rev"
    prep = crs.prepare_sparse_jacobian(bratu_1d, x)
    assert prep.mode == "fwd" and prep.ncolors == 3
    # a dense row and a dense column: neither direction compresses (that needs bicoloring)
    assert crs.prepare_sparse_jacobian(arrowhead_fn, x).ncolors == 40


def grid_energy(x):
    k = int(round(x.size ** 0.5))
    u = x.reshape(k, k)
    return np.sum(np.diff(u, axis=0) ** 2) + np.sum(np.diff(u, axis=1) ** 2) + np.sum(u ** 4)


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def arrowhead_energy(x):
    return x[0] ** 2 * np.sum(x[1:] ** 2) + np.sum(np.exp(x))


def block_energy(x):
    b = x.reshape(6, 3)
    return np.sum(np.log1p(np.sum(b, axis=1) ** 2)) + np.sum(b ** 3)


def random_sparse_energy(x, pairs=np.random.default_rng(7).integers(0, 30, (40, 2))):
    return np.sum(np.sin(x[pairs[:, 0]] * x[pairs[:, 1]])) + np.sum(x ** 4)


HESSIANS = {"grid": (grid_energy, 49), "rosenbrock": (rosenbrock, 20),
            "arrowhead": (arrowhead_energy, 12), "block": (block_energy, 18),
            "random": (random_sparse_energy, 30),
            "bratu_energy": (lambda u: 0.5 * u @ bratu_1d(u, 0.0) - np.sum(np.exp(u)), 25)}


@pytest.mark.parametrize("coloring", ["star", "acyclic", "column"])
@pytest.mark.parametrize("name", sorted(HESSIANS))
def test_sparse_hessian_equals_dense(name, coloring):
    f, n = HESSIANS[name]
    x = rng.uniform(0.1, 0.9, n)
    H = crs.sparse_hessian(f, x, coloring=coloring)
    dense = cr.hessian(f)(x)
    np.testing.assert_allclose(H.toarray(), dense, rtol=1e-10, atol=1e-10 * abs(dense).max())
    assert (H != H.T).nnz == 0


def test_grid_energy_nnz_is_the_structural_count():
    k = 9
    x = rng.uniform(size=k * k)
    H = crs.sparse_hessian(grid_energy, x)
    assert H.nnz == 5 * k * k - 4 * k
    np.testing.assert_allclose(H.toarray(), cr.hessian(grid_energy)(x), rtol=1e-12)


def test_prepared_hessian_is_reused_at_many_points():
    x0 = np.zeros(20)
    prep = crs.prepare_sparse_hessian(rosenbrock, x0)
    assert prep.ncolors == 3 and prep.pattern.nnz == 3 * 20 - 2
    for _ in range(3):
        x = rng.uniform(-1, 1, 20)
        np.testing.assert_allclose(prep(x).toarray(), cr.hessian(rosenbrock)(x), rtol=1e-12)
    with pytest.raises(ShapeMismatchError):
        prep(np.zeros(21))


def test_prepared_jacobian_with_given_pattern_and_batching_choices():
    x = rng.uniform(size=30)
    P = crs.jacobian_sparsity(bratu_1d, x)
    dense = cr.jacfwd(bratu_1d)(x)
    for chunk in (None, 1, 2):
        prep = crs.prepare_sparse_jacobian(bratu_1d, x, pattern=P, chunk_size=chunk)
        np.testing.assert_allclose(prep(x).toarray(), dense, rtol=1e-12)
    assert prep.info["sparsity"] == "given"


def test_local_sparsity_for_value_dependent_code():
    def f(x):
        return np.sum(x ** 2) if x[0] > 0 else np.sum(x[1:] * x[:-1])
    x = rng.uniform(0.1, 1, 10)
    H = crs.sparse_hessian(f, x, sparsity="local")
    assert H.nnz == 10
    np.testing.assert_allclose(H.toarray(), cr.hessian(f)(x))


def test_pytree_input():
    def f(p):
        return np.sum(p["a"] ** 2 * p["b"]) + np.sum(np.sin(p["a"]))
    p = {"a": rng.uniform(size=4), "b": rng.uniform(size=4)}
    H = crs.sparse_hessian(f, p)
    assert H.shape == (8, 8) and H.nnz == 4 + 8
    flat = lambda v: f({"a": v[:4], "b": v[4:]})  # noqa: E731
    np.testing.assert_allclose(H.toarray(), cr.hessian(flat)(np.concatenate([p["a"], p["b"]])))


def test_exports():
    for name in ("sparse_jacobian", "sparse_hessian", "jacobian_sparsity", "hessian_sparsity",
                 "prepare_sparse_jacobian", "prepare_sparse_hessian"):
        assert getattr(cr, name) is getattr(crs, name)


@pytest.mark.parametrize("seed", range(3))
def test_star_recovery_rebuilds_a_symmetric_matrix_from_its_products(seed):
    from chainrule.core import InvalidArgumentError
    from chainrule.sparse import coloring as col
    from chainrule.sparse import jacobian as sj
    r = np.random.default_rng(seed)
    A = sp.random_array((70, 70), density=0.05, rng=r, format="csr")
    M = (A + A.T + sp.diags(r.uniform(1, 2, 70))).tocsr()
    M.sort_indices()
    H = M.astype(bool)
    colors = crs.star_coloring(H).colors
    B = (M @ crs.Coloring(colors, "star", "natural").seeds().T).T     # one product per color
    for graph in (None, col.adjacency_graph(H)):
        got = sj.star_recovery(H, colors, graph)(B)
        np.testing.assert_allclose(got.toarray(), M.toarray(), rtol=1e-14, atol=0)
        assert (got != got.T).nnz == 0
    path = sp.diags([np.ones(5), np.ones(6), np.ones(5)], [-1, 0, 1], format="csr").astype(bool)
    with pytest.raises(InvalidArgumentError):      # proper, but a two-colored path of four
        sj.star_recovery(path, np.array([0, 1, 0, 1, 0, 1]))
