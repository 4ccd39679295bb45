"""chainrule.scipy.signal: convolve and correlate against SciPy's values, derivatives by the
shared table (forward and reverse to second order; Taylor, vmap and jit sweeps), and the
plain scipy.signal error pointing here."""
import numpy as np
import pytest
import scipy.signal as ss

import chainrule as cr
from chainrule import ConcretizationError
from chainrule.scipy import signal as cs

from gradcases import case, ids, rand

SHAPES = [((4,), (2,)), ((5,), (3,)), ((2,), (6,)), ((4, 3), (2, 2)), ((5, 4), (4, 1)),
          ((6, 7), (3, 2)), ((2, 3), (4, 5))]

GRAD_CASES = [
    case(f"convolve_{mode}_{len(s1)}d", (lambda m: lambda a, b: cs.convolve(a, b, m))(mode),
         rand(*s1), rand(*s2))
    for s1, s2 in SHAPES[2:4] for mode in ("full", "valid", "same")
] + [case("correlate_same", lambda a, b: cs.correlate(a, b, "same"), rand(5), rand(3))]


@pytest.mark.parametrize("c", GRAD_CASES, ids=ids(GRAD_CASES))
def test_grads(c):
    c.check()


def test_values_match_scipy():
    rng = np.random.default_rng(0)
    for s1, s2 in SHAPES:
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        for mode in ("full", "valid", "same"):
            if mode == "valid" and not (all(x >= y for x, y in zip(s1, s2))
                                        or all(x <= y for x, y in zip(s1, s2))):
                with pytest.raises(ValueError, match="at least as large"):
                    cs.convolve(a, b, mode)
                continue
            for ours, theirs in ((cs.convolve, ss.convolve), (cs.correlate, ss.correlate)):
                want = theirs(a, b, mode)
                np.testing.assert_allclose(ours(a, b, mode), want, rtol=1e-12, atol=1e-14)
                got = cr.jvp(lambda x: ours(x, b, mode), (a,), (np.zeros(s1),))[0]
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    np.testing.assert_allclose(cs.correlate(z, z[:2]), ss.correlate(z, z[:2]), rtol=1e-12)


def test_plain_scipy_signal_points_here():
    with pytest.raises(ConcretizationError, match=r"chainrule\.scipy\.signal"):
        cr.grad(lambda x: np.sum(ss.convolve(x, np.ones(2))))(np.ones(3))
