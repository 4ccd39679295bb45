"""W4: a wide Jacobian, f: R^n -> R^4. Four output directions against n input directions, so
reverse mode should win by a wide margin, and ``jacobian(mode="auto")`` should choose it."""
import numpy as np

from . import _harness as h

ID = "W4"
TITLE = "wide Jacobian R^n -> R^4, reverse mode wins"
WHAT = ("jacobian of [sum(sin(x)), sum(x**2), sum(exp(-x)), sum(x[:-1]*x[1:])]; "
        "'chose' is the mode chainrule's auto picked")
NOTES = ["peers run in the winning mode, and JAX jit also in the forward mode; the other peers' "
         "forward Jacobians took seconds each and would push the full run past 10 minutes",
         "chainrule fwd is one sweep whose unit seeds stay one-hot terms; 'loop of jvps' "
         "is the Python loop of single sweeps it replaces (one linearization, then a sweep per "
         "input element)"]


def cases(quick):
    n = 20 if quick else 10_000
    return [{"label": f"n={n}", "n": n}]


def setup(case):
    n = case["n"]
    return np.linspace(-1.0, 1.0, n) + 0.05 * np.cos(np.arange(n)), {}


def f(x, xp, data):
    return xp.stack([xp.sum(xp.sin(x)), xp.sum(x ** 2), xp.sum(xp.exp(-x)),
                     xp.sum(x[:-1] * x[1:])])


def reference(case):
    x = setup(case)[0]
    neighbours = np.zeros_like(x)
    neighbours[:-1] += x[1:]
    neighbours[1:] += x[:-1]
    return np.stack([np.cos(x), 2 * x, -np.exp(-x), neighbours]), 1e-12, "closed form"


IMPLS = h.jacobian_impls(f, setup, peer_modes=("rev",), wrong_mode="fwd")
