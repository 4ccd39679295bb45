"""W6: the sparse Hessian of a 2-D grid energy. The Hessian of a k x k grid has about 5 k^2
nonzeros (a 5-point stencil) out of k^4 entries, so a dense Hessian costs k^2 sweeps and k^4
memory where a sparse one, with the pattern detected and the columns colored, costs 5 sweeps.

Rows: dense Hessians where they fit; chainrule's sparse Hessian, whole (pattern detection,
coloring and one Hessian-vector product per color on every call) and prepared (detection and
coloring once, then only the products); and, as the yardstick for both, 5 Hessian-vector
products seeded with a hand-given distance-2 coloring of the stencil, (i + 2 j) mod 5, and
decompressed with the hand-given pattern (what a user without sparsity detection would write).
Peak memory is measured for every row in a fresh process (full runs)."""
import numpy as np

from . import _harness as h
from ._harness import Impl

ID = "W6"
TITLE = "sparse Hessian of a grid energy"
WHAT = ("hessian of sum(diff(u,0)**2) + sum(diff(u,1)**2) + sum(u**4), u = x.reshape(k, k); "
        "dense where n = k^2 <= 1e4")
DENSE_MAX_N = 10_000
N_COLORS = 5
CAP_S = 60.0      # dense peers run where they fit in memory (k <= 100), even when slow
NOTES = ["dense Hessians stop at k = 100 (n = 1e4, 0.8 GB per matrix); k = 300 and 1000 would "
         "need 65 GB and 8 TB",
         "'x5 hvp, pattern given': 5 Hessian-vector products seeded by the coloring "
         "(i + 2j) mod 5, decompressed with the known stencil; no sparsity detection"]


def cases(quick):
    ks = (4,) if quick else (50, 100, 300, 1000)
    return [{"label": f"k={k}", "k": k, "cost": k * k} for k in ks]   # sparse: linear in n


def setup(case):
    k = case["k"]
    return 0.5 + 0.3 * np.sin(np.arange(k * k) * 0.37), {}


def energy(x, xp, data):
    k = int(round(x.shape[0] ** 0.5))
    u = x.reshape(k, k)
    return (xp.sum(xp.diff(u, axis=0) ** 2) + xp.sum(xp.diff(u, axis=1) ** 2)
            + xp.sum(u ** 4))


def reference(case):
    import scipy.sparse as sp
    k = case["k"]
    x = setup(case)[0]
    d = sp.diags([-np.ones(k - 1), np.ones(k - 1)], [0, 1], shape=(k - 1, k))
    lap = (d.T @ d).tocsr()
    eye = sp.identity(k, format="csr")
    H = 2 * (sp.kron(lap, eye) + sp.kron(eye, lap)) + sp.diags(12 * x ** 2)
    return H.tocsr(), 1e-12, "closed form"


# -- the hand-given pattern and coloring ----------------------------------------------------------
def stencil(k):
    """-> (rows, cols, colors): the 5-point pattern of the Hessian and the color of each
    column, (i + 2 j) mod 5, which no two columns sharing a row have in common."""
    i, j = np.divmod(np.arange(k * k), k)
    colors = (i + 2 * j) % N_COLORS
    rows, cols = [np.arange(k * k)], [np.arange(k * k)]
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        ok = (0 <= i + di) & (i + di < k) & (0 <= j + dj) & (j + dj < k)
        p = np.flatnonzero(ok)
        rows.append(p)
        cols.append((i[p] + di) * k + j[p] + dj)
    return np.concatenate(rows), np.concatenate(cols), colors


def seeds(k):
    colors = stencil(k)[2]
    return (colors[None, :] == np.arange(N_COLORS)[:, None]).astype(np.float64)   # 5 x n


def decompress(compressed, k):
    """compressed[c] = H @ seed_c  ->  H as CSR: H[r, p] = compressed[color(p)][r]."""
    import scipy.sparse as sp
    rows, cols, colors = stencil(k)
    vals = np.asarray(compressed)[colors[cols], rows]
    return sp.csr_matrix((vals, (rows, cols)), shape=(k * k, k * k))


# -- sparse rows ---------------------------------------------------------------------------------
def chainrule_sparse(case):
    """Everything per call: pattern detection, coloring, one Hessian-vector product per color."""
    sparse_hessian = h.chainrule_feature("sparse_hessian")
    x = setup(case)[0]
    return lambda: sparse_hessian(lambda x: energy(x, np, {}), x)


