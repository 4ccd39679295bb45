"""
Sparse Jacobians and Hessians
=============================

Discretized differential equations, optimal control and large optimization problems have
Jacobians and Hessians that are almost all zeros. If two columns of a Jacobian never have a
nonzero in the same row, one forward sweep along the sum of their directions computes both:
the results land in different rows. ``chainrule.sparse`` finds the pattern, colors the columns
(columns of one color share no row) and needs one sweep per *color* instead of one per input.
"""
import os

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse.linalg as spla

import chainrule as cr
from chainrule import plot
from chainrule.sparse import star_coloring

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"

# %%
# A pattern and its coloring
# --------------------------
# The residual of the Bratu problem ``-u'' = lam exp(u)`` on a grid couples each point with its
# two neighbours: a tridiagonal Jacobian. Three colors suffice, whatever the grid size.


def bratu(u, lam=1.0):
    h = 1.0 / (u.size + 1)
    up = np.pad(u, 1)
    return (2 * up[1:-1] - up[:-2] - up[2:]) / h**2 - lam * np.exp(u)


u = np.zeros(24)
prep = cr.prepare_sparse_jacobian(bratu, u)
print(prep.coloring, "->", prep.coloring.ncolors, "forward sweeps instead of", u.size)
axes = plot.spy(prep, compressed=True)

# %%
# Each nonzero is drawn in its column's color. Left: the pattern (valid for every ``u``: it
# comes from the program, not from values). Right: the compressed matrix the three sweeps
# compute; each of its entries is exactly one nonzero of the Jacobian, so nothing is lost.
J = prep(u).toarray()
print("equals the dense Jacobian:", np.allclose(J, cr.jacfwd(bratu)(u)))

# %%
# Newton's method with a prepared Jacobian
# ----------------------------------------
# The pattern and the coloring are found once; each Newton step then costs three sweeps and a
# sparse solve.
n = 2_000 if QUICK else 20_000
u = np.zeros(n)
prep = cr.prepare_sparse_jacobian(bratu, u)
for it in range(6):
    r = bratu(u)
    print(f"step {it}: |residual| = {np.linalg.norm(r):.3e}")
    u = u - spla.spsolve(prep(u).tocsc(), r)

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(np.linspace(0, 1, n + 2), np.pad(u, 1))
ax.set_xlabel("x")
ax.set_ylabel("u(x)")
ax.set_title("solution of -u'' = exp(u), u(0) = u(1) = 0")
fig.tight_layout()

# %%
# Hessians: a star coloring
# -------------------------
# A Hessian is symmetric, which allows fewer colors: a *star coloring* (every path on four
# vertices uses at least three colors) lets each nonzero be read from one Hessian-vector
# product. The energy of a 2-D grid with a 5-point stencil needs 5 colors for any grid size.
k = 8


def energy(x):
    v = x.reshape(k, k)
    return np.sum(np.diff(v, axis=0) ** 2) + np.sum(np.diff(v, axis=1) ** 2) + np.sum(v**4)


x = np.random.default_rng(0).uniform(size=k * k)
H_pattern = cr.hessian_sparsity(energy, x)
coloring = star_coloring(H_pattern)
print(coloring)
plot.spy(H_pattern, coloring)

H = cr.sparse_hessian(energy, x)
print("sparse Hessian equals the dense one:", np.allclose(H.toarray(), cr.hessian(energy)(x)))
