"""The code blocks of docs/custom_rules.md and of the README's section on custom rules run."""
import pathlib
import re

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _readme_section():
    text = (ROOT / "README.md").read_text()
    start = text.index("## Custom rules and implicit differentiation")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


BLOCKS = [("docs", b) for b in _blocks((ROOT / "docs" / "custom_rules.md").read_text())] + \
    [("readme", b) for b in _blocks(_readme_section())]


def test_there_are_blocks():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("k", range(len(BLOCKS)))
def test_block_runs(k):
    with np.errstate(over="ignore"):
        exec(compile(BLOCKS[k][1], f"<{BLOCKS[k][0]} block {k}>", "exec"), {})
