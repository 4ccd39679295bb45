"""Sparsity detection (interpreters/sparsity.py, chainrule.sparse.detect): patterns against the
nonzeros of dense Jacobians and Hessians, global versus local patterns, the fallback list."""
import importlib
import pkgutil

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special as ss

import chainrule as cr
import chainrule.ops
import chainrule.scipy.special as css
from chainrule import sparse as crs
from chainrule.core import ConcretizationError, Primitive
from chainrule.interpreters import sparsity as isp

rng = np.random.default_rng(0)
A = rng.standard_normal((4, 12))
X = rng.uniform(0.1, 0.9, 12)


def _setitem(x):
    y = np.zeros(12, like=x)
    y[::2] = x[1::2] ** 2
    y[[1, 3]] = x[:2]
    return y


def _add_at(x):
    y = np.zeros(5, like=x)
    np.add.at(y, [0, 1, 1, 4], x[:4])
    return y


# functions whose dense Jacobian and Hessian (of sum(sin(f))) have no accidental zeros at X: the
# detected pattern must equal the dense nonzeros exactly
EXACT = {
    "elementwise": lambda x: np.exp(np.sin(x) * x) / (1 + x ** 2) + np.sqrt(x) * np.tanh(x),
    "binary_broadcast": lambda x: (x.reshape(3, 4) * x[:4] - x.reshape(3, 4)[:, :1]).ravel(),
    "pad_reflect": lambda x: np.pad(x, 2, mode="reflect") * 2,
    "flip_roll": lambda x: np.flip(x) * np.roll(x, 3),
    "fancy_index": lambda x: x[[0, 0, 5, 11]] * x[[1, 2, 3, 3]],
    "matvec": lambda x: A @ np.sin(x),
    "dot_self": lambda x: np.stack([x[:6] @ x[6:], np.sum(x)]),
    "outer": lambda x: np.outer(x[:3], x[3:6]).ravel(),
    "einsum": lambda x: np.einsum("ij,jk->ik", x.reshape(3, 4), x.reshape(4, 3)).ravel(),
    "cumsum": lambda x: np.cumsum(x.reshape(3, 4), axis=1).ravel(),
    "cumprod": lambda x: np.cumprod(x.reshape(3, 4), axis=0).ravel(),
    "prod": lambda x: np.prod(x.reshape(3, 4), axis=1),
    "logsumexp": lambda x: css.logsumexp(x.reshape(3, 4), axis=1),
    "norm": lambda x: np.linalg.norm(x.reshape(3, 4), axis=1),
    "tile_repeat": lambda x: np.tile(x[:3], 2) * np.repeat(x[3:6], 2),
    "triu": lambda x: np.triu(x.reshape(3, 4)).ravel(),
    "where_constant_mask": lambda x: np.where(np.arange(12) % 2 == 0, x, x ** 2),
    "transpose": lambda x: x.reshape(3, 4).T.ravel() * x,
    "setitem": _setitem,
    "add_at": _add_at,
    "scipy_special": lambda x: ss.gammaln(x ** 2 + 1) + ss.xlogy(x, x + 1),
    "concatenate": lambda x: np.concatenate([x[:3], np.sin(x[5:]), x[:2] * x[3:5]]),
    "mean_std": lambda x: np.std(x.reshape(3, 4), axis=0) + np.mean(x),
    "diff": lambda x: np.diff(x.reshape(3, 4), axis=0).ravel() ** 3,
    "solve_fallback": lambda x: np.linalg.solve(np.eye(3) + x[:9].reshape(3, 3), x[9:]),
}


def _dense_jac_pattern(f, x):
    J = cr.jacfwd(f)(x)
    return J.reshape(-1, x.size) != 0


@pytest.mark.parametrize("name", sorted(EXACT))
def test_jacobian_pattern_equals_dense_nonzeros(name):
    f = EXACT[name]
    J = crs.jacobian_sparsity(f, X)
    assert J.dtype == bool and J.shape == (np.size(f(X)), X.size)
    np.testing.assert_array_equal(J.toarray(), _dense_jac_pattern(f, X))


