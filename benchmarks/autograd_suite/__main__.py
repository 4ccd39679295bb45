"""Run HIPS autograd's own test suite against chainrule through a thin name-mapping layer.

    python -m benchmarks.autograd_suite PATH [--json OUT] [-k EXPR]

PATH is the ``tests`` folder of an autograd checkout (v1.9.1:
``git clone --branch v1.9.1 https://github.com/HIPS/autograd``, then PATH=autograd/tests).
Its files are copied to a scratch folder and run by pytest with ``shim/`` first on the path,
so ``import autograd`` finds the mapping layer (shim/autograd) instead of autograd. The files
that test autograd's internals (its core, vspaces, boxes and container types) are left out.
Prints the pass count and the failures grouped by category (failures known not to be
chainrule's gaps are named as such: autograd's own API, or where chainrule does more); nothing
of autograd's code is stored in this repository (benchmarks/results/autograd_suite.json holds
the outcome of each test of the last recorded run). Not part of the default test command (it
needs the checkout and takes about a minute)."""
import argparse
import collections
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# autograd's internals: its core, vector spaces, boxes of builtin containers, its own checkers
INTERNAL = ["test_core.py", "test_vspaces.py", "test_tests.py", "test_misc.py",
            "test_direct.py", "test_builtins.py", "test_tuple.py"]


# failures that are not chainrule's gaps, as (file, test name or its start), measured on
# v1.9.1 (docs/coming-from-autograd.md): autograd's own API, and where chainrule does more
AUTOGRAD_ONLY = [("test_numpy", "test_make_diagonal"), ("test_numpy", "test_diagonal"),
                 ("test_linalg", "test_pinv"), ("test_scipy", "test_convolve_generalization"),
                 ("test_scipy", "test_convolve_ignore"), ("test_scipy", "test_convolve_ignore_dot"),
                 ("test_wrappers", "test_deprecated_"),
                 ("test_wrappers", "test_wrapped_name_and_docs"),
                 ("test_wrappers", "test_custom_where_dtypes["), ("test_logic", "test_no_jvp_def")]
DOES_MORE = [("test_graphs", "test_assignment_raises_error"),
             ("test_fft", "test_rfftn_odd_not_implemented")]


def known(name):
    """The category of a failure that is not a gap of chainrule, or None."""
    module, _, test = name.partition("::")
    module = module.split(".")[-1]

    def listed(table):
        return any(module == m and (test == t or t.endswith(("_", "[")) and test.startswith(t))
                   for m, t in table)
    if listed(AUTOGRAD_ONLY):
        return "autograd's own API (not NumPy's or SciPy's)"
    if listed(DOES_MORE):
        return "chainrule does more (autograd expects an error)"
    return None


def categorize(message):
    """A failure message -> a short category."""
    rules = [(r"UnsupportedFunctionError|has no chainrule implementation|not supported",
              "unsupported function"),
             (r"AttributeError", "missing name"),
             (r"ImportError|ModuleNotFoundError", "missing module"),
             (r"ConcretizationError", "value read from a traced array"),
             (r"MissingRuleError", "missing rule"),
             (r"ComplexOutputError", "complex output of grad"),
             (r"AssertionError|Mismatch|not close|differ", "wrong number"),
             (r"TypeError", "TypeError"), (r"ValueError", "ValueError")]
    for pattern, name in rules:
        if re.search(pattern, message):
            return name
    return "other"


def run(tests, extra):
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp) / "tests"
        shutil.copytree(tests, work, ignore=shutil.ignore_patterns(*INTERNAL, "__pycache__"))
        report = pathlib.Path(tmp) / "report.xml"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE / "shim"), str(ROOT)]))
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
               "no:warnings", f"--junitxml={report}", "--rootdir", tmp, str(work)] + extra
        subprocess.run(cmd + ["--continue-on-collection-errors"], cwd=tmp, env=env,
                       stdout=subprocess.DEVNULL)
        root = ET.parse(report).getroot()
        results = []
        for case in root.iter("testcase"):
            name = f"{case.get('classname')}::{case.get('name')}"
            bad = case.find("failure") if case.find("failure") is not None \
                else case.find("error")
            skipped = case.find("skipped") is not None
            if bad is None:
                results.append((name, "skipped by autograd (an optional package is missing)"
                                if skipped else "passed", ""))
                continue
            text = (bad.get("message") or "") + "\n" + (bad.text or "")
            if not case.get("classname"):   # a file that could not be imported: all its tests
                module = case.get("name").split(".")[-1]
                for test in _collected(work / f"{module}.py", tmp):
                    results.append((f"tests.{module}::{test}",
                                    "file not importable: " + categorize(text),
                                    (bad.get("message") or "")[:300]))
                continue
            results.append((name, known(name) or categorize(text),
                            (bad.get("message") or "")[:300]))
    return results


def _collected(path, cwd):
    """The test ids of ``path`` as the installed autograd collects them (no mapping layer)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                          "no:cacheprovider", str(path)], cwd=cwd, capture_output=True,
                         text=True).stdout
    return [line.split("::", 1)[1] for line in out.splitlines() if "::" in line]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tests", help="the tests folder of an autograd v1.9.1 checkout")
    parser.add_argument("--json", help="write every test's outcome to this file")
    parser.add_argument("-k", help="pytest -k expression", default=None)
    args = parser.parse_args()
    extra = ["-k", args.k] if args.k else []
    results = run(pathlib.Path(args.tests), extra)
    passed = sum(r[1] == "passed" for r in results)
    print(f"autograd's test suite against chainrule: {passed} of {len(results)} passed "
          f"({100 * passed / max(len(results), 1):.0f}%), internals left out: "
          f"{', '.join(INTERNAL)}")
    counts = collections.Counter(r[1] for r in results if r[1] != "passed")
    for cat, n in counts.most_common():
        print(f"  {n:4d}  {cat}")
        for name, c, msg in results:
            if c == cat:
                print(f"          {name}: {msg.splitlines()[0][:140] if msg else ''}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            [{"test": n, "outcome": c, "message": m} for n, c, m in results], indent=1))


if __name__ == "__main__":
    main()
