"""The command line: ``python -m chainrule`` and the ``chainrule`` console script."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time
import tomllib
from importlib import metadata

import numpy
import scipy

import chainrule
from chainrule import cli, tour
from chainrule.numpy.__main__ import render

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(*args, script=None, check=True):
    cmd = script or [sys.executable, "-m", "chainrule"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120,
                          check=check, env=ENV, cwd=ROOT)


def entry_point():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return scripts["chainrule"]


def console_script():
    """What pip's generated ``chainrule`` script does: load the entry point and exit with it."""
    code = ("import sys; from importlib.metadata import EntryPoint; "
            f"sys.argv[0] = 'chainrule'; sys.exit(EntryPoint('chainrule', {entry_point()!r}, "
            "'console_scripts').load()())")
    return [sys.executable, "-c", code]


def test_version_names_the_versions_and_does_not_run_the_tour():
    for script in (None, console_script()):
        p = run("--version", script=script)
        assert p.stdout.strip() == (f"chainrule {chainrule.__version__} (numpy "
                                    f"{numpy.__version__}, scipy {scipy.__version__}, Python "
                                    f"{sys.version.split()[0]})")
        assert "tour" not in p.stdout


def test_help_lists_the_commands():
    for script in (None, console_script()):
        out = run("--help", script=script).stdout
        assert out.startswith("usage: chainrule")
        for word in ("tour", "supported", "--version", "sphinx"):
            assert word in out
        assert "Background" not in out          # the tour did not run
    sub = run("tour", "--help").stdout
    assert "--section" in sub and "--list" in sub


def test_plain_module_runs_the_tour_in_order():
    """The README's first command: ``python -m chainrule`` runs the whole tour."""
    out = run().stdout
    heads = [int(n) for n in re.findall(r"^(\d)\. ", out, re.MULTILINE)]
    assert heads == list(range(1, len(tour.SECTIONS) + 1))
    assert re.findall(r"^\d\. .*$", run("tour").stdout, re.MULTILINE) == \
        re.findall(r"^\d\. .*$", out, re.MULTILINE)             # the same as `tour`
    assert "cr.grad(f)(2.0)                         21.0" in out


def test_tour_sections_and_list():
    listed = run("tour", "--list").stdout.splitlines()
    assert listed == [f"{n}. {t}" for n, t in tour.titles()]
    assert len(listed) == len(tour.SECTIONS)
    out = run("tour", "--section", "3").stdout
    assert re.findall(r"^(\d)\. (.*)$", out, re.MULTILINE) == [("3", tour.titles()[2][1])]
    assert "f'(2) by forward mode (jvp):           21" in out
    out = run("tour", "-s", "2,4", script=console_script()).stdout
    assert [int(n) for n in re.findall(r"^(\d)\. ", out, re.MULTILINE)] == [2, 4]
    out = run("tour", "-s", "7-8").stdout
    assert [int(n) for n in re.findall(r"^(\d)\. ", out, re.MULTILINE)] == [7, 8]


def test_bad_arguments_exit_2_with_a_message():
    for args, words in [(("tour", "--section", "12"), ("1 to 9", "--list")),
                        (("tour", "--section", "x"), ("1 to 9",)),
                        (("tour", "--section", "5-3"), ("1 to 9",)),
                        (("nonsense",), ("invalid choice", "tour", "supported"))]:
        p = run(*args, check=False)
        assert p.returncode == 2, args
        assert p.stdout == ""
        for w in words:
            assert w in p.stderr, (args, p.stderr)


def test_supported_prints_the_generated_list():
    for script in (None, console_script()):
        assert run("supported", script=script).stdout == render()
    assert run("supported").stdout == (ROOT / "docs" / "supported.md").read_text()


def test_section_parser():
    assert cli._section_numbers("5") == [5]
    assert cli._section_numbers("3-5, 1") == [1, 3, 4, 5]


def test_console_script_is_declared_and_installed_where_this_checkout_is():
    assert entry_point() == "chainrule.cli:main"
    installed = [d for d in metadata.distributions(name="chainrule")
                 if json.loads(d.read_text("direct_url.json") or "{}").get("url", "")
                 .removeprefix("file://") == str(ROOT)]
    for dist in installed:                  # CI: pip install -e . of this checkout
        eps = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
        assert eps.get("chainrule") == entry_point(), (
            "the installed metadata of this checkout predates its pyproject.toml: "
            'reinstall with pip install -e ".[test]" (as .ci/run does)')
        path = shutil.which("chainrule", path=os.path.dirname(sys.executable) + os.pathsep
                            + os.environ.get("PATH", ""))
        assert path is not None
        assert run("--version", script=[path]).stdout.startswith("chainrule ")


def test_tour_output_streams_through_a_pipe():
    """Progress: the first lines arrive while the tour is still running (its timing sections
    take a second or more), not all at its end as a block-buffered pipe would deliver them."""
    env = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}    # Python's default
    t_start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "tour"], stdout=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    try:
        first = proc.stdout.readline()
        t_first = time.perf_counter()
        rest = proc.stdout.read()
        t_end = time.perf_counter()
    finally:
        proc.wait(timeout=120)
    assert first.startswith("chainrule: a guided tour")
    # line by line, the sections after the header take more than half of the run (the imports
    # before it the rest); held back in a pipe's buffer, about a tenth arrives after the first
    assert t_end - t_first > 0.3 * (t_end - t_start), "the tour's output was held back"
    assert proc.returncode == 0 and "9. Summary" in rest
