"""Pictures of derivatives: sparsity patterns with their colorings, and staged graphs.

    import chainrule as cr
    from chainrule import plot
    prep = cr.prepare_sparse_jacobian(f, x)
    plot.spy(prep)                          # the pattern, each nonzero in its column's color
    plot.spy(prep.pattern, prep.coloring, compressed=True)   # ... and the compressed matrix
    plot.graph(f, x)                        # the program chainrule stages for f

matplotlib is imported only when a function draws (``pip install "chainrule[plot]"``), so
``import chainrule.plot`` costs nothing. ``graph`` lays the program out with Graphviz's ``dot``
when it is on the PATH and shows the text listing otherwise; ``to_dot`` gives the DOT source.
"""
import shutil
import subprocess

import numpy as np
import scipy.sparse as sp

from .core.errors import InvalidArgumentError, ShapeMismatchError
from .core.graph import Graph, Var
from .interpreters.staging import make_graph
from .sparse import Coloring

__all__ = ["spy", "graph", "to_dot"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("chainrule.plot draws with matplotlib, which is not installed: "
                          'pip install "chainrule[plot]"') from e
    return plt


def _new_axes(ax, width, height):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=(width, height))
    return ax


# -- spy ------------------------------------------------------------------------------------------
def _as_pattern(pattern):
    """``pattern`` (array-like or scipy.sparse, 2-D) -> (rows, cols, shape) of its nonzeros."""
    if sp.issparse(pattern):
        coo = sp.coo_array(pattern)
        coo.sum_duplicates()
        keep = coo.data != 0
        return coo.row[keep], coo.col[keep], coo.shape
    a = np.asarray(pattern)
    if a.ndim != 2:
        raise ShapeMismatchError(f"spy: the pattern must be a 2-D matrix, got shape {a.shape}")
    rows, cols = np.nonzero(a)
    return rows, cols, a.shape


def _as_coloring(coloring, shape):
    """``coloring`` (a Coloring or an int array) -> (colors, by_row) checked against shape."""
    kind = coloring.kind if isinstance(coloring, Coloring) else "column"
    colors = np.asarray(coloring.colors if isinstance(coloring, Coloring) else coloring)
    if colors.ndim != 1 or not np.issubdtype(colors.dtype, np.integer):
        raise InvalidArgumentError("spy: the coloring must be a Coloring or a 1-D integer array "
                                   f"of colors, got {colors.dtype} with shape {colors.shape}")
    by_row = kind == "row"
    n = shape[0] if by_row else shape[1]
    if colors.size != n:
        raise ShapeMismatchError(f"spy: a {kind} coloring of a {shape[0]} x {shape[1]} pattern "
                                 f"needs {n} colors, one per {'row' if by_row else 'column'}; "
                                 f"got {colors.size}")
    if colors.size and colors.min() < 0:
        raise InvalidArgumentError("spy: colors must be non-negative integers")
    return colors, by_row


def _marker_size(shape, ax):
    """Marker area (points^2) so that one cell of the matrix is about one marker wide."""
    fig = ax.figure
    width_in = fig.get_size_inches()[0] * ax.get_position().width
    cell = 72.0 * width_in / max(shape)
    return float(np.clip(cell, 0.3, 12.0) ** 2)


def _palette(k):
    plt = _pyplot()
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(max(k, 1))]


def spy(pattern, coloring=None, *, ax=None, compressed=False, title=None):
    """Draw the nonzeros of ``pattern`` (m x n: a NumPy array, a scipy.sparse matrix or array,
    or a prepared ``SparseJacobian``/``SparseHessian``, whose coloring is then used unless one
    is given), with row 0 at the top as in ``matplotlib.pyplot.spy``.

    ``coloring``: None (every nonzero black), a ``Coloring`` (column, star and acyclic colorings
    color by column, row colorings by row), or an integer array of n column colors. Each nonzero
    takes the color of its column (row). With ``compressed=True`` a second panel shows the
    compressed matrix the sweeps compute: m x ncolors for a column coloring (row i, color c is
    nonzero where row i has a nonzero in a column of color c), ncolors x n for a row coloring.

    Returns the Axes drawn on (a list of two with ``compressed=True``; ``ax`` may then be a pair).
    """
    if hasattr(pattern, "pattern") and hasattr(pattern, "coloring"):     # a prepared object
        coloring = pattern.coloring if coloring is None else coloring
        pattern = pattern.pattern
    rows, cols, shape = _as_pattern(pattern)
    if compressed and coloring is None:
        raise InvalidArgumentError("spy: compressed=True needs a coloring")
    colors = by_row = None
    if coloring is not None:
        colors, by_row = _as_coloring(coloring, shape)
    plt = _pyplot()
    if compressed:
        if ax is None:
            _, ax = plt.subplots(1, 2, figsize=(9.0, 4.5), width_ratios=(3, 2))
        axes = list(ax)
    else:
        axes = [_new_axes(ax, 4.5, 4.5 * min(2.0, max(0.25, shape[0] / max(shape[1], 1))))]
    ncolors = int(colors.max()) + 1 if colors is not None and colors.size else 0
    palette = _palette(ncolors)
    point_color = "black" if colors is None else \
        [palette[c] for c in colors[rows if by_row else cols]]
    _scatter(axes[0], rows, cols, shape, point_color)
    axes[0].set_title(title if title is not None else
                      f"{shape[0]} x {shape[1]}, {rows.size} nonzeros"
                      + (f", {ncolors} colors" if colors is not None else ""))
    if compressed:
        # the compressed matrix: (row, color) or (color, column) pairs that hold a nonzero
        key_a, key_b = (colors[rows], cols) if by_row else (rows, colors[cols])
        pairs = np.unique(np.stack([key_a, key_b]), axis=1)
        cshape = (ncolors, shape[1]) if by_row else (shape[0], ncolors)
        which = pairs[0] if by_row else pairs[1]
        _scatter(axes[1], pairs[0], pairs[1], cshape, [palette[c] for c in which])
        axes[1].set_title(f"compressed: {cshape[0]} x {cshape[1]}")
        return axes
    return axes[0]