@pytest.mark.parametrize("name", sorted(EXACT))
def test_hessian_pattern_equals_dense_nonzeros(name):
    def g(x):
        return np.sum(np.sin(EXACT[name](x)))
    H = crs.hessian_sparsity(g, X)
    np.testing.assert_array_equal(H.toarray(), cr.hessian(g)(X) != 0)
    assert (H != H.T).nnz == 0


# conservative cases: the pattern must contain the dense nonzeros
CONSERVATIVE = {
    "max": lambda x: np.max(x.reshape(3, 4), axis=0),
    "maximum": lambda x: np.maximum(x[:6], x[6:]),
    "clip_abs": lambda x: np.clip(x, 0.2, 0.8) + np.abs(x - 0.5),
    "diag_matvec": lambda x: np.diag(x[:4]) @ x[4:8],
    "rfft_fallback": lambda x: np.fft.rfft(x).real,
}


@pytest.mark.parametrize("name", sorted(CONSERVATIVE))
def test_conservative_patterns_contain_the_nonzeros(name):
    f = CONSERVATIVE[name]
    J = crs.jacobian_sparsity(f, X).toarray()
    assert np.all(J >= _dense_jac_pattern(f, X))
    g = lambda x: np.sum(np.sin(f(x)))  # noqa: E731
    assert np.all(crs.hessian_sparsity(g, X).toarray() >= (cr.hessian(g)(X) != 0))


def test_grid_energy_hessian_is_the_five_point_stencil():
    k = 7

    def energy(x):
        u = x.reshape(k, k)
        return np.sum(np.diff(u, axis=0) ** 2) + np.sum(np.diff(u, axis=1) ** 2) + \
            np.sum(u ** 4)
    H = crs.hessian_sparsity(energy, np.ones(k * k))
    assert H.nnz == 5 * k * k - 4 * k
    np.testing.assert_array_equal(H.toarray(), cr.hessian(energy)(X[0] + np.arange(k * k)) != 0)


def test_second_order_terms_count_only_where_they_reach_the_output():
    x = np.linspace(0.1, 1.0, 6)
    # x**2 is read only through a comparison and a floor (zero derivatives): no coupling
    f = lambda x: np.sum(np.where(x ** 2 > 0.5, x, 2 * x)) + np.sum(np.floor(np.sin(x) ** 2))  # noqa
    assert crs.hessian_sparsity(f, x).nnz == 0
    # an unused nonlinear intermediate contributes nothing
    def g(x):
        _unused = np.exp(x[0] * x[1])
        return np.sum(x) + x[2] * x[3]
    H = crs.hessian_sparsity(g, x).toarray()
    assert set(zip(*np.nonzero(H))) == {(2, 3), (3, 2)}


def test_linear_functions_have_empty_hessians():
    f = lambda x: np.sum(np.cumsum(x) * 3.0) - x[2] + np.sum(A @ x)  # noqa: E731
    assert crs.hessian_sparsity(f, X).nnz == 0
    assert crs.jacobian_sparsity(f, X).nnz == X.size


def test_global_mode_refuses_value_dependent_control_flow():
    def f(x):
        if x[0] > 0.5:
            return x ** 2
        return np.sum(x) * x
    with pytest.raises(ConcretizationError, match="mode='local'"):
        crs.jacobian_sparsity(f, X)
    lo = crs.jacobian_sparsity(f, np.full(12, 0.1), mode="local").toarray()
    hi = crs.jacobian_sparsity(f, np.full(12, 0.9), mode="local").toarray()
    assert lo.all()
    np.testing.assert_array_equal(hi, np.eye(12, dtype=bool))


def test_local_mode_selects_the_branch_taken():
    f = lambda x: np.where(x > 0.5, x[::-1] ** 2, 0.0)  # noqa: E731
    x = np.linspace(0.05, 1, 12)
    glob = crs.jacobian_sparsity(f, x).toarray()
    loc = crs.jacobian_sparsity(f, x, mode="local").toarray()
    np.testing.assert_array_equal(glob, np.eye(12, dtype=bool)[::-1])
    np.testing.assert_array_equal(loc, _dense_jac_pattern(f, x))
    assert loc.sum() == 6


