"""The NaN-safe products never hide a derivative: 0 * inf becomes 0 only where the zero is
structural (the branch np.where did not take, an element a slice does not read, a constant
mask), never where an outer derivative vanishes at a point where the inner one is infinite.
There the answer is NaN (as JAX and PyTorch give), or the true derivative, never a finite wrong
number. Checked against one-sided finite differences and closed forms."""
import warnings

import numpy as np
import pytest

import chainrule as cr

INNER = {
    "sqrt": np.sqrt,
    "cbrt": np.cbrt,
    "pow_half": lambda x: x ** 0.5,
    "pow_third": lambda x: np.power(x, 1.0 / 3.0),
    "log1p_shift": lambda x: np.sqrt(np.log1p(x)),
}
OUTER = {
    "cube": lambda s: s ** 3,
    "square": lambda s: s ** 2,
    "sin_squared": lambda s: np.sin(s) ** 2,
    "product": lambda s: s * s * s,
    "scaled_cube": lambda s: 2.0 * s ** 3,
    "poly": lambda s: s ** 3 + 0.5 * s ** 2,
    "quartic_ratio": lambda s: s ** 4 / (1.0 + s),
}


def _one_sided(f, h=1e-7):
    return (f(h) - f(0.0)) / h


def _never_wrong(value, f):
    """NaN/inf, or within the one-sided difference's error of the right derivative."""
    if not np.isfinite(value):
        return True
    fd, fd2 = _one_sided(f, 1e-7), _one_sided(f, 1e-9)
    if not (np.isfinite(fd) and abs(fd - fd2) < 1e-2 * max(1.0, abs(fd))):
        return False        # the derivative does not exist at 0: a finite answer is wrong
    return abs(value - fd) < 1e-3 * max(1.0, abs(fd))


@pytest.mark.parametrize("outer", sorted(OUTER))
@pytest.mark.parametrize("inner", sorted(INNER))
def test_composite_at_singular_point_is_right_or_nan(inner, outer):
    f = lambda x: OUTER[outer](INNER[inner](x))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = {
            "grad": cr.grad(f)(0.0),
            "jvp": cr.jvp(f, (0.0,), (1.0,))[1],
            "jit(grad)": cr.jit(cr.grad(f))(0.0),
            "grad of a sum": cr.grad(lambda x: np.sum(f(x)))(np.array([0.0, 0.5]))[0],
            "value_and_grad": cr.value_and_grad(f)(0.0)[1],
        }
        for name, v in values.items():
            assert _never_wrong(v, f), (name, v, _one_sided(f))


