"""jit(backend="numba") loop fusion: elementwise chains, reductions, scatters and views become
explicit loop nests (numba_fusion). Each program is checked against the NumPy backend (the
reference, 1e-14 relative to each result's largest element: sums in another order differ in
the last bits of small elements that cancel), against closed forms or central differences, and
its generated source for the number of nests."""
import numpy as np
import pytest

import chainrule as cr

RTOL = 1e-14


def both(f, *args):
    nb = cr.jit(f, backend="numba")
    got = nb(*args)
    want = cr.jit(f)(*args)
    info = nb.cache_info()
    assert info["backend"] == "numba", info
    for g, w in zip(cr.tree_flatten(got)[0], cr.tree_flatten(want)[0]):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=RTOL * np.max(np.abs(w), initial=0))
    return got, nb.source(*args)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_rosenbrock_gradient_is_one_loop_nest_equal_to_numpy_bit_for_bit():
    x = np.linspace(-1.5, 2.0, 40) + 0.1 * np.sin(np.arange(40))
    g, src = both(cr.grad(rosenbrock), x)
    r = x[1:] - x[:-1] ** 2
    closed = np.zeros_like(x)
    closed[:-1] = -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    closed[1:] += 200.0 * r
    np.testing.assert_allclose(g, closed, rtol=1e-12)
    # forward sweep, adjoint sweep and the three scatters of the slices: one nest, and the
    # scatters from zeros add in NumPy's order, so the result is the NumPy backend's exactly
    assert src.count("for _j0 in range(") == 1
    np.testing.assert_array_equal(g, cr.jit(cr.grad(rosenbrock))(x))
    assert "_c_" in src         # the [1:] update carried to the next point, not re-added

    def stencil(x):     # slices one apart inside the array: the ends stay zero
        return np.sum(np.sin(x[2:-1]) * x[3:] ** 2)
    g, src = both(cr.grad(stencil), x)
    closed = np.zeros_like(x)
    closed[2:-1] = np.cos(x[2:-1]) * x[3:] ** 2
    closed[3:] += 2 * np.sin(x[2:-1]) * x[3:]
    np.testing.assert_allclose(g, closed, rtol=1e-13)
    np.testing.assert_array_equal(g, cr.jit(cr.grad(stencil))(x))
    assert "_c_" in src and g[0] == g[1] == 0.0


def test_softmax_cross_entropy_reductions_max_and_matmul():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((6, 5)), rng.standard_normal((5, 4))
    Y = np.eye(4)[[0, 3, 1, 1, 2, 0]]

    def f(A, B):
        z = np.tanh(A @ B)
        m = np.max(z, axis=1, keepdims=True)
        lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
        return np.sum(lse) - np.sum(Y * z) + 0.5 * np.min(z)

    (value, (gA, gB)), src = both(cr.value_and_grad(f, argnums=(0, 1)), A, B)
    np.testing.assert_allclose(value, f(A, B), rtol=1e-14)
    e = np.zeros_like(B)
    e[2, 3] = 1e-6
    np.testing.assert_allclose(gB[2, 3], (f(A, B + e) - f(A, B - e)) / 2e-6, rtol=1e-6)
    assert "# contraction ij,jk->ik" in src and "loop nest over (6, 4)" in src   # small: loops


def test_views_index_arrays_multi_axis_sums_and_integer_counts():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 5))
    i, j = np.array([0, 2, 3, 1, 3]), np.array([1, 1, 0, 4, 2])

    def f(X):
        y = X[i, j] * X[i][:, None, 2:4].sum(axis=(1, 2)) + X.T[1:3].sum(axis=0)[:5]
        Y = X.reshape(2, 3, 5)
        counts = np.sum(X > 0, axis=0)          # an integer reduction
        return (np.sum(y ** 3) + np.sum(np.max(Y * Y, axis=(0, 2)) * np.array([1.0, 2.0, 3.0]))
                + np.sum(X * counts) + np.sum(np.where(X > 0.5, np.sqrt(np.abs(X)), X ** 2)))

    g, src = both(cr.grad(f), X)
    h = 1e-6
    for k in [(0, 1), (3, 0), (5, 4)]:
        e = np.zeros_like(X)
        e[k] = h
        np.testing.assert_allclose(g[k], (f(X + e) - f(X - e)) / (2 * h), rtol=1e-6)
    both(cr.jacfwd(f), X)      # forward mode over the same program
    assert "loop nest" in src


