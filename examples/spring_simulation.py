"""Differentiable physics: steer a ring of springs by its initial velocities.

16 particles in 2-D joined in a ring by springs (rest length 1, stiffness 10) fall under gravity,
integrated by semi-implicit Euler (dt = 0.01) for T steps with ``chainrule.scan``. The loss is
the sum of squared final positions; its gradient with respect to the 32 initial velocities
comes from reverse mode through the whole simulation, with the step traced once, and with
``checkpoints="auto"`` the backward pass holds only as many states as fit a memory budget
(binomial checkpointing). A few steps of gradient descent then shrink the loss.

    python examples/spring_simulation.py [--steps T] [--plot]

The gradient is checked against central differences, and against JAX's ``lax.scan`` when JAX
is installed. CHAINRULE_QUICK=1 runs a short simulation (used by the tests and the docs).
"""
import argparse
import os
import time

import numpy as np

import chainrule as cr

N, DT, STIFF, REST = 16, 0.01, 10.0, 1.0
GRAVITY = np.array([0.0, -9.81])
NXT, PRV = (np.arange(N) + 1) % N, (np.arange(N) - 1) % N


def initial_state():
    theta = 2 * np.pi * np.arange(N) / N
    radius = 1.2 * REST / (2 * np.sin(np.pi / N))
    x0 = radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    v0 = 0.05 * np.random.default_rng(0).standard_normal((N, 2))
    return x0, v0


def make_step(xp):
    """One semi-implicit Euler step of the ring, for the array module ``xp`` (NumPy here, JAX's
    for the cross-check); chainrule differentiates the NumPy version unchanged."""
    def step(state, _):
        x, v = state
        dx = x[NXT] - x
        length = xp.sqrt(xp.sum(dx * dx, axis=1, keepdims=True))
        f = STIFF * (length - REST) * dx / length
        v = v + DT * (f - f[PRV] + GRAVITY)
        return (x + DT * v, v), None
    return step


step = make_step(np)


def loss(v0, x0, T, checkpoints=None):
    (x, _), _ = cr.scan(step, (x0, v0), None, length=T, checkpoints=checkpoints,
                        memory_limit=5e6)
    return np.sum(x * x)


def central_differences(f, v, eps=1e-6):
    g = np.zeros_like(v)
    for idx in np.ndindex(v.shape):
        e = np.zeros_like(v)
        e[idx] = eps
        g[idx] = (f(v + e) - f(v - e)) / (2 * eps)
    return g


def jax_gradient(v0, x0, T):
    """The same gradient by JAX's lax.scan (None when JAX is not installed)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    jstep = make_step(jnp)

    def jloss(v):
        (x, _), _ = jax.lax.scan(jstep, (jnp.asarray(x0), v), None, length=T)
        return jnp.sum(x * x)
    return np.asarray(jax.grad(jloss)(jnp.asarray(v0)))


def main(argv=None):
    quick = os.environ.get("CHAINRULE_QUICK") == "1"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100 if quick else 1000)
    ap.add_argument("--plot", action="store_true")
    args = ap.parse_args(argv)
    T = args.steps
    x0, v0 = initial_state()
    value_and_grad = cr.value_and_grad(loss)
    t = time.perf_counter()
    value, g = value_and_grad(v0, x0, T)
    print(f"T = {T} steps: loss {value:.6f}, gradient norm {np.linalg.norm(g):.6f} "
          f"({time.perf_counter() - t:.2f} s)")
    g_ck = cr.grad(loss)(v0, x0, T, "auto")
    print(f"checkpoints='auto' (5 MB budget): max difference {np.abs(g_ck - g).max():.1e}")
    fd = central_differences(lambda v: loss(v, x0, T), v0)
    print(f"central differences: max relative difference "
          f"{np.abs(fd - g).max() / np.abs(g).max():.1e}")
    gj = jax_gradient(v0, x0, T)
    if gj is not None:
        print(f"JAX lax.scan: max relative difference {np.abs(gj - g).max() / np.abs(g).max():.1e}")
    # steer the ring: gradient descent on the initial velocities
    v, lr, history = v0.copy(), 0.2 / max(1.0, np.abs(g).max()), [value]
    for _ in range(20):
        value, g = value_and_grad(v, x0, T)
        v = v - lr * g
        history.append(value)
    print(f"gradient descent, 20 steps: loss {history[0]:.4f} -> {history[-1]:.4f}")
    if args.plot:
        import matplotlib.pyplot as plt
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4))
        for vel, label in ((v0, "initial"), (v, "optimized")):
            (x, _), _ = cr.scan(step, (x0, vel), None, length=T)
            ax1.plot(*np.vstack([x, x[:1]]).T, "o-", label=f"final ring, {label} velocities")
        ax1.plot(*np.vstack([x0, x0[:1]]).T, "k--", label="start")
        ax1.set_aspect("equal")
        ax1.legend(fontsize=7)
        ax2.semilogy(history)
        ax2.set_xlabel("gradient step")
        ax2.set_ylabel("loss")
        fig.tight_layout()
        plt.show()
    return g


if __name__ == "__main__":
    main()
