"""Parity with PyTorch (float64, CPU): the same module with the same weights gives the same
outputs, input and parameter gradients, optimizer steps and learning rates within 1e-10."""
import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim
from chainrule.tensor import UnusedInputError

TOL = 1e-10


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.detach().data) if isinstance(t, cr.Tensor) else np.asarray(t)


def _close(a, b, tol=TOL):
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _run_both(ours, theirs, x0, integer_input=False):
    """Forward both modules on ``x0``, backward a random projection of the output; compare
    outputs, the input's gradient and every parameter's gradient."""
    _copy_weights(ours, theirs)
    if integer_input:
        x, tx = cr.tensor(x0), torch.tensor(x0)
    else:
        x, tx = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    _close(y, ty)
    r = np.random.default_rng(1).standard_normal(ty.shape)
    (y * r).sum().backward()
    (ty * torch.tensor(r)).sum().backward()
    if not integer_input:
        _close(x.grad, tx.grad)
    named = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(named)
    for n, p in ours.named_parameters():
        _close(p.grad, named[n].grad)
    return ours, theirs


LAYERS = [
    (lambda m: m.Linear(5, 3), (4, 5)),
    (lambda m: m.Linear(5, 3, bias=False), (2, 7, 5)),
    (lambda m: m.Conv1d(2, 3, 3, stride=2, padding=1), (2, 2, 9)),
    (lambda m: m.Conv1d(4, 2, 2, dilation=2, groups=2), (1, 4, 7)),
    (lambda m: m.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1), (2, 2, 6, 5)),
    (lambda m: m.Conv2d(4, 4, 3, groups=2, dilation=(1, 2), bias=False), (1, 4, 5, 7)),
    (lambda m: m.MaxPool2d(2), (2, 3, 4, 6)),
    (lambda m: m.MaxPool2d(3, stride=2, padding=1), (1, 2, 7, 5)),
    (lambda m: m.AvgPool2d(2), (2, 3, 4, 6)),
    (lambda m: m.AvgPool2d(3, stride=2, padding=1), (1, 2, 7, 5)),
    (lambda m: m.BatchNorm1d(3), (6, 3)),
    (lambda m: m.BatchNorm1d(3), (4, 3, 5)),
    (lambda m: m.BatchNorm2d(3), (4, 3, 2, 3)),
    (lambda m: m.LayerNorm(4), (3, 4)),
    (lambda m: m.LayerNorm((3, 4)), (2, 3, 4)),
    (lambda m: m.Sequential(m.Linear(4, 6), m.ReLU(), m.Dropout(0.3), m.Linear(6, 2)), (5, 4)),
]
ACTIVATIONS = [lambda m: m.ReLU(), lambda m: m.Tanh(), lambda m: m.Sigmoid(),
               lambda m: m.GELU(), lambda m: m.GELU(approximate="tanh"), lambda m: m.SiLU(),
               lambda m: m.LeakyReLU(0.2), lambda m: m.ELU(), lambda m: m.Softplus(),
               lambda m: m.Softmax(dim=1), lambda m: m.LogSoftmax(dim=1)]


@pytest.mark.parametrize("make, shape", LAYERS)
def test_layers_match_torch(make, shape):
    theirs = make(torch.nn).double()
    ours = make(nn)
    x0 = np.random.default_rng(0).standard_normal(shape)
    for train in (True, False):
        ours.train(train)
        theirs.train(train)
        if train and any(isinstance(m, torch.nn.Dropout) for m in theirs.modules()):
            continue                     # random masks differ between libraries
        _run_both(ours, theirs, x0)
        for n, b in theirs.named_buffers():          # BatchNorm's running statistics
            _close(dict(ours.named_buffers())[n], b)


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activations_match_torch(make):
    x0 = np.random.default_rng(2).standard_normal((3, 4)) * 3
    _run_both(make(nn), make(torch.nn), x0)


def test_embedding_matches_torch():
    for pad in (None, 2):
        theirs = torch.nn.Embedding(6, 3, padding_idx=pad).double()
        ours = nn.Embedding(6, 3, padding_idx=pad)
        _run_both(ours, theirs, np.array([[0, 2, 5], [2, 2, 1]]), integer_input=True)


