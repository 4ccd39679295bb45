"""Small neural-network building blocks on chainrule Tensors.

``Module`` (parameters, zero_grad), ``Linear``, ``Sequential``, the activations ``ReLU``, ``Tanh``,
``Sigmoid`` and the losses ``CrossEntropyLoss``, ``MSELoss``, with their functional forms
(``relu``, ``tanh``, ``sigmoid``, ``log_softmax``, ``softmax``, ``cross_entropy``, ``mse_loss``).

Everything here is a composition of NumPy functions, so every derivative comes from chainrule's
primitives. The functional forms take Tensors, plain arrays, or the traced arrays of
``chainrule.grad``, so a loss written once serves both interfaces.
"""
import numbers

import numpy as np

from .api import stop_gradient
from .core.errors import InvalidArgumentError, ShapeMismatchError
from .tensor import Tensor, tensor

__all__ = ["Module", "Linear", "Sequential", "ReLU", "Tanh", "Sigmoid", "CrossEntropyLoss",
           "MSELoss", "relu", "tanh", "sigmoid", "log_softmax", "softmax", "cross_entropy",
           "mse_loss"]


# -- functions ----------------------------------------------------------------------------------
def _detach(x):
    return x.detach() if isinstance(x, Tensor) else stop_gradient(x)


def relu(x):
    """``max(x, 0)`` elementwise (any shape), with derivative 0 at 0."""
    return np.where(x > 0, x, 0.0)


def tanh(x):
    """``tanh(x)`` elementwise (any shape)."""
    return np.tanh(x)


def sigmoid(x):
    """``1 / (1 + exp(-x))`` elementwise (any shape), computed stably as (tanh(x/2) + 1) / 2."""
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def log_softmax(x, axis=-1):
    """``x - log(sum(exp(x), axis))``: same shape as ``x``; stable for large entries."""
    z = x - _detach(np.max(x, axis=axis, keepdims=True))   # the shift does not change the value
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis)``: same shape as ``x``."""
    return np.exp(log_softmax(x, axis=axis))


def _labels(target):
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target.dtype.kind not in "iu":
        raise InvalidArgumentError(f"cross_entropy: targets must be integer class indices, "
                                   f"got dtype {target.dtype}")
    return target


def _reduce(loss, reduction):
    if reduction == "mean":
        return np.mean(loss)
    if reduction == "sum":
        return np.sum(loss)
    if reduction == "none":
        return loss
    raise InvalidArgumentError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def cross_entropy(logits, target, reduction="mean"):
    """The negative log-likelihood of the classes ``target`` under ``softmax(logits)``.

    ``logits``: (n, classes) unnormalized scores; ``target``: (n,) integer class indices.
    Returns a scalar (``reduction="mean"`` or ``"sum"``) or shape (n,) (``"none"``)."""
    labels = _labels(target)
    shape = np.shape(logits)
    if len(shape) != 2 or labels.shape != shape[:1]:
        raise ShapeMismatchError(f"cross_entropy: logits of shape {shape} (n, classes) need "
                                 f"targets of shape ({shape[0] if shape else '?'},), got "
                                 f"{labels.shape}")
    logp = log_softmax(logits, axis=1)
    return _reduce(-logp[np.arange(shape[0]), labels], reduction)


def mse_loss(prediction, target, reduction="mean"):
    """``(prediction - target)**2``, averaged (default), summed, or elementwise (``"none"``);
    the two arguments broadcast."""
    return _reduce((prediction - target) ** 2, reduction)


# -- modules ------------------------------------------------------------------------------------
class Module:
    """Base class: a callable holding parameters (Tensors that require grad) and sub-modules as
    attributes, found in attribute order by ``parameters()``. Subclasses define ``forward``."""

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def named_parameters(self, prefix=""):
        """``[(dotted name, Tensor)]`` of the parameters of this module and its sub-modules,
        each once."""
        out, seen = [], set()

        def visit(obj, name):
            if isinstance(obj, Tensor):
                if obj.requires_grad and id(obj) not in seen:
                    seen.add(id(obj))
                    out.append((name, obj))
            elif isinstance(obj, Module):
                for key, value in vars(obj).items():
                    visit(value, f"{name}.{key}" if name else key)
            elif isinstance(obj, (list, tuple)):
                for i, value in enumerate(obj):
                    visit(value, f"{name}.{i}" if name else str(i))
        visit(self, prefix)
        return out

    def parameters(self):
        """The parameters (leaf Tensors that require grad), in attribute order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self, set_to_none=True):
        """Forget accumulated gradients: ``p.grad = None`` (default) or zero them."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.zero_()

    def __repr__(self):
        return f"{type(self).__name__}()"


def _rng(rng):
    if rng is None or isinstance(rng, numbers.Integral):
        return np.random.default_rng(rng)
    return rng


class Linear(Module):
    """``y = x @ weight.T + bias``: x (..., in_features) -> y (..., out_features).

    ``weight`` (out_features, in_features) and ``bias`` (out_features,) start uniform in
    ``+-1/sqrt(in_features)``; ``rng`` is a NumPy Generator or a seed, for reproducible runs."""

    def __init__(self, in_features, out_features, bias=True, rng=None):
        rng = _rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = tensor(rng.uniform(-bound, bound, (out_features, in_features)),
                             requires_grad=True)
        self.bias = (tensor(rng.uniform(-bound, bound, (out_features,)), requires_grad=True)
                     if bias else None)

    def forward(self, x):
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def __repr__(self):
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


class Sequential(Module):
    """Modules (or functions) applied in order: ``Sequential(f, g)(x) == g(f(x))``."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


class ReLU(Module):
    """``relu`` as a module."""

    def forward(self, x):
        return relu(x)


class Tanh(Module):
    """``tanh`` as a module."""

    def forward(self, x):
        return tanh(x)


class Sigmoid(Module):
    """``sigmoid`` as a module."""

    def forward(self, x):
        return sigmoid(x)


class CrossEntropyLoss(Module):
    """``cross_entropy`` as a module: ``CrossEntropyLoss()(logits, target)``."""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, logits, target):
        return cross_entropy(logits, target, self.reduction)


class MSELoss(Module):
    """``mse_loss`` as a module: ``MSELoss()(prediction, target)``."""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, prediction, target):
        return mse_loss(prediction, target, self.reduction)
