"""
Reverse mode
============

Reverse mode runs the program forward, keeping what the derivative needs, and then propagates
*cotangents* backward: how much the output changes with each intermediate value. One backward
sweep gives the whole gradient of one output, whatever the number of inputs. That is
backpropagation. chainrule derives it from forward mode (linearize, then transpose the linear
program), so both modes always agree.
"""
import numpy as np

import chainrule as cr
from chainrule import plot

# %%
# ``grad`` and ``vjp``
# --------------------
# ``cr.grad(f)`` is the gradient of a scalar function; ``cr.vjp`` returns the output and a
# function that pulls a cotangent back (``J^T u``).


def f(x):
    return np.sum(np.sin(x) * x)


x = np.array([0.5, -1.0, 2.0])
print("grad, reverse mode:        ", cr.grad(f)(x))
print("closed form sin x + x cos x:", np.sin(x) + x * np.cos(x))

out, pullback = cr.vjp(lambda x: np.sin(x) * x, x)
(cotangent,) = pullback(np.ones(3))
print("vjp with a cotangent of ones gives the same:", cotangent)

# %%
# What the backward sweep is
# --------------------------
# ``cr.make_graph`` stages a function into chainrule's small program representation. The
# program of ``f`` has three operations:
print(cr.make_graph(f)(x))

# %%
# The program of ``grad(f)`` contains the forward computation and then the adjoint sweep
# (orange in the drawing): each operation of ``f`` contributes its transposed linear map, in
# reverse order.
ax = plot.graph(cr.grad(f), x)

# %%
# ``cr.show_code`` prints the same derivative compiled to plain NumPy (``cr.jit``):
cr.show_code(cr.grad(f), x)

# %%
# Gradients point uphill
# ----------------------
# For a function of two variables the gradient is the direction of steepest ascent,
# perpendicular to the contour lines. Reverse mode gives it at every point of a grid in one
# ``vmap``-ped call.
import matplotlib.pyplot as plt  # noqa: E402


def bowl(p):
    x, y = p[0], p[1]
    return np.sin(x) * np.cos(y) + 0.1 * (x**2 + y**2)


xs = np.linspace(-3.0, 3.0, 120)
X, Y = np.meshgrid(xs, xs)
Z = np.sin(X) * np.cos(Y) + 0.1 * (X**2 + Y**2)
coarse = np.linspace(-2.7, 2.7, 13)
P = np.stack(np.meshgrid(coarse, coarse), axis=-1).reshape(-1, 2)
G = cr.vmap(cr.grad(bowl))(P)

fig, ax = plt.subplots(figsize=(5.5, 5))
ax.contour(X, Y, Z, levels=20, cmap="viridis")
ax.quiver(P[:, 0], P[:, 1], G[:, 0], G[:, 1], color="C3", angles="xy")
ax.set_aspect("equal")
ax.set_title("contours and reverse-mode gradients")
fig.tight_layout()

# %%
# Checking a gradient
# -------------------
# ``chainrule.testing.check_grads`` compares forward and reverse mode with central differences,
# to second order; it raises if they disagree.
from chainrule.testing import check_grads  # noqa: E402

check_grads(bowl, (np.array([0.4, -0.8]),), order=2, modes=("fwd", "rev"))
print("check_grads passed")