def test_dropout_training_mode():
    cr.manual_seed(0)
    x = cr.tensor(np.ones((200, 50)), requires_grad=True)
    layer = nn.Dropout(0.25)
    y = layer(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.75)
    assert layer.eval()(x) is x


# -- losses ---------------------------------------------------------------------------------------
def _loss_case(ours, theirs, x0, target, as_tensor=True):
    x, tx = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    loss, tloss = ours(x, cr.tensor(target) if as_tensor else target), theirs(
        tx, torch.tensor(target))
    _close(loss, tloss)
    r = np.random.default_rng(3).standard_normal(tloss.shape)
    (loss * r).sum().backward()
    (tloss * torch.tensor(r)).sum().backward()
    _close(x.grad, tx.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(reduction):
    rng = np.random.default_rng(4)
    z0 = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    w = rng.uniform(0.5, 2, 4)
    cases = [
        (lambda m, **k: m.MSELoss(**k), z0, rng.standard_normal((5, 4))),
        (lambda m, **k: m.L1Loss(**k), z0, rng.standard_normal((5, 4))),
        (lambda m, **k: m.CrossEntropyLoss(**k), z0, labels),
        (lambda m, **k: m.CrossEntropyLoss(label_smoothing=0.2, **k), z0, labels),
        (lambda m, **k: m.CrossEntropyLoss(ignore_index=1, **k), z0, labels),
        (lambda m, **k: m.CrossEntropyLoss(label_smoothing=0.1, ignore_index=3, **k), z0,
         labels),
        (lambda m, **k: m.CrossEntropyLoss(weight=m_w(m, w), **k), z0, labels),
        (lambda m, **k: m.CrossEntropyLoss(weight=m_w(m, w), label_smoothing=0.3, **k), z0,
         labels),
        (lambda m, **k: m.CrossEntropyLoss(label_smoothing=0.1, **k), z0,
         np.abs(rng.standard_normal((5, 4))) / 4),
        (lambda m, **k: m.CrossEntropyLoss(**k), rng.standard_normal((3, 4, 2, 2)),
         rng.integers(0, 4, (3, 2, 2))),
        (lambda m, **k: m.NLLLoss(**k), z0, labels),
        (lambda m, **k: m.NLLLoss(weight=m_w(m, w), **k), z0, labels),
        (lambda m, **k: m.BCEWithLogitsLoss(**k), z0 * 5, rng.uniform(0, 1, (5, 4))),
        (lambda m, **k: m.BCEWithLogitsLoss(pos_weight=m_w(m, w), weight=m_w(m, w[::-1].copy()),
                                            **k), z0, rng.uniform(0, 1, (5, 4))),
    ]
    for make, x0, target in cases:
        _loss_case(make(nn, reduction=reduction), make(torch.nn, reduction=reduction), x0,
                   target)


def m_w(m, w):
    return torch.tensor(w) if m is torch.nn else cr.tensor(w)


def test_mse_loss_warns_on_broadcasting_like_torch():
    with pytest.warns(UserWarning, match="target size"):
        torch.nn.functional.mse_loss(torch.zeros(3, 1, dtype=torch.float64),
                                     torch.zeros(3, dtype=torch.float64))
    with pytest.warns(UserWarning, match="target size"):
        loss = nn.functional.mse_loss(cr.zeros(3, 1), cr.ones(3))
    assert loss.item() == 1.0


# -- optimizers and schedulers -------------------------------------------------------------
OPTIMIZERS = [
    lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    lambda o, p: o.SGD(p, lr=0.1, momentum=0.5, dampening=0.2),
    lambda o, p: o.Adam(p, lr=0.05, weight_decay=0.1),
    lambda o, p: o.Adam(p, lr=0.05, amsgrad=True),
    lambda o, p: o.AdamW(p, lr=0.05, weight_decay=0.1),
    lambda o, p: o.RMSprop(p, lr=0.01),
    lambda o, p: o.RMSprop(p, lr=0.01, centered=True, momentum=0.8, weight_decay=0.1),
    lambda o, p: o.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1),
]


