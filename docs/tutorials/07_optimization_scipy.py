"""
Optimization with SciPy
=======================

SciPy's optimizers take derivatives as callables: ``jac`` for the gradient, ``hess`` for the
Hessian or ``hessp`` for Hessian-vector products. chainrule supplies them exactly, so the
optimizer needs fewer evaluations than with finite differences and converges to full accuracy.
"""
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize

import chainrule as cr

# %%
# Rosenbrock's function in 10 dimensions
# --------------------------------------


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


x0 = np.full(10, -1.0)
runs = {
    "BFGS, finite differences": dict(method="BFGS"),
    "BFGS, cr.grad": dict(method="BFGS", jac=cr.grad(rosen)),
    "Newton-CG, cr.grad + cr.hvp": dict(method="Newton-CG", jac=cr.grad(rosen),
                                        hessp=lambda x, v: cr.hvp(rosen, x, v)),
    "trust-exact, cr.grad + cr.hessian": dict(method="trust-exact", jac=cr.grad(rosen),
                                              hess=cr.hessian(rosen)),
}
history = {}
for name, options in runs.items():
    values = []
    res = minimize(rosen, x0, callback=lambda xk: values.append(rosen(xk)), **options)
    history[name] = values
    print(f"{name:34s} f = {res.fun:9.2e}  iterations {res.nit:4d}  function evaluations "
          f"{res.nfev:5d}")

# %%
# Convergence
# -----------
# The objective after each iteration. Second-order methods with exact Hessians (or
# Hessian-vector products, which cost a few gradients each) need far fewer iterations.
fig, ax = plt.subplots(figsize=(7, 4))
for name, values in history.items():
    ax.semilogy(np.arange(1, len(values) + 1), np.maximum(values, 1e-20), label=name)
ax.set_xlabel("iteration")
ax.set_ylabel("f(x_k)")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The path in two dimensions
# --------------------------
# In two dimensions the steps can be seen: Newton's method with the exact Hessian follows the
# curved valley.
path = [np.array([-1.5, 1.5])]
minimize(rosen, path[0], jac=cr.grad(rosen), hess=cr.hessian(rosen), method="trust-exact",
         callback=lambda xk: path.append(np.copy(xk)))
path = np.array(path)
X, Y = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
Z = 100 * (Y - X**2) ** 2 + (1 - X) ** 2
fig, ax = plt.subplots(figsize=(5.5, 5))
ax.contour(X, Y, np.log10(Z + 1e-3), levels=25, cmap="viridis")
ax.plot(path[:, 0], path[:, 1], "o-", color="C3", ms=4, label="trust-exact steps")
ax.plot([1], [1], "k*", ms=12, label="minimum (1, 1)")
ax.legend()
fig.tight_layout()

# %%
# A constrained problem
# ---------------------
# Constraints take Jacobians too: minimize a quadratic on the unit circle with SLSQP.


def objective(x):
    return (x[0] - 2.0) ** 2 + (x[1] - 1.0) ** 2


def on_circle(x):
    return x[0] ** 2 + x[1] ** 2 - 1.0


res = minimize(objective, np.array([0.0, 1.0]), jac=cr.grad(objective), method="SLSQP",
               constraints=[{"type": "eq", "fun": on_circle, "jac": cr.grad(on_circle)}])
print("closest point of the circle to (2, 1):", res.x, " exact:", np.array([2, 1]) / np.sqrt(5))