def test_broadcasting_hessian_and_repeated_scatter_indices():
    x = np.array([0.3, -0.7, 1.1, 0.4, 2.0])
    H, _ = both(cr.hessian(lambda x: np.sum(np.sin(x[:, None] * x[None, :]))), x)
    outer = np.outer(x, x)
    closed = 2 * (np.cos(outer) - np.sin(outer) * outer) \
        - 2 * np.diag(np.sum(np.sin(outer) * x[None, :] ** 2, axis=1))
    np.testing.assert_allclose(H, closed, rtol=1e-12, atol=1e-12)
    idx = np.array([0, 2, 2, 4, 0, 0])      # repeated indices: adjoints accumulate
    g, _ = both(cr.grad(lambda x: np.sum(np.cos(x[idx]) * x[idx])), x)
    counts = np.bincount(idx, minlength=5)
    np.testing.assert_allclose(g, counts * (np.cos(x) - x * np.sin(x)), rtol=1e-14)


_CACHED_PROGRAM = """
import numpy as np, chainrule as cr
def f(x):
    return np.sum(np.exp(-x) * np.sin(x[::-1]) ** 2)
g = cr.jit(cr.grad(f), backend="numba")
x = np.linspace(0.1, 1.0, 7)
np.save({out!r}, g(x))
print(g.source(x).splitlines()[0])
"""


def test_second_process_loads_machine_code_from_the_disk_cache(tmp_path):
    import os
    import subprocess
    import sys
    env = dict(os.environ, CHAINRULE_CACHE_DIR=str(tmp_path / "cache"))
    heads = []
    for k in range(2):
        out = str(tmp_path / f"g{k}.npy")
        run = subprocess.run([sys.executable, "-c", _CACHED_PROGRAM.format(out=out)], env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        heads.append(run.stdout.strip())
    assert heads[0].startswith("# backend: numba (compiled; machine code cached in")
    assert heads[1].startswith("# backend: numba (machine code loaded from the cache in")
    x = np.linspace(0.1, 1.0, 7)
    want = cr.jit(cr.grad(lambda x: np.sum(np.exp(-x) * np.sin(x[::-1]) ** 2)))(x)
    for k in range(2):
        np.testing.assert_allclose(np.load(tmp_path / f"g{k}.npy"), want, rtol=1e-14)
    assert any(p.suffix == ".py" for p in (tmp_path / "cache").iterdir())


def test_long_arrays_of_simd_ufuncs_call_numpy_short_ones_fuse():
    from chainrule.interpreters import numba_codegen as nc
    rng = np.random.default_rng(4)
    big, small = rng.standard_normal((64, 32)), rng.standard_normal((4, 3))

    def f(x):
        return np.sum(np.tanh(x + 0.5) * np.log1p(x * x))

    for x in (big, small):
        g, src = both(cr.grad(f), x)
        th = np.tanh(x + 0.5)
        closed = (1 - th ** 2) * np.log1p(x * x) + th * 2 * x / (1 + x * x)
        np.testing.assert_allclose(g, closed, rtol=1e-12)
        routed = x.size >= nc.VECTOR_CALL_SIZE and "tanh" in nc._SIMD_UFUNCS
        assert ("tanh in NumPy (NumPy's SIMD loop" in src) == routed
        assert ("np.tanh(" in src) == (not routed)


def test_small_solves_by_elimination_with_pivoting_and_singular_matrices_raise():
    rng = np.random.default_rng(5)
    A = np.array([[0.1, 2.0, 0.3], [1.5, 0.2, -0.4], [0.3, -0.7, 2.2]])   # pivoting needed
    B = rng.standard_normal((3, 2))

    def f(A, B):
        return np.sum(np.linalg.solve(A, B) ** 2) + np.sum(np.linalg.solve(A.T, B[:, 0]))

    (gA, gB), src = both(cr.grad(f, argnums=(0, 1)), A, B)
    assert "Gaussian elimination" in src and "np.linalg" in src   # LinAlgError only
    h = 1e-6
    E = np.zeros_like(A)
    E[1, 2] = h
    np.testing.assert_allclose(gA[1, 2], (f(A + E, B) - f(A - E, B)) / (2 * h), rtol=1e-6)
    solve = cr.jit(np.linalg.solve, backend="numba")
    np.testing.assert_allclose(solve(A, B), np.linalg.solve(A, B), rtol=1e-14)
    with pytest.raises(np.linalg.LinAlgError, match="Singular"):
        solve(np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]]), B)
