"""How the API reference reads chainrule's docstrings (autodoc-process-docstring).

The docstrings are written for people reading them with ``help()``: code as an indented block,
``literals`` glued to words. reStructuredText reads those differently (a quotation, an error),
so they are adjusted line by line before Sphinx parses them.
"""
import re

_LITERAL = re.compile(r"``\S.*?``")


def unglue_literals(line):
    """``y``s -> ``y``\\ s: reStructuredText needs an inline literal to end (and start) at a
    word boundary; an escaped space joins it to the word without a gap."""
    def fix(m):
        before = "\\ " if m.start() and line[m.start() - 1].isalnum() else ""
        after = "\\ " if m.end() < len(line) and line[m.end()].isalnum() else ""
        return before + m.group(0) + after
    return _LITERAL.sub(fix, line)


def indented_blocks_as_code(app, what, name, obj, options, lines):
    """chainrule's docstrings write code as an indented block after a blank line (as Markdown
    does); reStructuredText would read it as a quotation. Mark such blocks as Python code.
    Inline literals glued to a word (``y``s) get the escaped space reStructuredText needs."""
    out, i, prev = [], 0, ""
    while i < len(lines):
        line = lines[i]
        if line[:1] != " ":
            line = unglue_literals(line)
        starts_block = (not line.strip() and i + 1 < len(lines) and lines[i + 1][:1] == " "
                        and not prev.rstrip().endswith("::") and not prev.startswith(".. ")
                        and not prev.startswith(" "))
        out.append(line)
        i += 1
        if starts_block:
            out += [".. code-block:: python", ""]
            while i < len(lines) and (not lines[i].strip() or lines[i][:1] == " "):
                out.append(lines[i])
                i += 1
            out.append("")
        if line.strip():
            prev = line
    lines[:] = out
