"""W2: the Rosenbrock function on n = 1e6 variables, gradient. Vectorized code: a handful of
primitives on large arrays, so the interesting figure is gradient time / function time (the
cheap-gradient principle says a small constant), measured per framework against its own
function evaluation."""
import numpy as np

from . import _harness as h
from ._harness import Impl

ID = "W2"
TITLE = "Rosenbrock gradient, vectorized cost"
WHAT = ("grad of sum(100*(x[1:]-x[:-1]**2)**2 + (1-x[:-1])**2); 'grad / f' divides by the "
        "same framework's function time")


def cases(quick):
    n = 10 if quick else 1_000_000
    return [{"label": f"n={n:.0e}" if n >= 1e4 else f"n={n}", "n": n}]


def rosenbrock(x, xp):
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def point(n):
    return np.linspace(-1.5, 2.0, n) + 0.1 * np.sin(np.arange(n))


def reference(case):
    x = point(case["n"])
    g = np.zeros_like(x)
    r = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return g, 1e-12, "closed form"


# -- rows ----------------------------------------------------------------------------------------
def numpy_f(case):
    x = point(case["n"])
    return lambda: rosenbrock(x, np)


def chainrule_grad(case):
    import chainrule
    g = chainrule.grad(lambda x: rosenbrock(x, np))
    x = point(case["n"])
    return lambda: g(x)


def chainrule_jit(case):
    import chainrule
    g = h.chainrule_feature("jit")(chainrule.grad(lambda x: rosenbrock(x, np)))
    x = point(case["n"])
    return lambda: g(x)


def chainrule_numba(case):
    """``jit(backend="numba")``: the gradient is one fused loop over x."""
    import chainrule
    g = h.chainrule_numba(chainrule.grad(lambda x: rosenbrock(x, np)))
    x = point(case["n"])
    return lambda: g(x)


def chainrule_tensor(case):
    call = h.chainrule_tensor_grad(lambda x: rosenbrock(x, np), [point(case["n"])])
    return lambda: call()[1]


def autograd_grad(case):
    ag, anp = h.autograd()
    g = ag.grad(lambda x: rosenbrock(x, anp))
    x = point(case["n"])
    return lambda: g(x)


def jax_row(jit, derivative):
    def build(case):
        jax, jnp = h.jax()
        f = lambda x: rosenbrock(x, jnp)  # noqa: E731
        f = jax.grad(f) if derivative else f
        f = jax.jit(f) if jit else f
        x = jnp.asarray(point(case["n"]))
        return lambda: h.block(f(x))
    return build


def torch_f(case):
    torch, xp = h.torch(), h.torch_numpy()
    x = torch.as_tensor(point(case["n"]))

    def call():
        with torch.no_grad():
            return rosenbrock(x, xp)
    return call


def torch_eager(case):
    torch, xp = h.torch(), h.torch_numpy()
    x0 = torch.as_tensor(point(case["n"]))

    def call():
        x = x0.clone().requires_grad_(True)
        rosenbrock(x, xp).backward()
        return x.grad
    return call


def torch_func(case):
    torch, xp = h.torch(), h.torch_numpy()
    g = torch.func.grad(lambda x: rosenbrock(x, xp))
    x = torch.as_tensor(point(case["n"]))
    return lambda: g(x)


IMPLS = [
    Impl("f: numpy", numpy_f, kind="function"),
    Impl("f: torch", torch_f, kind="function"),
    Impl("f: jax eager", jax_row(jit=False, derivative=False), kind="function"),
    Impl("f: jax jit", jax_row(jit=True, derivative=False), kind="function", compiled=True),
    Impl("chainrule", chainrule_grad, kind="chainrule", base="f: numpy"),
    Impl("chainrule Tensor", chainrule_tensor, kind="chainrule", base="f: numpy"),
    Impl("chainrule jit", chainrule_jit, kind="chainrule", compiled=True, base="f: numpy"),
    Impl("chainrule jit numba", chainrule_numba, kind="chainrule", compiled=True,
         base="f: numpy"),
    Impl("autograd", autograd_grad, base="f: numpy"),
    Impl("torch eager", torch_eager, base="f: torch"),
    Impl("torch.func", torch_func, base="f: torch"),
    Impl("jax eager", jax_row(jit=False, derivative=True), base="f: jax eager"),
    Impl("jax jit", jax_row(jit=True, derivative=True), compiled=True, base="f: jax jit"),
]
