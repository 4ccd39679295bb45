"""docs/_docstrings.py: docstrings written for help() become clean reStructuredText."""
import io
import pathlib
import sys

import docutils.core

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))
import _docstrings  # noqa: E402

sys.path.remove(str(ROOT / "docs"))


def problems(text):
    stream = io.StringIO()
    docutils.core.publish_doctree(text, settings_overrides={"warning_stream": stream,
                                                            "report_level": 2})
    return stream.getvalue()


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
    assert "Inline literal start-string without end-string" in problems(DOC)
    assert "Unexpected indentation" in problems(DOC)
    assert problems(processed(DOC)) == ""


def test_code_blocks_and_literals():
    out = processed(DOC)
    assert ".. code-block:: python\n\n    opt = Adam(params)\n    for x in data:" in out
    assert out.count(".. code-block::") == 1            # the :: block is left alone
    assert "``y``\\ s stacked" in out and "a\\ ``b`` too" in out
    assert "over ``xs`` with" in out                    # literals at word boundaries unchanged
    assert _docstrings.unglue_literals("``a``, ``b``s") == "``a``, ``b``\\ s"
