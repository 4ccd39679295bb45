"""jit(backend="numba", background_compile=True): the NumPy code answers while a thread
compiles the Numba code, which answers after it is ready and agrees with the NumPy backend.
``wait_native()`` makes every test deterministic."""
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.interpreters.native_background import COMPILING

RTOL = 1e-14


def ring_loss(v, steps=20):
    """A few steps of a spring ring (W8's physics, small): a scan with stacked residuals."""
    n = v.shape[0]
    nxt = (np.arange(n) + 1) % n
    x0 = np.stack([np.cos(2 * np.pi * np.arange(n) / n), np.sin(2 * np.pi * np.arange(n) / n)],
                  axis=1)

    def body(carry, _):
        x, v = carry
        dx = x[nxt] - x
        length = np.sqrt(np.sum(dx * dx, axis=1, keepdims=True))
        f = 10.0 * (length - 1.0) * dx / length
        v = v + 0.01 * (f - f[(np.arange(n) - 1) % n])
        return (x + 0.01 * v, v), None
    (x, _), _ = cr.scan(body, (x0, v), None, length=steps)
    return np.sum(x * x)


def test_numpy_code_answers_first_then_numba_agrees():
    v = 0.3 * np.random.default_rng(0).standard_normal((6, 2))
    g = cr.grad(ring_loss)
    want = cr.jit(g)(v)
    jg = cr.jit(g, backend="numba", background_compile=True)
    first = jg(v)
    np.testing.assert_array_equal(first, want)      # the NumPy backend's code itself
    assert jg.cache_info()["backend_reason"] == COMPILING   # the thread waits for this call
    jg.wait_native()
    info = jg.cache_info()
    assert info["backend"] == "numba" and info["backend_reason"] is None, info
    assert info["native_after_s"] > 0 and info["traces"] == 1
    got = jg(v)
    np.testing.assert_allclose(got, want, rtol=RTOL)
    h = 1e-6        # and the derivative itself, against central differences
    e = np.zeros_like(v)
    e[2, 1] = h
    np.testing.assert_allclose(got[2, 1], (ring_loss(v + e) - ring_loss(v - e)) / (2 * h),
                               rtol=1e-6)
    src = jg.source(v)
    assert src.startswith("# backend: numba")
    # code shaped for a short compile: stacked outputs stored element by element, filled arrays
    # from np.empty (a slice assignment from an array, np.full and np.zeros each make Numba
    # compile more: 2 to 4 s for the first of these)
    assert re.search(r"\w\[_i\d+\] = _r\d+\[\d+\]", src) is None and "_s0" in src
    assert "np.full(" not in src and "np.zeros(" not in src


def test_check_uses_the_traced_inputs_even_if_the_caller_changes_them():
    x = np.linspace(0.1, 1.0, 7)
    f = cr.grad(lambda x: np.sum(np.sin(x) * np.exp(-x)))
    jf = cr.jit(f, backend="numba", background_compile=True)
    first = jf(x)
    x[:] = 5.0      # the background check must compare on the values that were traced
    first[:] = 0.0  # nor may it read the caller's result array
    jf.wait_native()
    assert jf.cache_info()["backend"] == "numba", jf.cache_info()
    np.testing.assert_allclose(jf(x), np.cos(x) * np.exp(-x) - np.sin(x) * np.exp(-x),
                               rtol=1e-13)


def test_fallback_in_the_background_keeps_numpy_with_the_reason():
    x = np.linspace(0.0, 1.0, 8)
    f = cr.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))      # complex values
    jf = cr.jit(f, backend="numba", background_compile=True)
    first = jf(x)
    np.testing.assert_array_equal(first, cr.jit(f)(x))
    jf.wait_native()
    info = jf.cache_info()
    assert info["backend"] == "numpy" and "complex" in info["backend_reason"], info
    np.testing.assert_allclose(jf(x), first, rtol=RTOL)
    np.testing.assert_allclose(first, 2 * len(x) * x, rtol=1e-12, atol=1e-12)     # Parseval


def test_every_signature_switches_and_the_flag_needs_a_native_backend():
    f = cr.grad(lambda x: np.sum(np.tanh(x) ** 2))
    jf = cr.jit(f, backend="numba", background_compile=True)
    a, b = np.linspace(-1, 1, 3), np.linspace(-1, 1, 5)
    ra, rb = jf(a), jf(b)
    jf.wait_native()
    assert jf.cache_info()["backend"] == "numba"
    for x, r in ((a, ra), (b, rb)):
        np.testing.assert_allclose(jf(x), r, rtol=RTOL)
        np.testing.assert_allclose(jf(x), 2 * np.tanh(x) * (1 - np.tanh(x) ** 2), rtol=1e-13)
    plain = cr.jit(f, background_compile=True)     # NumPy backend: nothing to compile
    plain(a)
    plain.wait_native()
    assert "native_after_s" not in plain.cache_info()


def test_background_compile_of_a_scalar_program():
    def w1(x):
        return cr.fori_loop(0, 50, lambda i, x: np.sin(x) * 0.999 + 0.01 * x * x, x)
    g = cr.grad(w1)
    jg = cr.jit(g, backend="numba", background_compile=True)
    first = jg(0.3)
    jg.wait_native()
    assert jg.cache_info()["backend"] == "numba"
    assert jg(0.3) == pytest.approx(first, rel=RTOL)
    assert type(jg(0.3)) is type(first)


def test_loop_bodies_calling_numpy_back_compile():
    """A scan body with an equation computed by NumPy (argsort, under np.sort: no Numba
    translation; an objmode block, which Numba cannot inline into the loop) still runs as
    machine code."""
    def f(x):
        def body(c, _):
            return np.sort(np.sin(c)) * 0.01 + c, None
        c, _ = cr.scan(body, x, None, length=5)
        return np.sum(c * c)
    x = np.linspace(0.0, 1.0, 6)
    g = cr.grad(f)
    jg = cr.jit(g, backend="numba")
    got = jg(x)
    info = jg.cache_info()
    assert info["backend"] == "numba" and info["backend_reason"] is None, info
    assert "NumPy computes argsort" in jg.source(x)
    np.testing.assert_allclose(got, cr.jit(g)(x), rtol=RTOL)
    h, e = 1e-6, np.eye(len(x))[3]
    np.testing.assert_allclose(got[3], (f(x + h * e) - f(x - h * e)) / (2 * h), rtol=1e-6)
