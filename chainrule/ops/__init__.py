"""Primitives with all their rules, one module per family. Importing this package declares them."""
from . import arithmetic, complex, control, elementwise, fft, linalg, reductions, shape  # noqa: F401