def _pair(sizes=(3, 4, 2)):
    theirs = torch.nn.Sequential(torch.nn.Linear(sizes[0], sizes[1]), torch.nn.Tanh(),
                                 torch.nn.Linear(sizes[1], sizes[2])).double()
    ours = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.Tanh(), nn.Linear(sizes[1], sizes[2]))
    _copy_weights(ours, theirs)
    rng = np.random.default_rng(5)
    return ours, theirs, rng.standard_normal((6, sizes[0])), rng.standard_normal((6, sizes[2]))


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_optimizer_steps_match_torch(make):
    ours, theirs, x0, y0 = _pair()
    opt, topt = make(optim, ours.parameters()), make(torch.optim, theirs.parameters())
    for _ in range(4):
        for model, o, lib, f in ((ours, opt, cr, nn.functional),
                                 (theirs, topt, torch, torch.nn.functional)):
            o.zero_grad()
            f.mse_loss(model(lib.tensor(x0)), lib.tensor(y0)).backward()
            o.step()
    for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == tn
        _close(p, tp)


def _lbfgs_pair_matches_torch(**kw):
    """LBFGS with options ``kw`` on the same MLP and MSE loss: three steps, the same losses and
    parameters as torch."""
    ours, theirs, x0, y0 = _pair((3, 3, 1))
    opt, topt = optim.LBFGS(ours.parameters(), **kw), torch.optim.LBFGS(theirs.parameters(), **kw)

    def closure(model, o, lib, f):
        def run():
            o.zero_grad()
            loss = f.mse_loss(model(lib.tensor(x0)), lib.tensor(y0))
            loss.backward()
            return loss
        return run
    for _ in range(3):
        a = opt.step(closure(ours, opt, cr, nn.functional))
        b = topt.step(closure(theirs, topt, torch, torch.nn.functional))
        _close(a, b)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        _close(p, tp)
    return ours


def test_lbfgs_matches_torch():
    _lbfgs_pair_matches_torch(lr=0.5, max_iter=6, history_size=3)


def _rosenbrock(lib, x):
    """Rosenbrock's function with a valley factor 2: curved enough that the line search
    brackets and zooms, tame enough that the iterates do not amplify rounding (with the
    classic 100, the evaluation sequence is the same but the last digits of torch's fused
    multiply-add in ``add_`` drift to 5e-9 over 58 iterations)."""
    return ((1 - x[:-1]) ** 2).sum() + 2 * ((x[1:] - x[:-1] ** 2) ** 2).sum()


@pytest.mark.parametrize("kw", [dict(), dict(lr=0.5, history_size=4, max_iter=7),
                                dict(max_eval=9, tolerance_change=1e-12)])
def test_lbfgs_strong_wolfe_matches_torch(kw):
    """The strong Wolfe line search on Rosenbrock's function (curved, so the search brackets and
    zooms): the same iterates, losses and evaluation counts as torch, step after step."""
    x0 = np.array([-1.5, 2.0, -0.5, 1.2])
    x, tx = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    opt = optim.LBFGS([x], line_search_fn="strong_wolfe", **kw)
    topt = torch.optim.LBFGS([tx], line_search_fn="strong_wolfe", **kw)
    counts = [0, 0]

    def closure(lib, v, o, k):
        def run():
            counts[k] += 1
            o.zero_grad()
            loss = _rosenbrock(lib, v)
            loss.backward()
            return loss
        return run
    for _ in range(4):
        a = opt.step(closure(cr, x, opt, 0))
        b = topt.step(closure(torch, tx, topt, 1))
        _close(a, b)
        _close(x, tx)
        assert counts[0] == counts[1]
        assert opt.state["lbfgs"]["func_evals"] == topt.state[tx]["func_evals"]
        assert opt.state["lbfgs"]["n_iter"] == topt.state[tx]["n_iter"]
    if not kw:                                # defaults: converged to the minimum (1, 1, 1, 1)
        np.testing.assert_allclose(x.data, 1.0, atol=1e-5)