def test_local_mode_follows_concrete_values():
    def f(x):
        order = np.argsort(x)              # global mode: any order (a staged gather)
        return np.cumsum(x[order])
    x = rng.uniform(size=5)
    assert crs.jacobian_sparsity(f, x).toarray().all()
    np.testing.assert_array_equal(crs.jacobian_sparsity(f, x, mode="local").toarray(),
                                  _dense_jac_pattern(f, x))


def test_pytree_inputs_and_outputs():
    def f(p):
        return {"a": p["u"] * p["v"][0], "b": np.sum(p["v"] ** 2)}
    p = {"u": np.ones(3), "v": np.ones(2)}
    J = crs.jacobian_sparsity(f, p)       # columns: u (3) then v (2); rows: a (3) then b (1)
    expected = np.array([[1, 0, 0, 1, 0], [0, 1, 0, 1, 0], [0, 0, 1, 1, 0], [0, 0, 0, 1, 1]],
                        bool)
    np.testing.assert_array_equal(J.toarray(), expected)


def test_constant_outputs_and_integer_paths():
    f = lambda x: np.stack([np.sum(np.ones(3)), np.sum(x.astype(int)) * 1.0, x[0]])  # noqa
    np.testing.assert_array_equal(crs.jacobian_sparsity(f, X).toarray()[:, 0], [0, 0, 1])


def test_nested_gradient_inside_detection():
    g = cr.grad(lambda x: np.sum(x[1:] * x[:-1]) + np.sum(np.sin(x)))
    x = np.linspace(0.1, 1, 6)
    J = crs.jacobian_sparsity(g, x)
    np.testing.assert_array_equal(J.toarray(), cr.hessian(
        lambda x: np.sum(x[1:] * x[:-1]) + np.sum(np.sin(x)))(x) != 0)


# primitives without a sparsity rule: taken as dense (every output element reads every input
# element). A change to this list is deliberate: a new primitive needs a rule or a line here.
FALLBACK = {"adjugate", "cholesky", "det", "eigh", "expm", "expm_frechet", "fft", "irfft", "lu",
            "pinv", "qr", "rfft", "slogdet", "solve", "svd", "triangular_solve",
            # loops, branches and checkpoints (ops/loops.py): dense, documented
            "while", "cond", "checkpoint",
            # user rules and callbacks (ops/custom.py): conservative by design
            "custom_vjp_lin", "pure_callback", "linear_solve",
            # neural-network layers (ops/nn.py): dense for now (a conv's pattern is local)
            "conv", "conv_input_t", "conv_weight_t", "standardize", "standardize_tangent"}


def _library_primitives():
    prims = {}
    for info in pkgutil.iter_modules(chainrule.ops.__path__):
        mod = importlib.import_module(f"chainrule.ops.{info.name}")
        prims.update({v.name: v for v in vars(mod).values() if isinstance(v, Primitive)})
    return prims


def test_primitives_using_the_dense_fallback():
    prims = _library_primitives()
    without = {name for name, p in prims.items() if p.sparsity is None
               and set(p.deriv_class or ("nonlinear",)) != {"zero"} and name != "add_any"}
    assert without == FALLBACK


def test_fallback_is_reported_and_conservative():
    f = EXACT["solve_fallback"]
    J, info = crs.jacobian_sparsity(f, X, return_info=True)
    assert info["fallbacks"] == ["solve"]
    assert J.toarray()[:, :12].all()


def test_large_input_is_vectorized():
    n = 200_000
    f = lambda x: np.sum((x[1:] - x[:-1]) ** 2) + np.sum(np.exp(x[::2]))  # noqa: E731
    H = crs.hessian_sparsity(f, np.zeros(n))
    assert H.nnz == 3 * n - 2


def test_local_mode_reads_only_the_extremum_taken():
    x = np.array([0.3, 0.9, 0.1, 0.55, 0.2, 0.4])
    for f in (lambda x: np.maximum(x[:3], x[3:]), lambda x: np.minimum(x[:3], 0.25),
              lambda x: np.max(x.reshape(2, 3), axis=1), lambda x: np.min(x),
              lambda x: np.clip(x, 0.2, 0.8) * np.abs(x - 0.5)):
        loc = crs.jacobian_sparsity(f, x, mode="local").toarray()
        np.testing.assert_array_equal(loc, _dense_jac_pattern(f, x))
        assert np.all(crs.jacobian_sparsity(f, x).toarray() >= loc)


