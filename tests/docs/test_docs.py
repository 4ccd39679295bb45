"""Docs that run: every ```python block of README.md and docs/*.md is executed by Sybil.

The convention (README.md, "Documentation snippets"): the ```python blocks of one file run in
order in one namespace, so a later block may use the names an earlier one defined; a block that
starts with ``>>>`` is a doctest and its printed output must match (ELLIPSIS and
NORMALIZE_WHITESPACE are on); text that is not meant to run goes in ```text, ```console or
```bash blocks; ``<!-- skip: next -->`` before a block skips it (say why next to it).
"""
import doctest
import pathlib
import re

import numpy as np
import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
SYBIL = Sybil(parsers=[
    PythonCodeBlockParser(doctest_optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
    SkipParser()])


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_code_blocks_run(path):
    document = SYBIL.parse(path)
    with np.printoptions(legacy=False):
        for example in document:
            example.evaluate()


def test_the_runner_fails_on_a_wrong_snippet(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("```python\nx = 1\n```\n\ntext\n\n```python\n>>> x + undefined_name\n2\n```\n")
    with pytest.raises(Exception, match="undefined_name"):
        for example in SYBIL.parse(bad):
            example.evaluate()


# links and paths the docs name must be files of the repository
_LINK = re.compile(r"\]\(([^)#\s]+)")
_PATH = re.compile(r"`((?:docs|benchmarks|examples|tests|chainrule)/[\w./-]+\.\w+)`")


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_docs_point_inside_the_repository(path):
    text = path.read_text()
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+://", target):
            continue
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
    for target in _PATH.findall(text):
        assert (ROOT / target).exists(), f"{path.name} names missing file {target}"
    assert "../" not in text, f"{path.name} points outside the repository"
