"""The docs build's helpers: docs/_gallery.py (any script in examples/ becomes a valid gallery
page, whatever its docstring looks like, and still runs as it does from the command line) and
docs/_docstrings.py (docstrings written for help() become clean reStructuredText)."""
import io
import pathlib
import runpy
import sys

import docutils.core
import docutils.utils

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))
import _docstrings  # noqa: E402
import _gallery  # noqa: E402

sys.path.remove(str(ROOT / "docs"))

SCRIPTS = {
    "plain.py": '''"""A shooting problem: the initial velocity (vx, vy) that sends a ball under gravity and
quadratic drag |v| v to a target, with *forward* sensitivities and a name_ reference.

    x'' = -k |v| vx

    python examples/plain.py [--plot]
"""
import argparse
print(argparse.ArgumentParser(description=__doc__.splitlines()[0]).description)
''',
    "short.py": '''"""Fit a curve with ``cr.grad``.

Some text.
"""
print(__doc__.split("\\n")[0])
''',
    "titled.py": '''"""
A proper title
==============

Text with ``code``.
"""
print("titled")
''',
    "nodoc.py": "#!/usr/bin/env python\nprint('no docstring', __doc__)\n",
    "_helper.py": "VALUE = 1\n",
}


def rst_problems(text):
    """docutils' warnings and errors on ``text`` (an empty list when it is clean)."""
    stream = io.StringIO()
    docutils.core.publish_doctree(text, settings_overrides={"warning_stream": stream,
                                                            "report_level": 2})
    return stream.getvalue()


def staged(tmp_path):
    src = tmp_path / "examples"
    src.mkdir()
    for name, text in SCRIPTS.items():
        (src / name).write_text(text)
    return _gallery.stage_examples(src, tmp_path / "staged")


def test_every_page_header_is_clean_restructuredtext(tmp_path):
    out = staged(tmp_path)
    assert (out / "README.txt").read_text().startswith("Gallery\n=======")
    for name in ("plain.py", "short.py", "titled.py", "nodoc.py"):
        node, doc = _gallery._docstring((out / name).read_text())
        assert node is not None, name
        title, underline = doc.strip().splitlines()[:2]
        assert set(underline) == {"="} and len(underline) >= len(title), name
        assert rst_problems(doc) == "", (name, rst_problems(doc))


def test_titles(tmp_path):
    out = staged(tmp_path)
    titles = {n: _gallery._docstring((out / n).read_text())[1].strip().splitlines()[0]
              for n in ("plain.py", "short.py", "titled.py", "nodoc.py")}
    assert titles == {"plain.py": "A shooting problem", "short.py": "Fit a curve with ``cr.grad``.",
                      "titled.py": "A proper title", "nodoc.py": "Nodoc"}
    # a long first paragraph is cut for the title and kept whole in the text
    assert "the initial velocity (vx, vy)" in (out / "plain.py").read_text()
    assert (out / "titled.py").read_text() == SCRIPTS["titled.py"]      # left as written


def test_staged_scripts_run_as_the_originals(tmp_path, capsys):
    out = staged(tmp_path)
    for name, expected in (("plain.py", "A shooting problem: the initial velocity (vx, vy) "
                            "that sends a ball under gravity and"),
                           ("short.py", "Fit a curve with ``cr.grad``."),
                           ("nodoc.py", "no docstring None")):
        runpy.run_path(str(out / name), run_name="__main__")
        assert capsys.readouterr().out.strip() == expected, name
    assert (out / "nodoc.py").read_text().startswith("#!/usr/bin/env python\n")


def test_gallery_arguments(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("# chainrule-gallery-args: --plot out.png --epochs 'a b'\nprint(1)\n")
    assert _gallery.gallery_argv({}, {"src_file": str(script)}) == ["--plot", "out.png",
                                                                   "--epochs", "a b"]
    script.write_text("print(1)\n")
    assert _gallery.gallery_argv({}, {"src_file": str(script)}) == []
    script.write_text('ap.add_argument("--plot", action="store_true", help="draw")\n')
    assert _gallery.gallery_argv({}, {"src_file": str(script)}) == ["--plot"]
    script.write_text('ap.add_argument("--plot", metavar="FILE")\n')      # needs a value
    assert _gallery.gallery_argv({}, {"src_file": str(script)}) == []


def test_escaping_keeps_literals():
    assert _gallery._escape_rst("a |v| and ``x|y*`` and *b* c_") == \
        r"a \|v\| and ``x|y*`` and \*b\* c\_"
    assert rst_problems("Title\n=====\n\n" + _gallery._plain_to_rst("x | y\n\n    a_ |b|\n")) == ""


def processed(doc):
    lines = doc.splitlines()
    _docstrings.indented_blocks_as_code(None, "function", "f", None, {}, lines)
    return "\n".join(lines)


DOC = """Loop over ``xs`` with the ``y``s stacked.

Glued on the left: a``b`` too.

    opt = Adam(params)
    for x in data:
        loss = f(x)

Text after the code; a block after ``::`` stays as it is::

    literal

- a list item
"""


def test_raw_docstring_is_faulty_and_processed_one_is_clean():
    assert "Inline literal start-string without end-string" in rst_problems(DOC)
    assert "Unexpected indentation" in rst_problems(DOC)
    assert rst_problems(processed(DOC)) == ""


def test_code_blocks_and_literals():
    out = processed(DOC)
    assert ".. code-block:: python\n\n    opt = Adam(params)\n    for x in data:" in out
    assert out.count(".. code-block::") == 1            # the :: block is left alone
    assert "``y``\\ s stacked" in out and "a\\ ``b`` too" in out
    assert "over ``xs`` with" in out                    # literals at word boundaries unchanged
    assert _docstrings.unglue_literals("``a``, ``b``s") == "``a``, ``b``\\ s"
