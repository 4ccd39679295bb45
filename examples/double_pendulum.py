"""A double pendulum from its Lagrangian: equations of motion by AD, RK4 by scan, and the
sensitivity of the final angle to the initial state.

Only the Lagrangian L(q, q') = T - V is written by hand (unit masses and lengths, g = 9.81).
The equations of motion follow from Euler-Lagrange, with every derivative taken by chainrule:

    M(q, q') q'' = dL/dq - (d/dq dL/dq') q',     M = the Hessian of L in q'

RK4 with dt = 0.01 integrates them with ``chainrule.scan``; reverse mode through the whole run
gives the gradient of the final angle of the lower arm with respect to the initial angles and
angular velocities (derivatives of the derivative-built dynamics: second and third derivatives
of L). Checked against central differences and JAX (when installed).

    python examples/double_pendulum.py [--steps T] [--plot]

CHAINRULE_QUICK=1 runs 100 steps (tests and docs).
"""
import argparse
import os
import time

import numpy as np

import chainrule as cr

G, DT = 9.81, 0.01


def lagrangian(q, qd, xp=np):
    t1, t2 = q[0], q[1]
    w1, w2 = qd[0], qd[1]
    kinetic = w1 ** 2 + 0.5 * w2 ** 2 + w1 * w2 * xp.cos(t1 - t2)
    potential = -2 * G * xp.cos(t1) - G * xp.cos(t2)
    return kinetic - potential


def accelerations(q, qd):
    """q'' from Euler-Lagrange, every derivative of L by AD."""
    M = cr.hessian(lagrangian, argnums=1)(q, qd)
    dL_dq = cr.grad(lagrangian, argnums=0)(q, qd)
    mixed = cr.jacfwd(cr.grad(lagrangian, argnums=1), argnums=0)(q, qd)
    return np.linalg.solve(M, dL_dq - mixed @ qd)


def rk4_step(state, acc, xp=np):
    def f(s):
        return xp.concatenate([s[2:], acc(s[:2], s[2:])])
    k1 = f(state)
    k2 = f(state + 0.5 * DT * k1)
    k3 = f(state + 0.5 * DT * k2)
    k4 = f(state + DT * k3)
    return state + DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def rk4(state, _):
    new = rk4_step(state, accelerations)
    return new, new[:2]


def simulate(state0, T):
    final, angles = cr.scan(rk4, state0, None, length=T)
    return final, angles


def final_angle(state0, T):
    return simulate(state0, T)[0][1]


def jax_gradient(state0, T):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def L(q, qd):
        return lagrangian(q, qd, jnp)

    def acc(q, qd):
        M = jax.hessian(L, argnums=1)(q, qd)
        mixed = jax.jacfwd(jax.grad(L, argnums=1), argnums=0)(q, qd)
        return jnp.linalg.solve(M, jax.grad(L, argnums=0)(q, qd) - mixed @ qd)

    def step(s, _):
        return rk4_step(s, acc, jnp), None

    def angle(s0):
        return jax.lax.scan(step, s0, None, length=T)[0][1]
    return np.asarray(jax.grad(angle)(jnp.asarray(state0)))


def main(argv=None):
    quick = os.environ.get("CHAINRULE_QUICK") == "1"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100 if quick else 1000)
    ap.add_argument("--plot", action="store_true")
    args = ap.parse_args(argv)
    T = args.steps
    state0 = np.array([1.2, 0.9, 0.0, 0.5])
    t = time.perf_counter()
    g = cr.grad(final_angle)(state0, T)
    print(f"{T} RK4 steps: final angle {final_angle(state0, T):.6f} rad, gradient w.r.t. "
          f"(theta1, theta2, omega1, omega2) = {np.array2string(g, precision=6)} "
          f"({time.perf_counter() - t:.2f} s)")
    eps = 1e-6
    fd = np.array([(final_angle(state0 + eps * e, T) - final_angle(state0 - eps * e, T))
                   / (2 * eps) for e in np.eye(4)])
    print(f"central differences: max relative difference "
          f"{np.abs(fd - g).max() / np.abs(g).max():.1e}")
    gj = jax_gradient(state0, T)
    if gj is not None:
        print(f"JAX: max relative difference {np.abs(gj - g).max() / np.abs(g).max():.1e}")
    energy = cr.jit(_energy)
    final, _ = simulate(state0, T)
    print(f"energy drift over the run: {abs(energy(final) - energy(state0)):.2e}")
    if args.plot:
        import matplotlib.pyplot as plt
        _, angles = simulate(state0, T)
        x1, y1 = np.sin(angles[:, 0]), -np.cos(angles[:, 0])
        x2, y2 = x1 + np.sin(angles[:, 1]), y1 - np.cos(angles[:, 1])
        plt.plot(x2, y2, lw=0.8, label="lower bob")
        plt.plot(x1, y1, lw=0.8, label="upper bob")
        plt.gca().set_aspect("equal")
        plt.legend()
        plt.title(f"double pendulum, {T} RK4 steps")
        plt.show()
    return g


def _energy(s):
    """The energy as the Legendre transform of L: q' . dL/dq' - L."""
    q, qd = s[:2], s[2:]
    return qd @ cr.grad(lagrangian, argnums=1)(q, qd) - lagrangian(q, qd)


if __name__ == "__main__":
    main()
