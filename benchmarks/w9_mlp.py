"""W9: one deep-learning step. Value and gradient of the softmax cross-entropy of an MLP
64-128-128-10 with tanh on a batch of 256, with respect to all weights and biases: the case
backpropagation was made for. 'grad / f' divides by the same framework's loss evaluation."""
import numpy as np

from . import _harness as h
from ._harness import Impl

ID = "W9"
TITLE = "MLP training step, backpropagation"
WHAT = ("value_and_grad of softmax cross-entropy of MLP 64-128-128-10 (tanh), batch 256, "
        "w.r.t. all weights; result = [loss, W1, b1, W2, b2, W3, b3]")


def cases(quick):
    if quick:
        return [{"label": "batch 8, 4-8-8-3", "sizes": [4, 8, 8, 3], "batch": 8}]
    return [{"label": "batch 256, 64-128-128-10", "sizes": [64, 128, 128, 10], "batch": 256}]


def setup(case):
    """-> (params as [(W, b), ...], data {"X", "Y"})."""
    rng = np.random.default_rng(9)
    sizes, batch = case["sizes"], case["batch"]
    params = [(rng.standard_normal((m, n)) / np.sqrt(m), 0.1 * rng.standard_normal(n))
              for m, n in zip(sizes[:-1], sizes[1:])]
    X = rng.standard_normal((batch, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return params, {"X": X, "Y": Y}


def loss(params, xp, data):
    hidden = data["X"]
    for W, b in params[:-1]:
        hidden = xp.tanh(hidden @ W + b)
    W, b = params[-1]
    z = hidden @ W + b
    m = xp.max(z, axis=1, keepdims=True)
    lse = m + xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True))
    batch = z.shape[0]
    return xp.sum(lse) / batch - xp.sum(data["Y"] * z) / batch


def reference(case):
    """Backpropagation written out by hand."""
    params, data = setup(case)
    X, Y = data["X"], data["Y"]
    acts = [X]
    for W, b in params[:-1]:
        acts.append(np.tanh(acts[-1] @ W + b))
    z = acts[-1] @ params[-1][0] + params[-1][1]
    z_max = z.max(axis=1, keepdims=True)
    p = np.exp(z - z_max)
    p /= p.sum(axis=1, keepdims=True)
    value = loss(params, np, data)
    delta = (p - Y) / X.shape[0]                  # d loss / d z
    grads = []
    for i in range(len(params) - 1, -1, -1):
        W = params[i][0]
        grads.append((acts[i].T @ delta, delta.sum(axis=0)))
        if i:
            delta = (delta @ W.T) * (1 - acts[i] ** 2)
    return [value] + [g for pair in reversed(grads) for g in pair], 1e-10, "hand-written backprop"


# -- rows ----------------------------------------------------------------------------------------
def flat(value, grads):
    return [value] + [g for pair in grads for g in pair]


def numpy_f(case):
    params, data = setup(case)
    return lambda: loss(params, np, data)


def chainrule_vg(case):
    import chainrule
    params, data = setup(case)
    vg = chainrule.value_and_grad(lambda p: loss(p, np, data))
    return lambda: flat(*vg(params))


def chainrule_jit(case):
    import chainrule
    params, data = setup(case)
    vg = h.chainrule_feature("jit")(chainrule.value_and_grad(lambda p: loss(p, np, data)))
    return lambda: flat(*vg(params))


def chainrule_numba(case):
    """``jit(backend="numba")``: fused loop nests for the elementwise and reduction parts,
    ``np.dot`` (BLAS) for the matrix products."""
    import chainrule
    params, data = setup(case)
    vg = h.chainrule_numba(chainrule.value_and_grad(lambda p: loss(p, np, data)))
    return lambda: flat(*vg(params))


def chainrule_tensor(case):
    params, data = setup(case)
    arrays = [a for pair in params for a in pair]
    pairs = lambda ps: list(zip(ps[::2], ps[1::2]))  # noqa: E731
    return h.chainrule_tensor_grad(lambda *ps: loss(pairs(ps), np, data), arrays)


def autograd_vg(case):
    ag, anp = h.autograd()
    params, data = setup(case)
    vg = ag.value_and_grad(lambda p: loss(p, anp, data))
    return lambda: flat(*vg(params))


def torch_inputs(case):
    torch, xp = h.torch(), h.torch_numpy()
    params, data = setup(case)
    params = [(torch.as_tensor(W), torch.as_tensor(b)) for W, b in params]
    return torch, xp, params, {k: torch.as_tensor(v) for k, v in data.items()}


def torch_f(case):
    torch, xp, params, data = torch_inputs(case)

    def call():
        with torch.no_grad():
            return loss(params, xp, data)
    return call


def torch_eager(case):
    torch, xp, params, data = torch_inputs(case)

    def call():
        ps = [(W.clone().requires_grad_(True), b.clone().requires_grad_(True))
              for W, b in params]
        value = loss(ps, xp, data)
        value.backward()
        return flat(value, [(W.grad, b.grad) for W, b in ps])
    return call


def torch_func(case):
    torch, xp, params, data = torch_inputs(case)
    gv = torch.func.grad_and_value(lambda p: loss(p, xp, data))

    def call():
        grads, value = gv(params)
        return flat(value, grads)
    return call


def jax_row(jit, derivative):
    def build(case):
        jax, jnp = h.jax()
        params, data = setup(case)
        params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]
        data = {k: jnp.asarray(v) for k, v in data.items()}
        fn = lambda p: loss(p, jnp, data)  # noqa: E731
        fn = jax.value_and_grad(fn) if derivative else fn
        fn = jax.jit(fn) if jit else fn
        if derivative:
            return lambda: flat(*h.block(fn(params)))
        return lambda: h.block(fn(params))
    return build


IMPLS = [
    Impl("f: numpy", numpy_f, kind="function"),
    Impl("f: torch", torch_f, kind="function"),
    Impl("f: jax eager", jax_row(jit=False, derivative=False), kind="function"),
    Impl("f: jax jit", jax_row(jit=True, derivative=False), kind="function", compiled=True),
    Impl("chainrule", chainrule_vg, kind="chainrule", base="f: numpy"),
    Impl("chainrule Tensor", chainrule_tensor, kind="chainrule", base="f: numpy"),
    Impl("chainrule jit", chainrule_jit, kind="chainrule", compiled=True, base="f: numpy"),
    Impl("chainrule jit numba", chainrule_numba, kind="chainrule", compiled=True,
         base="f: numpy"),
    Impl("autograd", autograd_vg, base="f: numpy"),
    Impl("torch eager", torch_eager, base="f: torch"),
    Impl("torch.func", torch_func, base="f: torch"),
    Impl("jax eager", jax_row(jit=False, derivative=True), base="f: jax eager"),
    Impl("jax jit", jax_row(jit=True, derivative=True), compiled=True, base="f: jax jit"),
]
