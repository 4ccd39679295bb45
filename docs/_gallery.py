"""The gallery's view of examples/: every script becomes a page, with nothing to register.

``stage_examples`` copies examples/ to a build folder before sphinx-gallery reads it and gives a
script whose module docstring has no reStructuredText title one: the docstring's first paragraph
(or, without a docstring, the file name). A script may name the command-line arguments it gets
in the build in a comment line, e.g. ``# chainrule-gallery-args: --epochs 5 --plot loss.png``;
``gallery_argv`` hands them to it. Everything else (CHAINRULE_QUICK=1, the Agg backend) comes
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
UNDERLINE = re.compile(r"^([=\-~^*#+])\1{2,}\s*$", re.MULTILINE)


def _title_block(path, source):
    """(docstring node or None, the reStructuredText header the page needs, or None if fine)."""
    tree = ast.parse(source)
    node = tree.body[0] if tree.body and isinstance(tree.body[0], ast.Expr) and \
        isinstance(getattr(tree.body[0], "value", None), ast.Constant) and \
        isinstance(tree.body[0].value.value, str) else None
    doc = node.value.value if node else ""
    first = doc.strip().split("\n\n")[0] if doc.strip() else ""
    if first and UNDERLINE.search(first):
        return node, None
    title = " ".join(first.split()) or path.stem.replace("_", " ").capitalize()
    rest = doc.strip()[len(first):].strip("\n") if first else ""
    rest = "\n".join(line.rstrip() for line in rest.splitlines())
    title = title.replace("*", r"\*").replace("`", "")
    return node, f"{title}\n{'=' * len(title)}\n\n{rest}\n"


def stage_examples(src, dst):
    """Copy ``src`` (examples/) into ``dst`` with page titles and the gallery header; -> dst."""
    src, dst = pathlib.Path(src), pathlib.Path(dst)
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (dst / "README.txt").write_text(HEADER)
    for path in sorted(dst.glob("*.py")):
        source = path.read_text()
        node, header = _title_block(path, source)
        if header is None:
            continue
        lines = source.splitlines(keepends=True)
        if node is None:
            start = 0
            while start < len(lines) and (lines[start].startswith("#!")
                                          or "coding" in lines[start][:30]):
                start += 1
            body = "".join(lines[:start]) + f'"""{header}"""\n' + "".join(lines[start:])
        else:
            head = "".join(lines[:node.lineno - 1])
            tail = "".join(lines[node.end_lineno:])
            body = head + f'"""{_escape(header)}"""\n' + tail
        path.write_text(body)
    return dst


def _escape(text):
    return text.replace("\\", "\\\\").replace('"""', r'\"\"\"')


def gallery_argv(gallery_conf, script_vars):
    """sphinx-gallery's ``reset_argv``: the arguments of a ``# chainrule-gallery-args:`` line."""
    text = pathlib.Path(script_vars["src_file"]).read_text()
    m = ARGS.search(text)
    return shlex.split(m.group(1)) if m else []
