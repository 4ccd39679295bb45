"""Named errors of the Tensor interface. Each says what to write instead.

The errors PyTorch users expect where they expect them: a second backward through a freed graph,
an in-place change of a value that backward needs, backward of something that does not require
grad. A non-scalar ``backward()`` without ``gradient`` raises the core's NonScalarOutputError and a
gradient of the wrong shape its ShapeMismatchError.
"""
from ..core.errors import ChainruleError


class AutogradError(ChainruleError, RuntimeError):
    """Base class of the errors raised by the Tensor interface's backward pass."""


class GraphFreedError(AutogradError):
    """A backward pass reached a part of the graph that an earlier backward pass freed
    (``retain_graph=False``, the default unless ``create_graph=True``)."""


class InplaceModificationError(AutogradError):
    """A Tensor was modified in place where that would make a derivative wrong: a leaf that
    requires grad outside ``no_grad()``, a Tensor that is part of a graph, or a Tensor that a
    recorded operation read and that backward needs again (detected by its version counter)."""


class RequiresGradError(AutogradError):
    """Differentiation was asked of a Tensor that does not require grad (and has no grad_fn)."""


class UnusedInputError(AutogradError):
    """``autograd.grad`` was asked for the gradient of an input that the outputs do not depend
    on; pass ``allow_unused=True`` to get None for it."""
