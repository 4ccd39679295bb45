"""The PyTorch-style interface: ``Tensor``, ``tensor``, ``no_grad`` and ``autograd``.

Built on the functional API with no derivative rule of its own (see tensor.py for the design)."""
from . import autograd
from .errors import (AutogradError, GraphFreedError, InplaceModificationError, RequiresGradError,
                     UnusedInputError)
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .tensor import Node, Tensor, apply_op, tensor

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "autograd", "Node",
           "apply_op", "AutogradError", "GraphFreedError", "InplaceModificationError",
           "RequiresGradError", "UnusedInputError"]
