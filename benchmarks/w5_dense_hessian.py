"""W5: a dense Hessian, forward-over-reverse: a logistic-type loss on a fixed 300 x 200 matrix
plus a quadratic, n = 200 variables."""
import numpy as np

from . import _harness as h

ID = "W5"
TITLE = "dense Hessian, forward-over-reverse"
WHAT = "hessian of sum(log(1 + exp(A @ x))) + 0.5 * x @ x, A fixed random 300 x 200"


def cases(quick):
    m, n = (7, 5) if quick else (300, 200)
    return [{"label": f"n={n}", "m": m, "n": n}]


def setup(case):
    m, n = case["m"], case["n"]
    A = np.random.default_rng(5).standard_normal((m, n)) / np.sqrt(n)
    return np.random.default_rng(6).standard_normal(n), {"A": A}


def f(x, xp, data):
    return xp.sum(xp.log(1.0 + xp.exp(data["A"] @ x))) + 0.5 * (x @ x)


def reference(case):
    x, data = setup(case)
    A = data["A"]
    s = 1.0 / (1.0 + np.exp(-(A @ x)))
    return (A.T * (s * (1 - s))) @ A + np.eye(case["n"]), 1e-12, "closed form"


IMPLS = h.hessian_impls(f, setup)
