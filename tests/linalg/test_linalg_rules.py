"""Rule coverage and batching of the linear-algebra, FFT and complex primitives."""
import importlib.util
import pathlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.scipy.linalg as csl
from chainrule.core import (Interpreter, Primitive, Tracer, bind, get_aval, new_interpreter,
                            tree_map)
from chainrule.ops import complex as cx
from chainrule.ops import decompositions, fft, linalg

MODULES = [linalg, decompositions, fft, cx]
PRIMS = list({id(p): p for m in MODULES for name, p in vars(m).items()
               if name.endswith("_p") and isinstance(p, Primitive)}.values())


@pytest.mark.parametrize("prim", PRIMS, ids=[p.name for p in PRIMS])
def test_every_primitive_has_its_rules(prim):
    for slot in ("impl", "abstract_eval", "jvp", "deriv_class", "batch"):
        assert getattr(prim, slot) is not None, f"{prim.name} lacks {slot}"
    if prim.linear_in:
        assert prim.transpose is not None, f"{prim.name} is linear but has no transpose"
    assert all(c in ("zero", "linear", "nonlinear", "cross") for c in prim.deriv_class)


class _Seen(Tracer):
    __slots__ = ("val",)

    def __init__(self, interp, val):
        self._interp, self.val = interp, val

    @property
    def aval(self):
        return get_aval(self.val)

    def concrete_value(self):
        return self.val


class _Record(Interpreter):
    """Evaluates as usual and notes the name of every primitive applied."""
    __slots__ = ("names",)

    def __init__(self, level):
        super().__init__(level)
        self.names = set()

    def lift(self, x):
        return _Seen(self, x)

    def process_primitive(self, prim, args, params):
        self.names.add(prim.name)
        out = bind(prim, *[a.val if self.owns(a) else a for a in args], **params)
        return [_Seen(self, o) for o in out] if prim.multiple_results else _Seen(self, out)


