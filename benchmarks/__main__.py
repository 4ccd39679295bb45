"""``python -m benchmarks [--only W3 [--only W7]] [--quick] [--markdown docs/benchmarks.md]``:
run the workloads, print their tables, write benchmarks/results/<id>.json, and exit with status
1 if any check failed.

``--quick`` uses tiny sizes, times each row once and measures no memory: it exists to run the
correctness cross-checks (tests/test_benchmarks.py); its times mean nothing.
``--markdown PATH`` also writes a Markdown page with the tables, machine and versions of the
latest full run of every workload (benchmarks/results/<id>.json), this run's included.
"""
import argparse
import importlib
import json
import os
import sys
import time

# One thread per system (BENCH_THREADS=0 leaves threading alone). On a small shared machine,
# multi-threaded BLAS and thread pools that spin-wait swing by 10x or more whenever other work
# runs; one thread each measures the same work in every system. The variables must be set
# before NumPy loads its BLAS; fresh processes inherit them (and the CPU pinning of main()).
THREADS = os.environ.get("BENCH_THREADS", "1")
if THREADS != "0":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, THREADS)

from . import WORKLOADS, _harness  # noqa: E402

HOW_TO_READ = """\
Each workload runs chainrule and its peers in one process on the same float64 inputs (JAX with
`jax_enable_x64`, PyTorch float64 tensors), every system on one thread and one core (the suite
pins itself to the idler CPU at start and sets the BLAS/OpenMP thread counts to 1;
`BENCH_THREADS=0` leaves threading alone). A row is timed after one warm-up call as the median
of repeats (at least 3, about a second in all); a call over 2 s is timed once ("1 run"). Rows
marked "fresh process" ran once in a new interpreter (long cases). For jit rows, "compile" is the
first call's excess over the steady time (tracing and compilation); "~0" means within the noise.
jit rows are timed once `jit` has settled, per signature, on its compiled code or eager
evaluation (it times both on the first calls; up to 8 untimed calls before the row's timing).

- **x best peer, same mode**: time / the fastest peer of the same mode (eager or jit);
  **x best peer, any**: time / the fastest peer of either mode.
- **grad / f**: derivative time / the same framework's function time (W2, W9).
- **jit / eager**: a chainrule jit row's time / the time of the eager chainrule row it
  compiles (the same name without "jit"; "numba" rows against the eager row of that name
  without "numba"). `jit` times both paths on a signature's first calls and keeps the faster,
  so above 1 only by noise or by timings taken with the machine busy.
- **peak MB (+delta)**: peak resident memory of a fresh process running the row once, and how
  much above its size before the call the call went (Linux `VmHWM`, reset before the call:
  `ru_maxrss` survives fork and exec and would report the parent's size).
- **check**: every derivative is compared with chainrule's (or the first peer's) at 1e-8
  relative (max |a - b| / max |b| per output array) and with a closed form, power series,
  central differences or hand-written backpropagation; the figure is the largest error seen.
- **not yet**: the chainrule capability has not landed (such rows light up by themselves when
  it does, e.g. `chainrule.checkpoint` in W8); **skipped**: a peer is not
  installed, or the predicted time or memory from the previous size exceeds the workload's cap;
  **error**: the row raised (the message is the row's).

The machine is shared: other work running at the same time skews absolute times, so compare
ratios within one run; each section gives the load average (2 cores) at its start and end.
"""


def load_results():
    """The latest full-run JSON of every workload, in order (those never run are left out)."""
    docs = {}
    for wid in WORKLOADS:
        path = os.path.join(_harness.RESULTS_DIR, f"{wid.lower()}.json")
        if os.path.exists(path):
            with open(path) as f:
                docs[wid] = json.load(f)
    return docs


def table_with_jit_eager(wid, doc):
    """The table of a workload's JSON document, rebuilt from its rows with the "jit / eager"
    column filled (results written before the column existed gain it from their own times)."""
    rows = doc.get("rows")
    if not rows or wid not in WORKLOADS:
        return doc["table"]
    fields = {f.name for f in _harness.dataclasses.fields(_harness.Row)}
    rows = [_harness.Row(**{k: v for k, v in r.items() if k in fields}) for r in rows]
    mod = importlib.import_module(WORKLOADS[wid])
    for case in dict.fromkeys(r.case for r in rows):
        _harness.fill_jit_eager(mod, [r for r in rows if r.case == case])
    return _harness.format_table(rows, doc.get("quick", False))


