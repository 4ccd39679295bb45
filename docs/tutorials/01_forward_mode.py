"""
Forward mode
============

Forward mode carries a derivative alongside every value. Each intermediate quantity ``v`` of a
program gets a *tangent* ``v_dot``, the rate at which it changes along one chosen direction of
the inputs, and every operation updates both: ``sin`` maps ``(v, v_dot)`` to
``(sin v, cos v * v_dot)``. One sweep gives one directional derivative, exactly, at about the
cost of one more evaluation.
"""
import numpy as np

import chainrule as cr

# %%
# One directional derivative: ``jvp``
# -----------------------------------
# ``cr.jvp(f, primals, tangents)`` returns ``f(x)`` and the Jacobian-vector product ``J v``.
# For a function of one variable with tangent 1, that is the derivative.


def f(x):
    return x**3 + 2 * x**2 + x


value, slope = cr.jvp(f, (2.0,), (1.0,))
print("f(2) =", value, "  f'(2) =", slope, "  (3*4 + 4*2 + 1 = 21)")

# %%
# The tangent travels with the value through plain NumPy code. Here a function of three
# variables, differentiated along the direction ``v``; the result is ``grad f . v``.


def g(x):
    return np.sum(np.sin(x) * x[::-1])


x = np.array([0.3, -1.2, 2.0])
v = np.array([1.0, 0.0, -1.0])
_, g_dot = cr.jvp(g, (x,), (v,))
h = 1e-6
print("jvp:                ", g_dot)
print("central difference: ", (g(x + h * v) - g(x - h * v)) / (2 * h))

# %%
# A curve and its slope
# ---------------------
# Applied elementwise to an array, the tangent of ones gives the derivative at every point in
# one sweep. We plot a function and its derivative from forward mode, against the closed form.
import matplotlib.pyplot as plt  # noqa: E402


def wave(t):
    return np.exp(-0.3 * t) * np.sin(2 * t)


t = np.linspace(0.0, 8.0, 400)
y, y_dot = cr.jvp(wave, (t,), (np.ones_like(t),))
closed = np.exp(-0.3 * t) * (2 * np.cos(2 * t) - 0.3 * np.sin(2 * t))
print("largest difference from the closed form:", np.max(np.abs(y_dot - closed)))

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(t, y, label="f(t) = exp(-0.3 t) sin(2 t)")
ax.plot(t, y_dot, label="f'(t), forward mode")
ax.plot(t[::25], closed[::25], "k.", label="closed form")
ax.axhline(0.0, color="0.8", lw=0.8)
ax.set_xlabel("t")
ax.legend(loc="upper right")
fig.tight_layout()

# %%
# Whole Jacobians: ``jacfwd``
# ---------------------------
# A Jacobian has one column per input, so forward mode needs one sweep per input direction.
# ``jacfwd`` pushes all of them at once (a vectorized sweep); it suits functions with few inputs
# and many outputs, like a model curve with four parameters sampled at many points.
ts = np.linspace(0.0, 10.0, 200)


def model(p):
    return p[0] * np.sin(p[1] * ts) + p[2] * np.exp(-p[3] * ts)


p = np.array([1.0, 0.7, 0.5, 0.3])
J = cr.jacfwd(model)(p)
print("Jacobian shape:", J.shape, "(200 outputs x 4 inputs)")
print("d model / d p0 equals sin(p1 t):", np.allclose(J[:, 0], np.sin(p[1] * ts)))

# %%
# ``linearize`` evaluates ``f`` once and returns its linear map, to apply to many tangents.
out, jvp_fn = cr.linearize(model, p)
print("J e_2 from the linear map equals column 2:", np.allclose(jvp_fn(np.eye(4)[2]), J[:, 2]))
