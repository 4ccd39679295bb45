"""Complex numbers: real, imag, conj, complex (re + i im) and the modulus of a complex array.

Convention (the one JAX uses). A complex number is a pair of reals and every derivative is the
real-linear map of those pairs. A JVP rule pushes a complex tangent forward; a transpose rule is
the transpose with respect to the real pairing ``<a, b> = Re(sum(a * b))`` (no conjugation):

    holomorphic f        jvp  f'(z) * z_dot;  transpose  ct * f'(z) (multiplying by a complex
                         constant transposes to multiplying by the same constant, not its
                         conjugate), so grad of a complex-valued holomorphic f is f'(z)
    real-valued L(z)     grad gives dL/dx - i dL/dy, the conjugate of the steepest-ascent
                         direction: a descent step is z - lr * conj(grad)
    real input x         its cotangent is the real part of what reaches it (``real_cotangent``),
    used as complex      so gradients with respect to real inputs are real

Rules: ``*_jvp(primals, tangents)``, ``*_transpose(ct, *args)``, ``*_batch(vals, dims)``;
real(z) transposes to ct + 0i, imag(z) to -i ct, conj(z) to conj(ct), complex(re, im) to
(Re ct, -Im ct).
"""
import numpy as np

from ..core import Primitive, ShapedArray, Zero, bind, get_aval, is_undefined
from . import arithmetic as ar
from . import shape as sh
from . import _series as ser
from ._define import elementwise_abstract, linear_taylor
from ._sparsity import elementwise_sparsity


def real_dtype(dtype):
    """float64 for complex128, float32 for complex64; real dtypes unchanged."""
    return np.empty(0, dtype).real.dtype


def complex_dtype(dtype):
    return np.result_type(dtype, np.complex64)


def is_complex(x):
    return get_aval(x).dtype.kind == "c"


def _same_axis_batch(prim):
    """Batching of an elementwise primitive of one operand: the batch axis stays where it is."""
    def batch(vals, dims):
        return bind(prim, vals[0]), dims[0]
    batch.__name__ = f"{prim.name}_batch"
    return batch


def _part_abstract(z):
    return ShapedArray(z.shape, real_dtype(z.dtype))


# -- real, imag: complex -> real, linear ---------------------------------------------------------
real_p = Primitive("real", linear_in=(0,))
real_p.impl = np.real
real_p.abstract_eval = _part_abstract


def real(z):
    return bind(real_p, z)


real_p.jvp = lambda primals, tangents: (real(primals[0]), real(tangents[0]))
real_p.transpose = lambda ct, z: (complex_(real_cotangent(ct, z.aval.update(
    dtype=real_dtype(z.aval.dtype))), 0.0),)
real_p.deriv_class = ("linear",)
real_p.taylor = linear_taylor(real_p)
real_p.sparsity = elementwise_sparsity
real_p.batch = _same_axis_batch(real_p)

imag_p = Primitive("imag", linear_in=(0,))
imag_p.impl = np.imag
imag_p.abstract_eval = _part_abstract


def imag(z):
    return bind(imag_p, z)


imag_p.jvp = lambda primals, tangents: (imag(primals[0]), imag(tangents[0]))
imag_p.transpose = lambda ct, z: (complex_(0.0, ar.neg(real_cotangent(ct, z.aval.update(
    dtype=real_dtype(z.aval.dtype))))),)
imag_p.deriv_class = ("linear",)
imag_p.taylor = linear_taylor(imag_p)
imag_p.sparsity = elementwise_sparsity
imag_p.batch = _same_axis_batch(imag_p)

# -- conj: complex -> complex, linear over the reals ---------------------------------------------
conj_p = Primitive("conj", linear_in=(0,))
conj_p.impl = np.conjugate
conj_p.abstract_eval = lambda z: ShapedArray(z.shape, z.dtype)


def conj(z):
    """The complex conjugate; the identity on real arrays (no primitive is bound)."""
    return bind(conj_p, z) if is_complex(z) else z


conj_p.jvp = lambda primals, tangents: (conj(primals[0]), conj(tangents[0]))
conj_p.transpose = lambda ct, z: (conj(ct),)
conj_p.deriv_class = ("linear",)
conj_p.taylor = linear_taylor(conj_p)
conj_p.sparsity = elementwise_sparsity
conj_p.batch = _same_axis_batch(conj_p)


