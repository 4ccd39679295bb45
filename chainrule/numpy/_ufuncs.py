"""NumPy's (and scipy.special's) ufuncs on traced arrays, and the ufunc methods reduce,
accumulate, outer and at (NEP 13, ``__array_ufunc__``).

Every floating ufunc maps onto one op or a short composition of ops. ``out=`` may name a traced
array, which is then rebound to the result (like item assignment); ``np.add.at(x, idx, v)``
into a traced ``x`` is a scatter-add that rebinds ``x``.
"""
import math

import numpy as np
import scipy.special as _sps

from ..core import Tracer, dispatch, get_aval
from ..core.errors import InvalidArgumentError
from ..ops import arithmetic as ar
from ..ops import bessel as bs
from ..ops import control
from ..ops import elementwise as el
from ..ops import reductions as red
from ..ops import shape as sh
from ..ops import special as sp
from . import _reductions as nred
from ._dispatch import implements_ufunc, scipy_exported, ufunc_methods, unsupported
from ._shape import (cast, concrete, normalize_axes, normalize_index, one_axis, rebind,
                     write_refused)

_shape = lambda x: get_aval(x).shape  # noqa: E731

# -- one op per ufunc -------------------------------------------------------------------------
_UNARY = {np.exp: el.exp, np.exp2: el.exp2, np.expm1: el.expm1, np.log: el.log,
          np.log2: el.log2, np.log10: el.log10, np.log1p: el.log1p, np.sqrt: el.sqrt,
          np.cbrt: el.cbrt, np.square: el.square, np.reciprocal: el.reciprocal,
          np.sin: el.sin, np.cos: el.cos, np.tan: el.tan, np.arcsin: el.arcsin,
          np.arccos: el.arccos, np.arctan: el.arctan, np.sinh: el.sinh, np.cosh: el.cosh,
          np.tanh: el.tanh, np.arcsinh: el.arcsinh, np.arccosh: el.arccosh,
          np.arctanh: el.arctanh, np.absolute: el.abs, np.fabs: el.abs,
          np.deg2rad: el.deg2rad, np.rad2deg: el.rad2deg, np.sign: el.sign,
          np.floor: el.floor, np.ceil: el.ceil, np.trunc: el.trunc, np.rint: el.rint,
          np.signbit: el.signbit, np.spacing: el.spacing,
          np.isfinite: el.isfinite, np.isnan: el.isnan, np.isinf: el.isinf,
          np.negative: ar.neg, np.logical_not: ar.logical_not}
_BINARY = {np.add: ar.add, np.subtract: ar.sub, np.multiply: ar.mul, np.true_divide: ar.div,
           np.power: ar.pow, np.maximum: ar.maximum, np.minimum: ar.minimum,
           np.fmax: ar.fmax, np.fmin: ar.fmin, np.arctan2: ar.arctan2, np.hypot: ar.hypot,
           np.logaddexp: sp.logaddexp, np.logaddexp2: sp.logaddexp2,
           np.heaviside: ar.heaviside, np.less: ar.lt,
           np.less_equal: ar.le, np.greater: ar.gt, np.greater_equal: ar.ge,
           np.equal: ar.eq, np.not_equal: ar.ne, np.logical_and: ar.logical_and,
           np.logical_or: ar.logical_or, np.logical_xor: ar.logical_xor,
           np.floor_divide: ar.floor_divide}
for _uf, _op in {**_UNARY, **_BINARY}.items():
    implements_ufunc(_uf)(_op)
implements_ufunc(np.deg2rad, np.radians, name="radians")(el.deg2rad)
implements_ufunc(np.rad2deg, np.degrees, name="degrees")(el.rad2deg)
implements_ufunc(np.absolute, name="abs")(el.abs)
implements_ufunc(np.true_divide, name="divide")(ar.div)
implements_ufunc(np.power, name="pow")(ar.pow)
for _name in ("acos", "acosh", "asin", "asinh", "atan", "atanh", "atan2"):
    implements_ufunc(getattr(np, _name), name=_name)(dispatch.ufuncs[getattr(np, _name)])


