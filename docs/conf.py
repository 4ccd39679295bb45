"""Sphinx configuration of chainrule's documentation site.

Build it (warnings are errors, so a broken reference fails; tests/docs/test_site.py does this):

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

Markdown pages are read by myst-parser; docs/tutorials/*.py and every script in examples/ are run
by sphinx-gallery at build time (matplotlib's Agg backend), their output and figures shown on
their pages. The build sets CHAINRULE_QUICK=1 unless it is set already: scripts read it to run
small sizes (CHAINRULE_QUICK=0 builds with the full sizes).
"""
import os
import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))
os.environ.setdefault("CHAINRULE_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import chainrule  # noqa: E402
from _docstrings import indented_blocks_as_code  # noqa: E402
from _gallery import stage_examples  # noqa: E402

project = "chainrule"
author = "the chainrule developers"
copyright = "chainrule developers"
release = version = chainrule.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# generated/api_more.md is only included by api.md, never a page of its own
exclude_patterns = ["_build", "generated/examples_src", "generated/api_more.md", "**/README.txt",
                    "README.md"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "none"

# examples/ is copied to generated/examples_src first (a title is made for a script whose
# docstring has none), so that a new script appears in the gallery with nothing else to do
EXAMPLES_SRC = stage_examples(ROOT / "examples", DOCS / "generated" / "examples_src")



def write_api_more(page, out):
    """Write ``out``: reference entries for the names in ``chainrule.__all__`` that ``page``
    (api.md) does not document yet, so that a new export is never missing from the site."""
    import inspect
    text = page.read_text()
    missing = [n for n in chainrule.__all__ if f"chainrule.{n}\n" not in text
               and not inspect.ismodule(getattr(chainrule, n))]
    lines = []
    if missing:
        lines = ["## More", "", "```{eval-rst}"]
        for n in missing:
            obj = getattr(chainrule, n)
            kind = ("autoexception" if isinstance(obj, type) and issubclass(obj, BaseException)
                    else "autoclass" if isinstance(obj, type) else "autofunction")
            lines.append(f".. {kind}:: chainrule.{n}")
        lines += ["```", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists() or out.read_text() != "\n".join(lines):
        out.write_text("\n".join(lines))


write_api_more(DOCS / "api.md", DOCS / "generated" / "api_more.md")

sphinx_gallery_conf = {
    "examples_dirs": ["tutorials", str(EXAMPLES_SRC)],
    "gallery_dirs": ["generated/tutorials", "generated/gallery"],
    "filename_pattern": r"\.py$",             # run every script
    "ignore_pattern": r"(__init__|/_[^/]*)\.py$",   # helpers named _*.py are not pages
    "within_subsection_order": "FileNameSortKey",
    "reset_argv": "_gallery.gallery_argv",
    "download_all_examples": False,
    "remove_config_comments": True,
    "backreferences_dir": None,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "min_reported_time": 1e9,                 # no per-example timing footers
    "write_computation_times": False,
    "show_memory": False,
    "capture_repr": (),
    "expected_failing_examples": [],
}

plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]

html_theme = "pydata_sphinx_theme"
html_title = "chainrule"
html_static_path = ["_static"]
html_favicon = "_static/chainrule.svg"
html_logo = "_static/chainrule.svg"
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}
pygments_style = "sphinx"


def setup(app):
    app.connect("autodoc-process-docstring", indented_blocks_as_code)
