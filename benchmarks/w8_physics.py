"""W8: differentiable physics through a long simulation. 16 particles in 2-D on a ring of
springs (rest length 1, stiffness 10) under gravity, semi-implicit Euler with dt = 0.01, T
steps; the loss is the sum of squared final positions, differentiated with respect to the
initial velocities. Reverse mode through T steps keeps every step's intermediates unless it
checkpoints, so peak memory (measured in a fresh process) matters as much as time.

The long case (T = 1e5) is run once per system in a fresh process: repeating it would cost
minutes. Eager JAX runs only in --quick (13 s at T = 1000 of per-operation dispatch); JAX
runs the simulation as a ``lax.scan`` under jit, with and without rematerializing each step."""
import numpy as np

from . import _harness as h
from ._harness import Impl

ID = "W8"
TITLE = "differentiable physics, long simulation"
WHAT = ("grad w.r.t. initial velocities of sum(x_T**2): 16 particles, ring of springs "
        "(rest 1, k = 10) + gravity, semi-implicit Euler dt = 0.01")
N, DT, STIFF, REST, GRAVITY = 16, 0.01, 10.0, 1.0, 9.81
STRETCH = 1.2
AUTOGRAD_MAX_T = 10_000
OPS_PER_STEP = 16
CAP_S = 100.0
NOTES = [f"{OPS_PER_STEP} primitives per step; the 'fresh process' rows are one run each",
         "reduced: at T = 1e5 autograd (115 s measured) and eager JAX (~800 us per primitive) "
         "are left out to keep the full run under 10 minutes; the unrolled chainrule rows keep "
         "every step (memory grows with T), the scan rows trace the step once, and "
         "'checkpoints auto' holds the carries of the binomial schedule within 50 MB"]


def cases(quick):
    if quick:
        return [{"label": "T=10", "T": 10, "cost": 10}]
    return [{"label": "T=1000", "T": 1000, "cost": 1000},
            {"label": "T=1e5", "T": 100_000, "cost": 100_000, "fresh": True}]


def setup(case):
    """The ring starts stretched by 20% and spinning at the rate whose centripetal force the
    springs' tension supplies, plus small random velocities. (From a ring at rest with larger
    random velocities the motion is chaotic: over 1e5 steps the gradient reaches 1e108 and
    depends on rounding, so no two systems could agree on it.)"""
    theta = 2 * np.pi * np.arange(N) / N
    chord = STRETCH * REST
    radius = chord / (2 * np.sin(np.pi / N))
    omega = np.sqrt(2 * STIFF * (chord - REST) * np.sin(np.pi / N) / radius)
    x0 = radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    v0 = omega * radius * np.stack([-np.sin(theta), np.cos(theta)], axis=1)
    v0 = v0 + 0.05 * np.random.default_rng(8).standard_normal((N, 2))
    data = {"x0": x0, "nxt": (np.arange(N) + 1) % N, "prv": (np.arange(N) - 1) % N,
            "g": np.array([0.0, -GRAVITY])}
    return v0, data


def step(x, v, xp, d):
    dx = x[d["nxt"]] - x                                  # spring i joins particle i and i+1
    length = xp.sqrt(xp.sum(dx * dx, axis=1, keepdims=True))
    f = STIFF * (length - REST) * dx / length              # force on particle i from spring i
    v = v + DT * (f - f[d["prv"]] + d["g"])
    return x + DT * v, v


def loss(v0, xp, d, T):
    x, v = d["x0"], v0
    for _ in range(T):
        x, v = step(x, v, xp, d)
    return xp.sum(x * x)


def reference(case):
    """Central differences in every component (T <= 1000 only: 64 simulations)."""
    if case["T"] > 1000:
        return None
    v0, d = setup(case)
    g, eps = np.zeros_like(v0), 1e-5
    for idx in np.ndindex(v0.shape):
        e = np.zeros_like(v0)
        e[idx] = eps
        g[idx] = (loss(v0 + e, np, d, case["T"]) - loss(v0 - e, np, d, case["T"])) / (2 * eps)
    return g, 1e-6, "central differences"


# -- rows ----------------------------------------------------------------------------------------
def chainrule_grad(case):
    import chainrule
    v0, d = setup(case)
    g = chainrule.grad(lambda v: loss(v, np, d, case["T"]))
    return lambda: g(v0)


def chainrule_jit(case):
    import chainrule
    v0, d = setup(case)
    g = h.chainrule_feature("jit")(chainrule.grad(lambda v: loss(v, np, d, case["T"])))
    return lambda: g(v0)


def _scan_loss(case, checkpoints=None, memory_limit=None):
    import chainrule
    v0, d = setup(case)

    def body(carry, _):
        return step(*carry, np, d), None

    def scan_loss(v):
        (x, _), _ = chainrule.scan(body, (d["x0"], v), None, length=case["T"],
                                   checkpoints=checkpoints, memory_limit=memory_limit)
        return np.sum(x * x)
    return v0, chainrule.grad(scan_loss)


