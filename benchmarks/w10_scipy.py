"""W10: SciPy's solvers with the derivatives they ask for (BENCHMARKS.md W10a, b, d).

- LJ: Lennard-Jones cluster, N = 64 atoms (x in R^192): ``minimize(method="trust-ncg")`` from a
  perturbed fcc start, total time; chainrule.optimize.minimize (gradient and Hessian-vector
  products from one linearization per point) against SciPy given JAX jit derivatives.
- Bruss: 2-D Brusselator, 32 x 32 periodic grid (n = 2048): ``solve_ivp(method="BDF")`` on
  [0, 2] with the sparse AD Jacobian (chainrule.integrate.solve_ivp) against SciPy's own finite
  differences with ``jac_sparsity`` (a function row: not checked, its Jacobian is approximate).
- LV: Lotka-Volterra, 4 parameters, 50 observations of both species: the gradient of the
  fit's sum of squares by forward sensitivities and by the adjoint method (chainrule,
  compiled right-hand sides) against JAX's ``jax.experimental.ode.odeint`` gradient under jit,
  and against central differences of the solve (a function row).
The result compared is the final energy (LJ), the final state (Bruss), the gradient (LV)."""
import importlib.util
import os

import numpy as np

from . import _harness as h
from ._harness import Impl

ID = "W10"
TITLE = "SciPy solvers with AD derivatives"
WHAT = ("LJ N=64 trust-ncg total time; Brusselator 32x32 BDF with the sparse AD Jacobian; "
        "Lotka-Volterra gradient, forward vs adjoint vs finite differences")
CAP_S = 120.0
LV_TOL = dict(rtol=1e-11, atol=1e-11)
_EXAMPLES = os.path.join(h.REPO_ROOT, "examples")
_loaded = {}


