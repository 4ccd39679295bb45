"""The layers: ``Linear``, ``Conv1d``, ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Dropout``,
``BatchNorm1d``/``2d``, ``LayerNorm``, ``Embedding``, ``Flatten``, ``Identity``.

Each ``forward`` is the function of the same name in ``nn.functional`` on its parameters, so the
derivatives are chainrule's primitives'. Parameters start as PyTorch initializes them (uniform in
``+-1/sqrt(fan_in)`` for Linear and convolutions), drawn from ``chainrule.manual_seed``'s
generator, or from ``rng`` (a NumPy Generator or a seed) where given.
"""
import math
import numbers

import numpy as np

from ..core.errors import InvalidArgumentError
from ..tensor import Tensor
from ..tensor.random import generator
from . import functional as F
from .module import Module, Parameter

__all__ = ["Linear", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
           "Dropout", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding", "Flatten",
           "Identity"]


def _rng(rng):
    if rng is None:
        return generator()
    if isinstance(rng, numbers.Integral):
        return np.random.default_rng(rng)
    return rng


def _uniform(rng, bound, shape):
    return Parameter(rng.uniform(-bound, bound, shape))


class Identity(Module):
    def forward(self, x):
        return x


class Linear(Module):
    """``y = x @ weight.T + bias``: x (..., in_features) -> y (..., out_features); weight
    (out_features, in_features) and bias (out_features,) uniform in ``+-1/sqrt(in_features)``."""

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype=np.float64):
        super().__init__()
        rng = _rng(rng)
        bound = 1.0 / math.sqrt(in_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = _uniform(rng, bound, (out_features, in_features))
        self.bias = _uniform(rng, bound, (out_features,)) if bias else None
        self.to(dtype)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class _ConvNd(Module):
    _n = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, rng=None):
        super().__init__()
        n = self._n
        if in_channels % groups or out_channels % groups:
            raise InvalidArgumentError("in_channels and out_channels must be divisible by groups")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = F._tuple(kernel_size, n, "kernel_size")
        self.stride, self.padding = F._tuple(stride, n, "stride"), F._tuple(padding, n, "padding")
        self.dilation = F._tuple(dilation, n, "dilation")
        rng = _rng(rng)
        fan_in = in_channels // groups * int(np.prod(self.kernel_size))
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = _uniform(rng, bound, (out_channels, in_channels // groups)
                               + self.kernel_size)
        self.bias = _uniform(rng, bound, (out_channels,)) if bias else None

    def forward(self, x):
        return F._conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                       self.groups, self._n)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class Conv1d(_ConvNd):
    """1-D cross-correlation layer: (N, C_in, L) -> (N, C_out, L_out)."""
    _n = 1


class Conv2d(_ConvNd):
    """2-D cross-correlation layer: (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
    _n = 2


class _Pool(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation = dilation

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(_Pool):
    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class MaxPool2d(_Pool):
    """Window maxima: (N, C, H, W) -> (N, C, H_out, W_out); the stride defaults to the kernel."""

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool1d(_Pool):
    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool):
    """Window means: (N, C, H, W) -> (N, C, H_out, W_out)."""

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Dropout(Module):
    """Zero elements with probability ``p`` in training mode (scaling the rest by 1/(1-p)); the
    identity in eval mode."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise InvalidArgumentError(f"dropout probability must lie in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class _BatchNorm(Module):
    _ndims = (2, 3)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features))
            self.bias = Parameter(np.zeros(num_features))
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features)))
            self.register_buffer("running_var", Tensor(np.ones(num_features)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0)))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise InvalidArgumentError(
                f"{type(self).__name__}({self.num_features}) expects input of "
                f"{' or '.join(map(str, self._ndims))} dimensions with {self.num_features} "
                f"channels in dimension 1, got shape {tuple(x.shape)}")
        use_batch = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            self.num_batches_tracked[...] = self.num_batches_tracked.data + 1
        update = self.training and self.track_running_stats
        return F.batch_norm(x, self.running_mean if update or not use_batch else None,
                            self.running_var if update or not use_batch else None,
                            self.weight, self.bias, use_batch, self.momentum, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs per channel."""
    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs per channel."""
    _ndims = (4,)


class LayerNorm(Module):
    """Normalization over the trailing ``normalized_shape`` dimensions, with an elementwise
    scale (ones) and shift (zeros)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape))
            self.bias = Parameter(np.zeros(self.normalized_shape))
        else:
            self.weight = self.bias = None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class Embedding(Module):
    """A lookup table: integer indices (any shape) -> rows of ``weight`` (num_embeddings,
    embedding_dim), which starts standard normal; the row ``padding_idx`` starts at zero and
    gets no gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, rng=None):
        super().__init__()
        w = _rng(rng).standard_normal((num_embeddings, embedding_dim))
        if padding_idx is not None:
            padding_idx %= num_embeddings
            w[padding_idx] = 0.0
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(w)

    def forward(self, indices):
        out = F.embedding(indices, self.weight)
        if self.padding_idx is None:
            return out
        pad = np.expand_dims(np.asarray(F._raw(indices)) == self.padding_idx, -1)
        return np.where(pad, out.detach() if isinstance(out, Tensor) else out, out)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Flatten(Module):
    """Dimensions ``start_dim..end_dim`` merged (default: all but the batch dimension)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)
