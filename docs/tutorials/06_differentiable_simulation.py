"""
Differentiable simulation
=========================

A simulation written as a loop of NumPy steps is a program like any other: chainrule
differentiates straight through it. Here a projectile with air drag is stepped a few hundred
times, and the gradient of the mismatch with observed positions, taken through every step,
fits the launch speed, angle and drag coefficient.
"""
import os

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
STEPS = 120 if QUICK else 400
DT = 2.4 / STEPS

# %%
# The simulation
# --------------
# Explicit Euler steps of ``x'' = g - c |x'| x'``. The parameters are
# ``(speed, angle, drag)``; the result is the whole trajectory, one row per step. The loop is
# written with ``cr.scan``: the step is traced once, and every derivative below (reverse mode,
# ``jit``) treats it as one loop instead of unrolling it. A plain Python ``for`` loop gives the
# same numbers, step by step, as the check below shows.


def euler_step(state, _, drag):
    pos, vel = state
    gravity = np.array([0.0, -9.81])
    vel = vel + DT * (gravity - drag * np.sqrt(np.sum(vel**2)) * vel)
    pos = pos + DT * vel
    return (pos, vel), pos


def trajectory(params):
    speed, angle, drag = params[0], params[1], params[2]
    vel = speed * np.stack([np.cos(angle), np.sin(angle)])
    _, path = cr.scan(lambda s, x: euler_step(s, x, drag), (np.zeros(2), vel), None,
                      length=STEPS)
    return path


def trajectory_loop(params):
    state, path = (np.zeros(2), params[0] * np.stack([np.cos(params[1]), np.sin(params[1])])), []
    for _ in range(STEPS):
        state, pos = euler_step(state, None, params[2])
        path.append(pos)
    return np.stack(path)


# %%
# Observations and a loss
# -----------------------
# We observe every tenth position of a throw with unknown parameters, with some noise.
true = np.array([14.0, 1.0, 0.08])
rng = np.random.default_rng(1)
observed_at = np.arange(9, STEPS, 10)
observed = trajectory(true)[observed_at] + 0.05 * rng.standard_normal((observed_at.size, 2))


def loss(params):
    return np.sum((trajectory(params)[observed_at] - observed) ** 2)


# %%
# The gradient goes through all the steps. We check it against central differences and
# against the unrolled Python loop, then compile value and gradient once with ``cr.jit`` (the
# generated code is one Python ``for`` loop per sweep) and hand them to SciPy's L-BFGS-B,
# within physically sensible bounds. For very long simulations, ``cr.scan(...,
# checkpoints="auto")`` keeps the memory of the backward pass within a budget.
guess = np.array([10.0, 0.6, 0.01])
g = cr.grad(loss)(guess)
g_loop = cr.grad(lambda p: np.sum((trajectory_loop(p)[observed_at] - observed) ** 2))(guess)
print("same gradient as the Python loop:", np.allclose(g, g_loop, rtol=1e-12))
h = 1e-6
fd = np.array([(loss(guess + h * e) - loss(guess - h * e)) / (2 * h) for e in np.eye(3)])
print("gradient through", STEPS, "steps:", g)
print("central differences:          ", fd)

value_and_grad = cr.jit(cr.value_and_grad(loss))
result = minimize(value_and_grad, guess, jac=True, method="L-BFGS-B",
                  bounds=[(1.0, 40.0), (0.05, 1.5), (0.0, 0.5)])
print(f"L-BFGS-B: {result.nit} iterations, loss {loss(guess):.3g} -> {result.fun:.3g}")
print("fitted (speed, angle, drag):", np.round(result.x, 3), "  true:", true)

# %%
# Before and after
# ----------------
before, after = trajectory(guess), trajectory(result.x)
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(observed[:, 0], observed[:, 1], "k.", label="observed")
ax.plot(before[:, 0], before[:, 1], "--", color="C1", label="initial guess")
ax.plot(after[:, 0], after[:, 1], color="C0", label="fitted through the gradient")
ax.set_xlabel("x (m)")
ax.set_ylabel("height (m)")
ax.set_xlim(0.0, observed[:, 0].max() * 1.15)
ax.set_ylim(observed[:, 1].min() - 1.0, observed[:, 1].max() + 1.0)
ax.legend()
fig.tight_layout()
