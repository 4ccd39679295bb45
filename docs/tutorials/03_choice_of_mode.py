"""
Which mode for which shape
==========================

A Jacobian of ``f: R^n -> R^m`` has ``m`` rows and ``n`` columns. Forward mode computes it one
column (input direction) at a time, reverse mode one row (output) at a time. So forward mode
costs about ``n`` sweeps and reverse mode about ``m``: forward mode suits *tall* Jacobians
(few inputs, many outputs), reverse mode *wide* ones (many inputs, few outputs; a loss
function is the widest there is, m = 1). This page measures that, when the site is built.
"""
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
sizes = [4, 16, 64, 256] if QUICK else [4, 16, 64, 256, 1024]
rng = np.random.default_rng(0)

# %%
# Two layers of a network
# -----------------------
# The *tall* function maps 4 parameters to ``n`` outputs through a dense layer; the *wide* one
# maps ``n`` inputs to 4 outputs. To count sweeps as the textbook does, each Jacobian is built
# with ``chunk_size=1``: one sweep per column (``jacfwd``) or per row (``jacrev``).


def tall_case(n):
    A = rng.standard_normal((n, 4))
    return (lambda p: np.tanh(A @ p)), np.full(4, 0.1)


def wide_case(n):
    B = rng.standard_normal((4, n)) / np.sqrt(n)
    return (lambda x: B @ np.tanh(x)), np.linspace(-1.0, 1.0, n)


def best_time(fn, budget=0.05 if QUICK else 0.3):
    fn()
    times, start = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


results = {}
for name, make in (("tall: R^4 -> R^n", tall_case), ("wide: R^n -> R^4", wide_case)):
    rows = []
    for n in sizes:
        f, x = make(n)
        fwd, rev = cr.jacfwd(f, chunk_size=1), cr.jacrev(f, chunk_size=1)
        assert np.allclose(fwd(x), rev(x))
        rows.append((best_time(lambda: fwd(x)), best_time(lambda: rev(x))))
        _, info = cr.jacobian(f, explain=True)(x)
        print(f"{name:18s} n = {n:5d}: forward {rows[-1][0] * 1e3:8.2f} ms, reverse "
              f"{rows[-1][1] * 1e3:8.2f} ms; jacobian() chose {info['mode']}")
    results[name] = np.array(rows)

# %%
# The measured cost
# -----------------
# Time against ``n``, both axes logarithmic. For the tall function forward mode stays flat
# (4 sweeps whatever ``n``) while reverse mode grows in proportion to the ``n`` rows; for the
# wide function it is the other way round. (Timed on the machine that built this page, which
# may be busy: the slopes matter, not single points.)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
for ax, (name, rows) in zip(axes, results.items()):
    ax.loglog(sizes, rows[:, 0] * 1e3, "o-", label="forward (jacfwd)")
    ax.loglog(sizes, rows[:, 1] * 1e3, "s-", label="reverse (jacrev)")
    ax.set_title(name)
    ax.set_xlabel("n")
    ax.grid(True, which="both", alpha=0.3)
axes[0].set_ylabel("time per Jacobian (ms)")
axes[0].legend()
fig.tight_layout()

# %%
# Vectorized sweeps
# -----------------
# By default ``jacfwd`` and ``jacrev`` push all directions through in *one* vectorized sweep,
# which removes the per-sweep Python overhead: at these sizes the two modes come close. The
# unsuited mode still does ``n`` times the arithmetic wherever the elements mix (here the
# matrix product), which shows as ``n`` grows (``docs/benchmarks.md``, W3 and W4).
n = sizes[-1]
for name, make in (("tall", tall_case), ("wide", wide_case)):
    f, x = make(n)
    print(f"{name}, n = {n}, one vectorized sweep: forward "
          f"{best_time(lambda: cr.jacfwd(f)(x)) * 1e3:.2f} ms, reverse "
          f"{best_time(lambda: cr.jacrev(f)(x)) * 1e3:.2f} ms")

# %%
# ``cr.jacobian`` makes the choice
# --------------------------------
# ``cr.jacobian(f)`` picks forward mode when the inputs are fewer than the outputs and says why
# with ``explain=True``:
f, x = tall_case(50)
_, info = cr.jacobian(f, explain=True)(x)
print(info)

# %%
# When the elements stay apart
# ----------------------------
# Without a matrix product, chainrule's sweeps keep their unit seeds as one-hot terms (each
# output element depends on one input element), so even the unsuited mode is cheap: an
# elementwise function costs about the same in both modes.
t = np.linspace(0.0, 10.0, 2000)


def curve(p):
    return p[0] * np.sin(p[1] * t) + p[2] * np.exp(-p[3] * t)


p = np.array([1.0, 0.7, 0.5, 0.3])
print(f"curve R^4 -> R^2000: forward {best_time(lambda: cr.jacfwd(curve)(p)) * 1e3:.2f} ms, "
      f"reverse {best_time(lambda: cr.jacrev(curve)(p)) * 1e3:.2f} ms")

# %%
# Mixing modes
# ------------
# Second derivatives mix both: ``cr.hessian`` is forward mode over reverse mode (the gradient is
# a wide-to-square function, its Jacobian is taken in forward mode), and ``cr.hvp`` gives a
# Hessian-vector product without forming the Hessian.
A = np.array([[2.0, 1.0], [1.0, 3.0]])


def energy(x):
    return 0.5 * x @ A @ x + np.sum(np.cos(x))


x = np.array([0.3, -0.4])
print("hessian:\n", cr.hessian(energy)(x))
print("closed form A - diag(cos x):\n", A - np.diag(np.cos(x)))
print("hvp with v = (1, 0):", cr.hvp(energy, x, np.array([1.0, 0.0])))