def test_strong_wolfe_step_satisfies_the_wolfe_conditions():
    """On phi(t) = (t - 0.3)^2 (1 + t) from t = 1 (too long: bracketing, then zoom), the step
    returned satisfies sufficient decrease and the strong curvature condition."""
    from chainrule.optim.line_search import strong_wolfe
    phi = lambda t: (t - 0.3) ** 2 * (1 + t)                            # noqa: E731
    dphi = lambda t: 2 * (t - 0.3) * (1 + t) + (t - 0.3) ** 2           # noqa: E731
    d = np.array([1.0])
    f, g, t, evals = strong_wolfe(lambda t: (phi(t), np.array([dphi(t)])), 1.0, d, phi(0.0),
                                  np.array([dphi(0.0)]), dphi(0.0))
    assert evals > 1 and 0 < t < 1
    assert f == phi(t) and g[0] == dphi(t)
    assert phi(t) <= phi(0.0) + 1e-4 * t * dphi(0.0)
    assert abs(dphi(t)) <= 0.9 * abs(dphi(0.0))


def test_lbfgs_strong_wolfe_on_a_module_matches_torch():
    ours = _lbfgs_pair_matches_torch(max_iter=5, line_search_fn="strong_wolfe")
    with pytest.raises(cr.core.errors.InvalidArgumentError, match="strong_wolfe"):
        optim.LBFGS(ours.parameters(), line_search_fn="backtracking")


SCHEDULERS = [
    lambda s, o: s.StepLR(o, step_size=3, gamma=0.5),
    lambda s, o: s.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    lambda s, o: s.ExponentialLR(o, gamma=0.9),
]


@pytest.mark.parametrize("make", SCHEDULERS)
def test_schedulers_match_torch(make):
    p, tp = cr.tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
    opt, topt = optim.SGD([p], lr=0.3), torch.optim.SGD([tp], lr=0.3)
    s, ts = make(optim.lr_scheduler, opt), make(torch.optim.lr_scheduler, topt)
    for _ in range(12):
        opt.step()
        topt.step()
        s.step()
        ts.step()
        np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=TOL, atol=TOL)
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], abs=TOL)


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [5, 4, 4, 4, 4.1, 3.9999, 4, 4, 4, 2, 2, 2, 2, 2, 2]
    for kw in ({"patience": 2}, {"patience": 1, "cooldown": 2, "factor": 0.5},
               {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.5,
                "min_lr": 0.05}):
        p, tp = cr.tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
        opt, topt = optim.SGD([p], lr=0.3), torch.optim.SGD([tp], lr=0.3)
        s = optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
        for m in metrics:
            s.step(m)
            ts.step(m)
            assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"],
                                                              abs=TOL)


# -- Tensor methods and autograd semantics -------------------------------------------------------
def test_tensor_methods_match_torch():
    x0 = np.random.default_rng(6).standard_normal((3, 4, 2))
    cases = [
        lambda t, L: t.max(dim=1).values * 2 + t.min(1, keepdim=True)[0].sum(),
        lambda t, L: t.sort(dim=1, descending=True).values[:, :2],
        lambda t, L: t.topk(2, dim=1).values - t.topk(1, dim=0, largest=False).values.sum(),
        lambda t, L: t.norm() + t.norm(dim=1).sum() + t.norm(p=1, dim=2).sum(),
        lambda t, L: t.clamp(-0.5, 0.7) + t.clamp(min=0.1),
        lambda t, L: t.softmax(dim=1) + t.log_softmax(dim=2),
        lambda t, L: t.permute(2, 0, 1).reshape(2, 12).transpose(0, 1).flatten(),
        lambda t, L: t.view(12, 2).unsqueeze(1).squeeze(1).squeeze(),
        lambda t, L: L.cat([t, t * 2], dim=1) + L.stack([t, t], dim=1).sum(1).repeat(1, 2, 1),
        lambda t, L: L.where(t > 0, t, t * t),
        lambda t, L: t.double().to(t.dtype) * t.size(1) * t.dim() / t.numel(),
    ]
    for fun in cases:
        t, tt = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
        y, ty = fun(t, cr), fun(tt, torch)
        _close(y, ty)
        y.sum().backward()
        ty.sum().backward()
        _close(t.grad, tt.grad)
    t, tt = cr.tensor(x0), torch.tensor(x0)
    for a, b in [(t.max(dim=2).indices, tt.max(dim=2).indices),
                 (t.sort(dim=0).indices, tt.sort(dim=0).indices),
                 (t.topk(3, dim=1).indices, tt.topk(3, dim=1).indices),
                 (t.argmax(dim=1), tt.argmax(dim=1))]:
        np.testing.assert_array_equal(_np(a), _np(b))
    assert t.size() == tuple(tt.size()) and t.size(-1) == tt.size(-1)
    assert t.float().dtype == np.float32 and t.float().double().dtype == np.float64


