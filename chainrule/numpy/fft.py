"""``numpy.fft`` on traced arrays, and the complex-number functions the transforms need.

FFTs: fft, ifft, fft2, ifft2, fftn, ifftn, rfft, irfft, rfft2, irfft2, rfftn, irfftn, hfft,
ihfft, fftshift, ifftshift, with NumPy's ``n``/``s`` (crop or zero-pad), ``axis``/``axes`` and
``norm`` ("backward", "ortho", "forward"), built on the linear primitives of ``ops/fft.py``.

Complex numbers (convention in ``ops/complex.py``: transposes under Re(sum(a * b)), as JAX
does). This module registers np.real, np.imag, np.conjugate, np.angle and, for complex arrays,
np.absolute,
replacing the NumPy layer's real-only handlers. It also wraps the handlers of np.add,
np.subtract, np.multiply, np.true_divide, np.power, np.where and the joining functions
(concatenate, stack, hstack, vstack, dstack, column_stack) so that a real traced operand meeting
a complex one is promoted explicitly with ``to_complex``: its cotangent is then the real part of
the complex one, and gradients with respect to real inputs stay real.
"""
import numbers

import numpy as np

from ..core import dispatch, get_aval
from ..core.errors import InvalidArgumentError
from ..ops import arithmetic as ar
from ..ops import complex as cx
from ..ops import fft as ff
from ..ops import shape as sh
from ._dispatch import implements, implements_ufunc, unsupported

_shape = lambda x: get_aval(x).shape  # noqa: E731


# -- complex numbers -------------------------------------------------------------------------------
@implements(np.real)
def real(val):
    return cx.real(val) if cx.is_complex(val) else val


@implements(np.imag)
def imag(val):
    if cx.is_complex(val):
        return cx.imag(val)
    aval = get_aval(val)
    return np.zeros(aval.shape, aval.dtype)


@implements_ufunc(np.conjugate, name="conj")
def conjugate(x):
    return cx.conj(x)


@implements(np.angle)
def angle(z, deg=False):
    """arctan2(imag(z), real(z)) (0 or pi for real z); its derivative is 0 at z = 0."""
    z = _float(z)
    re, im = (cx.real(z), cx.imag(z)) if cx.is_complex(z) else (z, imag(z))
    a = ar.arctan2(im, re)
    return ar.mul(a, 180.0 / np.pi) if deg else a


_real_absolute = dispatch.ufuncs[np.absolute]


@implements_ufunc(np.absolute, name="abs")
@implements_ufunc(np.absolute)
def absolute(x):
    """|x|; for complex x its derivative Re(conj(x) x_dot) / |x| is taken as 0 at x = 0."""
    return cx.complex_abs(x) if cx.is_complex(x) else _real_absolute(x)


# -- FFT -------------------------------------------------------------------------------------------
_NORMS = (None, "backward", "ortho", "forward")


def _scale(y, n, norm, inverse):
    """Apply ``norm`` to a result computed with NumPy's default normalization."""
    if norm not in _NORMS:
        raise InvalidArgumentError(f"invalid norm {norm!r}; expected one of {_NORMS}")
    if norm in (None, "backward"):
        return y
    if norm == "ortho":
        factor = np.sqrt(n) if inverse else 1.0 / np.sqrt(n)
    else:
        factor = float(n) if inverse else 1.0 / n
    return ar.mul(y, float(factor))


def _swap_norm(norm):
    return {None: "forward", "backward": "forward", "forward": "backward"}.get(norm, norm)


def _float(a):
    return a if get_aval(a).dtype.kind in "fc" else sh.convert_element_type(a, dtype=np.float64)


def _no_out(out, fname):
    if out is not None:
        raise unsupported(f"the out= argument of numpy.fft.{fname}")


def _axes_and_lengths(a, s, axes, fname, half_last=False):
    """NumPy's resolution of ``s`` and ``axes`` -> (axes, lengths), all non-negative."""
    nd = len(_shape(a))
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    axes = tuple(int(ax) % nd for ax in axes)
    if s is None:
        s = [_shape(a)[ax] for ax in axes]
        if half_last:
            s[-1] = 2 * (s[-1] - 1)
    s = [int(n) for n in s]
    if len(s) != len(axes):
        raise InvalidArgumentError(f"numpy.fft.{fname}: s and axes have different lengths")
    if any(n < 1 for n in s):
        raise InvalidArgumentError(f"numpy.fft.{fname}: invalid number of data points {s}")
    return axes, s


def _c2c(a, s, axes, norm, inverse):
    a = cx.to_complex(_float(a))
    for ax, n in zip(axes, s):
        a = ff.pad_axis(a, ax, n)
    return _scale(ff.fft(a, axes=axes, inverse=inverse), int(np.prod(s)), norm, inverse)


def _r2c(a, s, axes, norm):
    a = _float(a)
    if cx.is_complex(a):
        a = cx.real(a)   # NumPy discards the imaginary part too
    for ax, n in zip(axes, s):
        a = ff.pad_axis(a, ax, n)
    y = ff.rfft(a, axis=axes[-1])
    if len(axes) > 1:
        y = ff.fft(y, axes=axes[:-1])
    return _scale(y, int(np.prod(s)), norm, False)


