"""The command line: ``chainrule`` (console script) and ``python -m chainrule``.

    chainrule                      the guided tour (as ``python -m chainrule``)
    chainrule tour [--section N]   the tour, or some of its sections (``--list`` names them)
    chainrule supported            the NumPy/SciPy functions chainrule differentiates
    chainrule --version            chainrule's version, with NumPy's, SciPy's and Python's
    chainrule --help               this help

Output goes to stdout line by line as it is produced, so a long section shows its progress even
when piped. Bad arguments exit with status 2 and a message on stderr, as argparse does.
"""
import argparse
import platform
import sys

PROG = "chainrule"


def _version_line():
    import numpy
    import scipy

    from . import __version__
    return (f"chainrule {__version__} (numpy {numpy.__version__}, scipy {scipy.__version__}, "
            f"Python {platform.python_version()})")


def _section_numbers(text):
    """``"5"``, ``"3,5"`` or ``"3-5"`` -> sorted list of section numbers; ValueError if bad."""
    from .tour import SECTIONS
    numbers = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        first, last = int(lo), int(hi or lo)
        if not 1 <= first <= last <= len(SECTIONS):
            raise ValueError(part)
        numbers.update(range(first, last + 1))
    return sorted(numbers)


def _cmd_tour(args, parser):
    from . import tour
    if args.list:
        for number, title in tour.titles():
            print(f"{number}. {title}")
        return 0
    sections = None
    if args.section is not None:
        try:
            sections = _section_numbers(args.section)
        except ValueError:
            parser.error(f"tour --section: expected section numbers 1 to {len(tour.SECTIONS)} "
                         f"(e.g. 5, 3,5 or 3-5), got {args.section!r}; "
                         "`chainrule tour --list` names them")
    tour.main(sections)
    return 0


def _cmd_supported(args, parser):
    from .numpy.__main__ import render
    print(render(), end="")
    return 0


def build_parser():
    """The argparse parser of the command line (one sub-parser per command)."""
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="chainrule: automatic differentiation for Python and NumPy.\n\n"
                    "Without a command, runs the guided tour.",
        epilog="Documentation: README.md and docs/ in the source tree (the site builds with "
               "`python -m sphinx -W -b html docs docs/_build/html`).")
    parser.add_argument("--version", action="version", version=_version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    tour = sub.add_parser("tour", help="the guided tour, following the lecture chainrule grew "
                                       "from (default command)")
    tour.add_argument("--section", "-s", metavar="N",
                      help="run only these sections: 5, 3,5 or 3-5")
    tour.add_argument("--list", action="store_true", help="list the sections and exit")
    tour.set_defaults(run=_cmd_tour)
    sup = sub.add_parser("supported", help="list the NumPy and SciPy functions chainrule "
                                           "differentiates (Markdown, as docs/supported.md)")
    sup.set_defaults(run=_cmd_supported)
    return parser


def main(argv=None):
    """Entry point of ``chainrule`` and ``python -m chainrule``; returns the exit status."""
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)     # progress shows through pipes too
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        args = parser.parse_args(["tour"])
    try:
        return args.run(args, parser)
    except BrokenPipeError:                 # `chainrule supported | head`
        sys.stderr.close()
        return 0
