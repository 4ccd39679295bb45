"""Grad mode: whether operations on Tensors are recorded (``no_grad``, ``enable_grad``).

The flag is a context variable, so threads and asyncio tasks each have their own."""
import contextvars
import functools

__all__ = ["no_grad", "enable_grad", "is_grad_enabled"]

_grad_enabled = contextvars.ContextVar("chainrule_grad_enabled", default=True)


def is_grad_enabled():
    """True unless inside ``no_grad()``: whether operations on Tensors are being recorded."""
    return _grad_enabled.get()


class _GradMode:
    _enabled = True

    def __init__(self):
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_grad_enabled.set(self._enabled))
        return self

    def __exit__(self, *exc):
        _grad_enabled.reset(self._tokens.pop())
        return False

    def __call__(self, fun):
        @functools.wraps(fun)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fun(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Context manager (or decorator) inside which operations on Tensors record nothing: their
    results do not require grad. Use it for parameter updates and for evaluation."""
    _enabled = False


class enable_grad(_GradMode):
    """Context manager (or decorator) that turns recording back on inside ``no_grad()``."""
    _enabled = True
