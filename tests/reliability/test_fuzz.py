"""Differential fuzzing (issue #18): random straight-line NumPy programs of 3 to 12 operations
(tests/reliability/fuzzprog.py), each checked for value, forward = reverse, jacfwd = jacrev,
Jacobian and Hessian against central differences, Hessian symmetry, jit = eager, vmap = loop,
Taylor = nested forward mode, and the program as a scan body and a cond branch = straight line;
the long profile also against JAX.

    python -m pytest tests/reliability/test_fuzz.py          # fast profile (a few seconds)
    python -m pytest -m fuzz                                  # long profile
"""
import jax
import jax.numpy as jnp
import pytest

import fuzzprog

jax.config.update("jax_enable_x64", True)


def _assert_clean(rep):
    assert not rep.failures, f"{len(rep.failures)} of {rep.checks} checks failed:\n" + \
        "\n".join(rep.failures[:20])


def test_fuzz_fast_profile():
    rep = fuzzprog.fuzz(25, seed=2026)
    assert rep.programs == 25 and rep.checks == 25 * 16
    _assert_clean(rep)


def test_fuzz_fast_profile_against_jax():
    rep = fuzzprog.fuzz(1, seed=7, jax_numpy=jnp, min_ops=3, max_ops=3)
    assert rep.checks == 19
    _assert_clean(rep)


def test_the_checks_can_fail():
    # a wrong derivative is reported: the checker compares, it does not trust chainrule
    rep = fuzzprog.Report()
    rep.check("jacobian", [("sin", 0, 0)], [1.0, 2.0], [1.0, 2.1])
    assert rep.failures and "v1 = sin(v0)" in rep.failures[0]


@pytest.mark.fuzz
@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_long_profile(seed, capsys):
    rep = fuzzprog.fuzz(1000, seed=seed, jax_numpy=jnp, jax_every=25)
    with capsys.disabled():
        print(f"\nfuzz seed {seed}: {rep.programs} programs, {rep.checks} checks, "
              f"{len(rep.failures)} failures")
    _assert_clean(rep)
