"""``scipy.signal.convolve`` and ``correlate`` for traced arrays (SciPy's convert their inputs
with ``np.asarray``): N-dimensional, modes ``full``, ``valid`` and ``same``, differentiable in
both inputs in every mode. Written with NumPy functions on the traced arrays: the full
convolution is a sum of shifted copies of the larger input, one per element of the smaller
(``method`` is accepted and ignored), so it suits kernels of up to a few hundred elements."""
import numpy as np

__all__ = ["convolve", "correlate"]


def _full(a, b):
    """The full convolution of two arrays of one number of dimensions."""
    if np.size(a) < np.size(b):
        a, b = b, a
    sb = np.shape(b)
    out = None
    for k in np.ndindex(*sb):
        term = np.pad(a * b[k], [(ki, nb - 1 - ki) for ki, nb in zip(k, sb)])
        out = term if out is None else out + term
    return out


def convolve(in1, in2, mode="full", method="auto"):
    """``in1`` and ``in2`` of the same number of dimensions -> their convolution: shape
    ``s1 + s2 - 1`` (full), ``|s1 - s2| + 1`` (valid: one input at least as large as the
    other along every axis) or ``s1`` (same, centered as SciPy)."""
    s1, s2 = np.shape(in1), np.shape(in2)
    if len(s1) != len(s2):
        raise ValueError("in1 and in2 should have the same dimensionality")
    if mode not in ("full", "valid", "same"):
        raise ValueError("acceptable mode flags are 'valid', 'same', or 'full'")
    if 0 in s1 or 0 in s2:
        return np.zeros([0] * len(s1))
    full = _full(in1, in2)
    if mode == "full":
        return full
    if mode == "valid":
        if not (all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))):
            raise ValueError("for 'valid' mode, one must be at least as large as the other in "
                             "every dimension")
        shape = [abs(a - b) + 1 for a, b in zip(s1, s2)]
    else:
        shape = list(s1)
    start = [(f - n) // 2 for f, n in zip(np.shape(full), shape)]
    return full[tuple(slice(st, st + n) for st, n in zip(start, shape))]


def correlate(in1, in2, mode="full", method="auto"):
    """The cross-correlation: ``convolve(in1, conj(in2) reversed along every axis, mode)``."""
    flipped = np.conj(in2)[tuple(slice(None, None, -1) for _ in np.shape(in2))]
    return convolve(in1, flipped, mode, method)