def test_var_std_defaults_and_keywords_match_torch():
    """Tensor.var/std are PyTorch's: unbiased (correction 1) by default; unbiased=False,
    correction=c, dim as int/tuple/list, keepdim; values and gradients as torch."""
    x0 = np.random.default_rng(8).standard_normal((3, 4, 5))
    calls = [lambda t, f: f(t)(), lambda t, f: f(t)(1), lambda t, f: f(t)(dim=(0, 2)),
             lambda t, f: f(t)([0, 1], keepdim=True), lambda t, f: f(t)(1, unbiased=False),
             lambda t, f: f(t)(False), lambda t, f: f(t)(dim=2, correction=0),
             lambda t, f: f(t)(dim=2, correction=2, keepdim=True)]
    for name in ("var", "std"):
        for call in calls:
            t, tt = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
            y, ty = call(t, lambda a: getattr(a, name)), call(tt, lambda a: getattr(a, name))
            _close(y, ty)
            r = np.random.default_rng(9).standard_normal(ty.shape)
            (y * r).sum().backward()
            (ty * torch.tensor(r)).sum().backward()
            _close(t.grad, tt.grad)
    t = cr.tensor(x0)
    _close(t.var(axis=1, ddof=0), np.var(x0, axis=1))      # NumPy's keywords still work
    _close(np.std(t), np.std(x0))                             # and np.std stays NumPy's
    with pytest.raises(cr.core.errors.InvalidArgumentError, match="only one of"):
        t.var(unbiased=True, correction=0)


def test_hooks_retain_grad_and_autograd_grad_match_torch():
    x0 = np.array([0.5, -1.0, 2.0])

    def run(L, x):
        seen = []
        y = x * x
        y.retain_grad()
        y.register_hook(lambda g: seen.append(_np(g).copy()))
        z = (np.sin if L is cr else torch.sin)(y) * 3
        h = x.register_hook(lambda g: g * 2)
        z.sum().backward(retain_graph=True)
        h.remove()
        g, = (cr if L is cr else torch).autograd.grad(z.sum(), x, create_graph=True)
        g2, = (cr if L is cr else torch).autograd.grad(g.sum(), x)
        return x.grad, y.grad, seen[0], g, g2
    ours = run(cr, cr.tensor(x0, requires_grad=True))
    theirs = run(torch, torch.tensor(x0, requires_grad=True))
    for a, b in zip(ours, theirs):
        _close(a, b)


def test_autograd_grad_allow_unused_and_grad_outputs_like_torch():
    x, w = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0], requires_grad=True)
    tx, tw = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0], requires_grad=True)
    gx, gw = cr.autograd.grad(x ** 3, (x, w), grad_outputs=cr.tensor([1.0, -1.0]),
                              allow_unused=True)
    tgx, tgw = torch.autograd.grad(tx ** 3, (tx, tw), grad_outputs=torch.tensor([1.0, -1.0],
                                   dtype=torch.float64), allow_unused=True)
    _close(gx, tgx)
    assert gw is None and tgw is None
    with pytest.raises(UnusedInputError, match="allow_unused"):
        cr.autograd.grad((x ** 3).sum(), (x, w))


def test_third_derivative_through_create_graph_matches_torch():
    x0 = np.array([0.3, -0.7, 1.1])

    def derivs(L, x):
        grad = (cr if L is cr else torch).autograd.grad
        sin, tanh = (np.sin, np.tanh) if L is cr else (torch.sin, torch.tanh)
        y = (tanh(x) * sin(x * x) + x ** 4 / (1 + x * x)).sum()
        g1, = grad(y, x, create_graph=True)
        g2, = grad(g1.sum(), x, create_graph=True)
        g3, = grad((g2 * g1).sum(), x)
        return g1, g2, g3
    ours = derivs(cr, cr.tensor(x0, requires_grad=True))
    theirs = derivs(torch, torch.tensor(x0, requires_grad=True))
    for a, b in zip(ours, theirs):
        _close(a, b)