@implements_ufunc(np.positive)
def positive(x):
    return x


@implements_ufunc(np.conjugate, name="conj")
def conjugate(x):
    if np.dtype(get_aval(x).dtype).kind == "c":
        raise unsupported("numpy.conjugate of complex traced arrays")
    return x


# -- short compositions -----------------------------------------------------------------------
@implements_ufunc(np.remainder, name="mod")
def remainder(x, y):
    return ar.remainder(x, y)


@implements_ufunc(np.fmod)
def fmod(x, y):
    return ar.fmod(x, y)


@implements_ufunc(np.divmod)
def divmod(x, y):
    return ar.floor_divide(x, y), remainder(x, y)


@implements_ufunc(np.modf)
def modf(x):
    whole = el.trunc(x)
    return ar.sub(x, whole), whole


@implements_ufunc(np.frexp)
def frexp(x):
    _, e = np.frexp(concrete(x, "numpy.frexp"))
    return ar.mul(x, np.ldexp(1.0, -e).astype(get_aval(x).dtype)), e


@implements_ufunc(np.ldexp)
def ldexp(x, i):
    if isinstance(i, Tracer) and get_aval(i).dtype.kind == "f":
        raise InvalidArgumentError("ldexp: the exponent must be an integer")
    return ar.mul(x, ar.pow(2.0, sh.convert_element_type(i, dtype=get_aval(x).dtype)))


@implements_ufunc(np.copysign)
def copysign(x, y):
    mag = el.abs(x)
    return ar.select(el.signbit(y), ar.neg(mag), mag)


@implements_ufunc(np.nextafter)
def nextafter(x, y):
    # the next float: derivative 1 in x (the step itself is held constant)
    return ar.add(x, control.stop_gradient(ar.sub(el.nextafter(x, y), x)))


@implements_ufunc(np.float_power)
def float_power(x, y):
    def wide(v):
        kind = get_aval(v).dtype.kind
        return sh.convert_element_type(v, dtype=np.complex128 if kind == "c" else np.float64)
    return ar.pow(wide(x), wide(y))


@implements_ufunc(np.vecdot)
def vecdot(x1, x2):
    return red.reduce_sum(ar.mul(x1, x2), axes=(len(np.broadcast_shapes(
        _shape(x1), _shape(x2))) - 1,))


@implements_ufunc(np.matvec)
def matvec(x1, x2):
    return vecdot(x1, sh.reshape(x2, shape=_shape(x2)[:-1] + (1,) + _shape(x2)[-1:]))


@implements_ufunc(np.vecmat)
def vecmat(x1, x2):
    prod = ar.mul(sh.reshape(x1, shape=_shape(x1) + (1,)), x2)
    return red.reduce_sum(prod, axes=(len(_shape(prod)) - 2,))


# -- scipy.special ufuncs -----------------------------------------------------------------------
for _uf, _op in {_sps.gammaln: sp.gammaln, _sps.digamma: sp.digamma, _sps.gamma: sp.gamma,
                 _sps.erf: sp.erf, _sps.erfc: sp.erfc, _sps.erfinv: sp.erfinv,
                 _sps.erfcinv: sp.erfcinv, _sps.ndtr: sp.ndtr, _sps.ndtri: sp.ndtri,
                 _sps.log_ndtr: sp.log_ndtr, _sps.expit: sp.expit, _sps.logit: sp.logit,
                 _sps.log_expit: sp.log_expit, _sps.xlogy: sp.xlogy,
                 _sps.xlog1py: sp.xlog1py}.items():
    implements_ufunc(_uf, namespace=scipy_exported)(_op)
scipy_exported["psi"] = scipy_exported["digamma"] = sp.digamma
for _name in ("jv", "yv", "iv", "kv", "ive", "kve", "j0", "j1", "y0", "y1", "i0", "i1", "i0e",
              "i1e", "gammainc", "gammaincc", "betainc", "betaln", "beta", "rgamma", "gammasgn"):
    implements_ufunc(getattr(_sps, _name), namespace=scipy_exported)(getattr(bs, _name))
