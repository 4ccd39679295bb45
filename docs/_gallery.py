"""The gallery's view of examples/: every script becomes a page, with nothing to register.

``stage_examples`` copies examples/ to a build folder before sphinx-gallery reads it and gives a
script whose module docstring has no reStructuredText title one: the docstring's first paragraph
(or, without a docstring, the file name). A script may name the command-line arguments it gets
in the build in a comment line, e.g. ``# chainrule-gallery-args: --epochs 5 --plot loss.png``;
``gallery_argv`` hands them to it (a script with a ``--plot`` switch and no such line gets
``--plot``). Everything else (CHAINRULE_QUICK=1, the Agg backend) comes
from conf.py.
"""
import ast
import pathlib
import re
import shlex
import shutil

HEADER = """\
Gallery
=======

Every script in the repository's ``examples/`` folder, run when this site was built: each page
shows the script, what it printed and the figures it drew. The build sets
``CHAINRULE_QUICK=1``, which the scripts read to run with small sizes; run one yourself with
``python examples/<name>.py`` for the full sizes.
"""
ARGS = re.compile(r"^#\s*chainrule-gallery-args:(.*)$", re.MULTILINE)
PLOT_SWITCH = re.compile(r"""add_argument\(\s*["']--plot["'][^)]*store_true""")
UNDERLINE = re.compile(r"^([=\-~^*#+])\1{2,}\s*$", re.MULTILINE)


def _docstring(source):
    """(the module docstring's Expr node or None, its text or "")."""
    tree = ast.parse(source)
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
            and isinstance(first.value.value, str):
        return first, first.value.value
    return None, ""


def _title(paragraph, fallback):
    """A page title from a docstring's first paragraph: cut at the first ': ', ' (' or '. '
    when the paragraph is long (the whole paragraph then opens the text)."""
    text = " ".join(paragraph.split()) or fallback
    if len(text) <= 70:
        return text, False
    cuts = [i for i in (text.find(": "), text.find(" ("), text.find(". ")) if i > 10]
    return (text[:min(cuts)] if cuts else text[:70].rsplit(" ", 1)[0] + " ..."), True


_LITERAL = re.compile(r"(``.+?``)")


def _escape_rst(text):
    """Plain text for a reStructuredText paragraph: ``literals`` kept, markup characters
    (``|`` substitutions, ``*`` emphasis, ``name_`` references, backslashes) escaped."""
    parts = _LITERAL.split(text)
    for i in range(0, len(parts), 2):
        t = parts[i].replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
        parts[i] = re.sub(r"(\w)_(?=\W|$)", r"\1\\_", t)
    return "".join(parts)


def _plain_to_rst(text):
    """A plain-text docstring body as reStructuredText: paragraphs escaped, indented blocks
    (commands, formulas) as literal blocks."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        if not block.strip():
            continue
        if block[:1] == " ":
            out.append("::\n\n" + block.rstrip())
        else:
            out.append(_escape_rst(block.rstrip()))
    return "\n\n".join(out)


def page_header(path, source):
    """The reStructuredText header sphinx-gallery needs for ``source``, or None when its
    docstring already has one (a first paragraph with an underlined title)."""
    _, doc = _docstring(source)
    paragraphs = doc.strip().split("\n\n") if doc.strip() else [""]
    if paragraphs[0] and UNDERLINE.search(paragraphs[0]):
        return None
    title, cut = _title(paragraphs[0], path.stem.replace("_", " ").capitalize())
    body = doc.strip() if cut else "\n\n".join(paragraphs[1:])
    title = _escape_rst(title)
    return f"{title}\n{'=' * len(title)}\n\n{_plain_to_rst(body)}\n"


def stage_examples(src, dst):
    """Copy ``src`` (examples/) into ``dst`` with page headers and the gallery header; -> dst.

    A script keeps its own docstring as ``__doc__`` (argparse descriptions read it), set in a
    line hidden from the page."""
    src, dst = pathlib.Path(src), pathlib.Path(dst)
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (dst / "README.txt").write_text(HEADER)
    for path in sorted(dst.glob("*.py")):
        source = path.read_text()
        header = page_header(path, source)
        if header is None:
            continue
        node, doc = _docstring(source)
        lines = source.splitlines(keepends=True)
        start, end = (node.lineno - 1, node.end_lineno) if node else (0, 0)
        while node is None and start < len(lines) and lines[start].startswith("#"):
            start += 1                      # a shebang or coding line stays first
            end = start
        keep_doc = ("# sphinx_gallery_start_ignore\n"
                    f"__doc__ = {doc if node else None!r}\n"
                    "# sphinx_gallery_end_ignore\n")
        path.write_text("".join(lines[:start]) + f'"""{_escape(header)}"""\n' + keep_doc
                        + "".join(lines[end:]))
    return dst


def _escape(text):
    return text.replace("\\", "\\\\").replace('"""', r'\"\"\"')


def gallery_argv(gallery_conf, script_vars):
    """sphinx-gallery's ``reset_argv``: the arguments of a ``# chainrule-gallery-args:`` line;
    without one, ``--plot`` for a script with a ``--plot`` switch (figures are what the gallery
    shows), else none."""
    text = pathlib.Path(script_vars["src_file"]).read_text()
    m = ARGS.search(text)
    if m:
        return shlex.split(m.group(1))
    return ["--plot"] if PLOT_SWITCH.search(text) else []
