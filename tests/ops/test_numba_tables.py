"""The derivative tables under jit(backend="numba"): every case of every GRAD_CASES table, its
forward (JVP) and reverse (VJP) derivatives in one program, compiled by Numba, equals the NumPy
backend's (the reference) to 1e-14 relative (``numba_sweep``: to each element, or to the case's
largest result where a result cancels to rounding noise). Numba compiles each program in a few
tenths of a second, so the cases run in two worker processes. Regression tests for the
translation faults that the sweep found follow it."""
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.scipy import special as css

import numba_sweep
from gradcases import load_tables

# whole graphs that the Numba backend does not compile by design (``numba_codegen.Unsupported``):
# values other than float64, int64 and bool
_BY_DESIGN = ("takes or gives dtype", "an input of dtype")


def test_every_table_case_on_the_numba_backend_equals_the_numpy_backend():
    cases = load_tables()
    records = numba_sweep.run_parallel(list(range(len(cases))))
    assert len(records) == len(cases)
    failures = [f"{r['name']}: {'; '.join(r['problems'])}" for r in records if r["problems"]]
    failures += [f"{r['name']}: ran {r['ran']} ({r.get('reason')})" for r in records
                 if r["ran"] != "numba" and not (r["ran"] == "numpy" and r["reason"]
                                                 and r["reason"].startswith(_BY_DESIGN))]
    assert not failures, "\n".join(failures)
    native = [r for r in records if r["ran"] == "numba"]
    # most programs are machine code throughout; the others call NumPy for some equations
    assert len(native) >= 0.95 * len(cases)
    assert sum(1 for r in native if not r["callbacks"]) >= 0.7 * len(cases)
    assert max(r["worst"] for r in native) <= numba_sweep.RTOL


def _both_backends(f, *args):
    """(Numba backend's result, NumPy backend's); the Numba backend must have compiled it."""
    native = cr.jit(f, backend="numba")
    got = native(*args)
    info = native.cache_info()
    assert info["backend"] == "numba", info["backend_reason"]
    return got, cr.jit(f)(*args)


def _close(got, want):
    """Equal to 1e-14 relative, as the sweep compares (``numba_sweep.compare``)."""
    worst, _, problems = numba_sweep.compare(got, want)
    assert not problems and worst <= 1e-14, problems


def test_scalar_read_by_a_copied_view_is_computed_before_the_copy():
    # the JVP of a maximum with keepdims: the tangent's mean over the ties, a scalar expression
    # hoisted out of the loop nest that copies its (1, 1, 1) view, was never emitted (NameError
    # at compile time)
    x = np.arange(24.0).reshape(2, 3, 4) % 7
    t = np.linspace(0.0, 1.0, 24).reshape(2, 3, 4)
    f = lambda x: cr.jvp(lambda x: np.max(x, keepdims=True), (x,), (t * x,))[1]  # noqa: E731
    got, want = _both_backends(f, x)
    _close(got, want)
    ties = x == x.max()
    np.testing.assert_allclose(got, [[[np.mean((t * x)[ties])]]], rtol=1e-15)


def test_zero_dimensional_array_argument_is_read_as_a_scalar():
    # a 0-d array argument met a float in a select (``1.0 if a == 0 else a``): Numba could not
    # unify the two types and the graph fell back to NumPy
    a, b = np.array(2.0), np.array([[0.5, 1.0, 3.0], [2.0, 0.0, -1.0]])
    f = cr.grad(lambda a, b: np.sum(a ** b), argnums=(0, 1))
    got, want = _both_backends(f, a, b)
    _close(got, want)
    np.testing.assert_allclose(got[0], np.sum(b * a ** (b - 1)), rtol=1e-14)
    np.testing.assert_allclose(got[1], np.log(2.0) * a ** b, rtol=1e-14)


def test_scatter_of_a_two_dimensional_index_array_calls_numpy_for_that_equation():
    # an index Numba has no loop for: one equation calls NumPy, not the whole graph
    idx = np.array([[0, 1], [1, 1]])
    x = np.arange(12.0).reshape(3, 4)
    f = cr.grad(lambda x: np.sum(np.sin(x[idx, 2:])))
    got, want = _both_backends(f, x)
    _close(got, want)
    expect = np.zeros_like(x)
    np.add.at(expect, (idx, slice(2, None)), np.cos(x[idx, 2:]))
    np.testing.assert_allclose(got, expect, rtol=1e-14)
    assert "scatter_add in NumPy" in cr.jit(f, backend="numba").source(x)


