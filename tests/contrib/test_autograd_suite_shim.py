"""The name-mapping layer of benchmarks/autograd_suite (what runs autograd's own test suite
against chainrule): in a subprocess with the shim first on the path, autograd's names give
the closed-form derivatives. The suite itself needs an autograd checkout and is run by hand
(``python -m benchmarks.autograd_suite PATH``)."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIM = ROOT / "benchmarks" / "autograd_suite" / "shim"

PROGRAM = r"""
import numpy as onp
import autograd
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats as stats
import autograd.scipy.special as special
from autograd import (grad, value_and_grad, jacobian, hessian, elementwise_grad, deriv,
                      make_vjp, make_jvp, hessian_tensor_product, tensor_jacobian_product,
                      make_ggnvp, grad_and_aux, holomorphic_grad)
from autograd.test_util import check_grads, combo_check

assert autograd.__file__.startswith(SHIM), autograd.__file__
x = onp.array([0.3, -1.2, 0.7])
assert onp.allclose(grad(lambda a, b: np.sum(np.sin(a) * b), 1)(x, 2 * x), onp.sin(x))
assert onp.allclose(value_and_grad(lambda a: np.sum(a ** 3))(x)[1], 3 * x ** 2)
assert onp.allclose(jacobian(np.tanh)(x), onp.diag(1 - onp.tanh(x) ** 2))
assert onp.allclose(hessian(lambda a: np.sum(a ** 3))(x), onp.diag(6 * x))
assert onp.allclose(elementwise_grad(np.exp)(x), onp.exp(x))
assert onp.allclose(deriv(np.sin)(x), onp.cos(x))
vjp, ans = make_vjp(np.sin)(x)
assert onp.allclose(vjp(onp.ones(3)), onp.cos(x)) and onp.allclose(ans, onp.sin(x))
assert onp.allclose(make_jvp(np.sin)(x)(onp.ones(3))[1], onp.cos(x))
v = onp.array([1.0, 2.0, -1.0])
assert onp.allclose(hessian_tensor_product(lambda a: np.sum(a ** 3))(x, v), 6 * x * v)
assert onp.allclose(tensor_jacobian_product(np.sin)(x, v), v * onp.cos(x))
assert onp.allclose(make_ggnvp(np.sin)(x)(v), onp.cos(x) ** 2 * v)
g, aux = grad_and_aux(lambda a: (np.sum(a ** 2), "aux"))(x)
assert onp.allclose(g, 2 * x) and aux == "aux"
assert onp.isclose(holomorphic_grad(lambda z: z ** 2)(1.0 + 2.0j), 2.0 + 4.0j)
assert onp.isclose(grad(lambda m: stats.norm.logpdf(0.5, m, 2.0))(0.1), 0.4 / 4.0)
assert onp.isclose(grad(special.gammaln)(2.5), special.digamma(2.5))
check_grads(lambda a: np.sum(np.linalg.eigvals(np.diag(a) + 0.1 * np.outer(a, a[::-1])).real))(x)
combo_check(np.sum, [0])([x], axis=[None, 0])
assert npr.randn(2).shape == (2,) and np.__version__ == onp.__version__
print("ok")
"""


def test_shim_maps_autograds_names_to_chainrule():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SHIM), str(ROOT)]))
    out = subprocess.run([sys.executable, "-c", f"SHIM = {str(SHIM)!r}\n" + PROGRAM],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
