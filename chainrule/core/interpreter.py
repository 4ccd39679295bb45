"""Interpreters and their nesting.

Every transformation (JVP, staging, batching, ...) is an Interpreter subclass with two methods:

    lift(x)                           -> a tracer of this interpreter for a value that is not
                                         one (a constant from this interpreter's point of view)
    process_primitive(prim, args, params) -> the result of applying ``prim`` to ``args``, which
                                         contain at least one of this interpreter's tracers

Interpreters nest. Each one gets a ``level`` when it is entered (``new_interpreter``), one more
than the innermost active one, and ``bind`` hands a call to the highest-level interpreter among
its arguments' tracers. Everything of a lower level, tracers of enclosing transformations
included, is a constant to it: that is what makes nested derivatives of closures correct (no
perturbation confusion). The identity of the interpreter, not just its level, tags a tracer: a
tracer of the same level but another interpreter (one that escaped an earlier transformation)
is an error, never silently mixed in.
"""
import contextlib
import contextvars

from .errors import ConcretizationError, PerturbationConfusionError
from .tracer import Tracer

_depth = contextvars.ContextVar("chainrule_interpreter_depth", default=0)


class Interpreter:
    __slots__ = ("level", "active")

    def __init__(self, level):
        self.level = level
        self.active = True

    def lift(self, x):
        raise NotImplementedError

    def process_primitive(self, prim, args, params):
        raise NotImplementedError

    def owns(self, x):
        """True if ``x`` is a tracer of this interpreter; False if it is a constant to it.
        Raises PerturbationConfusionError for a tracer of another interpreter that is not
        enclosing this one."""
        if isinstance(x, Tracer):
            other = x._interp
            if other is self:
                return True
            if other.level >= self.level:
                raise PerturbationConfusionError(
                    f"a tracer of {type(other).__name__} (level {other.level}) met "
                    f"{type(self).__name__} (level {self.level}) that did not enclose it; a "
                    "value from one differentiation leaked into another")
        return False

    def __repr__(self):
        return f"{type(self).__name__}(level={self.level})"


@contextlib.contextmanager
def new_interpreter(cls, *args, **kwargs):
    """Enter a new interpreter, one level above the innermost active one. On exit it is marked
    inactive: a tracer of it that escapes raises EscapedTracerError when used."""
    level = _depth.get()
    token = _depth.set(level + 1)
    interp = cls(level, *args, **kwargs)
    try:
        yield interp
    except ValueError as e:
        # ``buf[i] = tracer`` on a plain ndarray: NumPy calls float(tracer), which refuses, and
        # reports it as "setting an array element with a sequence"; say what happened instead
        if isinstance(e.__cause__, ConcretizationError):
            raise ConcretizationError(
                "a traced value was written into a plain NumPy array (buf[i] = v), which cannot "
                "hold it (its derivative would be lost); create the array with np.zeros_like(x) "
                "or np.zeros(shape, like=x) instead") from e
        raise
    finally:
        interp.active = False
        _depth.reset(token)
