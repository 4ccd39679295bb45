"""Neural-network layers as primitives: convolution and standardization (batch/layer norm),
so a layer is one recorded operation with one linear map instead of a dozen small ones.

    conv(x, w, *, stride, padding, dilation, groups)      x (N, C, *S), w (O, C/groups, *K)
                                                          -> (N, O, *S_out): cross-correlation
    conv_input_t(y, w, *, ..., in_shape)                  conv's transpose in x: (N, O, *S_out)
                                                          -> in_shape (N, C, *S)
    conv_weight_t(x, y, *, ..., kernel)                   conv's transpose in w: -> (O, C/g, *K)

The three are bilinear forms of one contraction ``sum y[n,o,p] w[o,c,k] x[n,c,p*s+k*d]``, so
each one's JVP is the bilinear rule and its transposes are the other two.

    standardize(x, *, axes, eps)                          (x - mean) / sqrt(var + eps), the
                                                          mean and biased variance over axes
    standardize_tangent(t, xhat, r, *, axes)              its linear map at x:
                                                          r (t - mean(t) - xhat mean(xhat t)),
                                                          r = 1/sqrt(var + eps); self-adjoint in t

``axes`` are non-negative ints; stride/padding/dilation tuples of one int per spatial dim.
"""
import functools
import math

import numpy as np

from ..core import Primitive, ShapedArray, Tracer, Zero, bind, get_aval, is_undefined
from . import arithmetic as ar
from . import elementwise as el
from . import reductions as red
from . import shape as sh
from . import _series as ser
from ._define import to_front

__all__ = ["conv", "conv_input_t", "conv_weight_t", "standardize", "standardize_tangent"]


# -- convolution: im2col and one matrix product ----------------------------------------------------
def _out_spatial(spatial, kernel, stride, padding, dilation):
    return tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                 for s, k, st, p, d in zip(spatial, kernel, stride, padding, dilation))


_PLACES = {}


def _places(shape, kernel, stride, padding, dilation):
    """im2col as flat positions: for an input of ``shape`` (N, C, *S), the int array (C,
    *K, N, *S_out) of the flat position each column entry reads (``x[n, c, o * stride + k *
    dilation - padding]``), the padding pointing at position N*C*prod(S) (one past the end);
    and S_out. Cached per geometry: the gather and its transpose (a bincount) then have no
    strided loops over small windows, which NumPy runs element group by element group."""
    key = (shape, kernel, stride, padding, dilation)
    hit = _PLACES.get(key)
    if hit is not None:
        return hit
    batch, c = shape[:2]
    spatial, n = shape[2:], len(kernel)
    out = _out_spatial(spatial, kernel, stride, padding, dilation)
    rank = 2 + 2 * n                                  # axes: C, *K, N, *S_out
    inside = np.ones((1,) * rank, bool)
    pos = (np.arange(c).reshape((c,) + (1,) * (rank - 1)) * math.prod(spatial)
           + np.arange(batch).reshape((1,) * (n + 1) + (batch,) + (1,) * n)
           * (c * math.prod(spatial)))
    flat_stride = 1
    for i in reversed(range(n)):
        k = np.arange(kernel[i]).reshape((1,) * (1 + i) + (kernel[i],) + (1,) * (rank - 2 - i))
        o = np.arange(out[i]).reshape((1,) * (n + 2 + i) + (out[i],) + (1,) * (n - 1 - i))
        coord = o * stride[i] + k * dilation[i] - padding[i]
        inside = inside & (coord >= 0) & (coord < spatial[i])
        pos = pos + coord * flat_stride
        flat_stride *= spatial[i]
    places = np.where(inside, pos, batch * c * flat_stride).astype(np.intp).reshape(-1)
    if len(_PLACES) > 16:
        _PLACES.clear()
    _PLACES[key] = places, out
    return places, out


# beyond this many column entries the positions would cost as much memory as the columns:
# one strided copy (or sum) per kernel offset instead, whose inner loops are then long
INDEXED_COLUMNS = 1 << 21


def _indexed(shape, kernel, stride, padding, dilation):
    out = _out_spatial(shape[2:], kernel, stride, padding, dilation)
    return math.prod(shape[:2]) * math.prod(kernel) * math.prod(out) <= INDEXED_COLUMNS


def _offsets(kernel, stride, dilation, out):
    """Per kernel offset (row-major), the slices of the padded spatial dims it reads."""
    return [(k, tuple(slice(ki * d, ki * d + st * (m - 1) + 1, st)
                      for ki, d, st, m in zip(k, dilation, stride, out)))
            for k in np.ndindex(*kernel)]