# -- the pattern arithmetic of the interpreter against scipy.sparse ------------------------------


def _random_pattern(rows, cols, seed, width=None):
    r = np.random.default_rng(seed)
    if width is not None:              # rows of one length (the fast paths)
        grid = np.sort(np.stack([r.choice(cols, width, replace=False) for _ in range(rows)]),
                       axis=1)
        return isp.Pattern.from_grid(grid.astype(np.int32), cols)
    A = sp.random_array((rows, cols), density=0.2, rng=r, format="csr").astype(bool)
    A.sort_indices()
    return isp.Pattern(A.indptr.astype(np.int64), A.indices.astype(np.int32), cols)


def _dense(P):
    return P.to_scipy().toarray()


@pytest.mark.parametrize("wa,wb", [(None, None), (1, 1), (1, 3), (2, 2), (None, 1)])
def test_pattern_union_and_selection_match_scipy(wa, wb):
    for seed in range(3):
        a, b = _random_pattern(20, 15, seed, wa), _random_pattern(20, 15, seed + 7, wb)
        u = isp.union(a, b)
        np.testing.assert_array_equal(_dense(u), _dense(a) | _dense(b))
        assert all(np.all(np.diff(u.indices[u.indptr[i]:u.indptr[i + 1]]) > 0)
                   for i in range(20))                    # rows sorted, no repeats
        sel = np.random.default_rng(seed).integers(-1, 20, 30)
        t = isp.take_rows(a, sel)
        expected = np.where((sel >= 0)[:, None], _dense(a)[np.maximum(sel, 0)], False)
        np.testing.assert_array_equal(_dense(t), expected)


def test_pattern_products_and_pairs_match_scipy():
    for seed in range(3):
        r = np.random.default_rng(seed)
        T = _random_pattern(12, 9, seed)
        L = sp.random_array((5, 12), density=0.3, rng=r, format="csr").astype(bool)
        R = isp.apply_deps(L, T, 5)
        np.testing.assert_array_equal(_dense(R), (L.astype(int) @ _dense(T).astype(int)) > 0)
        R_coo = isp.apply_deps(L.tocoo(), T, 5)          # the form the family rules give
        np.testing.assert_array_equal(_dense(R_coo), _dense(R))
        full = isp.apply_deps(sp.csr_array(np.ones((1, 12), bool)), T, 1)
        np.testing.assert_array_equal(_dense(full)[0], _dense(T).any(axis=0))
        mask = r.random(5) < 0.6
        np.testing.assert_array_equal(isp.pull_mask(L, mask, 12),
                                      (L.T.astype(int) @ mask.astype(int)) > 0)
        np.testing.assert_array_equal(isp.pull_mask(L.tocoo(), mask, 12),
                                      isp.pull_mask(L, mask, 12))
        for Ra, Rb in ((R, R), (R, isp.take_rows(T, r.integers(0, 12, 5))),
                       (_random_pattern(5, 9, seed, 2), _random_pattern(5, 9, seed + 1, 3))):
            a, b = isp.pair_entries(Ra, Rb, mask)
            got = np.zeros((9, 9), bool)
            got[a, b] = True
            ref = (_dense(Ra).T.astype(int) @ np.diag(mask.astype(int))
                   @ _dense(Rb).astype(int)) > 0
            np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("name", ["elementwise", "dot_self", "einsum", "diff", "pad_reflect"])
def test_hessian_pattern_with_its_graph(name):
    # the adjacency graph handed to the colorings: H without its diagonal; both canonical
    f = EXACT[name]
    _, (H, G), _ = isp.sparsity_flat(lambda xs: [np.sum(np.sin(f(xs[0])))], [X],
                                     hessian=True, graph=True)
    np.testing.assert_array_equal(H.toarray(), crs.hessian_sparsity(
        lambda x: np.sum(np.sin(f(x))), X).toarray())
    expected = H.toarray() & ~np.eye(X.size, dtype=bool)
    np.testing.assert_array_equal(G.toarray(), expected)
    for P in (H, G):
        assert P.has_canonical_format
        assert all(np.all(np.diff(P.indices[P.indptr[i]:P.indptr[i + 1]]) > 0)
                   for i in range(X.size))
