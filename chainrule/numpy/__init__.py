"""``import chainrule.numpy as cnp``: NumPy's functions, differentiable.

Plain ``import numpy as np`` code is differentiated through the NumPy protocols; this namespace
offers the same functions for what the protocols cannot reach (``cnp.array([t0, t1])``) and for
code that wants to say so. ``supported()`` lists every NumPy name chainrule handles.
"""
from ._dispatch import exported as _exported
from . import _funcs  # noqa: F401  (registers the handlers)
from . import fft, linalg  # noqa: F401  (numpy.fft, numpy.linalg, complex numbers)
from . import _extra  # noqa: F401  (nan_to_num, partition, r_, c_, vectorize, ...)
from . import _sized  # noqa: F401  (nonzero, unique, ...: shapes that depend on values)
from ._funcs import normalize_axes  # noqa: F401

globals().update(_exported)


def supported():
    """Sorted names of the NumPy functions and ufuncs chainrule differentiates."""
    return sorted(_exported)