# integer orders: jn is jv, yn(n, x) is yv(n, x) for integer n
implements_ufunc(_sps.jn, name="jn", namespace=scipy_exported)(bs.jv)
implements_ufunc(_sps.yn, name="yn", namespace=scipy_exported)(bs.yv)


# -- ufunc methods ----------------------------------------------------------------------------
_ASSOCIATIVE = {np.add, np.multiply, np.maximum, np.minimum, np.fmax, np.fmin, np.logaddexp,
                np.logaddexp2, np.hypot, np.logical_and, np.logical_or}


def _fold(binop, x, axis):
    """A left fold of ``binop`` over ``axis`` (one op per element: for short axes)."""
    acc = None
    for i in range(_shape(x)[axis]):
        xi = sh.getitem(x, idx=(slice(None),) * axis + (i,))
        acc = xi if acc is None else binop(acc, xi)
    return acc


def _reduce(ufunc, x, axis=0, keepdims=False, initial=None):
    shape = _shape(x)
    axes = normalize_axes(axis, len(shape))
    named = {np.add: nred.sum, np.multiply: nred.prod, np.maximum: nred.max,
             np.minimum: nred.min, np.logical_and: nred.all, np.logical_or: nred.any}
    if ufunc in named and (initial is None or ufunc not in (np.logical_and, np.logical_or)):
        return named[ufunc](x, axis=axes, keepdims=keepdims, initial=initial)
    if ufunc is np.logaddexp:
        y = sp.logsumexp(x, axes=axes)
    elif ufunc is np.logaddexp2:
        y = ar.div(sp.logsumexp(ar.mul(x, math.log(2.0)), axes=axes), math.log(2.0))
    elif ufunc is np.hypot:
        y = sp.vector_norm(x, axes=axes)
    else:
        if len(axes) > 1 and ufunc not in _ASSOCIATIVE:
            raise InvalidArgumentError(f"numpy.{ufunc.__name__}.reduce over several axes")
        binop = dispatch.ufuncs.get(ufunc)
        if binop is None:
            raise unsupported(f"numpy.{ufunc.__name__}.reduce")
        y = x
        for ax in reversed(axes):
            y = _fold(binop, y, ax)
    if initial is not None:
        y = dispatch.call_ufunc(ufunc, y, initial)
    return nred.keep(y, shape, axes, keepdims)


def _accumulate(ufunc, x, axis=0):
    nd = len(_shape(x))
    axis = one_axis(axis, nd)
    if ufunc is np.add:
        return red.cumsum(x, axis=axis)
    if ufunc is np.multiply:
        return red.cumprod(x, axis=axis)
    binop = dispatch.ufuncs.get(ufunc)
    if binop is None:
        raise unsupported(f"numpy.{ufunc.__name__}.accumulate")
    n = _shape(x)[axis]
    if ufunc in _ASSOCIATIVE:    # log-depth scan: out[k:] = op(out[:-k], out[k:])
        out, k = x, 1
        while k < n:
            head = sh.getitem(out, idx=(slice(None),) * axis + (slice(0, k),))
            tail = binop(sh.getitem(out, idx=(slice(None),) * axis + (slice(0, n - k),)),
                         sh.getitem(out, idx=(slice(None),) * axis + (slice(k, n),)))
            out = sh.concatenate([head, tail], axis=axis)
            k *= 2
        return out
    acc, outs = None, []
    for i in range(n):
        xi = sh.getitem(x, idx=(slice(None),) * axis + (slice(i, i + 1),))
        acc = xi if acc is None else binop(acc, xi)
        outs.append(acc)
    return sh.concatenate(outs, axis=axis) if len(outs) > 1 else outs[0]


