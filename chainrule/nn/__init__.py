"""``chainrule.nn``: PyTorch's neural-network building blocks on chainrule Tensors.

``Module`` (parameters, buffers, ``state_dict``, ``train``/``eval``), containers, layers
(``Linear``, ``Conv1d``/``Conv2d``, pools, ``Dropout``, ``BatchNorm1d``/``2d``, ``LayerNorm``,
``Embedding``), activations and losses, ``nn.functional`` and ``nn.init``. Everything is a
composition of NumPy functions, so every derivative comes from chainrule's primitives; the
functional forms also take plain arrays and the traced arrays of ``chainrule.grad``.
"""
from . import functional, init
from .functional import (cross_entropy, log_softmax, mse_loss, relu, sigmoid, softmax,
                         tanh)
from .layers import (AvgPool1d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Dropout,
                     Embedding, Flatten, Identity, LayerNorm, Linear, MaxPool1d, MaxPool2d)
from .losses import (BCEWithLogitsLoss, CrossEntropyLoss, ELU, GELU, L1Loss, LeakyReLU,
                     LogSoftmax, MSELoss, NLLLoss, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh)
from .module import Module, ModuleList, Parameter, Sequential

__all__ = ["functional", "init", "Parameter", "Module", "Sequential", "ModuleList", "Linear",
           "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "Dropout",
           "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding", "Flatten", "Identity",
           "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Tanh", "Sigmoid", "Softmax",
           "LogSoftmax", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss",
           "BCEWithLogitsLoss", "relu", "tanh", "sigmoid", "softmax", "log_softmax",
           "cross_entropy", "mse_loss"]
