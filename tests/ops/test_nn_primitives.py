"""The layer primitives of ops/nn.py (conv and its two transposes, standardize and its linear
map): every rule by check_primitive (shape rule, jit, derivatives to second order against
central differences in forward and reverse mode, vmap against a loop, Taylor mode), values and
gradients against PyTorch, and the vmap branch that folds a batch into the examples."""
import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops import nn as onn
from chainrule.testing import check_primitive

rng = np.random.default_rng(0)

# (input shape, weight shape, stride, padding, dilation, groups)
CONVS = [
    ((2, 4, 7, 6), (6, 2, 3, 2), (2, 1), (1, 0), (1, 2), 2),
    ((3, 2, 5), (4, 2, 3), (1,), (1,), (1,), 1),
    ((2, 1, 5, 5), (3, 1, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((1, 2, 3, 4, 4), (2, 2, 2, 1, 2), (1, 2, 1), (0, 1, 0), (1, 1, 1), 1),
]


def _geometry(case):
    _, _, stride, padding, dilation, groups = case
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def _torch_conv(x, w, p):
    f = {3: torch.nn.functional.conv1d, 4: torch.nn.functional.conv2d,
         5: torch.nn.functional.conv3d}[x.ndim]
    return f(x, w, **p)


@pytest.mark.parametrize("case", CONVS, ids=lambda c: f"{len(c[0]) - 2}d")
def test_conv_matches_torch(case):
    p = _geometry(case)
    x, w = rng.standard_normal(case[0]), rng.standard_normal(case[1])
    y = onn.conv(x, w, **p)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    ty = _torch_conv(tx, tw, p)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=0, atol=1e-12)
    ct = rng.standard_normal(y.shape)
    ty.backward(torch.tensor(ct))
    np.testing.assert_allclose(onn.conv_input_t(ct, w, in_shape=x.shape, **p),
                               tx.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(onn.conv_weight_t(x, ct, kernel=w.shape[2:], **p),
                               tw.grad.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", CONVS[:3], ids=lambda c: f"{len(c[0]) - 2}d")
def test_conv_family_rules(case):
    p = _geometry(case)
    x, w = rng.standard_normal(case[0]), rng.standard_normal(case[1])
    y = onn.conv(x, w, **p)
    ct = rng.standard_normal(y.shape)
    check_primitive(onn.conv_p, (x, w), p)
    check_primitive(onn.conv_input_t_p, (ct, w), dict(p, in_shape=x.shape))
    check_primitive(onn.conv_weight_t_p, (x, ct), dict(p, kernel=w.shape[2:]))


def test_conv_vmap_over_examples_folds_into_the_batch():
    p = _geometry(CONVS[0])
    xs, w = rng.standard_normal((3,) + CONVS[0][0]), rng.standard_normal(CONVS[0][1])
    got = cr.vmap(lambda x: onn.conv(x, w, **p))(xs)
    np.testing.assert_allclose(got, np.stack([onn.conv(x, w, **p) for x in xs]), atol=1e-13)
    # the Jacobian in x (batched tangents, unbatched weights) against torch's
    x = xs[0]
    jac = cr.jacrev(lambda x: onn.conv(x, w, **p))(x)
    want = torch.autograd.functional.jacobian(
        lambda t: _torch_conv(t, torch.tensor(w), p), torch.tensor(x)).numpy()
    np.testing.assert_allclose(jac, want, atol=1e-12)


def test_conv_hessian_through_weights_matches_torch():
    p = _geometry(CONVS[2])
    x, w = rng.standard_normal(CONVS[2][0]), rng.standard_normal(CONVS[2][1])

    def loss(w):
        return np.sum(np.tanh(onn.conv(x, w, **p)) ** 2)
    h = cr.hessian(loss)(w)
    want = torch.autograd.functional.hessian(
        lambda t: torch.sum(torch.tanh(_torch_conv(torch.tensor(x), t, p)) ** 2),
        torch.tensor(w)).numpy()
    np.testing.assert_allclose(h, want, atol=1e-10)


def test_standardize_rules():
    x = rng.standard_normal((4, 3, 5))
    check_primitive(onn.standardize_p, (x,), dict(axes=(0, 2), eps=1e-5))
    check_primitive(onn.standardize_p, (x[0],), dict(axes=(1,), eps=1e-3), order=3)
    xhat = onn.standardize(x, axes=(0, 2), eps=1e-5)
    r = rng.random((1, 3, 1)) + 0.5
    check_primitive(onn.standardize_tangent_p, (rng.standard_normal(x.shape), xhat, r),
                    dict(axes=(0, 2)))


def test_standardize_matches_torch_batch_norm_to_second_order():
    x = rng.standard_normal((6, 3, 2, 2))
    v = rng.standard_normal(x.shape)

    def ours(x):
        return np.sum(onn.standardize(x, axes=(0, 2, 3), eps=1e-5) ** 3 * v)

    def theirs(t):
        y = torch.nn.functional.batch_norm(t, None, None, training=True, eps=1e-5)
        return torch.sum(y ** 3 * torch.tensor(v))
    np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).item(), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(ours)(x), torch.func.grad(theirs)(torch.tensor(x)),
                               atol=1e-10)
    np.testing.assert_allclose(cr.hessian(ours)(x).reshape(x.size, x.size),
                               torch.autograd.functional.hessian(theirs, torch.tensor(x))
                               .reshape(x.size, x.size).numpy(), atol=1e-9)


def test_standardize_tangent_is_self_adjoint():
    x = rng.standard_normal((5, 4))
    xhat = onn.standardize(x, axes=(0,), eps=1e-5)
    r = rng.random((1, 4)) + 0.5
    a, b = rng.standard_normal(x.shape), rng.standard_normal(x.shape)
    np.testing.assert_allclose(np.sum(onn.standardize_tangent(a, xhat, r, axes=(0,)) * b),
                               np.sum(a * onn.standardize_tangent(b, xhat, r, axes=(0,))),
                               rtol=1e-12)


def _nested_jvp(f, order):
    """The ``order``-th derivative at 0 of ``f`` (of a scalar) by nested JVPs."""
    g = f
    for _ in range(order):
        g = (lambda h: lambda t: cr.jvp(h, (t,), (0 * t + 1.0,))[1])(g)
    return g(0.0)


@pytest.mark.parametrize("name", ["conv", "conv_input_t", "conv_weight_t", "standardize",
                                  "standardize_tangent"])
def test_taylor_rules_match_nested_jvps(name):
    p = _geometry(CONVS[2])
    x, w = rng.standard_normal(CONVS[2][0]), rng.standard_normal(CONVS[2][1])
    y = onn.conv(x, w, **p)
    xhat = onn.standardize(x, axes=(0, 2, 3), eps=1e-5)
    r = rng.random((1, 1, 1, 1)) + 0.5
    fs = {"conv": (lambda a, b: onn.conv(a, b, **p), (x, w)),
          "conv_input_t": (lambda a, b: onn.conv_input_t(a, b, in_shape=x.shape, **p), (y, w)),
          "conv_weight_t": (lambda a, b: onn.conv_weight_t(a, b, kernel=w.shape[2:], **p),
                            (x, y)),
          "standardize": (lambda a: onn.standardize(a, axes=(0, 2, 3), eps=1e-5), (x,)),
          "standardize_tangent": (lambda a, b, c: onn.standardize_tangent(a, b, c,
                                                                          axes=(0, 2, 3)),
                                  (x, xhat, r))}
    f, args = fs[name]
    dirs = [rng.standard_normal(np.shape(a)) for a in args]

    def line(t):
        return f(*[a + t * d for a, d in zip(args, dirs)])
    got = cr.derivatives(line, 0.0, 3)
    for k in (1, 2, 3):
        np.testing.assert_allclose(got[k], _nested_jvp(line, k), rtol=1e-9,
                                   atol=1e-9)


@pytest.mark.parametrize("case", CONVS, ids=lambda c: f"{len(c[0]) - 2}d")
def test_conv_by_kernel_offsets_for_large_inputs(case, monkeypatch):
    """Above INDEXED_COLUMNS the columns are strided copies per kernel offset: the same
    values as torch's."""
    monkeypatch.setattr(onn, "INDEXED_COLUMNS", 0)
    test_conv_matches_torch(case)
