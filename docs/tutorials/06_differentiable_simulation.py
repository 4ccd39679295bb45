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
# ``(speed, angle, drag)``; the result is the whole trajectory, one row per step.


def trajectory(params):
    speed, angle, drag = params[0], params[1], params[2]
    pos = np.zeros(2)
    vel = speed * np.stack([np.cos(angle), np.sin(angle)])
    gravity = np.array([0.0, -9.81])
    path = []
    for _ in range(STEPS):
        vel = vel + DT * (gravity - drag * np.sqrt(np.sum(vel**2)) * vel)
        pos = pos + DT * vel
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
# The gradient goes through all the steps. We check it against central differences, then
# compile value and gradient once with ``cr.jit`` (the loop is unrolled into straight NumPy
# code) and hand them to SciPy's L-BFGS-B, within physically sensible bounds.
guess = np.array([10.0, 0.6, 0.01])
g = cr.grad(loss)(guess)
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
