"""Discrete Fourier transforms: fft (complex to complex, any set of axes), rfft (real to half
spectrum, one axis) and irfft (half spectrum to real, one axis). All three are linear.

Normalization is NumPy's default ("backward"): forward transforms unscaled, inverse ones scaled
by 1/n; the NumPy layer applies the other norms and pads or crops to the requested lengths, so
every primitive sees arrays of exactly the transform length. Transposes are taken with respect to
the real pairing Re(sum(a * b)) (see complex.py):

    fft_transpose      the DFT matrix is symmetric: the transpose of fft is fft, of ifft is ifft
    rfft_transpose     Re(fft(ct zero-padded to n))
    irfft_transpose    w * conj(rfft(ct)) / n, w = 1 for the bins that irfft uses once (0, and
                       n/2 for even n) and 2 for the others (each stands for a conjugate pair)

Rules: ``*_jvp(primals, tangents, **params)`` (the same transform of the tangent),
``*_transpose(ct, x, **params)``, ``*_batch(vals, dims, **params)`` (the axes shift past the
batch axis).
"""
import numpy as np

from ..core import Primitive, ShapedArray, bind, get_aval
from . import arithmetic as ar
from . import complex as cx
from . import shape as sh
from ._define import linear_taylor


def _linear_jvp(prim):
    def jvp(primals, tangents, **params):
        return bind(prim, primals[0], **params), bind(prim, tangents[0], **params)
    jvp.__name__ = f"{prim.name}_jvp"
    return jvp


# -- fft: complex -> complex over ``axes``; ``inverse`` selects ifftn (scaled by 1/prod(n)) ----
def _fft_impl(x, *, axes, inverse):
    return np.fft.ifftn(x, axes=axes) if inverse else np.fft.fftn(x, axes=axes)


fft_p = Primitive("fft", linear_in=(0,))
fft_p.impl = _fft_impl
fft_p.abstract_eval = lambda x, *, axes, inverse: ShapedArray(x.shape, cx.complex_dtype(x.dtype))


def fft(x, *, axes, inverse=False):
    """The n-dimensional DFT of complex ``x`` over ``axes`` (shape unchanged)."""
    return bind(fft_p, x, axes=tuple(axes), inverse=inverse)


fft_p.jvp = _linear_jvp(fft_p)
fft_p.transpose = lambda ct, x, *, axes, inverse: (fft(ct, axes=axes, inverse=inverse),)
fft_p.deriv_class = ("linear",)
fft_p.taylor = linear_taylor(fft_p)


def _shift(axis, d):
    """An axis index of the unbatched array, in the array with a batch axis at ``d``."""
    return axis + (axis >= d)


fft_p.batch = lambda vals, dims, *, axes, inverse: (
    fft(vals[0], axes=tuple(_shift(a, dims[0]) for a in axes), inverse=inverse), dims[0])


# -- rfft: real (..., n, ...) -> complex (..., n // 2 + 1, ...) along ``axis`` ------------------
def _rfft_abstract(x, *, axis):
    shape = list(x.shape)
    shape[axis] = shape[axis] // 2 + 1
    return ShapedArray(shape, cx.complex_dtype(x.dtype))


rfft_p = Primitive("rfft", linear_in=(0,))
rfft_p.impl = lambda x, *, axis: np.fft.rfft(x, axis=axis)
rfft_p.abstract_eval = _rfft_abstract


def rfft(x, *, axis):
    return bind(rfft_p, x, axis=axis)


def pad_axis(x, axis, n):
    """``x`` zero-padded (or cropped) to length ``n`` along ``axis``."""
    aval = get_aval(x)
    m = aval.shape[axis]
    if m == n:
        return x
    if m > n:
        return sh.getitem(x, idx=tuple(slice(0, n) if i == axis else slice(None)
                                       for i in range(aval.ndim)))
    shape = list(aval.shape)
    shape[axis] = n - m
    return sh.concatenate([x, np.zeros(shape, aval.dtype)], axis=axis)


def rfft_transpose(ct, x, *, axis):
    n = x.aval.shape[axis]
    return (cx.real(fft(pad_axis(ct, axis, n), axes=(axis,))),)


rfft_p.jvp, rfft_p.transpose = _linear_jvp(rfft_p), rfft_transpose
rfft_p.deriv_class = ("linear",)
rfft_p.taylor = linear_taylor(rfft_p)
rfft_p.batch = lambda vals, dims, *, axis: (rfft(vals[0], axis=_shift(axis, dims[0])), dims[0])



# -- irfft: complex (..., n // 2 + 1, ...) -> real (..., n, ...) along ``axis`` -------------------
def _irfft_abstract(x, *, axis, n):
    shape = list(x.shape)
    shape[axis] = n
    return ShapedArray(shape, cx.real_dtype(x.dtype))


irfft_p = Primitive("irfft", linear_in=(0,))
irfft_p.impl = lambda x, *, axis, n: np.fft.irfft(x, n=n, axis=axis)
irfft_p.abstract_eval = _irfft_abstract


def irfft(x, *, axis, n):
    return bind(irfft_p, x, axis=axis, n=n)


def irfft_transpose(ct, x, *, axis, n):
    aval = x.aval
    m = aval.shape[axis]
    w = np.full(m, 2.0 / n)
    w[0] = 1.0 / n
    if n % 2 == 0:
        w[-1] = 1.0 / n
    w = w.reshape([m if i == axis else 1 for i in range(aval.ndim)])
    return (ar.mul(cx.conj(rfft(ct, axis=axis)), w.astype(cx.real_dtype(aval.dtype))),)


irfft_p.jvp, irfft_p.transpose = _linear_jvp(irfft_p), irfft_transpose
irfft_p.deriv_class = ("linear",)
irfft_p.taylor = linear_taylor(irfft_p)
irfft_p.batch = lambda vals, dims, *, axis, n: (
    irfft(vals[0], axis=_shift(axis, dims[0]), n=n), dims[0])

