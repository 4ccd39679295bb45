"""chainrule: automatic differentiation for Python and NumPy.

    import numpy as np
    import chainrule as cr

    def f(x):
        return x**3 + 2*x**2 + x
    cr.grad(f)(2.0)             # 21.0
    cr.grad(cr.grad(f))(2.0)    # 16.0
"""
from . import numpy  # noqa: F401  (installs the NumPy protocol handlers)
from .api import (grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, linearize, stop_gradient,
                  value_and_grad, vjp, vmap, jet, taylor, derivative, derivatives)
from .core.errors import (ChainruleError, ConcretizationError, EscapedTracerError,
                          InvalidArgumentError, MissingRuleError, NonDifferentiableInputError,
                          NonScalarOutputError, PerturbationConfusionError, ShapeMismatchError,
                          UnsupportedFunctionError)
from .core.errors import ComplexOutputError, ValueDependentShapeError
from .core.tree import register_dataclass, register_pytree_node, tree_flatten, tree_unflatten
from .interpreters.staging import make_graph
from .tensor import Tensor, autograd, no_grad, tensor
from .tensor import (enable_grad, is_grad_enabled, zeros, ones, full, arange, linspace, rand,
                     randn, randint, manual_seed, cat, stack, where, save, load)
import sys as _sys
_sys.modules[__name__ + ".autograd"] = autograd     # import chainrule.autograd, as in PyTorch
from . import nn, optim  # the PyTorch-style interface, on top of the above
from .jit import jit, show_code
from .loops import LoopError, checkpoint, cond, fori_loop, remat, scan, switch, while_loop
from .custom import UserPrimitive, custom_jvp, custom_vjp, primitive, pure_callback
from .core import ShapedArray, Zero
from .core.zeros import UndefPrimal
from .implicit import argmin, fixed_point, linear_solve, root
from .core.errors import (ConvergenceError, CustomRuleError, CustomVJPForwardModeError,
                          SingularJacobianError)
from . import sparse  # noqa: F401  (pattern detection, coloring, sparse Jacobians/Hessians)
from .sparse import (hessian_sparsity, jacobian_sparsity, prepare_sparse_hessian,
                     prepare_sparse_jacobian, sparse_hessian, sparse_jacobian)

__version__ = "0.1.0"


def __getattr__(name):
    # chainrule.optimize and chainrule.integrate import SciPy's solvers: loaded on first use
    if name in ("optimize", "integrate"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["grad", "value_and_grad", "jvp", "vjp", "linearize", "jacfwd", "jacrev", "jacobian",
           "hessian", "hvp", "vmap", "jet", "taylor", "derivative", "derivatives", "stop_gradient",
           "make_graph", "jit", "show_code", "register_dataclass",
           "register_pytree_node", "tree_flatten", "tree_unflatten", "ChainruleError",
           "ConcretizationError", "EscapedTracerError", "InvalidArgumentError",
           "MissingRuleError", "NonDifferentiableInputError", "NonScalarOutputError",
           "PerturbationConfusionError", "ShapeMismatchError", "UnsupportedFunctionError",
           "ValueDependentShapeError",
           "Tensor", "tensor", "no_grad", "autograd", "nn", "optim", "sparse",
           "jacobian_sparsity", "hessian_sparsity", "sparse_jacobian", "sparse_hessian",
           "prepare_sparse_jacobian", "prepare_sparse_hessian", "scan", "fori_loop", "while_loop",
           "cond", "switch", "checkpoint", "remat", "LoopError",
           "custom_jvp", "custom_vjp", "pure_callback", "primitive", "UserPrimitive",
           "ShapedArray", "Zero", "UndefPrimal", "linear_solve", "root", "fixed_point",
           "argmin", "CustomRuleError",
           "CustomVJPForwardModeError", "ConvergenceError", "SingularJacobianError", "enable_grad",
           "is_grad_enabled", "zeros", "ones", "full", "arange", "linspace", "rand", "randn",
           "randint", "manual_seed", "cat", "stack", "where", "save", "load"]
__all__ += ["ComplexOutputError"]
# Dask arrays (core/arrays.py): what cannot stay lazy gets one of these
from .core.errors import ChunkMismatchError, LazyArrayError, LazyComputeError, UnknownChunksError
__all__ += ["LazyArrayError", "LazyComputeError", "ChunkMismatchError", "UnknownChunksError"]
