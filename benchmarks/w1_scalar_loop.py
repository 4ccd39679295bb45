"""W1: the scalar loop. K steps of ``x = sin(x) * 0.999 + 0.01 * x * x`` on a 0-d input,
reverse-mode gradient. Every primitive acts on one number, so the time is the per-operation
overhead of each system's eager tracing (or, compiled, of its generated code)."""
import numpy as np

from . import _harness as h
from ._harness import Impl

ID = "W1"
TITLE = "scalar loop, per-operation overhead"
WHAT = ("grad of K steps of x = sin(x) * 0.999 + 0.01 * x * x at x = 0.3 (0-d float64); "
        "5 primitives per step")
OPS_PER_STEP = 5       # sin, mul, mul, mul, add
X0 = 0.3
CAP_S = 120.0


def cases(quick):
    return [{"label": "K=20" if quick else "K=1000", "K": 20 if quick else 1000}]


def loop(x, K, sin):
    for _ in range(K):
        x = sin(x) * 0.999 + 0.01 * x * x
    return x


def reference(case):
    """dx_K/dx_0 as the product of the step derivatives cos(x) * 0.999 + 0.02 * x."""
    x, d = X0, 1.0
    for _ in range(case["K"]):
        d *= np.cos(x) * 0.999 + 0.02 * x
        x = np.sin(x) * 0.999 + 0.01 * x * x
    return d, 1e-10, "closed form"


# -- rows ----------------------------------------------------------------------------------------
def numpy_f(case):
    x0 = np.float64(X0)
    return lambda: loop(x0, case["K"], np.sin)


def chainrule_grad(case):
    import chainrule
    g = chainrule.grad(lambda x: loop(x, case["K"], np.sin))
    x0 = np.float64(X0)
    return lambda: g(x0)


def chainrule_jit(case):
    import chainrule
    g = h.chainrule_feature("jit")(chainrule.grad(lambda x: loop(x, case["K"], np.sin)))
    x0 = np.float64(X0)
    return lambda: g(x0)


def chainrule_numba_fori(case):
    """The loop as ``fori_loop`` (one compiled body) under ``jit(backend="numba")``: Numba
    compiles the unrolled K-step program too, but in minutes for K = 1000."""
    import chainrule

    def f(x):
        return chainrule.fori_loop(0, case["K"], lambda i, x: loop(x, 1, np.sin), x)
    g = h.chainrule_numba(chainrule.grad(f))
    x0 = np.float64(X0)
    return lambda: g(x0)


def chainrule_tensor(case):
    call = h.chainrule_tensor_grad(lambda x: loop(x, case["K"], np.sin), [np.float64(X0)])
    return lambda: call()[1]


def autograd_grad(case):
    ag, anp = h.autograd()
    g = ag.grad(lambda x: loop(x, case["K"], anp.sin))
    return lambda: g(X0)


def torch_eager(case):
    torch = h.torch()

    def call():
        x = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
        loop(x, case["K"], torch.sin).backward()
        return x.grad
    return call


def torch_func(case):
    torch = h.torch()
    g = torch.func.grad(lambda x: loop(x, case["K"], torch.sin))
    x0 = torch.tensor(X0, dtype=torch.float64)
    return lambda: g(x0)


def jax_grad(jit):
    def build(case):
        jax, jnp = h.jax()
        g = jax.grad(lambda x: loop(x, case["K"], jnp.sin))
        g = jax.jit(g) if jit else g
        x0 = jnp.float64(X0)
        return lambda: h.block(g(x0))
    return build


IMPLS = [
    Impl("numpy f (no derivative)", numpy_f, kind="function"),
    Impl("chainrule", chainrule_grad, kind="chainrule"),
    Impl("chainrule Tensor", chainrule_tensor, kind="chainrule"),
    Impl("chainrule jit", chainrule_jit, kind="chainrule", compiled=True),
    Impl("chainrule jit numba (fori_loop)", chainrule_numba_fori, kind="chainrule",
         compiled=True),
    Impl("autograd", autograd_grad),
    Impl("torch eager", torch_eager),
    Impl("torch.func", torch_func),
    Impl("jax eager", jax_grad(jit=False)),
    Impl("jax jit", jax_grad(jit=True), compiled=True),
]


def columns(case, row):
    n_ops = OPS_PER_STEP * case["K"]
    return {"us / primitive": f"{row.time_s / n_ops * 1e6:.2f}"}


def summary(cases, rows):
    by = {r.impl: r for r in rows if r.ok}
    n_ops = OPS_PER_STEP * cases[0]["K"]
    cr = by.get("chainrule")
    lines = []
    if cr is not None:
        peers = [(by[n].time_s, n) for n in ("autograd", "torch eager", "torch.func", "jax eager")
                 if n in by]
        f = by.get("numpy f (no derivative)")
        per = cr.time_s / n_ops * 1e6
        net = (cr.time_s - f.time_s) / n_ops * 1e6 if f else None
        lines.append(f"chainrule eager: {per:.2f} us per primitive for value and gradient"
                     + (f" ({net:.2f} us above plain NumPy)" if net is not None else ""))
        if peers:
            best_t, best = min(peers)
            lines.append(f"chainrule / best eager peer ({best}): {cr.time_s / best_t:.2f}x; "
                         + ", ".join(f"/ {n}: {cr.time_s / t:.2f}x" for t, n in peers))
    return lines
