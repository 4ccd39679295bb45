"""Activations and losses as modules: ``nn.ReLU()(x)`` is ``nn.functional.relu(x)``,
``nn.CrossEntropyLoss(label_smoothing=0.1)(logits, target)`` is ``cross_entropy(...)``."""
from . import functional as F
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Tanh", "Sigmoid",
           "Softmax", "LogSoftmax", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss",
           "BCEWithLogitsLoss"]


class _Activation(Module):
    _fn = None

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.args, self.kwargs = args, kwargs

    def forward(self, x):
        return type(self)._fn(x, *self.args, **self.kwargs)


class ReLU(_Activation):
    """``relu`` as a module."""
    _fn = staticmethod(F.relu)

    def __init__(self, inplace=False):
        super().__init__()


class LeakyReLU(_Activation):
    _fn = staticmethod(F.leaky_relu)


class ELU(_Activation):
    _fn = staticmethod(F.elu)


class GELU(_Activation):
    _fn = staticmethod(F.gelu)


class SiLU(_Activation):
    _fn = staticmethod(F.silu)


class Softplus(_Activation):
    _fn = staticmethod(F.softplus)


class Tanh(_Activation):
    """``tanh`` as a module."""
    _fn = staticmethod(F.tanh)


class Sigmoid(_Activation):
    """``sigmoid`` as a module."""
    _fn = staticmethod(F.sigmoid)


class Softmax(_Activation):
    _fn = staticmethod(F.softmax)


class LogSoftmax(_Activation):
    _fn = staticmethod(F.log_softmax)


class _Loss(Module):
    def __init__(self, reduction="mean", **kwargs):
        super().__init__()
        self.reduction = reduction
        for k, v in kwargs.items():
            object.__setattr__(self, k, v)


class MSELoss(_Loss):
    """``mse_loss`` as a module: ``MSELoss()(input, target)``."""

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """``cross_entropy`` as a module (class weights, ignore_index, label_smoothing)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction, weight=weight, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_Loss):
    """``nll_loss`` as a module: takes log-probabilities."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction, weight=weight, ignore_index=ignore_index)

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``binary_cross_entropy_with_logits`` as a module."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction, weight=weight, pos_weight=pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)