# -- complex(re, im) = re + i im: two reals -> complex, linear in both ----------------------------
def _complex_impl(re, im):
    unit = np.asarray(1j, np.result_type(re, im, np.complex64))   # complex64 for float32 parts
    return np.add(re, np.multiply(im, unit))


complex_p = Primitive("complex", linear_in=(0, 1))
complex_p.impl = _complex_impl
complex_p.abstract_eval = elementwise_abstract(_complex_impl)


def complex_(re, im):
    """``re + 1j * im`` for real ``re``, ``im`` (broadcasting; either may be a Python 0.0)."""
    return bind(complex_p, re, im)


def complex_jvp(primals, tangents):
    (re, im), (re_dot, im_dot) = primals, tangents
    out = complex_(re, im)
    shape = get_aval(out).shape
    return out, ar.broadcast_tangent(complex_(0.0 if type(re_dot) is Zero else re_dot,
                                              0.0 if type(im_dot) is Zero else im_dot), shape)


def complex_transpose(ct, re, im):
    return (sh.unbroadcast(real(ct), re.aval) if is_undefined(re) else None,
            sh.unbroadcast(ar.neg(imag(ct)), im.aval) if is_undefined(im) else None)


complex_p.jvp, complex_p.transpose = complex_jvp, complex_transpose
complex_p.deriv_class = ("linear", "linear")
complex_p.taylor = linear_taylor(complex_p)
complex_p.sparsity = elementwise_sparsity


def complex_batch(vals, dims):
    """Operands with the batch axis moved to the front and ranks aligned (NumPy broadcasting
    aligns trailing axes, so unbatched operands need nothing)."""
    rank = max(get_aval(v).ndim - (d is not None) for v, d in zip(vals, dims))
    args = []
    for v, d in zip(vals, dims):
        if d is not None:
            shape = get_aval(v).shape
            v = sh.transpose(v, perm=(d,) + tuple(i for i in range(len(shape)) if i != d))
            rest = shape[:d] + shape[d + 1:]
            v = sh.reshape(v, shape=(shape[d],) + (1,) * (rank - len(rest)) + rest)
        args.append(v)
    return complex_(*args), 0


complex_p.batch = complex_batch


def to_complex(x):
    """``x`` as a complex array; a real ``x`` is promoted through ``complex_p`` so that its
    cotangent is the real part of the complex cotangent."""
    return x if is_complex(x) else complex_(x, 0.0)


def real_cotangent(ct, aval):
    """The cotangent of an input of aval ``aval`` from a cotangent ``ct`` that may be complex:
    its real part when the input is real (under the pairing Re(sum(a * b)))."""
    if type(ct) is Zero or aval.dtype.kind == "c" or get_aval(ct).dtype.kind != "c":
        return ct
    return real(ct)


# -- |z| for complex z: nonlinear, subgradient 0 at z = 0 ----------------------------------------
complex_abs_p = Primitive("complex_abs")
complex_abs_p.impl = np.abs
complex_abs_p.abstract_eval = _part_abstract


def complex_abs(z):
    return bind(complex_abs_p, z)


def complex_abs_jvp(primals, tangents):
    (z,), (z_dot,) = primals, tangents
    y = complex_abs(z)
    at_zero = ar.eq(y, 0.0)
    safe_y = ar.select(at_zero, 1.0, y)
    # d|z| = Re(conj(z) z_dot) / |z|, taken as 0 at z = 0 (the select keeps 0/0 out of every order)
    t = ar.div(real(ar.mul(z_dot, conj(z))), safe_y)
    return y, ar.select(at_zero, 0.0, t)


complex_abs_p.jvp = complex_abs_jvp
complex_abs_p.deriv_class = ("nonlinear",)


def complex_abs_taylor(primals, series):
    # |z|^2 = Re(z conj(z)): the sqrt recurrence, every coefficient 0 where z = 0
    (z,), (s,) = primals, series
    y = complex_abs(z)
    zs = ser.full(z, s)
    sq = ser.bilinear_series(lambda u, v: real(ar.mul(u, conj(v))), zs, zs, ar.mul(y, y))
    return y, ser.finish(y, ser.sqrt_series(sq, y, zero_at_zero=True)[1:])


complex_abs_p.taylor = complex_abs_taylor
complex_abs_p.sparsity = elementwise_sparsity
complex_abs_p.batch = _same_axis_batch(complex_abs_p)