def chainrule_scan(case):
    v0, g = _scan_loss(case)
    return lambda: g(v0)


def chainrule_scan_jit(case):
    import chainrule
    v0, g = _scan_loss(case)
    g = chainrule.jit(g)
    return lambda: g(v0)


def chainrule_scan_numba(case):
    """The scan version under ``jit(backend="numba")``: the time loop in machine code."""
    v0, g = _scan_loss(case)
    g = h.chainrule_numba(g)
    return lambda: g(v0)


def chainrule_scan_checkpoints(case):
    """checkpoints="auto" within a 50 MB budget for the held carries (binomial schedule)."""
    v0, g = _scan_loss(case, checkpoints="auto", memory_limit=50e6)
    return lambda: g(v0)


def chainrule_checkpoint(case):
    """A Python loop of chainrule.checkpoint(step): each step's residuals are recomputed."""
    import chainrule
    if case["T"] > 1000:
        raise h.Skip("traces the step at every call; the scan rows stand for it")
    v0, d = setup(case)
    ckpt_step = chainrule.checkpoint(lambda x, v: step(x, v, np, d))

    def checkpointed_loss(v):
        x = d["x0"]
        for _ in range(case["T"]):
            x, v = ckpt_step(x, v)
        return np.sum(x * x)
    g = chainrule.grad(checkpointed_loss)
    return lambda: g(v0)


def autograd_grad(case):
    ag, anp = h.autograd()
    if case["T"] > AUTOGRAD_MAX_T:
        raise h.Skip("about 2 minutes at T=1e5 (115 s measured on the 2-core machine of "
                     "docs/benchmarks.md); left out to keep the full run short")
    v0, d = setup(case)
    g = ag.grad(lambda v: loss(v, anp, d, case["T"]))
    return lambda: g(v0)


def torch_eager(case):
    torch, xp = h.torch(), h.torch_numpy()
    v0, d = setup(case)
    v0, d = torch.as_tensor(v0), {k: torch.as_tensor(a) for k, a in d.items()}

    def call():
        v = v0.clone().requires_grad_(True)
        loss(v, xp, d, case["T"]).backward()
        return v.grad
    return call


def jax_eager(case):
    jax, jnp = h.jax()
    if case["T"] > 100:
        raise h.Skip("eager JAX dispatch costs ~800 us per primitive (13 s at T=1000; see "
                     "W1); its jit rows stand for it")
    v0, d = setup(case)
    v0, d = jnp.asarray(v0), {k: jnp.asarray(a) for k, a in d.items()}
    g = jax.grad(lambda v: loss(v, jnp, d, case["T"]))
    return lambda: h.block(g(v0))


def jax_scan(remat):
    def build(case):
        jax, jnp = h.jax()
        v0, d = setup(case)
        v0, d = jnp.asarray(v0), {k: jnp.asarray(a) for k, a in d.items()}

        def body(carry, _):
            return step(*carry, jnp, d), None
        body = jax.checkpoint(body) if remat else body

        def scan_loss(v):
            (x, _), _ = jax.lax.scan(body, (d["x0"], v), None, length=case["T"])
            return jnp.sum(x * x)
        g = jax.jit(jax.grad(scan_loss))
        return lambda: h.block(g(v0))
    return build


IMPLS = [
    Impl("chainrule", chainrule_grad, kind="chainrule", memory=True),
    Impl("chainrule checkpoint per step", chainrule_checkpoint, kind="chainrule", memory=True),
    Impl("chainrule jit", chainrule_jit, kind="chainrule", compiled=True, memory=True),
    Impl("chainrule scan", chainrule_scan, kind="chainrule", memory=True),
    Impl("chainrule scan, checkpoints auto 50 MB", chainrule_scan_checkpoints, kind="chainrule",
         memory=True),
    Impl("chainrule jit scan", chainrule_scan_jit, kind="chainrule", compiled=True,
         memory=True),
    # cost: Numba's compile (seconds) dominates at T=1000 and does not grow with T, so the
    # T=1e5 case is not estimated from T=1000's total
    Impl("chainrule jit numba scan", chainrule_scan_numba, kind="chainrule", compiled=True,
         memory=True, cost=lambda case: 1.0),
    Impl("autograd", autograd_grad, memory=True),
    Impl("torch eager", torch_eager, memory=True),
    Impl("jax eager", jax_eager, memory=True),
    Impl("jax jit lax.scan", jax_scan(False), compiled=True, memory=True),
    Impl("jax jit lax.scan, remat per step", jax_scan(True), compiled=True, memory=True),
]


def columns(case, row):
    return {"us / primitive": f"{row.time_s / (OPS_PER_STEP * case['T']) * 1e6:.2f}"}