def _cols(x, kernel, stride, padding, dilation, groups):
    """im2col, examples last: (groups, C/groups * prod(K), N * prod(S_out)), and S_out."""
    shape, kernel = tuple(x.shape), tuple(kernel)
    if _indexed(shape, kernel, stride, padding, dilation):
        places, out = _places(shape, kernel, stride, padding, dilation)
        flat = np.reshape(x, -1)
        if any(padding):
            flat = np.concatenate((flat, np.zeros(1, flat.dtype)))
        cols = np.take(flat, places)
    else:
        out = _out_spatial(shape[2:], kernel, stride, padding, dilation)
        xp = x
        if any(padding):
            xp = np.zeros(shape[:2] + tuple(s + 2 * p for s, p in zip(shape[2:], padding)),
                          x.dtype)
            xp[(slice(None),) * 2 + tuple(slice(p, p + s)
                                          for p, s in zip(padding, shape[2:]))] = x
        xt = np.moveaxis(xp, 1, 0)                                  # (C, N, *S) view
        cols = np.empty((shape[1],) + kernel + (shape[0],) + out, x.dtype)
        for k, where in _offsets(kernel, stride, dilation, out):
            cols[(slice(None),) + k] = xt[(slice(None),) * 2 + where]
    return np.reshape(cols, (groups, shape[1] // groups * math.prod(kernel), -1)), out


def _examples_last(y, groups):
    """(N, O, *S_out) -> (groups, O/groups, N * prod(S_out)) (a copy)."""
    batch, o = y.shape[:2]
    return np.reshape(np.swapaxes(np.reshape(y, (batch, o, -1)), 0, 1), (groups, o // groups, -1))


def _conv_impl(x, w, *, stride, padding, dilation, groups):
    kernel, o = tuple(w.shape[2:]), w.shape[0]
    cols, out = _cols(x, kernel, stride, padding, dilation, groups)
    y = np.matmul(np.reshape(w, (groups, o // groups, -1)), cols)     # (g, O/g, N*P)
    y = np.swapaxes(np.reshape(y, (o, x.shape[0], -1)), 0, 1)
    return np.reshape(np.ascontiguousarray(y), (x.shape[0], o) + out)


def _conv_input_t_impl(y, w, *, stride, padding, dilation, groups, in_shape):
    """col2im of ``w^T y`` (one matrix product for the batch): the columns summed into the
    input positions they read, one bincount (np.add.at for other than float64), or one
    strided sum per kernel offset for large inputs."""
    kernel, o = tuple(w.shape[2:]), w.shape[0]
    w2 = np.reshape(w, (groups, o // groups, -1))
    cols = np.matmul(np.swapaxes(w2, 1, 2), _examples_last(y, groups))
    in_shape = tuple(in_shape)
    if not _indexed(in_shape, kernel, stride, padding, dilation):
        out = tuple(y.shape[2:])
        cols = np.reshape(cols, (in_shape[1],) + kernel + (in_shape[0],) + out)
        padded = tuple(s + 2 * p for s, p in zip(in_shape[2:], padding))
        x = np.zeros(in_shape[1::-1] + padded, cols.dtype)          # (C, N, *S_padded)
        for k, where in _offsets(kernel, stride, dilation, out):
            x[(slice(None),) * 2 + where] += cols[(slice(None),) + k]
        x = x[(slice(None),) * 2 + tuple(slice(p, p + s) for p, s in zip(padding, in_shape[2:]))]
        return np.ascontiguousarray(np.swapaxes(x, 0, 1))
    places, _ = _places(in_shape, kernel, stride, padding, dilation)
    size = math.prod(in_shape)
    cols = np.reshape(cols, -1)
    if cols.dtype == np.float64:
        x = np.bincount(places, cols, minlength=size + 1)
    else:
        x = np.zeros(size + 1, cols.dtype)
        np.add.at(x, places, cols)
    return np.reshape(x[:size], in_shape)


def _conv_weight_t_impl(x, y, *, stride, padding, dilation, groups, kernel):
    cols, _ = _cols(x, kernel, stride, padding, dilation, groups)    # (g, CK, N*P)
    w = np.matmul(_examples_last(y, groups), np.swapaxes(cols, 1, 2))
    return np.reshape(w, (y.shape[1], x.shape[1] // groups) + tuple(kernel))


def _conv_abstract(x, w, *, stride, padding, dilation, groups):
    out = _out_spatial(x.shape[2:], w.shape[2:], stride, padding, dilation)
    return ShapedArray((x.shape[0], w.shape[0]) + out, np.result_type(x.dtype, w.dtype))


def _conv_input_t_abstract(y, w, *, in_shape, **_):
    return ShapedArray(tuple(in_shape), np.result_type(y.dtype, w.dtype))


def _conv_weight_t_abstract(x, y, *, groups, kernel, **_):
    return ShapedArray((y.shape[1], x.shape[1] // groups) + tuple(kernel),
                       np.result_type(x.dtype, y.dtype))


conv_p = Primitive("conv", linear_in=(0, 1))
conv_input_t_p = Primitive("conv_input_t", linear_in=(0, 1))
conv_weight_t_p = Primitive("conv_weight_t", linear_in=(0, 1))
for _p, _impl, _abstract in ((conv_p, _conv_impl, _conv_abstract),
                             (conv_input_t_p, _conv_input_t_impl, _conv_input_t_abstract),
                             (conv_weight_t_p, _conv_weight_t_impl, _conv_weight_t_abstract)):
    _p.impl, _p.abstract_eval = _impl, _abstract
    _p.deriv_class = ("linear", "linear", "cross")
    _p.zero_safety = ("no-new-zeros",)


def conv(x, w, *, stride, padding, dilation, groups):
    return bind(conv_p, x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv_input_t(y, w, *, stride, padding, dilation, groups, in_shape):
    return bind(conv_input_t_p, y, w, stride=stride, padding=padding, dilation=dilation,
                groups=groups, in_shape=tuple(in_shape))


def conv_weight_t(x, y, *, stride, padding, dilation, groups, kernel):
    return bind(conv_weight_t_p, x, y, stride=stride, padding=padding, dilation=dilation,
                groups=groups, kernel=tuple(kernel))


def _bilinear_jvp(prim):
    def jvp(primals, tangents, **params):
        (a, b), (a_dot, b_dot) = primals, tangents
        out = bind(prim, a, b, **params)
        t = None if type(a_dot) is Zero else bind(prim, a_dot, b, **params)
        if type(b_dot) is not Zero:
            t_b = bind(prim, a, b_dot, **params)
            t = t_b if t is None else ar.add(t, t_b)
        return out, t
    jvp.__name__ = f"{prim.name}_jvp"
    return jvp


def conv_transpose(ct, x, w, **params):
    if is_undefined(x):
        return conv_input_t(ct, w, in_shape=x.aval.shape, **params), None
    return None, conv_weight_t(x, ct, kernel=w.aval.shape[2:], **params)


def conv_input_t_transpose(ct, y, w, *, in_shape, **params):
    if is_undefined(y):
        return conv(ct, w, **params), None
    return None, conv_weight_t(ct, y, kernel=w.aval.shape[2:], **params)


def conv_weight_t_transpose(ct, x, y, *, kernel, **params):
    if is_undefined(x):
        return conv_input_t(y, ct, in_shape=x.aval.shape, **params), None
    return None, conv(x, ct, **params)


for _p, _t in ((conv_p, conv_transpose), (conv_input_t_p, conv_input_t_transpose),
               (conv_weight_t_p, conv_weight_t_transpose)):
    _p.jvp, _p.transpose = _bilinear_jvp(_p), _t


def _example_batch(prim, data):
    """vmap of a conv-family primitive: with only the arguments at positions ``data`` (those
    with a leading example axis N) batched, the batch folds into N; otherwise one call per
    member of the batch, stacked."""
    def batch(vals, dims, **params):
        size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
        if all(d is None for i, (v, d) in enumerate(zip(vals, dims)) if i not in data):
            args = []
            for i, (v, d) in enumerate(zip(vals, dims)):
                if i in data:
                    v = sh.broadcast_to(v, (size,) + get_aval(v).shape) if d is None \
                        else to_front(v, d)
                    shape = get_aval(v).shape
                    v = sh.reshape(v, shape=(size * shape[1],) + tuple(shape[2:]))
                args.append(v)
            if "in_shape" in params:
                params = dict(params, in_shape=(size * params["in_shape"][0],)
                              + tuple(params["in_shape"][1:]))
            out = bind(prim, *args, **params)
            shape = get_aval(out).shape
            return sh.reshape(out, shape=(size, shape[0] // size) + tuple(shape[1:])), 0
        vals = [v if d is None else to_front(v, d) for v, d in zip(vals, dims)]
        outs = [bind(prim, *[v if d is None else sh.getitem(v, idx=(k,))
                             for v, d in zip(vals, dims)], **params) for k in range(size)]
        return sh.concatenate([sh.reshape(o, shape=(1,) + get_aval(o).shape) for o in outs],
                              axis=0), 0
    batch.__name__ = f"{prim.name}_batch"
    return batch


def _bilinear_taylor(prim):
    def taylor(primals, series, **params):
        (a, b), (sa, sb) = primals, series
        out = bind(prim, a, b, **params)
        k = ser.order_of(series)
        c = ser.bilinear_series(lambda u, v: bind(prim, u, v, **params), ser.full(a, sa, k),
                                ser.full(b, sb, k), out)
        return out, ser.finish(out, c[1:])
    taylor.__name__ = f"{prim.name}_taylor"
    return taylor


for _p in (conv_p, conv_input_t_p, conv_weight_t_p):
    _p.taylor = _bilinear_taylor(_p)
conv_p.batch = _example_batch(conv_p, (0,))
conv_input_t_p.batch = _example_batch(conv_input_t_p, (0,))
conv_weight_t_p.batch = _example_batch(conv_weight_t_p, ())


# -- standardize: batch and layer normalization ---------------------------------------------------
def _mean(x, axes):
    """The mean over ``axes``, kept as size-1 dimensions (chainrule ops)."""
    shape = get_aval(x).shape
    count = math.prod(shape[a] for a in axes)
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    return ar.mul(sh.reshape(red.reduce_sum(x, axes=axes), shape=kept), 1.0 / count)


@functools.lru_cache(maxsize=256)
def _sum_spec(ndim, axes, operands):
    """The einsum spec that sums ``operands`` same-shaped arrays' product over ``axes``."""
    letters = "abcdefghijklmnopqrstuvwxyz"[:ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in axes)
    return ",".join([letters] * operands) + "->" + kept


def _sum_kept(axes, *arrays):
    """``sum(prod(arrays), axes, keepdims=True)`` for same-shaped arrays: one einsum, without
    the product's temporary, several times faster than np.sum over non-trailing axes."""
    a = arrays[0]
    r = np.einsum(_sum_spec(a.ndim, axes, len(arrays)), *arrays)
    return np.reshape(r, tuple(1 if i in axes else d for i, d in enumerate(a.shape)))


def _standardize_impl(x, *, axes, eps):
    _, d, var = batch_stats(x, axes)
    d *= 1.0 / np.sqrt(var + eps)
    return d


def _standardize_tangent_impl(t, xhat, r, *, axes):
    if t.shape == xhat.shape == np.broadcast_shapes(t.shape, r.shape):
        count = math.prod(t.shape[a] for a in axes)
        out = t - _sum_kept(axes, t) / count   # the common case: four passes, two in place
        out -= xhat * (_sum_kept(axes, xhat, t) / count)
        out *= r
        return out
    m = np.mean(t, axis=axes, keepdims=True)
    c = np.mean(xhat * t, axis=axes, keepdims=True)
    return (t - m - xhat * c) * r


standardize_p = Primitive("standardize")
standardize_p.impl = _standardize_impl
standardize_p.abstract_eval = lambda x, *, axes, eps: ShapedArray(x.shape, x.dtype)
standardize_p.deriv_class = ("nonlinear",)

standardize_tangent_p = Primitive("standardize_tangent", linear_in=(0,))
standardize_tangent_p.impl = _standardize_tangent_impl
standardize_tangent_p.abstract_eval = lambda t, xhat, r, *, axes: ShapedArray(
    np.broadcast_shapes(t.shape, xhat.shape, r.shape), np.result_type(t.dtype, xhat.dtype))
standardize_tangent_p.deriv_class = ("linear", "nonlinear", "nonlinear", "cross")


def standardize(x, *, axes, eps):
    return bind(standardize_p, x, axes=tuple(axes), eps=float(eps))


def standardize_tangent(t, xhat, r, *, axes):
    return bind(standardize_tangent_p, t, xhat, r, axes=tuple(axes))


def batch_stats(x, axes):
    """``(mean, x - mean, var)``: the mean and the biased variance of the array ``x`` over
    ``axes`` (kept as size-1 dimensions), with one temporary of ``x``'s size."""
    count = math.prod(x.shape[a] for a in axes)
    mean = _sum_kept(axes, x) / count
    d = x - mean
    return mean, d, _sum_kept(axes, d, d) / count


def standardize_jvp(primals, tangents, *, axes, eps):
    (x,), (x_dot,) = primals, tangents
    if isinstance(x, Tracer):
        d = ar.sub(x, _mean(x, axes))
        r = ar.div(1.0, el.sqrt(ar.add(_mean(ar.mul(d, d), axes), eps)))
        xhat = ar.mul(d, r)
    else:       # an array (the Tensor tape): the same values with the implementation's sums
        _, d, var = batch_stats(x, axes)
        r = 1.0 / np.sqrt(var + eps)
        xhat = np.multiply(d, r, out=d)
    return xhat, standardize_tangent(x_dot, xhat, r, axes=axes)


def standardize_tangent_jvp(primals, tangents, *, axes):
    (t, xhat, r), (t_dot, xhat_dot, r_dot) = primals, tangents
    out = standardize_tangent(t, xhat, r, axes=axes)
    terms = [] if type(t_dot) is Zero else [standardize_tangent(t_dot, xhat, r, axes=axes)]
    c = _mean(ar.mul(xhat, t), axes)
    if type(xhat_dot) is not Zero:
        inner = ar.add(ar.mul(xhat_dot, c), ar.mul(xhat, _mean(ar.mul(xhat_dot, t), axes)))
        terms.append(ar.neg(ar.mul(r, inner)))
    if type(r_dot) is not Zero:
        centered = ar.sub(ar.sub(t, _mean(t, axes)), ar.mul(xhat, c))
        terms.append(ar.mul(r_dot, centered))
    t_out = None
    for term in terms:
        t_out = term if t_out is None else ar.add(t_out, term)
    return out, t_out


def standardize_tangent_transpose(ct, t, xhat, r, *, axes):
    return standardize_tangent(ct, xhat, r, axes=axes), None, None


def _mean_series(a, axes):
    return [None if c is None else _mean(c, axes) for c in a]


def _centered_series(t, xhat, axes):
    """``t - mean(t) - xhat mean(xhat t)`` on series."""
    c = _mean_series(ser.mul_series(xhat, t), axes)
    return [ser.sub(ser.sub(u, m), w) for u, m, w in
            zip(t, _mean_series(t, axes), ser.mul_series(xhat, c))]


def standardize_taylor(primals, series, *, axes, eps):
    (x,), (s,) = primals, series
    out = standardize(x, axes=axes, eps=eps)
    a = ser.full(x, s)
    d = [ser.sub(u, m) for u, m in zip(a, _mean_series(a, axes))]
    v = _mean_series(ser.square_series(d), axes)
    v[0] = ar.add(v[0], eps)
    r = ser.pow_series(v, -0.5, ar.div(1.0, el.sqrt(v[0])))
    return out, ser.finish(out, ser.mul_series(d, r, out)[1:])


def standardize_tangent_taylor(primals, series, *, axes):
    k = ser.order_of(series)
    t, xhat, r = (ser.full(p, s, k) for p, s in zip(primals, series))
    out = standardize_tangent(*primals, axes=axes)
    return out, ser.finish(out, ser.mul_series(r, _centered_series(t, xhat, axes), out)[1:])


standardize_p.taylor = standardize_taylor
standardize_tangent_p.taylor = standardize_tangent_taylor
standardize_p.jvp = standardize_jvp
standardize_tangent_p.jvp = standardize_tangent_jvp
standardize_tangent_p.transpose = standardize_tangent_transpose
standardize_tangent_p.zero_safety = ("no-new-zeros",)


def _axes_front_batch(prim):
    """vmap: batched arguments get the batch axis in front, the others a leading 1; ``axes``
    shift by one (the batch axis is never reduced)."""
    def batch(vals, dims, **params):
        args = []
        for v, d in zip(vals, dims):
            if d is None:
                v = sh.reshape(v, shape=(1,) + tuple(get_aval(v).shape))
            else:
                v = to_front(v, d)
            args.append(v)
        params = dict(params, axes=tuple(a + 1 for a in params["axes"]))
        return bind(prim, *args, **params), 0
    batch.__name__ = f"{prim.name}_batch"
    return batch


standardize_p.batch = _axes_front_batch(standardize_p)
standardize_tangent_p.batch = _axes_front_batch(standardize_tangent_p)
