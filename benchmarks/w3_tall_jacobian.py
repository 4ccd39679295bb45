"""W3: a tall Jacobian, f: R^4 -> R^m. Four input directions against m output directions, so
forward mode should win by a wide margin, and ``jacobian(mode="auto")`` should choose it."""
import numpy as np

from . import _harness as h

ID = "W3"
TITLE = "tall Jacobian R^4 -> R^m, forward mode wins"
WHAT = ("jacobian of f(p)[i] = p0*sin(p1*t_i) + p2*exp(-p3*t_i), t = linspace(0, 10, m); "
        "'chose' is the mode chainrule's auto picked")
NOTES = ["peers run in the winning mode, and JAX jit also in the reverse mode; the other peers' "
         "reverse Jacobians took seconds each and would push the full run past 10 minutes",
         "chainrule rev is one sweep whose unit seeds stay one-hot terms; 'loop of vjps' "
         "is the Python loop of single sweeps it replaces (one linearization, then a sweep per "
         "output element)"]
P0 = np.array([1.5, 2.0, 0.7, 0.3])


def cases(quick):
    m = 20 if quick else 10_000
    return [{"label": f"m={m}", "m": m}]


def setup(case):
    return P0.copy(), {"t": np.linspace(0.0, 10.0, case["m"])}


def f(p, xp, data):
    t = data["t"]
    return p[0] * xp.sin(p[1] * t) + p[2] * xp.exp(-p[3] * t)


def reference(case):
    (a, b, c, d), t = P0, setup(case)[1]["t"]
    J = np.stack([np.sin(b * t), a * t * np.cos(b * t), np.exp(-d * t), -c * t * np.exp(-d * t)],
                 axis=1)
    return J, 1e-12, "closed form"


IMPLS = h.jacobian_impls(f, setup, peer_modes=("fwd",), wrong_mode="rev")
