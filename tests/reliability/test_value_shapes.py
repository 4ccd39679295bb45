"""Functions whose result's shape depends on values (boolean masks, nonzero, unique; issue 18):
eagerly and under jit (which guards the values it reads) they work and differentiate; under
vmap, where JAX refuses them too, they raise ValueDependentShapeError saying what to write
instead; with ``size=`` (as in JAX) they batch and stage, and agree with JAX."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ValueDependentShapeError

jax.config.update("jax_enable_x64", True)

X = np.array([[1.0, -2.0, 3.0, 0.0], [0.5, 2.0, -1.0, 4.0]])


def _set_negative_to_zero(x):
    y = x.copy()
    y[y < 0] = 0.0
    return y


MASKS = {
    "x[mask]": lambda x: np.sum(x[x > 0]),
    "x[mask] = v": lambda x: np.sum(_set_negative_to_zero(x)),
    "extract": lambda x: np.sum(np.extract(x > 0, x)),
    "compress": lambda x: np.sum(np.compress(x > 0, x)),
}
INDICES = {
    "nonzero": (lambda x: np.sum(x[np.nonzero(x > 0)]), "nonzero"),
    "flatnonzero": (lambda x: np.sum(x[np.flatnonzero(x > 0)]), "flatnonzero"),
    "argwhere": (lambda x: np.sum(np.argwhere(x > 0) * 1.0), "argwhere"),
    "where(condition)": (lambda x: np.sum(x[np.where(x > 0)]), "nonzero"),
}


def _refusal(f):
    """The message of the refusal under vmap; jit (which guards the values it reads and
    traces again where they change) agrees with eager evaluation."""
    for x in X:
        np.testing.assert_allclose(cr.jit(f)(x), f(x))
    with pytest.raises(ValueDependentShapeError) as info:
        cr.vmap(f)(X)
    with pytest.raises(ValueDependentShapeError):
        cr.vmap(cr.grad(f))(X)
    assert isinstance(info.value, cr.ConcretizationError)     # caught as before
    assert "vmap" in str(info.value)
    return [str(info.value)]


@pytest.mark.parametrize("name", sorted(MASKS))
def test_masks_are_refused_naming_np_where(name):
    f = MASKS[name]
    # eagerly: a number and its gradient, as NumPy evaluates it
    np.testing.assert_allclose(f(X[1]), np.sum(np.where(X[1] > 0, X[1], 0.0)))
    np.testing.assert_allclose(cr.grad(f)(X[1]), (X[1] > 0) * 1.0)
    for msg in _refusal(f):
        assert "depends on the values" in msg
        assert "np.where(mask, x, 0)" in msg and "x = np.where(mask, v, x)" in msg


@pytest.mark.parametrize("name", sorted(INDICES))
def test_index_functions_are_refused_naming_size(name):
    f, fn = INDICES[name]
    cr.grad(f)(X[1])                                    # eagerly fine
    for msg in _refusal(f):
        assert "depends on the values" in msg
        assert f"chainrule.numpy.{fn}(..., size=k)" in msg and "np.where(condition, x, 0)" in msg


def test_unique_is_refused_naming_size_and_works_eagerly():
    f = lambda x: np.sum(np.unique(x) ** 2)            # noqa: E731
    x = np.array([3.0, 1.0, 3.0, 2.0])
    np.testing.assert_allclose(f(x), 14.0)
    # the derivative reaches the first occurrence of each distinct value, as that of
    # jnp.unique(x, size=k) (jnp.unique without a size is not differentiated: zeros)
    np.testing.assert_allclose(cr.grad(f)(x), [6.0, 2.0, 0.0, 4.0])
    np.testing.assert_allclose(cr.grad(f)(x), jax.grad(
        lambda x: jnp.sum(jnp.unique(x, size=3) ** 2))(x))
    y = np.array([3.0, 1.0, 2.5, 2.0])           # distinct values: 2 x, as differences give
    np.testing.assert_allclose(cr.grad(f)(y), 2.0 * y, rtol=1e-14)
    u, i, inv, c = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    got = cnp.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for a, b in zip(got, (u, i, inv, c)):
        np.testing.assert_array_equal(a, b)
    for msg in _refusal(f):
        assert "chainrule.numpy.unique(x, size=k, fill_value=...)" in msg


U = np.array([[3.0, 1.0, 3.0, 2.0, np.nan, 1.0], [5.0, 5.0, 5.0, 1.0, 0.0, 0.0],
              [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
UNIQUE_KW = [{}, {"return_index": True}, {"return_inverse": True}, {"return_counts": True},
             {"return_index": True, "return_inverse": True, "return_counts": True},
             {"fill_value": -1.0}]


def _as_tuple(r):
    return r if isinstance(r, tuple) else (r,)


@pytest.mark.parametrize("kw", UNIQUE_KW, ids=lambda kw: ",".join(kw) or "values")
def test_unique_with_a_size_batches_and_stages_as_jax(kw):
    want = _as_tuple(jax.vmap(lambda x: jnp.unique(x, size=4, **kw))(U))
    f = lambda x: cnp.unique(x, size=4, **kw)          # noqa: E731
    for got in (_as_tuple(cr.vmap(f)(U)), _as_tuple(cr.jit(cr.vmap(f))(U))):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_unique_with_a_size_of_an_empty_array_pads():
    # every slot is padding: the values are fill_value (as JAX gives them), the indices and
    # counts keep their size k, padded with 0 (JAX returns them empty there, against its own
    # shapes); without a fill_value there is nothing to pad with (JAX refuses too)
    E = np.zeros((2, 0))
    want = jax.vmap(lambda x: jnp.unique(x, size=3, fill_value=0.5))(E)
    f = lambda x: cnp.unique(x, size=3, fill_value=0.5)          # noqa: E731
    for got in (cr.vmap(f)(E), cr.jit(cr.vmap(f))(E), np.stack([f(x) for x in E])):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    u, i, inv, c = cnp.unique(E[0], size=3, fill_value=0.5, return_index=True,
                              return_inverse=True, return_counts=True)
    assert i.tolist() == [0, 0, 0] and c.tolist() == [0, 0, 0]
    assert inv.shape == np.unique(E[0], return_inverse=True)[1].shape
    g = cr.grad(lambda x: np.sum(cnp.unique(x, size=3, fill_value=1.0)) + np.sum(x))(E[0])
    assert g.shape == (0,)
    with pytest.raises(cr.InvalidArgumentError, match="fill_value"):
        cnp.unique(E[0], size=3)


def test_unique_with_a_size_differentiates_as_jax():
    f = lambda x: np.sum(cnp.unique(x, size=4) * np.arange(1.0, 5.0))          # noqa: E731
    jf = lambda x: jnp.sum(jnp.unique(x, size=4) * jnp.arange(1.0, 5.0))      # noqa: E731
    np.testing.assert_array_equal(cr.vmap(cr.grad(f))(U[1:]), jax.vmap(jax.grad(jf))(U[1:]))


@pytest.mark.parametrize("fn", ["nonzero", "flatnonzero", "argwhere"])
def test_index_functions_with_a_size_batch_and_stage_as_jax(fn):
    M = np.array([[[0, 1.0], [2.0, 0]], [[0, 0.0], [0, 3.0]], [[4.0, 5.0], [6.0, 7.0]]])
    for kw in ({}, {"fill_value": -1}):
        want = _as_tuple(jax.vmap(lambda m: getattr(jnp, fn)(m, size=3, **kw))(M))
        f = lambda m: getattr(cnp, fn)(m, size=3, **kw)                     # noqa: E731
        for got in (_as_tuple(cr.vmap(f)(M)), _as_tuple(cr.jit(cr.vmap(f))(M))):
            for a, b in zip(got, want):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # eagerly on a plain array, as NumPy where the size fits
    np.testing.assert_array_equal(np.concatenate(_as_tuple(getattr(cnp, fn)(M[0], size=2))),
                                  np.concatenate(_as_tuple(getattr(np, fn)(M[0]))))


def test_count_nonzero_batches():
    np.testing.assert_array_equal(cr.vmap(np.count_nonzero)(X), [3, 4])
    np.testing.assert_array_equal(cr.jit(lambda x: np.count_nonzero(x, axis=0))(X),
                                  np.count_nonzero(X, axis=0))
