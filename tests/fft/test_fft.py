"""numpy.fft on traced arrays: values against NumPy, derivatives through check_grads (complex
outputs are checked through their real and imaginary parts, complex inputs through two real
arrays), and the transposes of the linear primitives against their forward maps."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.ops import fft as ff
from chainrule.testing import check_grads

rng = np.random.default_rng(3)
X8 = rng.standard_normal(8)
X7 = rng.standard_normal(7)
M45 = rng.standard_normal((4, 5))
T234 = rng.standard_normal((2, 3, 4))


def parts(y):
    return (np.real(y), np.imag(y))


fft = np.fft
REAL_IN = [
    ("fft", lambda x: parts(fft.fft(x)), (X8,)),
    ("fft n pad", lambda x: parts(fft.fft(x, n=10)), (X7,)),
    ("fft n crop ortho", lambda x: parts(fft.fft(x, n=5, norm="ortho")), (X8,)),
    ("fft axis 0", lambda x: parts(fft.fft(x, axis=0, norm="forward")), (M45,)),
    ("ifft", lambda x: parts(fft.ifft(x)), (X7,)),
    ("ifft ortho", lambda x: parts(fft.ifft(x, norm="ortho")), (X8,)),
    ("fft2", lambda x: parts(fft.fft2(x)), (M45,)),
    ("ifft2 s", lambda x: parts(fft.ifft2(x, s=(3, 6))), (M45,)),
    ("fftn", lambda x: parts(fft.fftn(x, axes=(0, 2))), (T234,)),
    ("ifftn", lambda x: parts(fft.ifftn(x, norm="forward")), (T234,)),
    ("rfft", lambda x: parts(fft.rfft(x)), (X8,)),
    ("rfft odd", lambda x: parts(fft.rfft(x)), (X7,)),
    ("rfft n", lambda x: parts(fft.rfft(x, n=12, norm="ortho")), (X7,)),
    ("rfft2", lambda x: parts(fft.rfft2(x)), (M45,)),
    ("rfftn", lambda x: parts(fft.rfftn(x, s=(2, 4, 6), axes=(0, 1, 2))), (T234,)),
    ("ihfft", lambda x: parts(fft.ihfft(x)), (X7,)),
    ("fftshift", lambda x: fft.fftshift(x), (M45,)),
    ("ifftshift axis", lambda x: fft.ifftshift(x, axes=1), (M45,)),
    ("power spectrum", lambda x: np.abs(fft.rfft(x)) ** 2, (X8,)),
]

HALF_IN = [   # inputs given as (real part, imaginary part)
    ("irfft", lambda re, im: fft.irfft(re + 1j * im), (X8[:5], X7[:5])),
    ("irfft odd n", lambda re, im: fft.irfft(re + 1j * im, n=7), (X8[:5], X7[:5])),
    ("irfft n crop", lambda re, im: fft.irfft(re + 1j * im, n=4, norm="ortho"),
     (X8[:5], X7[:5])),
    ("irfft2", lambda re, im: fft.irfft2(re + 1j * im), (M45, M45[::-1].copy())),
    ("irfftn s", lambda re, im: fft.irfftn(re + 1j * im, s=(2, 3, 5), axes=(0, 1, 2),
                                           norm="forward"),
     (T234, T234[::-1].copy())),
    ("hfft", lambda re, im: fft.hfft(re + 1j * im), (X8[:5], X7[:5])),
    ("fft complex", lambda re, im: parts(fft.fft(re + 1j * im)), (X8, X8[::-1].copy())),
    ("ifftn complex", lambda re, im: parts(fft.ifftn(re + 1j * im)), (M45, M45[::-1].copy())),
]


@pytest.mark.parametrize("name,f,args", REAL_IN + HALF_IN, ids=[c[0] for c in REAL_IN + HALF_IN])
def test_grads(name, f, args):
    check_grads(f, args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name,f,args", REAL_IN + HALF_IN, ids=[c[0] for c in REAL_IN + HALF_IN])
def test_values_match_numpy(name, f, args):
    traced = cr.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]
    for t, p in zip(cr.tree_flatten(traced)[0], cr.tree_flatten(f(*args))[0]):
        np.testing.assert_allclose(t, p, rtol=1e-12, atol=1e-12)


def test_power_spectrum_gradient_closed_form():
    # Parseval: sum |fft(x)|^2 = n sum x^2, so the gradient is 2 n x, real
    g = cr.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(X8)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * 8 * X8, rtol=1e-12)
    h = cr.hessian(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(X7)
    np.testing.assert_allclose(h, 2 * 7 * np.eye(7), atol=1e-10)


def test_forward_mode_of_fft_is_fft():
    v = rng.standard_normal(8)
    _, t = cr.jvp(np.fft.fft, (X8,), (v,))
    np.testing.assert_allclose(t, np.fft.fft(v))


def _pairing(a, b):
    return np.real(np.sum(a * b))


@pytest.mark.parametrize("prim,x,params", [
    (ff.fft_p, rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4)),
     {"axes": (0, 1), "inverse": False}),
    (ff.fft_p, rng.standard_normal(5) + 1j * rng.standard_normal(5),
     {"axes": (0,), "inverse": True}),
    (ff.rfft_p, rng.standard_normal((3, 6)), {"axis": 1}),
    (ff.rfft_p, rng.standard_normal((5, 2)), {"axis": 0}),
    (ff.irfft_p, rng.standard_normal((2, 4)) + 1j * rng.standard_normal((2, 4)),
     {"axis": 1, "n": 6}),
    (ff.irfft_p, rng.standard_normal(4) + 1j * rng.standard_normal(4), {"axis": 0, "n": 7}),
])
def test_transpose_rules(prim, x, params):
    """<ct, L x> = <L^T ct, x> under the real pairing Re(sum(a * b))."""
    from chainrule.core import UndefPrimal, get_aval
    y = prim.bind(x, **params)
    ct = rng.standard_normal(y.shape) + (1j * rng.standard_normal(y.shape)
                                         if np.iscomplexobj(y) else 0)
    (x_bar,) = prim.transpose(ct, UndefPrimal(get_aval(x)), **params)
    assert x_bar.shape == x.shape and np.iscomplexobj(x_bar) == np.iscomplexobj(x)
    np.testing.assert_allclose(_pairing(ct, y), _pairing(x_bar, x), rtol=1e-10)


def test_cnp_fft_namespace():
    np.testing.assert_allclose(cnp.fft.rfft(X8), np.fft.rfft(X8))
    assert "fft.irfftn" in cnp.supported()