def _at(ufunc, a, idx, b=None):
    if not isinstance(a, Tracer):
        raise write_refused(f"numpy.{ufunc.__name__}.at")
    idx = normalize_index(idx, _shape(a))
    if ufunc in (np.add, np.subtract):
        b = ar.neg(b) if ufunc is np.subtract else b
        return rebind(a, sh.scatter_add(a, b, idx=idx), f"numpy.{ufunc.__name__}.at")
    flat = np.ravel_multi_index(np.broadcast_arrays(*[np.asarray(i) for i in idx]),
                                _shape(a)) if all(isinstance(i, np.ndarray) for i in idx) \
        else None
    if flat is not None and len(np.unique(flat)) != flat.size:
        raise unsupported(f"numpy.{ufunc.__name__}.at with repeated indices (only add and "
                          "subtract accumulate)")
    handler = dispatch.ufuncs.get(ufunc)
    if handler is None:
        raise unsupported(f"numpy.{ufunc.__name__}.at")
    old = sh.getitem(a, idx=idx)
    new = handler(old) if b is None else handler(old, b)
    return rebind(a, sh.setitem(a, new, idx=idx), f"numpy.{ufunc.__name__}.at")


ufunc_methods.update({
    "reduce": "every binary ufunc above (add, multiply, maximum, minimum, logaddexp, "
              "logaddexp2, hypot, logical_and/or as reductions; others as a fold over one axis)",
    "accumulate": "every binary ufunc above (add, multiply: cumsum, cumprod; associative ones "
                  "as a log-depth scan; others as a fold)",
    "outer": "every binary ufunc above",
    "at": "add and subtract (scatter-add, repeated indices accumulate) into a traced array; "
          "other ufuncs with unique indices",
})


def _out_target(out, fname):
    """The traced array named by ``out=``, or None."""
    if out is None:
        return None
    out = out if isinstance(out, tuple) else (out,)
    if all(o is None for o in out):
        return None
    if len(out) != 1:
        raise unsupported(f"the out= argument of numpy.{fname} with several outputs")
    if not isinstance(out[0], Tracer):
        raise write_refused(f"numpy.{fname}(..., out=...)")
    return out[0]


def array_ufunc(ufunc, method, inputs, kwargs):
    name = ufunc.__name__
    target = _out_target(kwargs.pop("out", None), name)
    where = kwargs.pop("where", True)
    if where is not True:
        raise unsupported(f"the where= argument of numpy.{name}")
    dtype = kwargs.pop("dtype", None)
    for k in ("casting", "order", "subok", "signature"):
        kwargs.pop(k, None)
    if method == "__call__":
        if kwargs:
            raise unsupported(f"numpy.{name} with {sorted(kwargs)}")
        y = dispatch.call_ufunc(ufunc, *inputs)
        y = tuple(cast(v, dtype) for v in y) if isinstance(y, tuple) else cast(y, dtype)
    elif method == "reduce":
        axis, keepdims = kwargs.pop("axis", 0), kwargs.pop("keepdims", False)
        initial = kwargs.pop("initial", None)
        if kwargs:
            raise unsupported(f"numpy.{name}.reduce with {sorted(kwargs)}")
        y = cast(_reduce(ufunc, inputs[0], axis, keepdims, initial), dtype)
    elif method == "accumulate":
        axis = kwargs.pop("axis", 0)
        if kwargs:
            raise unsupported(f"numpy.{name}.accumulate with {sorted(kwargs)}")
        y = cast(_accumulate(ufunc, inputs[0], axis), dtype)
    elif method == "outer" and len(inputs) == 2:
        a, b = inputs
        a = sh.reshape(a, shape=_shape(a) + (1,) * len(_shape(b)))
        y = cast(dispatch.call_ufunc(ufunc, a, b), dtype)
    elif method == "at":
        _at(ufunc, *inputs)
        return None
    else:
        raise unsupported(f"numpy.{name}.{method}")
    if target is not None:
        return rebind(target, y, f"numpy.{name}(..., out=x)")
    return y


dispatch.hooks["array_ufunc"] = array_ufunc
