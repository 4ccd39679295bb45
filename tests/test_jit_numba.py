"""jit(backend="numba"): machine code through Numba, checked against the NumPy backend (the
reference), finite differences and closed forms; fallbacks to NumPy with a reason. Numba
compiles each program in about a second, so these tests use a handful of small programs."""
import io
import contextlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.errors import InvalidArgumentError

RTOL = 1e-12


def both(f, *args, backend="numba"):
    """(numba result, numpy result, cache_info of the numba-backend function)."""
    nb = cr.jit(f, backend=backend)
    got = nb(*args)
    want = cr.jit(f)(*args)
    return got, want, nb.cache_info()


def close(got, want):
    for g, w in zip(cr.tree_flatten(got)[0], cr.tree_flatten(want)[0]):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=1e-300)
        assert np.shape(g) == np.shape(w)


def w1(x, k=12):
    for _ in range(k):
        x = np.sin(x) * 0.999 + 0.01 * x * x
    return x


def test_scalar_program_grad_matches_numpy_and_closed_form():
    got, want, info = both(cr.grad(w1), np.float64(0.3))
    assert info["backend"] == "numba" and info["backend_reason"] is None
    close(got, want)
    assert type(got) is type(want) is np.float64      # NumPy's output types
    x, d = 0.3, 1.0
    for _ in range(12):
        d *= np.cos(x) * 0.999 + 0.02 * x
        x = np.sin(x) * 0.999 + 0.01 * x * x
    np.testing.assert_allclose(got, d, rtol=1e-12)


def test_scalar_families_hessian():
    def f(x, y):
        u = np.exp(-x * y) + np.log1p(x * x) + np.tanh(y) / (1.0 + x ** 2)
        v = np.sqrt(x * x + y * y) + np.arctan(x) * np.cosh(y) - np.maximum(x, y) ** 3
        return u * v + np.where(x > y, x, y) + np.abs(x - y)

    x, y = np.float64(0.7), np.float64(-0.4)
    got, want, info = both(cr.hessian(f, argnums=(0, 1)), x, y)
    assert info["backend"] == "numba", info
    close(got, want)
    h = 1e-5      # the mixed derivative against central differences of the gradient
    gy = cr.grad(f, argnums=1)
    np.testing.assert_allclose(got[0][1], (gy(x + h, y) - gy(x - h, y)) / (2 * h), rtol=1e-6)


def test_array_program_grad_with_matmul_reductions_and_indexing():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 4))
    idx = np.array([3, 0, 0, 2, 1])

    def f(x):
        z = np.tanh(A @ x) * x[idx] ** 3 / (1.0 + x[idx] * x[idx])
        return np.sum(z * z) + np.sum(np.exp(-x)) * 0.5 + x[1:3].sum()

    x = rng.standard_normal(4)
    x_before = x.copy()
    got, want, info = both(cr.grad(f), x)
    np.testing.assert_array_equal(x, x_before)      # adjoints accumulate into temporaries only
    assert info["backend"] == "numba", info
    close(got, want)
    e = np.eye(4) * 1e-6
    fd = np.array([(f(x + e[i]) - f(x - e[i])) / 2e-6 for i in range(4)])
    np.testing.assert_allclose(got, fd, rtol=1e-6)
    got, want, info = both(cr.jacfwd(cr.grad(f)), x)        # the Hessian, forward over reverse
    assert info["backend"] == "numba", info
    close(got, want)


def _ring(T):
    """W8 in miniature: a ring of springs stepped by scan, gradient through the time loop."""
    n = 6
    th = 2 * np.pi * np.arange(n) / n
    x0 = 1.2 * np.stack([np.cos(th), np.sin(th)], axis=1)
    nxt, prv = (np.arange(n) + 1) % n, (np.arange(n) - 1) % n

    def body(carry, _):
        x, v = carry
        dx = x[nxt] - x
        length = np.sqrt(np.sum(dx * dx, axis=1, keepdims=True))
        f = 10.0 * (length - 1.0) * dx / length
        v = v + 0.01 * (f - f[prv])
        return (x + 0.01 * v, v), np.sum(v * v)

    def loss(v0):
        (x, _), ke = cr.scan(body, (x0, v0), None, length=T)
        return np.sum(x * x) + np.sum(ke)
    v0 = 0.1 * np.random.default_rng(3).standard_normal((n, 2))
    return loss, v0


def test_scan_simulation_gradient_runs_natively():
    loss, v0 = _ring(7)
    got, want, info = both(cr.grad(loss), v0)
    assert info["backend"] == "numba", info
    close(got, want)
    e = np.zeros_like(v0)
    e[2, 1] = 1e-6
    np.testing.assert_allclose(got[2, 1], (loss(v0 + e) - loss(v0 - e)) / 2e-6, rtol=1e-6)


def test_while_and_fori_loops_and_division_by_zero():
    def f(x):
        k, y = cr.while_loop(lambda c: c[1] < 10.0, lambda c: (c[0] + 1.0, c[1] * x + 1.0),
                             (0.0, x))
        s = cr.fori_loop(0, 5, lambda i, s: s * np.cos(s) + x, x)
        return k + y + s + 1.0 / (x - 2.0)

    g = cr.jit(f, backend="numba")
    for x in (np.float64(1.5), np.float64(2.0), np.float64(3.0)):
        got = g(x)
        close(got, cr.jit(f)(x))
    assert g.cache_info()["backend"] == "numba"
    assert np.isinf(g(np.float64(2.0)))         # NumPy's inf, not ZeroDivisionError
    tangent = lambda x: cr.jvp(f, (x,), (np.float64(1.0),))[1]      # forward mode, loops
    close(*both(tangent, np.float64(1.5))[:2])


