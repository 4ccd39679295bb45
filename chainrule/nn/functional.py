"""``chainrule.nn.functional``: PyTorch's functional layers and losses, as compositions of NumPy
functions, so every derivative comes from chainrule's primitives (any mode: Tensor backward,
``grad``, ``jvp``, ``hessian``, ``jit``). Convolution and the normalizations are
primitives of their own (ops/nn.py: one recorded operation per layer, whose linear map is a
transposed convolution or the self-adjoint map of standardization).

The functions take Tensors, plain arrays or the traced arrays of ``chainrule.grad``, so a loss
written once serves both interfaces. Shapes follow PyTorch: batch first, channels second
(``(N, C, L)`` for 1-D and ``(N, C, H, W)`` for 2-D convolutions and pools). Pools gather
windows im2col-style: the kernel's shifted strided slices of the padded input.
"""
import math
import numbers
import warnings

import numpy as np

from ..api import stop_gradient
from ..scipy import special
from ..core.errors import InvalidArgumentError, ShapeMismatchError
from ..ops.linalg import dot_general
from ..ops.nn import batch_stats, conv as conv_op, standardize
from ..ops.special import logsumexp
from ..tensor import Tensor
from ..tensor.random import generator

__all__ = ["relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "tanh", "sigmoid",
           "softmax", "log_softmax", "linear", "conv1d", "conv2d", "max_pool1d", "max_pool2d",
           "avg_pool1d", "avg_pool2d", "dropout", "batch_norm", "layer_norm", "embedding",
           "mse_loss", "l1_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy_with_logits", "one_hot"]


def _detach(x):
    return x.detach() if isinstance(x, Tensor) else stop_gradient(x)


def _constant(x):
    """``x`` without its derivative, for masks and indices: a Tensor's array (no recording),
    ``stop_gradient`` of anything else."""
    return x.data if isinstance(x, Tensor) else stop_gradient(x)


def _raw(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _axis(dim, axis):
    return dim if axis is None else axis


# -- activations ----------------------------------------------------------------------------------
def relu(x):
    """``max(x, 0)`` elementwise (any shape), with derivative 0 at 0."""
    return np.where(_constant(x) > 0, x, 0.0)


def leaky_relu(x, negative_slope=0.01):
    """``x`` where positive, ``negative_slope * x`` elsewhere (any shape)."""
    return np.where(_constant(x) > 0, x, negative_slope * x)


def elu(x, alpha=1.0):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere (any shape)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def gelu(x, approximate="none"):
    """``x * Phi(x)`` (exact, with erf) or its tanh approximation (any shape)."""
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + special.erf(x / np.sqrt(2.0)))


def silu(x):
    """``x * sigmoid(x)`` (any shape)."""
    return x * sigmoid(x)


