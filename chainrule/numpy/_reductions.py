"""NumPy's reductions and cumulative functions on traced arrays (compositions of ops).

``axis`` may be None, an int or a tuple (negatives allowed) wherever NumPy allows it;
``keepdims`` and ``dtype`` follow NumPy. Non-smooth points get the documented subgradients:
``max``/``min`` share the derivative equally between tied elements; ``std`` and ``ptp`` of a
constant array have derivative 0.
"""
import math

import numpy as np

from ..core import get_aval
from ..core.errors import InvalidArgumentError
from ..ops import arithmetic as ar
from ..ops import elementwise as el
from ..ops import reductions as red
from ..ops import shape as sh
from ..ops import special as sp
from ._dispatch import exported, implements, unsupported
from ._shape import cast, from_sequence, no_out, normalize_axes, one_axis, ravel, sort

_shape = lambda x: get_aval(x).shape  # noqa: E731


def keep(y, shape, axes, keepdims):
    """``y`` reduced over ``axes`` of ``shape``, with the reduced axes kept as 1 if asked."""
    if keepdims:
        return sh.reshape(y, shape=tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return y


def _count(shape, axes):
    return math.prod(shape[i] for i in axes)


def _as_float(a):
    return sh.convert_element_type(a, dtype=np.float64) if get_aval(a).dtype.kind in "biu" else a


def reducer(reduce, fname):
    """A NumPy-signature reduction from ``reduce(x, axes=...)``."""
    def f(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
        no_out(out, where, fname)
        shape = _shape(a)
        axes = normalize_axes(axis, len(shape))
        y = reduce(a, axes=axes) if axes else a
        if initial is not None:
            y = initial_combine[fname](y, initial)
        return cast(keep(y, shape, axes, keepdims), dtype)
    f.__name__ = fname
    return f


initial_combine = {"sum": ar.add, "prod": ar.mul, "max": ar.maximum, "min": ar.minimum}
sum = implements(np.sum)(reducer(red.reduce_sum, "sum"))
prod = implements(np.prod)(reducer(red.reduce_prod, "prod"))


def _extremum(reduce, fname):
    g = reducer(reduce, fname)

    def f(a, axis=None, out=None, keepdims=False, initial=None, where=True):
        return g(a, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)
    f.__name__ = fname
    return f


max = implements(np.max, np.amax, name="max")(_extremum(red.reduce_max, "max"))
min = implements(np.min, np.amin, name="min")(_extremum(red.reduce_min, "min"))
exported["amax"], exported["amin"] = max, min


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    no_out(out, where, "mean")
    a = from_sequence(a)
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    return cast(ar.div(sum(_as_float(a), axis=axes, keepdims=keepdims), _count(shape, axes)),
                dtype)


_mean = mean


def _deviations(a, axis, ddof, correction, mean):
    """``a`` minus its mean over ``axis`` (or the given ``mean``), with the shape, the reduced
    axes and the degrees of freedom of var and std."""
    a = from_sequence(a)
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    ddof = ddof if correction is None else correction
    d = ar.sub(_as_float(a), _mean(a, axis=axes, keepdims=True) if mean is None else mean)
    return d, shape, axes, _count(shape, axes) - ddof


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None,
        correction=None):
    no_out(out, where, "var")
    d, shape, axes, dof = _deviations(a, axis, ddof, correction, mean)
    return cast(ar.div(sum(ar.mul(d, d), axis=axes, keepdims=keepdims), dof), dtype)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None,
        correction=None):
    # the 2-norm of the deviations (vector_norm: derivative 0 for a constant array)
    no_out(out, where, "std")
    d, shape, axes, dof = _deviations(a, axis, ddof, correction, mean)
    y = ar.div(sp.vector_norm(d, axes=axes), math.sqrt(dof))
    return cast(keep(y, shape, axes, keepdims), dtype)


