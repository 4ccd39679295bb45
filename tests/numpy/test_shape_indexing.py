"""Shape manipulation and indexing: every function through NumPy's protocols, in forward and
reverse mode to second order (the square keeps the second derivative non-trivial)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import UnsupportedFunctionError

from gradcases import case, ids, rand

X = rand(2, 3, 4)
M = rand(3, 4)
V = rand(5)
SQ = rand(4, 4)


def sq(f):
    """``f`` followed by a square, so that second derivatives are not all zero."""
    def g(*xs):
        y = f(*xs)
        if isinstance(y, (list, tuple)):
            return [v * v for v in y]
        return y * y
    return g


SHAPE = [
    ("reshape", lambda x: np.reshape(x, (6, -1)), X),
    ("reshape_method", lambda x: x.reshape(4, 6), X),
    ("ravel", np.ravel, X),
    ("flatten", lambda x: x.flatten(), X),
    ("transpose", np.transpose, X),
    ("transpose_axes", lambda x: np.transpose(x, (1, -1, 0)), X),
    ("T", lambda x: x.T, M),
    ("swapaxes", lambda x: np.swapaxes(x, 0, -1), X),
    ("moveaxis", lambda x: np.moveaxis(x, 0, -1), X),
    ("moveaxis_many", lambda x: np.moveaxis(x, [0, 1], [-1, 0]), X),
    ("squeeze", lambda x: np.squeeze(x[:, :1, None]), X),
    ("squeeze_axis", lambda x: np.squeeze(x[:1], axis=0), X),
    ("expand_dims", lambda x: np.expand_dims(x, (0, -1)), M),
    ("broadcast_to", lambda x: np.broadcast_to(x, (2, 3, 4)), M),
    ("broadcast_arrays", lambda x: np.broadcast_arrays(x[:, :1], x[:1]), M),
    ("concatenate", lambda x: np.concatenate([x, x[:1] * 2], axis=0), M),
    ("concatenate_none", lambda x: np.concatenate([x, x[0]], axis=None), M),
    ("concatenate_neg", lambda x: np.concatenate([x, x[:, :2]], axis=-1), M),
    ("stack", lambda x: np.stack([x, x ** 2], axis=1), M),
    ("stack_neg", lambda x: np.stack([x[0], x[1]], axis=-1), M),
    ("hstack", lambda x: np.hstack([x, x[:, :1]]), M),
    ("hstack_1d", lambda x: np.hstack([x, x[1:]]), V),
    ("vstack", lambda x: np.vstack([x, x[0]]), M),
    ("dstack", lambda x: np.dstack([x, x]), M),
    ("column_stack", lambda x: np.column_stack([x, x ** 2]), V),
    ("append", lambda x: np.append(x, x[:1], axis=0), M),
    ("split", lambda x: np.split(x, 2, axis=1), M),
    ("split_indices", lambda x: np.split(x, [1, 3], axis=-1), M),
    ("array_split", lambda x: np.array_split(x, 3), V),
    ("hsplit", lambda x: np.hsplit(x, 2), M),
    ("vsplit", lambda x: np.vsplit(x, [1]), M),
    ("tile", lambda x: np.tile(x, (2, 1, 2)), M),
    ("tile_int", lambda x: np.tile(x, 3), V),
    ("repeat", lambda x: np.repeat(x, 2, axis=1), M),
    ("repeat_counts", lambda x: np.repeat(x, [1, 0, 2, 1, 3]), V),
    ("repeat_flat", lambda x: np.repeat(x, 2), M),
    ("flip", np.flip, X),
    ("flip_axis", lambda x: np.flip(x, axis=(0, 2)), X),
    ("fliplr", np.fliplr, M),
    ("flipud", np.flipud, M),
    ("roll", lambda x: np.roll(x, 2), M),
    ("roll_axis", lambda x: np.roll(x, -1, axis=1), M),
    ("roll_multi", lambda x: np.roll(x, (1, 2), axis=(0, 1)), M),
    ("rot90", np.rot90, M),
    ("rot90_k2", lambda x: np.rot90(x, 2), M),
    ("rot90_k3_axes", lambda x: np.rot90(x, -1, axes=(1, 2)), X),
    ("pad_constant", lambda x: np.pad(x, 1), M),
    ("pad_constant_values", lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=2.5), M),
    ("pad_traced_value", lambda x: np.pad(x[1:], 2, constant_values=x[0]), V),
    ("pad_edge", lambda x: np.pad(x, (2, 1), mode="edge"), M),
    ("pad_reflect", lambda x: np.pad(x, ((1, 2), (3, 0)), mode="reflect"), M),
    ("pad_reflect_wide", lambda x: np.pad(x, 7, mode="reflect"), V),
    ("pad_symmetric", lambda x: np.pad(x, 2, mode="symmetric"), M),
    ("pad_wrap", lambda x: np.pad(x, ((1, 1), (2, 3)), mode="wrap"), M),
    ("triu", np.triu, SQ),
    ("triu_k", lambda x: np.triu(x, 1), M),
    ("tril", np.tril, SQ),
    ("tril_k", lambda x: np.tril(x, -1), X),
    ("diag_vec", np.diag, V),
    ("diag_vec_k", lambda x: np.diag(x, -2), V),
    ("diag_mat", np.diag, M),
    ("diag_mat_k", lambda x: np.diag(x, 1), M),
    ("diagonal", np.diagonal, M),
    ("diagonal_axes", lambda x: np.diagonal(x, 1, axis1=2, axis2=0), X),
    ("trace", np.trace, SQ),
    ("trace_offset", lambda x: np.trace(x, -1, axis1=1, axis2=2), X),
    ("atleast_1d", lambda x: np.atleast_1d(x[0, 0]), M),
    ("atleast_2d", lambda x: np.atleast_2d(x), V),
    ("atleast_3d", lambda x: np.atleast_3d(x, x[0])[1], M),
    ("meshgrid", lambda x: np.meshgrid(x[:2], x[2:]), V),
    ("meshgrid_ij", lambda x: np.meshgrid(x[:2], x[2:], x[1:3], indexing="ij"), V),
    ("meshgrid_sparse", lambda x: np.meshgrid(x[:2], x[2:], sparse=True), V),
    ("diff", np.diff, M),
    ("diff_n_axis", lambda x: np.diff(x, n=2, axis=0), X),
    ("diff_prepend", lambda x: np.diff(x, prepend=0.5, append=x[-1:]), V),
    ("copy", np.copy, M),
    ("copy_method", lambda x: x.copy(), M),
    ("astype", lambda x: x.astype(np.float64), M),
]

INDEX = [
    ("int", lambda x: x[1], X),
    ("negative_int", lambda x: x[-1, -2], X),
    ("slice", lambda x: x[1:, ::2], X),
    ("negative_step", lambda x: x[::-1, 3:0:-2], X),
    ("newaxis", lambda x: x[:, None, 1], X),
    ("ellipsis", lambda x: x[..., 1], X),
    ("ellipsis_newaxis", lambda x: x[None, ..., ::-1], X),
    ("int_array", lambda x: x[np.array([0, 2, 2, 1])], M),
    ("int_list", lambda x: x[[1, 0, 1]], M),
    ("int_array_2d", lambda x: x[np.array([[0, 1], [1, 1]]), 2:], M),
    ("two_int_arrays", lambda x: x[[0, 2, 1], [3, 0, 0]], M),
    ("mixed_advanced", lambda x: x[:, [0, 2], 1], X),
    ("bool_mask", lambda x: x[x > 0], M),
    ("bool_mask_axis", lambda x: x[:, np.array([True, False, True, True])], M),
    ("iteration", lambda x: sum(row * i for i, row in enumerate(x)), M),
    ("take", lambda x: np.take(x, [3, 0, 0]), M),
    ("take_axis", lambda x: np.take(x, [2, 0], axis=-1), X),
    ("take_wrap", lambda x: np.take(x, [7, -1], mode="wrap"), V),
    ("take_clip", lambda x: np.take(x, [7, -9], mode="clip"), V),
    ("take_along_axis", lambda x: np.take_along_axis(x, np.argsort(x, axis=1), axis=1), M),
    ("take_along_axis_none", lambda x: np.take_along_axis(x, np.array([3, 0]), None), M),
    ("where", lambda x: np.where(x > 0, x, x ** 3), M),
    ("where_broadcast", lambda x: np.where(x[0] > 0, x, 0.5), M),
    ("select", lambda x: np.select([x < -1, x > 1], [x ** 2, np.sin(x)], default=x), M),
    ("sort", np.sort, M),
    ("sort_axis0", lambda x: np.sort(x, axis=0), M),
    ("sort_none", lambda x: np.sort(x, axis=None), M),
    ("searchsorted", lambda x: x[np.searchsorted(np.sort(x), np.sort(x)[2])], V),
    ("extract", lambda x: np.extract(x > 0, x), M),
    ("compress", lambda x: np.compress([True, False, True], x, axis=0), M),
    ("nonzero", lambda x: x[np.nonzero(x > 0)], M),
]

OTHER = [
    ("polyval", lambda x: np.polyval(x[:3], x[3:]), V),
    ("polyval_const_p", lambda x: np.polyval([1.0, -2.0, 0.5, 3.0], x), M),
    ("polyval_const_x", lambda x: np.polyval(x, 0.7), V),
    ("interp_x", lambda x: np.interp(x, [-3.0, -1.0, 0.5, 3.0], [1.0, 2.0, -1.0, 0.0]), M),
    ("interp_fp", lambda x: np.interp(np.array([-4.0, -0.9, 0.0, 0.6, 2.9, 5.0]),
                                      [-3.0, -1.0, 0.5, 1.2, 3.0], x), V),
    ("interp_left_right", lambda x: np.interp(x, [-1.0, 0.0, 1.0], x[0, :3], left=x[1, 0],
                                              right=-1.0), M * 1.5),
    ("linspace", lambda x: np.linspace(x[0], x[1], 5), V),
    ("linspace_retstep", lambda x: np.linspace(x[0], x[1], 4, endpoint=False, retstep=True)[1],
     V),
    ("isclose", lambda x: np.where(np.isclose(x, 0.1, atol=0.3), 0.0, x), V),
    ("sinc", np.sinc, np.array([0.0, 2e-4, 0.3, -1.7])),
    ("cross", lambda x: np.cross(x[:, :3], x[::-1, 1:]), M),
    ("convolve", lambda x: np.convolve(x, x[:3]), V),
    ("convolve_same", lambda x: np.convolve(x[:2], x, mode="same"), V),
    ("correlate_valid", lambda x: np.correlate(x, x[1:4]), V),
    ("correlate_full", lambda x: np.correlate(x[:3], x, mode="full"), V),
    ("trapezoid", lambda x: np.trapezoid(x, axis=0), M),
    ("trapezoid_x", lambda x: np.trapezoid(x, x=np.cumsum(x[0] ** 2)), M),
    ("gradient", lambda x: np.gradient(x, 0.5), V),
    ("gradient_2d", lambda x: np.gradient(x), M),
    ("cumulative_sum", lambda x: np.cumulative_sum(x, axis=1, include_initial=True), M),
    ("cumulative_prod", lambda x: np.cumulative_prod(x), V),
]

GRAD_CASES = [case(name, sq(f), x) for name, f, x in SHAPE + INDEX + OTHER] + [
    case("cnp_array", lambda x: cnp.array([[x[0], x[1]], [x[2] ** 2, 1.0]]), V),
    case("cnp_asarray", lambda x: cnp.asarray([x[0], x[1] * 2]), V),
    case("np_array_like", lambda x: np.array([1.0, 2.0], like=x) * x[:2], V),
]


@pytest.mark.parametrize("c", GRAD_CASES, ids=ids(GRAD_CASES))
def test_grads(c):
    c.check()


def test_sort_gradient_follows_the_permutation():
    x = np.array([3.0, 1.0, 2.0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sort(x) @ np.array([1.0, 10.0, 100.0]))(x),
                               [100.0, 1.0, 10.0])


def test_shape_values_match_numpy():
    for name, f, x in SHAPE + INDEX + OTHER:
        want = f(x)
        got = cr.jvp(f, (x,), (np.zeros_like(x),))[0]
        for g, w in zip(got if isinstance(want, (list, tuple)) else [got],
                        want if isinstance(want, (list, tuple)) else [want]):
            np.testing.assert_allclose(g, w, err_msg=name)


def test_unsupported_is_named():
    with pytest.raises(UnsupportedFunctionError, match="numpy.unique"):
        cr.grad(lambda x: np.unique(x, axis=0).sum())(np.ones(3))
    with pytest.raises(UnsupportedFunctionError, match="mode='linear_ramp'"):
        cr.grad(lambda x: np.pad(x, 1, mode="linear_ramp").sum())(np.ones(3))
    with pytest.raises(UnsupportedFunctionError, match="numpy.histogram"):
        cr.grad(lambda x: np.histogram(x)[0].sum())(np.ones(3))


def test_sort_is_staged_without_values():
    # the order is a value of the program (argsort, then a gather), not a constant
    assert "take_along" in str(cr.make_graph(np.sort)(np.ones(3)))
