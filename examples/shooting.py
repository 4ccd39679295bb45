"""A shooting problem: the initial velocity (vx, vy) that sends a ball under gravity and
quadratic air drag to a target point at a given time, found by Newton's method
(chainrule.optimize.root, method "hybr") with the Jacobian of the end point with respect to
the initial velocity by AD straight through the ODE solve (chainrule.integrate.odeint's
forward sensitivities).

    x'' = -k |v| vx,    y'' = -g - k |v| vy,    x(0) = y(0) = 0

    python examples/shooting.py [--target 30 5] [--time 2.5] [--drag 0.02] [--plot]
"""
import argparse

import numpy as np

import chainrule.integrate as cri
import chainrule.numpy as cnp
import chainrule.optimize as cro

G = 9.81
TOL = dict(rtol=1e-10, atol=1e-10)


def ball(s, t, k):
    """s = (x, y, vx, vy) -> ds/dt."""
    speed = np.sqrt(s[2]**2 + s[3]**2)
    return cnp.stack([s[2], s[3], -k * speed * s[2], -G - k * speed * s[3]])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", type=float, nargs=2, default=[30.0, 5.0])
    ap.add_argument("--time", type=float, default=2.5, help="time of arrival")
    ap.add_argument("--drag", type=float, default=0.02, help="drag coefficient k")
    ap.add_argument("--plot", action="store_true", help="draw the trajectory")
    args = ap.parse_args(argv)
    target, t = np.array(args.target), np.array([0.0, args.time])

    def start(v):
        return cnp.concatenate([np.zeros(2), v])

    def miss(v):
        """(x, y)(T) - target for the initial velocity v; differentiable in v."""
        return cri.odeint(ball, start(v), t, args.drag, jit=True, **TOL)[-1, :2] - target
    v0 = target / args.time + np.array([0.0, 0.5 * G * args.time])     # no-drag guess
    res = cro.root(miss, v0)                # the Jacobian d(x, y)(T)/d(vx, vy)(0) by AD
    print(f"initial velocity {res.x.round(6)} (no-drag guess {v0.round(3)}), miss "
          f"{np.linalg.norm(miss(res.x)):.1e}, {res.nfev} solves, {res.njev} Jacobians, "
          f"success = {res.success}")
    if args.plot:
        import matplotlib.pyplot as plt
        tt = np.linspace(0, args.time, 200)
        path = cri.odeint(ball, start(res.x), tt, args.drag, **TOL)
        plt.plot(path[:, 0], path[:, 1], label="trajectory")
        plt.plot(*target, "rx", ms=10, label="target")
        plt.legend()
        plt.show()
    return res


if __name__ == "__main__":
    main()
