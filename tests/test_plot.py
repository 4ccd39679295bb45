"""chainrule.plot: spy (patterns and colorings) and graph (staged programs), on the Agg backend."""
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import plot  # noqa: E402
from chainrule.core.errors import InvalidArgumentError, ShapeMismatchError  # noqa: E402
from chainrule.sparse import column_coloring, is_column_coloring, row_coloring  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def stencil(u):
    up = np.pad(u, 1)
    return 2 * up[1:-1] - up[:-2] - up[2:] + np.exp(u)


def drawn(ax, k=0):
    """(row, col) pairs and RGBA colors of the k-th scatter of ``ax``."""
    pc = ax.collections[k]
    xy = np.asarray(pc.get_offsets())
    return xy[:, 1].astype(int), xy[:, 0].astype(int), pc.get_facecolors()


def test_import_does_not_load_matplotlib():
    code = "import sys, chainrule.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_spy_draws_every_nonzero_once_at_its_place():
    rng = np.random.default_rng(0)
    dense = rng.uniform(size=(7, 11)) < 0.3
    for pattern in (dense, sp.csr_array(dense), dense.astype(float)):
        ax = plot.spy(pattern)
        r, c, _ = drawn(ax)
        assert sorted(zip(r, c)) == sorted(zip(*np.nonzero(dense)))
        assert ax.get_xlim() == (-0.5, 10.5) and ax.get_ylim() == (6.5, -0.5)   # row 0 on top
        assert f"{dense.sum()} nonzeros" in ax.get_title()


def test_spy_colors_nonzeros_by_column_color():
    J = cr.jacobian_sparsity(stencil, np.zeros(12))
    coloring = column_coloring(J)
    assert is_column_coloring(J, coloring.colors)
    ax = plot.spy(J, coloring)
    r, c, faces = drawn(ax)
    assert len(r) == J.nnz == 12 * 3 - 2
    palette = plot._palette(coloring.ncolors)
    for col, face in zip(c, faces):
        assert np.allclose(face, to_rgba(palette[coloring.colors[col]]))
    # two nonzeros of one row never share a color: that is what makes the compression exact
    for row in range(12):
        row_faces = faces[r == row]
        assert len({tuple(f) for f in row_faces}) == len(row_faces)
    assert f"{coloring.ncolors} colors" in ax.get_title()


def test_spy_row_coloring_and_compressed_panel():
    J = np.zeros((6, 8), bool)
    J[:, 0] = True                       # a dense column: row colors must all differ
    J[np.arange(6), np.arange(6) + 2] = True
    rows = row_coloring(J)
    assert rows.ncolors == 6
    ax_pattern, ax_comp = plot.spy(J, rows, compressed=True)
    r, c, faces = drawn(ax_pattern)
    palette = plot._palette(rows.ncolors)
    for row, face in zip(r, faces):
        assert np.allclose(face, to_rgba(palette[rows.colors[row]]))
    # compressed: ncolors x n, entry (k, j) where some row of color k has column j
    cr_, cc, _ = drawn(ax_comp)
    expected = {(rows.colors[i], j) for i, j in zip(*np.nonzero(J))}
    assert set(zip(cr_, cc)) == expected
    assert ax_comp.get_title() == "compressed: 6 x 8"


def test_spy_of_a_prepared_jacobian_uses_its_coloring():
    prep = cr.prepare_sparse_jacobian(stencil, np.zeros(20))
    ax, comp = plot.spy(prep, compressed=True)
    r, c, _ = drawn(ax)
    assert len(r) == prep.pattern.nnz
    cr_, cc, _ = drawn(comp)
    # column coloring: compressed is m x ncolors and holds as many nonzeros as the pattern
    assert comp.get_title() == f"compressed: 20 x {prep.coloring.ncolors}"
    assert len(cr_) == prep.pattern.nnz and cc.max() == prep.coloring.ncolors - 1


def test_spy_rejects_bad_input():
    with pytest.raises(ShapeMismatchError, match="2-D"):
        plot.spy(np.ones(4))
    with pytest.raises(ShapeMismatchError, match="needs 5 colors"):
        plot.spy(np.eye(5), np.zeros(4, int))
    with pytest.raises(InvalidArgumentError, match="integer"):
        plot.spy(np.eye(3), np.zeros(3))
    with pytest.raises(InvalidArgumentError, match="needs a coloring"):
        plot.spy(np.eye(3), compressed=True)


def f(x):
    return np.sum(np.sin(x) * x)


def test_to_dot_has_a_node_per_equation_and_an_edge_per_operand():
    g = cr.make_graph(cr.grad(f))(np.ones(3))
    dot = plot.to_dot(cr.grad(f), np.ones(3))
    assert dot == plot.to_dot(g)
    assert dot.startswith("digraph chainrule {") and dot.rstrip().endswith("}")
    for i, eqn in enumerate(g.eqns):
        assert f'e{i} [shape=ellipse' in dot and eqn.prim.name in dot
    operands = sum(len(e.inputs) for e in g.eqns) + len(g.outvars)
    assert dot.count(" -> ") == operands
    assert '"input 0: f64[3]"' in dot and '"output 0: f64[3]"' in dot


def test_graph_with_graphviz_draws_an_image():
    ax = plot.graph(f, np.ones(3), engine="dot")          # CI installs graphviz
    assert ax.chainrule_engine == "dot"
    image = ax.images[0].get_array()
    assert image.shape[0] > 100 and image.shape[1] > 50
    assert np.ptp(np.asarray(image, float)) > 0            # not a blank picture
    assert plot.graph(f, np.ones(3)).chainrule_engine == "dot"     # auto picks dot


def test_graph_without_graphviz_shows_the_listing(monkeypatch):
    monkeypatch.setattr(plot.shutil, "which", lambda name: None)
    ax = plot.graph(f, np.ones(3))
    assert ax.chainrule_engine == "text"
    assert ax.texts[0].get_text() == str(cr.make_graph(f)(np.ones(3)))
    with pytest.raises(InvalidArgumentError, match="apt-get install graphviz"):
        plot.graph(f, np.ones(3), engine="dot")


def test_graph_rejects_bad_input():
    with pytest.raises(InvalidArgumentError, match="engine"):
        plot.graph(f, np.ones(3), engine="svg")
    with pytest.raises(InvalidArgumentError, match="function or a Graph"):
        plot.graph(3.0)
    g = cr.make_graph(f)(np.ones(3))
    with pytest.raises(InvalidArgumentError, match="either"):
        plot.graph(g, np.ones(3))
