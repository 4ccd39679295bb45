"""A generic numerical checker of derivatives.

    check_jvp(f, args)     forward mode against central differences
    check_vjp(f, args)     reverse mode against forward mode through the identity
                           <u, J v> = <J^T u, v>  (against central differences if "fwd" is not
                           among the modes)
    check_grads(f, args, order=2, modes=("fwd", "rev"))
                           both, then recursively on the derivative functions
                           v -> J(x) v and u -> J(x)^T u, up to ``order``

Random directions are drawn from a seeded generator, so failures reproduce.
"""
import numpy as np

from ..api import jvp, vjp
from ..core.tree import tree_flatten, tree_unflatten

EPS = 1e-6
RTOL = 1e-5
ATOL = 1e-6


def _as_array(x):
    """A leaf as a float or complex array (complex values keep their imaginary part)."""
    x = np.asarray(x)
    return x.astype(complex if x.dtype.kind == "c" else float)


def _leaves(tree):
    return [_as_array(x) for x in tree_flatten(tree)[0]]


def _random_like(tree, rng):
    """Random directions with the shapes of ``tree``'s leaves, complex where a leaf is."""
    leaves, td = tree_flatten(tree)
    out = []
    for x in leaves:
        r = rng.standard_normal(np.shape(x))
        if np.asarray(x).dtype.kind == "c":
            r = r + 1j * rng.standard_normal(np.shape(x))
        out.append(r)
    return tree_unflatten(td, out)


def _axpy(a, x, y):
    leaves_x, td = tree_flatten(x)
    leaves_y, _ = tree_flatten(y)
    return tree_unflatten(td, [_as_array(yy) + a * _as_array(xx)
                               for xx, yy in zip(leaves_x, leaves_y)])


def _inner(a, b):
    """The real inner product Re(sum(a * b)) of two trees, the pairing under which vjp is the
    transpose of jvp (without conjugation)."""
    return float(np.real(sum(np.sum(x * y) for x, y in zip(_leaves(a), _leaves(b)))))


def _assert_close(got, want, what, rtol, atol):
    for g, w in zip(_leaves(got), _leaves(want)):
        if g.shape != w.shape:
            raise AssertionError(f"{what}: shape {g.shape}, expected {w.shape}")
        if not np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=False):
            err = np.max(np.abs(g - w))
            raise AssertionError(f"{what}: max abs error {err:.3g}\n got  {g}\n want {w}")


def numerical_jvp(f, args, tangents, eps=EPS):
    """Central-difference directional derivative of ``f`` at ``args`` along ``tangents``."""
    plus = f(*_axpy(eps, tangents, args))
    minus = f(*_axpy(-eps, tangents, args))
    return tree_unflatten(tree_flatten(plus)[1],
                          [(p - m) / (2 * eps) for p, m in zip(_leaves(plus), _leaves(minus))])


def check_jvp(f, args, rng=None, eps=EPS, rtol=RTOL, atol=ATOL):
    """Forward mode of ``f`` at ``args`` (a tuple) against central differences."""
    rng = rng or np.random.default_rng(0)
    v = _random_like(args, rng)
    _, got = jvp(f, args, v)
    want = numerical_jvp(f, args, v, eps)
    _assert_close(got, want, f"jvp of {getattr(f, '__name__', f)}", rtol, atol)


def check_vjp(f, args, rng=None, eps=EPS, rtol=RTOL, atol=ATOL, against="fwd"):
    """Reverse mode of ``f`` at ``args`` through <u, J v> = <J^T u, v>, with J v from forward
    mode (``against="fwd"``) or from central differences (``against="num"``)."""
    rng = rng or np.random.default_rng(1)
    out, vjp_fn = vjp(f, *args)
    u = _random_like(out, rng)
    v = _random_like(args, rng)
    jtu = vjp_fn(u)
    jv = jvp(f, args, v)[1] if against == "fwd" else numerical_jvp(f, args, v, eps)
    lhs, rhs = _inner(u, jv), _inner(jtu, v)
    if not np.isclose(lhs, rhs, rtol=rtol, atol=atol):
        raise AssertionError(f"vjp of {getattr(f, '__name__', f)}: <u, J v> = {lhs!r} but "
                             f"<J^T u, v> = {rhs!r}")


def check_grads(f, args, order=2, modes=("fwd", "rev"), eps=EPS, rtol=RTOL, atol=ATOL,
                rng=None):
    """Check the derivatives of ``f`` at ``args`` (a tuple of arrays or pytrees) in ``modes``
    up to ``order``, against central differences and against each other. Raises
    AssertionError with the size of the discrepancy."""
    rng = rng or np.random.default_rng(0)
    args = tuple(args)
    if "fwd" in modes:
        check_jvp(f, args, rng, eps, rtol, atol)
    if "rev" in modes:
        check_vjp(f, args, rng, eps, rtol, atol, against="fwd" if "fwd" in modes else "num")
    if order > 1:
        if "fwd" in modes:
            v = _random_like(args, rng)

            def f_jvp(*xs):
                return jvp(f, xs, v)[1]
            f_jvp.__name__ = f"jvp({getattr(f, '__name__', 'f')})"
            check_grads(f_jvp, args, order - 1, modes, eps, rtol, atol, rng)
        if "rev" in modes:
            u = _random_like(f(*args), rng)

            def f_vjp(*xs):
                return vjp(f, *xs)[1](u)
            f_vjp.__name__ = f"vjp({getattr(f, '__name__', 'f')})"
            check_grads(f_vjp, args, order - 1, modes, eps, rtol, atol, rng)
