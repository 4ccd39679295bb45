"""W10K: the derivative kernels of the W10 problems, compiled against eager (issue: ``jit`` is
never slower than eager).

- LJ: the Hessian of the Lennard-Jones energy, N = 64 atoms (x in R^192), forward over reverse.
- Bruss: the Jacobian of the 2-D Brusselator right-hand side, 32 x 32 grid (n = 2048), forward
  mode: 2048 unit seeds, which chainrule keeps as one-hot terms (eagerly, and staged under jit).
- RK4: the residuals of a Lotka-Volterra fit by fixed-step RK4 (W10d: 200 steps, 50 observations
  of both species, 4 parameters), written as a Python loop, and their Jacobian (jacfwd); no JAX
  row (its jit of the unrolled loop compiles for minutes).

Rows: chainrule eager, chainrule jit (the default: it times compiled code against eager
evaluation on the first calls and keeps the faster), chainrule jit with ``eager_fallback=False``
(the compiled code alone), and JAX jit. The "jit / eager" column is the point of the table."""
import importlib.util
import os

import numpy as np

from . import _harness as h
from ._harness import Impl

ID = "W10K"
TITLE = "W10 derivative kernels, jit against eager"
WHAT = ("LJ N=64 Hessian; Brusselator 32x32 right-hand side Jacobian (n = 2048); Lotka-Volterra "
        "RK4 residuals (200 steps, 50 observations) and their Jacobian")
CAP_S = 60.0
P0 = np.array([0.8, 0.4, 1.0, 0.3])


def _example(name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(h.REPO_ROOT, "examples", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cases(quick):
    if quick:
        return [{"label": "LJ N=8 Hessian", "part": "lj", "n": 8},
                {"label": "Bruss 6x6 Jacobian", "part": "bruss", "k": 6},
                {"label": "RK4 residuals 8 steps", "part": "rk4", "steps": 8, "obs": 4},
                {"label": "RK4 Jacobian 8 steps", "part": "rk4_jac", "steps": 8, "obs": 4}]
    return [{"label": "LJ N=64 Hessian", "part": "lj", "n": 64},
            {"label": "Bruss 32x32 Jacobian", "part": "bruss", "k": 32},
            {"label": "RK4 residuals 200 steps", "part": "rk4", "steps": 200, "obs": 50},
            {"label": "RK4 Jacobian 200 steps", "part": "rk4_jac", "steps": 200, "obs": 50}]


# -- the functions, once for chainrule (NumPy) and JAX ------------------------------------------
def lj_energy(x, xp):
    n = x.shape[0]
    i, j = np.triu_indices(n, 1)
    d = x[i] - x[j]
    inv6 = 1.0 / xp.sum(d * d, axis=1) ** 3
    return 4.0 * xp.sum(inv6 * inv6 - inv6)


def bruss_rhs(k, xp):
    mod = _example("brusselator")
    c = mod.ALPHA * k * k

    def lap(w):
        return (xp.roll(w, 1, axis=0) + xp.roll(w, -1, axis=0) + xp.roll(w, 1, axis=1)
                + xp.roll(w, -1, axis=1) - 4 * w)

    def f(y):
        u, v = y[:k * k].reshape(k, k), y[k * k:].reshape(k, k)
        uuv = u * u * v
        du = mod.A + uuv - (mod.B + 1) * u + c * lap(u)
        dv = mod.B * u - uuv + c * lap(v)
        return xp.concatenate([du.reshape(-1), dv.reshape(-1)])
    return f, mod.initial_state(k)


def rk4_residual(steps, obs):
    """The residuals (2 obs,) of the RK4 trajectory (examples/lotka_volterra.py) against fixed
    data, as a function of the parameters."""
    mod = _example("lotka_volterra")
    data = np.linspace(0.5, 2.0, 2 * obs).reshape(obs, 2)
    return lambda p: mod.rk4_residuals(p, data, steps)


def _problem(case, xp, ad):
    """(function to time, its argument) for the case; ``ad``: the library's module with
    ``hessian`` and ``jacfwd``."""
    part = case["part"]
    if part == "lj":
        x0 = _example("lennard_jones").fcc_start(case["n"])
        return ad.hessian(lambda x: lj_energy(x, xp)), x0
    if part == "bruss":
        f, y0 = bruss_rhs(case["k"], xp)
        return ad.jacfwd(f), y0
    r = rk4_residual(case["steps"], case["obs"])
    return (r if part == "rk4" else ad.jacfwd(r)), P0


def _chainrule(jit=False, **jit_options):
    def build(case):
        import chainrule as cr
        fn, x = _problem(case, np, cr)
        fn = h.chainrule_feature("jit")(fn, **jit_options) if jit else fn
        call = lambda: fn(x)  # noqa: E731
        if jit:
            call.info = lambda: {"jit path": _path(fn)}
        return call
    return build


def _path(fn):
    """The path the jitted function took for the case's signature ("compiled" or "eager")."""
    info = fn.cache_info()
    paths = [p for p, n in info.get("paths", {}).items() if n]
    return "/".join(paths) or "compiled"


def _jax(case):
    if case["part"].startswith("rk4"):
        raise h.Skip("JAX jit of the unrolled loop compiles for minutes at 200 steps (at 12: "
                     "7 s, its Jacobian 26 s, on a busy machine)")
    jax, jnp = h.jax()
    fn, x = _problem(case, jnp, jax)
    fn = jax.jit(fn)
    x = jnp.asarray(x)
    return lambda: h.block(fn(x))


IMPLS = [
    Impl("chainrule", _chainrule(), kind="chainrule"),
    Impl("chainrule jit", _chainrule(jit=True), kind="chainrule", compiled=True),
    Impl("chainrule jit, compiled only", _chainrule(jit=True, eager_fallback=False),
         kind="chainrule", compiled=True, eager="chainrule"),
    Impl("jax jit", _jax, compiled=True),
]
NOTES = ["chainrule jit: compiled code or eager evaluation per signature, timed on the first "
         "calls (the 'jit path' column says which answered); 'compiled only': "
         "jit(..., eager_fallback=False)",
         "the issue's figures before this work (same sizes): Bruss jit(jacfwd) 49-59 ms against "
         "8 ms eager (seeds dense under staging), LJ Hessian 108 against 80 ms"]


def summary(cases, rows):
    t = {(r.case, r.impl): r for r in rows if r.ok}
    out = []
    for case in cases:
        c = case["label"]
        for name in ("chainrule jit", "chainrule jit, compiled only"):
            r = t.get((c, name))
            if r is not None and r.jit_eager:
                out.append(f"{c}: {name} / chainrule eager = {r.jit_eager:.2f} (target <= 1)")
    return out