def _example(name):
    if name not in _loaded:
        spec = importlib.util.spec_from_file_location(name, os.path.join(_EXAMPLES, name + ".py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _loaded[name] = mod
    return _loaded[name]


def cases(quick):
    if quick:
        return [{"label": "LJ N=8", "part": "lj", "n": 8},
                {"label": "Bruss 6x6", "part": "bruss", "k": 6, "t_end": 0.5},
                {"label": "LV 4 params, 8 obs", "part": "lv", "obs": 8}]
    return [{"label": "LJ N=64", "part": "lj", "n": 64},
            {"label": "Bruss 32x32", "part": "bruss", "k": 32, "t_end": 2.0},
            {"label": "LV 4 params, 50 obs", "part": "lv", "obs": 50}]


# -- LJ ------------------------------------------------------------------------------------------
def _lj_chainrule(jit):
    def build(case):
        import chainrule.optimize as cro
        mod = _example("lennard_jones")
        x0 = mod.fcc_start(case["n"])
        return lambda: cro.minimize(mod.energy, x0, method="trust-ncg", jit=jit).fun
    return build


def _lj_jax(case):
    import scipy.optimize as so
    jax, jnp = h.jax()
    mod = _example("lennard_jones")
    n = case["n"]
    x0 = mod.fcc_start(n).ravel()
    i, j = np.triu_indices(n, 1)

    def energy(x):
        x = x.reshape(n, 3)
        d = x[i] - x[j]
        inv6 = 1.0 / jnp.sum(d * d, axis=1)**3
        return 4.0 * jnp.sum(inv6 * inv6 - inv6)
    vg = jax.jit(jax.value_and_grad(energy))
    hvp = jax.jit(lambda x, p: jax.jvp(jax.grad(energy), (x,), (p,))[1])

    def fun(x):
        v, g = vg(x)
        return float(v), np.asarray(g)
    return lambda: so.minimize(fun, x0, jac=True, method="trust-ncg",
                               hessp=lambda x, p: np.asarray(hvp(x, p))).fun


# -- Brusselator ---------------------------------------------------------------------------------
def _bruss_chainrule(jit):
    def build(case):
        import chainrule.integrate as cri
        mod = _example("brusselator")
        f, y0 = mod.make_rhs(case["k"]), mod.initial_state(case["k"])

        def call():     # detection and coloring included: once per solve
            return cri.solve_ivp(f, (0, case["t_end"]), y0, method="BDF", rtol=1e-6, atol=1e-8,
                                 jit=jit).y[:, -1]
        return call
    return build


def _bruss_fd(case):
    import scipy.integrate as si
    import chainrule as cr
    mod = _example("brusselator")
    f, y0 = mod.make_rhs(case["k"]), mod.initial_state(case["k"])
    pattern = cr.jacobian_sparsity(lambda y: f(0.0, y), y0)
    return lambda: si.solve_ivp(f, (0, case["t_end"]), y0, method="BDF", rtol=1e-6, atol=1e-8,
                                jac_sparsity=pattern).y[:, -1]


# -- Lotka-Volterra ------------------------------------------------------------------------------
def _lv_setup(case):
    mod = _example("lotka_volterra")
    t, data = mod.observations(case["obs"], 0.05)
    p0 = np.array([0.8, 0.4, 1.0, 0.3])
    return mod, t, data, p0


def _lv_chainrule(sensitivity):
    def build(case):
        import chainrule.integrate as cri
        mod, t, data, p0 = _lv_setup(case)

        def call():
            ys, vjp_fn = cri.odeint_vjp(mod.lotka_volterra, mod.Y0, t, p0, **LV_TOL,
                                        sensitivity=sensitivity, jit=True)
            bar = np.vstack([np.zeros((1, 2)), ys[1:] - data])
            return vjp_fn(bar)[1]
        return call
    return build


def _lv_fd(case):
    import chainrule.integrate as cri
    mod, t, data, p0 = _lv_setup(case)

    def cost(p):
        return 0.5 * np.sum((cri.odeint(mod.lotka_volterra, mod.Y0, t, p, **LV_TOL)[1:]
                             - data)**2)
    eps = 1e-6
    return lambda: np.array([(cost(p0 + eps * e) - cost(p0 - eps * e)) / (2 * eps)
                             for e in np.eye(4)])


def _lv_jax(case):
    jax, jnp = h.jax()
    from jax.experimental.ode import odeint
    mod, t, data, p0 = _lv_setup(case)

    def f(y, s, p):
        return jnp.stack([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])

    def cost(p):
        ys = odeint(f, jnp.asarray(mod.Y0), jnp.asarray(t), p, **LV_TOL)
        return 0.5 * jnp.sum((ys[1:] - data)**2)
    g = jax.jit(jax.grad(cost))
    return lambda: h.block(g(jnp.asarray(p0)))


def reference(case):
    if case["part"] != "lv":
        return None
    return _lv_fd(case)(), 1e-5, "central differences"


def _by_part(**builders):
    """One row across the parts: the builder of the case's part, or Skip."""
    def build(case):
        if case["part"] not in builders:
            raise h.Skip(f"no {case['part']} variant")
        return builders[case["part"]](case)
    return build


IMPLS = [
    Impl("chainrule", _by_part(lj=_lj_chainrule(False), bruss=_bruss_chainrule(False)),
         kind="chainrule"),
    Impl("chainrule jit", _by_part(lj=_lj_chainrule(True), bruss=_bruss_chainrule(True),
                                   lv=_lv_chainrule("forward")), kind="chainrule", compiled=True),
    Impl("chainrule adjoint (jit)", _by_part(lv=_lv_chainrule("adjoint")), kind="chainrule",
         compiled=True),
    Impl("chainrule jit numba", _by_part(lj=_lj_chainrule("numba")), kind="chainrule",
         compiled=True),
    Impl("SciPy + JAX jit", _by_part(lj=_lj_jax, lv=_lv_jax), compiled=True),
    Impl("SciPy finite differences", _by_part(bruss=_bruss_fd, lv=_lv_fd), kind="function"),
]
NOTES = ["LJ/Bruss: one row is one whole solve (SciPy's iterations included; detection and "
         "coloring of the sparse Jacobian included in Bruss)",
         "LV: chainrule rows use compiled sensitivity right-hand sides (forward: the augmented "
         "ODE; adjoint: a backward solve on the forward dense output); finite differences: 8 "
         f"solves; tolerances {LV_TOL}"]


# part -> (rows, the baseline row, the target printed beside the ratio)
TARGETS = {"lj": (("chainrule", "chainrule jit", "chainrule jit numba"), "SciPy + JAX jit",
                  "<= 1.5"),
           "bruss": (("chainrule", "chainrule jit"), "SciPy finite differences", "<= 1"),
           "lv": (("chainrule jit", "chainrule adjoint (jit)"), "SciPy finite differences",
                  "< 1")}


def summary(cases, rows):
    t = {(r.case, r.impl): r.time_s for r in rows if r.ok}
    out = []
    for case in cases:
        c = case["label"]
        names, base, target = TARGETS[case["part"]]
        for name in names:
            if (c, name) in t and (c, base) in t:
                out.append(f"{c}: {name} / {base} = {t[c, name] / t[c, base]:.2f} "
                           f"(target {target})")
    return out
