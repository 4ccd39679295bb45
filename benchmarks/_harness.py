"""What every workload shares: peers, timing, checking, tables, JSON, fresh-process memory.

A workload module declares

    ID, TITLE, WHAT        "W1", a short title, one line on what it shows
    cases(quick)           list of dicts, each with a "label" (e.g. "K=1000") and its sizes;
                           optional keys: "fresh" (time it only in a fresh process, once, for
                           cases too long to repeat), "cost" (a relative cost, used to skip
                           cases that would exceed CAP_S; an Impl may have its own ``cost``)
    IMPLS                  list of Impl: one row each (chainrule, peers, plain function baselines)
    reference(case)        (value, rtol, label): a closed form or finite differences, or None
    CAP_S                  optional: seconds a single call may take before larger cases of that
                           implementation are skipped (default 60)
    MEM_CAP_MB             optional: the same for the memory measured in a fresh process
                           (default 10000)
    NOTES                  optional: list of lines printed under the table (reduced sizes, ...)
    columns(case, row)     optional: extra table columns, a dict name -> text
    summary(cases, rows)   optional: lines printed under the table

and ``run_workload`` does the rest. An ``Impl.build(case)`` prepares inputs and returns a
zero-argument callable computing the derivative (which may carry an ``info()`` giving extra
columns, e.g. the mode an automatic choice picked); it raises ``Skip`` (peer missing, size not
feasible) or ``NotYet`` (the chainrule capability has not landed), which become the row's status.
Any other exception becomes "error: ..." for that row only.

Timing: one warm-up call (for compiled rows its excess over the steady time is reported as
compile time; Numba rows compile in the background, so theirs is the time to the first result,
answered by the NumPy code, and "native after" says when the machine code took over), then the median of repeats, at least 3 (1 for calls over a second) and until
about a second has passed. A call over SINGLE_RUN_S is timed once. Garbage collection stays on
(that is what users see); each row starts after a gc.collect(). Rows with ``memory=True`` also
run once in a fresh process for their peak memory (full runs only); when that run is long, its
time stands for the row so that nothing long runs twice.

Checking: every derivative is compared with chainrule's (or, without chainrule, with the first
peer that produced one) at PEER_RTOL, and with the workload's closed form at its own tolerance.
The error of two results is the largest, over their leaves, of max|a - b| / max|b|.
"""
import dataclasses
import gc
import importlib
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Optional

import numpy as np

PEER_RTOL = 1e-8
SINGLE_RUN_S = 2.0
REPEAT_BUDGET_S = 1.0
MAX_REPEATS = 200
FRESH_TIMEOUT_S = 400
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(REPO_ROOT, "benchmarks", "results")


class Skip(Exception):
    """This row cannot run here: a peer is not installed or the size is not feasible."""


class NotYet(Exception):
    """The chainrule capability this row needs has not landed yet."""


# -- peers ---------------------------------------------------------------------------------------
_loaded = {}


def _load(name, setup):
    if name not in _loaded:
        try:
            _loaded[name] = setup()
        except ImportError as e:
            _loaded[name] = Skip(f"{name} not installed" + (
                f" ({e.name} missing)" if e.name and e.name != name else ""))
    mod = _loaded[name]
    if isinstance(mod, Skip):
        raise mod
    return mod


def jax():
    """``(jax, jax.numpy)`` with float64 enabled, or Skip."""
    def setup():
        import jax as jax_mod
        jax_mod.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        return jax_mod, jnp
    return _load("jax", setup)


def torch():
    """The torch module, or Skip. Rows make float64 tensors explicitly."""
    def setup():
        import torch as torch_mod
        threads = os.environ.get("OMP_NUM_THREADS")
        if threads and threads.isdigit() and int(threads) > 0:
            torch_mod.set_num_threads(int(threads))
        return torch_mod
    return _load("torch", setup)


def autograd():
    """``(autograd, autograd.numpy)``, or Skip."""
    def setup():
        import autograd as ag
        import autograd.numpy as anp
        return ag, anp
    return _load("autograd", setup)


def chainrule_feature(name):
    """``chainrule.<name>``, or NotYet when that capability has not landed (``jit``: one that
    registers what it compiles in ``JITTED``, for ``settle``)."""
    import chainrule
    if not hasattr(chainrule, name):
        raise NotYet(f"chainrule.{name} has not landed")
    if name == "jit":
        return _registered_jit
    return getattr(chainrule, name)


