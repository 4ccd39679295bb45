"""W7: derivatives of order 1..10 of a scalar function of one variable. Nesting first-order AD
k times multiplies the work at every level, so its cost grows exponentially with k; Taylor mode
propagates k coefficients once, at a cost polynomial in k. The table shows both, in each system
that has them, and the summary the growth of cost with order."""
import math

import numpy as np

from . import _harness as h
from ._harness import Impl

ID = "W7"
TITLE = "higher-order derivatives, Taylor mode vs nested AD"
WHAT = "d^k/dx^k of exp(sin(x)) / (1 + x**2) at x = 0.5, k = 1..10, one row per order"
X0 = 0.5
CAP_S = 20.0
NOTES = ["rows of an order whose predicted time (previous order x 4 for nested AD, x (k/(k-1))^2 "
         "for Taylor mode) exceeds the cap are skipped"]


def cases(quick):
    top = 3 if quick else 10
    return [{"label": f"k={k}", "order": k, "cost": 4.0 ** k} for k in range(1, top + 1)]


def taylor_cost(case):
    return case["order"] ** 2


def fun(x, xp):
    return xp.exp(xp.sin(x)) / (1 + x ** 2)


def reference(case):
    """k! times the k-th Taylor coefficient, by truncated power-series arithmetic."""
    k = case["order"]
    n = k + 1
    # sin(x0 + t) = sum_j sin(x0 + j pi/2) t^j / j!
    s = np.array([math.sin(X0 + j * math.pi / 2) / math.factorial(j) for j in range(n)])
    e = np.zeros(n)                       # exp of a series: e_j = (1/j) sum_i i s_i e_{j-i}
    e[0] = math.exp(s[0])
    for j in range(1, n):
        e[j] = sum(i * s[i] * e[j - i] for i in range(1, j + 1)) / j
    d = np.zeros(n)                       # 1 + (x0 + t)^2
    d[0], d[1] = 1 + X0 ** 2, 2 * X0
    if n > 2:
        d[2] = 1.0
    q = np.zeros(n)                       # e / d by long division
    for j in range(n):
        q[j] = (e[j] - sum(q[i] * d[j - i] for i in range(j))) / d[0]
    return q[k] * math.factorial(k), 1e-9, "power series"


# -- rows ----------------------------------------------------------------------------------------
def chainrule_nested(jit):
    def build(case):
        import chainrule
        g = lambda x: fun(x, np)  # noqa: E731
        for _ in range(case["order"]):
            g = chainrule.grad(g)
        g = h.chainrule_feature("jit")(g) if jit else g
        x = np.float64(X0)
        return lambda: g(x)
    return build


def chainrule_taylor(jit):
    def build(case):
        g = h.chainrule_feature("derivative")(lambda x: fun(x, np), case["order"])
        g = h.chainrule_feature("jit")(g) if jit else g
        x = np.float64(X0)
        return lambda: g(x)
    return build


def autograd_nested(case):
    ag, anp = h.autograd()
    g = lambda x: fun(x, anp)  # noqa: E731
    for _ in range(case["order"]):
        g = ag.grad(g)
    return lambda: g(X0)


def torch_nested(case):
    torch = h.torch()
    k = case["order"]

    def call():
        x = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
        y = fun(x, torch)
        for i in range(k):
            (y,) = torch.autograd.grad(y, x, create_graph=i < k - 1)
        return y
    return call


def jax_nested(jit):
    def build(case):
        jax, jnp = h.jax()
        g = lambda x: fun(x, jnp)  # noqa: E731
        for _ in range(case["order"]):
            g = jax.grad(g)
        g = jax.jit(g) if jit else g
        x = jnp.float64(X0)
        return lambda: h.block(g(x))
    return build


def jax_jet(jit):
    def build(case):
        jax, jnp = h.jax()
        from jax.experimental import jet
        k = case["order"]
        unit = (1.0,) + (0.0,) * (k - 1)    # x(t) = x0 + t, coefficients as derivatives

        def kth(x):
            _, terms = jet.jet(lambda x: fun(x, jnp), (x,), (unit,))
            return terms[k - 1]
        kth = jax.jit(kth) if jit else kth
        x = jnp.float64(X0)
        return lambda: h.block(kth(x))
    return build


IMPLS = [
    Impl("chainrule nested grad", chainrule_nested(False), kind="chainrule"),
    Impl("chainrule derivative (Taylor)", chainrule_taylor(False), kind="chainrule",
         cost=taylor_cost),
    Impl("chainrule jit nested grad", chainrule_nested(True), kind="chainrule", compiled=True),
    Impl("chainrule jit derivative (Taylor)", chainrule_taylor(True), kind="chainrule",
         compiled=True, cost=taylor_cost),
    Impl("autograd nested grad", autograd_nested),
    Impl("torch nested autograd.grad", torch_nested),
    Impl("jax nested grad eager", jax_nested(False)),
    Impl("jax nested grad jit", jax_nested(True), compiled=True),
    Impl("jax jet (Taylor) eager", jax_jet(False), cost=taylor_cost),
    Impl("jax jet (Taylor) jit", jax_jet(True), compiled=True, cost=taylor_cost),
]


def summary(cases, rows):
    """Cost growth per system: time at the highest order it ran over time at order 1."""
    lines = []
    for impl in IMPLS:
        mine = [(int(r.case[2:]), r) for r in rows if r.impl == impl.name and r.ok]
        if len(mine) < 2:
            continue
        (k0, r0), (k1, r1) = mine[0], mine[-1]
        total = lambda r: r.time_s + (r.compile_s or 0.0)  # noqa: E731
        lines.append(f"{impl.name}: order {k1} / order {k0}: {r1.time_s / r0.time_s:.0f}x run time"
                     + (f", {total(r1) / total(r0):.0f}x with compile" if impl.compiled else ""))
    return lines