def markdown(docs):
    """The Markdown page of ``docs`` (workload id -> the JSON document of its run)."""
    first = next(iter(docs.values()))
    m, v = first["machine"], first["versions"]
    total = sum(d["seconds"] for d in docs.values())
    quick = any(d["quick"] for d in docs.values())
    out = ["# Benchmarks", "",
           f"Tables of a {'--quick' if quick else 'full'} run ({total / 60:.1f} minutes for all "
           "workloads), regenerated with", "", "    pip install -e '.[bench]'",
           "    python -m benchmarks" + (" --quick" if quick else "")
           + " --markdown docs/benchmarks.md", "",
           "(`--only W9 --markdown ...` reruns one workload and rebuilds the page from the latest "
           "`benchmarks/results/<id>.json` of each.)", "",
           f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, {m['platform']}; "
           f"OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']}; BLAS/OpenMP threads "
           f"{m.get('threads')}, pinned to CPU {m.get('affinity')}.", "",
           "Versions: " + ", ".join(f"{k} {val or 'not installed'}" for k, val in v.items())
           + ".", "", "Workloads: `benchmarks/w*.py` (W1..W9, one module each, its docstring says what "
           "it measures). Raw numbers: "
           "`benchmarks/results/<id>.json`.", "", "## How to read the tables", "",
           HOW_TO_READ]
    for wid, doc in docs.items():
        doc = {**doc, "table": table_with_jit_eager(wid, doc)}
        load = doc.get("load_average") or [None, None]
        commit = doc["versions"].get("chainrule_commit")
        out += [f"## {wid}: {doc['title']}", "", doc["what"] + ".", "",
                f"Run {doc['date']}, {doc['seconds']:.0f} s, load average {load[0]} at the "
                f"start and {load[1]} at the end, chainrule commit {commit}.", "",
                doc["table"], ""]
        out += [f"- {line}" for line in doc["notes"] + doc["summary"]]
        out += ["", f"**{doc['check_line']}**", ""]
    return "\n".join(out)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", metavar="ID",
                    help="run only this workload (W1..W9); repeat or comma-separate for several")
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes, correctness cross-checks only (no timing judgement)")
    ap.add_argument("--no-write", action="store_true",
                    help="do not write benchmarks/results/<id>.json")
    ap.add_argument("--markdown", metavar="PATH",
                    help="also write the tables, machine and versions to this Markdown file")
    args = ap.parse_args(argv)
    ids = list(WORKLOADS)
    if args.only:
        wanted = [w.strip().upper() for arg in args.only for w in arg.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in WORKLOADS]
        if unknown:
            ap.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(ids)}")
        ids = [w for w in ids if w in wanted]

    if THREADS == "1":
        _harness.pin_to_one_cpu()
    m, v = _harness.machine(), _harness.versions()
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; {m['platform']}; "
          f"load average {m['load_average_1min']}; threads {m['threads']}, CPUs {m['affinity']}")
    print("versions: " + ", ".join(f"{k} {val or 'not installed'}" for k, val in v.items()))
    if args.quick:
        print("--quick: tiny sizes, one timed call per row; times are not meaningful")
    t0 = time.perf_counter()
    docs = {}
    for wid in ids:
        mod = importlib.import_module(WORKLOADS[wid])
        docs[wid] = _harness.run_workload(mod, quick=args.quick, write=not args.no_write)
    seconds = time.perf_counter() - t0
    print(f"\nsummary ({seconds:.0f} s): "
          + ", ".join(f"{w} {d['check']}" for w, d in docs.items()))
    if args.markdown:
        page = docs if args.quick or args.no_write else {**load_results(), **docs}
        with open(args.markdown, "w") as f:
            f.write(markdown(page))
        print(f"wrote {args.markdown}")
    return 1 if any(d["check"] == "failed" for d in docs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
