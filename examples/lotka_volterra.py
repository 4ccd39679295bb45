"""Fit the four parameters of the Lotka-Volterra predator-prey model to noisy observations:
scipy.optimize.least_squares (chainrule.optimize) on the residuals of the ODE solution
(chainrule.integrate.odeint). chainrule differentiates straight through odeint: the Jacobian
of the residuals comes from forward sensitivities (the ODE augmented with dy/dp, one solve per
point, compiled right-hand side).

    x' = a x - b x y,    y' = -c y + d x y,    (a, b, c, d) = (1.0, 0.6, 0.8, 0.4) true

Then it checks the gradient of the sum of squares three ways: forward sensitivities, the
adjoint method (odeint_vjp(..., sensitivity="adjoint")) and central differences of the solve.

    python examples/lotka_volterra.py [--obs 50] [--noise 0.05] [--plot]
"""
import argparse
import time

import numpy as np

import chainrule.integrate as cri
import chainrule.numpy as cnp
import chainrule.optimize as cro

TRUE = np.array([1.0, 0.6, 0.8, 0.4])
Y0 = np.array([2.0, 1.0])
TOL = dict(rtol=1e-9, atol=1e-9)


def lotka_volterra(y, t, p):
    """dy/dt for y = (prey, predators), p = (a, b, c, d)."""
    return cnp.stack([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


def observations(n_obs, noise, seed=0):
    t = np.linspace(0, 15, n_obs + 1)
    ys = cri.odeint(lotka_volterra, Y0, t, TRUE, **TOL)
    return t, ys[1:] * (1 + noise * np.random.default_rng(seed).standard_normal(ys[1:].shape))


def rk4_residuals(p, data, steps=200, t_end=15.0):
    """(2 n_obs,) residuals of the observations ``data`` (n_obs, 2), evenly spaced on
    (0, t_end], from ``steps`` fixed RK4 steps (a multiple of n_obs) written as a Python loop:
    the fixed-step variant of the fit (BENCHMARKS.md W10d), differentiable in p by any mode."""
    dt, every = t_end / steps, steps // data.shape[0]
    y, out = Y0, []
    for s in range(steps):
        k1 = lotka_volterra(y, 0.0, p)
        k2 = lotka_volterra(y + 0.5 * dt * k1, 0.0, p)
        k3 = lotka_volterra(y + 0.5 * dt * k2, 0.0, p)
        k4 = lotka_volterra(y + dt * k3, 0.0, p)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if (s + 1) % every == 0:
            out.append(y)
    return (cnp.stack(out) - data).ravel()


class Fit:
    """The residuals (2 n_obs,) of the observations at t, and (for the gradient check) their
    Jacobian (2 n_obs, 4) from odeint_jacobian."""

    def __init__(self, t, data):
        self.t, self.data = t, data

    def residuals(self, p):
        """(2 n_obs,) residuals; differentiable in p (odeint's derivative rules)."""
        return (cri.odeint(lotka_volterra, Y0, self.t, p, jit=True, **TOL)[1:]
                - self.data).ravel()

    def jacobian(self, p):
        _, (_, (J_p,)) = cri.odeint_jacobian(lotka_volterra, Y0, self.t, p, jit=True, **TOL)
        return J_p[1:].reshape(-1, 4)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--obs", type=int, default=50, help="observation times")
    ap.add_argument("--noise", type=float, default=0.05, help="relative noise")
    ap.add_argument("--plot", action="store_true", help="draw data and fit with matplotlib")
    args = ap.parse_args(argv)
    t, data = observations(args.obs, args.noise)
    fit = Fit(t, data)
    p0 = np.array([0.8, 0.4, 1.0, 0.3])
    t0 = time.perf_counter()
    res = cro.least_squares(fit.residuals, p0, bounds=(0, np.inf))    # Jacobian by AD
    print(f"fit from {p0}: {res.x.round(4)} (true {TRUE}), cost {res.cost:.4g}, "
          f"{res.nfev} residual and {res.njev} Jacobian evaluations, "
          f"{time.perf_counter() - t0:.2f} s")

    def cost(p):
        return 0.5 * np.sum(fit.residuals(p)**2)
    ys, vjp_fn = cri.odeint_vjp(lotka_volterra, Y0, t, p0, sensitivity="adjoint", jit=True,
                                **TOL)
    bar = np.vstack([np.zeros((1, 2)), ys[1:] - data])
    adjoint = vjp_fn(bar)[1]
    forward = fit.jacobian(p0).T @ fit.residuals(p0)
    h = 1e-6
    fd = np.array([(cost(p0 + h * e) - cost(p0 - h * e)) / (2 * h) for e in np.eye(4)])
    print(f"gradient of the cost at p0: adjoint {adjoint.round(6)}; |forward - adjoint| / "
          f"|adjoint| = {np.linalg.norm(forward - adjoint) / np.linalg.norm(adjoint):.1e}, "
          f"|central differences - adjoint| / |adjoint| = "
          f"{np.linalg.norm(fd - adjoint) / np.linalg.norm(adjoint):.1e}")
    if args.plot:
        import matplotlib.pyplot as plt
        tt = np.linspace(0, t[-1], 400)
        ys = cri.odeint(lotka_volterra, Y0, tt, res.x, **TOL)
        for i, name in enumerate(("prey", "predators")):
            plt.plot(t[1:], data[:, i], "o", ms=3, label=f"{name} (data)")
            plt.plot(tt, ys[:, i], label=f"{name} (fit)")
        plt.legend()
        plt.xlabel("t")
        plt.show()
    return res


if __name__ == "__main__":
    main()