JITTED = []             # the functions chainrule.jit compiled for the row being measured
MAX_SETTLE_CALLS = 8


def _registered_jit(*args, **kwargs):
    import chainrule
    out = chainrule.jit(*args, **kwargs)
    if callable(out) and hasattr(out, "cache_info"):
        JITTED.append(out)
    return out


def settle(call):
    """After a jit row's first call: wait for the Numba code compiled in the background (the
    NumPy code answered the first call), then call the row (untimed) while a function it
    jitted is still timing its compiled code against eager evaluation
    (``cache_info()["paths"]["timing"]``), so that the row times the path jit settled on, not
    the comparison."""
    for j in JITTED:
        j.wait_native()
    for _ in range(MAX_SETTLE_CALLS):
        if not any(j.cache_info().get("paths", {}).get("timing") for j in JITTED):
            return
        call()


def chainrule_numba(fun):
    """``chainrule.jit(fun, backend="numba", background_compile=True)`` as a row's function:
    the first call is answered by the NumPy code while Numba compiles in a thread (the row's
    compile time is the time to that first result; ``settle`` waits for the native code, and
    the "native after" column says when it was ready). Skip where numba is not installed; a
    call after the first fails where the program fell back to the NumPy backend (so a row
    never times NumPy code under the Numba label)."""
    import importlib.util
    if importlib.util.find_spec("numba") is None:
        raise Skip("numba is not installed (pip install chainrule[numba])")
    g = chainrule_feature("jit")(fun, backend="numba", background_compile=True)
    state = []

    def call(*args):
        out = g(*args)
        if len(state) == 1:
            g.wait_native()
            info = g.cache_info()
            if info.get("backend") != "numba":
                raise RuntimeError(f"fell back to NumPy: {info.get('backend_reason')}")
        if len(state) < 2:
            state.append(True)
        return out
    return call


def native_after():
    """The "native after" column of a row whose jitted functions compiled Numba code in the
    background: seconds from the first call until the native code was ready (the longest)."""
    times = [j.cache_info().get("native_after_s") for j in JITTED]
    times = [t for t in times if t is not None]
    return {"native after": fmt_time(max(times))} if times else {}


def block(x):
    """Wait for an asynchronous (JAX) result so that the time covers the computation."""
    j, _ = jax()
    return j.block_until_ready(x)


