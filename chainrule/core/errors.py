"""Named errors. Every failure a user can cause gets a class here, so that it can be caught and
so that its message can say what to write instead."""


class ChainruleError(Exception):
    """Base class of every error raised by chainrule."""


class PerturbationConfusionError(ChainruleError):
    """Two differentiations were mixed up: a tracer met an interpreter it does not belong to.

    The usual cause is a tracer that escaped the function being differentiated (stored in a
    global, a list or a closure that outlived the call) and was used in a later, unrelated
    differentiation."""


class EscapedTracerError(PerturbationConfusionError):
    """A tracer was used after the transformation that created it had finished."""


class MissingRuleError(ChainruleError, NotImplementedError):
    """A primitive lacks the rule an interpreter needs (JVP, transpose, Taylor, ...)."""


class ConcretizationError(ChainruleError, TypeError):
    """A traced value was forced into a plain Python or NumPy value, which would lose its derivative."""


class ValueDependentShapeError(ConcretizationError):
    """A function whose result's shape depends on the values of a traced array (a boolean mask
    as an index, nonzero, unique) was called where those values are not known: under vmap
    (they differ from example to example) or jit (they are not known when it traces). The
    message says what to write instead (``size=``, ``np.where(mask, x, 0)``)."""


class UnsupportedFunctionError(ChainruleError, NotImplementedError):
    """A NumPy/SciPy function (or an argument of it) has no chainrule implementation."""


class NonDifferentiableInputError(ChainruleError, TypeError):
    """An input that is differentiated is not of a floating (or complex) dtype."""


class NonScalarOutputError(ChainruleError, TypeError):
    """grad was asked for the gradient of a function whose output is not a scalar."""


class ComplexOutputError(ChainruleError, TypeError):
    """grad was asked for the gradient of a complex-valued output without ``holomorphic=True``
    (the gradient of a complex function is not defined; JAX and autograd refuse it too)."""


class ShapeMismatchError(ChainruleError, ValueError):
    """A tangent, cotangent or argument has a shape or structure that does not fit."""


class GraphTypeError(ChainruleError, TypeError):
    """A staged Graph is not well typed (a bug in a rule or an interpreter, never the user's)."""


class InvalidArgumentError(ChainruleError, ValueError):
    """A transformation was called with arguments that do not fit it (argnums out of range, a
    bad axis, mismatched batch sizes, ...)."""


class CustomRuleError(ChainruleError, ValueError):
    """A user's derivative rule (custom_jvp, custom_vjp, a user primitive) returned something
    that does not fit its function: the wrong structure, shape, dtype or number of results."""


class CustomVJPForwardModeError(CustomRuleError, TypeError):
    """Forward mode (jvp, jacfwd, Taylor mode) reached a custom_vjp function, which has only a
    reverse-mode rule."""


class ConvergenceError(ChainruleError, RuntimeError):
    """A solver inside a differentiable program (root, fixed_point, argmin, linear_solve) did
    not converge: its answer, and so any derivative of it, would be wrong."""


class SingularJacobianError(ChainruleError, ValueError):
    """Implicit differentiation needs the Jacobian of the optimality condition at the solution
    to be invertible, and it is not (the solution is not isolated, or the problem degenerate)."""


class LazyArrayError(ChainruleError, ValueError):
    """A lazy array (a Dask array) met something that cannot stay lazy. Base of the three below."""


class LazyComputeError(LazyArrayError, RuntimeError):
    """A transformation of a function of Dask arrays needed their values (``np.asarray``,
    ``float``, ``bool``, ``.compute()``, or a rule that needs concrete values: sparsity detection,
    value-dependent shapes, a while_loop's trip count, a jit guard) before the user asked for
    them; the derivatives of a Dask array are built lazily and computed only by ``.compute()``."""


class ChunkMismatchError(LazyArrayError):
    """A tangent, cotangent or direction given as a Dask array is chunked differently from the
    array it belongs to (the derivative keeps the primal's chunks; rechunk it explicitly)."""


class UnknownChunksError(LazyArrayError):
    """A Dask array with unknown (nan) chunk sizes, such as the result of boolean indexing, was
    given to a transformation, which needs every shape before anything is computed."""
