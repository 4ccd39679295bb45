"""sparse_hessian of a function whose Hessian is dense: the dense pattern is found without
pairing its n^2 entries one column pair at a time, no coloring runs, and the result is the
dense Hessian (issue 18). Speed is measured in benchmarks; these tests count calls instead."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import chainrule as cr
import chainrule.interpreters.hessian_pairs as pairs
import chainrule.sparse.coloring as coloring
from chainrule.sparse import DensePatternWarning

COLORINGS = ("star", "acyclic", "column")


def _refuse_coloring(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a dense pattern must not be colored")
    for name in ("star_coloring_of_graph", "star_greedy", "acyclic_coloring",
                 "symmetric_column_coloring", "column_coloring"):
        monkeypatch.setattr(coloring, name, refuse)


def _count_pairings(monkeypatch):
    calls = []
    original = pairs.term_keys

    def counted(*args):
        calls.append(args[0].shape)
        return original(*args)
    monkeypatch.setattr(pairs, "term_keys", counted)
    return calls


@pytest.mark.parametrize("how", COLORINGS)
def test_a_full_pattern_is_neither_paired_nor_colored(monkeypatch, how):
    f = lambda x: np.sum(x ** 3) + np.sum(x) ** 2          # noqa: E731
    x = np.linspace(0.1, 1.0, 300)
    _refuse_coloring(monkeypatch)
    calls = _count_pairings(monkeypatch)
    with pytest.warns(DensePatternWarning, match="dense"):
        prep = cr.prepare_sparse_hessian(f, x, coloring=how)
    # the tape is walked backwards: the term of sum(x)**2 (one row reading all 300 inputs)
    # comes first and ends the detection; the diagonal term of x**3 is never paired
    assert calls == []
    assert prep.pattern.nnz == 300 * 300 and prep.info["dense_fallback"]
    H = prep(x)
    assert sp.issparse(H) and H.shape == (300, 300)
    dense = H.toarray()
    np.testing.assert_array_equal(dense, dense.T)
    np.testing.assert_allclose(dense, cr.hessian(f)(x), rtol=1e-13, atol=0)
    np.testing.assert_allclose(dense, 2.0 + np.diag(6.0 * x), rtol=1e-13)


def test_a_nearly_full_pattern_keeps_its_structural_zeros():
    # x[0] is outside the coupling: row and column 0 hold only the diagonal
    f = lambda x: np.sum(x[1:]) ** 2 + np.sum(x ** 3)      # noqa: E731
    n = 200
    x = np.linspace(0.1, 1.0, n)
    expected = np.ones((n, n), bool)
    expected[0, 1:] = expected[1:, 0] = False
    np.testing.assert_array_equal(cr.hessian_sparsity(f, x).toarray(), expected)
    with pytest.warns(DensePatternWarning):
        H = cr.sparse_hessian(f, x)
    np.testing.assert_array_equal(H.toarray() != 0, expected)
    assert H.nnz == expected.sum()
    np.testing.assert_allclose(H.toarray(), cr.hessian(f)(x), rtol=1e-13, atol=0)


def test_long_rows_below_full_are_paired_at_once(monkeypatch):
    # rows of 20 inputs (past the column-pair loop): 50 dense 20 x 20 blocks, not a dense H
    f = lambda x: np.sum(np.sum(x.reshape(50, 20), axis=1) ** 2)   # noqa: E731
    x = np.linspace(-1.0, 1.0, 1000)
    calls = _count_pairings(monkeypatch)
    P = cr.hessian_sparsity(f, x)
    assert len(calls) == 1
    np.testing.assert_array_equal(P.toarray(), np.kron(np.eye(50), np.ones((20, 20))) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DensePatternWarning)
        prep = cr.prepare_sparse_hessian(f, x)
    assert prep.ncolors == 20
    np.testing.assert_allclose(prep(x).toarray(), cr.hessian(f)(x), rtol=1e-13, atol=0)


def test_dense_fallback_on_a_pytree_and_through_the_staged_sweeps():
    f = lambda d: np.sum(d["a"]) ** 2 * np.sum(d["b"] ** 2)    # noqa: E731
    d = {"a": np.array([0.3, -0.2, 0.9]), "b": np.array([1.0, 2.0, -0.5, 0.25])}
    with pytest.warns(DensePatternWarning):
        prep = cr.prepare_sparse_hessian(f, d)
    H = prep(d).toarray()
    blocks = cr.hessian(f)(d)
    ref = np.block([[blocks["a"]["a"], blocks["a"]["b"]], [blocks["b"]["a"], blocks["b"]["b"]]])
    np.testing.assert_allclose(H, ref, rtol=1e-13, atol=1e-15)
    # prep.compressed is the staged form of the same sweeps (identity seeds)
    B = np.asarray(cr.jit(prep.compressed)(d))
    assert B.shape == (7, 7)
    np.testing.assert_allclose(prep.recover(B).toarray(), H, rtol=1e-13, atol=1e-15)


def test_a_single_input_is_not_a_dense_fallback():
    f = lambda x: np.sum(x) ** 2 + np.sum(x ** 3)          # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error", DensePatternWarning)
        H = cr.sparse_hessian(f, np.array([0.5]))
    np.testing.assert_allclose(H.toarray(), [[2.0 + 3.0]], rtol=1e-14)


def _count_pairs(monkeypatch, chunk):
    """Small blocks of pairs; records the number of pairs each pairing makes."""
    monkeypatch.setattr(pairs, "PAIR_CHUNK", chunk)
    made = []
    original = pairs.pair_entries

    def counted(*args):
        a, b = original(*args)
        made.append(a.size)
        return a, b
    monkeypatch.setattr(pairs, "pair_entries", counted)
    return made


def _nonzeros(H):
    return np.abs(H) > 0


def test_a_term_of_equal_rows_is_paired_once(monkeypatch):
    # A @ x[:-1]: 40 rows reading the same 29 inputs; x[-1] is not read at all
    r = np.random.default_rng(1)
    A = r.standard_normal((40, 29))
    f = lambda x: np.sum(np.tanh(A @ x[:-1]))              # noqa: E731
    x = r.standard_normal(30)
    made = _count_pairs(monkeypatch, 64)
    P = cr.hessian_sparsity(f, x).toarray()
    assert made == [29 * 29]                # one distinct row, not 40 of them
    expected = np.zeros((30, 30), bool)
    expected[:29, :29] = True
    np.testing.assert_array_equal(P, expected)
    np.testing.assert_array_equal(_nonzeros(cr.hessian(f)(x)), expected)


def test_large_terms_are_paired_a_block_of_rows_at_a_time(monkeypatch):
    # 20 distinct rows of 10 inputs (100 pairs each) in blocks of at most 64 pairs: a row each
    f = lambda x: np.sum(np.sum(x.reshape(20, 10), axis=1) ** 2)   # noqa: E731
    x = np.linspace(-1.0, 1.0, 200)
    made = _count_pairs(monkeypatch, 64)
    P = cr.hessian_sparsity(f, x).toarray()
    assert made == [100] * 20
    np.testing.assert_array_equal(P, np.kron(np.eye(20), np.ones((10, 10))) > 0)
    monkeypatch.setattr(pairs, "PAIR_CHUNK", 250)           # blocks of 2 or 3 rows
    del made[:]
    np.testing.assert_array_equal(cr.hessian_sparsity(f, x).toarray(), P)
    assert sum(made) == 2000 and set(made) == {200, 300}


def test_a_flag_matrix_that_fills_up_ends_the_pairing(monkeypatch):
    # 300 distinct rows, each reading 12 random inputs of 30: every pair is met long before
    # the last row, and the pattern is full
    r = np.random.default_rng(2)
    idx = np.array([r.choice(30, 12, replace=False) for _ in range(300)])
    f = lambda x: np.sum(np.tanh(np.sum(x[idx], axis=1)))  # noqa: E731
    x = r.standard_normal(30)
    made = _count_pairs(monkeypatch, 144)                   # one row a block
    P = cr.hessian_sparsity(f, x).toarray()
    assert P.all()
    assert 0 < len(made) < 300
    np.testing.assert_array_equal(_nonzeros(cr.hessian(f)(x)), P)
    with pytest.warns(DensePatternWarning):
        H = cr.sparse_hessian(f, x)
    np.testing.assert_allclose(H.toarray(), cr.hessian(f)(x), rtol=1e-12, atol=1e-14)


def test_a_union_with_full_rows_is_not_merged_entry_by_entry(monkeypatch):
    # x * sum(x): each row reads x_i and all of x; the full rows are the union as they are
    import chainrule.interpreters.sparsity as sparsity
    merged = []
    original = sparsity.from_entries
    monkeypatch.setattr(sparsity, "from_entries",
                        lambda rows, *a: merged.append(rows.size) or original(rows, *a))
    f = lambda x: np.sum(np.tanh(x * np.sum(x)))           # noqa: E731
    x = np.linspace(-1.0, 1.0, 200)
    assert cr.jacobian_sparsity(lambda x: np.tanh(x * np.sum(x)), x).nnz == 200 * 200
    assert merged == []
    with pytest.warns(DensePatternWarning):
        H = cr.sparse_hessian(f, x)
    np.testing.assert_allclose(H.toarray(), cr.hessian(f)(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["auto", "fwd", "rev"])
def test_sparse_jacobian_of_a_dense_pattern_sweeps_the_identity(monkeypatch, mode):
    # dense rows and columns: no coloring in any mode (the intersection graph would have n^3
    # work), one sweep per column or row in large batches, the dense Jacobian's values
    f = lambda x: np.tanh(np.concatenate([x, x[:5]]) * np.sum(x))   # noqa: E731
    x = np.linspace(-1.0, 1.0, 40)
    monkeypatch.setattr(cr.sparse.jacobian, "GRAPH_BUDGET", 1000)
    _refuse_coloring(monkeypatch)
    monkeypatch.setattr(coloring, "row_coloring", coloring.column_coloring)  # (refused too)
    prep = cr.prepare_sparse_jacobian(f, x, mode=mode)
    assert prep.info["dense_fallback"] and prep.ncolors == (45 if prep.mode == "rev" else 40)
    np.testing.assert_allclose(prep(x).toarray(), cr.jacobian(f)(x), rtol=1e-13, atol=1e-15)
    B = np.asarray(cr.jit(prep.compressed)(x))
    np.testing.assert_allclose(prep.recover(B).toarray(), prep(x).toarray(), rtol=1e-13,
                               atol=1e-15)