class TorchNumPy:
    """The few NumPy names the workloads use, on float64 torch tensors, so each workload writes
    its mathematics once for every framework (``xp.sum(x, axis=1, keepdims=True)``)."""

    def __init__(self, torch_mod):
        self.t = torch_mod
        for name in ("sin", "cos", "exp", "log", "tanh", "sqrt", "stack"):
            setattr(self, name, getattr(torch_mod, name))

    def asarray(self, x):
        return self.t.as_tensor(np.asarray(x), dtype=self.t.float64)

    def sum(self, x, axis=None, keepdims=False):
        return x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return x.amax() if axis is None else x.amax(dim=axis, keepdim=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return x.mean() if axis is None else x.mean(dim=axis, keepdim=keepdims)

    def diff(self, x, axis=-1):
        return self.t.diff(x, dim=axis)


def torch_numpy():
    return TorchNumPy(torch())


def chainrule_tensor_grad(fun, arrays):
    """The gradient of scalar ``fun(*tensors)`` through chainrule's PyTorch-style Tensor:
    ``Tensor(a, requires_grad=True)``, ``loss.backward()``, ``t.grad``. Returns
    ``[value, grad...]``."""
    tensor_cls = chainrule_feature("Tensor")

    def call():
        ts = [tensor_cls(a, requires_grad=True) for a in arrays]
        out = fun(*ts)
        out.backward()
        return [out] + [t.grad for t in ts]
    return call


# -- rows ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Impl:
    name: str
    build: Callable[[dict], Callable[[], Any]]
    kind: str = "peer"              # "chainrule", "peer", or "function" (a baseline, not checked)
    compiled: bool = False          # jit: report compile time separately, compare with compiled
    base: Optional[str] = None      # name of the function row for the "grad / f" column
    memory: bool = False            # peak memory in a fresh process (full runs)
    cost: Optional[Callable[[dict], float]] = None   # relative cost of a case (default "cost")
    eager: Optional[str] = None     # jit rows: the eager row they compile (default: eager_name)

    @property
    def mode(self):
        return "jit" if self.compiled else "eager"


@dataclasses.dataclass
class Row:
    case: str
    impl: str
    kind: str
    mode: str
    status: str = "ok"
    time_s: Optional[float] = None
    compile_s: Optional[float] = None
    repeats: int = 0
    single: bool = False            # timed by one call (no warm-up): long rows, fresh processes
    fresh: bool = False             # timed in a fresh process
    peak_mb: Optional[float] = None
    delta_mb: Optional[float] = None
    ratio: Optional[float] = None   # time / best peer time of the same mode
    ratio_any: Optional[float] = None   # time / best peer time of any mode
    per_f: Optional[float] = None   # time / time of its function row
    jit_eager: Optional[float] = None   # jit rows: time / time of the eager row they compile
    check: str = "-"
    max_err: Optional[float] = None
    extra: dict = dataclasses.field(default_factory=dict)
    value: Any = dataclasses.field(default=None, repr=False)

    @property
    def ok(self):
        return self.status == "ok"

    def to_json(self):
        d = dataclasses.asdict(self)
        d.pop("value")
        return d


def time_call(call, quick, compiled):
    """-> (result, median seconds, compile seconds or None, repeats, single_run)."""
    t0 = time.perf_counter()
    result = call()
    first = time.perf_counter() - t0
    if first > SINGLE_RUN_S and not compiled and not quick:
        return result, first, None, 1, True
    if compiled:
        settle(call)
    min_rep = 1 if (quick or first > 1.0) else 3
    max_rep = 1 if quick else MAX_REPEATS
    times = []
    while len(times) < max_rep and (len(times) < min_rep or sum(times) < REPEAT_BUDGET_S):
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return result, med, (max(first - med, 0.0) if compiled else None), len(times), False


# -- the same rows for every Jacobian and Hessian workload (W3, W4, W5, W6) ---------------------
# ``setup(case) -> (x, data)`` gives the point and a dict of constant arrays; ``f(x, xp, data)``
# is the function, written once against a NumPy-like namespace ``xp`` (numpy itself for
# chainrule, autograd.numpy, jax.numpy, TorchNumPy); each row converts ``data`` once.
def _convert(data, conv):
    return {k: conv(v) for k, v in data.items()}


def _jax_setup(setup, case):
    j, jnp = jax()
    x, data = setup(case)
    return j, jnp, jnp.asarray(x), _convert(data, jnp.asarray)


def _torch_setup(setup, case):
    t, xp = torch(), torch_numpy()
    x, data = setup(case)
    return t, xp, t.as_tensor(x), _convert(data, t.as_tensor)


def jacobian_impls(f, setup, peer_modes=("fwd", "rev"), wrong_mode=None):
    """Rows computing the Jacobian of ``f`` at the point of ``setup``: chainrule in each mode
    (auto reports its choice), jitted, and as a Python loop of single sweeps (one linearization,
    then a jvp per input or a vjp per output element), and the peers' Jacobians in ``peer_modes``
    (autograd has reverse mode only) plus JAX jit in ``wrong_mode``."""
    def chainrule_row(mode, jit=False):
        def build(case):
            import chainrule
            x, data = setup(case)
            jf = chainrule.jacobian(lambda x: f(x, np, data), mode=mode)
            g = chainrule_feature("jit")(jf) if jit else jf
            call = lambda: g(x)  # noqa: E731
            if not jit:
                call.info = lambda: {"chose": (getattr(jf, "choice", None) or {}).get("mode", "?")}
            return call
        return build

    def chainrule_loop(mode):
        def build(case):
            import chainrule
            x, data = setup(case)
            fx = lambda x: f(x, np, data)  # noqa: E731

            def call():
                if mode == "fwd":
                    y, push = chainrule.linearize(fx, x)
                    cols = [push(e.reshape(x.shape)) for e in np.eye(x.size)]
                    return np.stack(cols, axis=-1).reshape(np.shape(y) + x.shape)
                y, pull = chainrule.vjp(fx, x)
                rows = [pull(e.reshape(np.shape(y))) for e in np.eye(np.size(y))]
                return np.stack(rows).reshape(np.shape(y) + x.shape)
            return call
        return build

    def autograd_row(case):
        ag, anp = autograd()
        x, data = setup(case)
        jf = ag.jacobian(lambda x: f(x, anp, data))
        return lambda: jf(x)

    def jax_row(which, jit):
        def build(case):
            j, jnp, x, data = _jax_setup(setup, case)
            jf = getattr(j, which)(lambda x: f(x, jnp, data))
            jf = j.jit(jf) if jit else jf
            return lambda: block(jf(x))
        return build

    def torch_row(which):
        def build(case):
            t, xp, x, data = _torch_setup(setup, case)
            jf = getattr(t.func, which)(lambda x: f(x, xp, data))
            return lambda: jf(x)
        return build

    rows = [Impl("chainrule auto", chainrule_row("auto"), kind="chainrule"),
            Impl("chainrule fwd", chainrule_row("fwd"), kind="chainrule"),
            Impl("chainrule rev", chainrule_row("rev"), kind="chainrule"),
            Impl("chainrule jit auto", chainrule_row("auto", jit=True), kind="chainrule",
                 compiled=True),
            Impl("chainrule loop of jvps", chainrule_loop("fwd"), kind="chainrule"),
            Impl("chainrule loop of vjps", chainrule_loop("rev"), kind="chainrule"),
            Impl("autograd jacobian (rev)", autograd_row)]
    for mode in peer_modes:
        rows += [Impl(f"torch.func jac{mode}", torch_row(f"jac{mode}")),
                 Impl(f"jax jac{mode} eager", jax_row(f"jac{mode}", jit=False)),
                 Impl(f"jax jac{mode} jit", jax_row(f"jac{mode}", jit=True), compiled=True)]
    if wrong_mode:
        rows.append(Impl(f"jax jac{wrong_mode} jit", jax_row(f"jac{wrong_mode}", jit=True),
                         compiled=True))
    return rows


def hessian_impls(f, setup, max_n=None, memory=False, prefix="", cost=None):
    """Rows computing the dense Hessian of scalar ``f`` at the point of ``setup``, skipped where
    ``x.size > max_n`` (the dense matrix would not fit or take too long)."""
    def sized(case):
        x, data = setup(case)
        if max_n is not None and x.size > max_n:
            raise Skip(f"dense n={x.size}: {x.size ** 2 * 8 / 1e9:.0f} GB per Hessian")
        return case

    def chainrule_row(jit):
        def build(case):
            import chainrule
            x, data = setup(sized(case))
            hf = chainrule.hessian(lambda x: f(x, np, data))
            hf = chainrule_feature("jit")(hf) if jit else hf
            return lambda: hf(x)
        return build

    def autograd_row(case):
        ag, anp = autograd()
        x, data = setup(sized(case))
        hf = ag.hessian(lambda x: f(x, anp, data))
        return lambda: hf(x)

    def jax_row(jit):
        def build(case):
            j, jnp, x, data = _jax_setup(setup, sized(case))
            hf = j.hessian(lambda x: f(x, jnp, data))
            hf = j.jit(hf) if jit else hf
            return lambda: block(hf(x))
        return build

    def torch_row(case):
        t, xp, x, data = _torch_setup(setup, sized(case))
        hf = t.func.hessian(lambda x: f(x, xp, data))
        return lambda: hf(x)

    p, kw = prefix, {"memory": memory, "cost": cost}
    return [Impl(f"chainrule {p}hessian", chainrule_row(False), kind="chainrule", **kw),
            Impl(f"chainrule jit {p}hessian", chainrule_row(True), kind="chainrule",
                 compiled=True, **kw),
            Impl(f"autograd {p}hessian", autograd_row, **kw),
            Impl(f"torch.func {p}hessian", torch_row, **kw),
            Impl(f"jax {p}hessian eager", jax_row(False), **kw),
            Impl(f"jax {p}hessian jit", jax_row(True), compiled=True, **kw)]


# -- fresh processes: peak memory, and cases too long to repeat ----------------------------------
# Peak memory is read from /proc/self/status (VmHWM, the high-water mark of this process's
# resident set). ru_maxrss would be simpler but on Linux it survives fork + exec, so a child of
# a large parent would report the parent's size. Before the call the mark is reset to the
# current size (writing 5 to /proc/self/clear_refs), so "delta" is what the call itself needed.
def _status_mb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss     # KiB on Linux, bytes on macOS
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def fresh_process(wid, impl_name, case, timeout=FRESH_TIMEOUT_S):
    """Run one row in a new interpreter: one call (two for compiled rows, the first compiles).
    -> dict(time_s, compile_s, peak_mb, delta_mb, load) where ``load()`` reads the result back;
    raises Skip, NotYet or RuntimeError."""
    import shutil
    import tempfile
    tmp = tempfile.mkdtemp(prefix="chainrule-bench-")
    cmd = [sys.executable, "-c", "from benchmarks._harness import _child; _child()",
           wid, impl_name, json.dumps(case), tmp]
    try:
        try:
            proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Skip(f"over {timeout} s in a fresh process") from None
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            if proc.returncode < 0:
                tail = f"killed by signal {-proc.returncode} (out of memory?)"
            raise RuntimeError(f"fresh process failed: {tail}")
        out = json.loads(lines[-1])
        if "skip" in out:
            raise (NotYet if out["skip"] == "not yet" else Skip)(out["reason"])
        n = out.pop("n_leaves")
        values = [_load_leaf(os.path.join(tmp, f"leaf{i}")) for i in range(n)]
        out["load"] = lambda: values
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_leaf(stem):
    if os.path.exists(stem + ".npz"):
        import scipy.sparse as sp
        return sp.load_npz(stem + ".npz")
    return np.load(stem + ".npy")


def _child():
    wid, impl_name, case, tmp = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    from benchmarks import WORKLOADS
    mod = importlib.import_module(WORKLOADS[wid])
    impl = next(i for i in mod.IMPLS if i.name == impl_name)
    try:
        call = impl.build(case)
    except (Skip, NotYet) as e:
        print(json.dumps({"skip": "not yet" if isinstance(e, NotYet) else "skipped",
                          "reason": str(e)}))
        return
    gc.collect()
    _reset_peak()
    before = _status_mb("VmRSS")
    t0 = time.perf_counter()
    result = call()
    first = time.perf_counter() - t0
    t_s, compile_s = first, None
    if impl.compiled:                   # a second call separates compile time from run time
        settle(call)
        del result
        t0 = time.perf_counter()
        result = call()
        t_s = time.perf_counter() - t0
        compile_s = max(first - t_s, 0.0)
    peak = _status_mb("VmHWM")
    leaves = canon(result)
    for i, v in enumerate(leaves):
        if _is_sparse(v):
            import scipy.sparse as sp
            sp.save_npz(os.path.join(tmp, f"leaf{i}.npz"), v)
        else:
            np.save(os.path.join(tmp, f"leaf{i}.npy"), v)
    print(json.dumps({"time_s": t_s, "compile_s": compile_s, "peak_mb": peak,
                      "delta_mb": peak - before, "n_leaves": len(leaves),
                      "extra": native_after()}))


# -- checking ------------------------------------------------------------------------------------
def _is_sparse(x):
    return hasattr(x, "tocsr") and hasattr(x, "nnz")


def _leaf(x):
    if _is_sparse(x):
        return x.tocsr()
    if not isinstance(x, np.ndarray):   # torch and chainrule tensors
        x = x.detach() if hasattr(x, "detach") else x
        x = x.cpu() if hasattr(x, "cpu") else x
        x = x.numpy() if hasattr(x, "numpy") else x
    return np.asarray(x, dtype=np.float64)


def canon(result):
    """A result as a flat list of float64 arrays (or scipy sparse matrices): tuples and lists
    in order, dicts by sorted key."""
    if isinstance(result, (list, tuple)):
        return [leaf for r in result for leaf in canon(r)]
    if isinstance(result, dict):
        return [leaf for k in sorted(result) for leaf in canon(result[k])]
    return [_leaf(result)]


def _leaf_err(a, b):
    if _is_sparse(a) or _is_sparse(b):
        import scipy.sparse as sp
        a = a if _is_sparse(a) else sp.csr_matrix(np.reshape(a, b.shape))
        b = b if _is_sparse(b) else sp.csr_matrix(np.reshape(b, a.shape))
        if a.shape != b.shape:
            return np.inf
        diff = abs(a - b).max()
        scale = abs(b).max()
    else:
        if a.size != b.size:
            return np.inf
        a, b = a.ravel(), b.ravel()
        diff = np.max(np.abs(a - b)) if a.size else 0.0
        scale = np.max(np.abs(b)) if b.size else 0.0
    if not np.isfinite(diff):
        return np.inf
    return float(diff / scale) if scale > 0 else float(diff)


def rel_err(a, b):
    """The largest, over leaves, of max|a - b| / max|b|; inf when the structures differ."""
    if len(a) != len(b):
        return np.inf
    return max((_leaf_err(x, y) for x, y in zip(a, b)), default=0.0)


def check_case(rows, reference):
    """Fill ``row.check`` for every row with a result; -> 'passed', 'failed' or 'skipped'."""
    results = [r for r in rows if r.ok and r.kind != "function" and r.value is not None]
    if not results:
        return "skipped"
    anchor = next((r for r in results if r.kind == "chainrule"), results[0])
    status = "passed"
    for r in results:
        comparisons = [] if r is anchor else [(anchor.value, PEER_RTOL, anchor.impl)]
        if reference is not None:
            comparisons.append((canon(reference[0]), reference[1], reference[2]))
        errs = [(rel_err(r.value, value), rtol, label) for value, rtol, label in comparisons]
        bad = [e for e in errs if e[0] > e[1]]
        r.max_err = max((e[0] for e in errs), default=None)
        if bad:
            e, _, label = max(bad, key=lambda e: e[0] / e[1])
            r.check = f"FAIL {e:.1e} vs {label}"
            status = "failed"
        else:
            r.check = f"ok {r.max_err:.0e}" if errs else "ok"
    return status


# -- the driver ----------------------------------------------------------------------------------
def _fill_ratios(rows):
    def best(mode):
        times = [r.time_s for r in rows if r.ok and r.kind == "peer" and r.time_s
                 and mode in (None, r.mode)]
        return min(times) if times else None
    best_any = best(None)
    for mode in ("eager", "jit"):
        best_mode = best(mode)
        for r in rows:
            if r.ok and r.kind != "function" and r.mode == mode and r.time_s:
                r.ratio = r.time_s / best_mode if best_mode else None
                r.ratio_any = r.time_s / best_any if best_any else None
    return {r.impl: r for r in rows}


def eager_name(impl):
    """The eager row a chainrule jit row compiles: ``impl.eager``, else its name without the
    words "jit" and "numba" ("chainrule jit dense hessian" -> "chainrule dense hessian")."""
    if impl.eager:
        return impl.eager
    return " ".join(w for w in impl.name.split() if w not in ("jit", "numba"))


def fill_jit_eager(mod, rows):
    """The "jit / eager" column: each chainrule jit row's time over its eager row's."""
    by_name = {r.impl: r for r in rows}
    impls = {i.name: i for i in mod.IMPLS}
    for r in rows:
        impl = impls.get(r.impl)
        if not (r.ok and r.kind == "chainrule" and impl and impl.compiled and r.time_s):
            continue
        e = by_name.get(eager_name(impl))
        if e is not None and e is not r and e.ok and e.mode == "eager" and e.time_s:
            r.jit_eager = r.time_s / e.time_s


def _run_row(mod, impl, case, quick):
    """Measure one row. Rows that need memory (full runs) or cases marked "fresh" first run in a
    fresh process; when that run is long (over SINGLE_RUN_S) or the case is "fresh", its time
    is the row's time (one run); otherwise the row is also timed here with repeats."""
    row = Row(case=case["label"], impl=impl.name, kind=impl.kind, mode=impl.mode)
    JITTED.clear()
    gc.collect()
    try:
        if case.get("fresh") or (impl.memory and not quick):
            out = fresh_process(mod.ID, impl.name, case)
            row.peak_mb, row.delta_mb = out["peak_mb"], out["delta_mb"]
            if case.get("fresh") or out["time_s"] + (out["compile_s"] or 0.0) > SINGLE_RUN_S:
                row.time_s, row.compile_s = out["time_s"], out["compile_s"]
                row.repeats, row.single, row.fresh = 1, not impl.compiled, True
                row.value = out["load"]()
                row.extra.update(out.get("extra", {}))
                return row
        call = impl.build(case)
        result, row.time_s, row.compile_s, row.repeats, row.single = \
            time_call(call, quick, impl.compiled)
        row.value = canon(result)
        info = getattr(call, "info", None)      # optional: what the row chose, e.g. a mode
        if callable(info):
            row.extra.update(info())
        row.extra.update(native_after())
        del call, result
    except NotYet as e:
        row.status = f"not yet: {e}"
    except Skip as e:
        row.status = f"skipped: {e}"
    except Exception as e:          # a bug in one row must not hide the others
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        row.status = f"error: {type(e).__name__}: {msg}"[:300]
    return row


def _progress(wid, label, row):
    """One line per measured row on stderr, as it finishes: the table comes at the end."""
    what = fmt_time(row.time_s) if row.ok else row.status.split(":")[0]
    print(f"  {wid} {label}: {row.impl} ({row.mode}) {what}", file=sys.stderr, flush=True)


def run_workload(mod, quick=False, write=True):
    """Run one workload module; print its table; write its JSON. -> the JSON document (a dict
    with "check", "table", "notes", "summary", ...)."""
    cap = getattr(mod, "CAP_S", 60.0)
    mem_cap = getattr(mod, "MEM_CAP_MB", 10_000.0)
    print(f"\n== {mod.ID}: {mod.TITLE} ==\n{mod.WHAT}", flush=True)
    t_start, load_start = time.perf_counter(), _load_average()
    all_rows, case_checks, last = [], [], {}
    cases = mod.cases(quick)
    for case in cases:
        rows = []
        for impl in mod.IMPLS:
            cost = (impl.cost or (lambda c: c.get("cost", 1.0)))(case)
            prev_cost, prev_s, prev_mb = last.get(impl.name, (cost, 0.0, 0.0))
            est_s, est_mb = prev_s * cost / prev_cost, prev_mb * cost / prev_cost
            if (est_s > cap or est_mb > mem_cap) and not quick:
                what = (f"{est_s:.0f} s (cap {cap:.0f} s)" if est_s > cap
                        else f"{est_mb / 1e3:.0f} GB (cap {mem_cap / 1e3:.0f} GB)")
                rows.append(Row(case=case["label"], impl=impl.name, kind=impl.kind,
                                mode=impl.mode, status=f"skipped: estimated {what} from the "
                                "previous case"))
                last[impl.name] = (cost, est_s, est_mb)
                continue
            row = _run_row(mod, impl, case, quick)
            _progress(mod.ID, case["label"], row)
            if row.ok:
                last[impl.name] = (cost, row.time_s + (row.compile_s or 0.0), row.delta_mb or 0.0)
            rows.append(row)
        ref = mod.reference(case) if getattr(mod, "reference", None) else None
        status = check_case(rows, ref)
        by_name = _fill_ratios(rows)
        fill_jit_eager(mod, rows)
        for r in rows:
            base = by_name.get(next((i.base for i in mod.IMPLS if i.name == r.impl), None))
            if r.ok and base is not None and base.ok and base.time_s:
                r.per_f = r.time_s / base.time_s
            if r.ok and hasattr(mod, "columns"):
                r.extra.update(mod.columns(case, r))
        case_checks.append({"case": case["label"], "check": status,
                            "reference": ref[2] if ref else None})
        all_rows.extend(rows)
    statuses = [c["check"] for c in case_checks]
    check = ("failed" if "failed" in statuses else
             "passed" if "passed" in statuses else "skipped")
    summary = mod.summary(cases, all_rows) if hasattr(mod, "summary") else []
    table = format_table(all_rows, quick)
    print(table)
    for line in getattr(mod, "NOTES", []) + summary:
        print("  " + line)
    errors = [r for r in all_rows if r.kind == "chainrule" and r.status.startswith("error")]
    n_peers = sum(1 for r in all_rows if r.ok and r.kind == "peer")
    refs = sorted({c["reference"] for c in case_checks if c["reference"]})
    detail = (f"chainrule vs {n_peers} peer results at 1e-8" if n_peers else "no peer ran") + \
        (" and vs " + ", ".join(refs) if refs else "")
    check_line = (f"{mod.ID} check: {check} ({detail})"
                  + (f"; {len(errors)} chainrule row(s) in error" if errors else ""))
    print(check_line, flush=True)
    doc = {"id": mod.ID, "title": mod.TITLE, "what": mod.WHAT, "quick": quick,
           "date": time.strftime("%Y-%m-%d %H:%M:%S"),
           "seconds": round(time.perf_counter() - t_start, 1),
           "load_average": [load_start, _load_average()], "machine": machine(), "versions": versions(), "check": check,
           "check_line": check_line, "cases": case_checks,
           "notes": getattr(mod, "NOTES", []), "summary": summary, "table": table,
           "rows": [r.to_json() for r in all_rows]}
    if write:
        os.makedirs(RESULTS_DIR, exist_ok=True)
        name = f"{mod.ID.lower()}.quick.json" if quick else f"{mod.ID.lower()}.json"
        with open(os.path.join(RESULTS_DIR, name), "w") as f:
            json.dump(doc, f, indent=1, default=float)
    return doc


# -- presentation --------------------------------------------------------------------------------
def fmt_time(s):
    if s is None:
        return ""
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _fmt_compile(r):
    if r.compile_s is None:
        return ""
    # the first call minus the median: below a tenth of a call it is within the noise
    return "~0" if r.compile_s < 0.1 * r.time_s else fmt_time(r.compile_s)


def _short(text, n=72):
    return text if len(text) <= n else text[:n - 3] + "..."


def format_table(rows, quick=False):
    """Rows as a Markdown table; columns that no row fills are left out."""
    extra_names = []
    for r in rows:
        extra_names += [k for k in r.extra if k not in extra_names]
    cols = [("case", lambda r: r.case), ("implementation", lambda r: r.impl),
            ("mode", lambda r: r.mode),
            ("time", lambda r: (fmt_time(r.time_s) + (" (fresh process)" if r.fresh else "")
                                + (" (1 run)" if r.single else "")) if r.ok
             else _short(r.status)),
            ("compile", lambda r: _fmt_compile(r) if r.ok else ""),
            ("x best peer, same mode", lambda r: f"{r.ratio:.2f}" if r.ratio else ""),
            ("x best peer, any", lambda r: f"{r.ratio_any:.2f}" if r.ratio_any else ""),
            ("grad / f", lambda r: f"{r.per_f:.1f}" if r.per_f else ""),
            ("jit / eager", lambda r: (f"{r.jit_eager:.2f}" if r.jit_eager >= 0.1 else
                                       f"{r.jit_eager:.1g}") if r.jit_eager else ""),
            ("peak MB (+delta)", lambda r: f"{r.peak_mb:.0f} (+{r.delta_mb:.0f})"
             if r.peak_mb is not None else "")]
    cols += [(n, lambda r, n=n: r.extra.get(n, "")) for n in extra_names]
    cols.append(("check", lambda r: r.check if r.ok else ""))
    cells = [[get(r) for _, get in cols] for r in rows]
    keep = [j for j, (name, _) in enumerate(cols)
            if name in ("case", "implementation", "time") or any(c[j] for c in cells)]
    header = [cols[j][0] for j in keep]
    body = [[c[j] for j in keep] for c in cells]
    for i in range(len(body) - 1, 0, -1):     # print each case label once
        if body[i][0] == body[i - 1][0]:
            body[i][0] = ""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    line = lambda xs: "| " + " | ".join(str(x).ljust(w) for x, w in zip(xs, widths)) + " |"  # noqa
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(b) for b in body])