def test_untranslated_primitives_call_numpy_and_complex_values_fall_back_with_reason():
    def f(x):       # a stacked solve and argsort have no Numba translation: NumPy computes them
        a = np.eye(3)[None] + np.outer(x, x)[None]
        return np.sum(np.linalg.solve(a, x[None, :, None])) + np.sum(np.sort(np.sin(x)) * x)

    x = np.array([0.1, 0.2, 0.3])
    got, want, info = both(cr.grad(f), x)
    assert info["backend"] == "numba" and info["backend_reason"] is None
    close(got, want)
    e = np.eye(3) * 1e-6
    np.testing.assert_allclose(got, [(f(x + d) - f(x - d)) / 2e-6 for d in e], rtol=1e-6)
    head = cr.jit(cr.grad(f), backend="numba").source(x).splitlines()[0]
    assert "NumPy computes argsort, solve" in head

    def spectral(x):        # complex intermediates: the whole graph runs the NumPy code
        return np.sum(np.abs(np.fft.rfft(x)) ** 2)
    got, want, info = both(cr.grad(spectral), x)
    assert info["backend"] == "numpy" and "complex128" in info["backend_reason"]
    close(got, want)


def test_guards_compile_into_numba_code_and_cond_compiles():
    def f(x):       # Python branches on values: guards checked by the compiled code
        y = np.sin(x) if np.sum(x) > 0 else np.cos(x)
        idx = np.nonzero(x > 0.1)[0]        # an index array that the input decides
        return np.sum(y[idx] * x[idx])

    g = cr.jit(cr.grad(f), backend="numba")
    for x in ([0.5, 0.2], [-0.5, -0.2], [0.5, 0.05], [0.3, 0.4]):
        x = np.array(x)
        close(g(x), cr.jit(cr.grad(f))(x))
        close(g(x), cr.grad(f)(x))
    info = g.cache_info()
    assert info["backend"] == "numba" and info["traces"] == 3 and info["guard_failures"] >= 2
    assert "raise _GuardFailure" in g.source(np.array([0.3, 0.4]))

    def h(x):
        return cr.cond(x > 0, lambda y: np.sin(y) * y, np.cos, x)
    g = cr.jit(cr.grad(h), backend="numba")
    for x in (-0.5, 0.5):       # both branches, in one compiled program
        close(g(np.float64(x)), cr.jit(cr.grad(h))(np.float64(x)))
        close(g(np.float64(x)), np.cos(x) * x + np.sin(x) if x > 0 else -np.sin(x))
    assert g.cache_info()["backend"] == "numba" and g.cache_info()["traces"] == 1


def test_auto_picks_numba_and_other_argument_types_run_numpy_code():
    g = cr.jit(cr.grad(w1), backend="auto")
    x = np.float64(0.3)
    first = g(x)
    assert g.cache_info()["backend"] == "numba"
    # a 0-d array has the same signature; the compiled code takes floats, the NumPy code answers
    close(g(np.array(0.3)), first)
    close(g(0.3), first)


def test_show_code_names_the_backend_and_bad_backend_is_an_error():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cr.show_code(cr.grad(w1), np.float64(0.3), backend="numba")
    text = out.getvalue()
    assert text.startswith("# backend: numba") and "np.sin" in text
    with pytest.raises(InvalidArgumentError, match="backend"):
        cr.jit(w1, backend="cuda")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cr.show_code(w1, np.float64(0.3))
    assert not out.getvalue().startswith("# backend")       # the NumPy backend: unchanged


def test_without_numba_both_backends_run_the_numpy_code(monkeypatch):
    import chainrule.interpreters.native as native
    monkeypatch.setattr(native, "numba_available", lambda: False)
    for backend in ("numba", "auto"):
        g = cr.jit(cr.grad(w1), backend=backend)
        close(g(np.float64(0.3)), cr.grad(w1)(np.float64(0.3)))
        info = g.cache_info()
        assert info["backend"] == "numpy" and "not installed" in info["backend_reason"]


def test_taylor_mode_third_derivative():
    def f(x):
        return np.sin(x) * np.exp(0.5 * x) + x ** 3 / (1 + x * x)

    x = np.float64(0.4)
    got, want, info = both(cr.derivative(f, 3), x)
    assert info["backend"] == "numba", info
    close(got, want)
    d2, h = cr.derivative(f, 2), 1e-5
    np.testing.assert_allclose(got, (d2(x + h) - d2(x - h)) / (2 * h), rtol=1e-6)


def test_a_body_with_more_than_thirty_inputs_compiles_natively():
    # Numba inlines no function of more than 30 arguments (Python passes them as *args): such
    # a body is compiled on its own instead of the whole program falling back to NumPy
    ws = [np.full(3, 0.1 * (k + 1)) for k in range(35)]

    def f(x):
        def step(c, _):
            for w in ws:
                c = np.sin(c) * w + c
            return c, None
        return np.sum(cr.scan(step, x, None, length=3)[0])
    x = np.array([0.2, -0.1, 0.4])
    got, want, info = both(cr.grad(f), x)
    assert info["backend"] == "numba" and info["fallbacks"] == 0, info
    close(got, want)
    np.testing.assert_allclose(got, cr.grad(f)(x), rtol=1e-12)