def test_result_that_cancels_to_rounding_noise_is_no_reason_to_fall_back():
    # the JVP of log_softmax along a constant direction is 0 up to rounding; libm's exp and
    # NumPy's SIMD exp make different noise there (the table case fell back to NumPy)
    from chainrule.interpreters.native import _agree
    big = np.array([0.7, -1.4, 2.1])
    assert _agree((np.array([5.5e-17, 0.0]), big), (np.array([0.0, -5.5e-17]), big))
    assert not _agree((np.array([5.5e-17, 0.0]), big), (np.array([0.0, 1e-6]), big))
    assert not _agree((np.array([1.0]), big), (np.array([1.0 + 1e-8]), big))
    # and end to end: the JVP is the noise, compiled by Numba
    x = np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]])
    f = lambda x: cr.jvp(lambda x: css.log_softmax(x, axis=0), (x,),  # noqa: E731
                         (np.full_like(x, 0.3),))[1]
    got, want = _both_backends(f, x)
    assert np.max(np.abs(got)) < 1e-15 and np.max(np.abs(want)) < 1e-15


def test_accumulations_and_gathers_along_an_axis_are_loops_not_numpy_calls():
    # cumsum, cumprod, take_along and scatter_along are loop nests in the compiled code (they
    # called NumPy through objmode): NumPy's sequential order, so results are equal bit for bit
    x = np.linspace(0.5, 1.7, 24).reshape(2, 3, 4)
    i = np.argsort(np.sin(7 * x), axis=2)       # an argument: a traced index
    f = cr.grad(lambda x, i: np.sum(np.cumprod(x, axis=1) * np.cumsum(x, axis=2))
                + np.sum(np.take_along_axis(x, i, axis=2) ** 3))
    src = cr.jit(f, backend="numba").source(x, i)
    assert "in NumPy" not in src and "# cumprod along axis 1" in src
    assert "# take_along along axis 2" in src and "# scatter_along along axis 2" in src
    got, want = _both_backends(f, x, i)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, f(x, i), rtol=1e-13)       # and eager evaluation


def test_take_along_an_axis_with_an_index_out_of_range_raises_index_error():
    x = np.arange(6.0).reshape(2, 3)
    f = cr.jit(lambda x, i: np.take_along_axis(x, i, axis=1), backend="numba")
    np.testing.assert_array_equal(f(x, np.array([[2, -1], [0, -3]])), [[2.0, 2.0], [3.0, 3.0]])
    assert f.cache_info()["backend"] == "numba"
    with pytest.raises(IndexError, match="out of bounds"):
        f(x, np.array([[3, 0], [0, 0]]))


def test_mlp_step_reuses_temporaries_and_passes_transposes_to_blas():
    # W9's shape of program, small: tanh of a bias add computed in place in the matrix
    # product's result (NumPy's SIMD tanh writes into its operand), transposed operands of the
    # backward products passed to BLAS as views, not copies, tanh's derivative not stored
    rng = np.random.default_rng(3)
    sizes, batch = [16, 64, 64, 4], 32
    params = [(rng.standard_normal((m, n)) / np.sqrt(m), 0.1 * rng.standard_normal(n))
              for m, n in zip(sizes[:-1], sizes[1:])]
    X = rng.standard_normal((batch, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]

    def loss(params):
        h = X
        for W, b in params[:-1]:
            h = np.tanh(h @ W + b)
        z = h @ params[-1][0] + params[-1][1]
        m = np.max(z, axis=1, keepdims=True)
        lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
        return np.sum(lse) / batch - np.sum(Y * z) / batch

    vg = cr.value_and_grad(loss)
    got, want = _both_backends(vg, params)
    _close(got, want)
    acts = [X]         # backpropagation by hand
    for W, b in params[:-1]:
        acts.append(np.tanh(acts[-1] @ W + b))
    z = acts[-1] @ params[-1][0] + params[-1][1]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    delta = (p / p.sum(axis=1, keepdims=True) - Y) / batch
    for k in range(len(params) - 1, -1, -1):
        np.testing.assert_allclose(got[1][k][0], acts[k].T @ delta, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got[1][k][1], delta.sum(axis=0), rtol=1e-12, atol=1e-15)
        delta = (delta @ params[k][0].T) * (1 - acts[k] ** 2)
    src = cr.jit(vg, backend="numba").source(params)
    assert src.count("tanh in NumPy (NumPy's SIMD loop, in place") == 2
    assert not re.search(r"ascontiguousarray\(\w+\.T\)", src) and src.count(").T") >= 4
    # tanh's derivative 1 - y * y from the saved output, computed in the adjoint sweep's nests
    assert src.count("over (32, 64): mul, sub, mul, reduce_sum") == 2


def test_basic_index_assignment_and_expit_are_compiled_not_numpy_calls():
    def f(x):
        y = np.zeros_like(x)
        y[1:, ::2] = css.expit(x[:-1, ::2]) * x[1:, ::2]
        y[0] = 2.0
        return np.sum(y * np.cos(x))

    x = np.linspace(-2.0, 3.0, 12).reshape(3, 4)
    g = cr.grad(f)
    src = cr.jit(g, backend="numba").source(x)
    assert "in NumPy" not in src and "1.0 / (1.0 + np.exp(-" in src
    got, want = _both_backends(g, x)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, g(x), rtol=1e-14)
