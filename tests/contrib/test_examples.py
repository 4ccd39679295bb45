"""The examples of chainrule.optimize / chainrule.integrate run, at small sizes, and reach
what they claim."""
import importlib.util
import pathlib

import numpy as np
import scipy.optimize as so

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
