"""docs/supported.md is generated from the dispatch tables (python -m chainrule.numpy) and must
match them; unsupported functions raise UnsupportedFunctionError naming the function."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.special as ss

import chainrule as cr
import chainrule.scipy.special as css
from chainrule import UnsupportedFunctionError
from chainrule.numpy import __main__ as generator
from chainrule.numpy import _dispatch

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "supported.md"


def test_committed_list_is_the_generated_one():
    assert DOC.read_text() == generator.render(), (
        "docs/supported.md is out of date: regenerate it with "
        "`python -m chainrule.numpy > docs/supported.md`")


def test_module_entry_point_prints_it():
    out = subprocess.run([sys.executable, "-m", "chainrule.numpy"], capture_output=True,
                         text=True, check=True, cwd=DOC.parents[1]).stdout
    assert out == generator.render()


def test_scipy_function_names_agree():
    assert set(_dispatch.scipy_functions) <= set(css.__all__)
    extra = {n for n in css.__all__ if not isinstance(getattr(ss, n, None), np.ufunc)}
    assert extra == set(_dispatch.scipy_functions)


def test_every_floating_ufunc_is_supported():
    assert "None." in generator.render().split("not supported")[-1]


@pytest.mark.parametrize("f, name", [
    (lambda x: np.polyfit(x, x, 1), "numpy.polyfit"),
    (lambda x: np.unique(x, axis=0), "numpy.unique"),
    (lambda x: np.fft.fftfreq(3) * np.ediff1d(x), "numpy.ediff1d"),
    (lambda x: np.lexsort((x,)), "numpy.lexsort"),
    (lambda x: ss.struve(1.0, x), "scipy.special.struve"),
    (lambda x: np.gcd(x, x), "gcd"),
])
def test_unsupported_raises_named_error(f, name):
    with pytest.raises(UnsupportedFunctionError, match=name):
        cr.grad(lambda x: np.sum(f(x)))(np.ones(3))
    with pytest.raises(UnsupportedFunctionError, match=name):
        cr.jvp(f, (np.ones(3),), (np.ones(3),))


def test_scipy_module_names_agree():
    import importlib
    for mod, names in _dispatch.scipy_modules.items():
        assert set(names) == set(importlib.import_module(f"chainrule.scipy.{mod}").__all__), mod


def test_scipy_linalg_names_agree():
    import chainrule.scipy.linalg as csl
    public = {n for n, f in vars(csl).items() if not n.startswith("_") and callable(f)
              and getattr(f, "__module__", "").startswith("chainrule.scipy")}
    assert set(_dispatch.scipy_linalg) == public