def _scatter(ax, rows, cols, shape, color):
    ax.scatter(cols, rows, s=_marker_size(shape, ax), c=color, marker="s", linewidths=0)
    ax.set_xlim(-0.5, shape[1] - 0.5)
    ax.set_ylim(shape[0] - 0.5, -0.5)
    ax.set_aspect("equal" if max(shape) <= 20 * max(min(shape), 1) else "auto")
    ax.xaxis.tick_top()
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


# -- graph ----------------------------------------------------------------------------------------
def _staged(f, args):
    if isinstance(f, Graph):
        if args:
            raise InvalidArgumentError("graph: pass either a staged Graph or f and its inputs")
        return f
    if not callable(f):
        raise InvalidArgumentError(f"graph: expected a function or a Graph, got "
                                   f"{type(f).__name__}")
    return make_graph(f)(*args)


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(f, *args):
    """The Graphviz DOT source of the program ``make_graph(f)(*args)`` (or of a Graph ``f``):
    inputs and outputs as boxes, one ellipse per primitive application, constants as small
    plain nodes, edges labelled with the shape and dtype of the value they carry."""
    g = _staged(f, args)
    lines = ["digraph chainrule {", '  rankdir=TB; node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9, color="#555555"];']
    source = {}
    for k, v in enumerate(g.invars):
        source[v] = f"in{k}"
        lines.append(f'  in{k} [shape=box, style="rounded,filled", fillcolor="#dbe9f6", '
                     f"label={_quote(f'input {k}: {v.aval}')}];")
    for i, eqn in enumerate(g.eqns):
        params = ", ".join(f"{k}={v!r}" for k, v in (eqn.params or {}).items())
        label = eqn.prim.name + (f"\\n{params}" if params and len(params) < 40 else "")
        fill = "#fde7c8" if eqn.phase else "#eeeeee"
        lines.append(f'  e{i} [shape=ellipse, style=filled, fillcolor="{fill}", '
                     f'label="{_quote(label)[1:-1]}"];')
        for j, x in enumerate(eqn.inputs):
            if type(x) is Var:
                lines.append(f"  {source[x]} -> e{i} [label={_quote(x.aval)}];")
            else:
                lines.append(f"  c{i}_{j} [shape=plaintext, fontsize=9, "
                             f"label={_quote(_literal(x))}];")
                lines.append(f"  c{i}_{j} -> e{i} [style=dashed];")
        for v in eqn.outvars:
            source[v] = f"e{i}"
    for k, v in enumerate(g.outvars):
        lines.append(f'  out{k} [shape=box, style="rounded,filled", fillcolor="#d9f0d3", '
                     f"label={_quote(f'output {k}: {v.aval}')}];")
        if type(v) is Var:
            lines.append(f"  {source[v]} -> out{k} [label={_quote(v.aval)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _literal(lit):
    if lit.aval.shape == ():
        try:
            return repr(np.asarray(lit.val).item())
        except Exception:
            pass
    return f"const {lit.aval}"


def graph(f, *args, ax=None, engine="auto"):
    """Draw the program chainrule stages for ``f`` at ``args`` (``make_graph(f)(*args)``; ``f``
    may also be a Graph, e.g. ``make_graph(cr.grad(g))(x)``), on matplotlib Axes.

    ``engine``: "dot" lays it out with Graphviz (``dot`` must be on the PATH), "text" shows
    the printed listing in a monospace font, "auto" (default) uses dot when it is present.
    Returns the Axes; ``ax.chainrule_engine`` says which engine drew it."""
    if engine not in ("auto", "dot", "text"):
        raise InvalidArgumentError(f"graph: engine must be 'auto', 'dot' or 'text', got "
                                   f"{engine!r}")
    g = _staged(f, args)
    dot = shutil.which("dot")
    if engine == "dot" and dot is None:
        raise InvalidArgumentError("graph: engine='dot' needs Graphviz's `dot` on the PATH "
                                   "(Debian: apt-get install graphviz); engine='text' needs "
                                   "nothing")
    use_dot = dot is not None and engine != "text"
    plt = _pyplot()
    if use_dot:
        png = subprocess.run([dot, "-Tpng", "-Gdpi=110"], input=to_dot(g).encode(),
                             capture_output=True, check=True, timeout=60).stdout
        import io
        image = plt.imread(io.BytesIO(png), format="png")
        h, w = image.shape[:2]
        ax = _new_axes(ax, min(12.0, w / 110), min(16.0, h / 110))
        ax.imshow(image, interpolation="antialiased")
    else:
        text = str(g)
        n_lines, n_cols = text.count("\n") + 1, max(map(len, text.splitlines()))
        ax = _new_axes(ax, min(14.0, 0.6 + 0.085 * n_cols), min(16.0, 0.4 + 0.2 * n_lines))
        ax.text(0.0, 1.0, text, family="monospace", fontsize=9, va="top", ha="left",
                transform=ax.transAxes)
    ax.set_axis_off()
    ax.chainrule_engine = "dot" if use_dot else "text"
    return ax