def softplus(x, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold`` as in PyTorch (any shape)."""
    bx = beta * x
    soft = (np.maximum(bx, 0.0) + np.log1p(np.exp(-np.abs(bx)))) / beta
    return np.where(bx > threshold, x, soft)


def tanh(x):
    """``tanh(x)`` elementwise (any shape)."""
    return np.tanh(x)


def sigmoid(x):
    """``1 / (1 + exp(-x))`` elementwise (any shape), computed stably as (tanh(x/2) + 1) / 2."""
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def log_softmax(x, dim=-1, *, axis=None):
    """``x - logsumexp(x, dim)``: same shape as ``x``; stable for large entries."""
    return special.log_softmax(x, axis=_axis(dim, axis))


def softmax(x, dim=-1, *, axis=None):
    """``exp(x) / sum(exp(x), dim)``: same shape as ``x``; stable for large entries."""
    return special.softmax(x, axis=_axis(dim, axis))


# -- layers ---------------------------------------------------------------------------------------
def linear(x, weight, bias=None):
    """``x @ weight.T + bias``: x (..., in) with weight (out, in) and bias (out,) -> (..., out)."""
    if np.ndim(weight) != 2 or np.ndim(x) < 1 or np.shape(x)[-1] != np.shape(weight)[1]:
        raise ShapeMismatchError(f"linear: input of shape {tuple(np.shape(x))} and weight of "
                                 f"shape {tuple(np.shape(weight))} (out, in) do not match")
    batch = "abcdefgh"[:np.ndim(x) - 1]
    y = dot_general(x, weight, spec=f"{batch}z,yz->{batch}y")      # no transposed copy
    return y if bias is None else y + bias


def _tuple(v, n, name):
    if isinstance(v, numbers.Integral):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) != n:
        raise InvalidArgumentError(f"{name} needs {n} values, got {v}")
    return v


_INDEX_CACHE = {}


def _im2col_index(spatial, kernel, stride, dilation, out):
    """Flat positions in the padded input (spatial dims raveled) of every kernel offset at every
    output position: an int array (prod(kernel) * prod(out),), row-major over (kernel, out)."""
    key = (spatial, kernel, stride, dilation, out)
    idx = _INDEX_CACHE.get(key)
    if idx is None:
        n = len(kernel)
        coords = [(np.arange(k) * d).reshape((k,) + (1,) * (2 * n - 1)).reshape(
            (1,) * i + (k,) + (1,) * (2 * n - 1 - i)) for i, (k, d) in
            enumerate(zip(kernel, dilation))]
        positions = [(np.arange(o) * st).reshape((1,) * (n + i) + (o,) + (1,) * (n - 1 - i))
                     for i, (o, st) in enumerate(zip(out, stride))]
        multi = [c + p for c, p in zip(coords, positions)]
        idx = np.ravel_multi_index(np.broadcast_arrays(*multi), spatial).reshape(-1)
        if len(_INDEX_CACHE) > 256:
            _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = idx
    return idx


def _patches(x, kernel, stride, padding, dilation, pad_value=0.0):
    """The im2col view of ``x`` (N, C, *spatial): shape (N, C, prod(kernel), *out_spatial),
    entry k holding the input under kernel offset k (row-major over the kernel) for every
    output position. One gather from the padded input, so it is differentiable in every mode
    (its transpose is a scatter-add)."""
    n = len(kernel)
    if np.ndim(x) != n + 2:
        raise ShapeMismatchError(f"expected an input of shape (N, C, {n} spatial dims), got "
                                 f"{tuple(np.shape(x))}")
    spatial = tuple(x.shape[2:])
    if tuple(kernel) == tuple(stride) and not any(padding) and all(d == 1 for d in dilation) \
            and all(s % k == 0 for s, k in zip(spatial, kernel)):
        return _tiles(x, kernel, spatial)
    if any(padding):
        x = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding),
                   constant_values=pad_value)
    spatial = tuple(x.shape[2:])
    out = tuple((s - d * (k - 1) - 1) // st + 1
                for s, k, st, d in zip(spatial, kernel, stride, dilation))
    if any(o <= 0 for o in out):
        raise ShapeMismatchError(f"the kernel {kernel} (dilation {dilation}) is larger than the "
                                 f"padded input {spatial}")
    idx = _im2col_index(spatial, tuple(kernel), tuple(stride), tuple(dilation), out)
    flat = np.reshape(x, tuple(x.shape[:2]) + (-1,))
    cols = flat[:, :, idx]
    return np.reshape(cols, tuple(x.shape[:2]) + (math.prod(kernel),) + out), out


def _tiles(x, kernel, spatial):
    """``_patches`` for windows that tile the input (stride = kernel, no padding): a reshape
    and a transpose, no gather."""
    n = len(kernel)
    out = tuple(s // k for s, k in zip(spatial, kernel))
    split = tuple(x.shape[:2]) + tuple(v for o, k in zip(out, kernel) for v in (o, k))
    perm = (0, 1) + tuple(3 + 2 * i for i in range(n)) + tuple(2 + 2 * i for i in range(n))
    t = np.transpose(np.reshape(x, split), perm)
    return np.reshape(t, tuple(x.shape[:2]) + (math.prod(kernel),) + out), out


def _conv(x, weight, bias, stride, padding, dilation, groups, n):
    kernel = tuple(weight.shape[2:])
    stride, dilation = _tuple(stride, n, "stride"), _tuple(dilation, n, "dilation")
    padding = _tuple(padding, n, "padding")
    c_in, c_out = x.shape[1], weight.shape[0]
    if np.ndim(x) != n + 2:
        raise ShapeMismatchError(f"expected an input of shape (N, C, {n} spatial dims), got "
                                 f"{tuple(np.shape(x))}")
    if c_in != weight.shape[1] * groups or c_out % groups:
        raise ShapeMismatchError(f"conv: input with {c_in} channels, weight of shape "
                                 f"{tuple(weight.shape)} and groups={groups} do not match")
    if any(s + 2 * p < d * (k - 1) + 1 for s, p, k, d in zip(x.shape[2:], padding, kernel,
                                                               dilation)):
        raise ShapeMismatchError(f"the kernel {kernel} (dilation {dilation}) is larger than the "
                                 f"padded input {tuple(x.shape[2:])} (padding {padding})")
    y = conv_op(x, weight, stride=stride, padding=padding, dilation=dilation, groups=groups)
    if bias is not None:
        y = y + np.reshape(bias, (c_out,) + (1,) * n)
    return y


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation as PyTorch's ``conv1d``: x (N, C_in, L), weight (C_out, C_in/groups,
    K), bias (C_out,) -> (N, C_out, L_out)."""
    return _conv(x, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation as PyTorch's ``conv2d``: x (N, C_in, H, W), weight (C_out,
    C_in/groups, KH, KW), bias (C_out,) -> (N, C_out, H_out, W_out)."""
    return _conv(x, weight, bias, stride, padding, dilation, groups, 2)


def _max_pool_tiles(x, kernel, n):
    """``_max_pool`` for windows that tile the input. A Tensor: the flat positions of each
    window's first maximum (found on the values; a NaN counts as the maximum, the last one as
    in PyTorch's CPU kernel) gathered from the flattened input, two recorded operations whose
    transpose is one bincount. Anything else (traced arrays): the input split into (N, C, out_1, k_1, ...) by a
    reshape, a select of the first maximum (a one-hot mask) and a sum over the kernel axes."""
    out = tuple(s // k for s, k in zip(x.shape[2:], kernel))
    split = tuple(x.shape[:2]) + tuple(v for o, k in zip(out, kernel) for v in (o, k))
    k_axes = tuple(3 + 2 * i for i in range(n))
    to_windows = (0, 1) + tuple(2 + 2 * i for i in range(n)) + k_axes
    if isinstance(x, Tensor):
        # the kernel offsets first, each a contiguous block (NumPy is slow on the small
        # strided windows themselves)
        k_first = k_axes + (0, 1) + tuple(2 + 2 * i for i in range(n))
        windows = np.reshape(np.transpose(np.reshape(x.data, split), k_first),
                             (math.prod(kernel), -1))
        best = windows[0].copy()
        first = np.zeros(best.shape, np.intp)
        for j in range(1, len(windows)):       # branch-free: masked copies are slow in NumPy
            cand = windows[j]
            better = (cand > best) | (cand != cand)           # NaN replaces, as in torch
            np.maximum(best, cand, out=best)                  # NaN stays
            np.maximum(first, better * j, out=first)          # j grows: the latest better one
        first = np.reshape(first, tuple(x.shape[:2]) + out)
        corner, shift = _window_places(tuple(x.shape), kernel, out)
        return np.reshape(x, (-1,))[corner + shift[first]]
    v = np.reshape(_constant(x), split)
    windows = np.reshape(np.transpose(v, to_windows), tuple(x.shape[:2]) + out + (-1,))
    first = np.argmax(windows, axis=-1)
    mask = np.reshape(np.expand_dims(first, -1) == np.arange(math.prod(kernel)),
                      tuple(x.shape[:2]) + out + tuple(kernel))
    mask = np.transpose(mask, (0, 1) + tuple(v for i in range(n) for v in (2 + i, 2 + n + i)))
    return np.sum(np.where(mask, np.reshape(x, split), 0.0), axis=k_axes)


_PLACES = {}


def _window_places(shape, kernel, out):
    """For tiling windows of an input of ``shape``: the flat position of each window's first
    element (an int array (N, C, *out)) and the flat offset of each kernel position (row-major
    over the kernel)."""
    key = (shape, kernel)
    places = _PLACES.get(key)
    if places is None:
        strides = np.cumprod((1,) + shape[:0:-1])[::-1]          # flat strides of ``shape``
        grids = np.meshgrid(*[np.arange(s) for s in shape[:2]],
                            *[np.arange(o) * k for o, k in zip(out, kernel)], indexing="ij")
        corner = sum(g * st for g, st in zip(grids, strides))
        shift = np.array([sum(k * st for k, st in zip(ks, strides[2:]))
                          for ks in np.ndindex(*kernel)], dtype=np.intp)
        if len(_PLACES) > 64:
            _PLACES.clear()
        places = _PLACES[key] = (corner.astype(np.intp), shift)
    return places


def _max_pool(x, kernel_size, stride, padding, dilation, n):
    kernel = _tuple(kernel_size, n, "kernel_size")
    stride = kernel if stride is None else _tuple(stride, n, "stride")
    if np.ndim(x) == n + 2 and kernel == stride and not any(_tuple(padding, n, "padding")) \
            and all(d == 1 for d in _tuple(dilation, n, "dilation")) \
            and all(s % k == 0 for s, k in zip(x.shape[2:], kernel)):
        return _max_pool_tiles(x, kernel, n)
    cols, _ = _patches(x, kernel, stride, _tuple(padding, n, "padding"),
                       _tuple(dilation, n, "dilation"), pad_value=-np.inf)
    # the gradient goes to one maximal element per window (the first), as in PyTorch: a
    # constant one-hot mask of the argmax, so the backward pass is a select, not a scatter
    first = np.argmax(_detach(cols), axis=2, keepdims=True)
    k = np.reshape(np.arange(cols.shape[2]), (1, 1, -1) + (1,) * (np.ndim(cols) - 3))
    return np.sum(np.where(first == k, cols, 0.0), axis=2)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1):
    """The largest element of each window: (N, C, L) -> (N, C, L_out)."""
    return _max_pool(x, kernel_size, stride, padding, dilation, 1)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """The largest element of each window: (N, C, H, W) -> (N, C, H_out, W_out); the stride
    defaults to the kernel size."""
    return _max_pool(x, kernel_size, stride, padding, dilation, 2)


def _avg_pool(x, kernel_size, stride, padding, n):
    kernel = _tuple(kernel_size, n, "kernel_size")
    stride = kernel if stride is None else _tuple(stride, n, "stride")
    cols, _ = _patches(x, kernel, stride, _tuple(padding, n, "padding"), (1,) * n)
    return np.mean(cols, axis=2)          # padding counts as zeros (count_include_pad=True)


def avg_pool1d(x, kernel_size, stride=None, padding=0):
    """The mean of each window: (N, C, L) -> (N, C, L_out)."""
    return _avg_pool(x, kernel_size, stride, padding, 1)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """The mean of each window: (N, C, H, W) -> (N, C, H_out, W_out)."""
    return _avg_pool(x, kernel_size, stride, padding, 2)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability ``p`` and scale the others by ``1 / (1 - p)`` (the
    identity when not ``training``). The mask comes from ``chainrule.manual_seed``'s generator."""
    if not 0 <= p <= 1:
        raise InvalidArgumentError(f"dropout probability must lie in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    keep = generator().random(np.shape(x)) >= p
    return x * (keep / (1.0 - p))


def _stat_axes(x):
    return (0,) + tuple(range(2, np.ndim(x)))


def _normalize(x, mean, var, eps):
    """``(x - mean) / sqrt(var + eps)`` for given statistics: ``(x - mean) * (1 / sqrt(var +
    eps))``, so arrays of ``x``'s size see one subtraction and one product."""
    return (x - mean) * (1.0 / np.sqrt(var + eps))


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize over the batch (and spatial) dimensions per channel, x (N, C, ...) -> same.

    ``training``: batch statistics (biased variance), and ``running_mean``/``running_var``
    (arrays, or None) updated in place with ``momentum`` (unbiased variance, as PyTorch);
    otherwise the running statistics are used."""
    axes = _stat_axes(x)
    shape = (1, x.shape[1]) + (1,) * (np.ndim(x) - 2)
    if training:
        y = standardize(x, axes=axes, eps=eps)
        if running_mean is not None:
            count = np.size(x) // x.shape[1]
            m, _, v = batch_stats(_raw(x), axes)
            m, v = np.reshape(m, -1), np.reshape(v, -1)
            # on the arrays (a Tensor buffer gets one in-place assignment each)
            running_mean[...] = (1 - momentum) * _raw(running_mean) + momentum * m
            running_var[...] = (1 - momentum) * _raw(running_var) + momentum * v * count / max(
                count - 1, 1)
    else:
        y = _normalize(x, np.reshape(running_mean, shape), np.reshape(running_var, shape), eps)
    if weight is not None:
        y = y * np.reshape(weight, shape)
    if bias is not None:
        y = y + np.reshape(bias, shape)
    return y


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last ``len(normalized_shape)`` dimensions (biased variance), then
    scale by ``weight`` and shift by ``bias`` (both of ``normalized_shape``)."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    if tuple(x.shape[-len(normalized_shape):]) != normalized_shape:
        raise ShapeMismatchError(f"layer_norm: input of shape {tuple(x.shape)} does not end in "
                                 f"normalized_shape {normalized_shape}")
    nd = np.ndim(x)
    y = standardize(x, axes=tuple(range(nd - len(normalized_shape), nd)), eps=eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def embedding(indices, weight):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``indices`` (any shape):
    shape ``indices.shape + (dim,)``."""
    idx = _raw(indices)
    if idx.dtype.kind not in "iu":
        raise InvalidArgumentError(f"embedding: indices must be integers, got {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= weight.shape[0]):
        raise InvalidArgumentError(f"embedding: an index is outside [0, {weight.shape[0]})")
    return weight[idx]


def one_hot(target, num_classes=-1):
    """Integer ``target`` (any shape) -> integer one-hot of shape ``target.shape + (C,)``."""
    t = _raw(target)
    c = int(t.max()) + 1 if num_classes < 0 else num_classes
    return Tensor(np.eye(c, dtype=np.int64)[t])


# -- losses ---------------------------------------------------------------------------------------
def _reduce(loss, reduction, denominator=None):
    if reduction == "mean":
        return np.mean(loss) if denominator is None else np.sum(loss) / denominator
    if reduction == "sum":
        return np.sum(loss)
    if reduction == "none":
        return loss
    raise InvalidArgumentError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def mse_loss(input, target, reduction="mean"):
    """``(input - target)**2``, averaged (default), summed, or elementwise (``"none"``). The two
    broadcast; a shape mismatch warns, as in PyTorch, since it is usually a bug."""
    if np.shape(input) != np.shape(target):
        warnings.warn(f"mse_loss: the target size {np.shape(target)} is different from the "
                      f"input size {np.shape(input)}; they will be broadcast, which is likely "
                      "wrong. Make them the same shape.", UserWarning, stacklevel=2)
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input, target, reduction="mean"):
    """``|input - target|``, reduced as ``mse_loss``."""
    if np.shape(input) != np.shape(target):
        warnings.warn(f"l1_loss: the target size {np.shape(target)} is different from the "
                      f"input size {np.shape(input)}", UserWarning, stacklevel=2)
    return _reduce(np.abs(input - target), reduction)


def _labels(target, input_shape, fname):
    labels = _raw(target)
    if labels.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{fname}: targets must be integer class indices, got "
                                   f"dtype {labels.dtype}")
    if len(input_shape) < 2 or labels.shape != input_shape[:1] + input_shape[2:]:
        raise ShapeMismatchError(f"{fname}: input of shape {input_shape} (N, C, ...) needs "
                                 f"targets of shape (N, ...), got {labels.shape}")
    return labels


def _pick(logp, labels, ignore):
    """``logp[n, labels[n, ...], ...]`` with ignored positions pointed at class 0."""
    safe = np.where(ignore, 0, labels)
    return np.squeeze(np.take_along_axis(logp, np.expand_dims(safe, 1), axis=1), axis=1)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """The negative log-likelihood ``-input[n, target[n]]`` of log-probabilities ``input``
    (N, C, ...) at integer ``target`` (N, ...), weighted per class by ``weight`` (C,);
    ``"mean"`` divides by the summed weights of the non-ignored targets, as in PyTorch."""
    labels = _labels(target, tuple(np.shape(input)), "nll_loss")
    ignore = labels == ignore_index
    w = np.ones(input.shape[1]) if weight is None else _raw(weight)
    w_t = np.where(ignore, 0.0, w[np.where(ignore, 0, labels)])
    loss = -_pick(input, labels, ignore) * w_t
    return _reduce(loss, reduction, np.sum(w_t))


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """``nll_loss(log_softmax(input, 1), target)`` for integer targets (N, ...), or the
    cross-entropy against class probabilities ``target`` of ``input``'s shape; with
    ``label_smoothing`` eps the target is mixed with the uniform distribution, as in PyTorch.
    ``input``: (N, C, ...) unnormalized scores."""
    if not 0 <= label_smoothing <= 1:
        raise InvalidArgumentError(f"label_smoothing must lie in [0, 1], got {label_smoothing}")
    if weight is None and not label_smoothing and reduction == "mean" and np.ndim(input) == 2 \
            and _raw(target).dtype.kind in "iu":
        labels = _labels(target, tuple(np.shape(input)), "cross_entropy")
        if not (labels == ignore_index).any():
            # the common case: mean(logsumexp(z) - z[n, label_n]), five recorded operations
            picked = input[np.arange(labels.shape[0]), labels]
            return np.sum(logsumexp(input, axes=(1,)) - picked) / labels.shape[0]
    logp = log_softmax(input, 1)
    n_classes = np.shape(input)[1] if np.ndim(input) > 1 else None
    w = None if weight is None else _raw(weight)
    bshape = (1, n_classes) + (1,) * (np.ndim(input) - 2)
    if _raw(target).dtype.kind == "f":                      # class probabilities
        probs = _raw(target)
        if probs.shape != tuple(np.shape(input)):
            raise ShapeMismatchError(f"cross_entropy: probabilities of shape {probs.shape} for "
                                     f"input of shape {tuple(np.shape(input))}")
        if label_smoothing:
            probs = probs * (1 - label_smoothing) + label_smoothing / n_classes
        if w is not None:
            probs = probs * np.reshape(w, bshape)
        loss = -np.sum(logp * probs, axis=1)
        denom = None if reduction != "mean" else np.size(loss)
        return _reduce(loss, reduction, denom)
    labels = _labels(target, tuple(np.shape(input)), "cross_entropy")
    ignore = labels == ignore_index
    w_full = np.ones(n_classes) if w is None else w
    w_t = np.where(ignore, 0.0, w_full[np.where(ignore, 0, labels)])
    nll = -_pick(logp, labels, ignore) * w_t
    if not label_smoothing:
        return _reduce(nll, reduction, np.sum(w_t))
    smooth = -np.sum(logp * np.reshape(w_full, bshape), axis=1) * np.where(ignore, 0.0, 1.0)
    loss = (1 - label_smoothing) * nll + (label_smoothing / n_classes) * smooth
    return _reduce(loss, reduction, np.sum(w_t))


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """``-[pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]`` computed stably from the
    logits ``input`` (any shape) and targets ``target`` in [0, 1] (same shape), times
    ``weight`` (broadcast)."""
    if np.shape(input) != np.shape(target):
        raise ShapeMismatchError(f"binary_cross_entropy_with_logits: target of shape "
                                 f"{np.shape(target)} for input of shape {np.shape(input)}")
    log_sig_neg = np.maximum(-input, 0.0) + np.log1p(np.exp(-np.abs(input)))  # -log sigmoid(x)
    if pos_weight is None:
        loss = (1 - target) * input + log_sig_neg
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * log_sig_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)
