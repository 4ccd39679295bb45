"""Taylor rules against nested forward mode, through the derivative tables.

Every case of every derivative table (GRAD_CASES of the ops/numpy/scipy suites, the CASES of the
linear-algebra and FFT suites, and TAYLOR_CASES below for what only derivatives reach) is pushed
along a random polynomial curve ``x(t) = x0 + x1 t + ... + xK t^K`` in one Taylor-mode pass, and
each output coefficient is compared with the k-th derivative of ``t -> f(x(t))`` at 0 by nested
JVPs, divided by k!. All cases go to order 3; a set of cases that together apply every
primitive goes to order 6.
"""
import importlib.util
import math
import pathlib
import warnings

import numpy as np
import pytest
import scipy.special as ss

import chainrule as cr
import chainrule.scipy.linalg as csl
import chainrule.scipy.special as css
from chainrule.core import new_interpreter, tree_flatten, tree_map

from gradcases import _Recorder, _RecTracer, load_tables

TESTS = pathlib.Path(__file__).resolve().parents[1]
rng = np.random.default_rng(11)
A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
S = A @ A.T
T = rng.standard_normal((4, 3))
X = rng.uniform(-2, 2, 5)
Z = rng.standard_normal(4) + 1j * rng.standard_normal(4)

# what only derivatives reach (primitives of transposes, zero-safe products), and a few more
TAYLOR_CASES = [
    ("grad inside", lambda x: cr.grad(lambda y: np.sum(np.sqrt(y ** 2 + 1) * np.prod(y)))(x),
     (X,)),
    ("grad of expm", lambda a: cr.grad(lambda b: np.sum(csl.expm(0.3 * b) ** 2))(a), (A,)),
    ("grad of logdet", lambda a: cr.grad(lambda b: np.linalg.slogdet(b)[1])(a), (A,)),
    ("hessian-vector inside", lambda x: cr.jvp(cr.grad(lambda y: np.sum(np.sin(y) * y[::-1])),
                                               (x,), (np.cos(x),))[1], (X,)),
    ("complex abs", lambda x: np.abs(x * Z[:1] + Z) ** 2 + np.abs(np.exp(1j * x)), (X[:4],)),
    ("complex pieces", lambda x: np.real(np.conj(x * Z) * (x + 2j)) + np.imag(Z / (x + 1j)),
     (X[:4],)),
    ("eigh vectors", lambda a: np.linalg.eigh(a)[1] ** 2, (S,)),
    ("qr tall", lambda a: tuple(np.linalg.qr(a)), (T,)),
    ("lu", lambda a: csl.lu_factor(a)[0], (A,)),
    ("triangular upper transposed",
     lambda a, b: csl.solve_triangular(a, b, lower=False, trans=1, unit_diagonal=True), (A, T.T)),
    ("expm frechet", lambda a, e: csl.expm_frechet(0.3 * a, e), (A, S)),
    ("norms", lambda x: np.linalg.norm(x) + np.linalg.norm(x.reshape(1, 5), axis=1)[0], (X,)),
    ("logsumexp", lambda x: css.logsumexp(x * x), (X,)),
    ("special", lambda x: ss.erfinv(np.tanh(x)) + ss.ndtri(ss.expit(x)) + ss.log_ndtr(x)
     + ss.gammaln(x ** 2 + 1) + css.polygamma(1, x ** 2 + 1), (X,)),
    ("power at zero", lambda x: (x * 0) ** 3 + x ** 2 + np.abs(x) ** 2.5, (X,)),
    ("traced exponent", lambda x: np.abs(x) ** x + 2.0 ** x, (X,)),
    ("svd wide", lambda a: [c ** 2 for c in np.linalg.svd(a.T, full_matrices=False)], (T,)),
    ("pinv of constant rank 2", lambda b: np.linalg.pinv(b @ np.array([[1.0, 0, 1], [0, 1, 1]])),
     (T[:, :2],)),
]