@implements(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    if weights is None:
        avg = mean(a, axis=axes, keepdims=keepdims)
        if returned:
            return avg, np.full(_shape(avg), float(_count(shape, axes)))
        return avg
    w_shape = _shape(weights)
    if w_shape != shape:
        if len(w_shape) != 1 or len(axes) != 1 or w_shape[0] != shape[axes[0]]:
            raise InvalidArgumentError("average: weights must have the shape of a, or be 1-d "
                                       "with the length of a along the single axis")
        weights = sh.reshape(weights, shape=tuple(w_shape[0] if i == axes[0] else 1
                                                  for i in range(len(shape))))
    total = sum(sh.broadcast_to(weights, shape), axis=axes, keepdims=keepdims)
    avg = ar.div(sum(ar.mul(a, weights), axis=axes, keepdims=keepdims), total)
    return (avg, total) if returned else avg


@implements(np.ptp)
def ptp(a, axis=None, out=None, keepdims=False):
    no_out(out, True, "ptp")
    return ar.sub(max(a, axis=axis, keepdims=keepdims), min(a, axis=axis, keepdims=keepdims))


def _cumulative(scan, fname):
    def f(a, axis=None, dtype=None, out=None):
        no_out(out, True, fname)
        if axis is None:
            a, axis = ravel(a), 0
        return cast(scan(a, axis=one_axis(axis, len(_shape(a)))), dtype)
    f.__name__ = fname
    return f


cumsum = implements(np.cumsum)(_cumulative(red.cumsum, "cumsum"))
cumprod = implements(np.cumprod)(_cumulative(red.cumprod, "cumprod"))


def _nan_filled(a, fill):
    # fill as a 0-d array of a's dtype (not a Python float: inf has no literal in generated code)
    return ar.select(el.isnan(a), np.asarray(fill, get_aval(a).dtype), a)


@implements(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return sum(_nan_filled(a, 0.0), axis, dtype, out, keepdims, initial, where)


@implements(np.nanprod)
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return prod(_nan_filled(a, 1.0), axis, dtype, out, keepdims, initial, where)


@implements(np.nanmax)
def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    return max(_nan_filled(a, -np.inf), axis, out, keepdims, initial, where)


@implements(np.nanmin)
def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    return min(_nan_filled(a, np.inf), axis, out, keepdims, initial, where)


@implements(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    no_out(out, where, "nanmean")
    count = sum(sh.convert_element_type(ar.logical_not(el.isnan(a)), dtype=np.float64),
                axis=axis, keepdims=keepdims)
    return cast(ar.div(nansum(a, axis=axis, keepdims=keepdims), count), dtype)


@implements(np.nancumsum)
def nancumsum(a, axis=None, dtype=None, out=None):
    return cumsum(_nan_filled(a, 0.0), axis, dtype, out)


@implements(np.nancumprod)
def nancumprod(a, axis=None, dtype=None, out=None):
    return cumprod(_nan_filled(a, 1.0), axis, dtype, out)


def _arg(reduce, fname):
    def f(a, axis=None, out=None, *, keepdims=False):
        no_out(out, True, fname)
        if axis is None:
            y = reduce(ravel(a), axis=0)
            return sh.reshape(y, shape=(1,) * len(_shape(a))) if keepdims else y
        axis = one_axis(axis, len(_shape(a)))
        return keep(reduce(a, axis=axis), _shape(a), (axis,), keepdims)
    f.__name__ = fname
    return f


argmax = implements(np.argmax)(_arg(red.argmax, "argmax"))
argmin = implements(np.argmin)(_arg(red.argmin, "argmin"))


def _logical(reduce, fname):
    def f(a, axis=None, out=None, keepdims=False, *, where=True):
        no_out(out, where, fname)
        shape = _shape(a)
        axes = normalize_axes(axis, len(shape))
        return keep(reduce(a, axes=axes), shape, axes, keepdims)
    f.__name__ = fname
    return f


all = implements(np.all)(_logical(red.reduce_all, "all"))
any = implements(np.any)(_logical(red.reduce_any, "any"))


@implements(np.quantile)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None, interpolation=None, _median=False):
    no_out(out, True, "quantile")
    if method != "linear" or interpolation is not None or weights is not None:
        raise unsupported("numpy.quantile with a method other than 'linear' or with weights")
    full_shape = _shape(a)
    if axis is None:
        a, axis = ravel(a), 0
    nd = len(_shape(a))
    axes = normalize_axes(axis, nd)
    if len(axes) != 1:
        raise unsupported("numpy.quantile over several axes")
    ax = axes[0]
    s = sh.transpose(sort(a, axis=ax), perm=[ax] + [i for i in range(nd) if i != ax])
    n = _shape(s)[0]
    q = np.asarray(q, dtype=np.float64)
    pos = (n - 1) * q
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo).reshape(q.shape + (1,) * (nd - 1))
    lo_v, hi_v = sh.getitem(s, idx=(lo,)), sh.getitem(s, idx=(hi,))
    if _median and n % 2 == 0:
        y = ar.div(ar.add(lo_v, hi_v), 2.0)     # np.median: the mean of the middle two
    elif _median:
        y = lo_v
    else:       # NumPy's lerp: lo + d t below t = 0.5, hi - d (1 - t) from there
        d = ar.sub(hi_v, lo_v)
        y = ar.select(frac >= 0.5, ar.sub(hi_v, ar.mul(d, 1.0 - frac)),
                      ar.add(lo_v, ar.mul(d, frac)))
    # a NaN sorts last; NumPy's quantile of a slice holding one is nan
    last = sh.getitem(s, idx=(n - 1,))
    y = ar.select(el.isnan(last), np.asarray(np.nan, get_aval(y).dtype), y)
    if keepdims:
        kept = (tuple(1 if i == ax else d for i, d in enumerate(_shape(a)))
                if len(full_shape) == nd else (1,) * len(full_shape))
        y = sh.reshape(y, shape=q.shape + kept)
    return y


@implements(np.percentile)
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, interpolation=None):
    return quantile(a, np.asarray(q) / 100.0, axis, out, overwrite_input, method, keepdims,
                    weights=weights, interpolation=interpolation)


@implements(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return quantile(a, 0.5, axis, out, keepdims=keepdims, _median=True)
