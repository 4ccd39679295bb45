"""Primitives with all their rules, one module per family. Importing this package declares them."""
from . import (arithmetic, complex, control, decompositions, elementwise, fft,  # noqa: F401
               linalg, loops, reductions, shape)
