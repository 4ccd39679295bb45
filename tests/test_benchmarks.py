"""The benchmark suite's correctness cross-checks: ``python -m benchmarks --quick`` runs every
workload at tiny sizes, compares chainrule's derivatives with the peers' and with closed forms,
and must pass (or skip what is not installed) on any machine, peers or not."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = [f"W{i}" for i in range(1, 12)] + ["W10K"]


@pytest.fixture(scope="module")
def quick_run():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    return proc


def test_quick_run_exits_cleanly(quick_run):
    assert quick_run.returncode == 0, quick_run.stdout[-4000:] + quick_run.stderr[-4000:]


@pytest.mark.parametrize("wid", WORKLOADS)
def test_each_workload_checks(quick_run, wid):
    m = re.search(rf"^{wid} check: (\w+)", quick_run.stdout, re.MULTILINE)
    assert m, f"{wid} printed no check line:\n{quick_run.stdout[-3000:]}"
    assert m.group(1) in ("passed", "skipped"), quick_run.stdout


def test_fresh_process_measures_memory():
    """The fresh-process path (peak memory, long cases) on a tiny chainrule case."""
    sys.path.insert(0, ROOT)
    try:
        from benchmarks import _harness
    finally:
        sys.path.remove(ROOT)
    out = _harness.fresh_process("W8", "chainrule", {"label": "T=5", "T": 5, "cost": 5},
                                 timeout=120)
    assert out["time_s"] > 0 and out["peak_mb"] > 0 and out["delta_mb"] >= 0
    (grad,) = out["load"]()
    assert grad.shape == (16, 2)


@pytest.mark.parametrize("wid", WORKLOADS)
def test_each_row_reports_progress_on_stderr(quick_run, wid):
    """A full run takes minutes: every measured row prints a line as it finishes."""
    lines = re.findall(rf"^  {wid} [^:]+: chainrule[^\n]*$", quick_run.stderr, re.MULTILINE)
    assert lines, quick_run.stderr[-2000:]
    assert all(re.search(r"(\d us|\d ms|\d s|not yet|skipped|error)$", ln) for ln in lines), lines