def _linalg_tables():
    cases = []
    for path in sorted((TESTS / "linalg").glob("test_*.py")) + \
            sorted((TESTS / "fft").glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"_taylor_tables_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if hasattr(mod, "RE"):   # the complex table: functions of (RE, IM)
            cases += [(c[0], c[1], (mod.RE, mod.IM)) for c in mod.CASES]
            continue
        for table in ("CASES", "REAL_IN", "HALF_IN"):
            cases += [(c[0], c[1], tuple(c[2])) for c in getattr(mod, table, [])]
    return cases


def _all_cases():
    cases = [(c.name, c.f, c.args) for c in load_tables(exclude=[__file__])]
    return cases + _linalg_tables() + TAYLOR_CASES


CASES = _all_cases()


def _nested_derivatives(g, n):
    """``[g(0), g'(0), ..., g^(n)(0)]`` by n nested JVPs in one pass: level k returns the pair
    (value, derivative) of level k - 1, so order j is the leaf reached by taking the derivative
    at the j outermost levels and the value below."""
    for _ in range(n):
        g = (lambda h: lambda t: cr.jvp(h, (t,), (1.0,)))(g)
    tree = g(0.0)
    out = []
    for j in range(n + 1):
        leaf = tree
        for level in range(n):
            leaf = leaf[1 if level < j else 0]
        out.append(leaf)
    return out


def check_taylor(f, args, order, seed=0):
    """None if the Taylor coefficients of f along a random curve agree with nested JVPs, else
    a message."""
    gen = np.random.default_rng(seed)
    args = [np.array(a, copy=True) for a in args]
    curve = [[0.3 * gen.standard_normal(np.shape(a)) for _ in range(order)] for a in args]
    _, terms = cr.jet(lambda *xs: f(*xs), tuple(np.array(a, copy=True) for a in args),
                      tuple(curve), normalized=True)

    def g(t):
        return f(*[a + sum(c * t ** (j + 1) for j, c in enumerate(cs))
                   for a, cs in zip(args, curve)])
    derivatives = _nested_derivatives(g, order)
    for k in range(1, order + 1):
        want = tree_flatten(derivatives[k])[0]
        got = tree_flatten(terms[k - 1])[0]
        for w, x in zip(want, got):
            w = np.asarray(w) / math.factorial(k)
            scale = 1.0 + np.max(np.abs(w), initial=0.0)
            if not np.allclose(x, w, rtol=1e-6, atol=1e-6 * scale):
                return f"order {k}: max error {np.max(np.abs(np.asarray(x) - w)):.3g}"
    return None


def _primitives_applied(f, args):
    with new_interpreter(_Recorder) as rec:
        f(*tree_map(lambda a: _RecTracer(rec, a), tuple(np.array(a, copy=True) for a in args)))
    return rec.seen


def _covering_cases():
    """A few cases that together apply every primitive any case applies (greedy cover)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reached = [(name, f, args, _primitives_applied(f, args)) for name, f, args in CASES]
    todo = set().union(*[r[3] for r in reached])
    chosen = []
    while todo:
        best = max(reached, key=lambda r: (len(r[3] & todo), -len(r[3])))
        chosen.append(best[:3])
        todo -= best[3]
    return chosen


COVER = _covering_cases()


def test_every_table_case_to_third_order():
    failures = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, f, args in CASES:
            msg = check_taylor(f, args, 3)
            if msg:
                failures.append(f"{name}: {msg}")
    assert not failures, "\n".join(failures)


# nested JVPs of expm_frechet double the matrix size at every level: order 4 there
ORDER = {"expm_frechet": 4, "expm frechet": 4, "grad of expm": 4}


@pytest.mark.parametrize("name,f,args", COVER, ids=[c[0] for c in COVER])
def test_every_primitive_to_sixth_order(name, f, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert check_taylor(f, args, ORDER.get(name, 6)) is None


def test_the_cover_reaches_the_families():
    applied = set().union(*[_primitives_applied(f, args) for _, f, args in COVER])
    for name in ("sin", "mul", "div", "pow", "dot_general", "cholesky", "eigh", "fft",
                 "reduce_prod", "cumprod", "scatter_add", "setitem", "select", "add_any",
                 "expm_frechet", "complex_abs", "logsumexp", "polygamma"):
        assert name in applied, name
