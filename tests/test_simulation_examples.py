"""The simulation examples (examples/spring_simulation.py, examples/double_pendulum.py): their
gradients through scan agree with central differences and with JAX's lax.scan, and the scripts
run end to end."""
import importlib.util
import pathlib

import numpy as np
import pytest

import chainrule as cr

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_spring_ring_gradient():
    ex = _load("spring_simulation")
    x0, v0 = ex.initial_state()
    T = 60
    g = cr.grad(ex.loss)(v0, x0, T)
    fd = ex.central_differences(lambda v: ex.loss(v, x0, T), v0)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * np.abs(g).max())
    np.testing.assert_allclose(g, ex.jax_gradient(v0, x0, T), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(ex.loss)(v0, x0, T, 3), g, rtol=1e-14)


def test_double_pendulum_gradient():
    ex = _load("double_pendulum")
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
    _load(name).main(["--steps", "20"])
    out = capsys.readouterr().out
    assert "central differences: max relative difference" in out
