"""
Higher orders and Taylor mode
=============================

A derivative is a function again, so it can be differentiated again: ``cr.grad(cr.grad(f))``
is the second derivative, to any depth and in any mix of modes. But nesting first-order AD
``k`` times costs about ``4^k``. Taylor mode pushes a truncated Taylor series
``x0 + x1 t + x2 t^2 + ...`` through the program once instead, with a rule per primitive for
its coefficients, at a cost of about ``k^2``.
"""
import time

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

# %%
# Nesting
# -------
def poly(x):
    return x**3 + 2 * x**2 + x


print("f'(2)   =", cr.grad(poly)(2.0), "   (3*4 + 4*2 + 1)")
print("f''(2)  =", cr.grad(cr.grad(poly))(2.0), "   (6*2 + 4)")
print("f'''(2) =", cr.grad(cr.grad(cr.grad(poly)))(2.0))

# %%
# All derivatives in one pass
# ---------------------------
# ``cr.derivatives(f, x0, K)`` returns ``[f(x0), f'(x0), ..., f^(K)(x0)]`` from one Taylor-mode
# pass; ``cr.derivative(f, k)`` is the k-th derivative as a function.


def f(x):
    return np.exp(np.sin(x)) / (1 + x**2)


x0 = 0.5
K = 16
t0 = time.perf_counter()
ds = cr.derivatives(f, x0, K)
print(f"derivatives 0..{K} at {x0} in {(time.perf_counter() - t0) * 1e3:.1f} ms:")
print(np.array(ds[:9]))
print("the 4th by nesting grad four times:",
      cr.grad(cr.grad(cr.grad(cr.grad(f))))(x0), " by Taylor mode:", cr.derivative(f, 4)(x0))

# %%
# Taylor polynomials of growing order
# -----------------------------------
# With the derivatives at ``x0`` the Taylor polynomial
# ``p_K(x) = sum_k f^(k)(x0) (x - x0)^k / k!`` follows. As the order grows it hugs the curve on a
# wider interval around ``x0``, up to the radius of convergence: ``1 / (1 + x^2)`` has poles at
# ``x = +-i``, at distance ``|0.5 - i| = 1.118`` from ``x0``.
xs = np.linspace(-1.2, 2.2, 400)
fig, ax = plt.subplots(figsize=(7, 4.2))
ax.plot(xs, f(xs), "k", lw=2.5, label="f(x) = exp(sin x) / (1 + x^2)")
factorial = np.cumprod([1.0] + list(range(1, K + 1)))
for order, color in zip((1, 2, 4, 8, 16), plt.cm.viridis(np.linspace(0.1, 0.9, 5))):
    coeffs = np.array(ds[:order + 1]) / factorial[:order + 1]
    p = np.polynomial.polynomial.polyval(xs - x0, coeffs)
    ax.plot(xs, p, color=color, lw=1.3, label=f"order {order}")
radius = abs(x0 - 1j)
ax.axvspan(x0 - radius, x0 + radius, color="0.93", zorder=0, label="radius of convergence")
ax.plot([x0], [f(x0)], "ko")
ax.set_ylim(-0.2, 2.0)
ax.set_xlabel("x")
ax.legend(fontsize=8, loc="upper right")
fig.tight_layout()

# %%
# Directional Taylor coefficients and ``jet``
# -------------------------------------------
# For functions of many variables, ``cr.taylor(g, x, v, K)`` gives the normalized coefficients
# of ``t -> g(x + t v)``, and ``cr.jet`` is the general form, as ``jax.experimental.jet``.


def g(x):
    return np.sum(np.tanh(x) ** 2)


x = np.array([0.2, -0.5, 1.0])
v = np.array([1.0, 2.0, -1.0])
c = cr.taylor(g, x, v, 3)
print("taylor coefficients:", np.array(c))
print("c2 * 2! equals v.H.v:", 2 * c[2], v @ cr.hessian(g)(x) @ v)

# %%
# Cost against order
# ------------------
# Nested ``grad`` re-differentiates the derivative each time; Taylor mode stays one pass.
orders = range(1, 6)
nested, taylor = [], []
for k in orders:
    fk = f
    for _ in range(k):
        fk = cr.grad(fk)
    t0 = time.perf_counter()
    fk(x0)
    nested.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    cr.derivative(f, k)(x0)
    taylor.append(time.perf_counter() - t0)
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.semilogy(list(orders), np.array(nested) * 1e3, "o-", label="nested grad")
ax.semilogy(list(orders), np.array(taylor) * 1e3, "s-", label="Taylor mode (derivative)")
ax.set_xlabel("order k")
ax.set_ylabel("time (ms), one call")
ax.legend()
fig.tight_layout()