def chainrule_sparse_prepared(case):
    """Detection and coloring once (outside the timing); per call only the products."""
    prepare = h.chainrule_feature("prepare_sparse_hessian")
    x = setup(case)[0]
    prep = prepare(lambda x: energy(x, np, {}), x)
    call = lambda: prep(x)  # noqa: E731
    call.info = lambda: {"colors": str(prep.ncolors),
                         "prepare (detect + color)": h.fmt_time(prep.info["detect_s"]
                                                                + prep.info["color_s"])}
    return call


def chainrule_colored(case):
    import chainrule
    x, S, k = setup(case)[0], seeds(case["k"]), case["k"]
    g = chainrule.grad(lambda x: energy(x, np, {}))

    def call():
        _, hvp = chainrule.linearize(g, x)      # one linearization, 5 cheap applications
        return decompress(np.stack([hvp(s) for s in S]), k)
    return call


def jax_colored(case):
    jax, jnp = h.jax()
    x, S, k = jnp.asarray(setup(case)[0]), jnp.asarray(seeds(case["k"])), case["k"]
    g = jax.grad(lambda x: energy(x, jnp, {}))
    hvps = jax.jit(lambda x, S: jax.vmap(lambda s: jax.jvp(g, (x,), (s,))[1])(S))
    return lambda: decompress(h.block(hvps(x, S)), k)


def torch_colored(case):
    torch, xp = h.torch(), h.torch_numpy()
    x, S, k = torch.as_tensor(setup(case)[0]), torch.as_tensor(seeds(case["k"])), case["k"]
    g = torch.func.grad(lambda x: energy(x, xp, {}))
    hvps = torch.func.vmap(lambda s: torch.func.jvp(g, (x,), (s,))[1])
    return lambda: decompress(hvps(S).numpy(), k)


IMPLS = ([Impl("chainrule sparse_hessian", chainrule_sparse, kind="chainrule", memory=True),
          Impl("chainrule sparse_hessian, prepared", chainrule_sparse_prepared,
               kind="chainrule", memory=True),
          Impl("chainrule x5 hvp, pattern given", chainrule_colored, kind="chainrule",
               memory=True),
          Impl("torch.func x5 hvp, pattern given", torch_colored, memory=True),
          Impl("jax jit x5 hvp, pattern given", jax_colored, compiled=True, memory=True)]
         + h.hessian_impls(energy, setup, max_n=DENSE_MAX_N, memory=True, prefix="dense ",
                           cost=lambda case: case["k"] ** 4))


def summary(cases, rows):
    """The targets: at k = 100 at least 100x faster than dense JAX (jit) with pattern and
    coloring included; k = 1000 under 10 s."""
    lines = []
    for case in cases:
        got = {r.impl: r for r in rows if r.case == case["label"] and r.ok}
        whole = got.get("chainrule sparse_hessian")
        prepared = got.get("chainrule sparse_hessian, prepared")
        dense = got.get("jax dense hessian jit")
        if whole is None:
            continue
        text = f"{case['label']}: sparse_hessian {h.fmt_time(whole.time_s)} (everything)"
        if prepared is not None:
            text += f", prepared {h.fmt_time(prepared.time_s)} per point"
        if dense is not None:
            compiled = dense.time_s + (dense.compile_s or 0.0)
            text += (f"; dense jax jit {h.fmt_time(dense.time_s)} per call: "
                     f"{_ratio(dense.time_s / whole.time_s)} faster with detection and coloring"
                     + (f", {_ratio(dense.time_s / prepared.time_s)} prepared" if prepared else "")
                     + f"; {_ratio(compiled / whole.time_s)} counting JAX's compile "
                     f"({h.fmt_time(dense.compile_s or 0.0)})")
            if case["k"] == 100:
                text += (" -- target 100x: " + ("met" if dense.time_s >= 100 * whole.time_s
                                                else "not met"))
        if case["k"] == 1000:
            text += " -- target under 10 s: " + ("met" if whole.time_s < 10 else "not met")
        lines.append(text)
    return lines


def _ratio(r):
    return f"{r:.0f}x" if r >= 10 else f"{r:.2g}x"