def pin_to_one_cpu():
    """Keep this process (and the fresh processes it starts) on one CPU, the idler one over a
    short sample, so that thread pools which size themselves from the CPU affinity (XLA's) use
    one thread like the rest. No-op where affinity is not supported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        def idle():
            with open("/proc/stat") as f:
                rows = [ln.split() for ln in f if ln.startswith("cpu") and ln[3].isdigit()]
            return {int(r[0][3:]): int(r[4]) + int(r[5]) for r in rows}
        try:
            before = idle()
            time.sleep(0.3)
            after = idle()
            cpus.sort(key=lambda c: before.get(c, 0) - after.get(c, 0))   # most idle first
        except (OSError, ValueError, IndexError):
            pass
    os.sched_setaffinity(0, {cpus[0]})
    return cpus[0]


def machine():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        mem_gb = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb and round(mem_gb, 1),
            "platform": platform.platform(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
            "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else None,
            # other work on the machine skews times; the ratios of one run share it
            "load_average_1min": _load_average()}


def _load_average():
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def versions():
    out = {"python": platform.python_version()}
    for dist in ("chainrule", "numpy", "scipy", "jax", "jaxlib", "torch", "autograd"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    if out["chainrule"] is None:
        import chainrule
        out["chainrule"] = getattr(chainrule, "__version__", None)
    try:
        out["chainrule_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
            text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["chainrule_commit"] = None
    return out