def _c2r(a, s, axes, norm):
    a = cx.to_complex(_float(a))
    if len(axes) > 1:
        for ax, n in zip(axes[:-1], s[:-1]):
            a = ff.pad_axis(a, ax, n)
        a = ff.fft(a, axes=axes[:-1], inverse=True)
    a = ff.pad_axis(a, axes[-1], s[-1] // 2 + 1)
    y = ff.irfft(a, axis=axes[-1], n=s[-1])
    return _scale(y, int(np.prod(s)), norm, True)


def _one_axis(a, n, axis):
    nd = len(_shape(a))
    axis = int(axis) % nd
    return (axis,), [_shape(a)[axis] if n is None else int(n)]


@implements(np.fft.fft, name="fft.fft")
def fft(a, n=None, axis=-1, norm=None, out=None):
    _no_out(out, "fft")
    axes, s = _one_axis(a, n, axis)
    return _c2c(a, s, axes, norm, False)


@implements(np.fft.ifft, name="fft.ifft")
def ifft(a, n=None, axis=-1, norm=None, out=None):
    _no_out(out, "ifft")
    axes, s = _one_axis(a, n, axis)
    return _c2c(a, s, axes, norm, True)


@implements(np.fft.fftn, name="fft.fftn")
def fftn(a, s=None, axes=None, norm=None, out=None):
    _no_out(out, "fftn")
    axes, s = _axes_and_lengths(a, s, axes, "fftn")
    return _c2c(a, s, axes, norm, False)


@implements(np.fft.ifftn, name="fft.ifftn")
def ifftn(a, s=None, axes=None, norm=None, out=None):
    _no_out(out, "ifftn")
    axes, s = _axes_and_lengths(a, s, axes, "ifftn")
    return _c2c(a, s, axes, norm, True)


@implements(np.fft.fft2, name="fft.fft2")
def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return fftn(a, s, axes, norm, out)


@implements(np.fft.ifft2, name="fft.ifft2")
def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return ifftn(a, s, axes, norm, out)


@implements(np.fft.rfft, name="fft.rfft")
def rfft(a, n=None, axis=-1, norm=None, out=None):
    _no_out(out, "rfft")
    axes, s = _one_axis(a, n, axis)
    return _r2c(a, s, axes, norm)


@implements(np.fft.irfft, name="fft.irfft")
def irfft(a, n=None, axis=-1, norm=None, out=None):
    _no_out(out, "irfft")
    axes, s = _one_axis(a, n, axis)
    if n is None:
        s = [2 * (s[0] - 1)]
    return _c2r(a, s, axes, norm)


@implements(np.fft.rfftn, name="fft.rfftn")
def rfftn(a, s=None, axes=None, norm=None, out=None):
    _no_out(out, "rfftn")
    axes, s = _axes_and_lengths(a, s, axes, "rfftn")
    return _r2c(a, s, axes, norm)


@implements(np.fft.irfftn, name="fft.irfftn")
def irfftn(a, s=None, axes=None, norm=None, out=None):
    _no_out(out, "irfftn")
    axes, s = _axes_and_lengths(a, s, axes, "irfftn", half_last=s is None)
    return _c2r(a, s, axes, norm)


@implements(np.fft.rfft2, name="fft.rfft2")
def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return rfftn(a, s, axes, norm, out)


@implements(np.fft.irfft2, name="fft.irfft2")
def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return irfftn(a, s, axes, norm, out)


@implements(np.fft.hfft, name="fft.hfft")
def hfft(a, n=None, axis=-1, norm=None, out=None):
    """The FFT of a signal with Hermitian symmetry given by its half spectrum: a real result."""
    _no_out(out, "hfft")
    return irfft(cx.conj(cx.to_complex(_float(a))), n, axis, _swap_norm(norm))


@implements(np.fft.ihfft, name="fft.ihfft")
def ihfft(a, n=None, axis=-1, norm=None, out=None):
    _no_out(out, "ihfft")
    return cx.conj(rfft(a, n, axis, _swap_norm(norm)))


def _roll_halves(x, axes, inverse):
    nd = len(_shape(x))
    if axes is None:
        axes = tuple(range(nd))
    elif isinstance(axes, numbers.Integral):
        axes = (axes,)
    for ax in axes:
        ax = int(ax) % nd
        n = _shape(x)[ax]
        shift = -(n // 2) if inverse else n // 2
        idx = (slice(None),) * ax + (np.roll(np.arange(n), shift),)
        x = sh.getitem(x, idx=idx)
    return x


@implements(np.fft.fftshift, name="fft.fftshift")
def fftshift(x, axes=None):
    return _roll_halves(x, axes, False)


@implements(np.fft.ifftshift, name="fft.ifftshift")
def ifftshift(x, axes=None):
    return _roll_halves(x, axes, True)
