"""Primitives with all their rules, one module per family. Importing this package declares them."""
from ..core import add_any_p
from . import (arithmetic, complex, control, decompositions, elementwise, fft,  # noqa: F401
               linalg, loops, nn, reductions, shape)

# How primitives take part in the NaN-safe products (core/primitive.py ``zero_safety``; the rule
# is in interpreters/transpose.py). Every other primitive is taken to put zeros of its own into
# the cotangents its transpose returns (select, slicing, gathers, loops, custom rules).
for _p in (arithmetic.mul_p, arithmetic.div_p, arithmetic.pow_p, arithmetic.safe_mul_p, arithmetic.safe_div_p,
           arithmetic.neg_p, complex.conj_p, fft.fft_p, fft.rfft_p, fft.irfft_p,
           linalg.dot_general_p, linalg.solve_p, linalg.triangular_solve_p,
           reductions.reduce_sum_p, reductions.cumsum_p, shape.reshape_p, shape.broadcast_to_p,
           shape.transpose_p, shape.copy_p, shape.convert_element_type_p):
    _p.zero_safety = ("no-new-zeros",)
for _p in (arithmetic.add_p, arithmetic.sub_p, add_any_p, shape.concatenate_p):
    _p.zero_safety = ("no-new-zeros", "pass-constants")
del _p
