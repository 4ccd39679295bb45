"""The examples run, at small sizes, and reach what they claim: those of chainrule.optimize /
chainrule.integrate, and the simulations through scan (gradients against central differences
and jax.lax.scan)."""
import importlib.util
import pathlib

import numpy as np
import pytest
import scipy.optimize as so

import chainrule as cr

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_lennard_jones(capsys):
    mod = load("lennard_jones")
    res = mod.main(["--n", "8"])
    assert "N = 8" in capsys.readouterr().out
    assert res.x.shape == (8, 3) and res.fun < mod.energy(mod.fcc_start(8))
    # a stationary point: the gradient of the energy (central differences) vanishes there
    x, h = res.x.ravel(), 1e-6
    g = [(mod.energy((x + h * e).reshape(8, 3)) - mod.energy((x - h * e).reshape(8, 3)))
         / (2 * h) for e in np.eye(24)]
    assert np.max(np.abs(g)) < 1e-4


def test_brusselator(capsys):
    mod = load("brusselator")
    sol = mod.main(["--k", "6", "--t-end", "0.5", "--jit", "--compare"])
    out = capsys.readouterr().out
    assert sol.success and "sparse AD Jacobian" in out and "jac_sparsity" in out


def test_lotka_volterra(capsys):
    mod = load("lotka_volterra")
    res = mod.main(["--obs", "8", "--noise", "0.0"])
    np.testing.assert_allclose(res.x, mod.TRUE, rtol=1e-5)     # noise-free data: exact fit
    assert "central differences" in capsys.readouterr().out


def test_shooting():
    mod = load("shooting")
    res = mod.main(["--target", "10", "2", "--time", "1.0"])
    assert res.success
    # the same root by SciPy's own finite-difference Newton (hybr without jac)
    def miss(v):
        s = mod.cri.odeint(mod.ball, np.concatenate([np.zeros(2), v]), np.array([0.0, 1.0]),
                           0.02, **mod.TOL)
        return s[-1, :2] - np.array([10.0, 2.0])
    ref = so.root(miss, np.array([10.0, 7.0]))
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7)


# -- the simulation examples (scan): gradients against central differences and jax.lax.scan --
def test_spring_ring_gradient():
    ex = load("spring_simulation")
    x0, v0 = ex.initial_state()
    T = 60
    g = cr.grad(ex.loss)(v0, x0, T)
    fd = ex.central_differences(lambda v: ex.loss(v, x0, T), v0)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * np.abs(g).max())
    np.testing.assert_allclose(g, ex.jax_gradient(v0, x0, T), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(ex.loss)(v0, x0, T, 3), g, rtol=1e-14)


def test_double_pendulum_gradient():
    ex = load("double_pendulum")
    s0 = np.array([1.2, 0.9, 0.0, 0.5])
    T = 25
    g = cr.grad(ex.final_angle)(s0, T)
    np.testing.assert_allclose(g, ex.jax_gradient(s0, T), rtol=1e-11)
    eps = 1e-6
    fd = [(ex.final_angle(s0 + eps * e, T) - ex.final_angle(s0 - eps * e, T)) / (2 * eps)
          for e in np.eye(4)]
    np.testing.assert_allclose(g, fd, rtol=1e-6)


@pytest.mark.parametrize("name", ["spring_simulation", "double_pendulum"])
def test_example_runs(name, monkeypatch, capsys):
    monkeypatch.setenv("CHAINRULE_QUICK", "1")
    load(name).main(["--steps", "20"])
    out = capsys.readouterr().out
    assert "central differences: max relative difference" in out


def test_out_of_core_regression(capsys):
    """Dask data generated chunk-wise: L-BFGS reaches a point where the closed-form gradient
    of the logistic loss vanishes, and the lazy gradient equals the closed form."""
    import dask
    ex = load("out_of_core_regression")
    res, (X, y) = ex.main(["--rows", "20000", "--chunk-rows", "5000"])
    out = capsys.readouterr().out
    assert "4 chunks" in out and "peak resident memory" in out
    Xn, yn = dask.compute(X, y)

    def closed_form(w):
        return Xn.T @ (1.0 / (1.0 + np.exp(-Xn @ w)) - yn) / len(yn)
    assert np.abs(closed_form(res.x)).max() < 2e-5
    w = np.linspace(0.3, -0.2, 10)
    np.testing.assert_allclose(cr.grad(ex.loss)(w, X, y).compute(), closed_form(w),
                               rtol=1e-12)
