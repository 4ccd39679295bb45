"""The PyTorch-style interface: ``Tensor``, ``tensor``, ``no_grad`` and ``autograd``.

Built on the functional API with no derivative rule of its own (see tensor.py for the design)."""
from . import autograd
from .errors import (AutogradError, GraphFreedError, InplaceModificationError, RequiresGradError,
                     UnusedInputError)
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .tensor import Node, Tensor, apply_op, tensor
from . import functions, random
from .functions import (arange, as_tensor, cat, concat, empty, eye, from_numpy, full,
                        full_like, linspace, load, ones, ones_like, rand, rand_like, randint,
                        randn, randn_like, save, stack, where, zeros, zeros_like)
from .random import manual_seed

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "autograd", "Node",
           "apply_op", "AutogradError", "GraphFreedError", "InplaceModificationError",
           "RequiresGradError", "UnusedInputError", "zeros", "ones", "full", "empty",
           "zeros_like", "ones_like", "full_like", "arange", "linspace", "eye", "rand", "randn",
           "randint", "rand_like", "randn_like", "cat", "concat", "stack", "where", "save",
           "load", "from_numpy", "as_tensor", "manual_seed"]