def test_cbrt_cubed_is_nan_not_zero():
    """The issue's cases: the derivative is 1 (cbrt(x)**3 = x) and 1 (sin(sqrt(x))**2 at 0+);
    chainrule gave 0, JAX gives NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in (lambda x: np.cbrt(x) ** 3, lambda x: np.sin(np.sqrt(x)) ** 2,
                  lambda x: np.cbrt(x ** 3)):
            assert np.isnan(cr.grad(f)(0.0))
            assert np.isnan(cr.jvp(f, (0.0,), (1.0,))[1])
            # away from the singular point the derivative is the closed form
            np.testing.assert_allclose(cr.grad(f)(0.3), (f(0.3 + 1e-6) - f(0.3 - 1e-6)) / 2e-6,
                                       rtol=1e-6)


def test_structural_zeros_stay_zero():
    """An untaken branch, a constant 0/1 mask, an element a slice does not read, a matrix column
    of zeros: the function does not depend on that element there, so its derivative is 0."""
    x = np.array([0.0, 0.25, 1.0])
    mask = np.array([0.0, 1.0, 1.0])
    a = np.array([[0.0, 1.0, 2.0], [0.0, 3.0, 1.0]])
    cases = {
        "where": (lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0)), [0.0, 1.0, 0.5]),
        "mask": (lambda x: np.sum(mask * np.sqrt(x)), [0.0, 1.0, 0.5]),
        "slice": (lambda x: np.sum(np.sqrt(x)[1:]), [0.0, 1.0, 0.5]),
        "matrix": (lambda x: np.sum(a @ np.sqrt(x)), [0.0, 4.0, 1.5]),
        "log": (lambda x: np.sum(np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)),
                [0.0, np.log(0.25) + 1.0, 1.0]),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (f, want) in cases.items():
            np.testing.assert_allclose(cr.grad(f)(x), want, rtol=1e-12, err_msg=name)
            np.testing.assert_allclose(cr.jit(cr.grad(f))(x), want, rtol=1e-12, err_msg=name)
            np.testing.assert_allclose(cr.jacrev(f)(x), want, rtol=1e-12, err_msg=name)
            if name != "matrix":    # forward: a matrix product of an infinite tangent is NaN
                np.testing.assert_allclose(cr.jacfwd(f)(x), want, rtol=1e-12, err_msg=name)


def test_mask_after_an_infinite_derivative_in_forward_mode():
    """``mask * sqrt(x)``: the masked output is constant, so its derivative is 0 in forward mode
    too (the constant factor's zero is structural), while the unmasked one is infinite."""
    mask = np.array([0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = cr.jvp(lambda x: mask * np.sqrt(x), (0.0,), (1.0,))[1]
    assert t[0] == 0.0 and t[1] == np.inf


def test_second_order_of_the_composite():
    """hessian through the strict reverse pass: cbrt(x)**3 = x has second derivative 0; the
    answer is 0 or NaN, never another number."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = cr.hessian(lambda x: np.cbrt(x) ** 3)(0.0)
        h2 = cr.grad(cr.grad(lambda x: np.cbrt(x) ** 3))(0.0)
    for v in (h, h2):
        assert np.isnan(v) or v == 0.0


def test_taylor_mode_at_a_singular_point_is_right_or_nan():
    """Taylor mode: cbrt(x**3) = x and sqrt(x)**2 = x at 0+, sqrt(x**2) = |x| has no derivative
    at 0. The series are NaN there (they need the argument's coefficients past the order asked
    for), never a finite wrong number; a constant mask keeps its exact zeros, and a natural
    power at a zero base is exact."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in (lambda x: np.cbrt(x ** 3), lambda x: np.sqrt(x) ** 2,
                  lambda x: np.sqrt(x ** 2)):
            d = cr.derivatives(f, 0.0, 3)
            assert d[0] == 0.0 and all(np.isnan(v) for v in d[1:])
            np.testing.assert_allclose(cr.derivatives(f, 0.5, 2), [0.5, 1.0, 0.0], atol=1e-12)
        masked = cr.derivatives(lambda x: np.sum((np.array([0.0, 1.0]) * x) ** np.array(
            [2.5, 3.0])), 0.0, 3)
        np.testing.assert_allclose(masked, [0.0, 0.0, 0.0, 6.0], atol=0)
        np.testing.assert_allclose(cr.derivatives(lambda x: (x * x) ** 3, 0.0, 6),
                                   [0, 0, 0, 0, 0, 0, 720.0], atol=0)


def test_reverse_mode_tells_the_zeros_apart_element_by_element():
    """A cotangent holding both kinds of zero (a one-hot seed of jacrev, a vjp cotangent with
    zeros, an np.where that takes the singular branch): the column of the singular element is
    NaN or right, every other entry (where the seed or the untaken branch does not reach, and
    the smooth elements) equals central differences; the issue's 0 never comes back."""
    x = np.array([0.0, 0.7, 1.3])
    cases = {
        "cube of cbrt": lambda x: np.cbrt(x) ** 3,
        "cbrt of cube": lambda x: np.cbrt(x ** 3),
        "taken where": lambda x: np.where(x >= 0, np.cbrt(x) ** 3, 0.0),
        "reversed": lambda x: np.sqrt(np.cbrt(x) ** 6 + 1.0)[::-1] * x[1],
    }
    h = 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, f in cases.items():
            fd = np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
            for j in (cr.jacrev(f)(x),
                      np.stack([cr.vjp(f, x)[1](e)[0] for e in np.eye(3)])):
                col = j[:, 0]
                assert np.all(np.isnan(col) | np.isclose(col, fd[:, 0], atol=1e-6)), (name, j)
                np.testing.assert_allclose(j[:, 1:], fd[:, 1:], atol=1e-6, err_msg=name)
            if name != "reversed":      # x[0] reaches output 0 with derivative 1: not a 0
                assert np.isnan(cr.jacrev(f)(x)[0, 0])


def test_forward_mode_jacobians_tell_the_zeros_apart():
    """jacfwd and linearize push one-hot seeds: the singular column is NaN or right, and every
    entry the seed does not reach is exact; jacfwd equals jacrev entry by entry (NaN included)."""
    x = np.array([0.0, 0.7, 1.3])
    cases = [lambda x: np.cbrt(x ** 3), lambda x: np.cbrt(x) ** 3,
             lambda x: np.where(x >= 0, np.cbrt(x) ** 3, 0.0),
             lambda x: np.concatenate([np.sqrt(x), np.zeros(1)]),
             lambda x: np.array([0.0, 1.0, 1.0]) * np.sqrt(x)]
    h = 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in cases:
            fd = np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
            jf, jr = cr.jacfwd(f)(x), cr.jacrev(f)(x)
            np.testing.assert_array_equal(np.isnan(jf), np.isnan(jr))
            np.testing.assert_allclose(jf[:, 1:], fd[:, 1:], atol=1e-6)
            col = jf[:, 0]      # against a one-sided difference at the domain's edge
            right = (f(x + h * np.eye(3)[0]) - f(x)) / h
            assert np.all(np.isnan(col) | np.isinf(col) | np.isclose(col, right, atol=1e-5)), \
                (col, right)
            _, lin = cr.linearize(f, x)
            np.testing.assert_array_equal(np.isnan(lin(np.eye(3)[0])), np.isnan(jf[:, 0]))


def test_tensor_backward_follows_the_rule():
    """The Tensor API's tape transposes with the same rule: cbrt(x)**3 at 0 is NaN, an untaken
    branch, a constant mask and an unread element stay 0, and away from 0 the gradient is the
    central difference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        def tensor_grad(f, x0):
            x = cr.tensor(x0, requires_grad=True)
            f(x).sum().backward()
            return np.asarray(x.grad.data)
        assert np.isnan(tensor_grad(lambda x: np.cbrt(x) ** 3, 0.0))
        assert np.isnan(tensor_grad(lambda x: np.sin(np.sqrt(x)) ** 2, 0.0))
        v = np.array([0.0, 0.25])
        np.testing.assert_allclose(tensor_grad(lambda x: np.where(x > 0, np.sqrt(x), 0.0), v),
                                   [0.0, 1.0])
        np.testing.assert_allclose(tensor_grad(lambda x: np.array([0.0, 1.0]) * np.sqrt(x), v),
                                   [0.0, 1.0])
        np.testing.assert_allclose(tensor_grad(lambda x: np.sqrt(x)[1:], v), [0.0, 1.0])
        f = lambda x: np.cbrt(x) ** 3 + np.sin(np.sqrt(x)) ** 2  # noqa: E731
        np.testing.assert_allclose(tensor_grad(f, 0.3), (f(0.3 + 1e-6) - f(0.3 - 1e-6)) / 2e-6,
                                   rtol=1e-6)


def test_jvp_with_a_tangent_holding_zeros():
    """A jvp tangent with zeros (a direction that leaves some inputs alone): where it meets an
    infinite factor, jvp computes again element by element; the untouched element stays 0, the
    singular one is NaN or right, and a direction reaching no singular point is exact."""
    x = np.array([0.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in (lambda x: np.cbrt(x ** 3), lambda x: np.cbrt(x) ** 3):
            t0 = cr.jvp(f, (x,), (np.array([1.0, 0.0]),))[1]
            t1 = cr.jvp(f, (x,), (np.array([0.0, 1.0]),))[1]
            assert np.isnan(t0[0]) and t0[1] == 0.0
            np.testing.assert_allclose(t1, [0.0, 1.0], rtol=1e-12)
        masked = cr.jvp(lambda x: np.where(x > 0, np.sqrt(x), 0.0), (x,),
                        (np.array([1.0, 0.0]),))[1]
        np.testing.assert_array_equal(masked, [0.0, 0.0])


def _same_answer(got, want, what):
    """NaN exactly where ``want`` is NaN, equal elsewhere."""
    got, want = np.asarray(got), np.asarray(want)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=what)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_staged_and_batched_transformations_decide_as_eager_does(backend):
    """Where the infinite factor is known only when a staged program runs (jit), or only per
    example (vmap), the element-by-element decision is staged (a cond on "a factor is infinite
    somewhere"): jit and vmap of jacrev, jacfwd, vjp, jvp, linearize and Taylor mode give the
    eager answers (themselves checked against differences above), NaN for NaN, and never the
    finite 0 that the zero-safe product alone gives at the singular element."""
    x = np.array([0.0, 0.7, 1.3])
    X = np.stack([x, x[::-1]])
    e0 = np.array([1.0, 0.0, 0.0])
    cases = {"cbrt of cube": lambda x: np.cbrt(x ** 3),
             "cube of cbrt": lambda x: np.cbrt(x) ** 3,
             "taken where": lambda x: np.where(x >= 0, np.cbrt(x) ** 3, 0.0),
             "untaken where": lambda x: np.where(x > 0, np.sqrt(x), 0.0),
             "mask": lambda x: np.array([0.0, 1.0, 1.0]) * np.sqrt(x)}
    jit = lambda f: cr.jit(f, backend=backend)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, f in cases.items():
            jr, jf = cr.jacrev(f)(x), cr.jacfwd(f)(x)
            vjp0, jvp0 = cr.vjp(f, x)[1](e0)[0], cr.jvp(f, (x,), (e0,))[1]
            staged = {
                "jit(jacrev)": (jit(cr.jacrev(f))(x), jr),
                "jit(jacfwd)": (jit(cr.jacfwd(f))(x), jf),
                "jit(vjp)": (jit(lambda x, u: cr.vjp(f, x)[1](u)[0])(x, e0), vjp0),
                "jit(jvp)": (jit(lambda x, t: cr.jvp(f, (x,), (t,))[1])(x, e0), jvp0),
                "jit(linearize)": (jit(lambda x, t: cr.linearize(f, x)[1](t))(x, e0), jvp0),
                "vmap(jacrev)": (cr.vmap(cr.jacrev(f))(X)[0], jr),
                "vmap(jacfwd)": (cr.vmap(cr.jacfwd(f))(X)[0], jf),
                "vmap over x of vjp": (cr.vmap(lambda x: cr.vjp(f, x)[1](e0)[0])(X)[0], vjp0),
                "vmap over x of jvp": (cr.vmap(lambda x: cr.jvp(f, (x,), (e0,))[1])(X)[0], jvp0),
                "vmap over u of vjp": (cr.vmap(lambda u: cr.vjp(f, x)[1](u)[0])(np.eye(3)), jr),
                "vmap over t of jvp": (cr.vmap(lambda t: cr.jvp(f, (x,), (t,))[1])(np.eye(3)),
                                       jf.T),
            }
            for what, (got, want) in staged.items():
                _same_answer(got, want, f"{name}: {what}")
        assert np.isnan(jit(cr.jacrev(cases["cube of cbrt"]))(x)[0, 0])
        g = lambda s: np.cbrt(s ** 3)  # noqa: E731
        eager = cr.derivatives(g, 0.0, 3)
        assert np.isnan(eager[1])
        _same_answer(jit(lambda s: cr.derivatives(g, s, 3))(0.0), eager, "jit(derivatives)")
        _same_answer(np.stack(cr.vmap(lambda s: cr.derivatives(g, s, 3))(np.array([0.0, 0.5]))),
                     np.stack([cr.derivatives(g, s, 3) for s in (0.0, 0.5)], axis=1),
                     "vmap(derivatives)")


def test_tensor_backward_tells_the_zeros_apart_element_by_element():
    """A Tensor backward whose cotangent holds zeros (a slice of the output, a gradient with
    zeros, np.where taking the singular branch, a constant mask) gives what the functional vjp
    gives entry by entry (NaN for NaN): never the zero-safe product's 0 at the singular element,
    and 0 where the zero is structural."""
    x0 = np.array([0.0, 0.7, 1.3])
    cases = {"cube of cbrt": lambda x: np.cbrt(x) ** 3,
             "cbrt of cube": lambda x: np.cbrt(x ** 3),
             "taken where": lambda x: np.where(x >= 0, np.cbrt(x) ** 3, 0.0),
             "untaken where": lambda x: np.where(x > 0, np.sqrt(x), 0.0),
             "mask": lambda x: np.array([0.0, 1.0, 1.0]) * np.sqrt(x),
             "reversed": lambda x: np.sqrt(np.cbrt(x) ** 6 + 1.0)[::-1] * x[1]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, f in cases.items():
            for u in np.eye(3):
                want = cr.vjp(f, x0)[1](u)[0]
                x = cr.tensor(x0, requires_grad=True)
                f(x).backward(cr.tensor(u))
                _same_answer(np.asarray(x.grad.data), want, f"{name}, gradient {u}")
                k = int(np.argmax(u))
                x = cr.tensor(x0, requires_grad=True)
                f(x)[k].backward()
                _same_answer(np.asarray(x.grad.data), want, f"{name}, output {k}")
        x = cr.tensor(x0, requires_grad=True)
        (np.cbrt(x) ** 3)[0].backward()
        assert np.isnan(x.grad.data[0]) and np.all(x.grad.data[1:] == 0.0)


def test_loop_bodies_transpose_plainly_where_no_structural_zero_enters():
    """A scan's backward pass tells its body which cotangents may hold a structural zero (a
    fixed point over the carries): a body reached only by cotangents that hold none transposes
    its zero-safe products plainly, so cbrt(c)**3 at 0 inside a loop is NaN under grad and
    jit(grad), as outside one (it was 0), while an untaken np.where branch in the body still
    gives 0 and the unrolled loop agrees elsewhere. Where a cotangent holding structural zeros
    enters (jacrev's one-hot seeds) the body tells them apart per step."""
    x = np.array([0.0, 0.7])

    def looped(step):
        def f(x):
            c, _ = cr.scan(lambda c, _: (step(c), None), x, None, length=2)
            return np.sum(c)
        return f

    def unrolled(step):
        return lambda x: np.sum(step(step(x)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in (lambda c: np.cbrt(c) ** 3, lambda c: np.sin(np.sqrt(c)) ** 2 + c):
            for g in (cr.grad(looped(step)), cr.jit(cr.grad(looped(step)))):
                _same_answer(g(x), cr.grad(unrolled(step))(x), "scan")
                assert np.isnan(g(x)[0])
            # one-hot seeds enter the body: its zeros are told apart per step
            jac = cr.jacrev(lambda x: cr.scan(lambda c, _: (step(c), None), x, None,
                                              length=2)[0])
            want = cr.jacrev(lambda x: step(step(x)))(x)
            _same_answer(jac(x), want, "jacrev through scan")
            _same_answer(cr.jit(jac)(x), want, "jit(jacrev) through scan")
        guarded = lambda c: np.where(c > 0, np.sqrt(c), 0.0) + c  # noqa: E731
        for g in (cr.grad(looped(guarded)), cr.jit(cr.grad(looped(guarded)))):
            _same_answer(g(x), cr.grad(unrolled(guarded))(x), "guarded scan")
            assert g(x)[0] == 1.0


def test_forward_mode_through_loop_bodies_follows_the_rule():
    """jvp through a scan with a tangent holding no structural zero: the body's products are
    plain (a fixed point over the carries keeps a step's selection zero-safe), so cbrt(c**3)
    at 0 is NaN as unrolled (it was 0), under jit too (the tangent a constant), and an untaken
    branch still gives its exact derivative."""
    x, v = np.array([0.0, 0.7]), np.array([1.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in (lambda c: np.cbrt(c ** 3), lambda c: np.cbrt(c) ** 3,
                     lambda c: np.where(c > 0, np.sqrt(c), 0.0) + c):
            looped = lambda x: cr.scan(lambda c, _: (step(c), None), x, None,  # noqa: E731
                                       length=2)[0]
            want = cr.jvp(lambda x: step(step(x)), (x,), (v,))[1]
            _same_answer(cr.jvp(looped, (x,), (v,))[1], want, "jvp through scan")
            _same_answer(cr.jit(lambda x: cr.jvp(looped, (x,), (v,))[1])(x), want,
                         "jit(jvp) through scan")
        assert np.isnan(cr.jvp(lambda x: cr.scan(lambda c, _: (np.cbrt(c ** 3), None), x, None,
                                                 length=2)[0], (x,), (v,))[1][0])


def _custom_jvp_of(step):
    """``step`` as a custom_jvp function whose rule is ``cr.jvp`` of itself."""
    @cr.custom_jvp
    def h(x):
        return step(x)

    @h.defjvp
    def h_jvp(primals, tangents):
        return cr.jvp(step, primals, tangents)
    return h


def test_every_mode_through_loops_branches_and_checkpoints_decides_as_unrolled():
    """A step whose derivative is 0 * inf at 0 (NaN unrolled), and an untaken np.where branch
    (0 unrolled), inside scan (carry and stacked outputs, with and without checkpoints),
    fori_loop, while_loop, cond on a traced predicate, checkpoint and a custom_jvp rule: every
    mode gives the unrolled function's eager answer entry by entry, NaN for NaN. The bodies
    carry the structural zeros of the tangents and cotangents that enter them (one-hot seeds,
    a tangent holding a zero) per step, so a singular element is NaN and an element the seed
    does not reach is 0."""
    x, v = np.array([0.0, 0.7]), np.array([1.0, 0.0])
    steps = {"cbrt of cube": lambda c: np.cbrt(c ** 3),
             "cube of cbrt": lambda c: np.cbrt(c) ** 3,
             "untaken where": lambda c: np.where(c > 0, np.sqrt(c), 0.0) + c}

    def twice(step):
        return lambda x: step(step(x))
    for name, step in steps.items():
        wrapped = {
            "scan": (lambda x: cr.scan(lambda c, _: (step(c), None), x, None, length=2)[0],
                     twice(step)),
            "scan ys": (lambda x: cr.scan(lambda c, _: (step(c), step(c)), x, None,
                                          length=2)[1].sum(0),
                        lambda x: step(x) + step(step(x))),
            "scan with checkpoints": (lambda x: cr.scan(lambda c, _: (step(c), None), x, None,
                                                        length=3, checkpoints=1)[0],
                                      lambda x: step(step(step(x)))),
            "fori_loop": (lambda x: cr.fori_loop(0, 2, lambda i, c: step(c), x), twice(step)),
            "while_loop": (lambda x: cr.while_loop(lambda s: s[0] < 2,
                                                   lambda s: (s[0] + 1, step(s[1])), (0, x))[1],
                           twice(step)),
            "cond": (lambda x: cr.cond(x[1] > 0, step, lambda c: c, x), step),
            "checkpoint": (cr.checkpoint(step), step),
            "custom_jvp": (_custom_jvp_of(step), step),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for where, (f, g) in wrapped.items():
                modes = {
                    "jacfwd": (lambda f: cr.jacfwd(f)(x)),
                    "jit(jacfwd)": (lambda f: cr.jit(cr.jacfwd(f))(x)),
                    "jvp": (lambda f: cr.jvp(f, (x,), (v,))[1]),
                    "jit(jvp)": (lambda f: cr.jit(lambda x, t: cr.jvp(f, (x,), (t,))[1])(x, v)),
                    "vmap(jvp)": (lambda f: cr.vmap(lambda t: cr.jvp(f, (x,), (t,))[1])(
                        np.eye(2))),
                    "jacfwd(jacfwd)": (lambda f: cr.jacfwd(cr.jacfwd(f))(x)),
                    "jacrev": (lambda f: cr.jacrev(f)(x)),
                    "vjp": (lambda f: cr.vjp(f, x)[1](v)[0]),
                    "vmap(vjp)": (lambda f: cr.vmap(lambda t: cr.vjp(f, x)[1](t)[0])(np.eye(2))),
                    "jit(jacrev)": (lambda f: cr.jit(cr.jacrev(f))(x)),
                    "jit(vjp)": (lambda f: cr.jit(lambda x, t: cr.vjp(f, x)[1](t)[0])(x, v)),
                    "jit(hessian)": (lambda f: cr.jit(cr.hessian(lambda x: np.sum(f(x))))(x)),
                }
                for mode, run in modes.items():
                    if where == "while_loop" and mode in ("jit(jacrev)", "jit(vjp)",
                                                          "jit(hessian)"):
                        continue        # reverse mode of a while loop needs its trip count
                    _same_answer(run(f), run(g), f"{name}: {mode} through {where}")


def test_reverse_mode_of_while_under_jit_refuses_and_forward_mode_works():
    """Under jit a while loop's trip count is not known: its forward derivatives are staged as
    a loop of the whole body (jacfwd, jvp, also where the tangent holds zeros), while reverse
    mode raises the named error. Eagerly, also under an outer forward derivative (hessian),
    the count is known."""
    def f(a):
        return cr.while_loop(lambda s: s[1] < 4, lambda s: (np.sqrt(s[0] * a + 1.0), s[1] + 1),
                             (a, 0))[0]

    def unrolled(a):
        c = a
        for _ in range(4):
            c = np.sqrt(c * a + 1.0)
        return c
    a = np.array([0.3, 1.7])
    np.testing.assert_allclose(cr.jit(cr.jacfwd(f))(a), cr.jacfwd(unrolled)(a), rtol=1e-13)
    t = np.array([0.0, 1.0])
    np.testing.assert_allclose(cr.jit(lambda a, t: cr.jvp(f, (a,), (t,))[1])(a, t),
                               cr.jvp(unrolled, (a,), (t,))[1], rtol=1e-13)
    with pytest.raises(cr.ConcretizationError, match="trip count"):
        cr.jit(cr.jacrev(f))(a)
    # beneath an outer forward derivative the primal values count the steps: hessian works
    s = lambda a: np.sum(f(a) ** 2)  # noqa: E731
    u = lambda a: np.sum(unrolled(a) ** 2)  # noqa: E731
    np.testing.assert_allclose(cr.hessian(s)(a), cr.hessian(u)(a), rtol=1e-12)
    np.testing.assert_allclose(cr.jacfwd(cr.grad(s))(a), cr.hessian(u)(a), rtol=1e-12)


def test_dense_jvp_and_taylor_mode_through_loops_branches_and_checkpoints():
    """A tangent or series holding no structural zero (jvp along a dense direction,
    derivatives' seed) makes the products in scan, while_loop, cond and checkpoint bodies
    plain, as in straight-line code: cbrt(c**3) at 0 is NaN past order 0 (it was 0), an
    untaken branch stays exact, under jit too."""
    x, v = np.array([0.0, 0.7]), np.array([1.0, 0.5])
    steps = {"cbrt of cube": lambda c: np.cbrt(c ** 3),
             "cube of cbrt": lambda c: np.cbrt(c) ** 3,
             "square of sqrt": lambda c: np.sqrt(c) ** 2,
             "untaken where": lambda c: np.where(c > 0, np.sqrt(c), 0.0) + c}
    for name, step in steps.items():
        wrapped = {
            "scan": (lambda x: cr.scan(lambda c, _: (step(c), None), x, None, length=2)[0],
                     lambda x: step(step(x))),
            "while_loop": (lambda x: cr.while_loop(lambda s: s[0] < 2,
                                                   lambda s: (s[0] + 1, step(s[1])), (0, x))[1],
                           lambda x: step(step(x))),
            "cond": (lambda x: cr.cond(np.sum(x) > -1.0, step, lambda c: c, x), step),
            "checkpoint": (cr.checkpoint(step), step),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for where, (f, g) in wrapped.items():
                want = cr.jvp(g, (x,), (v,))[1]
                _same_answer(cr.jvp(f, (x,), (v,))[1], want, f"{name}: jvp through {where}")
                _same_answer(cr.jit(lambda x, t: cr.jvp(f, (x,), (t,))[1])(x, v), want,
                             f"{name}: jit(jvp) through {where}")
                for s in (0.0, 0.5):
                    want = cr.derivatives(g, s, 3)
                    _same_answer(cr.derivatives(f, s, 3), want,
                                 f"{name}: derivatives through {where} at {s}")
                    _same_answer(cr.jit(lambda s: cr.derivatives(f, s, 3))(s), want,
                                 f"{name}: jit(derivatives) through {where} at {s}")


def test_tensor_backward_through_loops_branches_and_checkpoints():
    """The Tensor tape's backward through scan, cond and checkpoint gives the functional vjp
    entry by entry: NaN at the singular element the gradient reaches, 0 where it does not."""
    x0 = np.array([0.0, 0.7])
    steps = {"cube of cbrt": lambda c: np.cbrt(c) ** 3,
             "untaken where": lambda c: np.where(c > 0, np.sqrt(c), 0.0) + c}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, step in steps.items():
            for where, f in {
                    "scan": lambda x: cr.scan(lambda c, _: (step(c), None), x, None,
                                              length=2)[0],
                    "cond": lambda x: cr.cond(x[1] > 0, step, lambda c: c, x),
                    "checkpoint": cr.checkpoint(step)}.items():
                for u in np.eye(2):
                    x = cr.tensor(x0, requires_grad=True)
                    f(x).backward(cr.tensor(u))
                    _same_answer(np.asarray(x.grad.data), cr.vjp(f, x0)[1](u)[0],
                                 f"{name}: Tensor backward through {where}, gradient {u}")
        x = cr.tensor(x0, requires_grad=True)
        cr.checkpoint(steps["cube of cbrt"])(x)[0].backward()
        assert np.isnan(x.grad.data[0]) and x.grad.data[1] == 0.0


def test_jvp_through_a_long_loop_decides_without_storing_its_residuals(monkeypatch):
    """Where a jvp whose tangent holds zeros must tell them apart inside a loop, it linearizes
    once more; a scan whose stacked residuals would pass loops.FORWARD_STORE_LIMIT is then
    staged whole (its tangents computed with the primal values recomputed per step, a flag
    saying whether a derivative factor was infinite), so memory stays that of one step. Set
    to 0 here, every loop takes that path: the answers are the unrolled ones, NaN for NaN."""
    import chainrule.ops.loops as loops
    monkeypatch.setattr(loops, "FORWARD_STORE_LIMIT", 0)
    x, v = np.array([0.0, 0.7]), np.array([1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in (lambda c: np.cbrt(c ** 3), lambda c: np.cbrt(c) ** 3,
                     lambda c: np.where(c > 0, np.sqrt(c), 0.0) + c, lambda c: np.sin(c) + c):
            f = lambda x: cr.scan(lambda c, _: (step(c), step(c)), x, None,  # noqa: E731
                                  length=3)[1].sum(0)
            g = lambda x: step(x) + step(step(x)) + step(step(step(x)))  # noqa: E731
            want = cr.jvp(g, (x,), (v,))[1]
            _same_answer(cr.jvp(f, (x,), (v,))[1], want, "jvp")
            _same_answer(cr.jit(lambda x, t: cr.jvp(f, (x,), (t,))[1])(x, v), want, "jit(jvp)")
            _same_answer(cr.vmap(lambda t: cr.jvp(f, (x,), (t,))[1])(np.eye(2)),
                         cr.vmap(lambda t: cr.jvp(g, (x,), (t,))[1])(np.eye(2)), "vmap(jvp)")


def test_jit_of_a_long_unrolled_simulation_decides_once_per_pass():
    """jit(grad) of a 200-step spring simulation (3,000 equations; its gathers make every
    cotangent possibly hold a structural zero, its sqrt and division factors are known only
    when the program runs) stages one decision for the whole backward pass, not one per
    product whose masked branch works out the masks again (quadratic in the length; the
    masks' recursion also overflowed Python's stack). The answer is the eager gradient."""
    nxt, prv = np.array([1, 2, 3, 0]), np.array([3, 0, 1, 2])

    def loss(v):
        x = np.stack([np.cos(np.arange(4.0)), np.sin(np.arange(4.0))], axis=1) * 1.2
        for _ in range(200):
            dx = x[nxt] - x
            length = np.sqrt(np.sum(dx * dx, axis=1, keepdims=True))
            f = 10.0 * (length - 1.0) * dx / length
            v = v + 0.01 * (f - f[prv])
            x = x + 0.01 * v
        return np.sum(x * x)
    v0 = np.random.default_rng(0).standard_normal((4, 2)) * 0.1
    jg = cr.jit(cr.grad(loss))
    np.testing.assert_allclose(jg(v0), cr.grad(loss)(v0), rtol=1e-12)
    assert jg.jitted.source(v0).count("(branch0, branch1,)") == 1