def _table_cases():
    here = pathlib.Path(__file__).resolve().parent
    cases = []
    for path in sorted(here.glob("test_*.py")) + sorted((here.parent / "fft").glob("test_*.py")):
        if path.name == pathlib.Path(__file__).name:
            continue
        spec = importlib.util.spec_from_file_location(f"_tables_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if hasattr(mod, "RE"):   # the complex table: functions of (RE, IM)
            cases += [(c[1], (mod.RE, mod.IM)) for c in mod.CASES]
            continue
        for table in ("CASES", "REAL_IN", "HALF_IN"):
            cases += [(c[1], c[2]) for c in getattr(mod, table, [])]
    return cases


def test_every_primitive_is_exercised_to_second_order():
    """Each primitive of the families is reached by some table case, its derivatives included
    (the tables run through check_grads at order 2 in both modes)."""
    names = set()
    for f, args in _table_cases():
        with new_interpreter(_Record) as rec:
            xs = tuple(_Seen(rec, a) for a in args)
            v = tuple(np.ones(np.shape(a)) for a in args)
            cr.jvp(lambda *ys: cr.jvp(f, ys, v)[1], xs, v)
            out, pullback = cr.vjp(f, *xs)
            pullback(tree_map(lambda o: np.ones(get_aval(o).shape), out))
            names |= rec.names
    missing = sorted(p.name for p in PRIMS if p.name not in names)
    assert not missing, f"primitives no table reaches: {missing}"


rng = np.random.default_rng(5)
A = rng.standard_normal((4, 3, 3)) + 3 * np.eye(3)
S = A @ np.swapaxes(A, -1, -2)
B = rng.standard_normal((4, 3, 2))
X = rng.standard_normal((4, 8))

VMAP_CASES = [
    ("solve both", lambda a, b: np.linalg.solve(a, b), (A, B), (0, 0)),
    ("solve rhs only", lambda a, b: np.linalg.solve(a, b), (A[0], B), (None, 0)),
    ("solve matrix only", lambda a, b: np.linalg.solve(a, b), (A, B[0]), (0, None)),
    ("triangular rhs", lambda a, b: csl.solve_triangular(a, b, lower=True),
     (A[0], B.transpose(1, 2, 0)), (None, 2)),
    ("det", np.linalg.det, (A,), (0,)),
    ("cholesky", np.linalg.cholesky, (S,), (0,)),
    ("eigh", lambda a: tuple(np.linalg.eigh(a)), (S,), (0,)),
    ("svd", lambda a: np.linalg.svd(a, compute_uv=False), (A,), (1,)),
    ("qr", lambda a: tuple(np.linalg.qr(a)), (A,), (0,)),
    ("lu_factor", lambda a: csl.lu_factor(a), (A,), (0,)),
    ("expm_frechet", lambda a, e: csl.expm_frechet(a, e), (0.3 * A, A[0]), (0, None)),
    ("pinv", np.linalg.pinv, (A,), (0,)),
    ("einsum diag", lambda a: np.einsum("ii->i", a), (A.transpose(1, 2, 0),), (2,)),
    ("matmul", lambda a, b: a @ b, (A, A[0]), (0, None)),
    ("fft", lambda x: np.real(np.fft.fft(x)), (X,), (1,)),
    ("rfft irfft", lambda x: np.fft.irfft(1j * np.fft.rfft(x)), (X,), (0,)),
    ("complex", lambda x, y: np.imag((x + 1j * y) * 2j), (X, X[0]), (0, None)),
]


@pytest.mark.parametrize("name,f,args,dims", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_vmap_matches_loop(name, f, args, dims):
    got = cr.vmap(f, in_axes=dims)(*args)
    n = next(np.shape(a)[d] for a, d in zip(args, dims) if d is not None)
    rows = [f(*[a if d is None else np.take(a, i, axis=d) for a, d in zip(args, dims)])
            for i in range(n)]
    for g, w in zip(cr.tree_flatten(got)[0], zip(*[cr.tree_flatten(r)[0] for r in rows])):
        np.testing.assert_allclose(g, np.stack(w), rtol=1e-10, atol=1e-12)


def test_jacobians_of_linear_algebra_agree_across_modes():
    a = A[0]
    for f in (np.linalg.inv, np.linalg.cholesky, lambda a: csl.expm(0.2 * a)):
        x = S[0] if f is np.linalg.cholesky else a
        np.testing.assert_allclose(cr.jacrev(f)(x), cr.jacfwd(f)(x), rtol=1e-9, atol=1e-12)


def test_staged_gradients_match_eager():
    from chainrule.jit import jit
    for f in (lambda a: np.linalg.slogdet(a)[1], lambda a: np.sum(np.linalg.eigh(a)[0] ** 3),
              lambda a: np.sum(np.abs(np.fft.fft2(a)) ** 2), lambda a: np.linalg.norm(a, "nuc")):
        np.testing.assert_allclose(jit(cr.grad(f))(S[1]), cr.grad(f)(S[1]), rtol=1e-12)


def test_taylor_mode_through_linear_algebra():
    from math import factorial
    a = rng.standard_normal((3, 3))
    coeffs = cr.taylor(csl.expm, np.zeros((3, 3)), a, 4)            # expm(t a) = sum (t a)^k / k!
    for k, c in enumerate(coeffs):
        np.testing.assert_allclose(c, np.linalg.matrix_power(a, k) / factorial(k), atol=1e-12)
    coeffs = cr.taylor(np.linalg.inv, np.eye(3), a, 3)              # inv(I + t a) = sum (-t a)^k
    for k, c in enumerate(coeffs):
        np.testing.assert_allclose(c, np.linalg.matrix_power(-a, k), atol=1e-10)
    s = S[0]
    coeffs = cr.taylor(np.linalg.cholesky, s, s, 3)                # chol((1 + t) s) = sqrt(1+t) L
    for c, w in zip(coeffs, [1.0, 0.5, -0.125, 0.0625]):
        np.testing.assert_allclose(c, w * np.linalg.cholesky(s), atol=1e-10)
